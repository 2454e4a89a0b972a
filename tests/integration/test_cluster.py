"""Issue 2 acceptance: the embedded cluster's real control plane and KWOK."""
import uuid

import pytest

GPU_LABEL = "aliyun.accelerator/nvidia_name"
GPU_VALUE = "Tesla-V100-SXM2-16GB"
NODE_194 = "cn-hongkong.172.31.136.194"
NODE_196 = "cn-hongkong.172.31.136.196"
# the seed's nginx used host port 80 (one pod per node); a port of its own per test, so the
# demo workload (site.yml) on the same cluster does not take it
HOST_PORT = 18080


def VOLUME_AFFINITY_CONFLICT(message):
    """The scheduler's volume-binding reason. The seed (2020) saw "1 node(s) had volume node
    affinity conflict"; since Kubernetes 1.34 the same reason reads "node(s) didn't match
    PersistentVolume's node affinity" (pkg/scheduler/framework/plugins/volumebinding/binder.go)."""
    return "volume node affinity conflict" in message or "didn't match PersistentVolume's node affinity" in message


@pytest.fixture
def namespace(kube):
    name = "t-" + uuid.uuid4().hex[:8]
    kube.run("create", "namespace", name)
    yield name
    kube.run("delete", "namespace", name, "--wait=false")


def test_nodes_are_the_seeds(kube):
    nodes = {n["metadata"]["name"]: n for n in kube.get("nodes")["items"]}
    assert {NODE_194, NODE_196} <= set(nodes)
    gpu = nodes[NODE_196]
    assert gpu["metadata"]["labels"][GPU_LABEL] == GPU_VALUE
    assert gpu["status"]["allocatable"]["nvidia.com/gpu"] == "1"
    for n in (nodes[NODE_194], gpu):
        ready = [c for c in n["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True"


def test_deployment_pods_run_on_kwok_nodes(kube, namespace):
    kube.apply({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}})
    pods = kube.wait_for(
        ("pods", "-n", namespace, "-l", "app=web"),
        lambda p: len(p["items"]) == 3 and all(i["status"]["phase"] == "Running" for i in p["items"]))
    assert {p["spec"]["nodeName"] for p in pods["items"]} <= {NODE_194, NODE_196}
    # the real controller-manager counted them ready
    kube.wait_for(("deployment", "-n", namespace, "web"), lambda d: d["status"].get("readyReplicas") == 3)


def _events(kube, namespace, pod):
    ev = kube.get("events", "-n", namespace, "--field-selector", "involvedObject.name=" + pod)
    return [e for e in ev["items"] if e["reason"] == "FailedScheduling"]


def test_seed_scheduling_story_with_real_scheduler(kube, namespace):
    kube.run("label", "node", NODE_194, GPU_LABEL + "-")  # the seed's start: only ...196 has the GPU label
    pv = "seed-" + namespace
    kube.apply({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": pv},
        "spec": {"capacity": {"storage": "100Gi"}, "accessModes": ["ReadWriteMany"],
                 "storageClassName": "seed", "persistentVolumeReclaimPolicy": "Retain",
                 "csi": {"driver": "fuse.csi.fluid.io", "volumeHandle": pv},
                 "claimRef": {"namespace": namespace, "name": "cifar10"},
                 "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                     {"key": GPU_LABEL, "operator": "In", "values": [GPU_VALUE]}]}]}}}})
    try:
        kube.apply({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "cifar10", "namespace": namespace},
            "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "seed", "volumeName": pv,
                     "resources": {"requests": {"storage": "100Gi"}}}})
        kube.wait_for(("pvc", "-n", namespace, "cifar10"), lambda c: c["status"]["phase"] == "Bound")
        kube.apply({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "nginx", "namespace": namespace},
            "spec": {"replicas": 2, "serviceName": "nginx", "podManagementPolicy": "Parallel",
                     "selector": {"matchLabels": {"app": "nginx"}},
                     "template": {"metadata": {"labels": {"app": "nginx"}}, "spec": {
                         # the seed's pod: host network and port 80, so one pod per node
                         "hostNetwork": True,
                         "containers": [{"name": "nginx", "image": "nginx",
                                         "ports": [{"containerPort": HOST_PORT, "protocol": "TCP"}],
                                         "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                         "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "cifar10"}}]}}}})
        pods = kube.wait_for(
            ("pods", "-n", namespace, "-l", "app=nginx"),
            lambda p: len(p["items"]) == 2 and sorted(i["status"]["phase"] for i in p["items"]) == ["Pending", "Running"])
        running = [p for p in pods["items"] if p["status"]["phase"] == "Running"][0]
        pending = [p for p in pods["items"] if p["status"]["phase"] == "Pending"][0]
        assert running["spec"]["nodeName"] == NODE_196
        ev = kube.wait_for(("events", "-n", namespace, "--field-selector",
                            "involvedObject.name=" + pending["metadata"]["name"]),
                           lambda e: any(VOLUME_AFFINITY_CONFLICT(x["message"]) for x in e["items"]
                                         if x["reason"] == "FailedScheduling"))
        assert ev["items"]
        kube.run("label", "node", NODE_194, "%s=%s" % (GPU_LABEL, GPU_VALUE))
        pods = kube.wait_for(
            ("pods", "-n", namespace, "-l", "app=nginx"),
            lambda p: len(p["items"]) == 2 and all(i["status"]["phase"] == "Running" for i in p["items"]))
        assert {p["spec"]["nodeName"] for p in pods["items"]} == {NODE_194, NODE_196}
    finally:
        kube.run("label", "node", NODE_194, GPU_LABEL + "-", check=False)
        kube.run("delete", "statefulset", "-n", namespace, "nginx", "--wait=false", check=False)
        kube.run("delete", "pv", pv, "--wait=false", check=False)


def test_exec_runs_the_mapped_local_command(kube, namespace, cluster):
    kube.apply({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "probe", "namespace": namespace},
        "spec": {"nodeName": NODE_194, "containers": [{"name": "exec-probe", "image": "busybox"}]}})
    kube.wait_for(("pod", "-n", namespace, "probe"), lambda p: p["status"]["phase"] == "Running")
    r = kube.run("exec", "-n", namespace, "probe", "-c", "exec-probe", "--",
                 "sh", "-c", "echo $EMBEDDED_CLUSTER_EXEC; pwd")
    value, cwd = r.stdout.split()
    assert value == "mapped-by-kwok"
    assert cwd == cluster["workdir"]
    # an unmapped container is refused, not silently answered
    r = kube.run("exec", "-n", namespace, "probe", "-c", "nope", "--", "true", check=False)
    assert r.returncode != 0
