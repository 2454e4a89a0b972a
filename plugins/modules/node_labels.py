#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: node_labels
short_description: Label many Kubernetes nodes at once (for example GPU nodes) and wait until Fluid's caches widen
version_added: 0.1.0
author:
  - cloudnative.fluid contributors (@cloudnative)
description:
  - Sets (O(state=present)) or removes (O(state=absent)) O(labels) on every node selected by O(names),
    O(label_selector) and O(gpu), in one task.
  - A Dataset's node affinity decides where Fluid may run its cache workers. Labelling more nodes with the
    label it asks for (in Fluid's original demo C(aliyun.accelerator/nvidia_name=Tesla-V100-SXM2-16GB)) lets the
    runtime place more workers, so the cache grows (12GiB to 24GiB with a second node), and lets pods that
    mount the Dataset schedule there.
  - Each node that needs a change gets one JSON merge patch of C(metadata.labels) holding only the keys of
    O(labels), sent O(parallel) at a time. Other labels of the node are never touched, and writes others make
    to the node meanwhile (the kubelet, Fluid) do not conflict with it. A C(409 Conflict) re-reads the node and
    tries again; C(429), C(5xx) and dropped connections are retried with a short backoff.
  - Nodes whose labels already hold the wanted values are not written to and are reported in RV(unchanged_nodes).
  - All inputs are checked before anything is written; an error names the field and what to write instead.
    Invalid label keys or values are refused, and so are Fluid's own labels (C(fluid.io/...), C(fluid_exclusive))
    unless O(force=true).
  - With O(wait_datasets), after labelling the task waits until the runtime of each of those Datasets has as many
    ready workers as the labelled nodes now allow (C(spec.replicas), or fewer when fewer nodes qualify) and
    reports the cache capacity before and after (RV(datasets)). Waiting is by watch (see O(wait)); on timeout the
    task fails with a diagnosis of each runtime.
extends_documentation_fragment:
  - cloudnative.fluid.auth_options
  - cloudnative.fluid.wait
  - cloudnative.fluid.attributes
attributes:
  check_mode:
    support: full
    details:
      - Nodes are read and every change is computed exactly as without check mode, but nothing is written and
        nothing is awaited. RV(changed_nodes) lists the nodes that would change.
  diff_mode:
    support: full
    details:
      - One diff for the task, mapping each node that changes (or would) to the values of the keys of O(labels)
        before and after; a key missing from a side is absent from the node.
  platform:
    support: full
    platforms: posix
  action_group:
    support: full
    details:
      - The group C(cloudnative.fluid.fluid) also holds kubernetes.core's C(k8s) group, so one
        C(module_defaults) entry for C(group/cloudnative.fluid.fluid) configures both collections.
    membership:
      - cloudnative.fluid.fluid
options:
  labels:
    description:
      - The labels to set (O(state=present)) or remove (O(state=absent)), as a mapping of key to value.
      - Keys are C([prefix/]name) as Kubernetes requires (prefix a DNS subdomain, name 1-63 letters, digits,
        C(-), C(_), C(.)); values at most 63 such characters, starting and ending with a letter or digit,
        or empty. V(true) and numbers are written as strings.
      - With O(state=absent) the values are ignored (write V(null)); the keys are removed whatever their value.
      - Fluid's own keys (C(fluid.io/...), C(<anything>.fluid.io/...) and C(fluid_exclusive)) are refused unless
        O(force=true).
    type: dict
    required: true
  values_from:
    description:
      - For some keys of O(labels), take each node's value from another label of that node when it has it,
        for example the GPU product that NVIDIA's GPU feature discovery writes to C(nvidia.com/gpu.product).
      - A mapping of a key of O(labels) to the source label key. Nodes without the source label (or with a value
        that is not a valid label value) get the value given in O(labels).
      - Only with O(state=present).
    type: dict
  state:
    description:
      - V(present) sets O(labels) on the selected nodes; V(absent) removes their keys.
    type: str
    choices: [present, absent]
    default: present
  names:
    description:
      - Nodes to label, by name. Each must exist, or the task fails before writing anything.
      - Combined with O(label_selector) and O(gpu), a node is selected only when it matches all of them.
    type: list
    elements: str
  label_selector:
    description:
      - A Kubernetes label selector the nodes must match, for example V(topology.kubernetes.io/zone=cn-hongkong-b)
        or V(node-role.kubernetes.io/worker,!nvidia.com/gpu.present). The API server evaluates it.
    type: str
  gpu:
    description:
      - V(true) selects only GPU nodes, V(false) only nodes that are not GPU nodes, as O(gpu_detection) defines them.
      - Unset, nodes are not filtered by GPUs.
      - At least one of O(names), O(label_selector) and O(gpu) must be given.
    type: bool
  gpu_detection:
    description:
      - What makes a node a GPU node for O(gpu). A node is one when its C(status.allocatable) has any of
        O(gpu_detection.resources) above zero, B(or) it carries any of O(gpu_detection.labels).
      - The defaults recognise nodes with NVIDIA's or AMD's device plugin (C(nvidia.com/gpu), C(amd.com/gpu)),
        nodes labelled by NVIDIA's GPU operator (C(nvidia.com/gpu.present=true)) and nodes where
        node-feature-discovery found an NVIDIA PCI device (C(feature.node.kubernetes.io/pci-10de.present=true)).
      - To use only one kind of rule, set the other to an empty list or mapping.
    type: dict
    suboptions:
      resources:
        description: Extended resource names; a node with any of them allocatable above zero is a GPU node.
        type: list
        elements: str
        default: [nvidia.com/gpu, amd.com/gpu]
      labels:
        description:
          - Node labels; a node with any of them is a GPU node. A value of V(null) or V("") matches any value
            of the key.
        type: dict
        default:
          nvidia.com/gpu.present: "true"
          feature.node.kubernetes.io/pci-10de.present: "true"
  force:
    description:
      - Allow O(labels) to hold Fluid's own label keys (C(fluid.io/...), C(fluid_exclusive)). Fluid writes those
        itself to record where caches run; changing them by hand can make it place or count workers wrongly.
    type: bool
    default: false
  parallel:
    description:
      - How many nodes are patched at the same time. Capped by the client's HTTP connection pool (five per CPU
        of the host that runs the module), as more would open a new TLS connection per request.
    type: int
    default: 10
  wait_datasets:
    description:
      - Datasets whose caches should widen (or narrow) with the labelled nodes. For each, the runtime of the same
        name is found (any runtime kind) and, with O(wait), awaited until it has as many ready workers as the
        nodes allow after the change (the smaller of its C(spec.replicas) and the nodes matching the Dataset's
        node affinity and the worker's node selector that are schedulable and not held by another Dataset of the
        same namespace with Exclusive placement) and a cache capacity that large (capacity per worker times workers; the Dataset's capacity too, when its status
        has one).
      - Each Dataset and its runtime must exist; this is checked before anything is written.
      - RV(datasets) reports the capacity and ready workers before and after, for each.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the Dataset (and of its runtime).
        type: str
        required: true
      namespace:
        description: Namespace of the Dataset; defaults to O(namespace).
        type: str
  namespace:
    description:
      - The namespace of the items of O(wait_datasets) that set none. Nodes have no namespace, so this option
        changes nothing else; it lets C(module_defaults) for C(group/cloudnative.fluid.fluid) set one namespace
        for every module of the group.
    type: str
    default: default
