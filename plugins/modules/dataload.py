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
extends_documentation_fragment:
  - cloudnative.fluid.auth_options
  - cloudnative.fluid.wait
  - cloudnative.fluid.attributes
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
  node_selector:
    description: Node labels the loader pod must run on (C(spec.nodeSelector)).
    type: dict
  tolerations:
    description: Tolerations of the loader pod (C(spec.tolerations)), with API field names.
    type: list
    elements: dict
  run_after:
    description:
      - Start only once another data operation is C(Complete) (C(spec.runAfter)), for example the step before it in a
        data flow (see the role C(cloudnative.fluid.dataflow)). Fluid keeps this DataLoad C(Pending) until then; if
        that operation fails, this one never starts, and the wait reports it.
    type: dict
    suboptions:
      kind:
        description: Kind of the preceding operation.
        type: str
        required: true
        choices: [DataLoad, DataProcess, DataMigrate, DataBackup]
      name:
        description: Name of the preceding operation.
        type: str
        required: true
      namespace:
        description: Its namespace (default, the DataLoad's).
        type: str
  ttl_seconds_after_finished:
    description:
      - Fluid deletes the DataLoad this many seconds after it finished (C(spec.ttlSecondsAfterFinished)); only for a
        one-time load (C(policy) C(Once), the default), Fluid ignores it for C(Cron).
    type: int
  labels:
    description: Labels of the DataLoad object.
    type: dict
  annotations:
    description: Annotations of the DataLoad object.
    type: dict
  spec:
    description:
      - Any further C(spec) fields with Fluid's camelCase names (for example C(affinity), C(resources),
        C(podMetadata)), merged last. Fields set by typed options cannot be set here too.
      - C(policy) other than C(Once) (C(Cron), C(OnEvent)) never finishes for good; use it with O(wait=false).
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
wait_seconds:
  description: Seconds from the start of the wait until the DataLoad finished (or was gone); 0 when not waited.
  returned: always
  type: float
  sample: 2.31
"""

import posixpath

from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate
from ansible_collections.cloudnative.fluid.plugins.module_utils.operation import RUN_AFTER, Operation, run_after_ref

ITEM_SPEC = driver.item_spec(
    dataset=dict(type="str"),
    paths=dict(type="list", elements="raw"),
    load_metadata=dict(type="bool"),
    options=dict(type="dict"),
    node_selector=dict(type="dict"),
    tolerations=dict(type="list", elements="dict"),
    run_after=dict(type="dict", options=RUN_AFTER),
    ttl_seconds_after_finished=dict(type="int"),
)


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


class DataLoad(Operation):
    kind = noun = fluid.DATALOAD
    item_spec = ITEM_SPEC
    typed_spec = (("dataset", "dataset"), ("target", "paths"), ("loadMetadata", "load_metadata"),
                  ("options", "options"), ("nodeSelector", "node_selector"), ("tolerations", "tolerations"),
                  ("runAfter", "run_after"), ("ttlSecondsAfterFinished", "ttl_seconds_after_finished"))

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
        errors += validate.labels("node_selector", item.get("node_selector"))
        errors += validate.tolerations("tolerations", item.get("tolerations"))
        errors += validate.run_after("run_after", item.get("run_after"))
        if (item.get("ttl_seconds_after_finished") or 0) < 0:
            errors.append("ttl_seconds_after_finished: must be 0 or more, got %r" % item["ttl_seconds_after_finished"])
        spec = item.get("spec") or {}
        if "dataset" in spec:
            errors.append("spec.dataset: set the Dataset with the dataset option (Fluid requires it in the "
                          "DataLoad's namespace)")
        if (spec.get("policy") or "Once") != "Once" and params.get("wait"):
            errors.append("spec.policy: a %s DataLoad never finishes for good, so it cannot be awaited; set wait: "
                          "false (or leave policy out for a one-time load)" % spec["policy"])
        return errors

    def build(self, item):
        spec = {"dataset": {"name": item["dataset"], "namespace": item["namespace"]}}
        spec.update(driver.fields(item, (("load_metadata", "loadMetadata"),)))
        if item.get("paths"):
            spec["target"] = [driver.fields(p, (("path", "path"), ("replicas", "replicas"))) for p in item["paths"]]
        for opt, api in (("options", "options"), ("node_selector", "nodeSelector")):
            if item.get(opt):
                spec[api] = driver.str_map(item[opt])
        if item.get("tolerations"):
            spec["tolerations"] = item["tolerations"]
        if item.get("run_after"):
            spec["runAfter"] = run_after_ref(item["run_after"], item["namespace"])
        spec.update(driver.fields(item, (("ttl_seconds_after_finished", "ttlSecondsAfterFinished"),)))
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
        out = Operation.summary(self, run, unit)
        if unit.state == "present":
            out.update(dataset=unit.item["dataset"], target=((unit.after or {}).get("spec") or {}).get("target") or [])
        return out


KIND = DataLoad()


def main():
    driver.run(KIND)


if __name__ == "__main__":
    main()
