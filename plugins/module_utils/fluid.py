# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts about Fluid's API (data.fluid.io/v1alpha1, Fluid 1.0.x) and the one timeout diagnosis.

Everything a module needs to know about Fluid lives here: kinds and plural names, the phases,
readers of status fields, and ``diagnose()``, which every waiting module calls when its wait
times out so the failure says *why*, not just "timed out".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import time

from ansible_collections.cloudnative.fluid.plugins.module_utils.quantity import (
    QuantityError,
    parse_bytes,
)

GROUP = "data.fluid.io"
VERSION = "v1alpha1"
API_VERSION = GROUP + "/" + VERSION

DATASET = "Dataset"
DATALOAD = "DataLoad"

# kind -> plural, as in Fluid's CRDs (charts/fluid/fluid/crds)
PLURALS = {
    "Dataset": "datasets",
    "DataLoad": "dataloads",
    "DataBackup": "databackups",
    "DataMigrate": "datamigrates",
    "DataProcess": "dataprocesses",
    "AlluxioRuntime": "alluxioruntimes",
    "JindoRuntime": "jindoruntimes",
    "JuiceFSRuntime": "juicefsruntimes",
    "ThinRuntime": "thinruntimes",
    "GooseFSRuntime": "goosefsruntimes",
    "EFCRuntime": "efcruntimes",
    "VineyardRuntime": "vineyardruntimes",
    "ThinRuntimeProfile": "thinruntimeprofiles",
}

# The runtimes this collection manages (cloudnative.fluid.runtime's kind choices).
RUNTIME_KINDS = ("AlluxioRuntime", "JindoRuntime", "JuiceFSRuntime", "ThinRuntime")
# Every runtime kind Fluid 1.0 has; a Dataset binds to the runtime of its own name, of any of these.
ALL_RUNTIME_KINDS = RUNTIME_KINDS + ("GooseFSRuntime", "EFCRuntime", "VineyardRuntime")
# Runtimes without a master component (ThinRuntime has only workers and fuses).
RUNTIMES_WITHOUT_MASTER = ("ThinRuntime",)

# Dataset phases (api/v1alpha1/dataset_types.go)
PHASE_BOUND = "Bound"
PHASE_NOT_BOUND = "NotBound"
PHASE_PENDING = "Pending"
PHASE_FAILED = "Failed"
PHASE_UPDATING = "Updating"
DATASET_PHASES = (PHASE_PENDING, PHASE_BOUND, PHASE_FAILED, PHASE_NOT_BOUND, PHASE_UPDATING, "DataMigrating")

# Runtime component phases (api/v1alpha1/status.go)
RUNTIME_READY = "Ready"
RUNTIME_PARTIAL_READY = "PartialReady"
RUNTIME_NOT_READY = "NotReady"

DATASET_FINALIZER = "fluid-dataset-controller-finalizer"

# Where Fluid's chart runs its controllers, and which one reconciles each kind (the Deployment names
# of charts/fluid/fluid/templates/controller). Data operations are reconciled by the dataset controller.
FLUID_NAMESPACE = "fluid-system"
CONTROLLERS = {
    "Dataset": "dataset-controller",
    "DataLoad": "dataset-controller",
    "DataBackup": "dataset-controller",
    "DataMigrate": "dataset-controller",
    "DataProcess": "dataset-controller",
    "AlluxioRuntime": "alluxioruntime-controller",
    "JindoRuntime": "jindoruntime-controller",
    "JuiceFSRuntime": "juicefsruntime-controller",
    "ThinRuntime": "thinruntime-controller",
    "GooseFSRuntime": "goosefsruntime-controller",
    "EFCRuntime": "efcruntime-controller",
    "VineyardRuntime": "vineyardruntime-controller",
}
# A runtime that is not ready and whose status nobody wrote for this long may have a stalled controller.
STALLED_SECONDS = 120

INSTALL_HINT = (
    "Fluid is not installed in this cluster: the data.fluid.io CRDs are missing. "
    "Install Fluid first with the role cloudnative.fluid.fluid (it installs the CRDs and controllers), "
    "then run this task again."
)