seealso:
  - module: cloudnative.fluid.dataset
  - module: cloudnative.fluid.runtime
  - name: Assigning pods to nodes
    description: How node labels, node affinity and node selectors place pods.
    link: https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/
notes:
  - Requires the C(kubernetes) Python library on the host that runs the module (see the collection's
    C(requirements.txt)).
  - The credentials need C(get), C(list) and C(patch) on C(nodes) (cluster scope), and with O(wait_datasets)
    C(get), C(list) and C(watch) on Datasets and runtimes in their namespaces.
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
"""

EXAMPLES = r"""
# Fluid's original demo, steps 11-13: the GPU label goes on every GPU node, so the cifar10 runtime gets a second
# worker and its cache grows from 12GiB to 24GiB. The node's own GPU product is used when GPU feature
# discovery published it, else the demo's value.
- name: Label every GPU node for Fluid and wait for the cifar10 cache to widen
  cloudnative.fluid.node_labels:
    gpu: true
    labels:
      aliyun.accelerator/nvidia_name: Tesla-V100-SXM2-16GB
    values_from:
      aliyun.accelerator/nvidia_name: nvidia.com/gpu.product
    wait_datasets:
      - name: cifar10
        namespace: default
    wait_timeout: 600
  register: gpu_labels

- name: Show what changed
  ansible.builtin.debug:
    msg: >-
      labelled {{ gpu_labels.changed_nodes | length }} node(s);
      {% for d in gpu_labels.datasets %}{{ d.namespace }}/{{ d.name }}: cache {{ d.cache_capacity_before }}
      -> {{ d.cache_capacity_after }}, workers {{ d.workers_before }} -> {{ d.workers_after }} {% endfor %}

