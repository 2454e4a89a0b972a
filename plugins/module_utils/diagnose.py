# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why an object is not where a wait wanted it: the one timeout diagnosis, which reads the API.

Every waiting module fails with ``diagnose()`` instead of a bare "timed out": phase and
conditions, the runtime or Dataset of the same name, how many nodes match, pods that are not
ready or still use the volume, whether Fluid's controllers ever wrote a status, and their events.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.cloudnative.fluid.plugins.module_utils import backup
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import leader
from ansible_collections.cloudnative.fluid.plugins.module_utils import observe
from ansible_collections.cloudnative.fluid.plugins.module_utils import scheduling

# A runtime that is not ready and whose status nobody wrote for this long may have a stalled controller.
STALLED_SECONDS = 120


def _fmt_conditions(obj):
    conds = fluid.conditions(obj)
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
    comps = fluid.runtime_components(obj)
    parts = []
    for name in ("master", "worker", "fuse"):
        if name == "master" and kind in fluid.RUNTIMES_WITHOUT_MASTER:
            continue
        c = comps[name]
        text = "%s %s %d/%d ready" % (name, c["phase"] or "(no phase)", c["ready"], c["desired"])
        if c.get("reason"):
            text += " (%s)" % c["reason"]
        parts.append(text)
    return ", ".join(parts)


def chart_runtime(kind):
    """The name of a runtime kind in Fluid's chart values (runtime.<name>.enabled) and in the fluid role's
    fluid_runtimes_enabled: ThinRuntime -> thin, JuiceFSRuntime -> juicefs; None for other kinds."""
    return kind[:-len("Runtime")].lower() if kind.endswith("Runtime") else None


def controller_hint(kind):
    """How to check the controller that reconciles ``kind``, and, for a runtime, what starts it.

    Fluid v1.0.8's chart always creates every runtime controller's Deployment, with 0 replicas unless
    runtime.<name>.enabled (charts/fluid/fluid/templates/controller/*runtime_controller.yaml); the
    dataset-controller scales one out when it reconciles a Dataset whose runtime is of its kind
    (pkg/controllers/deploy/runtime_controllers.go)."""
    name = fluid.controller_name(kind)
    check = "check the %s Deployment in namespace %s (kubectl -n %s get deploy %s; its pod's log)" % (
        name, fluid.FLUID_NAMESPACE, fluid.FLUID_NAMESPACE, name)
    short = chart_runtime(kind)
    if short is None:
        return check + ", or install Fluid with the role cloudnative.fluid.fluid"
    return ("%s. Fluid's chart runs it from the start only with the value runtime.%s.enabled=true (role "
            "cloudnative.fluid.fluid: fluid_runtimes_enabled must include %s); otherwise its Deployment has 0 replicas "
            "until the dataset-controller scales it out on demand, for a Dataset whose runtime is of kind %s"
            % (check, short, short, kind))


