#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: thinruntime_profile
short_description: Manage Fluid ThinRuntimeProfiles, the FUSE programs ThinRuntimes run
version_added: 0.1.0
author:
  - cloudnative.fluid contributors (@cloudnative)
description:
  - Create, update or delete a Fluid C(ThinRuntimeProfile) (C(data.fluid.io/v1alpha1)), one or many in one task.
    Profiles are cluster-scoped, so there is no namespace option.
  - A profile says which file system a ThinRuntime mounts and with which FUSE image, command and settings. A
    C(ThinRuntime) names it in C(spec.profileName) (see M(cloudnative.fluid.runtime)); the runtime's own fields
    override the profile's.
  - Options map one to one to the profile's fields (snake_case here, camelCase in Fluid). O(spec) is merged last for
    fields this module does not type (for example probes, C(ports), C(lifecycle)).
  - All inputs are checked before anything is written; an error names the field and what to write instead.
  - Objects are written with server-side apply (field manager C(cloudnative.fluid)). A task reports a change only
    when a field it sets differs.
  - Deleting a profile that ThinRuntimes still name is done, with a warning that names them. Fluid then cannot
    reconcile those runtimes until a profile of that name exists again.
  - If Fluid's CRDs are not installed the task fails and says to install Fluid with the role C(cloudnative.fluid.fluid).
extends_documentation_fragment:
  - cloudnative.fluid.auth_options
  - cloudnative.fluid.wait
  - cloudnative.fluid.attributes