# The demo's one-node step, by name (kubectl label node cn-hongkong.172.31.136.194 ...)
- name: Label one node by name
  cloudnative.fluid.node_labels:
    names:
      - cn-hongkong.172.31.136.194
    labels:
      aliyun.accelerator/nvidia_name: Tesla-V100-SXM2-16GB

- name: GPU nodes in one zone, detected by their device plugin's resource only
  cloudnative.fluid.node_labels:
    gpu: true
    label_selector: topology.kubernetes.io/zone=cn-hongkong-b
    gpu_detection:
      resources: [nvidia.com/gpu]
      labels: {}
    labels:
      example.com/cache-tier: gpu
    parallel: 20

- name: Take the label off again
  cloudnative.fluid.node_labels:
    gpu: true
    state: absent
    labels:
      aliyun.accelerator/nvidia_name: null
"""

RETURN = r"""
changed:
  description: Whether any node was (or, in check mode, would be) changed.
  returned: always
  type: bool
changed_nodes:
  description: Names of the selected nodes whose labels were (or would be) changed, sorted.
  returned: always
  type: list
  elements: str
  sample: [cn-hongkong.172.31.136.194]
unchanged_nodes:
  description: Names of the selected nodes that already had the wanted labels, sorted.
  returned: always
  type: list
  elements: str
  sample: [cn-hongkong.172.31.136.196]
patch_seconds:
  description: Seconds spent patching nodes (0 when nothing was written).
  returned: always
  type: float
  sample: 0.42
