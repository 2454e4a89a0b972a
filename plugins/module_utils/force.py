# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``force: true`` of ``state: absent``: finish a deletion that Fluid's controller can no longer finish.

A Dataset or runtime being deleted keeps Fluid's finalizer (fluid.FINALIZERS) until its controller has run the
deletion path. When that controller is gone (uninstalled, crash-looping, scaled to 0, hung), the object never goes.
``plan`` decides, per object the wait left behind, whether its Fluid finalizer may be removed:

* only when the owning controller's leader-election Lease says nobody runs it (leader.verdict: STALLED or ABSENT);
  a RUNNING or UNKNOWN controller is left to do its work, and the task says so;
* only when nothing but the controller holds the object, as Fluid itself checks before removing its finalizer: no
  running pod uses the PVC of the Dataset's name (kubeclient.ShouldDeleteDataset, pkg/utils/kubeclient/volume.go:276-
  299, checked by the Dataset's and, through the PVC's deletion, by the runtime's deletion path), no existing Dataset
  mounts it (status.datasetRef, dataset_controller.go:206-236);
* runtime before Dataset: a Dataset whose runtime of the same name still exists and is not being deleted is refused;
  one whose runtime is being deleted and stuck gets the runtime's finalizer removed first;
* only Fluid's own finalizer of that kind; other finalizers (kubernetes.io/pvc-protection, another operator's) stay.

``apply`` removes them with a JSON patch whose "test" op fails if the finalizers changed meanwhile (a controller
that came back), and returns what it removed. What Fluid's deletion path would have cleaned up (the PVC and PV,
the runtime's Helm release and config maps, node labels) is then left to the user; ``leftovers`` names it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import leader
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import ApiError

# After the finalizers are removed, how long at most to wait (wait_timeout if shorter) for the objects to go: the API
# server deletes an object being deleted as soon as its last finalizer is removed.
GONE_TIMEOUT = 30


class Step(object):
    """Remove ``finalizer`` from one object (its finalizers as read: ``before``)."""

    def __init__(self, kind, namespace, name, finalizer, before):
        self.kind, self.namespace, self.name, self.finalizer = kind, namespace, name, finalizer
        self.before = list(before)
        self.after = [f for f in self.before if f != finalizer]

    @property
    def ref(self):
        return "%s %s/%s" % (self.kind, self.namespace, self.name)

    def entry(self):
        return dict(kind=self.kind, namespace=self.namespace, name=self.name, finalizer=self.finalizer)

    def diff(self):
        return {"before_header": "%s finalizers" % self.ref, "after_header": "%s finalizers" % self.ref,
                "before": {"metadata": {"finalizers": self.before}}, "after": {"metadata": {"finalizers": self.after}}}


def deleting(obj):
    return bool(((obj or {}).get("metadata") or {}).get("deletionTimestamp"))


def finalizers(obj):
    return list(((obj or {}).get("metadata") or {}).get("finalizers") or [])


def pods_using(client, namespace, claim):
    """Pods not Succeeded or Failed with a volume of PVC ``claim`` (Fluid's IsCompletePod counts those two as done)."""
    out = []
    for pod in client.list("Pod", namespace) or []:
        vols = (pod.get("spec") or {}).get("volumes") or []
        if any(((v.get("persistentVolumeClaim") or {}).get("claimName")) == claim for v in vols):
            if ((pod.get("status") or {}).get("phase")) not in ("Succeeded", "Failed"):
                out.append(pod["metadata"]["name"])
    return out


def mounted_by(client, dataset):
    """The entries of status.datasetRef ("namespace/name") whose Dataset still exists."""
    out = []
    for ref in fluid.status_of(dataset).get("datasetRef") or []:
        parts = str(ref).split("/")
        if len(parts) >= 2 and client.get(fluid.DATASET, parts[0], parts[1]) is not None:
            out.append(ref)
    return out


def find_runtime(client, namespace, name):
    """(kind, object) of the runtime of the Dataset's name, or (None, None)."""
    for kind in fluid.ALL_RUNTIME_KINDS:
        if client.kind_served(kind):
            obj = client.get(kind, namespace, name)
            if obj is not None:
                return kind, obj
    return None, None


class Plan(object):
    """The steps for a set of objects (runtimes first) and, per object not forced, why not."""

    def __init__(self):
        self.steps, self.refused, self.verdicts = [], [], {}

    def ordered(self):
        """Runtimes before Datasets (fluid.FINALIZERS' runtime controllers unbind the Dataset in their deletion)."""
        return sorted(self.steps, key=lambda s: s.kind == fluid.DATASET)


def verdict_of(client, kind, plan, now):
    controller = fluid.controller_name(kind)
    if controller not in plan.verdicts:
        plan.verdicts[controller] = leader.verdict(client, kind, now)
    return plan.verdicts[controller]


