# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every Fluid data operation module shares (DataLoad, DataProcess, DataMigrate, DataBackup): the
options every operation takes (run_after, ttl_seconds_after_finished; policy and schedule; the loader
pod's scheduling), wait until Complete or Failed, fail with the operation's own reason, replace an
operation whose spec changed, and remember operations that Fluid deleted after their TTL.

Fluid v1.0.8 turns an operation's spec into Helm values once, when it starts executing, and never
re-runs a finished `Once` operation (pkg/ddc/base/operation.go, operation_helm.go): a changed spec
takes a delete and a create. Complete and Failed are decided from the operation's Job
(pkg/controllers/v1alpha1/<kind>/status_handler.go)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import json
import re

from ansible_collections.cloudnative.fluid.plugins.module_utils import diagnose
from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import observe
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate
from ansible_collections.cloudnative.fluid.plugins.module_utils.waiter import Target


# ---------------------------------------------------------------- options every operation shares

# spec.runAfter: an ObjectRef and its affinityStrategy (api/v1alpha1/common.go:249-306)
REF = dict(kind=dict(type="str", required=True, choices=list(fluid.OPERATION_REF_KINDS)),
           name=dict(type="str", required=True), namespace=dict(type="str"))
AFFINITY_STRATEGY = dict(
    policy=dict(type="str", choices=["Require", "Prefer"]), depend_on=dict(type="dict", options=REF),
    prefers=dict(type="list", elements="dict", options=dict(name=dict(type="str", required=True),
                                                            weight=dict(type="int"))),
    requires=dict(type="list", elements="dict", options=dict(name=dict(type="str", required=True))))
RUN_AFTER = dict(REF, affinity_strategy=dict(type="dict", options=AFFINITY_STRATEGY))
COMMON_SPEC = dict(run_after=dict(type="dict", options=RUN_AFTER), ttl_seconds_after_finished=dict(type="int"))
# spec.policy/schedule of DataLoad and DataMigrate (api/v1alpha1/common.go:220-231)
POLICIES = ("Once", "Cron", "OnEvent")
SCHEDULE_SPEC = dict(policy=dict(type="str", choices=list(POLICIES)), schedule=dict(type="str"))
# the operation pod's scheduling and metadata (DataLoad and DataMigrate spec fields)
POD_SPEC = dict(node_selector=dict(type="dict"), tolerations=dict(type="list", elements="dict"),
                affinity=dict(type="dict"), scheduler_name=dict(type="str"), resources=dict(type="dict"),
                pod_labels=dict(type="dict"), pod_annotations=dict(type="dict"))
POD_FIELDS = (("node_selector", "nodeSelector"), ("tolerations", "tolerations"), ("affinity", "affinity"),
              ("scheduler_name", "schedulerName"), ("resources", "resources"), ("pod_labels", "podMetadata"),
              ("pod_annotations", "podMetadata"))
CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,#LW-]+$")


def finished_or_gone(obj):
    return obj is None or fluid.phase(obj) in fluid.OP_FINISHED


def run_after_ref(ref, namespace):
    """spec.runAfter (an OperationRef) from the run_after option; the namespace defaults to the operation's."""
    out = {"kind": ref["kind"], "name": ref["name"], "namespace": ref.get("namespace") or namespace}
    strategy = ref.get("affinity_strategy") or {}
    if strategy.get("policy"):
        aff = {"policy": strategy["policy"]}
        if strategy.get("depend_on"):
            dep = strategy["depend_on"]
            aff["dependOn"] = {"kind": dep["kind"], "name": dep["name"], "namespace": dep.get("namespace") or namespace}
        for key in ("prefers", "requires"):
            if strategy.get(key):
                aff[key] = [driver.fields(p, (("name", "name"), ("weight", "weight"))) for p in strategy[key]]
        out["affinityStrategy"] = aff
    return out


def validate_common(item, kind):
    """run_after and ttl_seconds_after_finished of an operation of this kind."""
    ref, errors = item.get("run_after"), []
    if ref:
        errors += validate.run_after("run_after", ref)
        strategy = ref.get("affinity_strategy") or {}
        if strategy and not strategy.get("policy"):
            errors.append("run_after.affinity_strategy.policy: set Require or Prefer (without a policy Fluid ignores "
                          "the affinity strategy)")
        if strategy.get("depend_on"):
            errors += validate.run_after("run_after.affinity_strategy.depend_on", strategy["depend_on"])
        for i, p in enumerate(strategy.get("prefers") or []):
            if p.get("weight") is not None and not 1 <= p["weight"] <= 100:
                errors.append("run_after.affinity_strategy.prefers[%d].weight: must be 1 to 100, got %r (Kubernetes' "
                              "preferred scheduling weight; Fluid's default is 100)" % (i, p["weight"]))
        if ref.get("kind") == kind and ref.get("name") == item.get("name") \
                and (ref.get("namespace") or item.get("namespace")) == item.get("namespace"):
            errors.append("run_after: names this operation itself; name the operation it must wait for")
    if (item.get("ttl_seconds_after_finished") or 0) < 0:
        errors.append("ttl_seconds_after_finished: must be 0 or more, got %r" % item["ttl_seconds_after_finished"])
    return errors


def validate_schedule(item, params):
    """policy and schedule: Cron needs a schedule, nothing else takes one; OnEvent does nothing in Fluid v1.0.8."""
    policy, schedule, errors = item.get("policy") or "Once", item.get("schedule"), []
    if policy == "OnEvent":
        # pkg/controllers/v1alpha1/dataload/status_handler.go:190-193, datamigrate/status_handler.go:215-218
        errors.append("policy: OnEvent is not implemented by Fluid v1.0.8 (its status handler does nothing), the "
                      "operation would never run; use Once, or Cron with a schedule")
    if policy == "Cron":
        if not schedule:
            errors.append("schedule: is required with policy: Cron; give a cron expression, e.g. '0 2 * * *' (every "
                          "day at 02:00)")
        elif not (schedule.startswith("@") or (len(schedule.split()) == 5 and all(
                CRON_FIELD.match(f) for f in schedule.split()))):
            errors.append("schedule: %r is not a cron expression of five fields (minute hour day-of-month month "
                          "day-of-week), e.g. '*/30 * * * *', or a macro such as @hourly" % schedule)
        if item.get("ttl_seconds_after_finished") is not None:
            # dataload/implement.go:145-160, datamigrate/implement.go:166-181
            errors.append("ttl_seconds_after_finished: Fluid ignores it for a Cron operation (it is only honoured "
                          "for policy: Once); leave it out")
    elif schedule:
        errors.append("schedule: is only used with policy: Cron; add policy: Cron or leave schedule out")
    return errors


def validate_pod(item):
    """The operation pod's node_selector, tolerations, labels and annotations."""
    errors = validate.labels("node_selector", item.get("node_selector"))
    errors += validate.tolerations("tolerations", item.get("tolerations"))
    errors += validate.labels("pod_labels", item.get("pod_labels"))
    errors += validate.labels("pod_annotations", item.get("pod_annotations"), values=False)
    for key in set(item.get("resources") or {}) - {"requests", "limits"}:
        errors.append("resources.%s: unknown; resources takes requests and limits, e.g. {limits: {cpu: '1', memory: "
                      "1Gi}}" % key)
    return errors


def build_common(item):
    spec = {}
    if item.get("run_after"):
        spec["runAfter"] = run_after_ref(item["run_after"], item["namespace"])
    spec.update(driver.fields(item, (("ttl_seconds_after_finished", "ttlSecondsAfterFinished"),)))
    return spec


def build_schedule(item):
    return driver.fields(item, (("policy", "policy"), ("schedule", "schedule")))


def pod_metadata(item):
    """podMetadata {labels, annotations} from pod_labels and pod_annotations ({} when neither is set)."""
    return dict((api, driver.str_map(item[opt])) for opt, api in (("pod_labels", "labels"),
                                                                  ("pod_annotations", "annotations")) if item.get(opt))


def build_pod(item):
    spec = driver.fields(item, (("tolerations", "tolerations"), ("affinity", "affinity"),
                                ("scheduler_name", "schedulerName"), ("resources", "resources")))
    if item.get("node_selector"):
        spec["nodeSelector"] = driver.str_map(item["node_selector"])
    if pod_metadata(item):
        spec["podMetadata"] = pod_metadata(item)
    return spec


def is_cron(unit):
    return (((unit.body or {}).get("spec") or {}).get("policy") or "Once") == "Cron"


def parse_time(value):
    """An RFC 3339 time of the API (2026-12-03T10:00:00Z) as an aware datetime, or None."""
    try:
        return datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def ran_since(start):
    """Predicate of a Cron operation: a run scheduled at or after start has finished (Fluid copies the CronJob's
    lastScheduleTime into the status and sets Complete/Failed from that run's Job,
    pkg/controllers/v1alpha1/dataload/status_handler.go:112-188)."""
    def satisfied(obj):
        if obj is None:
            return True
        last = parse_time(fluid.status_of(obj).get("lastScheduleTime"))
        return last is not None and last >= start and fluid.phase(obj) in fluid.OP_FINISHED
    return satisfied


# ---------------------------------------------------------------- the record of operations Fluid deleted

RECORD_PREFIX = "operations.cloudnative.fluid/"


def record_key(kind, name):
    """The Dataset annotation that remembers an operation: operations.cloudnative.fluid/<kind>.<name>."""
    return "%s%s.%s" % (RECORD_PREFIX, kind.lower(), name)


def spec_digest(body):
    return hashlib.sha256(json.dumps(body.get("spec"), sort_keys=True).encode("utf-8")).hexdigest()[:16]


def record_of(dataset, kind, name):
    raw = (((dataset or {}).get("metadata") or {}).get("annotations") or {}).get(record_key(kind, name))
    try:
        record = json.loads(raw) if raw else None
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


class Operation(driver.Kind):
    """A data operation: subclasses declare kind, item_spec, validate and build (and dataset_of when the Dataset
    is not the item's `dataset` option)."""

    defaults = {"namespace": "default", "state": "present"}
    rerun_hint = "change it"  # how to run it again, in the Failed message

    def validate_item(self, item, params=None):
        errors = driver.Kind.validate_item(self, item, params)
        longest = fluid.OPERATION_NAME_MAX[self.kind]
        if item.get("state") != "absent" and len(str(item.get("name") or "")) > longest:
            errors.append("%sname: %r is longer than %d characters, too long for the Helm release Fluid names after "
                          "it; use a shorter name" % (item.get("prefix", ""), item["name"], longest))
        return errors

    def want(self, params):
        return "complete"

    def dataset_of(self, item):
        """The name of the Dataset the operation works on."""
        return item.get("dataset")

    def require_dataset(self, run, unit, name):
        """The Dataset the operation works on, read before anything is written; fails when it does not exist
        (in check mode: a warning, the operation is reported as would-be created)."""
        dataset = run.call(unit, "read", run.client.get, fluid.DATASET, unit.namespace, name)
        if dataset is None:
            msg = ("dataset: Dataset %s/%s does not exist; Fluid runs a %s only on an existing Dataset of its own "
                   "namespace. Create it first with cloudnative.fluid.dataset (and its runtime with "
                   "cloudnative.fluid.runtime)." % (unit.namespace, name, self.kind))
            if not run.check:
                run.fail(msg)
            run.module.warn(msg + " (check mode: reported as would-be created)")
        unit.dataset = dataset
        return dataset

    def settled(self, run, unit):
        """An absent operation that this collection created with the same spec and Fluid deleted after
        ttlSecondsAfterFinished: its record on the Dataset stands for it, nothing is created again."""
        if "ttlSecondsAfterFinished" not in (unit.body or {}).get("spec", {}):
            return False
        dataset = getattr(unit, "dataset", None)
        if dataset is None:
            dataset = run.client.get(fluid.DATASET, unit.namespace, self.dataset_of(unit.item))
        record = record_of(dataset, self.kind, unit.name)
        unit.record = record if record and record.get("spec") == spec_digest(unit.body) else None
        return unit.record is not None

    def targets(self, unit, params):
        if is_cron(unit):
            start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
            return [Target(self.kind, unit.namespace, unit.name, ran_since(start))]
        return [Target(self.kind, unit.namespace, unit.name, finished_or_gone)]

    def replace(self, run, unit, existing):
        """Fluid never re-runs an operation whose spec changed: delete it and create it again (unless it runs;
        a Cron operation is Executing between its runs and is replaced)."""
        if (unit.before or {}).get("spec") == (unit.after or {}).get("spec"):
            return False
        if fluid.phase(existing) == fluid.OP_EXECUTING and not is_cron(unit):
            run.fail("%s %s/%s is Executing with a different spec; Fluid does not restart a running operation. Wait "
                     "for it to finish (run this task again then: it will be replaced), delete it with state: absent, "
                     "or use another name." % (self.kind, unit.namespace, unit.name))
        unit.replaced = True
        if run.check:
            return True
        run.call(unit, "delete", run.client.delete, unit.kind, unit.namespace, unit.name)
        gone = driver.Unit(unit.kind, unit.namespace, unit.name, "absent", want="absent")
        gone.targets = [Target(unit.kind, unit.namespace, unit.name, driver.gone)]
        failure = driver.wait(run.client, [gone], run.params["wait_timeout"], "%ss to be deleted" % self.kind,
                              run.module)
        if failure:
            run.fail(failure)
        unit.obj = run.call(unit, "create", run.client.apply, unit.body)
        unit.after = driver.comparable(unit.obj, unit.body)
        return True

    def finished(self, run, unit):
        ref, obj = "%s %s/%s" % (self.kind, unit.namespace, unit.name), unit.obj
        record = getattr(unit, "record", None)
        if obj is None and record:
            if record.get("phase") == fluid.OP_FAILED:
                return ("%s Failed (recorded on its Dataset before Fluid deleted it after ttlSecondsAfterFinished). "
                        "Delete the record with state: absent, or %s, to run it again." % (ref, self.rerun_hint))
            return None
        if obj is None:
            return ("%s disappeared while waiting for it (deleted by someone, or by spec.ttlSecondsAfterFinished); "
                    "its outcome is unknown." % ref)
        if fluid.phase(obj) != fluid.OP_FAILED:
            return None
        return "%s Failed after %s: %s. Delete it (state: absent) or %s to run it again." % (
            ref, (obj.get("status") or {}).get("duration") or "?", diagnose.operation_failed(run.client, obj),
            self.rerun_hint)

    def after(self, run, failure):
        """Keep the record of operations Fluid will delete after ttlSecondsAfterFinished on their Dataset (a JSON
        merge patch of one annotation); state: absent drops it."""
        if run.check:
            return
        for unit in run.units:
            if unit.state == "absent":
                self.drop_record(run, unit)
            elif "ttlSecondsAfterFinished" in (unit.body or {}).get("spec", {}) and unit.obj is not None:
                status, conds = fluid.status_of(unit.obj), (fluid.status_of(unit.obj).get("conditions") or [{}])
                record = {"spec": spec_digest(unit.body), "uid": unit.obj["metadata"].get("uid"),
                          "phase": status.get("phase") or "", "duration": status.get("duration") or "",
                          "finished": conds[0].get("lastTransitionTime") if status.get("phase") in fluid.OP_FINISHED
                          else None}
                dataset = getattr(unit, "dataset", None)
                if record != record_of(dataset, self.kind, unit.name):
                    self.write_record(run, unit, self.dataset_of(unit.item), json.dumps(record, sort_keys=True))

    def drop_record(self, run, unit):
        key = record_key(self.kind, unit.name)
        for dataset in run.call(unit, "list Datasets of", run.client.list, fluid.DATASET, unit.namespace) or []:
            if key in ((dataset.get("metadata") or {}).get("annotations") or {}):
                self.write_record(run, unit, dataset["metadata"]["name"], None)
                unit.changed = True

    def write_record(self, run, unit, dataset, value):
        body = {"metadata": {"annotations": {record_key(self.kind, unit.name): value}}}
        run.call(unit, "record the outcome on Dataset %s/%s of" % (unit.namespace, dataset), run.client.merge_patch,
                 fluid.DATASET, unit.namespace, dataset, body)

    def summary(self, run, unit):
        record = getattr(unit, "record", None)
        facts = observe.operation_facts(unit.obj)
        if unit.obj is None and record:
            facts.update(phase=record.get("phase") or "", duration=record.get("duration") or "",
                         duration_seconds=observe.go_duration_seconds(record.get("duration") or ""))
        spec = (unit.body or {}).get("spec") or {}
        return unit.entry(replaced=unit.replaced, recorded=bool(record and unit.obj is None),
                          policy=spec.get("policy") or "Once" if unit.state == "present" else None,
                          schedule=spec.get("schedule"), **facts)