datasets:
  description: One entry per item of O(wait_datasets), in order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Dataset name.
      type: str
      sample: cifar10
    namespace:
      description: Dataset namespace.
      type: str
      sample: default
    runtime_kind:
      description: Kind of the Dataset's runtime.
      type: str
      sample: AlluxioRuntime
    replicas:
      description: Workers the runtime asks for (C(spec.replicas)).
      type: int
      sample: 2
    eligible_nodes:
      description: Nodes that can host one of its workers after the change.
      type: int
      sample: 2
    expected_workers:
      description: Ready workers awaited, the smaller of RV(datasets[].replicas) and RV(datasets[].eligible_nodes).
      type: int
      sample: 2
    expected_cache_capacity:
      description: Cache capacity awaited (capacity per worker times RV(datasets[].expected_workers)); empty when unknown.
      type: str
      sample: 24.00GiB
    workers_before:
      description: Ready workers before the change.
      type: int
      sample: 1
    workers_after:
      description: Ready workers when last seen (equal to RV(datasets[].workers_before) when not awaited).
      type: int
      sample: 2
    cache_capacity_before:
      description:
        - Cache capacity before the change, as Fluid writes it in the Dataset's C(status.cacheStates.cacheCapacity)
          (the runtime's when the Dataset has none).
      type: str
      sample: 12.00GiB
    cache_capacity_after:
      description: Cache capacity when last seen, from the same place.
      type: str
      sample: 24.00GiB
    cache_capacity_before_bytes:
      description: RV(datasets[].cache_capacity_before) in bytes, null when unknown.
      type: int
      sample: 12884901888
    cache_capacity_after_bytes:
      description: RV(datasets[].cache_capacity_after) in bytes, null when unknown.
      type: int
      sample: 25769803776
    ready:
      description: Whether the runtime reached RV(datasets[].expected_workers) and the expected capacity.
      type: bool
      sample: true
    wait_seconds:
      description: Seconds from the start of the wait until this dataset got there; 0 when not awaited.
      type: float
      sample: 3.2
"""

import copy

from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import nodes
from ansible_collections.cloudnative.fluid.plugins.module_utils import scheduling
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import (
    AUTH_ARG_SPEC,
    AnsibleK8SModule,
    ApiError,
    FluidNotInstalled,
    connect,
)
from ansible_collections.cloudnative.fluid.plugins.module_utils.diagnose import find_runtime
from ansible_collections.cloudnative.fluid.plugins.module_utils.errors import explain_api_error
from ansible_collections.cloudnative.fluid.plugins.module_utils.quantity import format_bytes
from ansible_collections.cloudnative.fluid.plugins.module_utils.waiter import Gone, Target, Transient


def argument_spec():
    spec = dict(
        labels=dict(type="dict", required=True),
        values_from=dict(type="dict"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        names=dict(type="list", elements="str"),
        label_selector=dict(type="str"),
        gpu=dict(type="bool"),
        gpu_detection=dict(type="dict", options=dict(
            resources=dict(type="list", elements="str", default=list(nodes.DEFAULT_GPU_RESOURCES)),
            labels=dict(type="dict", default=dict(nodes.DEFAULT_GPU_LABELS)),
        )),
        force=dict(type="bool", default=False),
        parallel=dict(type="int", default=10),
        namespace=dict(type="str", default="default"),
        wait_datasets=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True),
            namespace=dict(type="str"),
        )),
    )
    spec.update(copy.deepcopy(driver.WAIT_SPEC))
    spec.update(copy.deepcopy(AUTH_ARG_SPEC))
    return spec


def detection_of(params):
    det = params.get("gpu_detection")
    if det is None:
        return {"resources": list(nodes.DEFAULT_GPU_RESOURCES), "labels": dict(nodes.DEFAULT_GPU_LABELS)}
    return {"resources": list(det.get("resources") or []), "labels": dict(det.get("labels") or {})}


def check_options(params):
    """Every problem with the options, as 'field: problem; fix' strings."""
    errors = []
    if not params.get("names") and params.get("label_selector") is None and params.get("gpu") is None:
        errors.append("names, label_selector, gpu: give at least one to select nodes (for example gpu: true); "
                      "this module never labels every node by default")
    for i, name in enumerate(params.get("names") or []):
        errors += validate.object_name("names[%d]" % i, name, "node")
    if params.get("label_selector") is not None and not str(params["label_selector"]).strip():
        errors.append("label_selector: is empty; give a selector such as topology.kubernetes.io/zone=a, or leave it out")
    errors += nodes.validate_labels(params.get("labels") or {}, params["state"], params["force"], params.get("values_from"))
    if params.get("gpu") is not None:
        errors += nodes.validate_detection(detection_of(params))
    if params["parallel"] < 1:
        errors.append("parallel: %r must be 1 or more" % params["parallel"])
    errors += validate.positive("wait_timeout", params["wait_timeout"])
    seen = {}
    for i, item in enumerate(params.get("wait_datasets") or []):
        item["namespace"] = item.get("namespace") or params["namespace"]
        field = "wait_datasets[%d]" % i
        errors += validate.resource_name(field + ".name", item.get("name"), "Dataset")
        errors += validate.namespace_name(field + ".namespace", item.get("namespace"))
        key = (item.get("namespace"), item.get("name"))
        if key in seen:
            errors.append("%s: %s/%s is already wait_datasets[%d]; list it once" % (field, key[0], key[1], seen[key]))
        seen.setdefault(key, i)
    return errors


def _fail_api(module, what, e, done=None):
    msg = "could not %s: %s" % (what, explain_api_error(e))
    if done:
        msg += " Already changed before this error: %s." % ", ".join(done)
    module.fail_json(msg=msg)


def select_nodes(module, client, params):
    """(selected nodes sorted by name, every node or None when the list was filtered by label_selector).

    Fails naming nodes of `names` that do not exist.
    """
    selector = params.get("label_selector")
    try:
        listed = client.list("Node", None, label_selector=selector)
    except (ApiError, Gone, Transient) as e:
        if getattr(e, "status", None) == 400 and selector:
            module.fail_json(msg="label_selector: the API server refused %r: %s. Write it as key=value, key!=value, "
                                 "key, !key, key in (a,b), joined by commas." % (selector, e))
        _fail_api(module, "list nodes", e)
    selected = listed
    if params.get("names"):
        wanted = set(params["names"])
        by_name = dict((nodes.name_of(n), n) for n in listed)
        missing = [n for n in params["names"] if n not in by_name]
        absent = []
        for name in missing:
            try:
                exists = selector and client.get("Node", None, name) is not None
            except ApiError as e:
                _fail_api(module, "read node %s" % name, e)
            if not exists:
                absent.append(name)
        if absent:
            module.fail_json(msg="names: no node is named %s (nothing was changed). Check the names "
                                 "(kubectl get nodes) or remove them." % ", ".join(sorted(set(absent))))
        selected = [n for n in listed if nodes.name_of(n) in wanted]
    if params.get("gpu") is not None:
        det = detection_of(params)
        selected = [n for n in selected if (nodes.gpu_reason(n, det) is not None) == params["gpu"]]
    return sorted(selected, key=nodes.name_of), (None if selector else listed)


class Watched(driver.Unit):
    """One item of wait_datasets: the Dataset, its runtime, before and after (the unit awaited is the runtime)."""

    def __init__(self, name, namespace):
        super(Watched, self).__init__(None, namespace, name)
        self.dataset = self.before_dataset = self.before_runtime = None
        self.expected = self.eligible = 0
        self.capacity = None

    def headline(self):
        ready, dummy, text = scheduling.worker_capacity(self.obj)
        want = "%d ready worker(s)" % self.expected
        if self.capacity:
            want += " and a cache of %s" % format_bytes(self.capacity, strip=False)
        return "Dataset %s/%s: waited for %s (%d node(s) can host a worker, spec.replicas %d); the %s has %d ready, " \
               "cache %s." % (self.namespace, self.name, want, self.eligible,
                              int(((self.obj or {}).get("spec") or {}).get("replicas") or 0), self.kind, ready,
                              text or "unknown")


def read_datasets(module, client, items):
    """Each Dataset and its runtime, before any write; fails naming what is missing."""
    if not items:
        return []
    try:
        client.require(fluid.DATASET)
    except FluidNotInstalled as e:
        module.fail_json(msg="wait_datasets: %s" % e)
    except ApiError as e:
        module.fail_json(msg="wait_datasets: %s" % e)
    out, errors = [], []
    for i, item in enumerate(items):
        w = Watched(item["name"], item["namespace"])
        try:
            w.before_dataset = client.get(fluid.DATASET, w.namespace, w.name)
        except ApiError as e:
            _fail_api(module, "read Dataset %s/%s" % (w.namespace, w.name), e)
        if w.before_dataset is None:
            errors.append("wait_datasets[%d]: Dataset %s/%s does not exist; create it first (cloudnative.fluid.dataset) "
                          "or remove it from wait_datasets" % (i, w.namespace, w.name))
            continue
        notes = []
        w.kind, w.before_runtime = find_runtime(client, w.namespace, w.name, notes)
        if w.before_runtime is None:
            errors.append("wait_datasets[%d]: Dataset %s/%s has no runtime (no runtime named %s in namespace %s%s), so "
                          "no cache worker could use the labelled nodes; create one with cloudnative.fluid.runtime "
                          "first" % (i, w.namespace, w.name, w.name, w.namespace,
                                     "; " + "; ".join(notes) if notes else ""))
            continue
        out.append(w)
    if errors:
        module.fail_json(msg="Invalid options (nothing was changed):\n- " + "\n- ".join(errors), errors=errors)
    return out


def predict(watched, nodes_after):
    """What each Dataset's runtime can reach on the nodes after the change, and what to wait for."""
    for w in watched:
        w.expected, w.eligible = scheduling.expected_workers(nodes_after, w.before_dataset, w.before_runtime)
        per_worker = scheduling.per_worker_bytes(w.before_runtime)
        w.capacity = per_worker * w.expected if per_worker and w.expected else None
        w.dataset, w.obj = w.before_dataset, w.before_runtime
        w.targets = [Target(w.kind, w.namespace, w.name,
                            lambda o, n=w.expected, c=w.capacity: scheduling.runtime_widened(o, n, c))]
        if w.capacity and fluid.cache_capacity_bytes(w.before_dataset) is not None:
            w.targets.append(Target(fluid.DATASET, w.namespace, w.name,
                                    lambda o, c=w.capacity: scheduling.dataset_widened(o, c)))


def capacity_text(dataset, runtime):
    text = fluid.cache_states(dataset).get("cacheCapacity")
    if text:
        return text, fluid.cache_capacity_bytes(dataset)
    return fluid.cache_states(runtime).get("cacheCapacity") or "", fluid.cache_capacity_bytes(runtime)


def summarize(w):
    before_text, before_bytes = capacity_text(w.before_dataset, w.before_runtime)
    after_text, after_bytes = capacity_text(w.dataset, w.obj)
    return {
        "name": w.name,
        "namespace": w.namespace,
        "runtime_kind": w.kind,
        "replicas": int(((w.before_runtime or {}).get("spec") or {}).get("replicas") or 0),
        "eligible_nodes": w.eligible,
        "expected_workers": w.expected,
        "expected_cache_capacity": format_bytes(w.capacity, strip=False) if w.capacity else "",
        "workers_before": scheduling.worker_capacity(w.before_runtime)[0],
        "workers_after": scheduling.worker_capacity(w.obj)[0],
        "cache_capacity_before": before_text,
        "cache_capacity_after": after_text,
        "cache_capacity_before_bytes": before_bytes,
        "cache_capacity_after_bytes": after_bytes,
        "ready": w.ready,
        "wait_seconds": w.wait_seconds,
    }


def diff_of(changes):
    before, after = {}, {}
    for c in changes:
        before[c.name] = dict((k, v) for k, v in c.before.items() if v is not None)
        after[c.name] = dict((k, v) for k, v in c.after.items() if v is not None)
    return {"before_header": "node labels (%d node(s) change)" % len(changes), "after_header": "node labels",
            "before": before, "after": after}


def main():
    module = AnsibleK8SModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    errors = check_options(params)
    if errors:
        module.fail_json(msg="Invalid options (nothing was changed):\n- " + "\n- ".join(errors), errors=errors)
    labels = params["labels"]
    state = params["state"]
    values_from = params.get("values_from") or {}

    client = connect(module)
    selected, every_node = select_nodes(module, client, params)
    watched = read_datasets(module, client, params["wait_datasets"])
    if watched and every_node is None:
        try:
            every_node = client.list("Node", None)
        except (ApiError, Gone, Transient) as e:
            _fail_api(module, "list nodes", e)
    changes, warnings = nodes.plan(selected, labels, state, values_from)
    for w in warnings:
        module.warn(w)
    if not selected:
        module.warn("No node matched the selection (names, label_selector, gpu); nothing to label.")
    to_change = [c for c in changes if c.changed]

    outcome = nodes.PatchOutcome()
    if to_change and not module.check_mode:
        parallel = min(params["parallel"], nodes.pool_size(client))
        outcome = nodes.patch_all(client, changes, parallel, labels, state, values_from)
        for name in outcome.vanished:
            module.warn("node %s was deleted while labelling; skipped" % name)
        if outcome.failed:
            done = sorted(c.name for c in outcome.done if c.changed)
            first = outcome.failed[0]
            module.fail_json(
                msg="could not label node %s: %s. %d node(s) were labelled before this error, %d not attempted; "
                    "fix the cause and run the task again (nodes already labelled are left as they are)."
                    % (first.name, explain_api_error(first.error), len(done), len(outcome.not_attempted)),
                changed=bool(done), changed_nodes=done,
                failed_nodes=sorted(c.name for c in outcome.failed))
    vanished = set(outcome.vanished)
    changed_nodes = sorted(c.name for c in to_change if c.name not in vanished and c.changed)
    unchanged_nodes = sorted(c.name for c in changes if not c.changed and c.name not in vanished)

    failure = None
    if watched:
        # every node as it is after the change: the selected ones as patched (or planned), the rest as listed
        after = dict((nodes.name_of(n), n) for n in every_node)
        for node, c in zip(selected, changes):
            if c.name in vanished:
                after.pop(c.name, None)
            elif c.changed and not module.check_mode and c.node:
                after[c.name] = c.node
            else:
                after[c.name] = nodes.apply_plan(node, c)
        predict(watched, list(after.values()))
        if params["wait"] and not module.check_mode:
            failure = driver.wait(client, watched, params["wait_timeout"],
                                  "datasets to reach the workers and cache the labelled nodes allow", module)
            for w in watched:
                w.dataset = client.get(fluid.DATASET, w.namespace, w.name) or w.dataset

    out = dict(changed=bool(changed_nodes), changed_nodes=changed_nodes, unchanged_nodes=unchanged_nodes,
               patch_seconds=round(outcome.seconds, 3), datasets=[summarize(w) for w in watched])
    if module._diff:
        out["diff"] = diff_of([c for c in to_change if c.name not in vanished])
    if failure:
        module.fail_json(msg=failure, **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
