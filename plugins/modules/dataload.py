#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dataload
short_description: Warm a Fluid Dataset's cache with a DataLoad and wait until it is Complete
version_added: 0.1.0
author:
  - cloudnative.fluid contributors (@cloudnative)
description:
  - Create or delete a Fluid C(DataLoad) (C(data.fluid.io/v1alpha1)). Fluid's dataset controller runs a loader
    Job that reads the given paths of a Dataset (all of it when no path is given) into its runtime's cache, so
    the first reads by applications are already cache hits.
  - With O(wait), waits by watching the API server until the DataLoad's phase is C(Complete), and reports how
    long the load took (Fluid's C(status.duration)). If the phase becomes C(Failed) the task fails with the
    loader's reason. On timeout the task fails with a diagnosis (the DataLoad's phase and conditions, whether its
    Dataset is Bound, the loader pods and why they do not run).
  - Idempotent by name. A DataLoad runs once; a second identical task reports no change (and, with O(wait),
    returns at once when it is already C(Complete)). If the requested load differs from a DataLoad that has
    finished or not started, the DataLoad is deleted and created again, because Fluid never re-runs a DataLoad
    whose spec changed; one that is C(Executing) is left alone and the task fails saying so.
  - To load the same paths again, delete the DataLoad (O(state=absent)) or use a new O(name).
  - All inputs are checked before anything is written, including that the Dataset exists in O(namespace) and
    that every path lies under one of its mounts.
  - Cron loads (O(policy=Cron)) run on a schedule; the result reports their last run.
extends_documentation_fragment:
  - cloudnative.fluid.auth_options
  - cloudnative.fluid.wait
  - cloudnative.fluid.attributes
  - cloudnative.fluid.operation
  - cloudnative.fluid.operation.schedule
  - cloudnative.fluid.operation.pod
attributes:
  check_mode:
    support: full
    details: Changes are computed by a server-side dry run; nothing is written and nothing is awaited.
  diff_mode:
    support: full
    details: The diff shows the DataLoad's labels, annotations and spec, before and after.
  platform:
    support: full
    platforms: posix
  action_group:
    support: full
    membership:
      - cloudnative.fluid.fluid
