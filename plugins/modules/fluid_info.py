#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: fluid_info
short_description: Read a cluster's Fluid installation, and compare it with a chart
version_added: 0.2.0
author:
  - cloudnative.fluid contributors (@cloudnative)
description:
  - Reads in one call what a Fluid installation is made of on a cluster, and what an install or upgrade would
    meet there. The Kubernetes version and whether the cluster is OpenShift; the Helm client's version; the Helm
    release (status, chart, app version, revision, user values); Fluid's C(data.fluid.io) CRDs (Established or
    not, their storage version, whether the role M(cloudnative.fluid.fluid) applied them); and whether the
    release's Deployments and DaemonSets are rolled out.
  - With O(chart_ref), it also reads that chart with C(helm show chart) and C(helm show crds). It returns the
    chart's metadata and CRD documents, and whether the cluster's CRDs are those documents as the role last
    applied them (RV(chart.crds_current)).
  - With O(kubelet), it also checks where the nodes' kubelets keep their files, as
    M(cloudnative.fluid.kubelet_info) does (RV(kubelet)).
  - Nothing is written. A Helm client that does not run, or a chart that cannot be read, is reported in
    RV(helm.error) and RV(chart.error) rather than failing the task.
  - The role M(cloudnative.fluid.fluid) runs this module first, on every run.
extends_documentation_fragment:
  - cloudnative.fluid.auth_options
  - cloudnative.fluid.attributes
