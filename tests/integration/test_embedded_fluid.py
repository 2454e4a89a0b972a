"""Issue 3 acceptance: the seed's status story, written by the REAL Fluid controllers.

Plain kubectl only (not the collection). Every status asserted below was written by
Fluid v1.0.8's dataset and alluxioruntime controllers; the Alluxio CLI simulator only
answers the CLI commands they exec into the master pod.
"""
import os
import time
import urllib.parse
import urllib.request
import uuid
from html.parser import HTMLParser

import pytest

GPU_LABEL = "aliyun.accelerator/nvidia_name"
GPU_VALUE = "Tesla-V100-SXM2-16GB"
NODE_194 = "cn-hongkong.172.31.136.194"
NODE_196 = "cn-hongkong.172.31.136.196"
# the seed's nginx used host port 80 (one pod per node); a port of its own per test, so the
# demo workload (site.yml) on the same cluster does not take it
HOST_PORT = 18081
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "hack", "cluster", "fixtures")


def fixture_bytes():
    """The fixtures' real total, from the files on disk (what ufsTotal must show)."""
    total = 0
    for mount in ("hadoop", "spark", "hbase"):
        for dirpath, _, files in os.walk(os.path.join(FIXTURES, mount)):
            total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    return total


def human(n):
    """Fluid's BytesSize format (units.BytesSize: binary units, two decimals)."""
    units = ["B", "KiB", "MiB", "GiB", "TiB"]
    i = 0
    value = float(n)
    while value >= 1024 and i < len(units) - 1:
        value /= 1024
        i += 1
    return "%.2f%s" % (value, units[i])


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href"]


def test_fixture_server_serves_the_fixtures(cluster):
    """The HTTP under-storage is a real server on 127.0.0.1 listing the three mounts."""
    url = cluster["fixtures"]
    assert url.startswith("http://127.0.0.1:")
    p = Links()
    p.feed(urllib.request.urlopen(url + "/").read().decode())
    assert {"hadoop/", "spark/", "hbase/"} <= set(urllib.parse.unquote(h) for h in p.hrefs)


@pytest.fixture
def ns(kube):
    name = "seed-" + uuid.uuid4().hex[:6]
    kube.run("label", "node", NODE_194, GPU_LABEL + "-")  # the seed's start: only ...196 has the GPU label
    kube.run("create", "namespace", name)
    yield name
    kube.run("label", "node", NODE_194, GPU_LABEL + "-", check=False)
    for kind in ("statefulset/nginx", "alluxioruntime/cifar10", "dataset/cifar10"):
        kube.run("delete", "-n", name, kind, "--ignore-not-found", "--timeout=90s", check=False)
    kube.run("delete", "namespace", name, "--wait=false")


