# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only views of Fluid objects for people: what ``dataset_info`` returns and ``dataload`` reports.

Two halves:

* pure functions that turn objects already read (a Dataset, its runtime, Nodes, the PVC, Pods,
  Events) into plain facts: sizes as ``{bytes, human}``, ready counts, the nodes holding the
  cache, the pods using the volume and, for a Pending pod, the scheduler's reason;
* ``collect_datasets()``, which does the reads for many Datasets with few API calls (one list per
  kind and namespace, never one request per Dataset and kind) and never fails on a read it is
  not allowed to do: that part of the answer is left empty and a warning says why.

Sizes keep Fluid's own text as ``human`` (``12.00GiB``, what ``kubectl get dataset`` shows) and
add ``bytes`` parsed from that rounded text (``module_utils.quantity``), so approximate.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils.quantity import QuantityError, parse_bytes

# Dataset.status.runtimes[].type -> runtime kind (Fluid's common.*Runtime constants).
RUNTIME_TYPE_KINDS = {
    "alluxio": "AlluxioRuntime",
    "jindo": "JindoRuntime",
    "juicefs": "JuiceFSRuntime",
    "thin": "ThinRuntime",
    "goosefs": "GooseFSRuntime",
    "efc": "EFCRuntime",
    "vineyard": "VineyardRuntime",
}
KIND_RUNTIME_TYPES = dict((v, k) for k, v in RUNTIME_TYPE_KINDS.items())

# Fluid's node label prefix for "this node holds cache of a Dataset" (common.LabelAnnotationStorageCapacityPrefix).
CACHE_LABEL_PREFIX = "fluid.io/s-"
# Fluid falls back to the Dataset's UID when prefix + namespace-name reaches this length
# (utils.GetNamespacedNameValueWithPrefix, validation.DNS1035LabelMaxLength).
LABEL_MAX = 63

# cacheStates keys with ratios, as Fluid writes them ("12.5%"), and our names for them.
HIT_RATIOS = (
    ("cacheHitRatio", "cache_hit_ratio"),
    ("localHitRatio", "local_hit_ratio"),
    ("remoteHitRatio", "remote_hit_ratio"),
    ("cacheThroughputRatio", "cache_throughput_ratio"),
    ("localThroughputRatio", "local_throughput_ratio"),
    ("remoteThroughputRatio", "remote_throughput_ratio"),
)

# Above this many namespaces, a kind is listed once across all namespaces instead of per namespace.
MAX_NAMESPACED_LISTS = 4

_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|h|m|s)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, u"\u00b5s": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


# ---------------------------------------------------------------- small readers


def size(text):
    """Fluid's size text as {'bytes': int or None, 'human': text or None}."""
    text = (text or "").strip() if isinstance(text, str) else text
    if text in (None, ""):
        return {"bytes": None, "human": None}
    if isinstance(text, str) and text.startswith("["):  # "[Calculating]"
        return {"bytes": None, "human": text}
    try:
        return {"bytes": parse_bytes(text), "human": str(text)}
    except QuantityError:
        return {"bytes": None, "human": str(text)}


def percent(text):
    """Fluid's percentage text (``'13.6%'``) as {'percent': 13.6, 'human': '13.6%'}; None values when unknown."""
    if text in (None, ""):
        return {"percent": None, "human": None}
    try:
        return {"percent": float(str(text).strip().rstrip("%")), "human": str(text)}
    except ValueError:
        return {"percent": None, "human": str(text)}


def hit_ratios(dataset):
    """The hit and throughput ratios Fluid wrote in cacheStates, as percent floats (only those present)."""
    states = fluid.cache_states(dataset)
    out = {}
    for fluid_key, key in HIT_RATIOS:
        value = percent(states.get(fluid_key))["percent"]
        if value is not None:
            out[key] = value
    return out


def go_duration_seconds(text):
    """Seconds of a Go duration string (``2s``, ``1m11s``, ``1h0m3.5s``); None for anything else (``Unfinished``)."""
    text = (text or "").strip()
    if not text:
        return None
    if text == "0s":
        return 0.0
    pos, total = 0, 0.0
    for m in _GO_DURATION.finditer(text):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * _GO_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        return None
    return round(total, 3)