# Mount point schemes that Fluid 1.0 runtimes understand. Fluid itself handles local://, pvc://,
# http(s):// and dataset://; the rest are the under-storage schemes of Alluxio, Jindo, JuiceFS and
# ThinRuntime profiles.
MOUNT_SCHEMES = (
    "https", "http", "s3", "s3a", "oss", "hdfs", "webhdfs", "pvc", "local", "dataset",
    "gs", "gcs", "wasb", "wasbs", "abfs", "abfss", "adl", "cos", "cosn", "obs", "ks3", "bos",
    "swift", "alluxio", "jfs", "juicefs", "nfs", "cephfs", "cubefs", "glusterfs", "minio", "ozone",
)


def plural(kind):
    try:
        return PLURALS[kind]
    except KeyError:
        raise ValueError("unknown Fluid kind %r (known: %s)" % (kind, ", ".join(sorted(PLURALS))))


# ---------------------------------------------------------------- status readers


def _status(obj):
    return (obj or {}).get("status") or {}


def phase(obj):
    """Dataset (or data operation) phase, '' when no status has been written."""
    return _status(obj).get("phase") or ""


def is_bound(obj):
    return obj is not None and phase(obj) == PHASE_BOUND


def conditions(obj):
    """Conditions as a list of dicts with type, status, reason, message (times dropped)."""
    out = []
    for c in _status(obj).get("conditions") or []:
        out.append({k: c.get(k) for k in ("type", "status", "reason", "message") if c.get(k) is not None})
    return out


def has_status(obj):
    """True once any controller has written a status."""
    st = _status(obj)
    return bool(st.get("phase") or st.get("conditions") or st.get("masterPhase") or st.get("workerPhase")
                or st.get("fusePhase") or st.get("cacheStates"))


def cache_states(obj):
    """status.cacheStates as written (strings), e.g. {'cacheCapacity': '12.00GiB', 'cached': '0.00B'}."""
    return dict(_status(obj).get("cacheStates") or {})


def _bytes_or_none(text):
    try:
        return parse_bytes(text)
    except QuantityError:
        return None


def cache_capacity_bytes(obj):
    return _bytes_or_none(cache_states(obj).get("cacheCapacity"))


def cached_bytes(obj):
    return _bytes_or_none(cache_states(obj).get("cached"))


def cached_percentage(obj):
    """cachedPercentage as a float (``'12.5%'`` -> 12.5), None when unknown."""
    text = cache_states(obj).get("cachedPercentage")
    if not text:
        return None
    try:
        return float(str(text).strip().rstrip("%"))
    except ValueError:
        return None


def ufs_total(obj):
    return _status(obj).get("ufsTotal") or ""


def ufs_total_bytes(obj):
    text = ufs_total(obj)
    # Fluid writes "[Calculating]" while it is still counting.
    if not text or text.startswith("["):
        return None
    return _bytes_or_none(text)


def dataset_runtimes(obj):
    """status.runtimes: the runtimes a Dataset is bound to, as dicts with name, namespace, type, category."""
    out = []
    for r in _status(obj).get("runtimes") or []:
        out.append({k: r.get(k) for k in ("name", "namespace", "type", "category", "masterReplicas") if r.get(k) is not None})
    return out


def runtime_components(obj):
    """Per component phase and counts of a runtime's status.

    Returns {'master': {...}, 'worker': {...}, 'fuse': {...}}, each with phase, ready, desired
    (and reason when Fluid gave one).
    """
    st = _status(obj)

    def comp(name):
        c = {
            "phase": st.get(name + "Phase") or "",
            "ready": int(st.get(name + "NumberReady") or 0),
            "desired": int(st.get("desired" + name.capitalize() + "NumberScheduled") or 0),
            "scheduled": int(st.get("current" + name.capitalize() + "NumberScheduled") or 0),
        }
        if st.get(name + "Reason"):
            c["reason"] = st[name + "Reason"]
        return c

    return {"master": comp("master"), "worker": comp("worker"), "fuse": comp("fuse")}


