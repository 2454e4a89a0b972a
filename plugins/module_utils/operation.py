# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every Fluid data operation module shares (DataLoad, DataProcess): wait until Complete or
Failed, fail with the operation's own reason, and replace an operation whose spec changed.

Fluid v1.0.8 turns an operation's spec into Helm values once, when it starts executing, and never
re-runs a finished `Once` operation (pkg/ddc/base/operation.go, operation_helm.go): a changed spec
takes a delete and a create. Complete and Failed are decided from the operation's Job
(pkg/controllers/v1alpha1/<kind>/status_handler.go)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cloudnative.fluid.plugins.module_utils import diagnose
from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import observe
from ansible_collections.cloudnative.fluid.plugins.module_utils.waiter import Target


def finished_or_gone(obj):
    return obj is None or fluid.phase(obj) in fluid.OP_FINISHED


# The run_after option of every data operation module: spec.runAfter (api/v1alpha1/common.go OperationRef)
RUN_AFTER = dict(kind=dict(type="str", required=True, choices=list(fluid.OPERATION_REF_KINDS)),
                 name=dict(type="str", required=True), namespace=dict(type="str"))


def run_after_ref(ref, namespace):
    """spec.runAfter (an OperationRef) from the run_after option; the namespace defaults to the operation's."""
    return {"kind": ref["kind"], "name": ref["name"], "namespace": ref.get("namespace") or namespace}


class Operation(driver.Kind):
    """A data operation: subclasses declare kind, item_spec, validate and build."""

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
        return dataset

    def targets(self, unit, params):
        return [Target(self.kind, unit.namespace, unit.name, finished_or_gone)]

    def replace(self, run, unit, existing):
        """Fluid never re-runs an operation whose spec changed: delete it and create it again (unless it runs)."""
        if (unit.before or {}).get("spec") == (unit.after or {}).get("spec"):
            return False
        if fluid.phase(existing) == fluid.OP_EXECUTING:
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
        if obj is None:
            return ("%s disappeared while waiting for it (deleted by someone, or by spec.ttlSecondsAfterFinished); "
                    "its outcome is unknown." % ref)
        if fluid.phase(obj) != fluid.OP_FAILED:
            return None
        return "%s Failed after %s: %s. Delete it (state: absent) or %s to run it again." % (
            ref, (obj.get("status") or {}).get("duration") or "?", diagnose.operation_failed(run.client, obj),
            self.rerun_hint)

    def summary(self, run, unit):
        return unit.entry(replaced=unit.replaced, **observe.operation_facts(unit.obj))