def cache_label_keys(dataset):
    """The node label keys by which Fluid marks the nodes holding a Dataset's cache."""
    meta = (dataset or {}).get("metadata") or {}
    full = "%s%s-%s" % (CACHE_LABEL_PREFIX, meta.get("namespace"), meta.get("name"))
    keys = [full]
    if len(full) >= LABEL_MAX and meta.get("uid"):
        keys.insert(0, CACHE_LABEL_PREFIX + meta["uid"])
    return keys


def _capacity_label_keys(dataset, runtime_type):
    """Fluid's per-node total cache label: fluid.io/s-h-<type>-t-<namespace>-<name> (value like 12GiB)."""
    meta = (dataset or {}).get("metadata") or {}
    prefix = "%sh-%s-t-" % (CACHE_LABEL_PREFIX, runtime_type)
    full = "%s%s-%s" % (prefix, meta.get("namespace"), meta.get("name"))
    keys = [full]
    if len(full) >= LABEL_MAX and meta.get("uid"):
        keys.insert(0, prefix + meta["uid"])
    return keys


def cache_nodes(dataset, nodes, runtime_kind=None):
    """Nodes holding the Dataset's cache, by Fluid's labels: [{'name', 'capacity': {bytes, human}}], sorted."""
    keys = cache_label_keys(dataset)
    rtype = KIND_RUNTIME_TYPES.get(runtime_kind or "", "")
    cap_keys = _capacity_label_keys(dataset, rtype) if rtype else []
    out = []
    for node in nodes or []:
        labels = ((node.get("metadata") or {}).get("labels")) or {}
        if not any(labels.get(k) == "true" for k in keys):
            continue
        cap = next((labels[k] for k in cap_keys if labels.get(k)), None)
        out.append({"name": node["metadata"]["name"], "capacity": size(cap)})
    out.sort(key=lambda n: n["name"])
    return out


def runtime_facts(kind, runtime):
    """Kind, name, worker replicas and master/worker/fuse phase and counts of a runtime (None when absent)."""
    if runtime is None:
        return None
    comps = fluid.runtime_components(runtime)
    out = {
        "kind": kind,
        "name": (runtime.get("metadata") or {}).get("name"),
        "replicas": int(((runtime.get("spec") or {}).get("replicas")) or 0),
    }
    for name in ("master", "worker", "fuse"):
        if name == "master" and kind in fluid.RUNTIMES_WITHOUT_MASTER:
            out[name] = None
            continue
        c = comps[name]
        out[name] = {"phase": c["phase"], "ready": c["ready"], "desired": c["desired"]}
        if c.get("reason"):
            out[name]["reason"] = c["reason"]
    return out


def pod_uses_claim(pod, claim):
    vols = ((pod.get("spec") or {}).get("volumes")) or []
    return any(((v.get("persistentVolumeClaim") or {}).get("claimName")) == claim for v in vols)


def _event_time(e):
    return (e.get("lastTimestamp") or e.get("eventTime") or (e.get("metadata") or {}).get("creationTimestamp")
            or e.get("firstTimestamp") or "")


def scheduling_reason(pod, events=None):
    """Why the scheduler has not placed a pod: the PodScheduled=False condition's message, else the latest
    FailedScheduling event's message (None when the pod is scheduled or nothing says why).

    The wording is the scheduler's own, for example Kubernetes 1.34+: "0/2 nodes are available: 1 node(s)
    didn't match PersistentVolume's node affinity, ..." (older versions: "volume node affinity conflict").
    """
    st = pod.get("status") or {}
    for c in st.get("conditions") or []:
        if c.get("type") == "PodScheduled":
            if c.get("status") == "True":
                return None
            if c.get("message"):
                return c["message"].strip()
    name = (pod.get("metadata") or {}).get("name")
    mine = [e for e in events or [] if (e.get("involvedObject") or {}).get("name") == name
            and (e.get("involvedObject") or {}).get("kind", "Pod") == "Pod" and e.get("reason") == "FailedScheduling"]
    if mine:
        mine.sort(key=_event_time)
        return (mine[-1].get("message") or "").strip() or None
    for c in st.get("conditions") or []:
        if c.get("type") == "PodScheduled" and c.get("reason"):
            return c["reason"]
    return None


