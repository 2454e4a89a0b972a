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
    Job that reads the given paths of a Dataset into its runtime's cache, so the first reads by applications
    are already cache hits.
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
  - kubernetes.core.k8s_auth_options
  - cloudnative.fluid.wait
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
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
      - Without O(paths) Fluid's loader loads nothing; give at least C(/) to load the whole Dataset.
    type: list
    elements: dict
    suboptions:
      path:
        description: Absolute path inside the Dataset (C(path)).
        type: str
        required: true
      replicas:
        description: How many cache replicas of each block to load (C(replicas)); Fluid's default is 1.
        type: int
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
  labels:
    description: Labels of the DataLoad object.
    type: dict
  annotations:
    description: Annotations of the DataLoad object.
    type: dict
  spec:
    description:
      - Any further C(spec) fields with Fluid's camelCase names (for example C(affinity), C(resources),
        C(podMetadata), C(ttlSecondsAfterFinished)), merged last. Fields set by typed options cannot be set here too.
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
# The seed's 200M hbase file read in 1m11s the first time: load /hbase into the cache first.
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
    paths: [{path: /spark}]
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
  description: C(spec.target) as sent, the paths and replicas loaded.
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

import copy
import posixpath

from ansible_collections.cloudnative.fluid.plugins.module_utils import engine
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid as F
from ansible_collections.cloudnative.fluid.plugins.module_utils import observe as O
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate as V
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import (
    AUTH_ARG_SPEC,
    AnsibleK8SModule,
    ApiError,
    FluidNotInstalled,
    connect,
    ensure_k8s_core,
    explain_api_error,
)
from ansible_collections.cloudnative.fluid.plugins.module_utils.waiter import Target, WaitError, wait_for

KIND = F.DATALOAD
FINALIZER = "fluid-dataload-controller-finalizer"

# typed option -> the spec field it sets (spec must not set it too)
TYPED_SPEC_FIELDS = (
    ("dataset", "dataset"),
    ("paths", "target"),
    ("load_metadata", "loadMetadata"),
    ("options", "options"),
    ("node_selector", "nodeSelector"),
    ("tolerations", "tolerations"),
)