def runtime_ready(obj, kind="AlluxioRuntime", min_workers=None):
    """True when the runtime's master is Ready (if it has one) and enough workers are ready.

    min_workers defaults to spec.replicas (all workers); 0 means the master alone is enough.
    """
    if obj is None:
        return False
    comps = runtime_components(obj)
    if kind not in RUNTIMES_WITHOUT_MASTER and comps["master"]["phase"] != RUNTIME_READY:
        return False
    if min_workers is None:
        min_workers = int(((obj.get("spec") or {}).get("replicas")) or 0)
    if min_workers <= 0:
        return True
    if comps["worker"]["ready"] < min_workers:
        return False
    return comps["worker"]["phase"] in (RUNTIME_READY, RUNTIME_PARTIAL_READY)


# ---------------------------------------------------------------- node affinity


def _label_match(labels, expr):
    key, op = expr.get("key"), expr.get("operator")
    values = [str(v) for v in expr.get("values") or []]
    present = key in labels
    value = labels.get(key)
    if op == "In":
        return present and value in values
    if op == "NotIn":
        return not present or value not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt"):
        try:
            lhs, rhs = int(value), int(values[0])
        except (TypeError, ValueError, IndexError):
            return False
        return lhs > rhs if op == "Gt" else lhs < rhs
    return False


def node_matches_selector(node, node_selector):
    """Whether a Node matches a v1.NodeSelector (terms are ORed, expressions in a term ANDed)."""
    terms = (node_selector or {}).get("nodeSelectorTerms") or []
    if not terms:
        return True
    meta = node.get("metadata") or {}
    labels = meta.get("labels") or {}
    fields = {"metadata.name": meta.get("name")}
    for term in terms:
        exprs = term.get("matchExpressions") or []
        fexprs = term.get("matchFields") or []
        if not exprs and not fexprs:
            continue  # an empty term matches nothing
        if all(_label_match(labels, e) for e in exprs) and all(_label_match(fields, e) for e in fexprs):
            return True
    return False


def node_matches_labels(node, selector):
    labels = ((node.get("metadata") or {}).get("labels")) or {}
    return all(labels.get(k) == str(v) for k, v in (selector or {}).items())


def dataset_node_selector(dataset):
    return (((dataset or {}).get("spec") or {}).get("nodeAffinity") or {}).get("required")


# ---------------------------------------------------------------- diagnosis


def _fmt_conditions(obj):
    conds = conditions(obj)
    if not conds:
        return "none"
    parts = []
    for c in conds:
        text = "%s=%s" % (c.get("type"), c.get("status"))
        detail = c.get("message") or c.get("reason")
        if detail:
            text += " (%s)" % detail
        parts.append(text)
    return "; ".join(parts)


def _fmt_runtime(kind, obj):
    comps = runtime_components(obj)
    parts = []
    for name in ("master", "worker", "fuse"):
        if name == "master" and kind in RUNTIMES_WITHOUT_MASTER:
            continue
        c = comps[name]
        text = "%s %s %d/%d ready" % (name, c["phase"] or "(no phase)", c["ready"], c["desired"])
        if c.get("reason"):
            text += " (%s)" % c["reason"]
        parts.append(text)
    return ", ".join(parts)