def _waiting_reason(pod):
    for cs in ((pod.get("status") or {}).get("containerStatuses")) or []:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            return ("%s: %s" % (waiting["reason"], waiting.get("message") or "")).strip(": ")
    return None


def pod_facts(pod, events=None):
    """Name, phase, node, ready and (when not running) why, of one pod."""
    meta = pod.get("metadata") or {}
    st = pod.get("status") or {}
    phase = st.get("phase") or "Unknown"
    if meta.get("deletionTimestamp"):
        phase_shown = "Terminating"
    else:
        phase_shown = phase
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or [])
    reason = None
    if phase == "Pending":
        reason = scheduling_reason(pod, events) or _waiting_reason(pod)
    elif phase != "Succeeded" and not ready:
        reason = _waiting_reason(pod)
    return {
        "name": meta.get("name"),
        "phase": phase_shown,
        "node": (pod.get("spec") or {}).get("nodeName") or None,
        "ready": ready,
        "reason": reason,
    }


def pvc_facts(pvc):
    if pvc is None:
        return None
    spec, st = pvc.get("spec") or {}, pvc.get("status") or {}
    return {
        "name": pvc["metadata"]["name"],
        "phase": st.get("phase") or "",
        "volume": spec.get("volumeName") or None,
        "access_modes": list(st.get("accessModes") or spec.get("accessModes") or []),
    }


def dataset_facts(dataset, runtime_kind=None, runtime=None, nodes=None, pvc=None, pods=None, events=None,
                  operations=None, operations_unreadable=()):
    """Everything dataset_info returns for one Dataset, from objects already read.

    nodes/pods/operations None means "not read" (the answer then has cache_nodes/pods/operations None), []
    means "none". operations are (kind, object) pairs of the operations that name this Dataset;
    operations_unreadable the kinds that could not be listed, as {kind, reason}.
    """
    meta = dataset.get("metadata") or {}
    states = fluid.cache_states(dataset)
    status = dataset.get("status") or {}
    claim = meta.get("name")
    users = None
    if pods is not None:
        users = [pod_facts(p, events) for p in pods if pod_uses_claim(p, claim)]
        users.sort(key=lambda p: p["name"])
    file_num = status.get("fileNum")
    try:
        file_num = int(file_num) if file_num not in (None, "") else None
    except (TypeError, ValueError):
        file_num = None
    return {
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "phase": fluid.phase(dataset),
        "conditions": fluid.conditions(dataset),
        "ufs_total": size(fluid.ufs_total(dataset)),
        "file_num": file_num,
        "cache_capacity": size(states.get("cacheCapacity")),
        "cached": size(states.get("cached")),
        "cached_percentage": percent(states.get("cachedPercentage")),
        "hit_ratios": hit_ratios(dataset),
        "runtime": runtime_facts(runtime_kind, runtime),
        "cache_nodes": cache_nodes(dataset, nodes, runtime_kind) if nodes is not None else None,
        "pvc": pvc_facts(pvc),
        "pods": users,
        "operations": None if operations is None else sorted(
            (data_operation_facts(kind, op) for kind, op in operations),
            key=lambda o: (o["created"] or "", DATA_OPERATION_KINDS.index(o["kind"]), o["name"])),
        "operations_unreadable": list(operations_unreadable),
    }


# Fluid's data operations, in the order a report lists their kinds. Each names its Dataset in its spec
# (api/v1alpha1/*_types.go of Fluid v1.0.8): DataLoad and DataProcess as spec.dataset {name, namespace},
# DataMigrate as spec.from.dataset and/or spec.to.dataset {name, namespace}, DataBackup as spec.dataset,
# a plain name in its own namespace. Only DataLoad and DataMigrate have a policy (Once, Cron, OnEvent).
DATA_OPERATION_KINDS = ("DataLoad", "DataProcess", "DataMigrate", "DataBackup")
POLICY_KINDS = ("DataLoad", "DataMigrate")