def argument_spec():
    spec = dict(
        name=dict(type="str", required=True),
        namespace=dict(type="str", default="default"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        dataset=dict(type="str"),
        paths=dict(type="list", elements="dict", options=dict(
            path=dict(type="str", required=True),
            replicas=dict(type="int"),
        )),
        load_metadata=dict(type="bool"),
        options=dict(type="dict"),
        node_selector=dict(type="dict"),
        tolerations=dict(type="list", elements="dict"),
        labels=dict(type="dict"),
        annotations=dict(type="dict"),
        spec=dict(type="dict"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
    )
    spec.update(copy.deepcopy(AUTH_ARG_SPEC))
    return spec


def validate(params):
    """Problems with the options alone (no API reads), as 'field: problem; fix' strings."""
    errors = V.resource_name("name", params.get("name"), "DataLoad")
    errors += V.namespace_name("namespace", params.get("namespace"))
    errors += V.positive("wait_timeout", params.get("wait_timeout"))
    if params.get("state") == "absent":
        return errors
    if not params.get("dataset"):
        errors.append("dataset: is required with state=present; name the Dataset to load into (it must be in "
                      "namespace %s)" % params.get("namespace"))
    else:
        errors += V.resource_name("dataset", params["dataset"], "Dataset")
    seen = {}
    for i, p in enumerate(params.get("paths") or []):
        field = "paths[%d]" % i
        path = p.get("path") or ""
        if not path.startswith("/"):
            errors.append("%s.path: %r must be an absolute path inside the Dataset, e.g. /%s or / for everything"
                          % (field, path, path.strip("/") or "hbase"))
        elif posixpath.normpath(path) in seen:
            errors.append("%s.path: %r is already paths[%d]; list each path once" % (field, path, seen[posixpath.normpath(path)]))
        else:
            seen[posixpath.normpath(path)] = i
        if p.get("replicas") is not None and p["replicas"] < 1:
            errors.append("%s.replicas: must be at least 1, got %r (leave it out for Fluid's default, 1)" % (field, p["replicas"]))
    errors += V.labels("node_selector", params.get("node_selector"))
    errors += V.tolerations("tolerations", params.get("tolerations"))
    errors += V.labels("labels", params.get("labels"))
    errors += V.labels("annotations", params.get("annotations"), values=False)
    spec = params.get("spec") or {}
    for option, field in TYPED_SPEC_FIELDS:
        if field in spec and params.get(option) is not None:
            errors.append("spec.%s: also set by %s; set it in one place only" % (field, option))
    if "dataset" in spec:
        errors.append("spec.dataset: set the Dataset with the dataset option (Fluid requires it in the DataLoad's "
                      "namespace)")
    policy = spec.get("policy") or "Once"
    if policy != "Once" and params.get("wait"):
        errors.append("spec.policy: a %s DataLoad never finishes for good, so it cannot be awaited; set wait: false "
                      "(or leave policy out for a one-time load)" % policy)
    return errors


def mount_dirs(dataset):
    """Top-level directories of a Dataset as the runtime shows them: each mount's path, else /<name>."""
    dirs = []
    for m in ((dataset.get("spec") or {}).get("mounts")) or []:
        path = m.get("path") or ("/" + m["name"] if m.get("name") else None)
        if path:
            dirs.append(posixpath.normpath(path))
    return dirs


def validate_paths(params, dataset):
    """Each path must be /, or lie under one of the Dataset's mount directories."""
    dirs = mount_dirs(dataset)
    if not dirs or "/" in dirs:
        return []
    errors = []
    for i, p in enumerate(params.get("paths") or []):
        path = posixpath.normpath(p.get("path") or "/")
        if path == "/" or any(path == d or path.startswith(d.rstrip("/") + "/") for d in dirs):
            continue
        errors.append("paths[%d].path: %r is not under any mount of Dataset %s/%s (its mounts: %s); use one of "
                      "them, a path below one, or / for everything" % (
                          i, p.get("path"), params["namespace"], params["dataset"], ", ".join(dirs)))
    return errors


def build_dataload(params):
    """The DataLoad object (a dict) for the module's options."""
    spec = {"dataset": {"name": params["dataset"], "namespace": params["namespace"]}}
    if params.get("load_metadata") is not None:
        spec["loadMetadata"] = params["load_metadata"]
    target = []
    for p in params.get("paths") or []:
        t = {"path": p["path"]}
        if p.get("replicas") is not None:
            t["replicas"] = p["replicas"]
        target.append(t)
    if target:
        spec["target"] = target
    if params.get("options"):
        spec["options"] = engine.str_map(params["options"])
    if params.get("node_selector"):
        spec["nodeSelector"] = engine.str_map(params["node_selector"])
    if params.get("tolerations"):
        spec["tolerations"] = params["tolerations"]
    return engine.fluid_object(KIND, params, spec)


def finished_or_gone(obj):
    return obj is None or F.phase(obj) in O.OP_FINISHED


class Run(object):
    """What the task did, for the result."""

    def __init__(self, params):
        self.params = params
        self.changed = False
        self.replaced = False
        self.before = None
        self.after = None
        self.obj = None
        self.wait_seconds = 0.0

    def result(self):
        p = self.params
        out = dict(changed=self.changed, name=p["name"], namespace=p["namespace"], state=p["state"],
                   replaced=self.replaced, exists=self.after is not None, wait_seconds=self.wait_seconds)
        out.update(O.operation_facts(self.obj))
        if p["state"] == "present":
            out["dataset"] = p["dataset"]
            out["target"] = ((self.after or {}).get("spec") or {}).get("target") or []
        return out


def _fail_api(module, run, action, e):
    ref = "DataLoad %s/%s" % (run.params["namespace"], run.params["name"])
    msg = "could not %s %s: %s" % (action, ref, explain_api_error(e, run.params["namespace"]))
    module.fail_json(msg=msg, **run.result())


def _wait_gone(module, client, run, timeout):
    p = run.params
    try:
        res = wait_for(client, [Target(KIND, p["namespace"], p["name"], lambda o: o is None)], timeout)
    except WaitError as e:
        module.fail_json(msg="Waiting for DataLoad %s/%s to be deleted failed: %s" % (p["namespace"], p["name"], e),
                         **run.result())
    if not res.done:
        text = F.diagnose(client, KIND, p["namespace"], p["name"], want="absent")
        module.fail_json(msg="Timed out after %ss waiting for DataLoad %s/%s to be deleted:\n%s" % (
            timeout, p["namespace"], p["name"], text), **run.result())
    return res.elapsed


def present(module, client, run):
    p = run.params
    check = module.check_mode
    body = build_dataload(p)
    try:
        dataset = client.get(F.DATASET, p["namespace"], p["dataset"])
        existing = client.get(KIND, p["namespace"], p["name"])
    except ApiError as e:
        _fail_api(module, run, "read", e)
    if dataset is None:
        msg = ("dataset: Dataset %s/%s does not exist; Fluid loads only into an existing Dataset of the DataLoad's "
               "namespace. Create it first with cloudnative.fluid.dataset (and its runtime with cloudnative.fluid.runtime)."
               % (p["namespace"], p["dataset"]))
        if not check:
            module.fail_json(msg=msg, **run.result())
        module.warn(msg + " (check mode: reported as would-be created)")
    else:
        errors = validate_paths(p, dataset)
        if errors:
            module.fail_json(msg="Invalid options (nothing was changed):\n- " + "\n- ".join(errors), errors=errors,
                             **run.result())

    run.before = engine.comparable(existing)
    run.obj = existing
    if existing is not None and (existing.get("metadata") or {}).get("deletionTimestamp"):
        module.fail_json(msg="DataLoad %s/%s is being deleted (finalizers: %s); wait for the deletion to finish "
                             "(state: absent waits for it) and run again." % (
                                 p["namespace"], p["name"], ", ".join(existing["metadata"].get("finalizers") or []) or "none"),
                         **run.result())
    try:
        preview = client.apply(body, dry_run=True)
    except ApiError as e:
        if check and e.status == 404 and existing is None:
            run.changed, run.after = True, engine.comparable(body)
            module.warn("dry run failed (%s); reporting the DataLoad as would-be created." % e)
            return
        _fail_api(module, run, "apply", e)
    preview_c = engine.comparable(preview)
    if existing is None:
        run.changed, run.after = True, preview_c
        if not check:
            try:
                run.obj = client.apply(body)
            except ApiError as e:
                _fail_api(module, run, "create", e)
            run.after = engine.comparable(run.obj)
        return
    if (run.before or {}).get("spec") != (preview_c or {}).get("spec"):
        phase = F.phase(existing)
        if phase == O.OP_EXECUTING:
            module.fail_json(msg="DataLoad %s/%s is Executing with a different spec; Fluid does not restart a running "
                                 "load. Wait for it to finish (run this task again then: it will be replaced), delete "
                                 "it with state: absent, or use another name." % (p["namespace"], p["name"]),
                             **run.result())
        run.changed, run.replaced, run.after = True, True, preview_c
        if check:
            return
        try:
            client.delete(KIND, p["namespace"], p["name"])
        except ApiError as e:
            _fail_api(module, run, "delete", e)
        _wait_gone(module, client, run, p["wait_timeout"])
        try:
            run.obj = client.apply(body)
        except ApiError as e:
            _fail_api(module, run, "create", e)
        run.after = engine.comparable(run.obj)
        return
    run.after = preview_c
    if run.before != preview_c:  # labels or annotations only: in place
        run.changed = True
        if not check:
            try:
                run.obj = client.apply(body)
            except ApiError as e:
                _fail_api(module, run, "apply", e)
            run.after = engine.comparable(run.obj)


def wait_complete(module, client, run):
    p = run.params
    ns, name = p["namespace"], p["name"]
    try:
        res = wait_for(client, [Target(KIND, ns, name, finished_or_gone)], p["wait_timeout"])
    except WaitError as e:
        module.fail_json(msg="Waiting for DataLoad %s/%s failed: %s" % (ns, name, e), **run.result())
    key = (KIND, ns, name)
    run.obj = res.objects.get(key)
    run.wait_seconds = round(res.satisfied.get(key, res.elapsed), 3)
    if not res.done:
        text = F.diagnose(client, KIND, ns, name, obj=run.obj, want="complete")  # with observe.dataload_notes
        module.fail_json(msg="Timed out after %ss waiting for DataLoad %s/%s to be Complete:\n  %s" % (
            p["wait_timeout"], ns, name, text.replace("\n", "\n  ")), **run.result())
    if run.obj is None:
        module.fail_json(msg="DataLoad %s/%s disappeared while waiting for it (deleted by someone, or by "
                             "spec.ttlSecondsAfterFinished); its outcome is unknown." % (ns, name), **run.result())
    if F.phase(run.obj) == O.OP_FAILED:
        pods = O.loader_pods(client, ns, name)
        fs = "involvedObject.kind=%s,involvedObject.name=%s" % (KIND, name)
        try:
            events = client.list("Event", ns, field_selector=fs)
        except Exception:  # pylint: disable=broad-except
            events = []
        duration = (run.obj.get("status") or {}).get("duration") or "?"
        module.fail_json(msg="DataLoad %s/%s Failed after %s: %s. Delete it (state: absent) or change it to run "
                             "the load again." % (ns, name, duration, O.operation_failure(run.obj, pods, events)),
                         **run.result())


def absent(module, client, run):
    p = run.params
    try:
        existing = client.get(KIND, p["namespace"], p["name"])
    except ApiError as e:
        _fail_api(module, run, "read", e)
    run.before = engine.comparable(existing)
    run.obj = existing
    if existing is None:
        return
    run.changed = not (existing.get("metadata") or {}).get("deletionTimestamp")
    if run.changed:
        try:
            client.delete(KIND, p["namespace"], p["name"], dry_run=module.check_mode)
        except ApiError as e:
            _fail_api(module, run, "delete", e)
    if p["wait"] and not module.check_mode:
        run.wait_seconds = round(_wait_gone(module, client, run, p["wait_timeout"]), 3)
        run.obj = None


def main():
    module = AnsibleK8SModule(argument_spec=argument_spec(), supports_check_mode=True)
    ensure_k8s_core(module)
    params = module.params
    errors = validate(params)
    if errors:
        module.fail_json(msg="Invalid options (nothing was changed):\n- " + "\n- ".join(errors), errors=errors)

    run = Run(params)
    client = connect(module)
    try:
        client.require(KIND)
    except FluidNotInstalled as e:
        module.fail_json(msg=str(e), **run.result())
    except ApiError as e:
        module.fail_json(msg=str(e), **run.result())

    if params["state"] == "present":
        present(module, client, run)
        if params["wait"] and not module.check_mode:
            wait_complete(module, client, run)
    else:
        absent(module, client, run)

    out = run.result()
    if module._diff and run.changed:
        ref = "DataLoad %s/%s" % (params["namespace"], params["name"])
        out["diff"] = {
            "before_header": ref if run.before is not None else ref + " (absent)",
            "after_header": ref if run.after is not None else ref + " (absent)",
            "before": run.before or {},
            "after": run.after or {},
        }
    module.exit_json(**out)


if __name__ == "__main__":
    main()
