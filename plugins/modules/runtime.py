#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: runtime
short_description: Manage Fluid cache runtimes (AlluxioRuntime and others) and wait until they are ready
version_added: 0.1.0
author:
  - cloudnative.fluid contributors (@cloudnative)
description:
  - Create, update or delete a Fluid runtime (C(AlluxioRuntime), C(JindoRuntime), C(JuiceFSRuntime) or C(ThinRuntime),
    C(data.fluid.io/v1alpha1)), one or many in one task.
  - A runtime caches the Dataset of the same name and namespace (see M(cloudnative.fluid.dataset)) on its workers;
    Fluid marks that Dataset C(Bound) once the runtime is ready.
  - Options map one to one to the runtime's fields (snake_case here, camelCase in Fluid). O(spec) is merged last for
    fields this module does not type. Options a kind does not have are refused with the field that does.
  - All inputs are checked before anything is written; an error names the field and what to write instead.
  - Objects are written with server-side apply (field manager C(cloudnative.fluid)). A task reports a change only
    when a field it sets differs; fields that the API server or Fluid fill in (for example C(volumeType)) never cause
    a change.
  - If Fluid's CRDs are not installed the task fails and says to install Fluid with the role C(cloudnative.fluid.fluid).
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - cloudnative.fluid.wait
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
    details: Changes are computed by a server-side dry run, so the API server validates them and nothing is written.
  diff_mode:
    support: full
    details: The diff shows the labels, annotations and spec of each runtime, before and after.
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
  name:
    description:
      - Name of the runtime; it must equal the name of the Dataset it serves. Required unless O(runtimes) is given.
    type: str
  namespace:
    description:
      - Namespace of the runtime (the Dataset's namespace); with O(runtimes), the default for items that set none.
    type: str
    default: default
  state:
    description:
      - V(present) creates or updates the runtime and, with O(wait), waits as O(wait_for) says.
      - V(absent) deletes it and, with O(wait), waits until Fluid has cleaned up and the object is gone.
      - With O(runtimes), the default for items that set none.
    type: str
    choices: [present, absent]
    default: present
  kind:
    description:
      - The runtime kind. With O(runtimes), the default for items that set none.
    type: str
    choices: [AlluxioRuntime, JindoRuntime, JuiceFSRuntime, ThinRuntime]
    default: AlluxioRuntime
  runtimes:
    description:
      - Many runtimes in one task, each a mapping with the same options as this module's top level (V(name),
        V(namespace), V(state), V(kind), V(replicas), V(tiered_store), V(master), V(worker), V(fuse), V(properties),
        V(image), V(image_tag), V(labels), V(annotations), V(spec)).
      - All are validated before any is written, and awaited together within one O(wait_timeout).
      - Mutually exclusive with O(name); the other per-runtime options must then be set inside each item.
    type: list
    elements: dict
  replicas:
    description:
      - Number of cache workers (C(spec.replicas)). At most one worker runs per node, on nodes that match the
        Dataset's node affinity.
    type: int
  tiered_store:
    description:
      - Cache tiers (C(spec.tieredstore.levels)), fastest first. The cache capacity Fluid reports is the sum of the
        quotas times the number of ready workers.
    type: list
    elements: dict
    suboptions:
      medium:
        description: Medium of the tier (C(mediumtype)); each medium at most once.
        type: str
        choices: [MEM, SSD, HDD]
        required: true
      path:
        description:
          - Directory (or comma-separated directories) of the tier on the node (C(path)), each absolute,
            for example C(/dev/shm).
        type: str
        required: true
      quota:
        description: Size of the tier as a Kubernetes quantity (C(quota)), for example C(2Gi) or C(10Gi).
        type: str
        required: true
      high:
        description: High watermark ratio (C(high)), above 0 and at most 1, greater than O(tiered_store[].low).
        type: float
      low:
        description: Low watermark ratio (C(low)), above 0 and below O(tiered_store[].high).
        type: float
      volume_type:
        description: How the tier's directory is provided (C(volumeType)). Fluid defaults to V(hostPath).
        type: str
        choices: [hostPath, emptyDir]
  master:
    description:
      - Master component (C(spec.master)). ThinRuntime has no master.
    type: dict
    suboptions:
      jvm_options:
        description: JVM options (C(jvmOptions)); AlluxioRuntime only.
        type: list
        elements: str
      properties:
        description:
          - Properties of the component (C(properties)), values sent as strings; AlluxioRuntime and JindoRuntime
            only. Values of keys that look like secrets are masked in the output.
        type: dict
      node_selector:
        description: Node labels the component's pods must run on (C(nodeSelector)).
        type: dict
      resources:
        description: Kubernetes resource C(requests) and C(limits) of the component (C(resources)).
        type: dict
      image:
        description:
          - Image of the component (C(image)). Only fuse (all kinds) and ThinRuntime's worker have one; the others
            use the runtime's O(image).
        type: str
      image_tag:
        description: Tag of the component's image (C(imageTag)).
        type: str
      env:
        description:
          - Environment variables of the component (C(env)), as a mapping; sent as a map or as a list of
            C(name)/C(value) pairs, whichever the kind expects. Values of keys that look like secrets are masked.
        type: dict
  worker:
    description: Worker component (C(spec.worker)).
    type: dict
    suboptions:
      jvm_options:
        description: JVM options (C(jvmOptions)); AlluxioRuntime only.
        type: list
        elements: str
      properties:
        description:
          - Properties of the component (C(properties)), values sent as strings; AlluxioRuntime and JindoRuntime
            only. Values of keys that look like secrets are masked in the output.
        type: dict
      node_selector:
        description: Node labels the component's pods must run on (C(nodeSelector)).
        type: dict
      resources:
        description: Kubernetes resource C(requests) and C(limits) of the component (C(resources)).
        type: dict
      image:
        description:
          - Image of the component (C(image)). Only fuse (all kinds) and ThinRuntime's worker have one; the others
            use the runtime's O(image).
        type: str
      image_tag:
        description: Tag of the component's image (C(imageTag)).
        type: str
      env:
        description:
          - Environment variables of the component (C(env)), as a mapping; sent as a map or as a list of
            C(name)/C(value) pairs, whichever the kind expects. Values of keys that look like secrets are masked.
        type: dict
  fuse:
    description: FUSE client component (C(spec.fuse)).
    type: dict
    suboptions:
      jvm_options:
        description: JVM options (C(jvmOptions)); AlluxioRuntime only.
        type: list
        elements: str
      properties:
        description:
          - Properties of the component (C(properties)), values sent as strings; AlluxioRuntime and JindoRuntime
            only. Values of keys that look like secrets are masked in the output.
        type: dict
      node_selector:
        description: Node labels the component's pods must run on (C(nodeSelector)).
        type: dict
      resources:
        description: Kubernetes resource C(requests) and C(limits) of the component (C(resources)).
        type: dict
      image:
        description:
          - Image of the component (C(image)). Only fuse (all kinds) and ThinRuntime's worker have one; the others
            use the runtime's O(image).
        type: str
      image_tag:
        description: Tag of the component's image (C(imageTag)).
        type: str
      env:
        description:
          - Environment variables of the component (C(env)), as a mapping; sent as a map or as a list of
            C(name)/C(value) pairs, whichever the kind expects. Values of keys that look like secrets are masked.
        type: dict
  properties:
    description:
      - Properties of the whole runtime (C(spec.properties)), values sent as strings; AlluxioRuntime and JindoRuntime
        only. Values of keys that look like secrets are masked in the output.
    type: dict
  image:
    description:
      - Image of the runtime's master and workers (C(spec.alluxioVersion.image), C(spec.jindoVersion.image) or
        C(spec.juicefsVersion.image)). ThinRuntime takes images from O(worker.image) and O(fuse.image) or its profile.
    type: str
  image_tag:
    description: Tag of O(image) (C(imageTag) of the same field).
    type: str
  labels:
    description: Labels of the runtime object.
    type: dict
  annotations:
    description: Annotations of the runtime object.
    type: dict
  spec:
    description:
      - Any further C(spec) fields with Fluid's camelCase names (for example C(data), C(runAs), C(management),
        C(profileName) for ThinRuntime). Merged last over the fields built from the typed options; mappings merge,
        everything else replaces.
    type: dict
  wait_for:
    description:
      - What O(wait) waits for. V(ready) is the runtime's master C(Ready) (ThinRuntime has none) and at least
        O(wait_min_workers) workers ready. V(bound) is V(ready) and, in addition, the Dataset of the same name
        in phase C(Bound).
    type: str
    choices: [ready, bound]
    default: ready
  wait_min_workers:
    description:
      - How many ready workers count as ready. Defaults to all of them (the runtime's C(spec.replicas)); V(0) waits
        for the master only.
    type: int
seealso:
  - module: cloudnative.fluid.dataset
  - name: Fluid AlluxioRuntime API
    description: Fluid's API reference for the runtimes.
    link: https://github.com/fluid-cloudnative/fluid/blob/master/docs/en/dev/api_doc.md
notes:
  - Requires the C(kubernetes) Python library on the host that runs the module (see the collection's
    C(requirements.txt)).
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
"""

EXAMPLES = r"""
# The seed demo's runtime: two workers, 2Gi of memory and 10Gi of SSD each, watermarks 0.95/0.7.
# Only one node carries the GPU label at first, so one worker is ready (PartialReady) and the cache
# is 12GiB; wait for the Dataset to be Bound with that one worker.
- name: AlluxioRuntime cifar10
  cloudnative.fluid.runtime:
    name: cifar10
    namespace: default
    kind: AlluxioRuntime
    replicas: 2
    tiered_store:
      - medium: MEM
        path: /dev/shm
        quota: 2Gi
        high: 0.95
        low: 0.7
      - medium: SSD
        path: /var/lib/docker/alluxio
        quota: 10Gi
        high: 0.95
        low: 0.7
    properties:
      alluxio.user.file.writetype.default: MUST_CACHE
      alluxio.master.journal.folder: /journal
      alluxio.master.journal.type: UFS
    master:
      jvm_options: ["-Xmx4G"]
    worker:
      jvm_options: ["-Xmx4G"]
    fuse:
      jvm_options: ["-Xmx4G", "-Xms4G"]
    wait_for: bound
    wait_min_workers: 1
    wait_timeout: 600
  register: runtime

- name: Show the cache the runtime offers
  ansible.builtin.debug:
    msg: >-
      cache {{ runtime.runtimes[0].cache_states.cacheCapacity }},
      workers {{ runtime.runtimes[0].worker.ready }}/{{ runtime.runtimes[0].worker.desired }}
      ({{ runtime.runtimes[0].worker.phase }})

# Once the second node is labelled, wait for both workers.
- name: Wait for every worker of cifar10
  cloudnative.fluid.runtime:
    name: cifar10
    replicas: 2
    tiered_store:
      - {medium: MEM, path: /dev/shm, quota: 2Gi, high: 0.95, low: 0.7}
      - {medium: SSD, path: /var/lib/docker/alluxio, quota: 10Gi, high: 0.95, low: 0.7}
    properties:
      alluxio.user.file.writetype.default: MUST_CACHE
      alluxio.master.journal.folder: /journal
      alluxio.master.journal.type: UFS
    master:
      jvm_options: ["-Xmx4G"]
    worker:
      jvm_options: ["-Xmx4G"]
    fuse:
      jvm_options: ["-Xmx4G", "-Xms4G"]

- name: A JuiceFS runtime, with fields this module does not type passed through spec
  cloudnative.fluid.runtime:
    name: jfsdemo
    kind: JuiceFSRuntime
    replicas: 1
    tiered_store:
      - {medium: MEM, path: /dev/shm, quota: 40Gi, low: 0.1}
    spec:
      fuse:
        options:
          writeback: ""
    wait: false

- name: Remove the runtime (the Dataset goes back to NotBound)
  cloudnative.fluid.runtime:
    name: cifar10
    state: absent
"""

RETURN = r"""
changed:
  description: Whether any runtime was created, updated or deleted (or would be, in check mode).
  returned: always
  type: bool
runtimes:
  description: One entry per runtime of the task, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Runtime name.
      type: str
      sample: cifar10
    namespace:
      description: Runtime namespace.
      type: str
      sample: default
    kind:
      description: Runtime kind.
      type: str
      sample: AlluxioRuntime
    state:
      description: The requested state.
      type: str
      sample: present
    changed:
      description: Whether this runtime was (or would be) created, updated or deleted.
      type: bool
    exists:
      description: Whether the runtime exists after the task (in check mode, whether it would).
      type: bool
    ready:
      description: Whether the runtime was ready (as O(wait_for=ready) defines it) when last seen.
      type: bool
    master:
      description: Master C(phase) (C(status.masterPhase)), C(ready) and C(desired) counts.
      type: dict
      sample: {phase: Ready, ready: 1, desired: 1, scheduled: 1}
    worker:
      description: Worker C(phase) (C(status.workerPhase)), C(ready) and C(desired) counts.
      type: dict
      sample: {phase: PartialReady, ready: 1, desired: 2, scheduled: 1}
    fuse:
      description: Fuse C(phase) (C(status.fusePhase)), C(ready) and C(desired) counts.
      type: dict
      sample: {phase: Ready, ready: 1, desired: 2, scheduled: 1}
    cache_states:
      description: C(status.cacheStates) as Fluid writes it.
      type: dict
      sample: {cacheCapacity: 12.00GiB, cached: 0.00B, cachedPercentage: 0.0%}
    cache_capacity_bytes:
      description: C(cache_states.cacheCapacity) in bytes, null while unknown.
      type: int
      sample: 12884901888
    cached_bytes:
      description: C(cache_states.cached) in bytes, null while unknown.
      type: int
      sample: 0
    conditions:
      description: C(status.conditions) with type, status, reason and message.
      type: list
      elements: dict
      sample: [{type: MasterReady, status: "True", reason: Master is ready, message: The master is ready.}]
    dataset_phase:
      description: Phase of the Dataset of the same name, empty when it does not exist or has no status.
      type: str
      sample: Bound
    wait_seconds:
      description: Seconds from the start of the wait until this runtime got there; 0 when not waited.
      type: float
      sample: 0.12
"""

import copy

from ansible_collections.cloudnative.fluid.plugins.module_utils import engine
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid as F
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate as V
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import (
    AUTH_ARG_SPEC,
    AnsibleK8SModule,
    connect,
    ensure_k8s_core,
)
from ansible_collections.cloudnative.fluid.plugins.module_utils.quantity import QuantityError, parse_quantity
from ansible_collections.cloudnative.fluid.plugins.module_utils.waiter import Target

try:
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
except ImportError:  # pragma: no cover
    ArgumentSpecValidator = None

COMPONENTS = ("master", "worker", "fuse")

# What each kind's spec has (Fluid 1.0 api/v1alpha1/*runtime_types.go).
KINDS = {
    "AlluxioRuntime": dict(version="alluxioVersion", components=COMPONENTS, jvm=True, properties=True,
                           env="map", images=("fuse",)),
    "JindoRuntime": dict(version="jindoVersion", components=COMPONENTS, jvm=False, properties=True,
                         env="map", images=("fuse",)),
    "JuiceFSRuntime": dict(version="juicefsVersion", components=COMPONENTS, jvm=False, properties=False,
                           env="list", images=("fuse",)),
    "ThinRuntime": dict(version=None, components=("worker", "fuse"), jvm=False, properties=False,
                        env="list", images=("worker", "fuse")),
}

LEVEL_SPEC = dict(
    medium=dict(type="str", required=True, choices=["MEM", "SSD", "HDD"]),
    path=dict(type="str", required=True),
    quota=dict(type="str", required=True),
    high=dict(type="float"),
    low=dict(type="float"),
    volume_type=dict(type="str", choices=["hostPath", "emptyDir"]),
)

COMPONENT_SPEC = dict(
    jvm_options=dict(type="list", elements="str"),
    properties=dict(type="dict"),
    node_selector=dict(type="dict"),
    resources=dict(type="dict"),
    image=dict(type="str"),
    image_tag=dict(type="str"),
    env=dict(type="dict"),
)

ITEM_SPEC = dict(
    name=dict(type="str"),
    namespace=dict(type="str"),
    state=dict(type="str", choices=["present", "absent"]),
    kind=dict(type="str", choices=list(F.RUNTIME_KINDS)),
    replicas=dict(type="int"),
    tiered_store=dict(type="list", elements="dict", options=LEVEL_SPEC),
    master=dict(type="dict", options=COMPONENT_SPEC),
    worker=dict(type="dict", options=COMPONENT_SPEC),
    fuse=dict(type="dict", options=COMPONENT_SPEC),
    properties=dict(type="dict"),
    image=dict(type="str"),
    image_tag=dict(type="str"),
    labels=dict(type="dict"),
    annotations=dict(type="dict"),
    spec=dict(type="dict"),
)
INHERITED = ("name", "namespace", "state", "kind")
PER_ITEM_ONLY = [k for k in ITEM_SPEC if k not in INHERITED]


def argument_spec():
    spec = copy.deepcopy(ITEM_SPEC)
    spec["namespace"]["default"] = "default"
    spec["state"]["default"] = "present"
    spec["kind"]["default"] = "AlluxioRuntime"
    spec["runtimes"] = dict(type="list", elements="dict")
    spec["wait"] = dict(type="bool", default=True)
    spec["wait_timeout"] = dict(type="int", default=300)
    spec["wait_for"] = dict(type="str", default="ready", choices=["ready", "bound"])
    spec["wait_min_workers"] = dict(type="int")
    spec.update(copy.deepcopy(AUTH_ARG_SPEC))
    return spec


def expand_items(params):
    errors = []
    if params.get("runtimes") is None:
        item = {k: params.get(k) for k in ITEM_SPEC}
        item["where"] = "name=%s" % params.get("name")
        item["prefix"] = ""
        return [item], errors
    for k in PER_ITEM_ONLY:
        if params.get(k) is not None:
            errors.append("%s: set it inside each item of runtimes, not at the top level, when runtimes is used" % k)
    item_spec = copy.deepcopy(ITEM_SPEC)
    item_spec["name"]["required"] = True
    validator = ArgumentSpecValidator(item_spec)
    items = []
    for i, raw in enumerate(params["runtimes"]):
        where = "runtimes[%d]" % i
        if not isinstance(raw, dict):
            errors.append("%s: must be a mapping with at least name" % where)
            continue
        result = validator.validate(raw)
        errors += ["%s: %s" % (where, e) for e in result.errors]
        item = dict(result.validated_parameters)
        for k in ("namespace", "state", "kind"):
            item[k] = item.get(k) or params.get(k)
        item["where"] = where
        item["prefix"] = where + "."
        items.append(item)
    return items, errors


def _ratio(field, value):
    if value is not None and not 0 < value <= 1:
        return ["%s: %r must be a ratio above 0 and at most 1, e.g. 0.95" % (field, value)]
    return []


def validate_resources(field, resources):
    errors = []
    if resources is None:
        return errors
    unknown = set(resources) - {"requests", "limits", "claims"}
    if unknown:
        errors.append("%s: unknown key(s) %s; use requests and limits, e.g. {requests: {memory: 4Gi}}"
                      % (field, ", ".join(sorted(unknown))))
    for part in ("requests", "limits"):
        for res, qty in (resources.get(part) or {}).items():
            try:
                parse_quantity(qty)
            except QuantityError as e:
                errors.append("%s.%s.%s: %s" % (field, part, res, e))
    return errors


def validate_item(item, wait_min_workers=None):
    """Every problem with one runtime's options, as 'field: problem; fix' strings."""
    p = item["prefix"]
    kind = item.get("kind")
    errors = V.resource_name(p + "name", item.get("name"), kind or "runtime")
    errors += V.namespace_name(p + "namespace", item.get("namespace"))
    if item.get("state") == "absent" or kind not in KINDS:
        return errors
    caps = KINDS[kind]
    if item.get("replicas") is not None and item["replicas"] < 0:
        errors.append("%sreplicas: %r must be 0 or more; set the number of cache workers, e.g. replicas: 1 "
                      "(0 keeps the runtime without workers)" % (p, item["replicas"]))
    if wait_min_workers is not None:
        if wait_min_workers < 0:
            errors.append("wait_min_workers: %r must be 0 or more" % wait_min_workers)
        elif item.get("replicas") is not None and wait_min_workers > item["replicas"]:
            errors.append("wait_min_workers: %d is more than %sreplicas (%d), so the wait could never end; lower it"
                          % (wait_min_workers, p, item["replicas"]))

    media = {}
    for i, level in enumerate(item.get("tiered_store") or []):
        lf = "%stiered_store[%d]" % (p, i)
        if level["medium"] in media:
            errors.append("%s.medium: %s is already tiered_store[%d]; each medium may appear once"
                          % (lf, level["medium"], media[level["medium"]]))
        media.setdefault(level["medium"], i)
        for part in str(level.get("path") or "").split(","):
            if not part.strip().startswith("/"):
                errors.append("%s.path: %r must be an absolute directory on the node (or several, comma-separated), "
                              "e.g. /dev/shm" % (lf, part.strip()))
        try:
            if parse_quantity(level["quota"]) <= 0:
                errors.append("%s.quota: %r must be more than 0" % (lf, level["quota"]))
        except QuantityError as e:
            errors.append("%s.quota: %s" % (lf, e))
        errors += _ratio(lf + ".high", level.get("high"))
        errors += _ratio(lf + ".low", level.get("low"))
        if level.get("high") is not None and level.get("low") is not None and not level["low"] < level["high"]:
            errors.append("%s.low: %r must be below high (%r); Fluid needs 0 < low < high <= 1, e.g. high 0.95, low 0.7"
                          % (lf, level["low"], level["high"]))

    for comp in COMPONENTS:
        opts = item.get(comp)
        if opts is None:
            continue
        cf = p + comp
        if comp not in caps["components"]:
            errors.append("%s: %s has no %s component; remove it" % (cf, kind, comp))
            continue
        if opts.get("jvm_options") is not None and not caps["jvm"]:
            errors.append("%s.jvm_options: %s takes no JVM options (only AlluxioRuntime does); remove it" % (cf, kind))
        if opts.get("properties") is not None and not caps["properties"]:
            errors.append("%s.properties: %s has no properties; pass its own settings through spec, e.g. "
                          "spec: {%s: {options: {...}}}" % (cf, kind, comp))
        for opt in ("image", "image_tag"):
            if opts.get(opt) is not None and comp not in caps["images"]:
                errors.append("%s.%s: the %s of %s has no own image; set %s at the top level (spec.%s)"
                              % (cf, opt, comp, kind, opt, caps["version"]))
        errors += V.labels(cf + ".node_selector", opts.get("node_selector"))
        errors += validate_resources(cf + ".resources", opts.get("resources"))
        for key in (opts.get("env") or {}):
            if not str(key) or " " in str(key) or "=" in str(key):
                errors.append("%s.env: %r is not a valid environment variable name" % (cf, key))
    if item.get("properties") is not None and not caps["properties"]:
        errors.append("%sproperties: %s has no spec.properties; pass its settings through spec" % (p, kind))
    for opt in ("image", "image_tag"):
        if item.get(opt) is not None and caps["version"] is None:
            errors.append("%s%s: %s has no runtime-wide image; set worker.%s and fuse.%s (or use its profile)"
                          % (p, opt, kind, opt, opt))
    errors += V.labels(p + "labels", item.get("labels"))
    errors += V.labels(p + "annotations", item.get("annotations"), values=False)
    spec = item.get("spec") or {}
    typed = {"replicas": "replicas", "tieredstore": "tiered_store", "properties": "properties"}
    for key, option in typed.items():
        if key in spec and item.get(option) is not None:
            errors.append("%sspec.%s: also set by %s; set it in one place only" % (p, key, option))
    return errors


def _ratio_str(value):
    """A watermark as Fluid's string, as written: 0.95 -> "0.95", 1 -> "1", 0.9999999 -> "0.9999999"."""
    return "%.15g" % value


def build_component(kind, opts):
    caps = KINDS[kind]
    out = {}
    if opts.get("jvm_options"):
        out["jvmOptions"] = list(opts["jvm_options"])
    if opts.get("properties"):
        out["properties"] = engine.str_map(opts["properties"])
    if opts.get("node_selector"):
        out["nodeSelector"] = engine.str_map(opts["node_selector"])
    if opts.get("resources"):
        out["resources"] = {k: (engine.str_map(v) if k in ("requests", "limits") else v) for k, v in opts["resources"].items()}
    if opts.get("image"):
        out["image"] = opts["image"]
    if opts.get("image_tag"):
        out["imageTag"] = str(opts["image_tag"])
    if opts.get("env"):
        env = engine.str_map(opts["env"])
        out["env"] = env if caps["env"] == "map" else [{"name": k, "value": env[k]} for k in sorted(env)]
    return out


def build_runtime(item):
    kind = item["kind"]
    caps = KINDS[kind]
    spec = {}
    if item.get("replicas") is not None:
        spec["replicas"] = item["replicas"]
    levels = []
    for level in item.get("tiered_store") or []:
        out = {"mediumtype": level["medium"], "path": level["path"], "quota": str(level["quota"])}
        if level.get("high") is not None:
            out["high"] = _ratio_str(level["high"])
        if level.get("low") is not None:
            out["low"] = _ratio_str(level["low"])
        if level.get("volume_type"):
            out["volumeType"] = level["volume_type"]
        levels.append(out)
    if levels:
        spec["tieredstore"] = {"levels": levels}
    for comp in COMPONENTS:
        if item.get(comp):
            built = build_component(kind, item[comp])
            if built:
                spec[comp] = built
    if item.get("properties"):
        spec["properties"] = engine.str_map(item["properties"])
    version = {}
    if item.get("image"):
        version["image"] = item["image"]
    if item.get("image_tag"):
        version["imageTag"] = str(item["image_tag"])
    if version:
        spec[caps["version"]] = version
    return engine.fluid_object(kind, item, spec)


def secret_values(item):
    out = V.secretish_values(item.get("properties"))
    for comp in COMPONENTS:
        opts = item.get(comp) or {}
        out += V.secretish_values(opts.get("properties"))
        out += V.secretish_values(opts.get("env"))
    return out


def min_workers(item, wait_min_workers):
    """How many ready workers count as ready (None: the object's own spec.replicas)."""
    if wait_min_workers is not None:
        return wait_min_workers
    return item.get("replicas")


def make_targets(wait_for, min_workers_of):
    def targets_for(desired):
        if desired.state == "absent":
            return engine.item_targets_absent(desired)
        n = min_workers_of(desired)
        ts = [Target(desired.kind, desired.namespace, desired.name,
                     lambda o, k=desired.kind, n=n: F.runtime_ready(o, k, n))]
        if wait_for == "bound":
            ts.append(Target(F.DATASET, desired.namespace, desired.name, F.is_bound))
        return ts
    return targets_for


def summarize(desired, obj, dataset, n):
    comps = F.runtime_components(obj)
    return {
        "name": desired.name,
        "namespace": desired.namespace,
        "kind": desired.kind,
        "state": desired.state,
        "changed": desired.changed,
        "exists": desired.after is not None if desired.state == "present" else False,
        "ready": F.runtime_ready(obj, desired.kind, n),
        "master": comps["master"],
        "worker": comps["worker"],
        "fuse": comps["fuse"],
        "cache_states": F.cache_states(obj),
        "cache_capacity_bytes": F.cache_capacity_bytes(obj),
        "cached_bytes": F.cached_bytes(obj),
        "conditions": F.conditions(obj),
        "dataset_phase": F.phase(dataset),
        "wait_seconds": desired.wait_seconds,
    }


def main():
    module = AnsibleK8SModule(
        argument_spec=argument_spec(),
        required_one_of=[("name", "runtimes")],
        supports_check_mode=True,
    )
    ensure_k8s_core(module)
    params = module.params
    errors = V.one_or_many(params, "name", "runtimes", "runtime")
    if errors:
        module.fail_json(msg="Invalid options (nothing was changed):\n- " + "\n- ".join(errors), errors=errors)
    items, errors = expand_items(params)
    errors += V.positive("wait_timeout", params["wait_timeout"])
    seen = {}
    for item in items:
        errors += validate_item(item, params.get("wait_min_workers"))
        key = (item.get("namespace"), item.get("name"))
        if item.get("name") and key in seen:
            errors.append("%sname: a runtime named %s/%s is already %s; a Dataset has one runtime, list it once"
                          % (item["prefix"], key[0], key[1], seen[key]))
        seen.setdefault(key, item["where"])
    if errors:
        module.fail_json(msg="Invalid options (nothing was changed):\n- " + "\n- ".join(errors), errors=errors)

    desired, by_ref = [], {}
    for item in items:
        secrets = secret_values(item)
        for value in secrets:
            module._module.no_log_values.add(value)
        if secrets:
            module.warn("%s: properties or env look like they hold credentials; keep them in a Secret (their values "
                        "are masked in this output)." % item["where"])
        body = build_runtime(item) if item["state"] == "present" else None
        d = engine.Desired(item["kind"], item["namespace"], item["name"], item["state"], body, item["where"])
        desired.append(d)
        by_ref[d.ref] = item

    def min_workers_of(d):
        return min_workers(by_ref[d.ref], params.get("wait_min_workers"))

    client = connect(module)
    engine.apply_all(module, client, desired)
    for d in desired:
        for w in d.warnings:
            module.warn(w)

    objects = {}
    failure = None
    if params["wait"] and not module.check_mode:
        result, failure = engine.wait_all(
            module, client, desired, make_targets(params["wait_for"], min_workers_of), params["wait_timeout"],
            lambda d: "absent" if d.state == "absent" else params["wait_for"], "runtimes")
        objects = result.objects
    results = []
    for d in desired:
        key = (d.kind, d.namespace, d.name)
        dkey = (F.DATASET, d.namespace, d.name)
        obj = objects.get(key) if key in objects else (client.get(d.kind, d.namespace, d.name)
                                                       if d.state == "present" else None)
        dataset = objects.get(dkey) if dkey in objects else client.get(F.DATASET, d.namespace, d.name)
        results.append(summarize(d, obj, dataset, min_workers_of(d)))
    out = dict(changed=any(d.changed for d in desired), runtimes=results)
    if module._diff:
        out["diff"] = engine.diffs(desired)
    if failure:
        module.fail_json(msg=failure, **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
