#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: databackup
short_description: Back up the metadata of an Alluxio or GooseFS Dataset with a Fluid DataBackup
version_added: 0.1.0
author:
  - cloudnative.fluid contributors (@cloudnative)
description:
  - Create or delete a Fluid C(DataBackup) (C(data.fluid.io/v1alpha1)). Fluid's dataset controller runs a Pod
    C(<name>-pod) on the node of the runtime's master, which saves the master's metadata
    (C(metadata-backup-<dataset>-<namespace>.gz)) and a summary of the Dataset (C(<dataset>-<namespace>.yaml)) to
    O(backup_path). A Dataset created later with C(spec.dataRestoreLocation) pointing there starts from that
    metadata instead of scanning its storage again.
  - Only Datasets bound to an C(AlluxioRuntime) or a C(GooseFSRuntime) can be backed up; the module checks this
    before writing anything.
  - B(Fluid 1.0.0 to 1.0.8 crash on a DataBackup.) As soon as a DataBackup is C(Executing) or C(Failed), Fluid's
    dataset-controller dereferences a nil pointer (C(pkg/controllers/v1alpha1/databackup/implement.go:139-141)),
    exits, and crashes again on the same DataBackup each time it restarts; meanwhile no Dataset, DataLoad or
    DataProcess of the cluster is reconciled, and the DataBackup never becomes C(Complete). No Fluid release fixes
    this yet. So by default the module refuses to create (or re-create) a DataBackup, and writes nothing; set
    O(allow_controller_crash=true) to create it anyway, for example with a Fluid build that has the fix. Deleting
    the DataBackup (O(state=absent)) ends the crash loop.
  - With O(wait), waits by watching the API server until the DataBackup is C(Complete) and returns where the
    backup went (RV(backup_location_path), RV(backup_location_node)). If it becomes C(Failed) the task fails with
    Fluid's reason, the exit code and message of the backup Pod's container and Fluid's warning events. On timeout
    the task fails with a diagnosis (phase, the Dataset, the backup Pod and why it does not run).
  - Idempotent by name. A DataBackup runs once; a second identical task reports no change. A DataBackup whose
    requested spec differs is deleted and created again once it finished (Fluid never re-runs one); one that is
    C(Executing) is left alone and the task fails saying so.
extends_documentation_fragment:
  - cloudnative.fluid.auth_options
  - cloudnative.fluid.wait
  - cloudnative.fluid.attributes
  - cloudnative.fluid.operation
