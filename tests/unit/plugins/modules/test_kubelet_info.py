"""cloudnative.fluid.kubelet_info and module_utils/kubelet: the chart's csi.kubelet values per layout, and the
findings that name the nodes whose kubelet does not match them."""
import pytest

from ansible_collections.cloudnative.fluid.plugins.module_utils import kubelet as K
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import ApiError
from ansible_collections.cloudnative.fluid.plugins.modules import kubelet_info as M

from fakes import FakeCluster


def node(name, version="v1.36.3", labels=None):
    return {"kind": "Node", "metadata": {"name": name, "labels": labels or {}},
            "status": {"nodeInfo": {"kubeletVersion": version}}}


@pytest.mark.parametrize("layout,values", [
    ("kubeadm", {"rootDir": "/var/lib/kubelet", "certDir": "/var/lib/kubelet/pki",
                 "kubeConfigFile": "/etc/kubernetes/kubelet.conf"}),
    ("k3s", {"rootDir": "/var/lib/kubelet", "certDir": "/var/lib/rancher/k3s/agent",
             "kubeConfigFile": "/var/lib/rancher/k3s/agent/kubelet.kubeconfig"}),
    ("rke2", {"rootDir": "/var/lib/kubelet", "certDir": "/var/lib/rancher/rke2/agent",
              "kubeConfigFile": "/var/lib/rancher/rke2/agent/kubelet.kubeconfig"}),
    ("microk8s", {"rootDir": "/var/snap/microk8s/common/var/lib/kubelet", "certDir": "/var/snap/microk8s/current/certs",
                  "kubeConfigFile": "/var/snap/microk8s/current/credentials/kubelet.config"}),
])
def test_chart_values_per_layout(layout, values):
    assert K.chart_values(K.paths(layout)) == values


def test_a_root_dir_moves_kubeadms_pki_with_it_and_overrides_win():
    p = K.paths("kubeadm", root_dir="/data/kubelet/")
    assert p["root_dir"] == "/data/kubelet/" and p["cert_dir"] == "/data/kubelet/pki"
    assert K.paths("kubeadm", root_dir="/data/kubelet", cert_dir="/etc/pki")["cert_dir"] == "/etc/pki"
    assert K.paths("k3s", root_dir="/data/kubelet")["cert_dir"] == "/var/lib/rancher/k3s/agent"
    assert K.check(K.paths("kubeadm", kubeconfig="kubelet.conf")) == ["kubelet_kubeconfig: 'kubelet.conf' must be an absolute path"]


def test_k3s_nodes_under_the_kubeadm_layout_are_named_with_the_fix():
    nodes = [node("n%d" % i, "v1.30.4+k3s1") for i in range(7)] + [node("plain")]
    [finding] = K.mismatches(K.paths("kubeadm"), nodes, {})
    assert finding.startswith("nodes n0, n1, n2, n3, n4 and 2 more run k3s")
    assert "kubeconfig /var/lib/rancher/k3s/agent/kubelet.kubeconfig" in finding and "plain" not in finding
    assert "fluid_kubelet_layout: k3s" in finding
    assert K.mismatches(K.paths("k3s"), nodes, {}) == []


def test_distributions_reported_by_nodes():
    assert K.distribution(node("a", "v1.31.2+rke2r1")) == "rke2"
    assert K.distribution(node("a", labels={"microk8s.io/cluster": "true"})) == "microk8s"
    assert K.distribution(node("a", "v1.36.3")) is None


def test_kubelet_certificates_outside_cert_dir():
    conf = {"a": {"tlsCertFile": "/etc/kubelet/serving.crt"}, "b": {"tlsCertFile": "/var/lib/kubelet/pki/k.crt"},
            "c": {}}
    [finding] = K.mismatches(K.paths("kubeadm"), [node("a"), node("b"), node("c")], conf)
    assert finding.startswith("nodes a: the kubelet's certificates are in /etc/kubelet") and "fluid_kubelet_cert_dir" in finding


def test_module_reads_nodes_and_configz_where_allowed(run_module):
    c = FakeCluster()
    c.put(node("gpu-1", "v1.30.4+k3s1"))
    c.put(node("gpu-2", "v1.30.4+k3s1"))
    c.configz = {"gpu-1": {"tlsCertFile": "/var/lib/rancher/k3s/agent/serving-kubelet.crt"}}
    r = run_module(M, {"layout": "k3s"}, c)
    assert not r.failed and r["changed"] is False, r
    assert r["mismatches"] == [] and r["chart_values"]["certDir"] == "/var/lib/rancher/k3s/agent"
    assert [n["configz"] for n in r["nodes"]] == [True, False] and "gpu-2" in r["unreadable"][0]
    r = run_module(M, {"layout": "kubeadm"}, c)
    assert len(r["mismatches"]) == 2  # the distribution and the certificates' directory
    c.configz = {"gpu-1": ApiError("forbidden", status=403)}
    r = run_module(M, {"layout": "k3s"}, c)
    assert r["unreadable"] == [r["unreadable"][0]] and "nodes/proxy" in r["unreadable"][0]


def test_module_refuses_relative_paths(run_module):
    r = run_module(M, {"layout": "kubeadm", "cert_dir": "pki"}, FakeCluster())
    assert r.failed and "cert_dir: 'pki' must be an absolute path" in r["msg"]
