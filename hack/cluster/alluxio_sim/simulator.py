"""Alluxio CLI simulator: answers the ``alluxio`` commands Fluid's alluxioruntime
controller (fluid v1.0.8) execs into ``<runtime>-master-0`` / ``alluxio-master``,
from real cluster state, for an embedded cluster where Alluxio cannot run.

Boundary (what this is and is not)
----------------------------------
* No Alluxio process exists.  No byte is ever cached, no block is stored, no
  FUSE mount exists, nothing is served to applications.  Only the answers of
  the CLI are simulated, and every number in them is derived from real state:

  - capacity: READY worker pods of the runtime (``role=alluxio-worker,
    release=<runtime>``, condition Ready=True), each contributing the sum of
    ``AlluxioRuntime.spec.tieredstore.levels[].quota`` (or ``quotaList``),
    per tier (MEM/SSD/HDD);
  - the namespace (``fs count``, ``fs ls``, ``fs du``, ``Master.FilesCompleted``):
    the real under-storage, listed over HTTP like Alluxio's web UFS does
    (``ufs_walker``): directory index pages, ``<a href>`` links, file sizes
    from ``HEAD`` ``Content-Length``.  Non-http(s) under-storage (s3://,
    hdfs://, the container-local root ``/underFSStorage``...) cannot be seen
    from here and reads as an empty directory;
  - the mount table: Alluxio's journal is emulated by a state file.  The root
    mount comes from ``alluxio.master.mount.table.root.ufs`` in the runtime's
    ``<runtime>-config`` ConfigMap; other mounts come from ``fs mount`` /
    ``fs unmount`` calls and from ``mount.sh``, whose effect (reconcile the
    table with ``mount.info`` of ``<runtime>-mount-config``) is applied once
    per master pod UID, standing in for the master's startupProbe that KWOK
    never runs;
  - used capacity: files "loaded" by ``fs distributedLoad``/``fs load`` and by
    every DataLoad of the dataset that Fluid has marked ``Complete`` (the
    loader Job's pod cannot run either; its completion is the evidence that
    ``distributedLoad`` ran), times their replication (bounded by the live
    workers), capped at the capacity; ``fs free`` drops them.  Used bytes are
    reported as 0 while no worker is ready;
  - configuration (``getConf``): ``-D`` options of ``ALLUXIO_JAVA_OPTS`` /
    ``ALLUXIO_MASTER_JAVA_OPTS`` in ``<runtime>-config``, over a small table
    of Alluxio 2.9.0 defaults.

* Output formats follow Alluxio 2.9 (the version Fluid v1.0.8's chart runs)
  and are checked against Fluid's own parsers in
  ``tests/unit/test_alluxio_sim.py``.

Identity: the process is started by KWOK for an exec into a pod and learns
which runtime it answers for from ``ALLUXIO_SIM_NAMESPACE`` and
``ALLUXIO_SIM_RUNTIME`` (set by the per-pod ``Exec`` objects that
``exec_watcher.py`` maintains).  State lives in ``$ALLUXIO_SIM_STATE_DIR``
(``runtimes/<namespace>/<runtime>.json``, reset when the runtime's UID
changes); every invocation is appended to ``invocations.log`` there.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import posixpath
import shlex
import sys
import time
import traceback
import urllib.parse
from typing import Any, Dict, List, Optional, Tuple

from simlib import common, ufs_walker
from simlib.common import pod_ready
from simlib.kubeapi import KubeClient, KubeError, NotFound, core_path, group_path

ALLUXIO_VERSION = "2.9.0"
DATA_GROUP = ("data.fluid.io", "v1alpha1")
TIER_ORDER = {"MEM": 0, "SSD": 1, "HDD": 2}
STATE_VERSION = 1

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


class CliError(Exception):
    """A command failure: message goes to stderr, exit code ``code``."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------------
# Formatting helpers (Alluxio's own formats)
# ---------------------------------------------------------------------------

def alluxio_size(num_bytes: int) -> str:
    """alluxio.util.FormatUtils.getSizeFromBytes: 5x thresholds, binary units
    printed as B/KB/MB/GB/TB/PB, e.g. 2 GiB -> '2048.00MB', 12 GiB -> '12.00GB'."""
    ret = float(num_bytes)
    if ret <= 1024 * 5:
        return "%dB" % num_bytes
    for unit in ("KB", "MB", "GB", "TB"):
        ret /= 1024
        if ret <= 1024 * 5:
            return "%.2f%s" % (ret, unit)
    ret /= 1024
    return "%.2fPB" % ret


def java_grouped(n: int) -> str:
    """Values of non-byte metrics: DecimalFormat('###,###')."""
    return "{:,}".format(int(n))


def alluxio_date(ms: int) -> str:
    """CommonUtils.convertMsToDate: 'MM-dd-yyyy HH:mm:ss:SSS' (local time)."""
    t = _dt.datetime.fromtimestamp(ms / 1000.0)
    return t.strftime("%m-%d-%Y %H:%M:%S:") + "%03d" % (ms % 1000)


