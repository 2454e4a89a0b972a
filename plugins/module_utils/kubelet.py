# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the kubelet keeps its files on each kind of node, and whether Fluid's chart agrees.

Fluid's CSI plugin (charts/fluid/fluid/templates/csi/daemonset.yaml) registers under
csi.kubelet.rootDir, mounts the kubelet's kubeconfig from csi.kubelet.kubeConfigFile (to act with
the node's own identity, csi.useNodeAuthorization) and the directory of that kubeconfig's client
certificates from csi.kubelet.certDir. The chart's defaults (values.yaml) are kubeadm's."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

from ansible_collections.cloudnative.fluid.plugins.module_utils.client import ApiError

LAYOUTS = {
    # chart defaults (charts/fluid/fluid/values.yaml csi.kubelet)
    "kubeadm": {"root_dir": "/var/lib/kubelet", "cert_dir": "/var/lib/kubelet/pki",
                "kubeconfig": "/etc/kubernetes/kubelet.conf"},
    # k3s' kubelet runs with --kubeconfig=/var/lib/rancher/k3s/agent/kubelet.kubeconfig, its client and serving
    # certificates in /var/lib/rancher/k3s/agent (fluid-cloudnative/fluid#4104)
    "k3s": {"root_dir": "/var/lib/kubelet", "cert_dir": "/var/lib/rancher/k3s/agent",
            "kubeconfig": "/var/lib/rancher/k3s/agent/kubelet.kubeconfig"},
    "rke2": {"root_dir": "/var/lib/kubelet", "cert_dir": "/var/lib/rancher/rke2/agent",
             "kubeconfig": "/var/lib/rancher/rke2/agent/kubelet.kubeconfig"},
    # the snap's kubelet: --root-dir=/var/snap/microk8s/common/var/lib/kubelet
    "microk8s": {"root_dir": "/var/snap/microk8s/common/var/lib/kubelet", "cert_dir": "/var/snap/microk8s/current/certs",
                 "kubeconfig": "/var/snap/microk8s/current/credentials/kubelet.config"},
}
CHART_KEYS = (("root_dir", "rootDir"), ("cert_dir", "certDir"), ("kubeconfig", "kubeConfigFile"))
SHOWN = 5  # nodes named per finding
# The options that choose the paths (modules kubelet_info, and fluid_info's `kubelet`).
OPTIONS = dict(layout=dict(type="str", default="kubeadm", choices=sorted(LAYOUTS)), root_dir=dict(type="str"),
               cert_dir=dict(type="str"), kubelet_kubeconfig=dict(type="str"), configz_limit=dict(type="int", default=20))


def paths(layout, root_dir=None, cert_dir=None, kubeconfig=None):
    """The layout's three paths, each overridden when given. A root_dir given alone moves a cert dir that lies
    under the layout's root dir with it (kubeadm's pki)."""
    base = dict(LAYOUTS[layout])
    if root_dir and not cert_dir and base["cert_dir"].startswith(base["root_dir"] + "/"):
        base["cert_dir"] = root_dir.rstrip("/") + base["cert_dir"][len(base["root_dir"]):]
    base.update((k, v) for k, v in (("root_dir", root_dir), ("cert_dir", cert_dir), ("kubeconfig", kubeconfig)) if v)
    return base


def chart_values(p):
    return dict((api, p[opt]) for opt, api in CHART_KEYS)


def check(p):
    """Each path absolute (named as the kubelet_info option: kubeconfig is kubelet_kubeconfig there)."""
    return ["%s: %r must be an absolute path" % ("kubelet_kubeconfig" if k == "kubeconfig" else k, v)
            for k, v in sorted(p.items()) if not str(v).startswith("/")]


def distribution(node):
    """k3s, rke2 or microk8s from what the node reports (kubelet version suffix, MicroK8s' label); None otherwise."""
    version = ((node.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion") or ""
    labels = (node.get("metadata") or {}).get("labels") or {}
    for name in ("k3s", "rke2"):
        if "+" + name in version:
            return name
    if "microk8s.io/cluster" in labels:
        return "microk8s"
    return None


def named(nodes):
    names = sorted(nodes)
    more = len(names) - SHOWN
    return ", ".join(names[:SHOWN]) + (" and %d more" % more if more > 0 else "")


def mismatches(p, nodes, configz):
    """Findings (one string each, naming the nodes) where the nodes' kubelets do not match the paths p.
    configz: node name -> the kubelet's configuration (/configz through the API server's node proxy) or None."""
    out, by_dist = [], {}
    for node in nodes:
        dist = distribution(node)
        if dist:
            by_dist.setdefault(dist, []).append(node["metadata"]["name"])
    for dist, names in sorted(by_dist.items()):
        wrong = [k for k, _api in CHART_KEYS if p[k] != LAYOUTS[dist][k]]
        if wrong:
            out.append("nodes %s run %s, whose kubelet keeps %s; the chart would use %s. Set the layout to %s (role "
                       "variable fluid_kubelet_layout: %s)" % (
                           named(names), dist, ", ".join("%s %s" % (k, LAYOUTS[dist][k]) for k in wrong),
                           ", ".join("%s %s" % (k, p[k]) for k in wrong), dist, dist))
    cert_dirs = {}
    for name, conf in sorted((configz or {}).items()):
        tls = (conf or {}).get("tlsCertFile")
        if tls and not (posixpath.dirname(tls) + "/").startswith((p["cert_dir"].rstrip("/") + "/",
                                                                  p["root_dir"].rstrip("/") + "/")):
            cert_dirs.setdefault(posixpath.dirname(tls), []).append(name)
    for where, names in sorted(cert_dirs.items()):
        out.append("nodes %s: the kubelet's certificates are in %s (its tlsCertFile), outside cert_dir %s and root_dir "
                   "%s; set cert_dir to %s (role variable fluid_kubelet_cert_dir)" % (
                       named(names), where, p["cert_dir"], p["root_dir"], where))
    return out


def read_configz(client, names, limit):
    """name -> the kubelet's configuration, for up to limit nodes; stops at the first refusal (RBAC)."""
    out, warnings = {}, []
    for name in sorted(names)[:max(limit, 0)]:
        try:
            out[name] = client.node_configz(name)
        except ApiError as e:
            if e.status in (401, 403):
                return out, ["the kubelet configuration is not readable (get on nodes/proxy is not allowed): only "
                             "the distribution each node reports was checked"]
            warnings.append("node %s: kubelet configuration not readable (%s)" % (name, e))
    return out, warnings


def report(client, p, configz_limit):
    """What the modules kubelet_info and fluid_info return for the paths p: chart_values, mismatches (one
    finding per string), nodes (name, distribution, kubelet_version, configz read) and unreadable."""
    try:
        nodes, warnings = client.list("Node", None), []
    except ApiError as e:
        nodes, warnings = [], ["nodes not readable, nothing was checked: %s" % e]
    configz, more = read_configz(client, [n["metadata"]["name"] for n in nodes], configz_limit) if nodes else ({}, [])
    return {"chart_values": chart_values(p), "unreadable": warnings + more, "mismatches": mismatches(p, nodes, configz),
            "nodes": [{"name": n["metadata"]["name"], "distribution": distribution(n),
                       "kubelet_version": ((n.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion"),
                       "configz": n["metadata"]["name"] in configz} for n in nodes]}
