#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: datamigrate
short_description: Copy data into or out of a JuiceFS Dataset with a Fluid DataMigrate and wait until it is Complete
version_added: 0.1.0
author:
  - cloudnative.fluid contributors (@cloudnative)
description:
  - Create or delete a Fluid C(DataMigrate) (C(data.fluid.io/v1alpha1)). Fluid's dataset controller runs
    C(juicefs sync) in a Job (C(<name>-migrate-migrate)) that copies files from O(from) to O(to), out of a Dataset
    to external storage (an object store bucket, a PersistentVolumeClaim), or from external storage into a Dataset.
    While it runs, the Dataset's phase is C(DataMigrating); Fluid sets it back to C(Bound) when the DataMigrate
    has finished.
  - Fluid 1.0.8 runs a DataMigrate only on a Dataset served by a C(JuiceFSRuntime). The task fails before writing
    anything when the Dataset does not exist, or is served by another runtime kind (naming it).
  - With O(wait), waits by watching the API server until the DataMigrate is C(Complete) and Fluid has released its
    Dataset. If it becomes C(Failed) the task fails with the Job's reason, the exit code and message of the failed
    container and Fluid's warning events. On timeout the task fails with a diagnosis (the DataMigrate's phase,
    whether its Dataset is Bound, the Job's pods and why they do not run).
  - Idempotent by name. A DataMigrate runs once; a second identical task reports no change. If the requested
    DataMigrate differs from one that has finished or not started, it is deleted and created again (Fluid never
    re-runs a DataMigrate whose spec changed); one that is C(Executing) is left alone and the task fails saying so.
  - Credentials of external storage stay in Kubernetes Secrets, named by O(from.encrypt_options) or
    O(to.encrypt_options); a uri holding a user and password is refused. Option values that look like credentials
    are masked in the output.
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
    details: The diff shows the DataMigrate's labels, annotations and spec, before and after.
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
      - Name of the DataMigrate (a DNS-1035 label of at most 45 characters; Fluid names its Helm release
        C(<name>-migrate) and its Job C(<name>-migrate-migrate)).
    type: str
    required: true
  namespace:
    description: Namespace of the DataMigrate. Fluid requires the Dataset to be in the same namespace.
    type: str
    default: default
  state:
    description:
      - V(present) creates the DataMigrate and, with O(wait), waits until it is C(Complete).
      - V(absent) deletes it and, with O(wait), waits until Fluid removed it (and its Helm release and Job).
    type: str
    choices: [present, absent]
    default: present
  from:
    description:
      - Where the files come from (C(spec.from)), a Dataset of O(namespace) (O(from.dataset)) or external storage
        (O(from.uri)). Exactly one of O(from) and O(to) is a Dataset. Required for O(state=present).
    type: dict
    suboptions: &side
      dataset:
        description: A Dataset of O(namespace), served by a JuiceFSRuntime (C(dataset.name)).
        type: str
      path:
        description:
          - A path inside the Dataset (C(dataset.path)), absolute; leave it out for the whole Dataset. As with
            C(juicefs sync), end it with C(/) to copy a directory's contents.
        type: str
      uri:
        description:
          - External storage (C(externalStorage.uri)), as C(juicefs sync) addresses it, e.g.
            C(s3://bucket.s3.us-east-1.amazonaws.com/data/), C(oss://bucket.oss-cn-hangzhou.aliyuncs.com/data/),
            or C(pvc://<claim>/<path>) for a PersistentVolumeClaim of O(namespace), which Fluid mounts into the Job.
          - Without credentials; give them with C(encrypt_options). C(local://) is not supported by Fluid 1.0.8.
        type: str
      encrypt_options:
        description:
          - Credentials of the C(uri) (C(externalStorage.encryptOptions)), each read from a key of a Secret of
            O(namespace) (C(valueFrom.secretKeyRef)); the values never pass through Ansible.
          - Fluid puts C(access-key), C(secret-key) and C(token) into the URI it gives C(juicefs sync); any other
            name becomes an environment variable of the Job.
        type: list
        elements: dict
        suboptions:
          name:
            description: C(access-key), C(secret-key), C(token), or the name of an environment variable.
            type: str
            required: true
          secret_name:
            description: The Secret.
            type: str
            required: true
          secret_key:
            description: Its key.
            type: str
            required: true
  to:
    description:
      - Where the files go (C(spec.to)), a Dataset or external storage, as O(from). Required for O(state=present).
    type: dict
    suboptions: *side
  block:
    description:
      - C(spec.block), whether the DataMigrate blocks the use of the Dataset. Fluid 1.0.8 stores it but does not
        act on it.
    type: bool
  runtime_type:
    description:
      - C(spec.runtimeType), the type of the runtime that runs the migration; when set it must be the type of the
        runtime serving the Dataset, C(juicefs), which is also what Fluid uses without it.
    type: str
  options:
    description:
      - Flags of C(juicefs sync) (C(spec.options)), without the leading dashes; key C(threads) with value C(50)
        gives C(--threads=50), and an empty value the bare flag (key C(update), value C("") gives C(--update)).
        Keys and values may not contain spaces.
      - The key C(timeout) is not a flag but how long the sync may run (Fluid's default C(30m)).
    type: dict
  parallelism:
    description:
      - How many pods copy at once (C(spec.parallelism), Fluid's default 1). Above 1, Fluid starts
        O(parallelism) - 1 worker pods that the Job's pod drives over SSH; O(parallel_options.ssh_secret_name) is
        required then.
    type: int
  parallel_options:
    description: C(spec.parallelOptions), only with O(parallelism) above 1.
    type: dict
    suboptions:
      ssh_secret_name:
        description: A Secret of O(namespace) with the keys C(ssh-privatekey) and C(ssh-publickey) (C(sshSecretName)).
        type: str
      ssh_port:
        description: The port the pods' SSH servers listen on (C(sshPort), Fluid's default 22).
        type: int
      ssh_ready_timeout_seconds:
        description: How long to wait for the workers' SSH servers (C(sshReadyTimeoutSeconds), Fluid's default 180).
        type: int
  image:
    description:
      - Image of the Job (C(spec.image)), one with C(juicefs); Fluid 1.0.8's default is
        C(juicedata/juicefs-fuse:ce-v1.1.0-beta2) (its enterprise image for an enterprise JuiceFS runtime).
    type: str
  image_tag:
    description: Tag of O(image) (C(spec.imageTag)).
    type: str
  image_pull_policy:
    description:
      - C(spec.imagePullPolicy). Fluid 1.0.8's chart always pulls with C(IfNotPresent) and does not read it.
    type: str
    choices: [Always, IfNotPresent, Never]
  labels:
    description: Labels of the DataMigrate object.
    type: dict
  annotations:
    description: Annotations of the DataMigrate object.
    type: dict
  spec:
    description: Any further C(spec) fields with Fluid's camelCase names, merged last. Fields set by typed options cannot be set here too.
    type: dict
seealso:
  - module: cloudnative.fluid.dataload
  - module: cloudnative.fluid.dataprocess
  - module: cloudnative.fluid.runtime
  - name: Fluid DataMigrate
    description: Fluid's guide to migrating data with a DataMigrate.
    link: https://github.com/fluid-cloudnative/fluid/blob/master/docs/en/samples/datamigrate.md
notes:
  - Requires the C(kubernetes) Python library on the host that runs the module (see the collection's
    C(requirements.txt)).
  - Fluid starts a DataMigrate only once its Dataset is Bound and a JuiceFS worker pod is Running.
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
"""

EXAMPLES = r"""
- name: Copy a Dataset's checkpoints to S3
  cloudnative.fluid.datamigrate:
    name: checkpoints-to-s3
    namespace: training
    from:
      dataset: jfsdemo
      path: /checkpoints/
    to:
      uri: s3://backup.s3.us-east-1.amazonaws.com/checkpoints/
      encrypt_options:
        - {name: access-key, secret_name: s3-backup, secret_key: access-key}
        - {name: secret-key, secret_name: s3-backup, secret_key: secret-key}
    options:
      threads: 50
      timeout: 2h
    wait_timeout: 7200

- name: Fill a Dataset from an external bucket, with four pods
  cloudnative.fluid.datamigrate:
    name: imagenet-in
    from:
      uri: oss://imagenet.oss-cn-hangzhou.aliyuncs.com/train/
      encrypt_options:
        - {name: access-key, secret_name: oss-imagenet, secret_key: access-key}
        - {name: secret-key, secret_name: oss-imagenet, secret_key: secret-key}
    to:
      dataset: imagenet
      path: /train/
    parallelism: 4
    parallel_options:
      ssh_secret_name: migrate-ssh
"""

RETURN = r"""
changed:
  description: Whether the DataMigrate was created, replaced or deleted (or would be, in check mode).
  returned: always
  type: bool
name:
  description: DataMigrate name.
  returned: always
  type: str
  sample: checkpoints-to-s3
namespace:
  description: DataMigrate namespace.
  returned: always
  type: str
  sample: training
state:
  description: The requested state.
  returned: always
  type: str
  sample: present
dataset:
  description: The Dataset migrated into or out of.
  returned: when O(state=present)
  type: str
  sample: jfsdemo
from:
  description: Where the files come from, C(Dataset <namespace>/<name>:<path>) or the uri.
  returned: when O(state=present)
  type: str
  sample: "Dataset training/jfsdemo:/checkpoints/"
to:
  description: Where the files go, as RV(from).
  returned: when O(state=present)
  type: str
  sample: s3://backup.s3.us-east-1.amazonaws.com/checkpoints/
exists:
  description: Whether the DataMigrate exists after the task (in check mode, whether it would).
  returned: always
  type: bool
replaced:
  description: Whether an existing DataMigrate with a different spec was deleted and created again.
  returned: always
  type: bool
phase:
  description: C(status.phase) as last seen (C(Pending), C(Executing), C(Complete), C(Failed)); empty before Fluid writes one.
  returned: always
  type: str
  sample: Complete
duration:
  description: How long the Job ran, as Fluid writes it (C(status.duration)); C(Unfinished) while it runs.
  returned: always
  type: str
  sample: 3m12s
duration_seconds:
  description: RV(duration) in seconds, null while unfinished.
  returned: always
  type: float
  sample: 192.0
conditions:
  description: C(status.conditions) with type, status, reason and message, copied by Fluid from the Job's condition.
  returned: always
  type: list
  elements: dict
  sample: [{type: Complete, status: "True", reason: CompletionsReached, message: Reached expected number of succeeded pods}]
policy:
  description: C(spec.policy) as sent (V(Once) when not given).
  returned: when O(state=present)
  type: str
  sample: Once
schedule:
  description: C(spec.schedule) as sent, for a Cron DataMigrate.
  returned: always
  type: str
  sample: "0 3 * * 0"
last_schedule_time:
  description: When the last run of a Cron DataMigrate was scheduled (C(status.lastScheduleTime)), null before the first.
  returned: always
  type: str
  sample: "2026-12-06T03:00:00Z"
last_successful_time:
  description: When the last successful run of a Cron DataMigrate finished (C(status.lastSuccessfulTime)).
  returned: always
  type: str
  sample: "2026-12-06T03:12:40Z"
recorded:
  description:
    - Whether the DataMigrate no longer exists (Fluid deleted it after O(ttl_seconds_after_finished)) and the result
      comes from its record on the Dataset; RV(phase) and RV(duration) are then the recorded ones.
  returned: always
  type: bool
wait_seconds:
  description: Seconds from the start of the wait until the DataMigrate finished and its Dataset was released (or it was gone); 0 when not waited.
  returned: always
  type: float
  sample: 195.3
"""

from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import migrate
from ansible_collections.cloudnative.fluid.plugins.module_utils import operation
from ansible_collections.cloudnative.fluid.plugins.module_utils import secrets
from ansible_collections.cloudnative.fluid.plugins.module_utils.waiter import Target

ITEM_SPEC = driver.item_spec(**{
    "from": dict(type="dict", options=migrate.SIDE), "to": dict(type="dict", options=migrate.SIDE),
    "block": dict(type="bool"), "runtime_type": dict(type="str"), "options": dict(type="dict"),
    "parallelism": dict(type="int"), "parallel_options": dict(type="dict", options=migrate.PARALLEL_OPTIONS),
    "image": dict(type="str"), "image_tag": dict(type="str"),
    "image_pull_policy": dict(type="str", choices=["Always", "IfNotPresent", "Never"]),
}, **dict(operation.COMMON_SPEC, **dict(operation.SCHEDULE_SPEC, **operation.POD_SPEC)))
FIELDS = (("block", "block"), ("runtime_type", "runtimeType"), ("image", "image"), ("image_tag", "imageTag"),
          ("image_pull_policy", "imagePullPolicy"))


class DataMigrate(operation.Operation):
    kind = noun = fluid.DATAMIGRATE
    item_spec = ITEM_SPEC
    typed_spec = (("from", "from"), ("to", "to"), ("options", "options"), ("parallelism", "parallelism"),
                  ("parallelOptions", "parallel_options"), ("policy", "policy"), ("schedule", "schedule"),
                  ("runAfter", "run_after"), ("ttlSecondsAfterFinished", "ttl_seconds_after_finished")) + tuple(
                      (api, opt) for opt, api in FIELDS) + operation.POD_FIELDS
    credential_warning = ("options look like they hold credentials; keep them in a Secret and name it in "
                          "from.encrypt_options or to.encrypt_options (their values are masked in this output)")

    def validate(self, item, params):
        if item.get("state") == "absent":
            return []
        errors = migrate.validate_sides(item) + migrate.validate_sync(item) + operation.validate_common(item, self.kind)
        errors += operation.validate_schedule(item, params) + operation.validate_pod(item)
        if item.get("policy") == "Cron" and len(item["name"] or "") > migrate.CRON_NAME_MAX:
            errors.append("name: %r is longer than %d characters, too long for the CronJob Fluid names "
                          "%s-migrate-migrate; use a shorter name" % (item["name"], migrate.CRON_NAME_MAX, item["name"]))
        return errors

    def dataset_of(self, item):
        side = migrate.dataset_side(item)
        return item[side]["dataset"] if side else None

    def build(self, item):
        ns = item["namespace"]
        spec = {"from": migrate.build_side(item["from"], ns), "to": migrate.build_side(item["to"], ns)}
        spec.update(driver.fields(item, FIELDS))
        if item.get("options"):
            spec["options"] = driver.str_map(item["options"])
        spec.update(migrate.build_parallel(item), **operation.build_common(item))
        spec.update(operation.build_schedule(item), **operation.build_pod(item))
        return driver.fluid_object(self.kind, item, spec)

    def secret_values(self, item):
        return secrets.secretish_values(item.get("options"))

    def hidden_values(self, item):
        return [c for c in (migrate.userinfo((item.get(s) or {}).get("uri")) for s in migrate.SIDES) if c]

    def prepare(self, run):
        """Before any write: the Dataset exists and a JuiceFSRuntime serves it; the Secrets and the claim exist (in
        check mode a missing one is a warning, as a missing Dataset: an earlier task may create it)."""
        [unit] = run.units
        if unit.state != "present":
            return
        dataset = self.require_dataset(run, unit, self.dataset_of(unit.item))
        missing = migrate.reference_errors(run, unit)
        for text in missing if run.check else []:
            run.module.warn(text + " (check mode: reported as would-be created)")
        errors = [] if dataset is None else migrate.runtime_errors(run, unit, dataset)
        run.invalid(errors + ([] if run.check else missing))

    def targets(self, unit, params):
        """Complete (or Failed, or gone), and the Dataset released. Fluid v1.0.8 holds the Dataset from Pending on
        (pkg/ddc/base/operation.go:113, operation_lock.go:40-83: once CheckRuntimeReady finds a Running worker pod,
        pkg/ddc/juicefs/data_load.go:226-233) and releases it, back to Bound, in the reconcile after the one that
        wrote Complete or Failed (operation.go:212 and 301, operation_lock.go:86-117)."""
        name = unit.name

        def released(dataset):
            return dataset is None or name not in fluid.operations_holding(dataset, fluid.DATAMIGRATE)
        return operation.Operation.targets(self, unit, params) + [
            Target(fluid.DATASET, unit.namespace, self.dataset_of(unit.item), released)]

    def summary(self, run, unit):
        out = operation.Operation.summary(self, run, unit)
        if unit.state == "present":
            out["dataset"] = self.dataset_of(unit.item)
            out.update((s, migrate.describe(unit.item[s], unit.namespace)) for s in migrate.SIDES)
        return out


KIND = DataMigrate()


def main():
    driver.run(KIND)


if __name__ == "__main__":
    main()