attributes:
  check_mode:
    support: full
    details: Changes are computed by a server-side dry run, so the API server validates them and nothing is written.
  diff_mode:
    support: full
    details: The diff shows the labels, annotations and spec of each profile, before and after.
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
      - Name of the profile, the C(profileName) of the ThinRuntimes that use it. Required unless O(profiles) is given.
    type: str
  state:
    description:
      - V(present) creates or updates the profile; with O(wait), the task returns once the API server has it.
      - V(absent) deletes it and, with O(wait), waits until it is gone.
      - With O(profiles), the default for items that set none.
    type: str
    choices: [present, absent]
    default: present
  profiles:
    description:
      - Many profiles in one task, each a mapping with the same options as this module's top level (V(name),
        V(state), V(file_system_type), V(fuse), V(worker), V(volumes), V(image_pull_secrets),
        V(node_publish_secret_policy), V(labels), V(annotations), V(spec)).
      - All are validated before any is written, and awaited together within one O(wait_timeout).
      - Mutually exclusive with O(name); the other per-profile options must then be set inside each item.
    type: list
    elements: dict
  file_system_type:
    description:
      - The file system the FUSE program mounts (C(spec.fileSystemType)), for example V(nfs); Fluid uses it as the
        mount type of the Dataset's volume. Required for O(state=present).
    type: str
  fuse:
    description: The FUSE program (C(spec.fuse)). A ThinRuntime's own fuse fields override these.
    type: dict
    suboptions:
      image:
        description:
          - Image of the FUSE container (C(image)). Fluid needs one, from the profile or from each ThinRuntime; without
            it here the task warns.
        type: str
      image_tag:
        description: Tag of O(fuse.image) (C(imageTag)).
        type: str
      image_pull_policy:
        description: When the image is pulled (C(imagePullPolicy)).
        type: str
        choices: [Always, IfNotPresent, Never]
      command:
        description: Command of the FUSE container (C(command)).
        type: list
        elements: str
      args:
        description: Arguments of the command (C(args)).
        type: list
        elements: str
      options:
        description:
          - Options of the FUSE program (C(options)), values sent as strings; merged with the Dataset's mount options
            and passed to the container as C(MOUNT_OPTIONS). Values of keys that look like secrets are masked.
        type: dict
      env:
        description:
          - Environment variables of the FUSE container (C(env)), as a mapping (sent as C(name)/C(value) pairs).
            Values of keys that look like secrets are masked.
        type: dict
      node_selector:
        description: Node labels the FUSE pods must run on (C(nodeSelector)); a ThinRuntime's own replaces them.
        type: dict
      resources:
        description: Kubernetes resource C(requests) and C(limits) of the FUSE container (C(resources)).
        type: dict
      network_mode:
        description: V(HostNetwork) (Fluid's default) or V(ContainerNetwork) for the FUSE pods (C(networkMode)).
        type: str
        choices: [HostNetwork, ContainerNetwork]
      volume_mounts:
        description:
          - Volumes of O(volumes) to mount into the FUSE container (C(volumeMounts)), as Kubernetes VolumeMounts with
            API field names (C(name), C(mountPath), C(subPath), C(readOnly)); each must name a volume of O(volumes).
        type: list
        elements: dict
  worker:
    description:
      - Workers of the ThinRuntimes that enable them (C(spec.worker); a ThinRuntime deploys workers only with its own
        C(spec.worker.enabled)).
    type: dict
    suboptions:
      image:
        description: Image of the worker container (C(image)).
        type: str
      image_tag:
        description: Tag of O(worker.image) (C(imageTag)).
        type: str
      image_pull_policy:
        description: When the image is pulled (C(imagePullPolicy)).
        type: str
        choices: [Always, IfNotPresent, Never]
      env:
        description: Environment variables of the worker container (C(env)), as a mapping.
        type: dict
      node_selector:
        description: Node labels the worker pods must run on (C(nodeSelector)).
        type: dict
      resources:
        description: Kubernetes resource C(requests) and C(limits) of the worker container (C(resources)).
        type: dict
      network_mode:
        description: V(HostNetwork) (Fluid's default) or V(ContainerNetwork) for the worker pods (C(networkMode)).
        type: str
        choices: [HostNetwork, ContainerNetwork]
      volume_mounts:
        description: Volumes of O(volumes) to mount into the worker container (C(volumeMounts)), as for O(fuse.volume_mounts).
        type: list
        elements: dict
  volumes:
    description:
      - Kubernetes volumes the FUSE and worker containers may mount (C(spec.volumes)), with API field names (C(name)
        and one volume source such as C(hostPath), C(configMap) or C(secret)); each with a unique name.
    type: list
    elements: dict
  image_pull_secrets:
    description: Names of Secrets in the runtime's namespace to pull the images with (C(spec.imagePullSecrets)).
    type: list
    elements: str
  node_publish_secret_policy:
    description:
      - What Fluid does with the node publish secret of a PersistentVolume the Dataset mounts
        (C(spec.nodePublishSecretPolicy)); Fluid's default is V(MountNodePublishSecretIfExists).
    type: str
    choices: [NotMountNodePublishSecret, MountNodePublishSecretIfExists, CopyNodePublishSecretAndMountIfNotExists]
  labels:
    description: Labels of the profile object.
    type: dict
  annotations:
    description: Annotations of the profile object.
    type: dict
  spec:
    description:
      - Any further C(spec) fields with Fluid's camelCase names (for example C(fuse.livenessProbe), C(fuse.ports),
        C(fuse.lifecycle.preStop)). Merged last over the fields built from the typed options; mappings merge,
        everything else replaces. Fluid refuses a C(fuse.lifecycle.postStart); it is refused here.
    type: dict
seealso:
  - module: cloudnative.fluid.runtime
  - name: Fluid ThinRuntime
    description: Fluid's guide to ThinRuntime and its profiles (the NFS example).
    link: https://github.com/fluid-cloudnative/fluid/blob/master/docs/en/dev/api_doc.md
notes:
  - Requires the C(kubernetes) Python library on the host that runs the module (see the collection's
    C(requirements.txt)).
  - Fluid reads a profile when it builds a ThinRuntime's engine; a change reaches runtimes when Fluid reconciles them.
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
"""

EXAMPLES = r"""
# The NFS profile of Fluid's ThinRuntime guide (addons/nfs): the FUSE image mounts the Dataset's NFS export.
- name: ThinRuntimeProfile nfs
  cloudnative.fluid.thinruntime_profile:
    name: nfs
    file_system_type: nfs
    fuse:
      image: fluidcloudnative/nfs
      image_tag: v0.1
      image_pull_policy: IfNotPresent
      command: ["/usr/local/bin/entrypoint.sh"]
      args: ["--fuse-args", "ro"]
      env:
        LOG_LEVEL: info

- name: Then a Dataset on the export and its ThinRuntime on the profile
  cloudnative.fluid.runtime:
    name: nfs-demo
    kind: ThinRuntime
    spec:
      profileName: nfs
    wait: false

- name: Two profiles in one task, one with a host directory for the FUSE program's cache
  cloudnative.fluid.thinruntime_profile:
    profiles:
      - name: nfs
        file_system_type: nfs
        fuse: {image: fluidcloudnative/nfs, image_tag: v0.1}
      - name: sshfs
        file_system_type: fuse.sshfs
        volumes:
          - name: cache
            hostPath:
              path: /var/cache/sshfs
        fuse:
          image: registry.example.com/sshfs-fuse
          image_tag: "1.0"
          options: {reconnect: ""}
          volume_mounts:
            - {name: cache, mountPath: /cache}

- name: Remove a profile no ThinRuntime uses any more
  cloudnative.fluid.thinruntime_profile:
    name: sshfs
    state: absent
"""

RETURN = r"""
changed:
  description: Whether any profile was created, updated or deleted (or would be, in check mode).
  returned: always
  type: bool
profiles:
  description: One entry per profile of the task, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Profile name.
      type: str
      sample: nfs
    state:
      description: The requested state.
      type: str
      sample: present
    changed:
      description: Whether this profile was (or would be) created, updated or deleted.
      type: bool
    exists:
      description: Whether the profile exists after the task (in check mode, whether it would).
      type: bool
    file_system_type:
      description: C(spec.fileSystemType) of the profile as stored, empty when it does not exist.
      type: str
      sample: nfs
    thin_runtimes:
      description:
        - The ThinRuntimes (C(namespace/name)) whose C(spec.profileName) names this profile, when the task may list
          ThinRuntimes in all namespaces; null when it may not.
      type: list
      elements: str
      sample: [default/nfs-demo]
    wait_seconds:
      description: Seconds from the start of the wait until this profile got there; 0 when not waited.
      type: float
      sample: 0.05
"""

from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import runtime_checks as checks
from ansible_collections.cloudnative.fluid.plugins.module_utils import secrets
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate
from ansible_collections.cloudnative.fluid.plugins.module_utils.waiter import Target

PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
NODE_PUBLISH_SECRET_POLICIES = ["NotMountNodePublishSecret", "MountNodePublishSecretIfExists",
                                "CopyNodePublishSecretAndMountIfNotExists"]
# ThinCompTemplateSpec and ThinFuseSpec (api/v1alpha1/thinruntime_types.go:73-201): the options typed here
WORKER_SPEC = dict(image=dict(type="str"), image_tag=dict(type="str"),
                   image_pull_policy=dict(type="str", choices=PULL_POLICIES), env=dict(type="dict"),
                   node_selector=dict(type="dict"), resources=dict(type="dict"),
                   network_mode=dict(type="str", choices=list(fluid.NETWORK_MODES)),
                   volume_mounts=dict(type="list", elements="dict"))
FUSE_SPEC = dict(WORKER_SPEC, command=dict(type="list", elements="str"), args=dict(type="list", elements="str"),
                 options=dict(type="dict"))
# ThinRuntimeProfileSpec (api/v1alpha1/thinruntimeprofile_types.go:33-56)
ITEM_SPEC = driver.cluster_item_spec(
    file_system_type=dict(type="str"),
    fuse=dict(type="dict", options=FUSE_SPEC),
    worker=dict(type="dict", options=WORKER_SPEC),
    volumes=dict(type="list", elements="dict"),
    image_pull_secrets=dict(type="list", elements="str", no_log=False),
    node_publish_secret_policy=dict(type="str", choices=NODE_PUBLISH_SECRET_POLICIES),
)
# option -> field of a component, and how the value is written
FIELDS = (("image", "image", str), ("image_tag", "imageTag", str), ("image_pull_policy", "imagePullPolicy", str),
          ("command", "command", list), ("args", "args", list), ("options", "options", driver.str_map),
          ("env", "env", lambda env: [{"name": k, "value": v} for k, v in sorted(driver.str_map(env).items())]),
          ("node_selector", "nodeSelector", driver.str_map), ("network_mode", "networkMode", str),
          ("resources", "resources", lambda r: dict((k, driver.str_map(v) if k in ("requests", "limits") else v)
                                                    for k, v in r.items())),
          ("volume_mounts", "volumeMounts", list))


def component(opts):
    return dict((api, convert(opts[opt])) for opt, api, convert in FIELDS if opts.get(opt))


class ThinRuntimeProfile(driver.Kind):
    kind = noun = fluid.THIN_RUNTIME_PROFILE
    namespaced = False
    many = result = "profiles"
    item_spec = ITEM_SPEC
    defaults = {"state": "present"}
    typed_spec = (("fileSystemType", "file_system_type"), ("volumes", "volumes"),
                  ("imagePullSecrets", "image_pull_secrets"), ("nodePublishSecretPolicy", "node_publish_secret_policy"))
    credential_warning = ("options or env look like they hold credentials; keep them in a Secret (their values are "
                          "masked in this output).")
    users = None  # profile name -> the ThinRuntimes naming it (None: they could not be listed)

    def validate(self, item, params):
        p = item["prefix"]
        if item["state"] == "absent":
            return []
        errors = [] if str(item.get("file_system_type") or "").strip() else [
            "%sfile_system_type: is required; give the file system the FUSE program mounts, e.g. nfs" % p]
        if any(c.isspace() for c in str(item.get("file_system_type") or "").strip()):
            errors.append("%sfile_system_type: %r must be one word, e.g. nfs" % (p, item["file_system_type"]))
        errors += checks.volumes(p + "volumes", item.get("volumes"))
        names = checks.volume_names(item.get("volumes"), item.get("spec"))
        for comp in ("worker", "fuse"):
            opts, cf = item.get(comp) or {}, p + comp
            errors += checks.volume_mounts(cf + ".volume_mounts", opts.get("volume_mounts"), names)
            errors += validate.labels(cf + ".node_selector", opts.get("node_selector"))
            errors += validate.resources(cf + ".resources", opts.get("resources"))
            errors += checks.env_names(cf + ".env", opts.get("env"))
        for i, secret in enumerate(item.get("image_pull_secrets") or []):
            errors += validate.object_name("%simage_pull_secrets[%d]" % (p, i), secret, "Secret")
        if ((((item.get("spec") or {}).get("fuse") or {}).get("lifecycle")) or {}).get("postStart"):
            errors.append("%sspec.fuse.lifecycle.postStart: Fluid refuses a postStart hook in a ThinRuntimeProfile "
                          "(pkg/ddc/thin/transform_fuse.go:176-179); remove it (preStop is allowed)" % p)
        return errors

    def warnings(self, item):
        if item["state"] == "absent" or (item.get("fuse") or {}).get("image") or \
                (((item.get("spec") or {}).get("fuse")) or {}).get("image"):
            return []
        return ["%sfuse.image: not set, so every ThinRuntime on this profile must set its own fuse.image (Fluid fails "
                "with \"fuse image is nil\" otherwise)" % item["prefix"]]

    def build(self, item):
        spec = driver.fields(item, (("file_system_type", "fileSystemType"), ("volumes", "volumes"),
                                    ("node_publish_secret_policy", "nodePublishSecretPolicy")))
        spec.update((comp, component(item[comp])) for comp in ("worker", "fuse") if component(item.get(comp) or {}))
        if item.get("image_pull_secrets"):
            spec["imagePullSecrets"] = [{"name": s} for s in item["image_pull_secrets"]]
        return driver.fluid_object(self.kind, item, spec)

    def secret_values(self, item):
        return [v for c in ("worker", "fuse") for k in ("options", "env")
                for v in secrets.secretish_values((item.get(c) or {}).get(k))]

    def want(self, params):
        return "present"

    def prepare(self, run):
        """The ThinRuntimes that name each profile, for the result; deleting one still named is warned about."""
        self.users = None
        try:
            runtimes = run.client.list("ThinRuntime", None)
        except Exception:  # pylint: disable=broad-except
            return  # no right to list ThinRuntimes in all namespaces: the result says null
        self.users = {}
        for rt in runtimes:
            meta = rt.get("metadata") or {}
            self.users.setdefault((rt.get("spec") or {}).get("profileName"), []).append(
                "%s/%s" % (meta.get("namespace"), meta.get("name")))
        for u in run.units:
            if u.state == "absent" and self.users.get(u.name):
                run.module.warn("%s: ThinRuntimes still name profile %s: %s. Fluid cannot reconcile them until a "
                                "profile of that name exists again." % (u.where, u.name, ", ".join(self.users[u.name])))

    def targets(self, unit, params):
        return [Target(self.kind, None, unit.name, lambda o: o is not None)]

    def summary(self, run, unit):
        return unit.entry(file_system_type=((unit.obj or {}).get("spec") or {}).get("fileSystemType") or "",
                          thin_runtimes=None if self.users is None else sorted(self.users.get(unit.name, [])))


KIND = ThinRuntimeProfile()


def main():
    driver.run(KIND)


if __name__ == "__main__":
    main()
