"""The emulated journal: the per-runtime state document (new_state: mounts, loaded metadata,
loaded files, applied DataLoads, counters), its flocked store under the state directory
(StateStore), and MasterBase, the root of the simulated master's layers (mounts -> cache ->
reports -> the CLI in simulator.py): what one command shares (the cluster view, the state, the
output streams, the clock, the UFS walker), the configuration, and the metric counters."""

from __future__ import annotations

import time
from typing import Any, Dict, Optional

from simlib import common, ufs_walker

from .cluster import alluxio_conf

STATE_VERSION = 1


def new_state(runtime_uid: str) -> Dict[str, Any]:
    return {
        "version": STATE_VERSION,
        "runtime_uid": runtime_uid,
        "started_ms": int(time.time() * 1000),
        "startup_mount_pod_uid": None,
        "mounts": {},
        "metadata": {},
        "cached": {},
        "applied_dataloads": [],
        "created_dirs": [],
        "counters": {},
        "ufs_reads": [],
    }


def StateStore(state_dir: str, namespace: str, runtime: str) -> common.StateStore:
    return common.StateStore(state_dir, namespace, runtime, STATE_VERSION)


class MasterBase:
    """One command's context: ``cluster`` (ApiCluster or a stand-in with its interface),
    ``state`` (the journal, saved by the caller), ``out``/``err``, ``now_ms`` and ``walk``."""

    def __init__(self, cluster, state: Dict[str, Any], out, err, now_ms: Optional[int] = None,
                 walker=None):
        self.cluster = cluster
        self.state = state
        self.out = out
        self.err = err
        self.now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        self.walk = walker or ufs_walker.walk
        self._conf: Optional[Dict[str, str]] = None

    def conf(self) -> Dict[str, str]:
        """The configuration (cluster.alluxio_conf), read on first use only."""
        if self._conf is None:
            self._conf = alluxio_conf(self.cluster)
        return self._conf

    def counter(self, name: str, delta: int = 0) -> int:
        counters = self.state.setdefault("counters", {})
        counters[name] = counters.get(name, 0) + delta
        return counters[name]
