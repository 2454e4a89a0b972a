#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dataset
short_description: Manage Fluid Datasets and wait until they are Bound
version_added: 0.1.0
author:
  - cloudnative.fluid contributors (@cloudnative)
description:
  - Create, update or delete Fluid C(Dataset) objects (C(data.fluid.io/v1alpha1)), one or many in one task.
  - A Dataset names where data lives (its O(mounts)) and where it may be cached (O(node_selector),
    O(node_affinity)). It becomes C(Bound) once a runtime of the same name and namespace (see
    M(cloudnative.fluid.runtime)) is ready; O(wait) waits for that phase by watching the API server.
  - Options map one to one to the Dataset's fields (snake_case here, camelCase in Fluid). O(spec) is merged last
    for fields this module does not type.
  - All inputs are checked before anything is written; an error names the field and what to write instead.
  - Objects are written with server-side apply (field manager C(cloudnative.fluid)). A task reports a change only
    when a field it sets differs; fields that the API server or Fluid fill in never cause a change.
  - If Fluid's CRDs are not installed the task fails and says to install Fluid with the role C(cloudnative.fluid.fluid).
extends_documentation_fragment:
  - cloudnative.fluid.auth_options
  - cloudnative.fluid.wait
  - cloudnative.fluid.force
  - cloudnative.fluid.attributes
