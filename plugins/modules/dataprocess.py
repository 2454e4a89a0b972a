#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dataprocess
short_description: Run a script or a pod on a Fluid Dataset with a DataProcess and wait until it is Complete
version_added: 0.1.0
author:
  - cloudnative.fluid contributors (@cloudnative)
description:
  - Create or delete a Fluid C(DataProcess) (C(data.fluid.io/v1alpha1)). Fluid's dataset controller runs a Job
    with the Dataset's volume mounted at O(mount_path), running either a shell script (O(script)) in an image of your
    choice, or a pod of your own (O(job_pod_spec)). Use it to prepare data next to its cache, for example to
    unpack or convert files before training, or as a step of a data flow (O(run_after)).
  - With O(wait), waits by watching the API server until the DataProcess is C(Complete). If it becomes C(Failed)
    the task fails with the Job's reason, the exit code and message of the failed container and Fluid's warning
    events. On timeout the task fails with a diagnosis (the DataProcess's phase, whether its Dataset is Bound,
    the Job's pods and why they do not run).
  - Idempotent by name. A DataProcess runs once; a second identical task reports no change. If the requested
    DataProcess differs from one that has finished or not started, it is deleted and created again (Fluid never
    re-runs a DataProcess whose spec changed); one that is C(Executing) is left alone and the task fails saying so.
  - All inputs are checked before anything is written, including that the Dataset exists in O(namespace).
extends_documentation_fragment:
  - cloudnative.fluid.auth_options
  - cloudnative.fluid.wait
  - cloudnative.fluid.attributes
  - cloudnative.fluid.operation
attributes:
  check_mode:
    support: full
    details: Changes are computed by a server-side dry run; nothing is written and nothing is awaited.
  diff_mode:
    support: full
    details: The diff shows the DataProcess's labels, annotations and spec, before and after.
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
      - Name of the DataProcess (a DNS-1035 label of at most 43 characters; Fluid names its Helm release
        C(<name>-processor) and its Job C(<name>-processor-job)).
    type: str
    required: true
  namespace:
    description: Namespace of the DataProcess. Fluid requires the Dataset to be in the same namespace.
    type: str
    default: default
  state:
    description:
      - V(present) creates the DataProcess and, with O(wait), waits until it is C(Complete).
      - V(absent) deletes it and, with O(wait), waits until Fluid removed it (and its Helm release and Job).
    type: str
    choices: [present, absent]
    default: present
  dataset:
    description: Name of the Dataset to process (C(spec.dataset.name)); required for O(state=present).
    type: str
  mount_path:
    description:
      - Where the Dataset's volume is mounted in the processor's containers (C(spec.dataset.mountPath)), an
        absolute path; required for O(state=present).
    type: str
  sub_path:
    description: A folder of the Dataset to mount instead of all of it (C(spec.dataset.subPath)).
    type: str
  script:
    description:
      - A shell script processor (C(spec.processor.script)). Give exactly one of O(script) and O(job_pod_spec).
    type: dict
    suboptions:
      image:
        description: Image that runs the script.
        type: str
        required: true
      image_tag:
        description: Tag of O(script.image).
        type: str
        required: true
      image_pull_policy:
        description: Pull policy of the image.
        type: str
        choices: [Always, IfNotPresent, Never]
      command:
        description: Entrypoint that runs the script (Fluid passes the script's path as its argument), e.g. C([bash]).
        type: list
        elements: str
      source:
        description: The script itself.
        type: str
        required: true
      env:
        description: Environment variables of the container, with Kubernetes field names (C(name), C(value), C(valueFrom)).
        type: list
        elements: dict
      restart_policy:
        description: Restart policy of the Job's pod.
        type: str
        choices: [Never, OnFailure]
      resources:
        description: Resource requests and limits of the container, with Kubernetes field names.
        type: dict
      volumes:
        description: Further volumes of the pod, with Kubernetes field names.
        type: list
        elements: dict
      volume_mounts:
        description: Where the container mounts O(script.volumes), with Kubernetes field names; not at O(mount_path).
        type: list
        elements: dict
  job_pod_spec:
    description:
      - A pod of your own as processor (C(spec.processor.job.podSpec)), with Kubernetes field names. Its
        C(restartPolicy) must be C(Never) or C(OnFailure) (a Job's pod). Fluid mounts the Dataset at O(mount_path)
        in each of its containers.
    type: dict
  service_account_name:
    description: Service account of the processor's pod (C(spec.processor.serviceAccountName)).
    type: str
  pod_labels:
    description: Labels of the processor's pod (C(spec.processor.podMetadata.labels)).
    type: dict
  pod_annotations:
    description: Annotations of the processor's pod (C(spec.processor.podMetadata.annotations)).
    type: dict
  labels:
    description: Labels of the DataProcess object.
    type: dict
  annotations:
    description: Annotations of the DataProcess object.
    type: dict
  spec:
    description: Any further C(spec) fields with Fluid's camelCase names, merged last. Fields set by typed options cannot be set here too.
    type: dict
seealso:
  - module: cloudnative.fluid.dataload
  - module: cloudnative.fluid.dataset_info
  - name: Fluid DataProcess
    description: Fluid's guide to processing a Dataset with a DataProcess.
    link: https://github.com/fluid-cloudnative/fluid/blob/master/docs/en/samples/dataprocess.md
notes:
  - Requires the C(kubernetes) Python library on the host that runs the module (see the collection's
    C(requirements.txt)).
  - Fluid starts a DataProcess only once its Dataset is Bound to a runtime.
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
"""

EXAMPLES = r"""
- name: Unpack the training archive next to its cache
  cloudnative.fluid.dataprocess:
    name: unpack-imagenet
    namespace: training
    dataset: imagenet
    mount_path: /data
    script:
      image: python
      image_tag: "3.11-slim"
      command: [bash]
      source: |
        set -e
        ls -lR /data | head
        python -c "import tarfile; tarfile.open('/data/imagenet/train.tar').extractall('/scratch')"
    wait_timeout: 3600
  register: unpack

- name: A pod of your own, after the cache was warmed
  cloudnative.fluid.dataprocess:
    name: check-cifar10
    dataset: cifar10
    mount_path: /data
    run_after:
      kind: DataLoad
      name: cifar10-warmup
    job_pod_spec:
      restartPolicy: Never
      containers:
        - name: check
          image: busybox
          command: [sh, -c, "du -sh /data/*"]
"""

RETURN = r"""
changed:
  description: Whether the DataProcess was created, replaced or deleted (or would be, in check mode).
  returned: always
  type: bool
name:
  description: DataProcess name.
  returned: always
  type: str
  sample: unpack-imagenet
namespace:
  description: DataProcess namespace.
  returned: always
  type: str
  sample: training
state:
  description: The requested state.
  returned: always
  type: str
  sample: present
dataset:
  description: The Dataset processed.
  returned: when O(state=present)
  type: str
  sample: imagenet
exists:
  description: Whether the DataProcess exists after the task (in check mode, whether it would).
  returned: always
  type: bool
replaced:
  description: Whether an existing DataProcess with a different spec was deleted and created again.
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
  sample: 42s
duration_seconds:
  description: RV(duration) in seconds, null while unfinished.
  returned: always
  type: float
  sample: 42.0
conditions:
  description:
    - C(status.conditions) with type, status, reason and message. Fluid copies the Job's first condition, which on
      Kubernetes 1.31 and later is C(SuccessCriteriaMet) (or C(FailureTarget)) rather than C(Complete) (C(Failed));
      RV(phase) is the outcome.
  returned: always
  type: list
  elements: dict
  sample: [{type: Complete, status: "True", reason: CompletionsReached, message: Reached expected number of succeeded pods}]
recorded:
  description:
    - Whether the DataProcess no longer exists (Fluid deleted it after O(ttl_seconds_after_finished)) and the result
      comes from its record on the Dataset; RV(phase) and RV(duration) are then the recorded ones.
  returned: always
  type: bool
wait_seconds:
  description: Seconds from the start of the wait until the DataProcess finished (or was gone); 0 when not waited.
  returned: always
  type: float
  sample: 44.1
"""

import posixpath

from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import operation
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate

SCRIPT = dict(image=dict(type="str", required=True), image_tag=dict(type="str", required=True),
              image_pull_policy=dict(type="str", choices=["Always", "IfNotPresent", "Never"]),
              command=dict(type="list", elements="str"), source=dict(type="str", required=True),
              env=dict(type="list", elements="dict"), restart_policy=dict(type="str", choices=["Never", "OnFailure"]),
              resources=dict(type="dict"), volumes=dict(type="list", elements="dict"),
              volume_mounts=dict(type="list", elements="dict"))
ITEM_SPEC = driver.item_spec(
    dataset=dict(type="str"), mount_path=dict(type="str"), sub_path=dict(type="str"),
    script=dict(type="dict", options=SCRIPT), job_pod_spec=dict(type="dict"), service_account_name=dict(type="str"),
    pod_labels=dict(type="dict"), pod_annotations=dict(type="dict"), **operation.COMMON_SPEC)
SCRIPT_FIELDS = (("image", "image"), ("image_tag", "imageTag"), ("image_pull_policy", "imagePullPolicy"),
                 ("command", "command"), ("source", "source"), ("env", "env"), ("restart_policy", "restartPolicy"),
                 ("resources", "resources"), ("volumes", "volumes"), ("volume_mounts", "volumeMounts"))


class DataProcess(operation.Operation):
    kind = noun = fluid.DATAPROCESS
    item_spec = ITEM_SPEC
    typed_spec = (("dataset", "dataset"), ("processor", "script/job_pod_spec"), ("runAfter", "run_after"),
                  ("ttlSecondsAfterFinished", "ttl_seconds_after_finished"))

    def validate(self, item, params):
        if item.get("state") == "absent":
            return []
        errors = []
        if not item.get("dataset"):
            errors.append("dataset: is required with state=present; name the Dataset to process (it must be in "
                          "namespace %s)" % item.get("namespace"))
        else:
            errors += validate.resource_name("dataset", item["dataset"], "Dataset")
        mount = item.get("mount_path")
        if not mount or not str(mount).startswith("/"):
            errors.append("mount_path: %r is not an absolute path; say where the processor sees the Dataset, e.g. "
                          "mount_path: /data" % (mount,))
        if bool(item.get("script")) == bool(item.get("job_pod_spec")):
            errors.append("script, job_pod_spec: give exactly one processor (Fluid refuses none and both), e.g. "
                          "script: {image: busybox, image_tag: latest, source: 'ls /data'}")
        for i, vm in enumerate((item.get("script") or {}).get("volume_mounts") or []):
            if mount and posixpath.normpath(str(vm.get("mountPath") or "")) == posixpath.normpath(str(mount)):
                errors.append("script.volume_mounts[%d].mountPath: %r is the Dataset's mount_path; mount it elsewhere"
                              % (i, vm.get("mountPath")))
        pod = item.get("job_pod_spec")
        if pod is not None and pod.get("restartPolicy") not in ("Never", "OnFailure"):
            errors.append("job_pod_spec.restartPolicy: %r cannot run in a Job; set restartPolicy: Never (or OnFailure)"
                          % (pod.get("restartPolicy"),))
        if pod is not None and not pod.get("containers"):
            errors.append("job_pod_spec.containers: the pod needs at least one container")
        errors += validate.labels("pod_labels", item.get("pod_labels"))
        errors += validate.labels("pod_annotations", item.get("pod_annotations"), values=False)
        return errors + operation.validate_common(item, self.kind)

    def build(self, item):
        dataset = {"name": item["dataset"], "namespace": item["namespace"], "mountPath": item["mount_path"]}
        dataset.update(driver.fields(item, (("sub_path", "subPath"),)))
        processor = driver.fields(item, (("service_account_name", "serviceAccountName"),))
        if operation.pod_metadata(item):
            processor["podMetadata"] = operation.pod_metadata(item)
        if item.get("script"):
            processor["script"] = driver.fields(item["script"], SCRIPT_FIELDS)
        else:
            processor["job"] = {"podSpec": item["job_pod_spec"]}
        spec = dict(operation.build_common(item), dataset=dataset, processor=processor)
        return driver.fluid_object(self.kind, item, spec)

    def prepare(self, run):
        for unit in run.units:
            if unit.state == "present":
                self.require_dataset(run, unit, unit.item["dataset"])

    def summary(self, run, unit):
        out = operation.Operation.summary(self, run, unit)
        if unit.state == "present":
            out["dataset"] = unit.item["dataset"]
        return out


KIND = DataProcess()


def main():
    driver.run(KIND)


if __name__ == "__main__":
    main()
