"""Test doubles for the client: a scripted watch source and a small in-memory API server.

FakeCluster implements the FluidClient interface the modules, the engine, the waiter and the
diagnosis use (require, kind_served, get, list, apply, delete, watch, cancel). It keeps
resourceVersions and an event log so watches behave like the API server's: resume from a
resourceVersion, 410 Gone once the log is compacted past it, and injected failures.
"""
import copy
import itertools
import threading
import time

from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid as F
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import ApiError, FluidNotInstalled
from ansible_collections.cloudnative.fluid.plugins.module_utils.quantity import _BINARY, QuantityError, parse_bytes, parse_quantity
from ansible_collections.cloudnative.fluid.plugins.module_utils.waiter import Gone, Transient

# Finalizers Fluid's controllers put on the objects they own.
DATASET_FINALIZER = "fluid-dataset-controller-finalizer"
DATALOAD_FINALIZER = "fluid-dataload-controller-finalizer"


def obj(kind, namespace, name, rv="1", **extra):
    o = {"apiVersion": F.API_VERSION, "kind": kind,
         "metadata": {"name": name, "namespace": namespace, "resourceVersion": str(rv)}}
    o.update(extra)
    return o


class ScriptedSource(object):
    """A waiter source that replays scripts.

    lists: a list of (items, rv) or exceptions, consumed per list() call (the last one repeats).
    watches: a list of sessions, consumed per watch() call; a session is a list of events
    (dicts) and exceptions (raised at that point). After the scripts run out, a watch blocks
    until stopped, like a quiet stream.
    """

    def __init__(self, lists, watches):
        self.lists = list(lists)
        self.watches = list(watches)
        self.list_calls = []
        self.watch_calls = []
        self.lock = threading.Lock()

    def list(self, kind, namespace, field_selector=None, with_version=False):
        with self.lock:
            self.list_calls.append((kind, namespace, field_selector))
            step = self.lists.pop(0) if len(self.lists) > 1 else self.lists[0]
        if isinstance(step, Exception):
            raise step
        items, rv = step
        return copy.deepcopy(items), rv

    def watch(self, kind, namespace, field_selector=None, resource_version=None, timeout_seconds=None, stop=None):
        with self.lock:
            self.watch_calls.append((kind, namespace, resource_version))
            session = self.watches.pop(0) if self.watches else None
        if session is None:
            stop.wait(timeout_seconds)
            return
        for step in session:
            if isinstance(step, Exception):
                raise step
            yield copy.deepcopy(step)