attributes:
  check_mode:
    support: full
    details: >-
      Changes are computed by a server-side dry run; nothing is written and nothing is awaited. The checks that
      refuse a task (the Dataset's runtime, O(allow_controller_crash)) apply in check mode too.
  diff_mode:
    support: full
    details: The diff shows the DataBackup's labels, annotations and spec, before and after.
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
      - Name of the DataBackup (a DNS-1035 label of at most 46 characters; Fluid names its Helm release
        C(<name>-charts) and its Pod C(<name>-pod)).
    type: str
    required: true
  namespace:
    description: Namespace of the DataBackup; the Dataset must be in the same namespace.
    type: str
    default: default
  state:
    description:
      - V(present) creates the DataBackup and, with O(wait), waits until it is C(Complete).
      - V(absent) deletes it and, with O(wait), waits until Fluid removed it (and its Helm release and Pod). This
        also ends the dataset-controller's crash loop that a DataBackup causes in Fluid 1.0.0 to 1.0.8.
    type: str
    choices: [present, absent]
    default: present
  dataset:
    description: Name of the Dataset to back up (C(spec.dataset)), in O(namespace); required for O(state=present).
    type: str
  backup_path:
    description:
      - Where the backup goes (C(spec.backupPath)); required for O(state=present).
      - V(local:///<folder>), an absolute folder on the node that runs the runtime's master (RV(backup_location_node)
        says which), for example V(local:///var/lib/fluid-backups).
      - V(pvc://<pvc name>/<folder>), a folder in a PersistentVolumeClaim of O(namespace), for example
        V(pvc://backup-pvc/imagenet).
    type: str
  run_as:
    description:
      - The user that runs the backup (C(spec.runAs)); give all four fields. Without it Fluid uses the runtime's
        C(runAs), else root.
    type: dict
    suboptions:
      uid:
        description: User ID.
        type: int
      gid:
        description: Group ID.
        type: int
      user:
        description: User name.
        type: str
      group:
        description: Group name.
        type: str
  allow_controller_crash:
    description:
      - Create the DataBackup even though Fluid 1.0.0 to 1.0.8 crash-loop their dataset-controller on it (see the
        description). Without it the module refuses to create or re-create a DataBackup and writes nothing.
      - Set it only with a Fluid build that has the fix, or where stopping the dataset-controller of the whole
        cluster until the DataBackup is deleted is acceptable.
      - Not needed to delete a DataBackup, nor to read or wait for one that exists with the same spec.
    type: bool
    default: false
  labels:
    description: Labels of the DataBackup object.
    type: dict
  annotations:
    description: Annotations of the DataBackup object.
    type: dict
  spec:
    description: Any further C(spec) fields with Fluid's camelCase names, merged last. Fields set by typed options cannot be set here too.
    type: dict
seealso:
  - module: cloudnative.fluid.dataset
  - module: cloudnative.fluid.runtime
  - module: cloudnative.fluid.dataload
  - name: Fluid DataBackup
    description: Fluid's guide (in Chinese) to backing up a Dataset's metadata and restoring a Dataset from it.
    link: https://github.com/fluid-cloudnative/fluid/blob/master/docs/zh/samples/backup_and_restore_metadata.md
notes:
  - Requires the C(kubernetes) Python library on the host that runs the module (see the collection's
    C(requirements.txt)).
  - Fluid starts a DataBackup only once its Dataset is Bound and the runtime's master answers.
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
"""

EXAMPLES = r"""
- name: Back up the metadata of the imagenet Dataset to a folder of the master's node
  cloudnative.fluid.databackup:
    name: imagenet-backup
    namespace: training
    dataset: imagenet
    backup_path: local:///var/lib/fluid-backups
    allow_controller_crash: true  # Fluid 1.0.0 to 1.0.8: its dataset-controller crash-loops until the backup is deleted
  register: backup

- name: Show where the backup went
  ansible.builtin.debug:
    msg: "{{ backup.backup_location_path }} on {{ backup.backup_location_node }}"

- name: Back up to a PVC, as user alluxio, and let Fluid delete the DataBackup a day later
  cloudnative.fluid.databackup:
    name: cifar10-backup
    dataset: cifar10
    backup_path: pvc://backup-pvc/cifar10
    run_as: {uid: 1000, gid: 1000, user: alluxio, group: alluxio}
    ttl_seconds_after_finished: 86400
    allow_controller_crash: true

- name: Delete a DataBackup (ends the dataset-controller's crash loop on Fluid 1.0.0 to 1.0.8)
  cloudnative.fluid.databackup:
    name: imagenet-backup
    namespace: training
    state: absent
"""

RETURN = r"""
changed:
  description: Whether the DataBackup was created, replaced or deleted (or would be, in check mode).
  returned: always
  type: bool
name:
  description: DataBackup name.
  returned: always
  type: str
  sample: imagenet-backup
namespace:
  description: DataBackup namespace.
  returned: always
  type: str
  sample: training
state:
  description: The requested state.
  returned: always
  type: str
  sample: present
dataset:
  description: The Dataset backed up.
  returned: when O(state=present)
  type: str
  sample: imagenet
exists:
  description: Whether the DataBackup exists after the task (in check mode, whether it would).
  returned: always
  type: bool
replaced:
  description: Whether an existing DataBackup with a different spec was deleted and created again.
  returned: always
  type: bool
phase:
  description: C(status.phase) as last seen (C(Pending), C(Executing), C(Complete), C(Failed)); empty before Fluid writes one.
  returned: always
  type: str
  sample: Complete
duration:
  description: How long the backup Pod ran, as Fluid writes it (C(status.duration)); C(Unfinished) while it runs.
  returned: always
  type: str
  sample: 12s
duration_seconds:
  description: RV(duration) in seconds, null while unfinished.
  returned: always
  type: float
  sample: 12.0
conditions:
  description: C(status.conditions) with type, status, reason (C(BackupSuccessful), C(BackupFailed)) and message.
  returned: always
  type: list
  elements: dict
  sample: [{type: Complete, status: "True", reason: BackupSuccessful, message: Backup Pod exec successfully and finish}]
backup_location_path:
  description: Where Fluid saved the backup (C(status.infos.BackupLocationPath)); null until C(Complete).
  returned: always
  type: str
  sample: local:///var/lib/fluid-backups
backup_location_node:
  description:
    - The node that holds a V(local://) backup (C(status.infos.BackupLocationNodeName)); C(NA) for a V(pvc://)
      backup; null until C(Complete).
  returned: always
  type: str
  sample: node-1
recorded:
  description:
    - Whether the DataBackup no longer exists (Fluid deleted it after O(ttl_seconds_after_finished)) and the result
      comes from its record on the Dataset; RV(phase) and RV(duration) are then the recorded ones.
  returned: always
  type: bool
wait_seconds:
  description: Seconds from the start of the wait until the DataBackup finished (or was gone); 0 when not waited.
  returned: always
  type: float
  sample: 14.2
"""

from ansible_collections.cloudnative.fluid.plugins.module_utils import backup
from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import operation
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate

RUN_AS = dict(uid=dict(type="int"), gid=dict(type="int"), user=dict(type="str"), group=dict(type="str"))
ITEM_SPEC = driver.item_spec(dataset=dict(type="str"), backup_path=dict(type="str"),
                             run_as=dict(type="dict", options=RUN_AS), **operation.COMMON_SPEC)


class DataBackup(operation.Operation):
    kind = noun = fluid.DATABACKUP
    item_spec = ITEM_SPEC
    module_spec = {backup.OPT_IN: dict(type="bool", default=False)}
    typed_spec = (("dataset", "dataset"), ("backupPath", "backup_path"), ("runAs", "run_as"),
                  ("runAfter", "run_after"), ("ttlSecondsAfterFinished", "ttl_seconds_after_finished"))

    def validate(self, item, params):
        if item.get("state") == "absent":
            return []
        errors = []
        if not item.get("dataset"):
            errors.append("dataset: is required with state=present; name the Dataset to back up (it must be in "
                          "namespace %s)" % item.get("namespace"))
        else:
            errors += validate.resource_name("dataset", item["dataset"], "Dataset")
        errors += backup.validate_backup_path("backup_path", item.get("backup_path"))
        errors += backup.validate_run_as("run_as", item.get("run_as"))
        return errors + operation.validate_common(item, self.kind)

    def build(self, item):
        spec = dict(operation.build_common(item), dataset=item["dataset"], backupPath=item["backup_path"])
        if item.get("run_as"):
            spec["runAs"] = backup.build_run_as(item["run_as"])
        return driver.fluid_object(self.kind, item, spec)

    def prepare(self, run):
        """Before any write: the Dataset exists and its runtime backs up; a new DataBackup needs the opt-in."""
        for unit in run.units:
            if unit.state != "present":
                continue
            dataset = self.require_dataset(run, unit, unit.item["dataset"])
            problem = backup.runtime_problem(dataset) if dataset is not None else None
            if problem and not run.check:
                run.fail(problem)
            elif problem:
                run.module.warn(problem + " (check mode: reported as would-be created)")
            if run.existing(unit) is not None or self.settled(run, unit):
                continue
            if not run.params[backup.OPT_IN]:
                run.fail(backup.refusal(unit.ref))
            run.module.warn("%s: %s is set; on Fluid 1.0.0 to 1.0.8 this DataBackup crash-loops the dataset-controller "
                            "until it is deleted (state: absent)." % (unit.ref, backup.OPT_IN))

    def replace(self, run, unit, existing):
        if (unit.before or {}).get("spec") != (unit.after or {}).get("spec") and not run.params[backup.OPT_IN]:
            run.fail(backup.refusal(unit.ref, replacing=True))
        return operation.Operation.replace(self, run, unit, existing)

    def finished(self, run, unit):
        failure = operation.Operation.finished(self, run, unit)
        if failure and fluid.phase(unit.obj) == fluid.OP_FAILED:
            failure += " " + backup.BUG
        return failure

    def summary(self, run, unit):
        out = operation.Operation.summary(self, run, unit)
        if unit.state == "present":
            out["dataset"] = unit.item["dataset"]
        out.update(backup.location(unit.obj))
        return out


KIND = DataBackup()


def main():
    driver.run(KIND)


if __name__ == "__main__":
    main()