def _object_steps(client, kind, obj, plan, now):
    """Steps for one object, or a reason (string) why it is not forced; [] when it holds no Fluid finalizer."""
    meta = obj.get("metadata") or {}
    namespace, name = meta.get("namespace"), meta.get("name")
    ref = "%s %s/%s" % (kind, namespace, name)
    fin = fluid.FINALIZERS.get(kind)
    if fin is None or fin not in finalizers(obj):
        return []
    v = verdict_of(client, kind, plan, now)
    if not v.forceable:
        return "%s: %s, so force was not applied; it is left to finish the deletion" % (ref, v.text())
    users = pods_using(client, namespace, name)
    if users:
        return ("%s: pods still use the PVC %s/%s (%s); Fluid keeps the %s until they stop, and so does force: delete "
                "them (or scale their owners to 0) and run again" % (ref, namespace, name, ", ".join(users), kind))
    if kind == fluid.DATASET:
        refs = mounted_by(client, obj)
        if refs:
            return ("%s: Datasets mount it (status.datasetRef: %s); Fluid keeps it until they are gone, and so does "
                    "force: delete them first" % (ref, ", ".join(refs)))
    return [Step(kind, namespace, name, fin, finalizers(obj))]


def plan(client, objects, now=None):
    """The Plan for ``objects``, (kind, object) pairs of the Datasets or runtimes to delete (as read now).

    A Dataset brings its runtime of the same name along when that is being deleted too (runtime first); a Dataset
    whose runtime is not being deleted is refused. Reads that fail are a refusal of that object, never a step."""
    now = time.time() if now is None else now
    out = Plan()
    for kind, obj in objects:
        meta = obj.get("metadata") or {}
        namespace, name = meta.get("namespace"), meta.get("name")
        ref = "%s %s/%s" % (kind, namespace, name)
        try:
            steps = []
            if kind == fluid.DATASET:
                rkind, robj = find_runtime(client, namespace, name)
                if robj is not None and not deleting(robj):
                    out.refused.append("%s: its %s %s/%s still exists and is not being deleted; delete it first "
                                       "(cloudnative.fluid.runtime, state: absent, force: true)"
                                       % (ref, rkind, namespace, name))
                    continue
                if robj is not None:
                    got = _object_steps(client, rkind, robj, out, now)
                    if isinstance(got, str):
                        out.refused.append("%s: its runtime first. %s" % (ref, got))
                        continue
                    steps += got
            got = _object_steps(client, kind, obj, out, now)
            if isinstance(got, str):
                out.refused.append(got)
                continue
            steps += got
        except ApiError as e:
            out.refused.append("%s: could not read what force checks (%s)" % (ref, e))
            continue
        known = set((s.kind, s.namespace, s.name) for s in out.steps)
        out.steps += [s for s in steps if (s.kind, s.namespace, s.name) not in known]
    return out


def apply(client, the_plan, dry_run=False):
    """Remove each step's finalizer, runtimes first. Returns (removed steps, errors). A patch whose "test" fails
    (the finalizers changed since they were read) is not retried: whoever changed them is at work."""
    removed, errors, failed = [], [], set()
    for step in the_plan.ordered():
        if step.kind == fluid.DATASET and (step.namespace, step.name) in failed:
            continue  # runtime before Dataset: its runtime kept its finalizer, so does the Dataset
        ops = [{"op": "test", "path": "/metadata/finalizers", "value": step.before},
               {"op": "replace", "path": "/metadata/finalizers", "value": step.after}]
        try:
            client.json_patch(step.kind, step.namespace, step.name, ops, dry_run=dry_run)
        except ApiError as e:
            if e.status == 404:
                continue  # gone meanwhile: nothing to remove
            errors.append("%s: could not remove the finalizer %s: %s" % (step.ref, step.finalizer, e))
            failed.add((step.namespace, step.name))
            continue
        removed.append(step)
    return removed, errors


def leftovers(client, removed):
    """What the deletion path of the removed runtimes' controllers would have deleted and still exists: the PVC
    <namespace>/<name> and the PV <namespace>-<name> Fluid created for the Dataset (pkg/ddc/alluxio/delete_volume.go,
    pkg/utils/dataset/volume/delete.go), and nodes still labelled fluid.io/s-<namespace>-<name> (the cache label its
    Shutdown removes, pkg/ddc/alluxio/shutdown.go destroyWorkers). The runtime's StatefulSets, DaemonSet and config
    maps carry an owner reference to the runtime (charts/alluxio/templates/master/statefulset.yaml:35-41), so
    Kubernetes' garbage collector removes them. Reads that fail are left out."""
    out = []
    for step in removed:
        if step.kind == fluid.DATASET:
            continue
        for kind, ns, name in (("PersistentVolumeClaim", step.namespace, step.name),
                               ("PersistentVolume", None, "%s-%s" % (step.namespace, step.name))):
            try:
                found = client.get(kind, ns, name) is not None
            except ApiError:
                found = False
            if found:
                out.append("%s %s" % (kind, name if ns is None else "%s/%s" % (ns, name)))
        label = "%s/s-%s-%s" % (fluid.LABEL_DOMAIN, step.namespace, step.name)
        try:
            nodes = client.list("Node", None, label_selector=label)
        except ApiError:
            nodes = []
        out += ["the label %s (and Fluid's other labels of the runtime) on node %s" % (label, n["metadata"]["name"])
                for n in nodes]
    return out
