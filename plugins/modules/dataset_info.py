#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dataset_info
short_description: Show Fluid Datasets as people read them - sizes, cache, runtime, nodes and pods
version_added: 0.1.0
author:
  - cloudnative.fluid contributors (@cloudnative)
description:
  - Read Fluid C(Dataset) objects (C(data.fluid.io/v1alpha1)) and everything that explains them, and return
    one plain record per Dataset.
  - Per Dataset, the total size of its data (C(status.ufsTotal)), the cache capacity, how much is cached and
    the cached percentage (each in bytes and as Fluid writes it), the hit ratios when Fluid reports them,
    the runtime of the same name with its master, worker and fuse phases and ready counts, the nodes holding
    its cache (Fluid's C(fluid.io/s-<namespace>-<name>) node labels), its PVC and the pods using that PVC with
    their phase and, for a Pending pod, the scheduler's reason, and the data operations (DataLoad, DataProcess,
    DataMigrate, DataBackup) of its namespace that work on it, with their phase, duration and reason.
  - Select Datasets like M(kubernetes.core.k8s_info) selects objects - by O(name), O(namespace), O(label_selector),
    or across O(all_namespaces).
  - Reads only; never changes anything. Reads are done in bulk (one list per kind and namespace), so a call
    costs about the same for one Dataset as for fifty.
  - A read the credentials may not do (for example listing Nodes with a namespaced role) does not fail the
    task; that part of the answer is null and a warning says why. A kind of data operation the cluster does not
    serve or the credentials may not list is named in RV(datasets[].operations_unreadable); the other kinds are
    still read.
  - Byte counts are parsed from the rounded, human-readable sizes Fluid writes in the Dataset's status
    (C(12.00GiB), C(1.742GiB)), so they are approximate; each size also carries Fluid's own text.
extends_documentation_fragment:
  - cloudnative.fluid.auth_options
  - cloudnative.fluid.attributes
attributes:
  check_mode:
    support: full
    details: The module only reads, so it runs unchanged in check mode.
  diff_mode:
    support: N/A
    details: Nothing changes, so there is no diff.
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
      - Name of one Dataset. Without it, every Dataset of O(namespace) (or of all namespaces) that matches
        O(label_selector).
      - With O(all_namespaces), the Datasets of this name in every namespace.
    type: str
  namespace:
    description:
      - Namespace to read. Ignored when O(all_namespaces=true).
    type: str
    default: default
  all_namespaces:
    description:
      - Read Datasets of every namespace.
    type: bool
    default: false
  label_selector:
    description:
      - Only Datasets whose labels match, in Kubernetes selector syntax (C(team=ml,tier!=test), C(env in (a,b))).
      - A list is joined with commas (all must match).
    type: list
    elements: str
  include_pods:
    description:
      - Read the pods of each Dataset's namespace to report those using its PVC. Set V(false) to skip that read
        (RV(datasets[].pods) is then null).
    type: bool
    default: true
  include_operations:
    description:
      - Read the data operations (DataLoad, DataProcess, DataMigrate, DataBackup) of each Dataset's namespace to
        report those that work on it. Set V(false) to skip those reads (RV(datasets[].operations) is then null).
    type: bool
    default: true
seealso:
  - module: cloudnative.fluid.dataset
  - module: cloudnative.fluid.runtime
  - module: cloudnative.fluid.dataload
  - name: Fluid Dataset API
    description: Fluid's API reference for Dataset.
    link: https://github.com/fluid-cloudnative/fluid/blob/master/docs/en/dev/api_doc.md
notes:
  - Requires the C(kubernetes) Python library on the host that runs the module (see the collection's
    C(requirements.txt)).
  - C(playbooks/status.yml) of this collection prints these facts as a table and writes them to a self-contained
    HTML page with a chart.
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
"""

EXAMPLES = r"""
# "Total size and cache are observable" (Fluid's original demo): one Dataset.
- name: Read cifar10
  cloudnative.fluid.dataset_info:
    name: cifar10
    namespace: default
  register: info

- name: Show size and cache
  ansible.builtin.debug:
    msg: >-
      {{ ds.name }} {{ ds.phase }}: data {{ ds.ufs_total.human }}, cache {{ ds.cached.human }} of
      {{ ds.cache_capacity.human }} ({{ ds.cached_percentage.human }}), workers
      {{ ds.runtime.worker.ready }}/{{ ds.runtime.worker.desired }}, cache on {{ ds.cache_nodes | map(attribute='name') | join(', ') }}
  vars:
    ds: "{{ info.datasets[0] }}"

# Why is the second nginx pod Pending? (step 10 of Fluid's original demo)
- name: Pending pods and the scheduler's reason
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.reason }}"
  loop: "{{ info.datasets[0].pods | selectattr('phase', 'equalto', 'Pending') }}"

