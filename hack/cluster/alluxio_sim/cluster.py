"""The cluster view: everything the simulator reads from the Kubernetes API about one
AlluxioRuntime (ApiCluster: the runtime, its worker and master pods, its ``-config`` and
``-mount-config`` ConfigMaps, the namespace's DataLoads), and what is derived from those
objects alone: the tiers and per-worker quotas (runtime_tiers) and the Alluxio configuration
(``-D`` options of the ``-config`` ConfigMap over Alluxio 2.9.0 defaults, alluxio_conf)."""

from __future__ import annotations

import shlex
from typing import Any, Dict, List, Optional, Tuple

from simlib import common
from simlib.common import CliError
from simlib.kubeapi import KubeClient, NotFound, core_path, group_path

ALLUXIO_VERSION = "2.9.0"
DATA_GROUP = ("data.fluid.io", "v1alpha1")
TIER_ORDER = {"MEM": 0, "SSD": 1, "HDD": 2}

# Alluxio 2.9.0 defaults for the keys Fluid or the loader ask for.
DEFAULT_CONF = {
    "alluxio.version": ALLUXIO_VERSION,
    "alluxio.home": "/opt/alluxio",
    "alluxio.underfs.version": "3.3.1",
    "alluxio.master.rpc.port": "19998",
    "alluxio.master.web.port": "19999",
    "alluxio.job.master.rpc.port": "20001",
    "alluxio.master.mount.table.root.ufs": "/underFSStorage",
    "alluxio.master.mount.table.root.readonly": "false",
    "alluxio.master.mount.table.root.shared": "true",
    "alluxio.master.journal.type": "UFS",
    "alluxio.user.file.metadata.sync.interval": "-1",
    "alluxio.user.file.replication.max": "-1",
    "alluxio.underfs.web.titles": "Index of,Directory listing for",
    "alluxio.underfs.web.parent.names": "Parent Directory,..,../",
    "alluxio.zookeeper.enabled": "false",
}


class ApiCluster:
    """Reads the objects of one runtime; each getter hits the API at most once."""

    def __init__(self, namespace: str, runtime: str, pod: str, pod_uid: str = "",
                 client: Optional[KubeClient] = None, cert_dir: Optional[str] = None):
        self.namespace = namespace
        self.name = runtime
        self.pod = pod
        self._pod_uid = pod_uid
        self._client = client
        self._cert_dir = cert_dir
        self._cache: Dict[str, Any] = {}

    @property
    def client(self) -> KubeClient:
        if self._client is None:
            self._client = KubeClient(cert_dir=self._cert_dir)
        return self._client

    def _memo(self, key: str, fn):
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    def runtime(self) -> Optional[Dict[str, Any]]:
        return self._memo("runtime", lambda: self.client.get_or_none(
            group_path(*DATA_GROUP, self.namespace, "alluxioruntimes", self.name)))

    def worker_pods(self) -> List[Dict[str, Any]]:
        return self._memo("workers", lambda: self.client.list(
            core_path(self.namespace, "pods"), "role=alluxio-worker,release=%s" % self.name))

    def alluxio_config(self) -> Dict[str, str]:
        cm = self._memo("config", lambda: self.client.get_or_none(
            core_path(self.namespace, "configmaps", "%s-config" % self.name)))
        return (cm or {}).get("data") or {}

    def mount_info(self) -> Optional[str]:
        cm = self._memo("mountcfg", lambda: self.client.get_or_none(
            core_path(self.namespace, "configmaps", "%s-mount-config" % self.name)))
        if cm is None:
            return None
        return (cm.get("data") or {}).get("mount.info", "")

    def master_pod(self) -> Optional[Dict[str, Any]]:
        return self._memo("master", lambda: self.client.get_or_none(
            core_path(self.namespace, "pods", self.pod)))

    def master_pod_uid(self) -> str:
        if self._pod_uid:
            return self._pod_uid
        pod = self.master_pod() or {}
        return (pod.get("metadata") or {}).get("uid", "")

    def dataloads(self) -> List[Dict[str, Any]]:
        def fetch():
            try:
                return self.client.list(group_path(*DATA_GROUP, self.namespace, "dataloads"))
            except NotFound:
                return []
        return self._memo("dataloads", fetch)


def parse_quantity(value: Any) -> int:
    """Kubernetes resource.Quantity -> bytes (rounded up, like Quantity.Value())."""
    try:
        return common.parse_quantity(value)
    except ValueError as exc:
        raise CliError(str(exc))


def runtime_tiers(runtime: Optional[Dict[str, Any]]) -> List[Tuple[str, int]]:
    """[(tier alias, bytes per worker)] from spec.tieredstore.levels, MEM/SSD/HDD order."""
    tiers: Dict[str, int] = {}
    levels = (((runtime or {}).get("spec") or {}).get("tieredstore") or {}).get("levels") or []
    for level in levels:
        alias = str(level.get("mediumtype") or level.get("mediumType") or "MEM").upper()
        if level.get("quotaList"):
            quota = sum(parse_quantity(q) for q in str(level["quotaList"]).split(",") if q.strip())
        else:
            quota = parse_quantity(level.get("quota"))
        tiers[alias] = tiers.get(alias, 0) + quota
    return sorted(tiers.items(), key=lambda kv: (TIER_ORDER.get(kv[0], 9), kv[0]))


def parse_java_opts(text: str) -> Dict[str, str]:
    props: Dict[str, str] = {}
    try:
        tokens = shlex.split(text or "")
    except ValueError:
        tokens = (text or "").split()
    for tok in tokens:
        if tok.startswith("-D") and "=" in tok:
            key, value = tok[2:].split("=", 1)
            if "${" in value:  # resolved by the container's shell; keep the earlier value
                continue
            props[key] = value
    return props


def alluxio_conf(cluster) -> Dict[str, str]:
    """The master's configuration: DEFAULT_CONF, the master pod as hostname, then the ``-D``
    options of ALLUXIO_JAVA_OPTS and ALLUXIO_MASTER_JAVA_OPTS (later ones win)."""
    conf = dict(DEFAULT_CONF)
    conf["alluxio.master.hostname"] = cluster.pod
    data = cluster.alluxio_config()
    conf.update(parse_java_opts(data.get("ALLUXIO_JAVA_OPTS", "")))
    conf.update(parse_java_opts(data.get("ALLUXIO_MASTER_JAVA_OPTS", "")))
    return conf