options:
  release_name:
    description: Name of Fluid's Helm release.
    type: str
    default: fluid
  release_namespace:
    description: Namespace of Fluid's Helm release and of its controllers.
    type: str
    default: fluid-system
  binary_path:
    description: The Helm client to run. By default C(helm) on the C(PATH).
    type: path
  chart_ref:
    description:
      - The chart to compare with, as C(helm show chart) takes it, a local chart folder or archive, an
        C(oci://) reference, or a chart name with O(chart_repo_url).
    type: str
  chart_repo_url:
    description: The repository of O(chart_ref) (C(https://fluid-cloudnative.github.io/charts)).
    type: str
  chart_version:
    description: Version of O(chart_ref) (not for a local chart).
    type: str
  kubelet:
    description:
      - Check where the nodes' kubelets keep their files for this layout, with the same options as
        M(cloudnative.fluid.kubelet_info). Left out, nothing is checked.
    type: dict
    suboptions:
      layout:
        description: Where the kubelet keeps its files (see M(cloudnative.fluid.kubelet_info)).
        type: str
        choices: [kubeadm, k3s, rke2, microk8s]
        default: kubeadm
      root_dir:
        description: The kubelet's root directory, overriding the layout's.
        type: str
      cert_dir:
        description: Directory of the kubelet's client certificates, overriding the layout's.
        type: str
      kubelet_kubeconfig:
        description: Path of the kubelet's own kubeconfig on the nodes, overriding the layout's.
        type: str
      configz_limit:
        description: Read the kubelet configuration of at most this many nodes; V(0) reads none.
        type: int
        default: 20
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
  action_group:
    support: full
    membership:
      - cloudnative.fluid.fluid
notes:
  - Requires the C(kubernetes) Python library and a Helm client on the host that runs the module. Helm gets the
    same connection as the Kubernetes client, as with M(kubernetes.core.helm_info).
  - Reading the release needs the rights Helm needs for it (Secrets in O(release_namespace)).
requirements:
  - kubernetes >= 24.2.0
  - helm >= 3.8
"""

EXAMPLES = r"""
- name: What Fluid runs here
  cloudnative.fluid.fluid_info:
  register: fluid

- name: Say which chart runs, and whether the controllers are rolled out
  ansible.builtin.debug:
    msg: >-
      {{ fluid.release.chart | default('no release') }}:
      {{ fluid.workloads | rejectattr('rolled_out') | map(attribute='name') | list or 'all rolled out' }}

- name: Are the cluster's CRDs those of Fluid 1.0.8 from the public repository?
  cloudnative.fluid.fluid_info:
    chart_ref: fluid
    chart_repo_url: https://fluid-cloudnative.github.io/charts
    chart_version: 1.0.8
  register: fluid

- name: Report it
  ansible.builtin.debug:
    msg: "installed: {{ fluid.release.chart | default('none') }}; CRDs current: {{ fluid.chart.crds_current }}"
"""

RETURN = r"""
kubernetes:
  description: The cluster, as its API server reports it.
  returned: always
  type: dict
  contains:
    version:
      description: Kubernetes version, without the leading C(v) and build suffix.
      type: str
      sample: 1.33.1
    git_version:
      description: The server's C(gitVersion).
      type: str
      sample: v1.33.1+k3s1
    host:
      description: The API server's URL.
      type: str
    openshift:
      description: Whether the cluster serves OpenShift's SecurityContextConstraints.
      type: bool
helm:
  description: The Helm client.
  returned: always
  type: dict
  contains:
    binary:
      description: The client that was run.
      type: str
    version:
      description: Its version (null when it did not run).
      type: str
      sample: 3.21.4
    error:
      description: Why it did not run (null when it did).
      type: str
release:
  description:
    - The Helm release as C(helm list --all) shows it, with its user values; null when there is none, or when
      Helm does not run.
  returned: always
  type: dict
  sample: {name: fluid, namespace: fluid-system, status: deployed, chart: fluid-1.0.8, app_version: 1.0.8-6533239,
           revision: "1", updated: "2026-12-03 20:56:40.1 +0000 UTC", values: {}}
crds:
  description: Fluid's C(data.fluid.io) CRDs on the cluster, by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The CRD's name.
      type: str
      sample: datasets.data.fluid.io
    kind:
      description: The kind it serves.
      type: str
      sample: Dataset
    uid:
      description: The CRD's uid (a CRD deleted and created again has a new one, and lost its objects).
      type: str
    api_version:
      description: The storage version's apiVersion.
      type: str
      sample: data.fluid.io/v1alpha1
    established:
      description: Whether the API server serves it (condition Established).
      type: bool
    generation:
      description: The CRD's metadata.generation.
      type: int
    applied:
      description:
        - Digest of the chart CRD documents the role M(cloudnative.fluid.fluid) last applied to this CRD; empty
          when it never did, or when the CRD's spec changed since.
      type: str
workloads:
  description: The Deployments and DaemonSets in O(release_namespace), and whether each is rolled out.
  returned: always
  type: list
  elements: dict
  sample: [{kind: Deployment, name: dataset-controller, rolled_out: true, desired: 1, ready: 1}]
chart:
  description: The chart of O(chart_ref) compared with the cluster.
  returned: when O(chart_ref) is set
  type: dict
  contains:
    name:
      description: The chart's name.
      type: str
      sample: fluid
    version:
      description: The chart's version.
      type: str
      sample: 1.0.8
    app_version:
      description: The chart's appVersion.
      type: str
    crds:
      description: The chart's CRD documents (its C(crds/) folder), as YAML text, one per CRD.
      type: list
      elements: str
    crds_digest:
      description: Digest of RV(chart.crds), as the role M(cloudnative.fluid.fluid) records it on the CRDs it applies.
      type: str
    crds_current:
      description:
        - Whether the cluster's C(data.fluid.io) CRDs are exactly these documents as the role last applied them
          (as many, each Established, none changed since).
      type: bool
    error:
      description: Why the chart could not be read (null when it was); the other keys are then absent.
      type: str
kubelet:
  description: As M(cloudnative.fluid.kubelet_info) returns it (chart_values, mismatches, nodes, unreadable).
  returned: when O(kubelet) is set
  type: dict
"""

import copy
import os
import re

from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.cloudnative.fluid.plugins.module_utils import installation, kubelet
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import (
    AUTH_ARG_SPEC,
    AnsibleK8SModule,
    ApiError,
    connect,
)
from ansible_collections.kubernetes.core.plugins.module_utils.helm import AnsibleHelmModule

try:
    import yaml
except ImportError:
    pass  # AnsibleK8SModule reports PyYAML missing


def cluster_facts(client):
    version = client.read("/version")
    git = version.get("gitVersion") or ""
    try:
        scc = client.read("/apis/security.openshift.io/v1")
    except ApiError as e:
        if e.status != 404:
            raise
        scc = {}
    return {"version": re.sub(r"[-+].*$", "", git.lstrip("v")), "git_version": git, "host": client.host,
            "openshift": any(r.get("kind") == "SecurityContextConstraints" for r in scc.get("resources") or [])}


def helm_binary(module, path):
    """The Helm client to run: path (a name is looked up on the PATH), or helm on the PATH; None when missing."""
    if not path or os.sep not in path:
        return module.get_bin_path(path or "helm")
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


# kubernetes.core 6.2.0 plugins/module_utils/helm_args_common.py HELM_AUTH_ARG_SPEC: kubernetes.core.helm takes an
# option left out from its K8S_AUTH_* variable (the k8s client reads those variables itself, Helm does not).
HELM_ENV_FALLBACK = {"context": "K8S_AUTH_CONTEXT", "kubeconfig": "K8S_AUTH_KUBECONFIG", "host": "K8S_AUTH_HOST",
                     "ca_cert": "K8S_AUTH_SSL_CA_CERT", "api_key": "K8S_AUTH_API_KEY", "validate_certs": "K8S_AUTH_VERIFY_SSL"}


class Helm(AnsibleHelmModule):
    """kubernetes.core's Helm runner, given the connection as kubernetes.core.helm would have it."""

    def __init__(self, module, params):
        super(Helm, self).__init__(module=module)
        self._params = params

    @property
    def params(self):
        return self._params


def helm_params(params, environ):
    """params with each connection option left out taken from its K8S_AUTH_* variable."""
    out = dict(params)
    for key, var in HELM_ENV_FALLBACK.items():
        if out.get(key) is None and environ.get(var):
            out[key] = boolean(environ[var], strict=False) if key == "validate_certs" else environ[var]
    return out


def read_release(helm, binary, name):
    """helm list's entry of the release name (any status) with its user values, or None."""
    _rc, out, _err = helm.run_helm_command([binary, "list", "--all", "--output=yaml", "--filter", "^%s$" % re.escape(name)])
    found = [r for r in yaml.safe_load(out) or [] if r.get("name") == name]
    if not found:
        return None
    _rc, out, _err = helm.run_helm_command([binary, "get", "values", "--output=yaml", name])
    release = found[0]
    release["values"] = {} if out.rstrip("\n") == "null" else (yaml.safe_load(out) or {})
    return release


def read_chart(module, binary, p, crds):
    """The chart of chart_ref: metadata, CRD documents and how they compare with the cluster."""
    args = [p["chart_ref"]] + (["--repo", p["chart_repo_url"]] if p["chart_repo_url"] else []) + (
        ["--version", p["chart_version"]] if p["chart_version"] else [])
    rc, out, err = module.run_command([binary, "show", "chart"] + args)
    if rc == 0:
        meta = yaml.safe_load(out) or {}
        rc, text, err = module.run_command([binary, "show", "crds"] + args)
    if rc != 0:
        return {"error": (err or out).strip() or "helm show exited %d" % rc}
    docs = installation.crd_documents(text)
    docs_digest = installation.digest(docs)
    return {"name": meta.get("name"), "version": str(meta.get("version")), "app_version": meta.get("appVersion"),
            "crds": docs, "crds_digest": docs_digest, "crds_current": installation.crds_current(crds, docs, docs_digest),
            "error": None}


def main():
    spec = dict(release_name=dict(type="str", default="fluid"), release_namespace=dict(type="str", default="fluid-system"),
                binary_path=dict(type="path"), chart_ref=dict(type="str"), chart_repo_url=dict(type="str"),
                chart_version=dict(type="str"),
                kubelet=dict(type="dict", options=copy.deepcopy(kubelet.OPTIONS)))
    spec.update(copy.deepcopy(AUTH_ARG_SPEC))
    module = AnsibleK8SModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    paths = None
    if p["kubelet"] is not None:
        k = p["kubelet"]
        paths = kubelet.paths(k["layout"], k["root_dir"], k["cert_dir"], k["kubelet_kubeconfig"])
        errors = kubelet.check(paths)
        if errors:
            module.fail_json(msg="Invalid options:\n- " + "\n- ".join("kubelet." + e for e in errors), errors=errors)

    client = connect(module)
    try:
        result = {"kubernetes": cluster_facts(client)}
        result["crds"] = installation.fluid_crds(client.list("CustomResourceDefinition", None))
        result["workloads"] = [installation.workload(o) for kind in ("Deployment", "DaemonSet")
                               for o in client.list(kind, p["release_namespace"])]
        if paths is not None:
            result["kubelet"] = kubelet.report(client, paths, p["kubelet"]["configz_limit"])
            for finding in result["kubelet"]["mismatches"]:
                module.warn(finding)
    except ApiError as e:
        module.fail_json(msg=str(e))

    ansible_module = module._module  # pylint: disable=protected-access
    binary = helm_binary(ansible_module, p["binary_path"])
    result["helm"] = {"binary": binary or p["binary_path"] or "helm", "version": None, "error": None}
    result["release"] = None
    if not binary:
        result["helm"]["error"] = "%s was not found or is not executable" % (p["binary_path"] or "helm on the PATH")
    else:
        rc, out, err = ansible_module.run_command([binary, "version", "--short"])
        result["helm"]["version"] = installation.helm_version(out) if rc == 0 else None
        if rc != 0 or not result["helm"]["version"]:
            result["helm"]["error"] = (err or out).strip() or "exited %d" % rc
    if result["helm"]["error"] is None:
        helm = Helm(ansible_module, helm_params(p, os.environ))
        result["release"] = read_release(helm, binary, p["release_name"])
        if p["chart_ref"]:
            result["chart"] = read_chart(ansible_module, binary, p, result["crds"])
    elif p["chart_ref"]:
        result["chart"] = {"error": "Helm does not run: %s" % result["helm"]["error"]}
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
