"""Issue 6 acceptance: the seed's steps 11-13 driven by the role `cloudnative.fluid.gpu_node_labels`.

On the embedded cluster with the REAL Fluid controllers: Dataset cifar10 (node affinity on the GPU
label) and an AlluxioRuntime with 2 workers of MEM 2Gi + SSD 10Gi; only ...196 carries the label, so
one worker is ready and the cache is 12GiB. Then ...194 gets a GPU (allocatable nvidia.com/gpu, as a
device plugin would report it), the role finds it, labels it, waits for the runtime, and reports
12GiB -> 24GiB. A second run changes nothing; a check-mode removal writes nothing. The node is put
back as it was.
"""
import json
import os
import subprocess
import sys
import uuid

import pytest

from conftest import ROOT

N194 = "cn-hongkong.172.31.136.194"
N196 = "cn-hongkong.172.31.136.196"
GPU = "aliyun.accelerator/nvidia_name"
V100 = "Tesla-V100-SXM2-16GB"
SEED_ZONE = "topology.kubernetes.io/zone=cn-hongkong-b"
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
PLAYBOOK = """---
- name: Apply the gpu_node_labels role
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  roles:
    - role: cloudnative.fluid.gpu_node_labels
"""


class Run(object):
    def __init__(self, proc):
        self.rc, self.raw = proc.returncode, proc.stdout + proc.stderr
        try:
            self.data = json.loads(proc.stdout)
        except ValueError:
            self.data = {}
        stats = (self.data.get("stats") or {}).get("localhost") or {}
        self.changed, self.failed = stats.get("changed", -1), stats.get("failures", -1)

    def task(self, name):
        for play in self.data.get("plays") or []:
            for t in play.get("tasks") or []:
                if t["task"]["name"].split(" : ", 1)[-1] == name:
                    return t["hosts"]["localhost"]
        raise AssertionError("no task %r in the run:\n%s" % (name, self.raw[-4000:]))

    @property
    def report(self):
        return self.task("Report the labelled nodes and each dataset's cache before and after")["msg"]

    def __str__(self):
        return "rc=%s changed=%s\n%s" % (self.rc, self.changed, self.raw[-6000:])


@pytest.fixture(scope="module")
def collections(tmp_path_factory):
    top = tmp_path_factory.mktemp("collections")
    ns_dir = top / "ansible_collections" / "cloudnative"
    ns_dir.mkdir(parents=True)
    os.symlink(ROOT, ns_dir / "fluid")
    return str(top)


@pytest.fixture
def role(cluster, collections, tmp_path):
    playbook = tmp_path / "gpu_node_labels.yml"
    playbook.write_text(PLAYBOOK)

    def run(check=False, **overrides):
        extra = dict(gpu_node_labels_kubeconfig=cluster["kubeconfig"], gpu_node_labels_selector=SEED_ZONE,
                     gpu_node_labels_wait_timeout=240)
        extra.update(overrides)
        vars_file = tmp_path / ("vars-%s.json" % uuid.uuid4().hex[:6])
        vars_file.write_text(json.dumps(extra))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_STDOUT_CALLBACK="json",
                   ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_DEPRECATION_WARNINGS="0")
        for var in [k for k in env if k.startswith("K8S_AUTH_")]:
            env.pop(var)
        cmd = [ANSIBLE_PLAYBOOK, "-i", "localhost,", str(playbook), "-e", "@" + str(vars_file)]
        if check:
            cmd.append("--check")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=600)
        return Run(proc)
    return run


def set_gpus(kube, name, count):
    value = None if count is None else str(count)
    patch = {"status": {"capacity": {"nvidia.com/gpu": value}, "allocatable": {"nvidia.com/gpu": value}}}
    kube.run("patch", "node", name, "--subresource=status", "--type=merge", "-p", json.dumps(patch))