def test_seed_story_with_real_fluid_controllers(kube, cluster, fluid, ns):
    fx = cluster["fixtures"]
    kube.apply({
        "apiVersion": "data.fluid.io/v1alpha1", "kind": "Dataset",
        "metadata": {"name": "cifar10", "namespace": ns},
        "spec": {"mounts": [{"name": m, "mountPoint": "%s/%s/" % (fx, m)} for m in ("hadoop", "spark", "hbase")],
                 "accessModes": ["ReadWriteMany"],
                 "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                     {"key": GPU_LABEL, "operator": "In", "values": [GPU_VALUE]}]}]}}}})
    # 1. before any runtime: NotBound, with Fluid's finalizer
    ds = kube.wait_for(("dataset", "-n", ns, "cifar10"), lambda d: d["status"]["phase"] == "NotBound")
    assert "fluid-dataset-controller-finalizer" in ds["metadata"]["finalizers"]

    # 2. the runtime: 2 workers wanted, only the GPU node qualifies
    t0 = time.time()
    kube.apply({
        "apiVersion": "data.fluid.io/v1alpha1", "kind": "AlluxioRuntime",
        "metadata": {"name": "cifar10", "namespace": ns},
        "spec": {"replicas": 2,
                 "tieredstore": {"levels": [
                     {"mediumtype": "MEM", "path": "/dev/shm", "quota": "2Gi", "high": "0.95", "low": "0.7"},
                     {"mediumtype": "SSD", "path": "/var/lib/docker/alluxio", "quota": "10Gi",
                      "high": "0.95", "low": "0.7"}]},
                 "fuse": {"nodeSelector": {GPU_LABEL: GPU_VALUE}}}})
    ds = kube.wait_for(("dataset", "-n", ns, "cifar10"), lambda d: d["status"]["phase"] == "Bound", timeout=180)
    bound_s = time.time() - t0
    # Fluid writes the runtime's counts, its cache states and the Dataset's sizes in separate
    # asynchronous updates: every value below is waited for, never read once after Bound
    kube.wait_for(("alluxioruntime", "-n", ns, "cifar10"),
                  lambda r: r["status"]["cacheStates"]["cacheCapacity"] == "12.00GiB"
                  and r["status"]["masterPhase"] == "Ready" and r["status"]["workerPhase"] == "PartialReady"
                  and (r["status"]["desiredWorkerNumberScheduled"], r["status"]["workerNumberReady"]) == (2, 1))
    ds = kube.wait_for(("dataset", "-n", ns, "cifar10"),
                       lambda d: (d["status"].get("cacheStates") or {}).get("cacheCapacity") == "12.00GiB"
                       and d["status"].get("ufsTotal") == human(fixture_bytes())
                       and any(c["type"] == "Ready" and c["status"] == "True" for c in d["status"]["conditions"]),
                       timeout=60)
    pv = kube.wait_for(("pv", "%s-cifar10" % ns), lambda v: v["status"]["phase"] == "Bound")
    assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["key"] == GPU_LABEL
    kube.wait_for(("pvc", "-n", ns, "cifar10"), lambda c: c["status"]["phase"] == "Bound")

    # 3. the seed's nginx: one pod per node (host port 80), the PV pins them to GPU nodes
    kube.apply({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "nginx", "namespace": ns},
        "spec": {"replicas": 2, "serviceName": "nginx", "podManagementPolicy": "Parallel",
                 "selector": {"matchLabels": {"app": "nginx"}},
                 "template": {"metadata": {"labels": {"app": "nginx"}}, "spec": {
                     "hostNetwork": True,
                     "containers": [{"name": "nginx", "image": "nginx",
                                     "ports": [{"containerPort": HOST_PORT, "protocol": "TCP"}],
                                     "volumeMounts": [{"name": "cifar10", "mountPath": "/data"}]}],
                     "volumes": [{"name": "cifar10", "persistentVolumeClaim": {"claimName": "cifar10"}}]}}}})
    pods = kube.wait_for(("pods", "-n", ns, "-l", "app=nginx"), lambda p: len(p["items"]) == 2 and sorted(
        i["status"]["phase"] for i in p["items"]) == ["Pending", "Running"])
    pending = [p for p in pods["items"] if p["status"]["phase"] == "Pending"][0]["metadata"]["name"]
    kube.wait_for(("events", "-n", ns, "--field-selector", "involvedObject.name=" + pending),
                  lambda e: any("PersistentVolume's node affinity" in x["message"]
                                or "volume node affinity conflict" in x["message"] for x in e["items"]))

    # 4. label the second node: the second worker and the second app pod find a home
    t1 = time.time()
    kube.run("label", "node", NODE_194, "%s=%s" % (GPU_LABEL, GPU_VALUE))
    kube.wait_for(("alluxioruntime", "-n", ns, "cifar10"),
                  lambda r: r["status"]["cacheStates"]["cacheCapacity"] == "24.00GiB"
                  and r["status"]["workerNumberReady"] == 2 and r["status"]["workerPhase"] == "Ready", timeout=180)
    widen_s = time.time() - t1
    kube.wait_for(("dataset", "-n", ns, "cifar10"),
                  lambda d: d["status"]["cacheStates"]["cacheCapacity"] == "24.00GiB")
    kube.wait_for(("pods", "-n", ns, "-l", "app=nginx"),
                  lambda p: [i["status"]["phase"] for i in p["items"]] == ["Running", "Running"])
    kube.wait_for(("nodes",), lambda n: all(
        i["metadata"]["labels"].get("fluid.io/s-%s-cifar10" % ns) == "true"
        for i in n["items"] if i["metadata"]["name"] in (NODE_194, NODE_196)))
    # the CSI node plugin stand-in labelled both app nodes fluid.io/f-<ns>-cifar10 (NodeStageVolume):
    # the FUSE DaemonSet runs one pod on each, and Fluid counts them
    fuse_label = "fluid.io/f-%s-cifar10" % ns
    kube.wait_for(("nodes",), lambda n: all(
        i["metadata"]["labels"].get(fuse_label) == "true"
        for i in n["items"] if i["metadata"]["name"] in (NODE_194, NODE_196)))
    kube.wait_for(("alluxioruntime", "-n", ns, "cifar10"),
                  lambda r: (r["status"]["desiredFuseNumberScheduled"], r["status"]["fuseNumberReady"]) == (2, 2)
                  and r["status"]["fusePhase"] == "Ready", timeout=60)
    print("\nmeasured: runtime created -> dataset Bound %.1f s; node labelled -> 24GiB %.1f s" % (bound_s, widen_s))

    # 5. delete: finalizers clear, PV/PVC go, Fluid's node labels are removed
    kube.run("delete", "-n", ns, "statefulset/nginx", "--timeout=60s")
    kube.wait_for(("pods", "-n", ns, "-l", "app=nginx"), lambda p: not p["items"])
    # fuse.cleanPolicy defaults to OnRuntimeDeleted: NodeUnstageVolume keeps the label (and the FUSE pods)
    time.sleep(3)
    assert all(i["metadata"]["labels"].get(fuse_label) == "true" for i in kube.get("nodes")["items"]
               if i["metadata"]["name"] in (NODE_194, NODE_196))
    kube.run("delete", "-n", ns, "alluxioruntime/cifar10", "dataset/cifar10", "--timeout=120s", timeout=150)
    kube.wait_for(("pv",), lambda p: not [i for i in p["items"] if i["metadata"]["name"] == "%s-cifar10" % ns])
    kube.wait_for(("pvc", "-n", ns), lambda c: not [i for i in c["items"] if i["metadata"]["name"] == "cifar10"])
    kube.wait_for(("nodes",), lambda n: not [k for i in n["items"] for k in i["metadata"]["labels"]
                                             if k.startswith("fluid.io/") and ns in k])


def test_fuse_label_follows_the_pods_with_on_demand_clean_policy(kube, cluster, fluid, ns):
    """The CSI node plugin stand-in: a pod using the Dataset's PVC labels its node
    fluid.io/f-<ns>-<name> (NodeStageVolume), the FUSE DaemonSet follows; with
    fuse.cleanPolicy OnDemand the last pod leaving unlabels the node (NodeUnstageVolume)."""
    name, label = "ondemand", "fluid.io/f-%s-ondemand" % ns
    kube.apply({"apiVersion": "data.fluid.io/v1alpha1", "kind": "Dataset",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"mounts": [{"name": "hadoop", "mountPoint": "%s/hadoop/" % cluster["fixtures"]}],
                         "accessModes": ["ReadWriteMany"]}})
    kube.apply({"apiVersion": "data.fluid.io/v1alpha1", "kind": "AlluxioRuntime",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"replicas": 1,
                         "tieredstore": {"levels": [{"mediumtype": "MEM", "path": "/dev/shm", "quota": "1Gi"}]},
                         "fuse": {"cleanPolicy": "OnDemand"}}})
    kube.wait_for(("pvc", "-n", ns, name), lambda c: c["status"]["phase"] == "Bound", timeout=180)
    kube.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app", "namespace": ns},
                "spec": {"nodeSelector": {"kubernetes.io/hostname": NODE_196},
                         "containers": [{"name": "app", "image": "busybox",
                                         "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                         "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": name}}]}})
    kube.wait_for(("node", NODE_196), lambda n: n["metadata"]["labels"].get(label) == "true")
    assert label not in kube.get("node", NODE_194)["metadata"]["labels"]
    kube.wait_for(("alluxioruntime", "-n", ns, name),
                  lambda r: (r["status"]["desiredFuseNumberScheduled"], r["status"]["fuseNumberReady"]) == (1, 1),
                  timeout=60)
    kube.run("delete", "-n", ns, "pod/app", "--timeout=60s")
    kube.wait_for(("node", NODE_196), lambda n: label not in n["metadata"]["labels"])
    kube.wait_for(("alluxioruntime", "-n", ns, name),
                  lambda r: (r["status"]["desiredFuseNumberScheduled"], r["status"].get("fuseNumberReady", 0)) == (0, 0),
                  timeout=60)
    kube.run("delete", "-n", ns, "alluxioruntime/" + name, "dataset/" + name, "--timeout=120s", timeout=150)