def _controller_lines(kind, namespace, name, obj, now, ready=None, events=None):
    """Lines naming a controller that never reconciled obj, or seems stalled on it.

    events: the object's warning events; a controller that reports events is running, and they,
    not the controller, explain the wait."""
    if obj is None:
        return []
    controller = fluid.controller_name(kind)
    created = fluid.epoch(((obj.get("metadata") or {}).get("creationTimestamp")))
    age = " in the %d s since it was created" % max(0, now - created) if created is not None else ""
    if not fluid.has_status(obj) and events:
        return ["%s %s/%s has no status yet: Fluid's %s is running but does not get on with it; its events below "
                "say why." % (kind, namespace, name, controller)]
    if not fluid.has_status(obj):
        return ["No controller has reconciled %s %s/%s: no status written%s. Fluid's %s is missing, stopped or hung: %s."
                % (kind, namespace, name, age, controller, controller_hint(kind))]
    written, manager = fluid.status_written(obj)
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
    for kind in fluid.ALL_RUNTIME_KINDS:
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
    matching = [n for n in nodes if scheduling.node_matches_selector(n, selector) and scheduling.node_matches_labels(n, labels_selector)]
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
    A data operation also gets its Dataset, Job and pods explained (observe.operation_notes).
    ``now``: epoch seconds (tests); default the local clock.
    Returns one multi-line string; reads that fail (permissions) become notes, never exceptions.
    """
    now = int(time.time() if now is None else now)
    notes = []
    lines = []
    ref = "%s %s/%s" % (kind, namespace, name)

    if kind in fluid.PLURALS and _safe(lambda: client.kind_served(fluid.DATASET), "API discovery", notes) is False:
        return fluid.INSTALL_HINT
    if fetch:
        fresh = _safe(lambda: client.get(kind, namespace, name), ref, notes)
        if fresh is not None or not notes:
            obj = fresh

    if kind in fluid.CLUSTER_SCOPED:  # a ThinRuntimeProfile: no Dataset, pod or volume of a namespace belongs to it
        ref = "%s %s" % (kind, name)
        if obj is None:
            return "%s %s." % (ref, "is gone" if want == "absent" else "does not exist")
        meta = obj.get("metadata") or {}
        deleting = " (deletion requested at %s)" % meta["deletionTimestamp"] if meta.get("deletionTimestamp") else ""
        return "%s exists%s; finalizers: %s." % (ref, deleting, ", ".join(meta.get("finalizers") or []) or "none")

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
        if kind == fluid.DATASET:
            refs = fluid.status_of(obj).get("datasetRef") or []
            if refs:
                lines.append("Datasets mount this one (status.datasetRef): %s; delete them first." % ", ".join(refs))
            rkind, robj = find_runtime(client, namespace, name, notes)
            if robj is not None and not (robj.get("metadata") or {}).get("deletionTimestamp"):
                lines.append("%s %s/%s still exists; deleting it first lets Fluid release the dataset." % (rkind, namespace, name))
        if fluid.FINALIZERS.get(kind) in finalizers:
            # who should remove Fluid's finalizer: its controller, running or not by its leader-election Lease
            v = leader.verdict(client, kind, now)
            if v.forceable:
                lines.append("%s. Nobody will remove the finalizer %s: start the controller again (%s), or let "
                             "force: true remove it." % (v.text(), fluid.FINALIZERS[kind], controller_hint(kind)))
            elif not claim_users and not lines[1:]:
                lines.append("%s; nothing visible blocks the deletion, its log says why it keeps the finalizer %s."
                             % (v.text(), fluid.FINALIZERS[kind]))
        elif finalizers and not claim_users and not lines[1:]:
            lines.append("Nothing visible blocks it: its finalizers (%s) are not Fluid's; whoever set them removes "
                         "them." % ", ".join(finalizers))
        for w in _warning_events(client, kind, namespace, name, notes):
            lines.append("Warning event: " + w)
        lines.extend("(%s)" % n for n in notes)
        return "\n".join(lines)

    if obj is None:
        lines.append("%s does not exist (it may have been deleted while waiting)." % ref)
        lines.extend("(%s)" % n for n in notes)
        return "\n".join(lines)

    dataset = obj if kind == fluid.DATASET else None
    runtime_kind, runtime = (kind, obj) if kind in fluid.ALL_RUNTIME_KINDS else (None, None)

    if kind == fluid.DATASET:
        lines.append("Dataset %s/%s: phase %s; conditions: %s." % (
            namespace, name, fluid.phase(obj) or "(none: no status written yet)", _fmt_conditions(obj)))
        runtime_kind, runtime = find_runtime(client, namespace, name, notes)
        if runtime is None:
            lines.append("No runtime named %s exists in namespace %s: a Dataset is Bound only when a runtime of the "
                         "same name and namespace is ready. Create one with cloudnative.fluid.runtime." % (name, namespace))
    elif kind in fluid.ALL_RUNTIME_KINDS:
        before = len(notes)
        dataset = _safe(lambda: client.get(fluid.DATASET, namespace, name), "Dataset " + name, notes)
        if dataset is None and len(notes) == before:
            lines.append("No Dataset named %s exists in namespace %s: a runtime serves the Dataset of its own name; "
                         "create it with cloudnative.fluid.dataset." % (name, namespace))
        elif dataset is not None:
            lines.append("Dataset %s/%s: phase %s; conditions: %s." % (
                namespace, name, fluid.phase(dataset) or "(none: no status written yet)", _fmt_conditions(dataset)))
    else:
        lines.append("%s: phase %s; conditions: %s." % (ref, fluid.phase(obj) or "(none: no status written yet)", _fmt_conditions(obj)))

    if runtime is not None:
        lines.append("%s %s/%s: %s; conditions: %s." % (
            runtime_kind, namespace, name, _fmt_runtime(runtime_kind, runtime), _fmt_conditions(runtime)))
        replicas = int(((runtime.get("spec") or {}).get("replicas")) or 0)
        if replicas:
            lines.append("The runtime asks for %d worker(s) (spec.replicas)." % replicas)

    if dataset is not None or runtime is not None:
        selector = scheduling.dataset_node_selector(dataset)
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

    events = _warning_events(client, kind, namespace, name, notes)
    if dataset is not None:
        lines.extend(_controller_lines(fluid.DATASET, namespace, name, dataset, now,
                                       events=events if kind == fluid.DATASET else None))
    if runtime is not None:
        lines.extend(_controller_lines(runtime_kind, namespace, name, runtime, now,
                                       ready=fluid.runtime_ready(runtime, runtime_kind),
                                       events=events if kind == runtime_kind else None))
    if kind not in fluid.ALL_RUNTIME_KINDS and kind != fluid.DATASET:
        lines.extend(_controller_lines(kind, namespace, name, obj, now, events=events))
    if kind in fluid.OPERATION_KINDS:
        lines.extend(_pending_lines(client, obj, namespace, notes))
        lines.extend(observe.operation_notes(client, namespace, name, fluid.operation_dataset(obj), kind))
    if kind == fluid.DATABACKUP and fluid.phase(obj) in (fluid.OP_EXECUTING, fluid.OP_FAILED):
        lines.append(backup.BUG)

    for w in events:
        lines.append("Warning event: " + w)
    lines.extend("(%s)" % n for n in notes)
    return "\n".join(lines)


def _pending_lines(client, obj, namespace, notes):
    """Why a data operation stays Pending in Fluid v1.0.8: its run_after operation is not Complete (the DataFlow
    controller lets it start only then, pkg/controllers/v1alpha1/dataflow/operations.go:157-197; a Failed one
    never), or the Dataset's runtime fails the readiness check made before every start
    (pkg/ddc/base/operation_lock.go:44-53)."""
    if fluid.phase(obj) != "Pending":
        return []
    ref = ((obj.get("spec") or {}).get("runAfter")) or {}
    if (fluid.status_of(obj).get("waitingFor") or {}).get("operationComplete") and ref.get("kind") in fluid.PLURALS:
        where = "%s %s/%s" % (ref["kind"], ref.get("namespace") or namespace, ref.get("name"))
        try:
            before = client.get(ref["kind"], ref.get("namespace") or namespace, ref.get("name"))
        except Exception as e:  # pylint: disable=broad-except
            notes.append("could not read %s: %s" % (where, _short_error(e)))
            return ["Waiting for its run_after, %s, to be Complete." % where]
        if before is None:
            return ["Waiting for its run_after, %s, which does not exist; create it (or fix run_after)." % where]
        line = "Waiting for its run_after, %s, to be Complete: it is %s." % (where,
                                                                             fluid.phase(before) or "without status")
        if fluid.phase(before) == fluid.OP_FAILED:
            line += " Fluid never starts an operation after a Failed one: run that one again, then this one."
        return [line]
    return ["Pending until the Dataset's runtime passes the readiness check Fluid makes before every start (JuiceFS: "
            "a Running pod of its worker StatefulSet; Alluxio: its master answering); Fluid records RuntimeNotReady "
            "events on the operation meanwhile."]


def operation_failed(client, obj):
    """Why a data operation is Failed, in its Job's words: its conditions, the failed containers of its Job
    and its warning events (reads that fail are left out)."""
    meta = obj.get("metadata") or {}
    namespace, name = meta.get("namespace"), meta.get("name")
    kind = obj.get("kind") or fluid.DATALOAD
    pods = observe.loader_pods(client, namespace, name, kind)
    fs = "involvedObject.kind=%s,involvedObject.name=%s" % (kind, name)
    events = _safe(lambda: client.list("Event", namespace, field_selector=fs), "events", []) or []
    return observe.operation_failure(obj, pods, events)
