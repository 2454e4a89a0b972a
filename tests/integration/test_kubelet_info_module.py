"""cloudnative.fluid.kubelet_info on the embedded cluster: it reads the real nodes (KWOK's report no k3s, RKE2
or MicroK8s), tries each kubelet's /configz through the API server's node proxy, and warns, naming the nodes,
when a chosen layout does not fit what a node reports."""
import json

from test_dataset_module import k8s, run_module  # noqa: F401  (k8s: fixture shared with that file)


def test_layouts_against_the_real_nodes(cluster, k8s):
    r = run_module(cluster, "kubelet_info", {"layout": "kubeadm"})
    assert not r.failed and r["changed"] is False, r
    names = sorted(n.metadata.name for n in k8s.core.list_node().items)
    assert sorted(n["name"] for n in r["nodes"]) == names
    assert r["mismatches"] == [] and r["chart_values"]["kubeConfigFile"] == "/etc/kubernetes/kubelet.conf"
    # KWOK's kubelets do not serve /configz: each node is reported unreadable, nothing fails
    assert all(not n["configz"] for n in r["nodes"]) and r["unreadable"], r

    # a node that reports k3s (its kubelet version, as k3s' kubelets write it) under the kubeadm layout
    node = names[0]
    before = k8s.core.read_node_status(node).status.node_info.kubelet_version
    k8s.core.patch_node_status(node, {"status": {"nodeInfo": {"kubeletVersion": "v1.30.4+k3s1"}}})
    try:
        seen = k8s.eventually("the k3s version on %s" % node, lambda: k8s.core.read_node_status(node),
                              lambda n: "+k3s" in n.status.node_info.kubelet_version, timeout=30)
        assert seen
        r = run_module(cluster, "kubelet_info", {"layout": "kubeadm"})
        assert any(m.startswith("nodes %s run k3s" % node) for m in r["mismatches"]), json.dumps(r["mismatches"])
        # under the k3s layout the other (kubeadm-like) nodes are not flagged: only distributions nodes report
        assert not [m for m in run_module(cluster, "kubelet_info", {"layout": "k3s"})["mismatches"] if node in m]
    finally:
        k8s.core.patch_node_status(node, {"status": {"nodeInfo": {"kubeletVersion": before}}})