def operation_datasets(kind, op):
    """(namespace, name) of each Dataset the operation names; a reference without namespace is in the operation's."""
    meta, spec = op.get("metadata") or {}, op.get("spec") or {}
    own = meta.get("namespace")
    if kind == "DataBackup":
        refs = [{"name": spec.get("dataset")}] if isinstance(spec.get("dataset"), str) else []
    elif kind == "DataMigrate":
        refs = [(spec.get(side) or {}).get("dataset") for side in ("from", "to")]
    else:
        refs = [spec.get("dataset")]
    out = []
    for ref in refs:
        if isinstance(ref, dict) and ref.get("name") and (ref.get("namespace") or own, ref["name"]) not in out:
            out.append((ref.get("namespace") or own, ref["name"]))
    return out


def data_operation_facts(kind, op):
    """What a report shows of one data operation: kind, name, phase, duration, the reason of its last condition,
    its policy and, for Cron, when it last ran and last succeeded; what it runs after and whether it waits for it."""
    meta, spec = op.get("metadata") or {}, op.get("spec") or {}
    status = op.get("status") or {}
    conds = fluid.conditions(op)
    last = conds[-1] if conds else {}
    after = spec.get("runAfter") or None
    policy = (spec.get("policy") or "Once") if kind in POLICY_KINDS else None
    return {
        "kind": kind,
        "name": meta.get("name"),
        "phase": status.get("phase") or "",
        "duration": status.get("duration") or "",
        "duration_seconds": go_duration_seconds(status.get("duration")),
        "reason": last.get("reason") or None,
        "message": last.get("message") or None,
        "policy": policy,
        "schedule": (spec.get("schedule") or None) if policy == "Cron" else None,
        "last_schedule_time": status.get("lastScheduleTime") or None,
        "last_successful_time": status.get("lastSuccessfulTime") or None,
        "run_after": {"kind": after.get("kind"), "name": after.get("name"),
                      "namespace": after.get("namespace") or meta.get("namespace")} if after else None,
        "waiting": bool((status.get("waitingFor") or {}).get("operationComplete")),
        "created": meta.get("creationTimestamp") or None,
    }


# ---------------------------------------------------------------- reads


def _short(e):
    status = getattr(e, "status", None)
    text = str(e).splitlines()[0] if str(e) else e.__class__.__name__
    if status == 403:
        return "forbidden (403): the credentials lack RBAC permission to list them"
    return text


class _Reader(object):
    """Lists with a memo, turning a failed read into a warning and None."""

    def __init__(self, client, warnings):
        self.client, self.warnings = client, warnings
        self.memo = {}

    def list(self, kind, namespaces, what, field_selector=None):
        """Items of kind in these namespaces (a set; {None} = all), or None if the read failed."""
        namespaces = set(namespaces)
        if None in namespaces or len(namespaces) > MAX_NAMESPACED_LISTS:
            scopes = [None]
        else:
            scopes = sorted(namespaces)
        items = []
        for ns in scopes:
            key = (kind, ns, field_selector)
            if key not in self.memo:
                try:
                    self.memo[key] = self.client.list(kind, ns, field_selector=field_selector)
                except Exception as e:  # pylint: disable=broad-except
                    self.warnings.append("could not read %s%s: %s; that part of the answer is empty." % (
                        what, " in namespace %s" % ns if ns else "", _short(e)))
                    self.memo[key] = None
            if self.memo[key] is None:
                return None
            items.extend(self.memo[key])
        if scopes == [None] and None not in namespaces:
            items = [i for i in items if (i.get("metadata") or {}).get("namespace") in namespaces]
        return items


def list_datasets(client, name=None, namespace=None, label_selector=None, all_namespaces=False):
    """Datasets selected like kubernetes.core.k8s_info: by name, namespace (or all), label selector."""
    ns = None if all_namespaces else namespace
    if name and ns:
        obj = client.get(fluid.DATASET, ns, name)
        if obj is None:
            return []
        if label_selector and not _labels_match(obj, label_selector):
            return []
        return [obj]
    field_selector = "metadata.name=%s" % name if name else None
    items = client.list(fluid.DATASET, ns, field_selector=field_selector, label_selector=label_selector or None)
    for item in items:
        item.setdefault("kind", fluid.DATASET)
    items.sort(key=lambda d: ((d.get("metadata") or {}).get("namespace") or "", d["metadata"]["name"]))
    return items


