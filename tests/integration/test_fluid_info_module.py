"""cloudnative.fluid.fluid_info on the embedded cluster, where the role fluid installed Fluid (lane fluid, after
test_role_fluid.py, whose module fixture leaves Fluid installed by the role): what it reads is compared with what
Helm and the API server say, and a CRD changed since the role applied it is no longer current."""
import json
import subprocess

import pytest

import test_role_fluid as R
from test_dataset_module import run_module
from test_role_fluid import collections, role  # noqa: F401  (fixtures: the role as test_role_fluid runs it)


@pytest.fixture(scope="module")
def installed(role, kube, cluster):
    """Fluid as the role installed it (the role again only when a test before left it otherwise)."""
    crds = R.fluid_crds(kube)
    if not (R.helm_release(cluster) and len(crds) == len(R.chart_crd_names(cluster))
            and all("crds.cloudnative.fluid/applied" in c["metadata"].get("annotations", {}) for c in crds)):
        r = role()
        assert r.rc == 0, r.tail()
    R.wait_controllers()


def read(cluster, **args):
    return run_module(cluster, "fluid_info", dict({"binary_path": cluster["helm"], "release_namespace": R.NS}, **args))


def test_reads_what_helm_and_the_api_server_say(installed, cluster, kube):
    r = read(cluster, chart_ref=cluster["fluid-chart"], kubelet={"layout": "kubeadm"})
    assert not r.failed and r["changed"] is False, r
    rel = R.helm_release(cluster)
    assert {k: r["release"][k] for k in ("name", "namespace", "status", "chart", "app_version", "revision")} == \
        {k: rel[k] for k in ("name", "namespace", "status", "chart", "app_version", "revision")}
    assert r["release"]["values"] == R.helm_values(cluster)
    version = subprocess.run([cluster["helm"], "version", "--short"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("v" + r["helm"]["version"]) and r["helm"]["error"] is None
    server = json.loads(kube.run("version", "-o", "json").stdout)["serverVersion"]["gitVersion"]
    assert r["kubernetes"]["git_version"] == server and r["kubernetes"]["openshift"] is False
    # the CRDs: every chart CRD, with its uid, Established, applied by the role from the chart's documents
    crds = {c["metadata"]["name"]: c for c in R.fluid_crds(kube)}
    assert [c["name"] for c in r["crds"]] == R.chart_crd_names(cluster) == sorted(crds)
    for c in r["crds"]:
        assert c["uid"] == crds[c["name"]]["metadata"]["uid"] and c["established"] is True, c
        assert c["api_version"] == "data.fluid.io/v1alpha1" and c["applied"] == r["chart"]["crds_digest"], c
    assert r["chart"]["name"] == "fluid" and r["chart"]["version"] == R.CHART_VERSION and r["chart"]["error"] is None
    assert len(r["chart"]["crds"]) == len(crds) and r["chart"]["crds_current"] is True
    # the workloads, as the API server reports their rollout
    seen = {(w["kind"], w["name"]): w for w in r["workloads"]}
    for name in ("dataset-controller", "alluxioruntime-controller"):
        d = kube.get("deployment", "-n", R.NS, name)
        assert seen[("Deployment", name)]["rolled_out"] is True and seen[("Deployment", name)]["ready"] == \
            d["status"]["readyReplicas"]
    ds = kube.get("daemonset", "-n", R.NS, "csi-nodeplugin-fluid")
    assert seen[("DaemonSet", "csi-nodeplugin-fluid")]["desired"] == ds["status"]["desiredNumberScheduled"] > 0
    assert r["kubelet"]["chart_values"] == {"rootDir": "/var/lib/kubelet", "certDir": "/var/lib/kubelet/pki",
                                            "kubeConfigFile": "/etc/kubernetes/kubelet.conf"}


def test_a_crd_changed_since_the_apply_is_not_current(installed, cluster, kube):
    name = "dataloads.data.fluid.io"
    key = "crds.cloudnative.fluid/applied"
    before = kube.get("crd", name)["metadata"]["annotations"][key]
    digest, generation = before.rsplit("/", 1)
    # as after a change of its spec by another writer: the recorded generation is not the CRD's any more
    kube.run("annotate", "--overwrite", "crd", name, "%s=%s/%d" % (key, digest, int(generation) + 7))
    try:
        r = read(cluster, chart_ref=cluster["fluid-chart"])
        assert not r.failed, r
        assert r["chart"]["crds_current"] is False
        assert [c["applied"] for c in r["crds"] if c["name"] == name] == [""]
        assert all(c["applied"] == digest for c in r["crds"] if c["name"] != name)
    finally:
        kube.run("annotate", "--overwrite", "crd", name, "%s=%s" % (key, before))


def test_no_release_and_no_helm_are_reported_not_failed(installed, cluster):
    r = read(cluster, release_name="not-installed")
    assert not r.failed and r["release"] is None and "chart" not in r, r
    r = read(cluster, binary_path="/nonexistent/helm", chart_ref=cluster["fluid-chart"])
    assert not r.failed, r
    assert r["helm"]["version"] is None and "/nonexistent/helm" in r["helm"]["error"]
    assert r["release"] is None and r["chart"]["error"].startswith("Helm does not run")
    assert len(r["crds"]) == len(R.chart_crd_names(cluster))


def test_bad_kubelet_paths_fail_naming_the_option(installed, cluster):
    r = read(cluster, kubelet={"layout": "k3s", "root_dir": "var/lib/kubelet"})
    assert r.failed and "kubelet.root_dir: 'var/lib/kubelet' must be an absolute path" in r["msg"], r