options:
  name:
    description:
      - Name of the DataLoad (a DNS-1035 label; Fluid names the loader's Helm release C(<name>-loader)).
    type: str
    required: true
  namespace:
    description:
      - Namespace of the DataLoad. Fluid requires the Dataset to be in the same namespace.
    type: str
    default: default
  state:
    description:
      - V(present) creates the DataLoad (see the description for an existing one) and, with O(wait), waits until it
        is C(Complete).
      - V(absent) deletes it and, with O(wait), waits until Fluid removed its finalizer (and the loader's Helm release).
    type: str
    choices: [present, absent]
    default: present
  dataset:
    description:
      - Name of the Dataset to load into (C(spec.dataset.name)); it must exist in O(namespace). Required for
        O(state=present).
    type: str
  paths:
    description:
      - What to load (C(spec.target)). Each path is a path inside the Dataset, so it starts with a mount's
        directory (C(/<mount name>), or the mount's C(path)), or is C(/) for everything.
      - "Each item is either a path as a string (V(/spark)) or a mapping with C(path) and, optionally, C(replicas),
        how many cache replicas of each block to load (Fluid's default is 1), for example
        C({path: /spark, replicas: 2})."
      - Without O(paths) Fluid's loader loads C(/), the whole Dataset.
    type: list
    elements: raw
  load_metadata:
    description:
      - Refresh the runtime's metadata of the under-storage before loading (C(spec.loadMetadata)), for data
        added to the under-storage after the Dataset was bound.
    type: bool
  options:
    description:
      - Runtime-specific loader options (C(spec.options)); values are sent as strings.
    type: dict
  labels:
    description: Labels of the DataLoad object.
    type: dict
  annotations:
    description: Annotations of the DataLoad object.
    type: dict
  spec:
    description:
      - Any further C(spec) fields with Fluid's camelCase names, merged last. Fields set by typed options cannot be
        set here too.
    type: dict
seealso:
  - module: cloudnative.fluid.dataset
  - module: cloudnative.fluid.dataset_info
  - name: Fluid DataLoad
    description: Fluid's guide to warming a Dataset's cache.
    link: https://github.com/fluid-cloudnative/fluid/blob/master/docs/en/userguide/data_warmup.md
notes:
  - Requires the C(kubernetes) Python library on the host that runs the module (see the collection's
    C(requirements.txt)).
  - The Dataset's cache figures (C(cached), C(cachedPercentage)) are refreshed by Fluid's runtime controller a few
    seconds after the DataLoad completes; read them with M(cloudnative.fluid.dataset_info).
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
"""

EXAMPLES = r"""
# In Fluid's original demo a 200M hbase file took 1m11s to read the first time: load /hbase into the cache first.
- name: Warm the hbase directory of cifar10
  cloudnative.fluid.dataload:
    name: cifar10-warmup
    namespace: default
    dataset: cifar10
    paths:
      - path: /hbase
        replicas: 1
    wait_timeout: 1800
  register: warmup

- name: Report how long it took
  ansible.builtin.debug:
    msg: "{{ warmup.phase }} in {{ warmup.duration }} ({{ warmup.duration_seconds }} s)"

# Everything, two replicas, after refreshing the metadata of files added to the under-storage.
- name: Load the whole Dataset
  cloudnative.fluid.dataload:
    name: cifar10-all
    dataset: cifar10
    load_metadata: true
    paths:
      - path: /
        replicas: 2

# Start it and move on; check later with cloudnative.fluid.dataset_info.
- name: Load in the background
  cloudnative.fluid.dataload:
    name: cifar10-spark
    dataset: cifar10
    paths: [/spark]
    wait: false

# Every night at 02:00, refresh the metadata and load /hbase again; wait for tonight's run.
- name: Nightly warm-up
  cloudnative.fluid.dataload:
    name: cifar10-nightly
    dataset: cifar10
    policy: Cron
    schedule: "0 2 * * *"
    load_metadata: true
    paths: [/hbase]
    wait: false
  register: nightly

- name: Report the last nightly run
  ansible.builtin.debug:
    msg: "last run {{ nightly.last_schedule_time }}, last success {{ nightly.last_successful_time }}"

# Load after another step of a data flow, on the node where that step ran (needs Fluid's DataflowAffinity gate),
# and let Fluid delete the DataLoad an hour after it finished (later runs of this task report it from its record).
- name: Load the processed output
  cloudnative.fluid.dataload:
    name: cifar10-processed
    dataset: cifar10
    paths: [/hbase]
    run_after:
      kind: DataProcess
      name: cifar10-unpack
      affinity_strategy:
        policy: Prefer
    ttl_seconds_after_finished: 3600
    resources:
      limits: {cpu: "1", memory: 2Gi}

- name: Remove the DataLoad (the cached data stays)
  cloudnative.fluid.dataload:
    name: cifar10-warmup
    state: absent
"""

RETURN = r"""
changed:
  description: Whether the DataLoad was created, replaced or deleted (or would be, in check mode).
  returned: always
  type: bool
name:
  description: DataLoad name.
  returned: always
  type: str
  sample: cifar10-warmup
namespace:
  description: DataLoad namespace.
  returned: always
  type: str
  sample: default
state:
  description: The requested state.
  returned: always
  type: str
  sample: present
dataset:
  description: The Dataset loaded into.
  returned: when O(state=present)
  type: str
  sample: cifar10
exists:
  description: Whether the DataLoad exists after the task (in check mode, whether it would).
  returned: always
  type: bool
replaced:
  description: Whether an existing DataLoad with a different spec was deleted and created again.
  returned: always
  type: bool
target:
  description:
    - C(spec.target) as sent, the paths and replicas loaded.
    - Empty when O(paths) is not given; Fluid then loads the whole Dataset.
  returned: when O(state=present)
  type: list
  elements: dict
  sample: [{path: /hbase, replicas: 1}]
phase:
  description: C(status.phase) as last seen (C(Pending), C(Executing), C(Complete), C(Failed)); empty before Fluid writes one.
  returned: always
  type: str
  sample: Complete
duration:
  description: How long the loader Job ran, as Fluid writes it (C(status.duration)); C(Unfinished) while it runs.
  returned: always
  type: str
  sample: 1m11s
duration_seconds:
  description: RV(duration) in seconds, null while unfinished.
  returned: always
  type: float
  sample: 71.0
conditions:
  description: C(status.conditions) with type, status, reason and message (the loader Job's final condition).
  returned: always
  type: list
  elements: dict
  sample: [{type: Complete, status: "True", reason: CompletionsReached, message: Reached expected number of succeeded pods}]
policy:
  description: C(spec.policy) as sent (V(Once) when not given).
  returned: when O(state=present)
  type: str
  sample: Cron
schedule:
  description: C(spec.schedule) as sent, for a Cron DataLoad.
  returned: always
  type: str
  sample: "0 2 * * *"
last_schedule_time:
  description: When the last run of a Cron DataLoad was scheduled (C(status.lastScheduleTime)), null before the first.
  returned: always
  type: str
  sample: "2026-12-03T02:00:00Z"
last_successful_time:
  description: When the last successful run of a Cron DataLoad finished (C(status.lastSuccessfulTime)).
  returned: always
  type: str
  sample: "2026-12-03T02:00:41Z"
recorded:
  description:
    - Whether the DataLoad no longer exists (Fluid deleted it after O(ttl_seconds_after_finished)) and the result
      comes from its record on the Dataset; RV(phase) and RV(duration) are then the recorded ones.
  returned: always
  type: bool
wait_seconds:
  description: Seconds from the start of the wait until the DataLoad finished (or was gone); 0 when not waited.
  returned: always
  type: float
  sample: 2.31
"""

import posixpath

from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import operation
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate

ITEM_SPEC = driver.item_spec(
    dataset=dict(type="str"), paths=dict(type="list", elements="raw"), load_metadata=dict(type="bool"),
    options=dict(type="dict"), **dict(operation.COMMON_SPEC, **dict(operation.SCHEDULE_SPEC, **operation.POD_SPEC)))


def normalize_paths(item):
    """paths as [{path, replicas}]: a plain string is a path; errors for anything else."""
    errors, out = [], []
    for i, p in enumerate(item.get("paths") or []):
        if isinstance(p, str):
            p = {"path": p}
        if not isinstance(p, dict) or set(p) - {"path", "replicas"} or not isinstance(p.get("path"), str):
            errors.append("paths[%d]: %r is not a path; write a path inside the Dataset (/spark) or a mapping "
                          "{path: /spark, replicas: 1}" % (i, p))
            continue
        replicas = p.get("replicas")
        if replicas is not None and (isinstance(replicas, bool) or not str(replicas).strip().lstrip("-").isdigit()):
            errors.append("paths[%d].replicas: %r is not a whole number; write e.g. replicas: 1" % (i, replicas))
            continue
        out.append({"path": p["path"], "replicas": None if replicas is None else int(replicas)})
    item["paths"] = out if item.get("paths") is not None else None
    return errors


class DataLoad(operation.Operation):
    kind = noun = fluid.DATALOAD
    item_spec = ITEM_SPEC
    typed_spec = (("dataset", "dataset"), ("target", "paths"), ("loadMetadata", "load_metadata"),
                  ("options", "options"), ("policy", "policy"), ("schedule", "schedule"), ("runAfter", "run_after"),
                  ("ttlSecondsAfterFinished", "ttl_seconds_after_finished")) + operation.POD_FIELDS

    def validate(self, item, params):
        if item.get("state") == "absent":
            return []
        errors, seen = normalize_paths(item), {}
        if not item.get("dataset"):
            errors.append("dataset: is required with state=present; name the Dataset to load into (it must be in "
                          "namespace %s)" % item.get("namespace"))
        else:
            errors += validate.resource_name("dataset", item["dataset"], "Dataset")
        for i, p in enumerate(item.get("paths") or []):
            field, path = "paths[%d]" % i, p["path"]
            if not path.startswith("/"):
                errors.append("%s.path: %r must be an absolute path inside the Dataset, e.g. /%s or / for everything"
                              % (field, path, path.strip("/") or "hbase"))
            elif posixpath.normpath(path) in seen:
                errors.append("%s.path: %r is already paths[%d]; list each path once"
                              % (field, path, seen[posixpath.normpath(path)]))
            seen.setdefault(posixpath.normpath(path), i)
            if p["replicas"] is not None and p["replicas"] < 1:
                errors.append("%s.replicas: must be at least 1, got %r (leave it out for Fluid's default, 1)"
                              % (field, p["replicas"]))
        errors += operation.validate_common(item, self.kind) + operation.validate_schedule(item, params)
        errors += operation.validate_pod(item)
        if "dataset" in (item.get("spec") or {}):
            errors.append("spec.dataset: set the Dataset with the dataset option (Fluid requires it in the "
                          "DataLoad's namespace)")
        return errors

    def build(self, item):
        spec = {"dataset": {"name": item["dataset"], "namespace": item["namespace"]}}
        spec.update(driver.fields(item, (("load_metadata", "loadMetadata"),)))
        if item.get("paths"):
            spec["target"] = [driver.fields(p, (("path", "path"), ("replicas", "replicas"))) for p in item["paths"]]
        if item.get("options"):
            spec["options"] = driver.str_map(item["options"])
        spec.update(operation.build_schedule(item), **operation.build_common(item))
        spec.update(operation.build_pod(item))
        return driver.fluid_object(self.kind, item, spec)

    def prepare(self, run):
        """The Dataset must exist, and every path lie under one of its mounts."""
        [unit] = run.units
        item = unit.item
        if unit.state != "present":
            return
        dataset = self.require_dataset(run, unit, item["dataset"])
        if dataset is None:
            return
        run.invalid(validate.paths_under(item.get("paths"), fluid.dataset_dirs(dataset), "Dataset %s/%s" % (
            unit.namespace, item["dataset"])))

    def summary(self, run, unit):
        out = operation.Operation.summary(self, run, unit)
        if unit.state == "present":
            out.update(dataset=unit.item["dataset"], target=((unit.body or {}).get("spec") or {}).get("target") or [])
        return out


KIND = DataLoad()


def main():
    driver.run(KIND)


if __name__ == "__main__":
    main()