_SET_RE = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_selector(selector):
    parts, depth, cur = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def _labels_match(obj, selector):
    """Client-side label selector (only for a single object fetched by name)."""
    labels = ((obj.get("metadata") or {}).get("labels")) or {}
    for part in _split_selector(selector):
        m = _SET_RE.match(part)
        if m:
            values = [v.strip() for v in m.group(3).split(",") if v.strip()]
            present = m.group(1) in labels and labels[m.group(1)] in values
            if present != (m.group(2) == "in"):
                return False
        elif "!=" in part:
            k, v = [x.strip() for x in part.split("!=", 1)]
            if labels.get(k) == v:
                return False
        elif "=" in part:
            k, v = [x.strip() for x in part.replace("==", "=").split("=", 1)]
            if labels.get(k) != v:
                return False
        elif part.startswith("!"):
            if part[1:].strip() in labels:
                return False
        elif part not in labels:
            return False
    return True


def _runtime_of(dataset):
    """(kind, name) of the runtime a Dataset is bound to, from status.runtimes (Accelerate first)."""
    runtimes = ((dataset.get("status") or {}).get("runtimes")) or []
    runtimes = sorted(runtimes, key=lambda r: r.get("category") != "Accelerate")
    for r in runtimes:
        kind = RUNTIME_TYPE_KINDS.get((r.get("type") or "").lower())
        if kind:
            return kind, r.get("name") or dataset["metadata"]["name"]
    return None, None


def collect_operations(client, reader, namespaces):
    """({(namespace, dataset name): [(kind, operation)]}, [{kind, reason}] of kinds not readable): the data
    operations of these namespaces, one list per kind and namespace. A kind the cluster does not serve, or that
    the credentials may not list, is not readable; the others are still read."""
    by_dataset, unreadable = {}, []
    for kind in DATA_OPERATION_KINDS:
        try:
            served = client.kind_served(kind)
        except Exception as e:  # pylint: disable=broad-except
            unreadable.append({"kind": kind, "reason": _short(e)})
            continue
        if not served:
            unreadable.append({"kind": kind, "reason": "not installed (the cluster does not serve %s)" % kind})
            continue
        ops = reader.list(kind, namespaces, "%s objects" % kind)
        if ops is None:
            unreadable.append({"kind": kind, "reason": "could not be listed (see the warnings)"})
            continue
        for op in ops:
            for key in operation_datasets(kind, op):
                by_dataset.setdefault(key, []).append((kind, op))
    return by_dataset, unreadable


