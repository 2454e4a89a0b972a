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
  - Create, update or delete a Fluid runtime (C(AlluxioRuntime), C(GooseFSRuntime), C(JindoRuntime),
    C(JuiceFSRuntime), C(ThinRuntime), C(EFCRuntime) or C(VineyardRuntime), C(data.fluid.io/v1alpha1)), one or many
    in one task.
  - A runtime caches the Dataset of the same name and namespace (see M(cloudnative.fluid.dataset)) on its workers;
    Fluid marks that Dataset C(Bound) once the runtime is ready.
  - Options map one to one to the runtime's fields (snake_case here, camelCase in Fluid). O(spec) is merged last for
    fields this module does not type. An option the kind's Fluid API type does not have is refused, naming the kinds
    that have it.
  - All inputs are checked before anything is written; an error names the field and what to write instead.
  - Objects are written with server-side apply (field manager C(cloudnative.fluid)). A task reports a change only
    when a field it sets differs; fields that the API server or Fluid fill in (for example C(volumeType)) never cause
    a change.
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
    choices: [AlluxioRuntime, JindoRuntime, JuiceFSRuntime, ThinRuntime, GooseFSRuntime, EFCRuntime, VineyardRuntime]
    default: AlluxioRuntime
  runtimes:
    description:
      - Many runtimes in one task, each a mapping with the same options as this module's top level (V(name),
        V(namespace), V(state), V(kind), V(replicas), V(tiered_store), V(master), V(worker), V(fuse), V(properties),
        V(image), V(image_tag), V(data), V(run_as), V(volumes), V(api_gateway), V(management), V(configs),
        V(network_mode), V(labels), V(annotations), V(spec)).
      - All are validated before any is written, and awaited together within one O(wait_timeout).
      - Mutually exclusive with O(name); the other per-runtime options must then be set inside each item.
    type: list
    elements: dict
  replicas:
    description:
      - Number of cache workers (C(spec.replicas)). At most one worker runs per node, on nodes that match the
        Dataset's node affinity.
      - Leave it out to leave the number alone. An existing runtime then keeps the number it has, whoever set it
        (an autoscaler, C(kubectl scale), another tool), and a re-run reports no change. A new runtime starts with
        O(autoscaling.min_replicas), or without workers when there is no O(autoscaling).
    type: int
  tiered_store:
    description:
      - Cache tiers (C(spec.tieredstore.levels)), fastest first. The cache capacity Fluid reports is the sum of the
        quotas times the number of ready workers.
      - Required for VineyardRuntime, whose tiers are V(MEM) (vineyardd's shared memory, a quota without a path) and
        V(SSD) (its spill storage). EFCRuntime's workers use the first path of the fastest tier only.
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
            for example C(/dev/shm). Required, except for VineyardRuntime's V(MEM) tier.
        type: str
      quota:
        description:
          - Size of the tier as a Kubernetes quantity (C(quota)), for example C(2Gi) or C(10Gi); divided equally
            among the tier's paths. Required unless O(tiered_store[].quota_list) is given.
        type: str
      quota_list:
        description:
          - One size per path of a tier with several paths (C(quotaList)), comma-separated without spaces in the
            order of O(tiered_store[].path), each with a unit, for example C(100Gi,50Gi). Fluid then ignores
            O(tiered_store[].quota).
        type: str
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
      - Master component (C(spec.master)). ThinRuntime has none; JuiceFSRuntime's is declared by Fluid but not used.
      - Each suboption is refused for a kind whose master lacks it, naming the kinds that have it.
    type: dict
    suboptions:
      jvm_options:
        description: JVM options (C(jvmOptions)); AlluxioRuntime and GooseFSRuntime only.
        type: list
        elements: str
      properties:
        description:
          - Properties of the component (C(properties)), values sent as strings; AlluxioRuntime, GooseFSRuntime,
            JindoRuntime and EFCRuntime only. Values of keys that look like secrets are masked in the output.
        type: dict
      options:
        description:
          - Options of the component (C(options)), values sent as strings (an empty value is kept, as C(writeback)
            without a value); JuiceFSRuntime (master, worker, fuse), ThinRuntime (fuse) and VineyardRuntime (master,
            worker, fuse). Values of keys that look like secrets are masked in the output.
        type: dict
      node_selector:
        description: Node labels the component's pods must run on (C(nodeSelector)); every component but
          VineyardRuntime's fuse.
        type: dict
      resources:
        description: Kubernetes resource C(requests) and C(limits) of the component (C(resources)).
        type: dict
      image:
        description:
          - Image of the component (C(image)). Only the fuse of AlluxioRuntime, GooseFSRuntime, JindoRuntime and
            JuiceFSRuntime has one (their master and workers use the runtime's O(image)); every component of
            ThinRuntime, EFCRuntime (sent as C(version.image)) and VineyardRuntime has one.
        type: str
      image_tag:
        description: Tag of the component's image (C(imageTag); EFCRuntime C(version.imageTag)).
        type: str
      env:
        description:
          - Environment variables of the component (C(env)), as a mapping; sent as a map or as a list of
            C(name)/C(value) pairs, whichever the kind expects. EFCRuntime has none. Values of keys that look like
            secrets are masked.
        type: dict
      command:
        description: Command of the FUSE container (C(command)); ThinRuntime's fuse only (it replaces the profile's).
        type: list
        elements: str
      args:
        description: Arguments of the FUSE program (C(args)); the fuse of AlluxioRuntime, GooseFSRuntime, JindoRuntime
          and ThinRuntime.
        type: list
        elements: str
      clean_policy:
        description:
          - When Fluid removes the FUSE pod from a node (C(cleanPolicy)); the fuse of every kind. V(OnDemand) when no
            pod on the node uses the Dataset any more, V(OnRuntimeDeleted) only with the runtime (Fluid's default),
            V(OnFuseChanged) when unused and the fuse spec changed.
        type: str
        choices: [OnDemand, OnRuntimeDeleted, OnFuseChanged]
      network_mode:
        description:
          - V(HostNetwork) (Fluid's default) or V(ContainerNetwork) for the component's pods (C(networkMode)).
          - AlluxioRuntime, JuiceFSRuntime, EFCRuntime and VineyardRuntime (master, worker, fuse), ThinRuntime (worker,
            fuse). JindoRuntime has one for the whole runtime (O(network_mode)); GooseFSRuntime has none.
        type: str
        choices: [HostNetwork, ContainerNetwork]
      volume_mounts:
        description:
          - Volumes of O(volumes) to mount into the component's containers (C(volumeMounts)), as Kubernetes
            VolumeMounts with API field names (C(name), C(mountPath), C(subPath), C(readOnly)). Each must name a
            volume of O(volumes) (or of C(spec.volumes)).
          - AlluxioRuntime and JuiceFSRuntime (master, worker, fuse), JindoRuntime and VineyardRuntime (master,
            worker), ThinRuntime (worker, fuse).
        type: list
        elements: dict
  worker:
    description:
      - Worker component (C(spec.worker)), the cache workers.
      - Each suboption is refused for a kind whose worker lacks it, naming the kinds that have it.
    type: dict
    suboptions:
      jvm_options:
        description: JVM options (C(jvmOptions)); AlluxioRuntime and GooseFSRuntime only.
        type: list
        elements: str
      properties:
        description:
          - Properties of the component (C(properties)), values sent as strings; AlluxioRuntime, GooseFSRuntime,
            JindoRuntime and EFCRuntime only. Values of keys that look like secrets are masked in the output.
        type: dict
      options:
        description:
          - Options of the component (C(options)), values sent as strings (an empty value is kept, as C(writeback)
            without a value); JuiceFSRuntime (master, worker, fuse), ThinRuntime (fuse) and VineyardRuntime (master,
            worker, fuse). Values of keys that look like secrets are masked in the output.
        type: dict
      node_selector:
        description: Node labels the component's pods must run on (C(nodeSelector)); every component but
          VineyardRuntime's fuse.
        type: dict
      resources:
        description: Kubernetes resource C(requests) and C(limits) of the component (C(resources)).
        type: dict
      image:
        description:
          - Image of the component (C(image)). Only the fuse of AlluxioRuntime, GooseFSRuntime, JindoRuntime and
            JuiceFSRuntime has one (their master and workers use the runtime's O(image)); every component of
            ThinRuntime, EFCRuntime (sent as C(version.image)) and VineyardRuntime has one.
        type: str
      image_tag:
        description: Tag of the component's image (C(imageTag); EFCRuntime C(version.imageTag)).
        type: str
      env:
        description:
          - Environment variables of the component (C(env)), as a mapping; sent as a map or as a list of
            C(name)/C(value) pairs, whichever the kind expects. EFCRuntime has none. Values of keys that look like
            secrets are masked.
        type: dict
      command:
        description: Command of the FUSE container (C(command)); ThinRuntime's fuse only (it replaces the profile's).
        type: list
        elements: str
      args:
        description: Arguments of the FUSE program (C(args)); the fuse of AlluxioRuntime, GooseFSRuntime, JindoRuntime
          and ThinRuntime.
        type: list
        elements: str
      clean_policy:
        description:
          - When Fluid removes the FUSE pod from a node (C(cleanPolicy)); the fuse of every kind. V(OnDemand) when no
            pod on the node uses the Dataset any more, V(OnRuntimeDeleted) only with the runtime (Fluid's default),
            V(OnFuseChanged) when unused and the fuse spec changed.
        type: str
        choices: [OnDemand, OnRuntimeDeleted, OnFuseChanged]
      network_mode:
        description:
          - V(HostNetwork) (Fluid's default) or V(ContainerNetwork) for the component's pods (C(networkMode)).
          - AlluxioRuntime, JuiceFSRuntime, EFCRuntime and VineyardRuntime (master, worker, fuse), ThinRuntime (worker,
            fuse). JindoRuntime has one for the whole runtime (O(network_mode)); GooseFSRuntime has none.
        type: str
        choices: [HostNetwork, ContainerNetwork]
      volume_mounts:
        description:
          - Volumes of O(volumes) to mount into the component's containers (C(volumeMounts)), as Kubernetes
            VolumeMounts with API field names (C(name), C(mountPath), C(subPath), C(readOnly)). Each must name a
            volume of O(volumes) (or of C(spec.volumes)).
          - AlluxioRuntime and JuiceFSRuntime (master, worker, fuse), JindoRuntime and VineyardRuntime (master,
            worker), ThinRuntime (worker, fuse).
        type: list
        elements: dict
  fuse:
    description:
      - FUSE client component (C(spec.fuse)); VineyardRuntime's is its client socket.
      - Each suboption is refused for a kind whose fuse lacks it, naming the kinds that have it.
    type: dict
    suboptions:
      jvm_options:
        description: JVM options (C(jvmOptions)); AlluxioRuntime and GooseFSRuntime only.
        type: list
        elements: str
      properties:
        description:
          - Properties of the component (C(properties)), values sent as strings; AlluxioRuntime, GooseFSRuntime,
            JindoRuntime and EFCRuntime only. Values of keys that look like secrets are masked in the output.
        type: dict
      options:
        description:
          - Options of the component (C(options)), values sent as strings (an empty value is kept, as C(writeback)
            without a value); JuiceFSRuntime (master, worker, fuse), ThinRuntime (fuse) and VineyardRuntime (master,
            worker, fuse). Values of keys that look like secrets are masked in the output.
        type: dict
      node_selector:
        description: Node labels the component's pods must run on (C(nodeSelector)); every component but
          VineyardRuntime's fuse.
        type: dict
      resources:
        description: Kubernetes resource C(requests) and C(limits) of the component (C(resources)).
        type: dict
      image:
        description:
          - Image of the component (C(image)). Only the fuse of AlluxioRuntime, GooseFSRuntime, JindoRuntime and
            JuiceFSRuntime has one (their master and workers use the runtime's O(image)); every component of
            ThinRuntime, EFCRuntime (sent as C(version.image)) and VineyardRuntime has one.
        type: str
      image_tag:
        description: Tag of the component's image (C(imageTag); EFCRuntime C(version.imageTag)).
        type: str
      env:
        description:
          - Environment variables of the component (C(env)), as a mapping; sent as a map or as a list of
            C(name)/C(value) pairs, whichever the kind expects. EFCRuntime has none. Values of keys that look like
            secrets are masked.
        type: dict
      command:
        description: Command of the FUSE container (C(command)); ThinRuntime's fuse only (it replaces the profile's).
        type: list
        elements: str
      args:
        description: Arguments of the FUSE program (C(args)); the fuse of AlluxioRuntime, GooseFSRuntime, JindoRuntime
          and ThinRuntime.
        type: list
        elements: str
      clean_policy:
        description:
          - When Fluid removes the FUSE pod from a node (C(cleanPolicy)); the fuse of every kind. V(OnDemand) when no
            pod on the node uses the Dataset any more, V(OnRuntimeDeleted) only with the runtime (Fluid's default),
            V(OnFuseChanged) when unused and the fuse spec changed.
        type: str
        choices: [OnDemand, OnRuntimeDeleted, OnFuseChanged]
      network_mode:
        description:
          - V(HostNetwork) (Fluid's default) or V(ContainerNetwork) for the component's pods (C(networkMode)).
          - AlluxioRuntime, JuiceFSRuntime, EFCRuntime and VineyardRuntime (master, worker, fuse), ThinRuntime (worker,
            fuse). JindoRuntime has one for the whole runtime (O(network_mode)); GooseFSRuntime has none.
        type: str
        choices: [HostNetwork, ContainerNetwork]
      volume_mounts:
        description:
          - Volumes of O(volumes) to mount into the component's containers (C(volumeMounts)), as Kubernetes
            VolumeMounts with API field names (C(name), C(mountPath), C(subPath), C(readOnly)). Each must name a
            volume of O(volumes) (or of C(spec.volumes)).
          - AlluxioRuntime and JuiceFSRuntime (master, worker, fuse), JindoRuntime and VineyardRuntime (master,
            worker), ThinRuntime (worker, fuse).
        type: list
        elements: dict
  properties:
    description:
      - Properties of the whole runtime (C(spec.properties)), values sent as strings; AlluxioRuntime, GooseFSRuntime
        and JindoRuntime only. Values of keys that look like secrets are masked in the output.
    type: dict
  image:
    description:
      - Image of the runtime's master and workers (C(spec.alluxioVersion.image), C(spec.goosefsVersion.image),
        C(spec.jindoVersion.image) or C(spec.juicefsVersion.image)). ThinRuntime, EFCRuntime and VineyardRuntime
        have an image per component (O(master.image), O(worker.image), O(fuse.image)).
    type: str
  image_tag:
    description: Tag of O(image) (C(imageTag) of the same field).
    type: str
  data:
    description: How Fluid manages the Dataset's data (C(spec.data)); AlluxioRuntime and GooseFSRuntime only.
    type: dict
    suboptions:
      replicas:
        description: Copies of each file kept in the cache (C(replicas)), 1 or more.
        type: int
        required: true
  run_as:
    description:
      - The user and group the runtime's processes run as (C(spec.runAs)); AlluxioRuntime, GooseFSRuntime,
        JindoRuntime, JuiceFSRuntime and ThinRuntime. Fluid 1.0.8's JuiceFS and Thin engines do not use it (the
        task warns).
    type: dict
    suboptions:
      uid:
        description: User id (C(uid)), 0 or more.
        type: int
        required: true
      gid:
        description: Group id (C(gid)), 0 or more.
        type: int
        required: true
      user:
        description: User name (C(user)).
        type: str
        required: true
      group:
        description: Group name (C(group)).
        type: str
        required: true
  volumes:
    description:
      - Kubernetes volumes the components may mount (C(spec.volumes)), with API field names (C(name) and one
        volume source such as C(hostPath), C(persistentVolumeClaim), C(configMap) or C(secret)); each with a unique name and exactly one volume source. Mount
        them with the components' C(volume_mounts).
      - AlluxioRuntime, JindoRuntime, JuiceFSRuntime, ThinRuntime and VineyardRuntime.
    type: list
    elements: dict
  api_gateway:
    description: Alluxio's or GooseFS's API gateway (C(spec.apiGateway)); AlluxioRuntime and GooseFSRuntime only.
    type: dict
    suboptions:
      enabled:
        description: Whether Fluid deploys the gateway (C(enabled)); its endpoint appears in C(status.apiGateway).
        type: bool
        required: true
  management:
    description: How Fluid manages the runtime (C(spec.management)); AlluxioRuntime, JuiceFSRuntime and ThinRuntime.
    type: dict
    suboptions:
      metadata_sync_policy:
        description: Metadata sync when the runtime is set up (C(metadataSyncPolicy)).
        type: dict
        suboptions:
          auto_sync:
            description:
              - Whether Fluid syncs the Dataset's metadata (file count, total size) by itself (C(autoSync)). Fluid
                defaults to V(true), except for ThinRuntime (V(false)).
            type: bool
      clean_cache_policy:
        description: Cache cleaning when the runtime is deleted (C(cleanCachePolicy)).
        type: dict
        suboptions:
          grace_period_seconds:
            description: Seconds the cleaning may take (C(gracePeriodSeconds)), 0 or more; Fluid's default 60.
            type: int
          max_retry_attempts:
            description: Retries of a failed cleaning (C(maxRetryAttempts)), 0 or more; Fluid's default 3.
            type: int
  configs:
    description:
      - Options of C(juicefs format) (C(spec.configs)); JuiceFSRuntime only. Each is written without its dashes,
        for example C(trash-days=0); Fluid adds C(--).
    type: list
    elements: str
  network_mode:
    description:
      - V(HostNetwork) (Fluid's default) or V(ContainerNetwork) for all the runtime's pods (C(spec.networkmode));
        JindoRuntime only. The other kinds set it per component (O(master.network_mode), ...).
    type: str
    choices: [HostNetwork, ContainerNetwork]
  autoscaling:
    description:
      - Scale the cache workers with a HorizontalPodAutoscaler (C(autoscaling/v2)) of the runtime's name, which
        scales the runtime through its scale subresource (C(spec.replicas)). Leave O(replicas) out, the autoscaler
        owns it.
      - Without O(autoscaling), an autoscaler that this module created for the runtime is deleted (the number of
        workers stays where it was); one created by anybody else is never touched. O(state=absent) deletes it with
        the runtime.
      - Resource metrics need a metrics server in the cluster and a runtime kind whose scale subresource has a label
        selector (AlluxioRuntime, JuiceFSRuntime, GooseFSRuntime, VineyardRuntime). ThinRuntime cannot be scaled.
    type: dict
    suboptions:
      min_replicas:
        description: Fewest workers, 1 or more; a new runtime starts with this many.
        type: int
        default: 1
      max_replicas:
        description: Most workers.
        type: int
        required: true
      metrics:
        description:
          - C(autoscaling/v2) metrics with API field names. Defaults to 80% average CPU utilization of the workers.
        type: list
        elements: dict
      behavior:
        description: C(autoscaling/v2) scaling behavior (C(spec.behavior)) with API field names.
        type: dict
  labels:
    description: Labels of the runtime object.
    type: dict
  annotations:
    description: Annotations of the runtime object.
    type: dict
  spec:
    description:
      - Any further C(spec) fields with Fluid's camelCase names (for example C(profileName) for ThinRuntime,
        C(podMetadata), C(disablePrometheus), C(master.disabled) for JindoRuntime and EFCRuntime). Merged last over the
        fields built from the typed options; mappings merge, everything else replaces.
    type: dict
  wait_for:
    description:
      - What O(wait) waits for. V(ready) is the runtime ready as Fluid decides it before it binds the Dataset,
        for each kind. AlluxioRuntime, GooseFSRuntime, VineyardRuntime, EFCRuntime and JindoRuntime need every
        master ready (an EFCRuntime's disabled master counts as ready once Fluid wrote its phase; a JindoRuntime's
        disabled master is not awaited, and one with master and workers disabled is ready once Fluid wrote its
        C(status.valueFile)). JuiceFSRuntime has no master and ThinRuntime has its FUSE DaemonSet instead; both are
        ready once Fluid has finished setting them up (C(status.setupDuration) written). All kinds also need at
        least O(wait_min_workers) workers ready, except a ThinRuntime without C(spec.worker.enabled) and a
        JindoRuntime or EFCRuntime with C(spec.worker.disabled) (Fluid deploys no worker for them).
      - V(bound) is V(ready) and, in addition, the Dataset of the same name in phase C(Bound).
    type: str
    choices: [ready, bound]
    default: ready
  wait_min_workers:
    description:
      - How many ready workers count as ready. Defaults to all of them (the runtime's C(spec.replicas)); V(0) waits
        for the master only (for JuiceFSRuntime and ThinRuntime, for Fluid's set-up to finish).
    type: int
seealso:
  - module: cloudnative.fluid.dataset
  - module: cloudnative.fluid.thinruntime_profile
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
# The runtime of Fluid's original demo: two workers, 2Gi of memory and 10Gi of SSD each, watermarks 0.95/0.7.
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

- name: A JuiceFS runtime with FUSE options (an empty value is an option without a value) and a format option
  cloudnative.fluid.runtime:
    name: jfsdemo
    kind: JuiceFSRuntime
    replicas: 1
    tiered_store:
      - {medium: MEM, path: /dev/shm, quota: 40Gi, low: 0.1}
    configs: ["trash-days=0"]
    fuse:
      options:
        writeback: ""
      clean_policy: OnDemand
    wait: false

- name: A ThinRuntime on the NFS profile (see cloudnative.fluid.thinruntime_profile), its FUSE on the pod network
  cloudnative.fluid.runtime:
    name: nfs-demo
    kind: ThinRuntime
    fuse:
      network_mode: ContainerNetwork
      args: ["-o", "ro"]
    spec:
      profileName: nfs

- name: A GooseFSRuntime keeping two copies of each cached file, with its API gateway
  cloudnative.fluid.runtime:
    name: goosedemo
    kind: GooseFSRuntime
    replicas: 2
    tiered_store:
      - {medium: HDD, path: "/mnt/disk1,/mnt/disk2", quota_list: "100Gi,50Gi", high: 0.95, low: 0.7}
    data:
      replicas: 2
    api_gateway:
      enabled: true

- name: A VineyardRuntime (its Dataset has no mounts) with 4Gi of shared memory per worker
  cloudnative.fluid.runtime:
    name: vineyard
    kind: VineyardRuntime
    replicas: 2
    tiered_store:
      - {medium: MEM, quota: 4Gi}
    volumes:
      - name: etcd-data
        hostPath:
          path: /var/lib/vineyard-etcd
    master:
      volume_mounts:
        - {name: etcd-data, mountPath: /var/etcd}

- name: An EFCRuntime on an Alibaba Cloud NAS file system, its FUSE pods removed when no longer used
  cloudnative.fluid.runtime:
    name: efcdemo
    kind: EFCRuntime
    replicas: 1
    tiered_store:
      - {medium: MEM, path: /dev/shm, quota: 15Gi}
    fuse:
      clean_policy: OnDemand
    wait_for: bound

- name: Remove the runtime (the Dataset goes back to NotBound)
  cloudnative.fluid.runtime:
    name: cifar10
    state: absent
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
    replicas:
      description: The runtime's C(spec.replicas) as last seen (the number of workers asked for).
      type: int
      sample: 2
    autoscaling:
      description: The runtime's autoscaler, when O(autoscaling) is set; null otherwise.
      type: dict
      contains:
        name:
          description: Name of the HorizontalPodAutoscaler (the runtime's).
          type: str
        min_replicas:
          description: Its C(spec.minReplicas).
          type: int
        max_replicas:
          description: Its C(spec.maxReplicas).
          type: int
        current_replicas:
          description: Its C(status.currentReplicas), null before the autoscaler's first pass.
          type: int
        desired_replicas:
          description: Its C(status.desiredReplicas), null before the autoscaler's first pass.
          type: int
    wait_seconds:
      description: Seconds from the start of the wait until this runtime got there; 0 when not waited.
      type: float
      sample: 0.12
"""

from ansible_collections.cloudnative.fluid.plugins.module_utils import autoscaling
from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import runtime_checks as checks
from ansible_collections.cloudnative.fluid.plugins.module_utils.runtime_build import build_spec
from ansible_collections.cloudnative.fluid.plugins.module_utils import secrets
from ansible_collections.cloudnative.fluid.plugins.module_utils.waiter import Target

COMPONENTS = fluid.RUNTIME_COMPONENTS
KINDS = fluid.RUNTIME_SPECS

LEVEL_SPEC = dict(
    medium=dict(type="str", required=True, choices=["MEM", "SSD", "HDD"]),
    path=dict(type="str"),
    quota=dict(type="str"),
    quota_list=dict(type="str"),
    high=dict(type="float"),
    low=dict(type="float"),
    volume_type=dict(type="str", choices=["hostPath", "emptyDir"]),
)

COMPONENT_SPEC = dict(
    jvm_options=dict(type="list", elements="str"),
    properties=dict(type="dict"),
    options=dict(type="dict"),
    node_selector=dict(type="dict"),
    resources=dict(type="dict"),
    image=dict(type="str"),
    image_tag=dict(type="str"),
    env=dict(type="dict"),
    command=dict(type="list", elements="str"),
    args=dict(type="list", elements="str"),
    clean_policy=dict(type="str", choices=list(fluid.FUSE_CLEAN_POLICIES)),
    network_mode=dict(type="str", choices=list(fluid.NETWORK_MODES)),
    volume_mounts=dict(type="list", elements="dict"),
)

ITEM_SPEC = driver.item_spec(
    kind=dict(type="str", choices=list(fluid.RUNTIME_KINDS)),
    replicas=dict(type="int"),
    tiered_store=dict(type="list", elements="dict", options=LEVEL_SPEC),
    master=dict(type="dict", options=COMPONENT_SPEC),
    worker=dict(type="dict", options=COMPONENT_SPEC),
    fuse=dict(type="dict", options=COMPONENT_SPEC),
    properties=dict(type="dict"),
    image=dict(type="str"),
    image_tag=dict(type="str"),
    data=dict(type="dict", options=dict(replicas=dict(type="int", required=True))),
    run_as=dict(type="dict", options=dict(uid=dict(type="int", required=True), gid=dict(type="int", required=True),
                                          user=dict(type="str", required=True), group=dict(type="str", required=True))),
    volumes=dict(type="list", elements="dict"),
    api_gateway=dict(type="dict", options=dict(enabled=dict(type="bool", required=True))),
    management=dict(type="dict", options=dict(
        metadata_sync_policy=dict(type="dict", options=dict(auto_sync=dict(type="bool"))),
        clean_cache_policy=dict(type="dict", options=dict(grace_period_seconds=dict(type="int"),
                                                          max_retry_attempts=dict(type="int"))))),
    configs=dict(type="list", elements="str"),
    network_mode=dict(type="str", choices=list(fluid.NETWORK_MODES)),
    autoscaling=dict(type="dict", options=autoscaling.SPEC),
)
# spec-level options whose suboptions are typed too (snake_case -> camelCase all the way down)
TYPED_SPEC = ("data", "run_as", "api_gateway", "management")


class Runtime(driver.Kind):
    noun = "runtime"
    forceable = True
    many = result = "runtimes"
    item_spec = ITEM_SPEC
    defaults = {"namespace": "default", "state": "present", "kind": "AlluxioRuntime"}
    module_spec = dict(wait_for=dict(type="str", default="ready", choices=["ready", "bound"]),
                       wait_min_workers=dict(type="int"))
    typed_spec = (("replicas", "replicas"), ("tieredstore", "tiered_store"), ("properties", "properties"),
                  ("data", "data"), ("runAs", "run_as"), ("volumes", "volumes"), ("apiGateway", "api_gateway"),
                  ("management", "management"), ("configs", "configs"), ("networkmode", "network_mode"))
    credential_warning = ("properties, options or env look like they hold credentials; keep them in a Secret (their "
                          "values are masked in this output).")

    def kind_of(self, item):
        return item["kind"]

    def validate(self, item, params):
        p, kind, n = item["prefix"], item.get("kind"), params.get("wait_min_workers")
        if item.get("state") == "absent" or kind not in KINDS:
            return []
        caps, replicas, errors = KINDS[kind], item.get("replicas"), []
        if replicas is not None and replicas < 0:
            errors.append("%sreplicas: %r must be 0 or more; set the number of cache workers, e.g. replicas: 1 "
                          "(0 keeps the runtime without workers)" % (p, replicas))
        if n is not None and n < 0:
            errors.append("wait_min_workers: %r must be 0 or more" % n)
        elif n is not None and replicas is not None and n > replicas:
            errors.append("wait_min_workers: %d is more than %sreplicas (%d), so the wait could never end; lower it"
                          % (n, p, replicas))
        errors += checks.tiered_store(p, item.get("tiered_store") or [], kind)
        names = checks.volume_names(item.get("volumes"), item.get("spec"))
        errors += [e for comp in COMPONENTS if item.get(comp) is not None
                   for e in checks.runtime_component(p + comp, kind, comp, item[comp], names)]
        errors += checks.runtime_spec(p, kind, item) + autoscaling.validate(p, kind, item)
        fuse_spec = ((item.get("spec") or {}).get("fuse")) or {}
        if kind == "ThinRuntime" and (fuse_spec.get("lifecycle") or {}).get("postStart"):
            errors.append("%sspec.fuse.lifecycle.postStart: Fluid refuses a postStart hook on a ThinRuntime's FUSE "
                          "(pkg/ddc/thin/transform_fuse.go:188-190); remove it (preStop is allowed)" % p)
        comps = [c for c in caps["components"] if "image" in fluid.runtime_options(kind, c)]
        return errors + ["%s%s: %s has no runtime-wide image; set %s%s" % (
            p, opt, kind, ", ".join("%s.%s" % (c, opt) for c in comps), " (or use its profile)" if kind == "ThinRuntime"
            else "") for opt in ("image", "image_tag") if item.get(opt) is not None and caps["version"] is None]

    def warnings(self, item):
        return checks.runtime_warnings(item) if item["state"] == "present" else []

    def build(self, item):
        return driver.fluid_object(item["kind"], item, build_spec(item["kind"], item, TYPED_SPEC))

    def secret_values(self, item):
        options = [item.get("properties")] + [(item.get(c) or {}).get(k) for c in COMPONENTS
                                              for k in ("properties", "options", "env")]
        return [v for o in options for v in secrets.secretish_values(o)]

    def want(self, params):
        return params["wait_for"]

    def min_workers(self, unit, params):
        """How many ready workers count as ready (None: the object's own spec.replicas)."""
        n = params.get("wait_min_workers")
        return unit.item.get("replicas") if n is None else n

    def targets(self, unit, params):
        n = self.min_workers(unit, params)
        ts = [Target(unit.kind, unit.namespace, unit.name, lambda o, k=unit.kind: fluid.runtime_ready(o, k, n))]
        if params["wait_for"] == "bound":
            ts.append(Target(fluid.DATASET, unit.namespace, unit.name, fluid.is_bound))
        return ts

    def prepare(self, run):
        """Replicas left out are left alone (autoscaling.keep_replicas). A runtime serves the Dataset of its own
        name: without it the wait could never end."""
        autoscaling.keep_replicas(run)
        if not run.params["wait"] or run.check:
            return
        missing = [u for u in run.units if u.state == "present" and
                   run.call(u, "read", run.client.get, fluid.DATASET, u.namespace, u.name) is None]
        if missing:
            run.fail("Cannot wait for %s (nothing was changed):\n- " % ", ".join(u.ref for u in missing) + "\n- ".join(
                "%sname: No Dataset named %s exists in namespace %s, so the %s would never be ready: a runtime serves "
                "the Dataset of its own name and namespace. Create that Dataset first (cloudnative.fluid.dataset with "
                "name: %s, namespace: %s), or set wait: false" % (u.item["prefix"], u.name, u.namespace, u.kind,
                                                                  u.name, u.namespace) for u in missing))

    def after(self, run, failure):
        run.hpa_diffs = [d for unit in run.units for d in autoscaling.reconcile(run, unit)]

    def extra_diffs(self, run):
        return run.hpa_diffs

    def summary(self, run, unit):
        comps, dataset = fluid.runtime_components(unit.obj), run.client.get(fluid.DATASET, unit.namespace, unit.name)
        return unit.entry(kind=unit.kind, ready=fluid.runtime_ready(unit.obj, unit.kind, self.min_workers(unit, run.params)),
                          master=comps["master"], worker=comps["worker"], fuse=comps["fuse"],
                          dataset_phase=fluid.phase(dataset), autoscaling=autoscaling.facts(unit),
                          replicas=((unit.obj or {}).get("spec") or {}).get("replicas"),
                          **fluid.facts(unit.obj, "cache_states", "cache_capacity_bytes", "cached_bytes", "conditions"))


KIND = Runtime()


def main():
    driver.run(KIND)


if __name__ == "__main__":
    main()