# Every Dataset of the cluster, for a report.
- name: All Datasets
  cloudnative.fluid.dataset_info:
    all_namespaces: true
  register: all_datasets

# What ran on cifar10, and how it ended.
- name: Data operations of cifar10
  ansible.builtin.debug:
    msg: "{{ item.kind }} {{ item.name }}: {{ item.phase }} {{ item.duration }} {{ item.reason | default('', true) }}"
  loop: "{{ info.datasets[0].operations }}"

# By label, in one namespace, without reading pods.
- name: Datasets of team ml
  cloudnative.fluid.dataset_info:
    namespace: training
    label_selector:
      - team=ml
    include_pods: false
"""

RETURN = r"""
datasets:
  description: One record per Dataset found, sorted by namespace and name. Empty when none matches.
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
    phase:
      description: C(status.phase) (C(NotBound), C(Bound), ...); empty before Fluid writes a status.
      type: str
      sample: Bound
    conditions:
      description: C(status.conditions) with type, status, reason and message.
      type: list
      elements: dict
      sample: [{type: Ready, status: "True", reason: DatasetReady, message: The ddc runtime is ready.}]
    ufs_total:
      description:
        - Total size of the Dataset's data in its under-storage (C(status.ufsTotal)).
        - C(bytes) is approximate, parsed from Fluid's rounded text, and null while unknown; C(human) is Fluid's
          text (C([Calculating]) while Fluid counts).
      type: dict
      sample: {bytes: 1870374109, human: 1.742GiB}
    file_num:
      description: Number of files Fluid counted (C(status.fileNum)); null while unknown.
      type: int
      sample: 15
    cache_capacity:
      description:
        - Cache capacity of the Dataset's runtime (C(status.cacheStates.cacheCapacity)).
        - C(bytes) is parsed from Fluid's rounded text in C(human), so it is approximate.
      type: dict
      sample: {bytes: 12884901888, human: 12.00GiB}
    cached:
      description:
        - Bytes cached now (C(status.cacheStates.cached)).
        - C(bytes) is parsed from Fluid's rounded text in C(human), so it is approximate.
      type: dict
      sample: {bytes: 34560, human: 33.75KiB}
    cached_percentage:
      description: Cached share of the Dataset's data (C(status.cacheStates.cachedPercentage)), as a number and as text.
      type: dict
      sample: {percent: 13.6, human: 13.6%}
    hit_ratios:
      description:
        - The ratios Fluid reports in C(status.cacheStates), in percent, only those present (empty when none). Keys are
          C(cache_hit_ratio), C(local_hit_ratio), C(remote_hit_ratio), C(cache_throughput_ratio),
          C(local_throughput_ratio) and C(remote_throughput_ratio).
      type: dict
      sample: {cache_hit_ratio: 0.0, local_hit_ratio: 0.0, remote_hit_ratio: 0.0}
    runtime:
      description:
        - The runtime serving the Dataset (the one in C(status.runtimes), else one of the same name), null when none.
        - C(master), C(worker) and C(fuse) each hold C(phase), C(ready) and C(desired) (and C(reason) when Fluid
          gives one); C(master) is null for runtimes without a master (ThinRuntime).
      type: dict
      sample:
        kind: AlluxioRuntime
        name: cifar10
        replicas: 2
        master: {phase: Ready, ready: 1, desired: 1}
        worker: {phase: PartialReady, ready: 1, desired: 2}
        fuse: {phase: Ready, ready: 0, desired: 0}
    cache_nodes:
      description:
        - Nodes holding the Dataset's cache - those Fluid labelled C(fluid.io/s-<namespace>-<name>=true) - with the
          cache capacity Fluid put on each (label C(fluid.io/s-h-<type>-t-<namespace>-<name>)), sorted by name.
        - Null when Nodes could not be read (see warnings).
      type: list
      elements: dict
      sample: [{name: cn-hongkong.172.31.136.196, capacity: {bytes: 12884901888, human: 12GiB}}]
    pvc:
      description: The PersistentVolumeClaim Fluid created for the Dataset (same name), null when there is none yet.
      type: dict
      sample: {name: cifar10, phase: Bound, volume: default-cifar10, access_modes: [ReadWriteMany]}
    pods:
      description:
        - Pods of the namespace that mount the Dataset's PVC, sorted by name, with C(name), C(phase), C(node),
          C(ready) and C(reason).
        - C(reason) is, for a Pending pod, the scheduler's message (the C(PodScheduled) condition, else the latest
          C(FailedScheduling) event); for a pod not ready, its container's waiting reason; otherwise null.
        - Null with O(include_pods=false) or when pods could not be read.
      type: list
      elements: dict
      sample:
        - {name: nginx-0, phase: Running, node: cn-hongkong.172.31.136.196, ready: true, reason: null}
        - name: nginx-1
          phase: Pending
          node: null
          ready: false
          reason: "0/2 nodes are available: 1 node(s) didn't match PersistentVolume's node affinity, 1 node(s)
            didn't have free ports for the requested pod ports."
    operations:
      description:
        - The data operations of the Dataset's namespace that work on it (C(spec.dataset) of a DataLoad, DataProcess
          or DataBackup, C(spec.from.dataset) or C(spec.to.dataset) of a DataMigrate), oldest first.
        - Each has C(kind), C(name), C(phase) (C(Pending), C(Executing), C(Complete), C(Failed); empty before Fluid
          writes one), C(duration) as Fluid writes it (C(Unfinished) while it runs) and C(duration_seconds) (null
          while unfinished), C(reason) and C(message) of its last condition (null when none), C(policy) (C(Once),
          C(Cron) or C(OnEvent) for a DataLoad or DataMigrate, null for the kinds without one), C(schedule) (a Cron
          operation's), C(last_schedule_time) and C(last_successful_time) (a Cron operation's last run and last
          successful run, null otherwise), C(run_after) (C(kind), C(name), C(namespace) of the operation it runs
          after, null when none), C(waiting) (true while Fluid holds it until that operation is Complete) and
          C(created) (its creation time).
        - Null with O(include_operations=false). The kinds that could not be read are left out and named in
          RV(datasets[].operations_unreadable).
      type: list
      elements: dict
      sample:
        - kind: DataLoad
          name: cifar10-warmup
          phase: Complete
          duration: 1m11s
          duration_seconds: 71.0
          reason: CompletionsReached
          message: Reached expected number of succeeded pods
          policy: Once
          schedule: null
          last_schedule_time: null
          last_successful_time: null
          run_after: null
          waiting: false
          created: "2024-05-01T10:00:00Z"
    operations_unreadable:
      description:
        - The kinds of data operation that could not be read, each with C(kind) and C(reason) (not installed in the
          cluster, or not allowed to the credentials); empty when every kind was read or with
          O(include_operations=false).
      type: list
      elements: dict
      sample: [{kind: DataBackup, reason: "not installed (the cluster does not serve DataBackup)"}]