def collect_datasets(client, datasets, include_pods=True, include_nodes=True, include_operations=True):
    """(facts, warnings) for Datasets already listed; reads runtimes, Nodes, PVCs, Pods, Events and data
    operations in bulk."""
    warnings = []
    reader = _Reader(client, warnings)
    namespaces = set(d["metadata"]["namespace"] for d in datasets)

    # runtimes: the bound one from status.runtimes; an unbound Dataset may still have one of its name.
    wanted = {}
    for d in datasets:
        kind = _runtime_of(d)[0]
        if kind:
            wanted.setdefault(kind, set()).add(d["metadata"]["namespace"])
    unbound = [d for d in datasets if _runtime_of(d)[0] is None]
    if unbound:
        for kind in fluid.ALL_RUNTIME_KINDS:
            try:
                served = client.kind_served(kind)
            except Exception:  # pylint: disable=broad-except
                served = False
            if served:
                wanted.setdefault(kind, set()).update(d["metadata"]["namespace"] for d in unbound)
    runtimes = {}
    for kind in sorted(wanted):
        for r in reader.list(kind, wanted[kind], "%s objects" % kind) or []:
            runtimes[(kind, r["metadata"]["namespace"], r["metadata"]["name"])] = r

    nodes = reader.list("Node", {None}, "nodes") if include_nodes and datasets else None
    pvcs = {}
    pods_by_ns, events_by_ns = {}, {}
    if datasets:
        for p in reader.list("PersistentVolumeClaim", namespaces, "PersistentVolumeClaims") or []:
            pvcs[(p["metadata"]["namespace"], p["metadata"]["name"])] = p
    if include_pods and datasets:
        pods = reader.list("Pod", namespaces, "pods")
        if pods is not None:
            claims = set((d["metadata"]["namespace"], d["metadata"]["name"]) for d in datasets)
            for p in pods:
                ns = p["metadata"].get("namespace")
                if any(pod_uses_claim(p, c) for n, c in claims if n == ns):
                    pods_by_ns.setdefault(ns, []).append(p)
            # the scheduler's reason is normally on the pod (PodScheduled); events only as a fallback
            need_events = set(ns for ns, ps in pods_by_ns.items() for p in ps
                              if (p.get("status") or {}).get("phase") == "Pending" and not any(
                                  c.get("type") == "PodScheduled" and c.get("message")
                                  for c in (p.get("status") or {}).get("conditions") or []))
            if need_events:
                events = reader.list("Event", need_events, "events", field_selector="reason=FailedScheduling") or []
                for e in events:
                    events_by_ns.setdefault(e["metadata"].get("namespace"), []).append(e)
        else:
            pods_by_ns = None
    operations, unreadable = {}, []
    if include_operations and datasets:
        operations, unreadable = collect_operations(client, reader, namespaces)

    facts = []
    for d in datasets:
        ns, name = d["metadata"]["namespace"], d["metadata"]["name"]
        kind, rname = _runtime_of(d)
        runtime = None
        if kind:
            runtime = runtimes.get((kind, ns, rname))
        else:
            for k in fluid.ALL_RUNTIME_KINDS:
                if (k, ns, name) in runtimes:
                    kind, runtime = k, runtimes[(k, ns, name)]
                    break
        pods = None if pods_by_ns is None or not include_pods else pods_by_ns.get(ns, [])
        facts.append(dataset_facts(d, kind, runtime, nodes=nodes,
                                   pvc=pvcs.get((ns, name)), pods=pods, events=events_by_ns.get(ns),
                                   operations=operations.get((ns, name), []) if include_operations else None,
                                   operations_unreadable=unreadable))
    return facts, warnings


# ---------------------------------------------------------------- data operations


# The workload Fluid's dataset controller installs (by Helm) for an operation <name>, per kind, as (kind, name):
# a Job for release <name>-loader, -processor, -migrate (Fluid v1.0.8 pkg/utils/dataload.go, dataprocess.go,
# datamigrate.go; charts/fluid-dataloader, fluid-dataprocess/common, fluid-datamigrate templates/job.yaml), a bare
# Pod for a DataBackup's release <name>-charts (pkg/utils/databackup.go:60-67, charts/fluid-databackup/*/templates)
OPERATION_WORKLOADS = {fluid.DATALOAD: ("Job", "%s-loader-job"), fluid.DATAPROCESS: ("Job", "%s-processor-job"),
                       fluid.DATAMIGRATE: ("Job", "%s-migrate-migrate"), fluid.DATABACKUP: ("Pod", "%s-pod")}


def operation_workload(name, kind=fluid.DATALOAD):
    """(kind, name) of the Job or Pod that runs data operation <name> of this kind."""
    workload, pattern = OPERATION_WORKLOADS[kind]
    return workload, pattern % name


def operation_facts(obj):
    """Phase, duration and conditions of a DataLoad (or another data operation)."""
    status = (obj or {}).get("status") or {}
    duration = status.get("duration") or ""
    return {
        "phase": status.get("phase") or "",
        "duration": duration,
        "duration_seconds": go_duration_seconds(duration),
        "conditions": fluid.conditions(obj),
        # a Cron operation's last run, copied by Fluid from its CronJob (dataload/status_handler.go:112-188)
        "last_schedule_time": status.get("lastScheduleTime"),
        "last_successful_time": status.get("lastSuccessfulTime"),
    }


