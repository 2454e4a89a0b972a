#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kubelet_info
short_description: Check that Fluid's CSI plugin will find the kubelet's files on every node
version_added: 0.1.0
author:
  - cloudnative.fluid contributors (@cloudnative)
description:
  - Fluid's CSI plugin registers under the kubelet's root directory, and acts with the node's own identity by
    mounting the kubelet's kubeconfig and its certificates. The Fluid chart sets these paths with
    C(csi.kubelet.rootDir), C(csi.kubelet.kubeConfigFile) and C(csi.kubelet.certDir); its defaults are kubeadm's.
    On k3s, RKE2 and MicroK8s they differ, and the plugin's pods fail to start or FUSE mounts fail.
  - This module returns the three values for a O(layout) (each may be overridden), ready for the chart
    (RV(chart_values)), and reports where the nodes do not match them (RV(mismatches), also printed as warnings),
    naming the nodes. It tells
    the distribution from what each node reports (the kubelet version's C(+k3s)/C(+rke2) suffix, MicroK8s'
    C(microk8s.io/cluster) label) and, where RBAC allows C(get) on C(nodes/proxy), reads the kubelet's
    configuration (C(/configz)) through the API server to see where its certificates are.
  - Nothing is written. What cannot be read is reported in RV(unreadable) rather than failing the task.
  - The role M(cloudnative.fluid.fluid) runs this module before installing (variables C(fluid_kubelet_layout),
    C(fluid_kubelet_root_dir), C(fluid_kubelet_cert_dir), C(fluid_kubelet_kubeconfig)).
extends_documentation_fragment:
  - cloudnative.fluid.auth_options
  - cloudnative.fluid.attributes
options:
  layout:
    description:
      - Where the kubelet keeps its files. V(kubeadm) (the chart's defaults) C(/var/lib/kubelet),
        C(/var/lib/kubelet/pki), C(/etc/kubernetes/kubelet.conf).
      - V(k3s) C(/var/lib/kubelet), C(/var/lib/rancher/k3s/agent), C(/var/lib/rancher/k3s/agent/kubelet.kubeconfig).
      - V(rke2) C(/var/lib/kubelet), C(/var/lib/rancher/rke2/agent),
        C(/var/lib/rancher/rke2/agent/kubelet.kubeconfig).
      - V(microk8s) C(/var/snap/microk8s/common/var/lib/kubelet), C(/var/snap/microk8s/current/certs),
        C(/var/snap/microk8s/current/credentials/kubelet.config).
    type: str
    choices: [kubeadm, k3s, rke2, microk8s]
    default: kubeadm
  root_dir:
    description:
      - The kubelet's root directory (its C(--root-dir)), overriding the layout's. A certificate directory that
        the layout keeps under the root directory (kubeadm's C(pki)) moves with it.
    type: str
  cert_dir:
    description: Directory of the kubelet's client certificates, overriding the layout's.
    type: str
  kubelet_kubeconfig:
    description: Path of the kubelet's own kubeconfig on the nodes, overriding the layout's.
    type: str
  configz_limit:
    description: Read the kubelet configuration of at most this many nodes (by name); V(0) reads none.
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
  - Requires the C(kubernetes) Python library on the host that runs the module.
requirements:
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Paths of a k3s cluster, and the nodes that do not match them
  cloudnative.fluid.kubelet_info:
    layout: k3s
  register: kubelet

- name: Say where the nodes disagree
  ansible.builtin.debug:
    msg: "{{ kubelet.mismatches }}"
  when: kubelet.mismatches | length > 0

- name: Install Fluid with those paths
  kubernetes.core.helm:
    name: fluid
    chart_ref: fluid/fluid
    release_namespace: fluid-system
    values:
      csi:
        kubelet: "{{ kubelet.chart_values }}"
"""

RETURN = r"""
chart_values:
  description: The chart's C(csi.kubelet) values for the layout and overrides.
  returned: always
  type: dict
  sample: {rootDir: /var/lib/kubelet, certDir: /var/lib/rancher/k3s/agent,
           kubeConfigFile: /var/lib/rancher/k3s/agent/kubelet.kubeconfig}
mismatches:
  description: Where nodes do not match RV(chart_values), one sentence per finding, naming the nodes and the fix.
  returned: always
  type: list
  elements: str
nodes:
  description: Per node, its name, kubelet version, the distribution it reports (null when none of k3s, rke2,
    microk8s) and whether its kubelet configuration could be read.
  returned: always
  type: list
  elements: dict
  sample: [{name: node-1, kubelet_version: v1.30.4+k3s1, distribution: k3s, configz: true}]
unreadable:
  description: What could not be read (nodes, or the kubelet configuration through the node proxy).
  returned: always
  type: list
  elements: str
"""

import copy

from ansible_collections.cloudnative.fluid.plugins.module_utils import kubelet
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import (
    AUTH_ARG_SPEC,
    AnsibleK8SModule,
    connect,
)


def main():
    spec = copy.deepcopy(kubelet.OPTIONS)
    spec.update(copy.deepcopy(AUTH_ARG_SPEC))
    module = AnsibleK8SModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    paths = kubelet.paths(p["layout"], p["root_dir"], p["cert_dir"], p["kubelet_kubeconfig"])
    errors = kubelet.check(paths)
    if errors:
        module.fail_json(msg="Invalid options:\n- " + "\n- ".join(errors), errors=errors)
    result = kubelet.report(connect(module), paths, p["configz_limit"])
    for finding in result["mismatches"]:
        module.warn(finding)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