@pytest.fixture
def seed(kube, cluster, fluid):
    """The seed's Dataset and runtime at 12GiB in a namespace of their own; ...194 restored afterwards."""
    ns = "gpu-labels-" + uuid.uuid4().hex[:6]
    kube.run("create", "namespace", ns)
    fx = cluster["fixtures"]
    try:
        kube.apply({
            "apiVersion": "data.fluid.io/v1alpha1", "kind": "Dataset",
            "metadata": {"name": "cifar10", "namespace": ns},
            "spec": {"mounts": [{"name": m, "mountPoint": "%s/%s/" % (fx, m)} for m in ("hadoop", "spark", "hbase")],
                     "accessModes": ["ReadWriteMany"],
                     "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                         {"key": GPU, "operator": "In", "values": [V100]}]}]}}}})
        kube.apply({
            "apiVersion": "data.fluid.io/v1alpha1", "kind": "AlluxioRuntime",
            "metadata": {"name": "cifar10", "namespace": ns},
            "spec": {"replicas": 2,
                     "tieredstore": {"levels": [
                         {"mediumtype": "MEM", "path": "/dev/shm", "quota": "2Gi", "high": "0.95", "low": "0.7"},
                         {"mediumtype": "SSD", "path": "/var/lib/docker/alluxio", "quota": "10Gi",
                          "high": "0.95", "low": "0.7"}]},
                     "fuse": {"nodeSelector": {GPU: V100}}}})
        kube.wait_for(("dataset", "-n", ns, "cifar10"), lambda d: d["status"]["phase"] == "Bound", timeout=180)
        kube.wait_for(("alluxioruntime", "-n", ns, "cifar10"),
                      lambda r: r["status"]["cacheStates"]["cacheCapacity"] == "12.00GiB"
                      and r["status"]["workerNumberReady"] == 1, timeout=120)
        kube.wait_for(("dataset", "-n", ns, "cifar10"),
                      lambda d: d["status"]["cacheStates"]["cacheCapacity"] == "12.00GiB", timeout=60)
        yield ns
    finally:
        kube.run("label", "node", N194, GPU + "-", check=False)
        set_gpus(kube, N194, None)
        kube.run("delete", "-n", ns, "alluxioruntime/cifar10", "dataset/cifar10", "--ignore-not-found",
                 "--timeout=120s", check=False, timeout=150)
        kube.run("delete", "namespace", ns, "--wait=false", check=False)


def test_role_labels_the_new_gpu_node_and_reports_12_to_24_gib(kube, role, seed):
    assert GPU not in (kube.get("node", N194)["metadata"].get("labels") or {})
    set_gpus(kube, N194, 1)  # a GPU shows up on ...194

    datasets = [{"name": "cifar10", "namespace": seed}]
    dry = role(check=True, gpu_node_labels_datasets=datasets)
    assert dry.rc == 0, dry
    assert dry.task("Label the GPU nodes")["changed_nodes"] == [N194]
    assert GPU not in (kube.get("node", N194)["metadata"].get("labels") or {})  # check mode wrote nothing
    assert "Dataset %s/cifar10 (AlluxioRuntime): cache 12.00GiB -> 24.00GiB expected" % seed in dry.report[1], dry.report

    run = role(gpu_node_labels_datasets=datasets)
    assert run.rc == 0 and run.changed == 1, run
    result = run.task("Label the GPU nodes")
    assert result["changed_nodes"] == [N194] and result["unchanged_nodes"] == [N196]
    assert kube.get("node", N194)["metadata"]["labels"][GPU] == V100
    report = run.report
    assert report[0].startswith("labelled 1 node(s) with %s (%s); 1 node(s) already as wanted" % (GPU, N194)), report
    assert report[1].startswith("Dataset %s/cifar10 (AlluxioRuntime): cache 12.00GiB -> 24.00GiB, "
                                "ready workers 1 -> 2" % seed), report
    [d] = result["datasets"]
    assert (d["expected_workers"], d["eligible_nodes"], d["ready"]) == (2, 2, True)
    # the runtime's counts and the Dataset's cacheStates are separate asynchronous writes: waited for
    kube.wait_for(("alluxioruntime", "-n", seed, "cifar10"), lambda r: r["status"]["workerNumberReady"] == 2
                  and r["status"]["cacheStates"]["cacheCapacity"] == "24.00GiB", timeout=60)
    kube.wait_for(("dataset", "-n", seed, "cifar10"),
                  lambda d: d["status"]["cacheStates"]["cacheCapacity"] == "24.00GiB", timeout=60)
    print("\nmeasured: label -> 24GiB awaited in %.1f s" % d["wait_seconds"])

    again = role(gpu_node_labels_datasets=datasets)
    assert again.rc == 0 and again.changed == 0, again
    assert "cache 24.00GiB -> 24.00GiB, ready workers 2 -> 2" in again.report[1], again.report

    undo = role(check=True, gpu_node_labels_state="absent")
    assert undo.rc == 0 and undo.task("Label the GPU nodes")["changed_nodes"] == [N194, N196], undo
    assert kube.get("node", N194)["metadata"]["labels"][GPU] == V100


def test_role_refuses_bad_inputs_before_touching_nodes(kube, role):
    before = kube.get("node", N194)["metadata"]["resourceVersion"]
    bad = role(gpu_node_labels_label_key="fluid.io/s-x", gpu_node_labels_product="not valid!",
               gpu_node_labels_datasets=[{"name": "Cifar10"}])
    assert bad.rc != 0
    msg = bad.task("Check the role's inputs")["msg"]
    assert "gpu_node_labels_label_key: fluid.io/s-x is a label Fluid manages itself" in msg
    assert "gpu_node_labels_product: not valid! is not a valid label value" in msg
    assert "gpu_node_labels_datasets[0].name: Cifar10 is not a Dataset name" in msg
    assert kube.get("node", N194)["metadata"]["resourceVersion"] == before
