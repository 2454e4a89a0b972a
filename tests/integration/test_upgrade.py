"""Upgrading Fluid with live data, from the release before FLUID_VERSION to FLUID_VERSION, and
the downgrade refused.

The cluster starts on the previous release (`FLUID_CLUSTER_FLUID_VERSION=previous cluster.py up`,
hack/gates.py's `upgrade` lane): its supervisor runs that release's controllers until the
dataset-controller Deployment Helm installed runs another release, as a real cluster rolls the
Deployments' pods. The tests run in file order and share the cluster: the seed (site.yml) on the
previous release, the fluid role at FLUID_VERSION (chart, CRDs, controllers; the Dataset, its
volumes and the pods on them untouched), a DataLoad served by the new controllers, a second run
that changes nothing, and a downgrade refused before anything is written.
"""
import json
import os
import time

import pytest
import yaml

import test_role_fluid as R
from conftest import ROOT, SEED_GPU_LABEL, SEED_SECOND_NODE, cluster_status

NS = "fluid-system"
DATASET = "cifar10"
INVENTORY = "inventories/local"


def pins():
    out = {}
    with open(os.path.join(ROOT, "hack", "versions.env")) as fh:
        for line in fh:
            if "=" in line and not line.startswith("#"):
                k, v = line.strip().split("=", 1)
                out[k] = v
    return out


PREVIOUS = pins()["FLUID_PREVIOUS_VERSION"].lstrip("v")
CURRENT = pins()["FLUID_VERSION"].lstrip("v")
# what the seed made and the upgrade must keep: the Dataset, its runtime, volumes and the pods on them
KEPT = [("dataset", "default", DATASET), ("alluxioruntime", "default", DATASET), ("pvc", "default", DATASET),
        ("pv", None, "default-" + DATASET), ("pod", "default", "nginx-0"), ("pod", "default", "nginx-1"),
        ("pod", "default", DATASET + "-master-0"), ("pod", "default", DATASET + "-worker-0"),
        ("pod", "default", DATASET + "-worker-1")]


@pytest.fixture(scope="module")
def seen():
    """What one test saw and a later one compares with (uids, resourceVersions)."""
    return {}


@pytest.fixture(scope="module", autouse=True)
def on_previous_release(cluster):
    st = cluster_status()
    if st.get("fluid-version") != "v" + PREVIOUS:
        pytest.fail("this module needs a cluster started on Fluid v%s: FLUID_CLUSTER_FLUID_VERSION=previous "
                    "hack/cluster/cluster.py up (it started on %s)" % (PREVIOUS, st.get("fluid-version")), pytrace=False)


def uids(kube):
    out = {}
    for kind, ns, name in KEPT:
        obj = kube.get(kind, *(["-n", ns] if ns else []), name)
        out["%s %s" % (kind, name)] = obj["metadata"]["uid"]
    return out


def fluid_crds(kube):
    """{name: CRD} of Fluid's CRDs."""
    return {c["metadata"]["name"]: c for c in R.fluid_crds(kube)}


def running_controllers():
    """{controller: the binary its process runs} of the supervisor's Fluid controllers."""
    st = json.load(open(os.path.join(cluster_status()["workdir"], "run", "supervisor.json")))
    out = {}
    for name in ("dataset-controller", "alluxioruntime-controller", "juicefsruntime-controller",
                 "thinruntime-controller"):
        pid = st["children"][name]["pid"]
        out[name] = os.readlink("/proc/%d/exe" % pid) if pid else None
    return out