"""

import copy

from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import observe
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import (
    AUTH_ARG_SPEC,
    AnsibleK8SModule,
    ApiError,
    FluidNotInstalled,
    connect,
)


def argument_spec():
    spec = dict(
        name=dict(type="str"),
        namespace=dict(type="str", default="default"),
        all_namespaces=dict(type="bool", default=False),
        label_selector=dict(type="list", elements="str"),
        include_pods=dict(type="bool", default=True),
        include_operations=dict(type="bool", default=True),
    )
    spec.update(copy.deepcopy(AUTH_ARG_SPEC))
    return spec


def check_options(params):
    errors = []
    if params.get("name") is not None:
        errors += validate.resource_name("name", params["name"], "Dataset")
    if not params.get("all_namespaces"):
        errors += validate.namespace_name("namespace", params.get("namespace"))
    for i, sel in enumerate(params.get("label_selector") or []):
        if not str(sel).strip():
            errors.append("label_selector[%d]: is empty; write key=value, key!=value, key, !key or key in (a,b)" % i)
        elif str(sel).count("(") != str(sel).count(")"):
            errors.append("label_selector[%d]: %r has unbalanced parentheses; write e.g. env in (a,b)" % (i, sel))
    return errors


def main():
    module = AnsibleK8SModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    errors = check_options(params)
    if errors:
        module.fail_json(msg="Invalid options:\n- " + "\n- ".join(errors), errors=errors)

    client = connect(module)
    selector = ",".join(s.strip() for s in params.get("label_selector") or []) or None
    try:
        client.require(fluid.DATASET)
        datasets = observe.list_datasets(client, name=params.get("name"), namespace=params["namespace"],
                                         label_selector=selector, all_namespaces=params["all_namespaces"])
        facts, warnings = observe.collect_datasets(client, datasets, include_pods=params["include_pods"],
                                                   include_operations=params["include_operations"])
    except FluidNotInstalled as e:
        module.fail_json(msg=str(e), datasets=[])
    except ApiError as e:
        where = "all namespaces" if params["all_namespaces"] else "namespace %s" % params["namespace"]
        msg = "Could not read Datasets in %s: %s" % (where, e)
        if e.status == 400 and selector:
            msg += " (check label_selector: %s)" % selector
        module.fail_json(msg=msg, datasets=[])
    for w in warnings:
        module.warn(w)
    module.exit_json(changed=False, datasets=facts)


if __name__ == "__main__":
    main()