class FakeCluster(object):
    """An in-memory API server for Fluid kinds, Nodes, Pods and Events."""

    def __init__(self, fluid_installed=True, kinds=None):
        self.objects = {}
        self.log = []  # (rv, type, obj)
        self.compacted = 0
        self.rv = itertools.count(100)
        self.cond = threading.Condition()
        self.installed = fluid_installed
        self.kinds = set(kinds or F.PLURALS)
        self.applied = {}  # key -> our last applied labels keys
        self.calls = []
        self.controller = None  # callable(cluster, obj) run after each write, like a Fluid controller
        self.watch_failures = []  # exceptions raised by the next watch() calls
        self.streams_closed = 0
        self.drops = 0

    # ---------------------------------------------------------------- helpers
    def _next(self):
        return str(next(self.rv))

    def _emit(self, etype, o):
        with self.cond:
            self.log.append((int(o["metadata"]["resourceVersion"]), etype, copy.deepcopy(o)))
            self.cond.notify_all()

    def put(self, o, etype=None):
        """Store an object as a controller would (status included), emitting a watch event."""
        o = copy.deepcopy(o)
        key = (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"])
        o["metadata"]["resourceVersion"] = self._next()
        existed = key in self.objects
        self.objects[key] = o
        self._emit(etype or ("MODIFIED" if existed else "ADDED"), o)
        return o

    def set_status(self, kind, namespace, name, status):
        o = copy.deepcopy(self.objects[(kind, namespace, name)])
        o["status"] = status
        return self.put(o)

    def remove(self, kind, namespace, name):
        o = self.objects.pop((kind, namespace, name))
        o["metadata"]["resourceVersion"] = self._next()
        self._emit("DELETED", o)

    def compact(self):
        """As etcd compaction: a new watch from an older resourceVersion gets 410 (open streams go on)."""
        with self.cond:
            self.compacted = int(self.log[-1][0]) if self.log else 0

    def drop_streams(self):
        """Break every open watch stream, as an API server restart does."""
        with self.cond:
            self.drops += 1
            self.cond.notify_all()

    # ---------------------------------------------------------------- client interface
    def kinds_served(self):
        return set(self.kinds) if self.installed else set()

    def kind_served(self, kind):
        if kind in ("Node", "Pod", "Event", "PersistentVolumeClaim"):
            return True
        return kind in self.kinds_served()

    def require(self, kind):
        if not self.installed:
            raise FluidNotInstalled(kind)
        if kind not in self.kinds:
            raise ApiError("kind %s not served" % kind, status=404)

    def get(self, kind, namespace, name):
        self.calls.append(("get", kind, namespace, name))
        o = self.objects.get((kind, namespace, name)) or self.objects.get((kind, None, name))
        return copy.deepcopy(o)

    def list(self, kind, namespace, field_selector=None, label_selector=None, with_version=False):
        self.calls.append(("list", kind, namespace, field_selector))
        items = []
        for (k, ns, name), o in sorted(self.objects.items(), key=lambda kv: str(kv[0])):
            if k != kind or (namespace is not None and ns != namespace):
                continue
            if field_selector:
                ok = True
                for cond in field_selector.split(","):
                    path, value = cond.partition("=")[::2]
                    cur = o
                    for part in path.split("."):
                        cur = (cur or {}).get(part) if isinstance(cur, dict) else None
                    ok = ok and str(cur) == value
                if not ok:
                    continue
            items.append(copy.deepcopy(o))
        if with_version:
            return items, str(max([self.compacted] + [e[0] for e in self.log]) if self.log or self.compacted else 1)
        return items

    def _server_defaults(self, o):
        for level in ((o.get("spec") or {}).get("tieredstore") or {}).get("levels") or []:
            level.setdefault("volumeType", "hostPath")  # the CRD's default
        return o

    def _merge(self, body, existing):
        key = (body["kind"], body["metadata"].get("namespace"), body["metadata"]["name"])
        new = copy.deepcopy(existing) if existing else {
            "apiVersion": body["apiVersion"], "kind": body["kind"],
            "metadata": {"name": body["metadata"]["name"], "namespace": body["metadata"].get("namespace"),
                         "uid": "uid-" + body["metadata"]["name"], "generation": 1}}
        if new["metadata"].get("namespace", "") is None:  # a cluster-scoped kind
            del new["metadata"]["namespace"]
        meta = new["metadata"]
        for field in ("labels", "annotations"):
            mine_before = self.applied.get((key, field), set())
            kept = {k: v for k, v in (meta.get(field) or {}).items() if k not in mine_before}
            kept.update(body["metadata"].get(field) or {})
            if kept:
                meta[field] = kept
            else:
                meta.pop(field, None)
        # server-side apply: fields others set stay, fields this manager set before and dropped now go,
        # lists are atomic (Fluid's CRDs declare no list merge keys)
        old_spec = copy.deepcopy((existing or {}).get("spec") or {})
        _drop(old_spec, self.applied.get((key, "spec")) or {})
        new["spec"] = _merge_spec(old_spec, body.get("spec") or {})
        if existing and existing.get("spec") != new["spec"]:
            meta["generation"] = meta.get("generation", 1) + 1
        return self._server_defaults(new)

    def apply(self, body, dry_run=False):
        self.calls.append(("apply", body["kind"], body["metadata"].get("namespace"), body["metadata"]["name"], dry_run))
        if body["metadata"].get("namespace") == "missing-ns":
            raise ApiError('namespaces "missing-ns" not found', status=404)
        key = (body["kind"], body["metadata"].get("namespace"), body["metadata"]["name"])
        existing = self.objects.get(key)
        new = self._merge(body, existing)
        if dry_run:
            new["metadata"]["resourceVersion"] = (existing or {}).get("metadata", {}).get("resourceVersion", "0")
            return new
        for field in ("labels", "annotations"):
            self.applied[(key, field)] = set(body["metadata"].get(field) or {})
        self.applied[(key, "spec")] = copy.deepcopy(body.get("spec") or {})
        if existing is not None and existing == dict(new, metadata=dict(new["metadata"], resourceVersion=existing["metadata"]["resourceVersion"])):
            return copy.deepcopy(existing)
        stored = self.put(new)
        if self.controller:
            self.controller(self, stored)
        return copy.deepcopy(self.objects[key])

    def node_configz(self, name):
        """configz: node name -> the kubelet configuration, or an ApiError to raise."""
        found = getattr(self, "configz", {}).get(name)
        if isinstance(found, ApiError):
            raise found
        if found is None:
            raise ApiError("404 page not found", status=404)
        return found

    def merge_patch(self, kind, namespace, name, body, dry_run=False):
        """RFC 7386 on the stored object (None deletes a key)."""
        self.calls.append(("merge_patch", kind, namespace, name, dry_run))
        o = self.objects.get((kind, namespace, name))
        if o is None:
            raise ApiError("%s %s not found" % (kind, name), status=404)
        new = _merge_patch(copy.deepcopy(o), body)
        return new if dry_run else self.put(new)

    def json_patch(self, kind, namespace, name, ops, dry_run=False):
        """RFC 6902 "test" and "replace" of /metadata/finalizers, as module_utils.force sends them; a failing test is
        the API server's 422. An object being deleted whose last finalizer goes is deleted, as the API server does."""
        self.calls.append(("json_patch", kind, namespace, name, dry_run))
        o = self.objects.get((kind, namespace, name))
        if o is None:
            raise ApiError("%s %s not found" % (kind, name), status=404)
        new = copy.deepcopy(o)
        for op in ops:
            assert op["path"] == "/metadata/finalizers", op
            if op["op"] == "test" and (o["metadata"].get("finalizers") or []) != op["value"]:
                raise ApiError("the server rejected our request due to an error in our request", status=422)
            if op["op"] == "replace":
                new["metadata"]["finalizers"] = list(op["value"])
        if dry_run:
            return new
        if new["metadata"].get("deletionTimestamp") and not new["metadata"]["finalizers"]:
            self.remove(kind, namespace, name)
            return new
        return self.put(new)

    def delete(self, kind, namespace, name, dry_run=False):
        self.calls.append(("delete", kind, namespace, name, dry_run))
        key = (kind, namespace, name)
        o = self.objects.get(key)
        if o is None:
            return None
        if dry_run:
            return copy.deepcopy(o)
        if o["metadata"].get("finalizers"):
            o = copy.deepcopy(o)
            o["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
            stored = self.put(o)
            if self.controller:
                self.controller(self, stored)
            return copy.deepcopy(stored)
        self.remove(kind, namespace, name)
        return o

    def watch(self, kind, namespace, field_selector=None, resource_version=None, timeout_seconds=None, stop=None):
        self.calls.append(("watch", kind, namespace, resource_version))
        if self.watch_failures:
            raise self.watch_failures.pop(0)
        rv = int(resource_version or 0)
        if rv < self.compacted:
            raise Gone("too old resource version: %s (%s)" % (rv, self.compacted))
        deadline = time.monotonic() + (timeout_seconds or 5)
        drops = self.drops
        while True:
            if self.drops != drops:
                raise Transient("connection reset by peer")
            with self.cond:
                batch = [e for e in self.log if e[0] > rv]
                if not batch and self.drops == drops:
                    self.cond.wait(0.02)
            for erv, etype, o in batch:
                rv = erv
                if o["kind"] != kind or (namespace is not None and o["metadata"].get("namespace") != namespace):
                    continue
                if field_selector and field_selector != "metadata.name=%s" % o["metadata"]["name"]:
                    continue
                yield {"type": etype, "object": copy.deepcopy(o)}
            if (stop is not None and stop.is_set()) or time.monotonic() > deadline:
                return

    def cancel(self, stop):
        self.streams_closed += 1


def _drop(spec, applied):
    """Remove from spec the fields a previous apply set (recursing into mappings)."""
    for k, v in applied.items():
        if isinstance(v, dict) and isinstance(spec.get(k), dict):
            _drop(spec[k], v)
            if not spec[k]:
                spec.pop(k)
        else:
            spec.pop(k, None)


def _merge_spec(base, ours):
    out = copy.deepcopy(base)
    for k, v in ours.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge_spec(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def fluid_write_back(cluster, o):
    """What Fluid's runtime controller does with Update: re-serialize the spec from Go structs
    (empty structs appear, e.g. volumeSource: {} in each tier) and add fields of its own."""
    o = copy.deepcopy(cluster.objects[(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"])])
    spec = o["spec"]
    for level in (spec.get("tieredstore") or {}).get("levels") or []:
        level.setdefault("volumeSource", {})
    spec.setdefault("podMetadata", {})
    spec.setdefault("data", {"pin": False, "replicas": 0})
    mem = [lv["quota"] for lv in (spec.get("tieredstore") or {}).get("levels") or [] if lv["mediumtype"] == "MEM"]
    if mem:
        spec.setdefault("worker", {}).setdefault("resources", {}).setdefault("requests", {})["memory"] = mem[0]
    o["metadata"].setdefault("labels", {})["fluid.io/dataset-id"] = "%s-%s" % (o["metadata"]["namespace"], o["metadata"]["name"])
    return cluster.put(o)


def bound_on_apply(runtime_needed=False):
    """A controller that writes Dataset phase NotBound, then Bound (when a runtime exists, if asked)."""
    def controller(cluster, o):
        if o["kind"] == "Dataset" and not o["metadata"].get("deletionTimestamp"):
            ns, name = o["metadata"]["namespace"], o["metadata"]["name"]
            has_runtime = any(k[0].endswith("Runtime") and k[1:] == (ns, name) for k in cluster.objects)
            if not o["metadata"].get("finalizers"):
                o2 = copy.deepcopy(cluster.objects[("Dataset", ns, name)])
                o2["metadata"]["finalizers"] = [DATASET_FINALIZER]
                cluster.put(o2)
            phase = "Bound" if (has_runtime or not runtime_needed) else "NotBound"
            cluster.set_status("Dataset", ns, name, {"phase": phase, "conditions": [],
                                                     "cacheStates": {"cacheCapacity": "12.00GiB", "cached": "0.00B"},
                                                     "ufsTotal": "1.742GiB"})
        if o["kind"] == "Dataset" and o["metadata"].get("deletionTimestamp"):
            cluster.remove("Dataset", o["metadata"]["namespace"], o["metadata"]["name"])
    return controller


# ---------------------------------------------------------------- quantities, for the tests' own checks


def is_quantity(value):
    try:
        parse_quantity(value)
        return True
    except QuantityError:
        return False


def format_quantity(num_bytes):
    """Bytes as the shortest exact Kubernetes binary quantity: ``2147483648`` -> ``2Gi``; ``1000`` -> ``1000``."""
    n = int(num_bytes)
    if n < 0:
        raise QuantityError("%r is negative" % (num_bytes,))
    if n == 0:
        return "0"
    for suffix, power in sorted(_BINARY.items(), key=lambda kv: -kv[1]):
        unit = 1024 ** power
        if n % unit == 0:
            return "%d%s" % (n // unit, suffix)
    return str(n)


def same_quantity(a, b):
    """True when two quantities denote the same amount (``2Gi`` and ``2048Mi``)."""
    try:
        return parse_bytes(a) == parse_bytes(b)
    except QuantityError:
        return str(a) == str(b)


# ---------------------------------------------------------------- the seed's objects, as Fluid writes them

GPU = "aliyun.accelerator/nvidia_name"
V100 = "Tesla-V100-SXM2-16GB"

# The seed's AlluxioRuntime status at step 6 (one GPU node labelled).
SEED_RUNTIME_STATUS = {
    "cacheStates": {"cacheCapacity": "12GiB", "cached": "0B", "cachedPercentage": "0%"},
    "conditions": [
        {"type": "MasterInitialized", "status": "True", "reason": "Master is initialized", "message": "The master is initialized."},
        {"type": "MasterReady", "status": "True", "reason": "Master is ready", "message": "The master is ready."},
        {"type": "WorkersReady", "status": "True", "reason": "Workers are ready", "message": "The workers are partially ready."},
    ],
    "masterPhase": "Ready", "masterNumberReady": 1, "desiredMasterNumberScheduled": 1, "currentMasterNumberScheduled": 1,
    "workerPhase": "PartialReady", "workerNumberReady": 1, "desiredWorkerNumberScheduled": 2, "currentWorkerNumberScheduled": 1,
    "fusePhase": "Ready", "fuseNumberReady": 1, "desiredFuseNumberScheduled": 2, "currentFuseNumberScheduled": 1,
}
SEED_DATASET_STATUS = {
    "phase": "Bound", "ufsTotal": "1.742GiB",
    "cacheStates": {"cacheCapacity": "12GiB", "cached": "0B", "cachedPercentage": "0%"},
    "conditions": [{"type": "Ready", "status": "True", "reason": "DatasetReady", "message": "The ddc runtime is ready.",
                    "lastTransitionTime": "2020-07-09T11:40:00Z"}],
    "runtimes": [{"name": "cifar10", "namespace": "default", "category": "Accelerate", "type": "alluxio"}],
}


def node(name, labels=None, allocatable=None, **spec):
    return {"kind": "Node", "metadata": {"name": name, "labels": dict(labels or {})},
            "spec": spec, "status": {"allocatable": dict(allocatable or {})}}


def seed_dataset(status=None):
    o = obj("Dataset", "default", "cifar10", spec={
        "mounts": [{"mountPoint": "https://downloads.apache.org/hbase/2.2.5/", "name": "hbase"}],
        "nodeAffinity": {"required": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": GPU, "operator": "In", "values": [V100]}]}]}}})
    if status is not None:
        o["status"] = status
    return o


def seed_runtime(status=None, replicas=2):
    o = obj("AlluxioRuntime", "default", "cifar10", spec={"replicas": replicas})
    if status is not None:
        o["status"] = status
    return o


def cluster_with_nodes(gpu_nodes=1):
    c = FakeCluster()
    c.put(node("cn-hongkong.172.31.136.196", {GPU: V100}))
    c.put(node("cn-hongkong.172.31.136.194", {GPU: V100} if gpu_nodes > 1 else {}))
    return c


def _merge_patch(target, patch):
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        elif isinstance(v, dict):
            target[k] = _merge_patch(target.get(k) if isinstance(target.get(k), dict) else {}, v)
        else:
            target[k] = v
    return target