attributes:
  check_mode:
    support: full
    details: Changes are computed by a server-side dry run, so the API server validates them and nothing is written.
  diff_mode:
    support: full
    details:
      - The diff shows the labels, annotations and spec of each Dataset, before and after, and the keys of each
        Secret of O(secrets) with their values masked.
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
      - Name of the Dataset. Fluid requires a DNS-1035 label (lowercase letters, digits and C(-), starting with a letter).
      - Required unless O(datasets) is given.
    type: str
  namespace:
    description:
      - Namespace of the Dataset; with O(datasets), the default for items that set none.
    type: str
    default: default
  state:
    description:
      - V(present) creates or updates the Dataset and, with O(wait), waits until its phase is C(Bound).
      - V(absent) deletes it and, with O(wait), waits until Fluid has removed its finalizer and the object is gone.
        Fluid keeps a Dataset while pods still use its PVC; the timeout diagnosis lists them.
      - With O(datasets), the default for items that set none.
    type: str
    choices: [present, absent]
    default: present
  datasets:
    description:
      - Many Datasets in one task, each a mapping with the same options as this module's top level
        (V(name), V(namespace), V(state), V(mounts), V(shared_options), V(shared_encrypt_options), V(node_selector),
        V(node_affinity), V(tolerations), V(placement), V(access_modes), V(owner), V(labels), V(annotations), V(spec),
        V(secrets)).
      - All of them are validated before any is written, and awaited together within one O(wait_timeout).
      - Mutually exclusive with O(name); the other per-Dataset options must then be set inside each item.
    type: list
    elements: dict
  mounts:
    description:
      - Where the data comes from (C(spec.mounts)). Required for O(state=present) unless O(spec) has C(mounts).
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Name of the mount; the data appears under C(/<name>) in the Dataset unless O(mounts[].path) says otherwise.
            Names must be unique within a Dataset.
        type: str
      mount_point:
        description:
          - The source, as C(<scheme>://<location>) (C(mountPoint)). Supported schemes include C(https://), C(http://),
            C(s3://), C(oss://), C(hdfs://), C(pvc://<claim>/<subpath>), C(local:///<host path>), C(gs://), C(cos://),
            C(obs://), C(wasb://), C(abfs://), C(juicefs://), C(nfs://) and C(dataset://).
        type: str
        required: true
      path:
        description:
          - Absolute path of this mount inside the Dataset (C(path)); defaults to C(/<name>).
        type: str
      options:
        description:
          - Mount options (C(options)), for example C(fs.oss.endpoint). Values are sent as strings.
          - Do not put credentials here; use O(mounts[].encrypt_options). Values of keys that look like secrets are
            masked in the output anyway.
        type: dict
      encrypt_options:
        description:
          - Options whose values Fluid reads from a Kubernetes Secret (C(encryptOptions)).
        type: list
        elements: dict
        suboptions:
          name:
            description: Option name, for example C(fs.oss.accessKeySecret).
            type: str
            required: true
          secret_name:
            description: Name of the Secret in the Dataset's namespace (C(valueFrom.secretKeyRef.name)).
            type: str
            required: true
          secret_key:
            description: Key in that Secret (C(valueFrom.secretKeyRef.key)).
            type: str
            required: true
      read_only:
        description: Mount read-only (C(readOnly)).
        type: bool
      shared:
        description: Share the mount (C(shared)).
        type: bool
  shared_options:
    description:
      - Options for every mount of the Dataset (C(spec.sharedOptions)). A mount's own O(mounts[].options) win over
        a shared option of the same name. Values are sent as strings.
      - Do not put credentials here; use O(shared_encrypt_options). Values of keys that look like secrets are
        masked in the output anyway.
    type: dict
  shared_encrypt_options:
    description:
      - Options for every mount whose values Fluid reads from a Kubernetes Secret (C(spec.sharedEncryptOptions)),
        checked like O(mounts[].encrypt_options) (the Secret and its key must be declared in O(secrets) or exist).
      - JuiceFSRuntime decides between its community and enterprise editions by a C(metaurl) in the first mount's
        O(mounts[].encrypt_options) only; keep C(metaurl) there.
    type: list
    elements: dict
    suboptions:
      name:
        description: Option name, for example C(fs.oss.accessKeySecret).
        type: str
        required: true
      secret_name:
        description: Name of the Secret in the Dataset's namespace (C(valueFrom.secretKeyRef.name)).
        type: str
        required: true
      secret_key:
        description: Key in that Secret (C(valueFrom.secretKeyRef.key)).
        type: str
        required: true
  node_selector:
    description:
      - Node labels the cache must be placed on. Each label and value becomes a required node affinity expression
        C(key In [value]) (C(spec.nodeAffinity.required)); all must match.
      - Combined with O(node_affinity), the expressions are added to each of its terms.
    type: dict
  node_affinity:
    description:
      - A full Kubernetes C(NodeSelector) with API field names (C(nodeSelectorTerms), C(matchExpressions),
        C(matchFields)), set as C(spec.nodeAffinity.required). Terms are ORed, expressions within a term ANDed.
    type: dict
  tolerations:
    description:
      - Tolerations for the cache pods (C(spec.tolerations)), with API field names (C(key), C(operator), C(value),
        C(effect), C(tolerationSeconds)).
    type: list
    elements: dict
  placement:
    description:
      - V(Exclusive) (Fluid's default) lets one Dataset's cache own a node; V(Shared) lets several share it
        (C(spec.placement)).
    type: str
    choices: [Exclusive, Shared]
  access_modes:
    description:
      - Access modes of the PersistentVolume(Claim) Fluid creates for the Dataset (C(spec.accessModes)).
        Fluid defaults to ReadOnlyMany.
    type: list
    elements: str
    choices: [ReadOnlyMany, ReadWriteMany, ReadWriteOnce, ReadWriteOncePod]
  owner:
    description:
      - User and group the cache runs as (C(spec.owner)). All four fields are required by Fluid.
    type: dict
    suboptions:
      uid:
        description: User id.
        type: int
        required: true
      gid:
        description: Group id.
        type: int
        required: true
      user:
        description: User name.
        type: str
        required: true
      group:
        description: Group name.
        type: str
        required: true
  labels:
    description: Labels of the Dataset object.
    type: dict
  annotations:
    description: Annotations of the Dataset object.
    type: dict
  spec:
    description:
      - Any further C(spec) fields, with Fluid's camelCase names (for example C(dataRestoreLocation), C(runtimes)).
        Merged last over the fields built from the typed options; mappings merge, everything else replaces.
    type: dict
  secrets:
    description:
      - Kubernetes Secrets that O(mounts[].encrypt_options) and O(shared_encrypt_options) read, created or updated
        (server-side apply, field manager C(cloudnative.fluid)) in the Dataset's namespace before the Dataset is applied.
      - Every value is kept out of the output, including C(-vvv), C(--diff) and errors. Changes are found by
        decoding the stored Secret in memory and comparing it with O(secrets[].string_data), and by comparing the
        keys this module applied before with the keys given; the diff and the result only name keys, each value
        shown as C(********).
      - Keys of the Secret set by others are kept; a key this module applied before and that is no longer listed
        is removed.
      - Every O(mounts[].encrypt_options[].secret_name) and O(shared_encrypt_options[].secret_name) must be declared
        here or already exist in the namespace (with that C(secret_key)); otherwise the task fails before anything is
        written.
      - With O(state=absent) the listed Secrets are deleted after the Dataset, but only those this module created
        (label C(app.kubernetes.io/managed-by=cloudnative.fluid)); Secrets made by other tools are kept.
    type: list
    elements: dict
    suboptions:
      name:
        description: Secret name (the C(secret_name) of the encrypt options that refer to it).
        type: str
        required: true
      string_data:
        description:
          - The Secret's keys and their values as plain text (the module base64-encodes them). Values are C(no_log).
          - Required with O(state=present).
        type: dict
      type:
        description: The Secret's C(type). Kubernetes cannot change it once the Secret exists.
        type: str
        default: Opaque
seealso:
  - module: cloudnative.fluid.runtime
  - name: Fluid Dataset API
    description: Fluid's API reference for Dataset.
    link: https://github.com/fluid-cloudnative/fluid/blob/master/docs/en/dev/api_doc.md
notes:
  - Requires the C(kubernetes) Python library on the host that runs the module (see the collection's
    C(requirements.txt)).
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
"""

EXAMPLES = r"""
# Fluid's original demo: one Dataset of three web directories, cached only on the node with a V100 GPU.
# It stays NotBound until its runtime exists, so do not wait here (see cloudnative.fluid.runtime).
- name: Dataset cifar10 (three https mounts, cached on the V100 node)
  cloudnative.fluid.dataset:
    name: cifar10
    namespace: default
    mounts:
      - name: hadoop
        mount_point: https://downloads.apache.org/hadoop/common/hadoop-3.2.1/
      - name: spark
        mount_point: https://downloads.apache.org/spark/spark-2.4.6/
      - name: hbase
        mount_point: https://downloads.apache.org/hbase/2.2.5/
    node_selector:
      aliyun.accelerator/nvidia_name: Tesla-V100-SXM2-16GB
    wait: false

# After the runtime is up, make sure the Dataset is Bound and show its sizes.
- name: Wait until cifar10 is Bound
  cloudnative.fluid.dataset:
    name: cifar10
    mounts:
      - name: hadoop
        mount_point: https://downloads.apache.org/hadoop/common/hadoop-3.2.1/
      - name: spark
        mount_point: https://downloads.apache.org/spark/spark-2.4.6/
      - name: hbase
        mount_point: https://downloads.apache.org/hbase/2.2.5/
    node_selector:
      aliyun.accelerator/nvidia_name: Tesla-V100-SXM2-16GB
    wait_timeout: 600
  register: cifar10

- name: Report what Fluid sees
  ansible.builtin.debug:
    msg: >-
      {{ cifar10.datasets[0].phase }}: cache {{ cifar10.datasets[0].cache_states.cacheCapacity }},
      data {{ cifar10.datasets[0].ufs_total }}

# The same node affinity written as a full NodeSelector.
- name: Dataset with an explicit node affinity
  cloudnative.fluid.dataset:
    name: cifar10
    mounts:
      - name: hbase
        mount_point: https://downloads.apache.org/hbase/2.2.5/
    node_affinity:
      nodeSelectorTerms:
        - matchExpressions:
            - key: aliyun.accelerator/nvidia_name
              operator: In
              values: [Tesla-V100-SXM2-16GB]
    wait: false

# Credentials come from a Secret, never from the task.
- name: Dataset from an OSS bucket
  cloudnative.fluid.dataset:
    name: imagenet
    namespace: training
    mounts:
      - name: imagenet
        mount_point: oss://my-bucket/imagenet/
        options:
          fs.oss.endpoint: oss-cn-hongkong-internal.aliyuncs.com
        encrypt_options:
          - name: fs.oss.accessKeyId
            secret_name: oss-credentials
            secret_key: id
          - name: fs.oss.accessKeySecret
            secret_name: oss-credentials
            secret_key: secret
    access_modes: [ReadOnlyMany]
    wait: false

# The same, with the Secret declared by the task (values from Ansible Vault; never printed, even with -vvv).
- name: Dataset from an OSS bucket and its credentials
  cloudnative.fluid.dataset:
    name: imagenet
    namespace: training
    secrets:
      - name: oss-credentials
        string_data:
          id: "{{ vault_oss_access_key_id }}"
          secret: "{{ vault_oss_access_key_secret }}"
    mounts:
      - name: imagenet
        mount_point: oss://my-bucket/imagenet/
        encrypt_options:
          - name: fs.oss.accessKeyId
            secret_name: oss-credentials
            secret_key: id
          - name: fs.oss.accessKeySecret
            secret_name: oss-credentials
            secret_key: secret
    wait: false

# Options and credentials for every mount of the Dataset (spec.sharedOptions, spec.sharedEncryptOptions).
- name: Dataset of two OSS directories with one endpoint and one set of credentials
  cloudnative.fluid.dataset:
    name: imagenet
    namespace: training
    secrets:
      - name: oss-credentials
        string_data:
          id: "{{ vault_oss_access_key_id }}"
          secret: "{{ vault_oss_access_key_secret }}"
    mounts:
      - name: train
        mount_point: oss://my-bucket/imagenet/train/
      - name: val
        mount_point: oss://my-bucket/imagenet/val/
    shared_options:
      fs.oss.endpoint: oss-cn-hongkong-internal.aliyuncs.com
    shared_encrypt_options:
      - name: fs.oss.accessKeyId
        secret_name: oss-credentials
        secret_key: id
      - name: fs.oss.accessKeySecret
        secret_name: oss-credentials
        secret_key: secret
    wait: false

# Many Datasets in one task: validated together, awaited together.
- name: Three Datasets at once
  cloudnative.fluid.dataset:
    namespace: default
    wait: false
    datasets:
      - name: hadoop
        mounts: [{name: hadoop, mount_point: "https://downloads.apache.org/hadoop/common/hadoop-3.2.1/"}]
      - name: spark
        mounts: [{name: spark, mount_point: "https://downloads.apache.org/spark/spark-2.4.6/"}]
      - name: hbase
        mounts: [{name: hbase, mount_point: "https://downloads.apache.org/hbase/2.2.5/"}]

# Connection settings for every cloudnative.fluid module and kubernetes.core's k8s modules at once.
- name: Delete cifar10 and wait until Fluid released it
  module_defaults:
    group/cloudnative.fluid.fluid:
      kubeconfig: "{{ lookup('env', 'HOME') }}/.kube/config"
  cloudnative.fluid.dataset:
    name: cifar10
    state: absent
    wait_timeout: 120

# A deletion stuck because Fluid's controller is gone (uninstalled, crash-looping, scaled to 0): after the wait,
# remove Fluid's finalizers of the runtime, then of the Dataset, only if their controllers are not running.
- name: Delete cifar10, finishing what a stopped Fluid controller cannot
  cloudnative.fluid.dataset:
    name: cifar10
    state: absent
    force: true
    wait_timeout: 60
  register: deleted

- name: Show what was forced
  ansible.builtin.debug:
    msg: "{{ deleted.removed_finalizers | map(attribute='finalizer') | list }}"
"""

RETURN = r"""
removed_finalizers:
  description:
    - The finalizers that O(force) removed (in check mode, would remove), in the order removed (runtimes first).
    - Empty when nothing was forced, for example because the controllers finished the deletions themselves.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: The object's kind.
      type: str
      sample: AlluxioRuntime
    namespace:
      description: The object's namespace.
      type: str
      sample: default
    name:
      description: The object's name.
      type: str
      sample: cifar10
    finalizer:
      description: The finalizer removed.
      type: str
      sample: alluxio-runtime-controller-finalizer
changed:
  description: Whether any Dataset was created, updated or deleted (or would be, in check mode).
  returned: always
  type: bool
datasets:
  description: One entry per Dataset of the task, in the order given.
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
    state:
      description: The requested state.
      type: str
      sample: present
    changed:
      description: Whether this Dataset was (or would be) created, updated or deleted.
      type: bool
    exists:
      description: Whether the Dataset exists after the task (in check mode, whether it would).
      type: bool
    phase:
      description: C(status.phase) as last seen, empty when Fluid has not written a status yet.
      type: str
      sample: Bound
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
    ufs_total:
      description: C(status.ufsTotal), the total size of the mounted data as Fluid writes it.
      type: str
      sample: 1.742GiB
    ufs_total_bytes:
      description: C(ufs_total) in bytes, null while unknown.
      type: int
      sample: 1870374109
    conditions:
      description: C(status.conditions) with type, status, reason and message.
      type: list
      elements: dict
      sample: [{type: Ready, status: "True", reason: DatasetReady, message: The ddc runtime is ready.}]
    runtimes:
      description: C(status.runtimes), the runtimes the Dataset is bound to.
      type: list
      elements: dict
      sample: [{name: cifar10, namespace: default, type: alluxio, category: Accelerate}]
    wait_seconds:
      description: Seconds from the start of the wait until this Dataset got there; 0 when not waited.
      type: float
      sample: 0.05
    secrets:
      description:
        - The Secrets of O(secrets) for this Dataset, without their values. C(action) is
          V(create), V(update), V(delete) or V(none).
      type: list
      elements: dict
      sample: [{name: oss-credentials, namespace: default, changed: true, action: create, keys: [access-key, secret-key]}]
"""

from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import scheduling
from ansible_collections.cloudnative.fluid.plugins.module_utils import secrets
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate
from ansible_collections.cloudnative.fluid.plugins.module_utils.waiter import Target

# One option whose value Fluid reads from a Secret (EncryptOption): a mount's and the Dataset's shared ones.
ENCRYPT_OPTION_SPEC = dict(
    name=dict(type="str", required=True),
    secret_name=dict(type="str", required=True),
    secret_key=dict(type="str", required=True, no_log=False),
)

MOUNT_SPEC = dict(
    name=dict(type="str"),
    mount_point=dict(type="str", required=True),
    path=dict(type="str"),
    options=dict(type="dict"),
    encrypt_options=dict(type="list", elements="dict", options=ENCRYPT_OPTION_SPEC),
    read_only=dict(type="bool"),
    shared=dict(type="bool"),
)

OWNER_SPEC = dict((k, dict(type=t, required=True))
                  for k, t in (("uid", "int"), ("gid", "int"), ("user", "str"), ("group", "str")))

# The options of one Dataset: the module's top level, and each item of `datasets`.
ITEM_SPEC = driver.item_spec(
    mounts=dict(type="list", elements="dict", options=MOUNT_SPEC),
    shared_options=dict(type="dict"),
    shared_encrypt_options=dict(type="list", elements="dict", options=ENCRYPT_OPTION_SPEC),
    node_selector=dict(type="dict"),
    node_affinity=dict(type="dict"),
    tolerations=dict(type="list", elements="dict"),
    placement=dict(type="str", choices=["Exclusive", "Shared"]),
    access_modes=dict(type="list", elements="str",
                      choices=["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]),
    owner=dict(type="dict", options=OWNER_SPEC),
    secrets=dict(type="list", elements="dict", options=secrets.SECRET_SPEC, no_log=False),
)


def validate_mounts(p, mounts):
    errors, seen = [], {}
    for i, m in enumerate(mounts):
        mf = "%smounts[%d]" % (p, i)
        errors += validate.mount_point(mf + ".mount_point", m.get("mount_point"))
        name = m.get("name")
        if name is not None:
            if not name or "/" in name or name in (".", ".."):
                errors.append("%s.name: %r cannot name a directory; use letters, digits, '-', '_' or '.' without '/'"
                              % (mf, name))
            elif name in seen:
                errors.append("%s.name: %r is already the name of mounts[%d]; mount names must be unique"
                              % (mf, name, seen[name]))
            seen.setdefault(name, i)
        elif len(mounts) > 1:
            errors.append("%s.name: is required when a Dataset has several mounts (each appears as /<name>)" % mf)
        if m.get("path") is not None and not str(m["path"]).startswith("/"):
            errors.append("%s.path: %r must be an absolute path inside the Dataset, e.g. /%s"
                          % (mf, m["path"], name or "data"))
    return errors


def encrypt_options(entries):
    """Fluid's EncryptOption list: each value read from a Secret's key."""
    return [{"name": e["name"], "valueFrom": {"secretKeyRef": {"name": e["secret_name"], "key": e["secret_key"]}}}
            for e in entries]


def build_mount(m):
    mount = dict(mountPoint=m["mount_point"], **driver.fields(m, (("name", "name"), ("path", "path"),
                                                                  ("read_only", "readOnly"), ("shared", "shared"))))
    if m.get("options"):
        mount["options"] = driver.str_map(m["options"])
    if m.get("encrypt_options"):
        mount["encryptOptions"] = encrypt_options(m["encrypt_options"])
    return mount


class Dataset(driver.Kind):
    kind = noun = fluid.DATASET
    forceable = True
    many = result = "datasets"
    item_spec = ITEM_SPEC
    defaults = {"namespace": "default", "state": "present"}
    item_hint = "name and mounts"
    typed_spec = (("mounts", "mounts"), ("sharedOptions", "shared_options"),
                  ("sharedEncryptOptions", "shared_encrypt_options"), ("nodeAffinity", "node_selector/node_affinity"),
                  ("tolerations", "tolerations"), ("placement", "placement"), ("accessModes", "access_modes"),
                  ("owner", "owner"))
    credential_warning = ("mount options (or shared_options) look like they hold credentials; keep them in a Secret "
                          "and use encrypt_options instead (shared_encrypt_options for shared_options; their values "
                          "are masked in this output).")

    def validate(self, item, params):
        p = item["prefix"]
        errors = secrets.validate(p, item.get("secrets"), present=item.get("state") != "absent")
        if item.get("state") == "absent":
            return errors
        if not item.get("mounts") and not (item.get("spec") or {}).get("mounts"):
            errors.append("%smounts: a Dataset needs at least one mount; add e.g. mounts: [{name: data, mount_point: "
                          "'https://example.com/data/'}]" % p)
        errors += validate_mounts(p, item.get("mounts") or [])
        # every Secret reference (mounts[].encrypt_options[], shared_encrypt_options[]); whether it exists is
        # checked against the cluster by secrets.Declared.prepare
        for f, opt in secrets.references(item):
            errors += validate.object_name(f + ".secret_name", opt.get("secret_name"), "Secret")
        errors += validate.labels(p + "node_selector", item.get("node_selector"))
        if item.get("node_affinity") is not None:
            errors += validate.node_selector_terms(p + "node_affinity", item["node_affinity"])
        return errors + validate.tolerations(p + "tolerations", item.get("tolerations"))

    def build(self, item):
        spec = driver.fields(item, (("tolerations", "tolerations"), ("placement", "placement"),
                                    ("access_modes", "accessModes"), ("owner", "owner")))
        spec = dict((k, v) for k, v in spec.items() if v)
        if item.get("mounts"):
            spec["mounts"] = [build_mount(m) for m in item["mounts"]]
        if item.get("shared_options"):
            spec["sharedOptions"] = driver.str_map(item["shared_options"])
        if item.get("shared_encrypt_options"):
            spec["sharedEncryptOptions"] = encrypt_options(item["shared_encrypt_options"])
        required = scheduling.required_node_affinity(item.get("node_selector"), item.get("node_affinity"))
        if required:
            spec["nodeAffinity"] = {"required": required}
        return driver.fluid_object(self.kind, item, spec)

    def secret_values(self, item):
        options = [m.get("options") for m in item.get("mounts") or []] + [item.get("shared_options")]
        return [v for o in options for v in secrets.secretish_values(o)]

    def hidden_values(self, item):
        return secrets.values(item.get("secrets"))

    def want(self, params):
        return "bound"

    def targets(self, unit, params):
        return [Target(self.kind, unit.namespace, unit.name, fluid.is_bound)]

    def summary(self, run, unit):
        return unit.entry(secrets=run.secrets.summaries(unit.item), runtimes=fluid.dataset_runtimes(unit.obj), **fluid.facts(
            unit.obj, "phase", "cache_states", "cache_capacity_bytes", "cached_bytes", "ufs_total", "ufs_total_bytes",
            "conditions"))

    def prepare(self, run):
        run.secrets = secrets.Declared()
        run.secrets.prepare(run)

    def after(self, run, failure):
        if not failure:
            run.secrets.delete(run)

    def extra_changed(self, run):
        return run.secrets.changed

    def extra_diffs(self, run):
        return run.secrets.diffs()


KIND = Dataset()


def main():
    driver.run(KIND)


if __name__ == "__main__":
    main()