def _epoch(timestamp):
    """Seconds since the epoch of an RFC 3339 timestamp as the API server writes them (UTC), or None."""
    if not timestamp:
        return None
    try:
        return calendar.timegm(time.strptime(str(timestamp)[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None


def status_written(obj):
    """(epoch seconds, manager) of the last write to the object's status subresource, from
    metadata.managedFields; (None, None) when no status was ever written through it."""
    last, manager = None, None
    for m in ((obj or {}).get("metadata") or {}).get("managedFields") or []:
        if m.get("subresource") != "status":
            continue
        t = _epoch(m.get("time"))
        if t is not None and (last is None or t > last):
            last, manager = t, m.get("manager")
    return last, manager


def controller_name(kind):
    """The Deployment of Fluid's controller that reconciles ``kind``."""
    return CONTROLLERS.get(kind, kind.lower() + "-controller")


def controller_hint(kind):
    """How to check the controller that reconciles ``kind``."""
    name = controller_name(kind)
    return ("check the %s Deployment in namespace %s (kubectl -n %s get deploy %s; its pod's log), "
            "or install Fluid with the role cloudnative.fluid.fluid%s" % (
                name, FLUID_NAMESPACE, FLUID_NAMESPACE, name,
                " (fluid_runtimes_enabled must include %s)" % kind[:-len("Runtime")].lower()
                if kind.endswith("Runtime") else ""))


def _controller_lines(kind, namespace, name, obj, now, ready=None):
    """Lines naming a controller that never reconciled obj, or seems stalled on it."""
    if obj is None:
        return []
    controller = controller_name(kind)
    created = _epoch(((obj.get("metadata") or {}).get("creationTimestamp")))
    age = " in the %d s since it was created" % max(0, now - created) if created is not None else ""
    if not has_status(obj):
        return ["No controller has reconciled %s %s/%s: no status written%s. Fluid's %s is missing, stopped or hung: %s."
                % (kind, namespace, name, age, controller, controller_hint(kind))]
    written, manager = status_written(obj)
    if ready is False and written is not None and now - written >= STALLED_SECONDS:
        return ["%s %s/%s is not ready and its status was last written %d s ago (by %s): either nothing progresses "
                "(see the pods above) or the %s is stalled; %s." % (
                    kind, namespace, name, now - written, manager or "?", controller, controller_hint(kind))]
    return []


def _safe(call, what, notes):
    """Run a diagnostic read; on error add a note instead of failing the diagnosis."""
    try:
        return call()
    except Exception as e:  # pylint: disable=broad-except
        notes.append("could not read %s: %s" % (what, _short_error(e)))
        return None


def _short_error(e):
    status = getattr(e, "status", None)
    reason = getattr(e, "reason", None) or getattr(e, "summary", lambda: None)()
    if status:
        return "%s %s" % (status, reason or "")
    return str(e).splitlines()[0] if str(e) else e.__class__.__name__


def find_runtime(client, namespace, name, notes=None):
    """(kind, object) of the runtime named like the dataset, or (None, None)."""
    notes = notes if notes is not None else []
    for kind in ALL_RUNTIME_KINDS:
        if not client.kind_served(kind):
            continue
        obj = _safe(lambda k=kind: client.get(k, namespace, name), kind + " " + name, notes)
        if obj is not None:
            return kind, obj
    return None, None


def _nodes_matching(client, selector, labels_selector, notes):
    nodes = _safe(lambda: client.list("Node", None), "nodes", notes)
    if nodes is None:
        return None, None
    matching = [n for n in nodes if node_matches_selector(n, selector) and node_matches_labels(n, labels_selector)]
    return len(matching), len(nodes)


def _pods_using_pvc(client, namespace, claim, notes):
    pods = _safe(lambda: client.list("Pod", namespace), "pods in namespace " + namespace, notes)
    users = []
    for pod in pods or []:
        vols = ((pod.get("spec") or {}).get("volumes")) or []
        if any(((v.get("persistentVolumeClaim") or {}).get("claimName")) == claim for v in vols):
            ph = (pod.get("status") or {}).get("phase") or "Unknown"
            if ph not in ("Succeeded", "Failed"):
                users.append("%s (%s)" % (pod["metadata"]["name"], ph))
    return users


def _unready_pods(client, namespace, name, notes):
    """Runtime pods (<name>-master-N, <name>-worker-N, <name>-fuse-xxx) that are not ready, with why."""
    pods = _safe(lambda: client.list("Pod", namespace), "pods in namespace " + namespace, notes)
    out = []
    for pod in pods or []:
        pname = pod["metadata"]["name"]
        if not any(pname.startswith("%s-%s" % (name, role)) for role in ("master", "worker", "fuse")):
            continue
        st = pod.get("status") or {}
        conds = {c.get("type"): c for c in st.get("conditions") or []}
        if (conds.get("Ready") or {}).get("status") == "True":
            continue
        why = (conds.get("PodScheduled") or {}).get("message") if (conds.get("PodScheduled") or {}).get("status") == "False" else None
        if not why:
            for cs in st.get("containerStatuses") or []:
                waiting = (cs.get("state") or {}).get("waiting") or {}
                if waiting.get("reason"):
                    why = "%s: %s" % (waiting["reason"], waiting.get("message", ""))
                    break
        out.append("%s %s%s" % (pname, st.get("phase") or "Unknown", (": " + why.strip()) if why else ""))
    return out[:6]


def _warning_events(client, kind, namespace, name, notes):
    fs = "involvedObject.kind=%s,involvedObject.name=%s" % (kind, name)
    events = _safe(lambda: client.list("Event", namespace, field_selector=fs), "events", notes) or []
    warnings = [e for e in events if e.get("type") == "Warning"]
    warnings.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
    return ["%s: %s" % (e.get("reason"), (e.get("message") or "").strip()) for e in warnings[-3:]]


def diagnose(client, kind, namespace, name, obj=None, want="ready", fetch=True, now=None):
    """Explain why ``kind namespace/name`` did not reach ``want`` in time.

    want: 'absent' for a deletion (what still holds the object: finalizers, pods using its PVC,
    datasets mounting it, a runtime of the same name); anything else ('bound', 'ready', 'complete')
    for an object that had to reach a state (phase and conditions, the runtime or Dataset of the
    same name with master/worker/fuse phases and ready counts, how many nodes match the node
    affinity, pods not ready, whether Fluid's controllers ever wrote a status).
    ``client`` is a FluidClient (module_utils.client) or anything with its get/list/kind_served.
    A controller that never wrote a status is named with its Deployment in fluid-system; one whose
    runtime is not ready and whose status nobody wrote for STALLED_SECONDS is named as maybe stalled.
    A DataLoad also gets its Dataset, loader Job and pods explained (observe.dataload_notes).
    ``now``: epoch seconds (tests); default the local clock.
    Returns one multi-line string; reads that fail (permissions) become notes, never exceptions.
    """
    now = int(time.time() if now is None else now)
    notes = []
    lines = []
    ref = "%s %s/%s" % (kind, namespace, name)

    if kind in PLURALS and _safe(lambda: client.kind_served(DATASET), "API discovery", notes) is False:
        return INSTALL_HINT
    if fetch:
        fresh = _safe(lambda: client.get(kind, namespace, name), ref, notes)
        if fresh is not None or not notes:
            obj = fresh

    if want == "absent":
        if obj is None:
            return "%s is gone." % ref
        meta = obj.get("metadata") or {}
        finalizers = meta.get("finalizers") or []
        lines.append("%s still exists%s; finalizers: %s." % (
            ref, " (deletion requested at %s)" % meta["deletionTimestamp"] if meta.get("deletionTimestamp") else "",
            ", ".join(finalizers) or "none"))
        claim_users = _pods_using_pvc(client, namespace, name, notes)
        if claim_users:
            lines.append("Pods still use the PVC %s/%s, and Fluid keeps the %s until they stop: %s. "
                         "Delete them (or scale their owners to 0) first." % (namespace, name, kind, ", ".join(claim_users)))
        if kind == DATASET:
            refs = _status(obj).get("datasetRef") or []
            if refs:
                lines.append("Datasets mount this one (status.datasetRef): %s; delete them first." % ", ".join(refs))
            rkind, robj = find_runtime(client, namespace, name, notes)
            if robj is not None and not (robj.get("metadata") or {}).get("deletionTimestamp"):
                lines.append("%s %s/%s still exists; deleting it first lets Fluid release the dataset." % (rkind, namespace, name))
        if finalizers and not claim_users and not lines[1:]:
            lines.append("Nothing visible blocks it: the Fluid controller that owns the finalizer may not be running.")
        for w in _warning_events(client, kind, namespace, name, notes):
            lines.append("Warning event: " + w)
        lines.extend("(%s)" % n for n in notes)
        return "\n".join(lines)

    if obj is None:
        lines.append("%s does not exist (it may have been deleted while waiting)." % ref)
        lines.extend("(%s)" % n for n in notes)
        return "\n".join(lines)

    dataset = obj if kind == DATASET else None
    runtime_kind, runtime = (kind, obj) if kind in ALL_RUNTIME_KINDS else (None, None)

    if kind == DATASET:
        lines.append("Dataset %s/%s: phase %s; conditions: %s." % (
            namespace, name, phase(obj) or "(none: no status written yet)", _fmt_conditions(obj)))
        runtime_kind, runtime = find_runtime(client, namespace, name, notes)
        if runtime is None:
            lines.append("No runtime named %s exists in namespace %s: a Dataset is Bound only when a runtime of the "
                         "same name and namespace is ready. Create one with cloudnative.fluid.runtime." % (name, namespace))
    elif kind in ALL_RUNTIME_KINDS:
        before = len(notes)
        dataset = _safe(lambda: client.get(DATASET, namespace, name), "Dataset " + name, notes)
        if dataset is None and len(notes) == before:
            lines.append("No Dataset named %s exists in namespace %s: a runtime serves the Dataset of its own name; "
                         "create it with cloudnative.fluid.dataset." % (name, namespace))
        elif dataset is not None:
            lines.append("Dataset %s/%s: phase %s; conditions: %s." % (
                namespace, name, phase(dataset) or "(none: no status written yet)", _fmt_conditions(dataset)))
    else:
        lines.append("%s: phase %s; conditions: %s." % (ref, phase(obj) or "(none: no status written yet)", _fmt_conditions(obj)))

    if runtime is not None:
        lines.append("%s %s/%s: %s; conditions: %s." % (
            runtime_kind, namespace, name, _fmt_runtime(runtime_kind, runtime), _fmt_conditions(runtime)))
        replicas = int(((runtime.get("spec") or {}).get("replicas")) or 0)
        if replicas:
            lines.append("The runtime asks for %d worker(s) (spec.replicas)." % replicas)

    if dataset is not None or runtime is not None:
        selector = dataset_node_selector(dataset)
        worker_sel = (((runtime or {}).get("spec") or {}).get("worker") or {}).get("nodeSelector") or {}
        matching, total = _nodes_matching(client, selector, worker_sel, notes)
        if total is not None:
            what = []
            if selector:
                what.append("the dataset's spec.nodeAffinity")
            if worker_sel:
                what.append("the runtime's spec.worker.nodeSelector")
            lines.append("%d of %d node(s) match %s." % (matching, total, " and ".join(what) or "(no node constraint: all nodes)"))
            if runtime is not None:
                replicas = int(((runtime.get("spec") or {}).get("replicas")) or 0)
                if matching < replicas:
                    lines.append("Only %d node(s) can host the %d requested worker(s); label more nodes or lower replicas." % (matching, replicas))
        if runtime is not None:
            for p in _unready_pods(client, namespace, name, notes):
                lines.append("Pod not ready: " + p)

    if dataset is not None:
        lines.extend(_controller_lines(DATASET, namespace, name, dataset, now))
    if runtime is not None:
        lines.extend(_controller_lines(runtime_kind, namespace, name, runtime, now,
                                       ready=runtime_ready(runtime, runtime_kind)))
    if kind not in ALL_RUNTIME_KINDS and kind != DATASET:
        lines.extend(_controller_lines(kind, namespace, name, obj, now))
    if kind == DATALOAD:
        # imported here: observe imports this module
        from ansible_collections.cloudnative.fluid.plugins.module_utils import observe
        dataset_name = (((obj.get("spec") or {}).get("dataset")) or {}).get("name")
        lines.extend(observe.dataload_notes(client, namespace, name, dataset_name))

    for w in _warning_events(client, kind, namespace, name, notes):
        lines.append("Warning event: " + w)
    lines.extend("(%s)" % n for n in notes)
    return "\n".join(lines)