def alluxio_uptime(ms: int) -> str:
    secs = max(0, int(ms // 1000))
    days, secs = divmod(secs, 86400)
    hours, secs = divmod(secs, 3600)
    minutes, secs = divmod(secs, 60)
    return "%d day(s), %d hour(s), %d minute(s), and %d second(s)" % (days, hours, minutes, secs)


def parse_quantity(value: Any) -> int:
    """Kubernetes resource.Quantity -> bytes (rounded up, like Quantity.Value())."""
    try:
        return common.parse_quantity(value)
    except ValueError as exc:
        raise CliError(str(exc))


def norm_path(path: str) -> str:
    if not path:
        return "/"
    path = posixpath.normpath("/" + path.lstrip("/"))
    return "/" if path in ("/", "//") else path


def is_under(path: str, root: str) -> bool:
    return root == "/" or path == root or path.startswith(root.rstrip("/") + "/")


# ---------------------------------------------------------------------------
# Cluster view: everything read from the Kubernetes API
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# State (the emulated journal and cache)
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# The simulated master
# ---------------------------------------------------------------------------

class Master:
    def __init__(self, cluster, state: Dict[str, Any], out, err, now_ms: Optional[int] = None,
                 walker=None):
        self.cluster = cluster
        self.state = state
        self.out = out
        self.err = err
        self.now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        self.walk = walker or ufs_walker.walk
        self._conf: Optional[Dict[str, str]] = None

    # ----- configuration --------------------------------------------------
    def conf(self) -> Dict[str, str]:
        if self._conf is None:
            conf = dict(DEFAULT_CONF)
            conf["alluxio.master.hostname"] = self.cluster.pod
            data = self.cluster.alluxio_config()
            conf.update(parse_java_opts(data.get("ALLUXIO_JAVA_OPTS", "")))
            conf.update(parse_java_opts(data.get("ALLUXIO_MASTER_JAVA_OPTS", "")))
            self._conf = conf
        return self._conf

    def counter(self, name: str, delta: int = 0) -> int:
        counters = self.state.setdefault("counters", {})
        counters[name] = counters.get(name, 0) + delta
        return counters[name]

    # ----- mount table ----------------------------------------------------
    def root_mount(self) -> Dict[str, Any]:
        conf = self.conf()
        prefix = "alluxio.master.mount.table.root.option."
        return {
            "ufs": conf.get("alluxio.master.mount.table.root.ufs", "/underFSStorage"),
            "readonly": conf.get("alluxio.master.mount.table.root.readonly", "false") == "true",
            "shared": conf.get("alluxio.master.mount.table.root.shared", "true") == "true",
            "options": {k[len(prefix):]: v for k, v in conf.items() if k.startswith(prefix)},
        }

    def mount_table(self) -> Dict[str, Dict[str, Any]]:
        table = {"/": self.root_mount()}
        table.update(self.state.get("mounts") or {})
        return table

    def startup_mount(self) -> None:
        """Effect of the master's startupProbe (`mount.sh`), once per master pod."""
        info = self.cluster.mount_info()
        if info is None:
            return  # mountConfigStorage is not "configmap": Fluid mounts with `fs mount`
        uid = self.cluster.master_pod_uid() or "unknown"
        if self.state.get("startup_mount_pod_uid") == uid:
            return
        real_out, self.out = self.out, io.StringIO()  # mount.sh logs to the container, not to us
        try:
            self.run_mount_script(info)
        except CliError as exc:
            # Like a failing startupProbe: report, and try again on the next call.
            self.err.write("mount.sh (startup): %s\n" % exc)
            return
        finally:
            self.out = real_out
        self.state["startup_mount_pod_uid"] = uid

    def run_mount_script(self, info: Optional[str] = None) -> None:
        """mount.sh of charts/alluxio/templates/config/alluxio-mount-conf.yaml."""
        if info is None:
            info = self.cluster.mount_info()
            if info is None:
                raise CliError("/etc/fluid/scripts/mount.info: No such file or directory")
        wanted: Dict[str, List[str]] = {}
        for line in info.splitlines():
            if not line.strip():
                continue
            args = line.split()
            if norm_path(args[0]) == "/":
                continue
            wanted[norm_path(args[0])] = args
        for path in sorted(self.state.get("mounts") or {}):
            if path not in wanted:
                self.unmount(path)
        for path, args in wanted.items():
            if path not in (self.state.get("mounts") or {}):
                self.fs_mount(args)

    def mount(self, path: str, ufs: str, readonly: bool, shared: bool, options: Dict[str, str]) -> None:
        path = norm_path(path)
        table = self.mount_table()
        if path in table:
            raise CliError("Mount point %s already exists" % path)
        for existing, info in table.items():
            if existing != "/" and is_under(path, existing):
                raise CliError("Mount point %s is a prefix of %s" % (existing, path))
        if urllib.parse.urlsplit(ufs).scheme in ("http", "https") and not ufs_walker.exists(ufs):
            raise CliError("Ufs path %s does not exist" % ufs)
        self.state.setdefault("mounts", {})[path] = {
            "ufs": ufs, "readonly": readonly, "shared": shared, "options": options,
            "mounted_ms": self.now_ms,
        }
        self.counter("Master.MountOps", 1)
        self.counter("Master.PathsMounted", 1)

    def unmount(self, path: str) -> None:
        path = norm_path(path)
        if path not in (self.state.get("mounts") or {}):
            raise CliError("Failed to unmount %s: path is not a mount point" % path)
        del self.state["mounts"][path]
        self.state.get("metadata", {}).pop(path, None)
        for f in [f for f in self.state.get("cached", {}) if is_under(f, path)]:
            del self.state["cached"][f]
        self.counter("Master.UnmountOps", 1)
        self.counter("Master.PathsUnmounted", 1)

    # ----- metadata (the namespace) ----------------------------------------
    def load_mount_metadata(self, mount_path: str, info: Dict[str, Any]) -> None:
        ufs = info["ufs"]
        record = {"ufs": ufs, "loaded_ms": self.now_ms, "is_dir": True, "files": {}, "dirs": []}
        if urllib.parse.urlsplit(ufs).scheme in ("http", "https"):
            try:
                listing = self.walk(ufs)
            except ufs_walker.UfsError as exc:
                raise CliError("Failed to load metadata of %s (%s): %s" % (mount_path, ufs, exc))
            record["is_dir"] = listing.is_dir
            record["files"] = {rel: [size, mtime] for rel, (size, mtime) in listing.files.items()}
            record["dirs"] = list(listing.dirs)
        else:
            record["unlistable"] = True
        self.state.setdefault("metadata", {})[mount_path] = record

    def mounts_touching(self, path: str) -> List[Tuple[str, Dict[str, Any]]]:
        """Mounts whose subtree intersects path (the mount holding path and all below it)."""
        path = norm_path(path)
        table = self.mount_table()
        hits = []
        owner = max((m for m in table if is_under(path, m)), key=len)
        for m, info in table.items():
            if m == owner or is_under(m, path):
                hits.append((m, info))
        return hits

    def ensure_metadata(self, path: str, refresh: bool = False) -> None:
        meta = self.state.setdefault("metadata", {})
        for m, info in self.mounts_touching(path):
            rec = meta.get(m)
            if refresh or rec is None or rec.get("ufs") != info["ufs"]:
                self.load_mount_metadata(m, info)

    def namespace(self) -> Tuple[Dict[str, Tuple[int, int]], Dict[str, int]]:
        """(files: path -> (size, mtime), dirs: path -> mtime) of everything known."""
        files: Dict[str, Tuple[int, int]] = {}
        dirs: Dict[str, int] = {"/": self.state.get("started_ms", 0)}
        table = self.mount_table()
        meta = self.state.get("metadata") or {}
        for m, info in table.items():
            parent = posixpath.dirname(m)
            while parent and parent != "/":
                dirs.setdefault(parent, info.get("mounted_ms", 0))
                parent = posixpath.dirname(parent)
            rec = meta.get(m)
            if rec is not None and not rec.get("is_dir", True):
                size, mtime = rec["files"].get("", [0, 0])
                files[m] = (size, mtime)
                continue
            dirs.setdefault(m, info.get("mounted_ms", 0) or self.state.get("started_ms", 0))
            if rec is None:
                continue
            for d in rec.get("dirs") or []:
                dirs[posixpath.join(m, d)] = rec.get("loaded_ms", 0)
            for rel, (size, mtime) in (rec.get("files") or {}).items():
                files[posixpath.join(m, rel)] = (size, mtime)
        for d in self.state.get("created_dirs") or []:
            dirs.setdefault(d, 0)
        return files, dirs

    def require_exists(self, path: str, files, dirs) -> None:
        if path not in files and path not in dirs:
            raise CliError("Path \"%s\" does not exist." % path)

    # ----- cache ----------------------------------------------------------
    def workers(self) -> List[Dict[str, Any]]:
        ready = [p for p in self.cluster.worker_pods() if pod_ready(p)]
        ready.sort(key=lambda p: p["metadata"]["name"])
        return ready

    def cache_view(self) -> Dict[str, Any]:
        tiers = runtime_tiers(self.cluster.runtime())
        workers = self.workers()
        n = len(workers)
        per_worker = sum(q for _, q in tiers)
        capacity = n * per_worker
        files, _ = self.namespace()
        raw_used = 0
        for path, replicas in (self.state.get("cached") or {}).items():
            if path in files:
                raw_used += files[path][0] * min(int(replicas), n)
        used = min(raw_used, capacity)
        tier_total = [(alias, q * n) for alias, q in tiers]
        tier_used = []
        remaining = used
        for alias, total in tier_total:
            take = min(remaining, total)
            tier_used.append((alias, take))
            remaining -= take
        hosts = []
        base, extra = (divmod(used, n) if n else (0, 0))
        for i, pod in enumerate(workers):
            w_used = base + (1 if i < extra else 0)
            w_tiers = []
            rem = w_used
            for alias, quota in tiers:
                take = min(rem, quota)
                w_tiers.append((alias, quota, take))
                rem -= take
            status = pod.get("status") or {}
            host = status.get("hostIP") or (pod.get("spec") or {}).get("nodeName") or pod["metadata"]["name"]
            hosts.append({"host": host, "capacity": per_worker, "used": w_used, "tiers": w_tiers})
        return {
            "tiers": tiers, "workers": n, "capacity": capacity, "used": used, "raw_used": raw_used,
            "tier_total": tier_total, "tier_used": tier_used, "hosts": hosts,
        }

    def cache_files(self, path: str, replicas: int) -> Tuple[int, int]:
        """Mark every file under path as loaded; returns (files, bytes newly read from the UFS)."""
        path = norm_path(path)
        self.ensure_metadata(path)
        files, dirs = self.namespace()
        self.require_exists(path, files, dirs)
        cached = self.state.setdefault("cached", {})
        count, new_bytes = 0, 0
        for f, (size, _) in files.items():
            if is_under(f, path):
                count += 1
                if f not in cached:
                    new_bytes += size
                cached[f] = max(int(cached.get(f, 0)), max(1, int(replicas or 1)))
        if new_bytes:
            self.counter("Cluster.BytesReadUfsAll", new_bytes)
            reads = self.state.setdefault("ufs_reads", [])
            reads.append([self.now_ms, new_bytes])
        return count, new_bytes

    def sync_dataloads(self) -> None:
        """Apply DataLoads of this dataset that Fluid marked Complete (once each run)."""
        applied = set(self.state.get("applied_dataloads") or [])
        for dl in self.cluster.dataloads():
            spec = dl.get("spec") or {}
            status = dl.get("status") or {}
            target = spec.get("dataset") or {}
            if target.get("name") != self.cluster.name:
                continue
            if target.get("namespace") not in (None, "", self.cluster.namespace):
                continue
            if status.get("phase") != "Complete":
                continue
            key = "%s|%s" % (dl["metadata"].get("uid", dl["metadata"]["name"]), status.get("lastSuccessfulTime") or "")
            if key in applied:
                continue
            for t in spec.get("target") or []:
                if spec.get("loadMetadata"):
                    self.ensure_metadata(norm_path(t.get("path", "/")), refresh=True)
                try:
                    self.cache_files(t.get("path", "/"), int(t.get("replicas") or 1))
                except CliError as exc:
                    self.err.write("alluxio-sim: DataLoad %s: %s\n" % (dl["metadata"]["name"], exc))
            applied.add(key)
            self.state.setdefault("applied_dataloads", []).append(key)

    # ----- commands ---------------------------------------------------------
    def report_summary(self) -> None:
        conf = self.conf()
        view = self.cache_view()
        pod = self.cluster.master_pod() or {}
        started = self.state.get("started_ms", self.now_ms)
        start_time = (pod.get("status") or {}).get("startTime")
        if start_time:
            try:
                started = int(_dt.datetime.strptime(start_time, "%Y-%m-%dT%H:%M:%SZ")
                              .replace(tzinfo=_dt.timezone.utc).timestamp() * 1000)
            except ValueError:
                pass
        rpc = conf.get("alluxio.master.rpc.port", "19998")
        w = self.out.write
        w("Alluxio cluster summary: \n")
        w("    Master Address: %s:%s\n" % (conf.get("alluxio.master.hostname"), rpc))
        w("    Web Port: %s\n" % conf.get("alluxio.master.web.port", "19999"))
        w("    Rpc Port: %s\n" % rpc)
        w("    Started: %s\n" % alluxio_date(started))
        w("    Uptime: %s\n" % alluxio_uptime(self.now_ms - started))
        w("    Version: %s\n" % ALLUXIO_VERSION)
        w("    Safe Mode: false\n")
        w("    Zookeeper Enabled: %s\n" % conf.get("alluxio.zookeeper.enabled", "false"))
        w("    Live Workers: %d\n" % view["workers"])
        w("    Lost Workers: 0\n")
        w("    Total Capacity: %s\n" % alluxio_size(view["capacity"]))
        for alias, total in view["tier_total"]:
            w("        Tier: %s  Size: %s\n" % (alias, alluxio_size(total)))
        w("    Used Capacity: %s\n" % alluxio_size(view["used"]))
        for alias, used in view["tier_used"]:
            w("        Tier: %s  Size: %s\n" % (alias, alluxio_size(used)))
        w("    Free Capacity: %s\n" % alluxio_size(view["capacity"] - view["used"]))

    def report_capacity(self) -> None:
        view = self.cache_view()
        w = self.out.write
        w("Capacity information for all workers: \n")
        w("    Total Capacity: %s\n" % alluxio_size(view["capacity"]))
        for alias, total in view["tier_total"]:
            w("        Tier: %s  Size: %s\n" % (alias, alluxio_size(total)))
        w("    Used Capacity: %s\n" % alluxio_size(view["used"]))
        for alias, used in view["tier_used"]:
            w("        Tier: %s  Size: %s\n" % (alias, alluxio_size(used)))
        if view["capacity"]:
            pct = int(100 * view["used"] // view["capacity"])
            w("    Used Percentage: %d%%\n" % pct)
            w("    Free Percentage: %d%%\n" % (100 - pct))
        if not view["hosts"] or not view["tiers"]:
            return
        name_w = max(16, max(len(h["host"]) for h in view["hosts"]))
        aliases = [a for a, _ in view["tiers"]]
        if len(aliases) == 1:
            # CapacityCommand.printShortWorkerInfo
            fmt = "%-" + str(name_w) + "s %-16s %-13s %s\n"
            w("\n" + fmt % ("Worker Name", "Last Heartbeat", "Storage", aliases[0]))
            for h in view["hosts"]:
                pct = int(100 * h["used"] // h["capacity"]) if h["capacity"] else 0
                w(fmt % (h["host"], "0", "capacity", alluxio_size(h["capacity"])))
                w(fmt % ("", "", "used", "%s (%d%%)" % (alluxio_size(h["used"]), pct)))
        else:
            # CapacityCommand.printWorkerInfo: a Total column, then one per tier
            fmt = "%-" + str(name_w) + "s %-16s %-13s %-16s %s\n"
            tiers_hdr = "".join("%-14s" % a for a in aliases).rstrip()
            w("\n" + fmt % ("Worker Name", "Last Heartbeat", "Storage", "Total", tiers_hdr))
            for h in view["hosts"]:
                pct = int(100 * h["used"] // h["capacity"]) if h["capacity"] else 0
                cap = "".join("%-14s" % alluxio_size(q) for _, q, _ in h["tiers"]).rstrip()
                used = "".join("%-14s" % alluxio_size(u) for _, _, u in h["tiers"]).rstrip()
                w(fmt % (h["host"], "0", "capacity", alluxio_size(h["capacity"]), cap))
                w(fmt % ("", "", "used", "%s (%d%%)" % (alluxio_size(h["used"]), pct), used))

    def report_metrics(self) -> None:
        view = self.cache_view()
        files, dirs = self.namespace()
        counters = self.state.get("counters") or {}
        minute_ago = self.now_ms - 60000
        reads = [r for r in self.state.get("ufs_reads") or [] if r[0] >= minute_ago]
        self.state["ufs_reads"] = reads
        ufs_rate = sum(b for _, b in reads)
        metrics: List[Tuple[str, str, str]] = []

        def byte_counter(name, value):
            metrics.append((name, "COUNTER", alluxio_size(value)))

        def byte_rate(name, value):
            metrics.append((name, "GAUGE", alluxio_size(value) + "/MIN"))

        def gauge(name, value):
            metrics.append((name, "GAUGE", java_grouped(value)))

        def counter(name, value):
            metrics.append((name, "COUNTER", java_grouped(value)))

        # No client reads through Alluxio here (no FUSE): local/remote reads stay 0.
        for kind in ("Alluxio", "Domain", "Local", "Remote"):
            byte_counter("Cluster.BytesRead%s" % kind, 0)
            byte_rate("Cluster.BytesRead%sThroughput" % kind, 0)
        byte_counter("Cluster.BytesReadUfsAll", counters.get("Cluster.BytesReadUfsAll", 0))
        byte_rate("Cluster.BytesReadUfsThroughput", ufs_rate)
        for kind in ("Alluxio", "Domain", "Local", "UfsAll"):
            byte_counter("Cluster.BytesWritten%s" % kind, 0)
        for kind in ("Alluxio", "Domain", "Local", "Ufs"):
            byte_rate("Cluster.BytesWritten%sThroughput" % kind, 0)
        gauge("Cluster.CapacityTotal", view["capacity"])
        gauge("Cluster.CapacityUsed", view["used"])
        gauge("Cluster.CapacityFree", view["capacity"] - view["used"])
        for (alias, total), (_, used) in zip(view["tier_total"], view["tier_used"]):
            gauge("Cluster.CapacityTotalTier%s" % alias, total)
            gauge("Cluster.CapacityUsedTier%s" % alias, used)
            gauge("Cluster.CapacityFreeTier%s" % alias, total - used)
        gauge("Cluster.Workers", view["workers"])
        counter("Master.FilesCompleted", len(files))
        counter("Master.FilesFreed", counters.get("Master.FilesFreed", 0))
        counter("Master.FreeFileOps", counters.get("Master.FreeFileOps", 0))
        counter("Master.MountOps", counters.get("Master.MountOps", 0))
        counter("Master.PathsMounted", counters.get("Master.PathsMounted", 0))
        counter("Master.PathsUnmounted", counters.get("Master.PathsUnmounted", 0))
        counter("Master.UnmountOps", counters.get("Master.UnmountOps", 0))
        gauge("Master.TotalPaths", len(files) + len(dirs))
        for name, mtype, value in sorted(metrics):
            self.out.write("%s  (Type: %s, Value: %s)\n" % (name, mtype, value))

    def print_mount_table(self) -> None:
        table = self.mount_table()
        rows = []
        for path in sorted(table):
            info = table[path]
            scheme = urllib.parse.urlsplit(info["ufs"]).scheme or "local"
            ufs_type = {"http": "web", "https": "web", "s3a": "s3", "file": "local"}.get(scheme, scheme)
            cap = "capacity=-1B, used=-1B" if ufs_type == "web" else "capacity=0B, used=-1B"
            props = "{" + ", ".join("%s=%s" % kv for kv in sorted(info.get("options", {}).items())) + "}"
            rows.append((info["ufs"], path, "(%s, %s, %sread-only, %sshared, properties=%s)" % (
                ufs_type, cap, "" if info.get("readonly") else "not ",
                "" if info.get("shared") else "not ", props)))
        ufs_w = max(len(r[0]) for r in rows)
        path_w = max(len(r[1]) for r in rows)
        for ufs, path, desc in rows:
            self.out.write("%-*s  on  %-*s  %s\n" % (ufs_w, ufs, path_w, path, desc))

    def fs_mount(self, args: List[str]) -> None:
        readonly = shared = False
        options: Dict[str, str] = {}
        positional: List[str] = []
        i = 0
        while i < len(args):
            a = args[i]
            if a == "--readonly":
                readonly = True
            elif a == "--shared":
                shared = True
            elif a == "--option":
                i += 1
                if i >= len(args) or "=" not in args[i]:
                    raise CliError("Invalid --option, expected key=value")
                k, v = args[i].split("=", 1)
                options[k] = v
            elif a.startswith("--option="):
                k, v = a[len("--option="):].split("=", 1)
                options[k] = v
            else:
                positional.append(a)
            i += 1
        if not positional:
            self.print_mount_table()
            return
        if len(positional) != 2:
            raise CliError("Usage: alluxio fs mount [--readonly] [--shared] [--option <key=val>] <alluxioPath> <ufsURI>")
        self.mount(positional[0], positional[1], readonly, shared, options)
        self.out.write("Mounted %s at %s\n" % (positional[1], norm_path(positional[0])))

    def fs_count(self, path: str, human: bool) -> None:
        path = norm_path(path)
        self.ensure_metadata(path)
        files, dirs = self.namespace()
        self.require_exists(path, files, dirs)
        n_files = sum(1 for f in files if is_under(f, path))
        n_dirs = sum(1 for d in dirs if is_under(d, path))
        size = sum(s for f, (s, _) in files.items() if is_under(f, path))
        fmt = "%-25s%-25s%-15s\n"
        self.out.write(fmt % ("File Count", "Folder Count", "Folder Size"))
        self.out.write(fmt % (n_files, n_dirs, alluxio_size(size) if human else size))

    def in_alluxio(self, path: str, files, view) -> Tuple[int, int]:
        cached = self.state.get("cached") or {}
        scale = (view["used"] / view["raw_used"]) if view["raw_used"] else 0.0
        size = in_mem = 0
        for f, (s, _) in files.items():
            if is_under(f, path):
                size += s
                if f in cached:
                    in_mem += s
        return size, int(in_mem * scale)

    def fs_du(self, path: str, summarize: bool, human: bool) -> None:
        path = norm_path(path)
        self.ensure_metadata(path)
        files, dirs = self.namespace()
        self.require_exists(path, files, dirs)
        view = self.cache_view()
        fmt = "%-13s %-16s %s\n"
        self.out.write(fmt % ("File Size", "In Alluxio", "Path"))
        targets = [path] if summarize or path in files else sorted(f for f in files if is_under(f, path))
        for t in targets:
            size, cached = self.in_alluxio(t, files, view)
            pct = int(cached * 100 // size) if size else 0
            show = alluxio_size if human else str
            self.out.write(fmt % (show(size), "%s (%d%%)" % (show(cached), pct), t))

    def fs_ls(self, path: str, recursive: bool, only_dir: bool, human: bool) -> None:
        path = norm_path(path)
        self.ensure_metadata(path)
        files, dirs = self.namespace()
        if path not in files and path not in dirs:
            raise CliError("%s does not exist" % path)
        view = self.cache_view()
        cached = self.state.get("cached") or {}

        scale = (view["used"] / view["raw_used"]) if view["raw_used"] else 0.0

        def line(p: str) -> str:
            if p in files:
                size, mtime = files[p]
                in_alluxio = "%d%%" % int(100 * scale) if p in cached else "0%"
                return "%-11s%-15s%-15s%15s%16s%24s%5s %-5s\n" % (
                    "-rwxrwxrwx", "root", "root", alluxio_size(size) if human else size, "PERSISTED",
                    alluxio_date(mtime), in_alluxio, p)
            children = sum(1 for q in list(files) + list(dirs) if q != p and posixpath.dirname(q) == p)
            return "%-11s%-15s%-15s%15s%16s%24s%5s %-5s\n" % (
                "drwxrwxrwx", "root", "root", children, "PERSISTED", alluxio_date(dirs[p]), "DIR", p)

        if path in files or only_dir:
            self.out.write(line(path))
            return
        everything = sorted(set(files) | set(dirs))
        for p in everything:
            if p == path or not is_under(p, path):
                continue
            if recursive or posixpath.dirname(p) == path:
                self.out.write(line(p))

    def fs_free(self, path: str) -> None:
        path = norm_path(path)
        files, dirs = self.namespace()
        self.require_exists(path, files, dirs)
        cached = self.state.setdefault("cached", {})
        freed = [f for f in cached if is_under(f, path)]
        for f in freed:
            del cached[f]
        self.counter("Master.FilesFreed", len(freed))
        self.counter("Master.FreeFileOps", 1)
        self.out.write("%s was successfully freed from Alluxio space.\n" % path)

    def getconf(self, args: List[str]) -> None:
        keys: List[str] = []
        i = 0
        while i < len(args):
            if args[i] == "--unit":
                i += 2  # --unit <unit> takes a value
                continue
            if not args[i].startswith("--"):
                keys.append(args[i])
            i += 1
        conf = self.conf()
        if not keys:
            for k in sorted(conf):
                self.out.write("%s=%s\n" % (k, conf[k]))
            return
        key = keys[0]
        if key not in conf:
            raise CliError("%s is not a valid configuration key" % key)
        self.out.write(conf[key] + "\n")


# ---------------------------------------------------------------------------
# Command dispatch
# ---------------------------------------------------------------------------

USAGE = "Usage: alluxio [COMMAND] [-h]\n(Alluxio CLI simulator: fs, fsadmin report, getConf, version)"


def _strip_dash_d(args: List[str]) -> List[str]:
    return [a for a in args if not (a.startswith("-D") and "=" in a)]


def dispatch(master: Master, argv: List[str]) -> None:
    if not argv:
        raise CliError(USAGE)
    cmd, rest = argv[0], _strip_dash_d(argv[1:])
    if cmd == "version":
        master.out.write("%s\n" % ALLUXIO_VERSION)
        return
    if cmd == "__mount.sh__":
        master.run_mount_script()
        return
    master.startup_mount()
    if cmd == "getConf":
        master.getconf(rest)
        return
    if cmd == "fsadmin":
        if not rest or rest[0] != "report":
            raise CliError("alluxio-sim: unsupported fsadmin command: %s" % " ".join(rest))
        what = rest[1] if len(rest) > 1 else "summary"
        master.sync_dataloads()
        if what == "summary":
            master.report_summary()
        elif what == "capacity":
            master.report_capacity()
        elif what == "metrics":
            master.report_metrics()
        elif what == "ufs":
            master.out.write("Alluxio under storage system information:\n")
            master.print_mount_table()
        else:
            raise CliError("Unknown category %s for fsadmin report" % what)
        return
    if cmd != "fs":
        raise CliError("alluxio-sim: unsupported command: %s\n%s" % (cmd, USAGE))
    if not rest:
        raise CliError("Usage: alluxio fs [generic options]")
    sub, args = rest[0], rest[1:]
    flags = {a for a in args if a.startswith("-")}
    paths = [a for a in args if not a.startswith("-")]

    def one_path() -> str:
        if not paths:
            raise CliError("%s: a path is required" % sub)
        return paths[-1]

    if sub == "mount":
        master.fs_mount(args)
    elif sub == "unmount":
        master.unmount(one_path())
        master.out.write("Unmounted %s\n" % norm_path(one_path()))
    elif sub == "loadMetadata":
        master.ensure_metadata(one_path(), refresh=True)
        files, dirs = master.namespace()
        master.require_exists(norm_path(one_path()), files, dirs)
    elif sub == "count":
        master.sync_dataloads()
        master.fs_count(one_path(), "-h" in flags)
    elif sub == "du":
        master.sync_dataloads()
        master.fs_du(one_path(), "-s" in flags, "-h" in flags)
    elif sub == "ls":
        master.sync_dataloads()
        master.fs_ls(one_path(), "-R" in flags, "-d" in flags, "-h" in flags)
    elif sub == "free":
        master.fs_free(one_path())
    elif sub in ("distributedLoad", "load"):
        replicas = 1
        if "--replication" in args:
            idx = args.index("--replication")
            try:
                replicas = int(args[idx + 1])
                paths.remove(args[idx + 1])
            except (IndexError, ValueError):
                raise CliError("--replication needs a number")
        for opt in ("--active-jobs", "--batch-size", "--host-file", "--hosts", "--locality-file", "--localities"):
            if opt in args and args.index(opt) + 1 < len(args) and args[args.index(opt) + 1] in paths:
                paths.remove(args[args.index(opt) + 1])
        count, _ = master.cache_files(one_path(), replicas)
        if sub == "load":
            master.out.write("%s loaded\n" % norm_path(one_path()))
        else:
            master.out.write("Completed count is %d,Failed count is 0.\n" % count)
    elif sub == "setReplication":
        for opt in ("--max", "--min"):
            if opt in args and args.index(opt) + 1 < len(args) and args[args.index(opt) + 1] in paths:
                paths.remove(args[args.index(opt) + 1])
        path = norm_path(one_path())
        master.ensure_metadata(path)
        files, dirs = master.namespace()
        master.require_exists(path, files, dirs)
        master.out.write("Changed the replication level of %s\n" % path)
    elif sub == "mkdir":
        for p in paths:
            p = norm_path(p)
            files, dirs = master.namespace()
            if p in files or p in dirs:
                raise CliError("%s already exists" % p)
            master.state.setdefault("created_dirs", []).append(p)
            master.out.write("Successfully created directory %s\n" % p)
    else:
        raise CliError("alluxio-sim: unsupported fs command: %s" % sub)


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------

def default_state_dir() -> str:
    return os.environ.get("ALLUXIO_SIM_STATE_DIR") or "/tmp/alluxio-sim-%d" % os.getuid()


def _log(state_dir: str, record: Dict[str, Any]) -> None:
    try:
        os.makedirs(state_dir, exist_ok=True)
        with open(os.path.join(state_dir, "invocations.log"), "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")
    except OSError:
        pass


def run(argv: List[str], cluster, state_dir: str, out, err, walker=None,
        now_ms: Optional[int] = None) -> int:
    """Run one command against a cluster view; returns the exit code."""
    store = StateStore(state_dir, cluster.namespace, cluster.name)
    with store.locked():
        runtime = cluster.runtime()
        uid = ((runtime or {}).get("metadata") or {}).get("uid", "")
        state = store.load()
        if state is None or state.get("runtime_uid") != uid:
            state = new_state(uid)
        master = Master(cluster, state, out, err, now_ms=now_ms, walker=walker)
        try:
            dispatch(master, argv)
            code = 0
        except CliError as exc:
            err.write(str(exc).rstrip("\n") + "\n")
            code = exc.code
        store.save(state)
    return code


def main(argv: List[str], prog: str = "alluxio") -> int:
    state_dir = default_state_dir()
    namespace = os.environ.get("ALLUXIO_SIM_NAMESPACE", "")
    runtime = os.environ.get("ALLUXIO_SIM_RUNTIME", "")
    pod = os.environ.get("ALLUXIO_SIM_POD") or ("%s-master-0" % runtime if runtime else "")
    start = time.time()
    out, err = io.StringIO(), io.StringIO()
    code = 1
    try:
        if argv and argv[0] == "version":
            out.write("%s\n" % ALLUXIO_VERSION)
            code = 0
        elif not namespace or not runtime:
            err.write("alluxio (Alluxio CLI simulator): no pod identity: ALLUXIO_SIM_NAMESPACE and "
                      "ALLUXIO_SIM_RUNTIME are unset. They come from the per-pod KWOK Exec object "
                      "that hack/cluster/alluxio_sim/exec_watcher.py creates; is it running?\n")
            code = 2
        else:
            cluster = ApiCluster(namespace, runtime, pod, os.environ.get("ALLUXIO_SIM_POD_UID", ""),
                                 cert_dir=state_dir)
            code = run(argv, cluster, state_dir, out, err)
    except KubeError as exc:
        err.write("alluxio (Alluxio CLI simulator): Kubernetes API error: %s\n" % exc)
        code = 1
    except Exception as exc:  # never hang or print a Python trace at Fluid
        err.write("alluxio (Alluxio CLI simulator): internal error: %s\n" % exc)
        _log(state_dir, {"ts": time.time(), "traceback": traceback.format_exc()})
        code = 1
    sys.stdout.write(out.getvalue())
    sys.stderr.write(err.getvalue())
    sys.stdout.flush()
    sys.stderr.flush()
    _log(state_dir, {
        "ts": round(start, 3), "ms": int((time.time() - start) * 1000), "prog": prog,
        "namespace": namespace, "runtime": runtime, "pod": pod, "argv": argv, "rc": code,
        "stderr": err.getvalue()[-400:],
    })
    return code