def wait_controllers_on(version, timeout=120):
    """The supervisor switched every Fluid controller to `version`'s binaries (it follows the
    dataset-controller Deployment Helm wrote; the switch is the embedded cluster's, not Fluid's)."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        st = cluster_status()
        last = (st.get("fluid-controllers"), running_controllers())
        if last[0] == "v" + version and all("/fluid-v%s-" % version in (exe or "") for exe in last[1].values()):
            return last
        time.sleep(1)
    raise AssertionError("the controllers did not switch to v%s in %d s: %s" % (version, timeout, last))


def pod_running(kube, name):
    pod = kube.get("pod", "-n", "default", name)
    return pod["status"]["phase"] == "Running" and "deletionTimestamp" not in pod["metadata"]


def test_seed_on_the_previous_release(ansible_playbook, kube, cluster, seen, tmp_path):
    r = ansible_playbook("playbooks/site.yml", "-e", "status_report_file=%s" % (tmp_path / "status.html"),
                         inventory=INVENTORY)
    assert r.rc == 0, r
    rel = R.helm_release(cluster)
    assert rel["chart"] == "fluid-" + PREVIOUS and rel["status"] == "deployed", rel
    wait_controllers_on(PREVIOUS, timeout=10)
    ds = kube.get("dataset", "-n", "default", DATASET)
    assert ds["status"]["phase"] == "Bound", ds["status"]
    assert all(pod_running(kube, p) for p in ("nginx-0", "nginx-1"))
    crds = fluid_crds(kube)
    assert crds and all(c["metadata"].get("annotations", {}).get("controller-gen.kubebuilder.io/version") == "v0.8.0"
                        for c in crds.values()), "v%s's CRDs were not applied" % PREVIOUS
    seen["uids"] = uids(kube)
    seen["crd_uids"] = {n: c["metadata"]["uid"] for n, c in crds.items()}
    seen["revision"] = int(rel["revision"])


def test_role_upgrades_to_the_current_release(ansible_playbook, kube, cluster, seen):
    chart = cluster["fluid-chart-v" + CURRENT]
    r = ansible_playbook("playbooks/site.yml", "--tags", "fluid", "-e", "fluid_version=" + CURRENT,
                         "-e", "fluid_chart_ref=" + chart, inventory=INVENTORY)
    assert r.rc == 0, r
    assert "upgraded from fluid-%s" % PREVIOUS in r.stdout, r
    rel = R.helm_release(cluster)
    assert rel["chart"] == "fluid-" + CURRENT and rel["status"] == "deployed", rel
    assert int(rel["revision"]) == seen["revision"] + 1
    # the chart's CRDs, schema and all, on the CRDs that held the objects all along
    crds = fluid_crds(kube)
    assert {n: c["metadata"]["uid"] for n, c in crds.items()} == seen["crd_uids"]
    for f in sorted(os.listdir(os.path.join(chart, "crds"))):
        with open(os.path.join(chart, "crds", f)) as fh:
            want = yaml.safe_load(fh)
        got = crds[want["metadata"]["name"]]
        assert got["metadata"]["annotations"]["controller-gen.kubebuilder.io/version"] \
            == want["metadata"]["annotations"]["controller-gen.kubebuilder.io/version"], f
        assert [v["schema"] for v in got["spec"]["versions"]] == [v["schema"] for v in want["spec"]["versions"]], f
    # the controllers now run the new release's binaries
    wait_controllers_on(CURRENT)
    # the Dataset stays Bound; its PV, PVC and the pods on them are the same objects, still running
    assert kube.get("dataset", "-n", "default", DATASET)["status"]["phase"] == "Bound"
    assert uids(kube) == seen["uids"]
    assert all(pod_running(kube, p) for p in ("nginx-0", "nginx-1"))


def test_new_controllers_serve_the_old_runtime(ansible_playbook, kube):
    """A DataLoad on the Dataset the previous release made: the new dataset controller runs it to Complete."""
    r = ansible_playbook("""
- hosts: localhost
  gather_facts: false
  tasks:
    - cloudnative.fluid.dataload:
        kubeconfig: "{{ k8s_kubeconfig }}"
        name: after-upgrade
        namespace: default
        dataset: cifar10
        paths: [{path: /hbase}]
        wait_timeout: 300
      register: load
    - ansible.builtin.assert:
        that: [load.phase == 'Complete']
""")
    assert r.rc == 0, r
    assert kube.get("dataset", "-n", "default", DATASET)["status"]["phase"] == "Bound"
    kube.run("delete", "dataload", "-n", "default", "after-upgrade", "--wait=true")


def test_second_run_changes_nothing(ansible_playbook, kube, cluster, seen):
    """site.yml again at the current release: Fluid, the Datasets, the workload, the GPU labels (not the status
    report, whose page shows what the DataLoad cached)."""
    # as the seed left it: conftest's seed_start removes the second node's GPU label before every test
    kube.run("label", "node", SEED_SECOND_NODE, "%s=Tesla-V100-SXM2-16GB" % SEED_GPU_LABEL, "--overwrite")
    r = ansible_playbook("playbooks/site.yml", "--tags", "fluid,datasets,workload,gpu", "-e", "fluid_version=" + CURRENT,
                         "-e", "fluid_chart_ref=" + cluster["fluid-chart-v" + CURRENT], inventory=INVENTORY)
    assert r.rc == 0, r
    assert r.stats.get("changed") == 0, r
    assert int(R.helm_release(cluster)["revision"]) == seen["revision"] + 1
    assert uids(kube) == seen["uids"]


def test_downgrade_is_refused_and_nothing_written(ansible_playbook, kube, cluster, seen):
    crds = {n: c["metadata"]["resourceVersion"] for n, c in fluid_crds(kube).items()}
    deployments = {d["metadata"]["name"]: d["metadata"]["resourceVersion"]
                   for d in kube.get("deployment", "-n", NS)["items"]}
    namespace = kube.get("namespace", NS)["metadata"]["resourceVersion"]
    for check in ([], ["--check"]):
        r = ansible_playbook("playbooks/site.yml", "--tags", "fluid", "-e", "fluid_version=" + PREVIOUS,
                             "-e", "fluid_chart_ref=" + cluster["fluid-chart-v" + PREVIOUS], *check, inventory=INVENTORY)
        assert r.rc != 0, r
        assert "Refusing to downgrade Fluid (nothing was changed)" in r.stdout, r
        assert "runs chart fluid %s, newer than fluid_version %s" % (CURRENT, PREVIOUS) in r.stdout, r
        assert 'Set fluid_version: \\"%s\\"' % CURRENT in r.stdout and "fluid_allow_downgrade: true" in r.stdout, r
    rel = R.helm_release(cluster)
    assert rel["chart"] == "fluid-" + CURRENT and int(rel["revision"]) == seen["revision"] + 1, rel
    assert {n: c["metadata"]["resourceVersion"] for n, c in fluid_crds(kube).items()} == crds
    assert {d["metadata"]["name"]: d["metadata"]["resourceVersion"]
            for d in kube.get("deployment", "-n", NS)["items"]} == deployments
    assert kube.get("namespace", NS)["metadata"]["resourceVersion"] == namespace
    assert cluster_status()["fluid-controllers"] == "v" + CURRENT
    assert uids(kube) == seen["uids"]