def terminated_reasons(pods):
    """'pod: container exit N (Reason): message' for loader pods that ended with a failure."""
    out = []
    for pod in pods or []:
        st = pod.get("status") or {}
        for cs in st.get("containerStatuses") or []:
            term = (cs.get("state") or {}).get("terminated") or (cs.get("lastState") or {}).get("terminated") or {}
            if term and term.get("exitCode", 0) != 0:
                text = "%s: container %s exited %s" % (pod["metadata"]["name"], cs.get("name"), term.get("exitCode"))
                if term.get("reason"):
                    text += " (%s)" % term["reason"]
                if term.get("message"):
                    text += ": %s" % term["message"].strip()
                out.append(text)
        if st.get("phase") == "Failed" and not out and st.get("reason"):
            out.append("%s: %s %s" % (pod["metadata"]["name"], st.get("reason"), st.get("message") or ""))
    return out


def operation_failure(obj, loader_pods=None, events=None):
    """Why a DataLoad is Failed, in the loader's own words (condition, failed loader containers, warnings)."""
    parts = []
    for c in fluid.conditions(obj):
        if c.get("type") in ("Failed", "JobFailed") or (c.get("status") == "True" and c.get("type") != "Complete"):
            text = c.get("reason") or c.get("type")
            if c.get("message"):
                text += ": " + c["message"]
            parts.append(text)
    parts += terminated_reasons(loader_pods)
    for e in events or []:
        if e.get("type") == "Warning":
            parts.append("event %s: %s" % (e.get("reason"), (e.get("message") or "").strip()))
    return "; ".join(parts) or "Fluid gave no reason (no condition, no failed loader pod, no warning event)"


def loader_pods(client, namespace, name, kind=fluid.DATALOAD):
    """The pods of the operation's Job, or its Pod (empty when they cannot be read)."""
    workload, workload_name = operation_workload(name, kind)
    try:
        if workload == "Pod":
            return [p for p in [client.get("Pod", namespace, workload_name)] if p is not None]
        return client.list("Pod", namespace, label_selector="job-name=%s" % workload_name)
    except Exception:  # pylint: disable=broad-except
        return []


def operation_notes(client, namespace, name, dataset_name, kind=fluid.DATALOAD):
    """Extra diagnosis lines for a data operation that did not finish: its Dataset, its Job and its pods (a
    DataBackup: its Pod)."""
    lines = []
    workload, workload_name = operation_workload(name, kind)
    try:
        ds = client.get(fluid.DATASET, namespace, dataset_name) if dataset_name else None
    except Exception as e:  # pylint: disable=broad-except
        return ["(could not read Dataset %s/%s: %s)" % (namespace, dataset_name, _short(e))]
    if dataset_name:
        if ds is None:
            lines.append("Dataset %s/%s does not exist: Fluid starts a %s only for an existing, Bound Dataset "
                         "in the same namespace." % (namespace, dataset_name, kind))
        elif fluid.phase(ds) not in fluid.PHASES_SERVED:
            lines.append("Dataset %s/%s is %s, not Bound: Fluid starts the %s's %s only once a runtime serves the "
                         "Dataset (see cloudnative.fluid.runtime)." % (namespace, dataset_name,
                                                                       fluid.phase(ds) or "without status", kind,
                                                                       workload))
    pods = loader_pods(client, namespace, name, kind)
    if not pods and ds is not None and fluid.phase(ds) in fluid.PHASES_SERVED:
        lines.append("%s %s exists yet: Fluid's dataset controller installs a Helm chart for it; "
                     "check that controller's log for helm errors." % (
                         "No pod of Job" if workload == "Job" else "No Pod", workload_name))
    for pod in pods:
        f = pod_facts(pod)
        if f["phase"] in ("Succeeded",):
            continue
        text = "%s pod %s %s" % (kind, f["name"], f["phase"])
        if f["node"]:
            text += " on %s" % f["node"]
        if f["reason"]:
            text += ": " + f["reason"]
        lines.append(text)
    lines += ["%s failure: %s" % (kind, t) for t in terminated_reasons(pods)]
    return lines
