# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options of every data operation module (dataload, dataprocess, datamigrate, databackup).
    DOCUMENTATION = r"""
options:
  run_after:
    description:
      - Start only once another data operation is C(Complete) (C(spec.runAfter)), to chain operations into a data
        flow. Fluid keeps this operation C(Pending) until then. If the preceding operation fails, Fluid never
        starts this one; the wait then times out and its diagnosis names the preceding operation.
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
        description: Namespace of the preceding operation; defaults to this operation's namespace.
        type: str
      affinity_strategy:
        description:
          - Run this operation's pod on (or near) the node where an earlier operation ran
            (C(spec.runAfter.affinityStrategy)).
          - Fluid applies it only when its C(DataflowAffinity) feature gate is on (alpha, off by default); without
            it the strategy is accepted and has no effect.
        type: dict
        suboptions:
          policy:
            description: V(Require) (must run there) or V(Prefer) (should run there).
            type: str
            choices: [Require, Prefer]
          depend_on:
            description: The operation whose node counts; defaults to the one of O(run_after).
            type: dict
            suboptions:
              kind:
                description: Kind of that operation.
                type: str
                required: true
                choices: [DataLoad, DataProcess, DataMigrate, DataBackup]
              name:
                description: Name of that operation.
                type: str
                required: true
              namespace:
                description: Its namespace; defaults to this operation's namespace.
                type: str
          prefers:
            description:
              - With V(Prefer), the node labels to match and their weight (1 to 100); Fluid's default is
                C(kubernetes.io/hostname) with weight 100.
            type: list
            elements: dict
            suboptions:
              name:
                description: A node label key, for example C(topology.kubernetes.io/zone).
                type: str
                required: true
              weight:
                description: Weight of the preference, 1 to 100.
                type: int
          requires:
            description:
              - With V(Require), the node labels that must match; Fluid's default is C(kubernetes.io/hostname).
            type: list
            elements: dict
            suboptions:
              name:
                description: A node label key.
                type: str
                required: true
  ttl_seconds_after_finished:
    description:
      - Fluid deletes the operation this many seconds after it finished (C(spec.ttlSecondsAfterFinished)).
      - So that a playbook run after that does not run it again, the module keeps a record of the operation on its
        Dataset, in the annotation C(operations.cloudnative.fluid/<kind>.<name>) (the spec's digest, the phase and
        the duration). A later task with the same spec then reports C(ok) with RV(recorded=true) and the recorded
        outcome, and creates nothing; a changed spec runs it again; O(state=absent) deletes the record. The record
        goes with the Dataset.
      - Fluid deletes a DataProcess only when the condition it copied from the Job is C(Complete) or C(Failed); on
        Kubernetes 1.31 and later a Job's first condition is C(SuccessCriteriaMet) or C(FailureTarget), so Fluid
        1.0.8 keeps a DataProcess there.
    type: int
"""

    SCHEDULE = r"""
options:
  policy:
    description:
      - V(Once) (Fluid's default) runs the operation once. V(Cron) runs it on O(schedule), as a CronJob.
      - With V(Cron) and O(wait), the task waits for the next run, one scheduled after the task started, to finish
        (so O(wait_timeout) must cover the schedule's interval), and fails if that run fails. With O(wait=false) it
        returns at once; either way the result reports the last run (RV(last_schedule_time),
        RV(last_successful_time), RV(phase) and RV(conditions) of that run).
      - Fluid v1.0.8 does not implement V(OnEvent) (its status handler does nothing); it is refused.
      - A changed Cron operation is deleted and created again, which stops a run in progress; Fluid never updates
        the CronJob of an existing operation.
    type: str
    choices: [Once, Cron, OnEvent]
  schedule:
    description:
      - With O(policy=Cron), when to run, as a cron expression (C(minute hour day-of-month month day-of-week), for
        example V(0 2 * * *) for every day at 02:00) or a macro such as V(@hourly).
    type: str
"""

    POD = r"""
options:
  node_selector:
    description: Node labels the operation's pod must run on (C(spec.nodeSelector)).
    type: dict
  tolerations:
    description: Tolerations of the operation's pod (C(spec.tolerations)), with API field names.
    type: list
    elements: dict
  affinity:
    description: Affinity of the operation's pod (C(spec.affinity)), a Kubernetes C(Affinity) with API field names.
    type: dict
  scheduler_name:
    description: Scheduler of the operation's pod (C(spec.schedulerName)).
    type: str
  resources:
    description:
      - "Resources of the operation's pod (C(spec.resources)), with C(requests) and C(limits), for example
        C({limits: {cpu: '2', memory: 4Gi}})."
    type: dict
  pod_labels:
    description: Labels added to the operation's pod (C(spec.podMetadata.labels)).
    type: dict
  pod_annotations:
    description: Annotations added to the operation's pod (C(spec.podMetadata.annotations)).
    type: dict
"""
