# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A runtime's HorizontalPodAutoscaler (autoscaling/v2), on the runtime's scale subresource.

Fluid's runtime CRDs declare a scale subresource on spec.replicas (charts/fluid/fluid/crds/
data.fluid.io_<kind>runtimes.yaml, `subresources.scale`), except ThinRuntime's. The autoscaler
then owns spec.replicas: the runtime module leaves it out of what it applies and keeps whatever
value is there (see the runtime module's `replicas`)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import ApiError

HPA = "HorizontalPodAutoscaler"
MANAGED_BY = ("app.kubernetes.io/managed-by", "cloudnative.fluid")
SPEC = dict(min_replicas=dict(type="int", default=1), max_replicas=dict(type="int", required=True),
            metrics=dict(type="list", elements="dict"), behavior=dict(type="dict"))
# Kubernetes' own default when an autoscaler names no metric (80% CPU, autoscaling/v2 defaults)
DEFAULT_METRICS = [{"type": "Resource", "resource": {"name": "cpu", "target": {
    "type": "Utilization", "averageUtilization": 80}}}]
NO_SCALE = ("ThinRuntime",)  # no scale subresource in its CRD


def validate(prefix, kind, item):
    auto = item.get("autoscaling")
    if not auto:
        return []
    p, errors = prefix + "autoscaling", []
    if kind in NO_SCALE:
        errors.append("%s: a %s has no scale subresource, so no autoscaler can scale it; leave autoscaling out"
                      % (p, kind))
    if item.get("replicas") is not None:
        errors.append("%sreplicas: leave it out with autoscaling; the autoscaler owns the number of workers (a new "
                      "runtime starts with autoscaling.min_replicas)" % prefix)
    low, high = auto.get("min_replicas"), auto.get("max_replicas")
    if low is None or low < 1:
        errors.append("%s.min_replicas: %r must be 1 or more" % (p, low))
    elif high is not None and high < low:
        errors.append("%s.max_replicas: %d is less than min_replicas (%d); raise it" % (p, high, low))
    for i, m in enumerate(auto.get("metrics") or []):
        if not m.get("type"):
            errors.append("%s.metrics[%d].type: missing; an autoscaling/v2 metric, e.g. {type: Resource, resource: "
                          "{name: memory, target: {type: Utilization, averageUtilization: 70}}}" % (p, i))
    return errors


def body(unit):
    auto = unit.item["autoscaling"]
    spec = {"scaleTargetRef": {"apiVersion": fluid.API_VERSION, "kind": unit.kind, "name": unit.name},
            "minReplicas": auto["min_replicas"], "maxReplicas": auto["max_replicas"],
            "metrics": auto.get("metrics") or DEFAULT_METRICS}
    if auto.get("behavior"):
        spec["behavior"] = auto["behavior"]
    return {"apiVersion": "autoscaling/v2", "kind": HPA, "metadata": {
        "name": unit.name, "namespace": unit.namespace, "labels": dict([MANAGED_BY])}, "spec": spec}


def ours(hpa):
    return hpa is not None and ((hpa.get("metadata") or {}).get("labels") or {}).get(MANAGED_BY[0]) == MANAGED_BY[1]


def comparable(hpa):
    return None if hpa is None else driver.prune({"spec": hpa.get("spec")})


def keep_replicas(run):
    """A runtime whose replicas are left out keeps the number it has (whoever set it: an autoscaler, kubectl
    scale): it is applied as it is, so server-side apply neither resets it nor drops the field this collection
    may have set before. A new runtime with autoscaling starts at min_replicas."""
    for u in [u for u in run.units if u.state == "present" and u.item.get("replicas") is None]:
        now = ((run.existing(u) or {}).get("spec") or {}).get("replicas")
        start = now if now is not None else (u.item.get("autoscaling") or {}).get("min_replicas")
        if start is not None:
            u.body["spec"]["replicas"] = start


def reconcile(run, unit):
    """Create, update or delete the runtime's autoscaler; marks the unit changed and returns its diffs. An
    autoscaler this collection did not create is never touched; without autoscaling and without the right to
    read autoscalers nothing is done."""
    changed, diff = _reconcile(run, unit)
    unit.changed = unit.changed or changed
    if not diff:
        return []
    header = "%s autoscaler" % unit.ref
    return [{"before_header": header, "after_header": header, "before": diff[0] or {}, "after": diff[1] or {}}]


def _reconcile(run, unit):
    want = unit.state == "present" and unit.item.get("autoscaling")
    try:
        existing = run.client.get(HPA, unit.namespace, unit.name)
    except ApiError:
        if not want:
            return False, None
        raise
    if existing is not None and not ours(existing):
        if want:
            run.fail("%sautoscaling: a HorizontalPodAutoscaler %s/%s exists that this collection did not create; "
                     "delete it or leave autoscaling out" % (unit.item["prefix"], unit.namespace, unit.name))
        return False, None
    if not want:
        if existing is None:
            return False, None
        run.call(unit, "delete the autoscaler of", run.client.delete, HPA, unit.namespace, unit.name,
                 dry_run=run.check)
        return True, (comparable(existing), None)
    wanted = body(unit)
    preview = run.call(unit, "apply the autoscaler of", run.client.apply, wanted, dry_run=True)
    before, after = comparable(existing), comparable(preview)
    if before == after:
        unit.autoscaler = existing
        return False, None
    unit.autoscaler = preview if run.check else run.call(unit, "apply the autoscaler of", run.client.apply, wanted)
    return True, (before, after)


def facts(unit):
    """The result's autoscaling entry: bounds and the autoscaler's current and desired replicas."""
    hpa = getattr(unit, "autoscaler", None)
    if not hpa:
        return None
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    return {"name": hpa["metadata"]["name"], "min_replicas": spec.get("minReplicas"),
            "max_replicas": spec.get("maxReplicas"), "current_replicas": status.get("currentReplicas"),
            "desired_replicas": status.get("desiredReplicas")}
