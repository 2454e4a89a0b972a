"""cloudnative.fluid.fluid_info and module_utils/installation: the CRDs as the role applied them, rollouts as
kubernetes.core's waiter judges them, the release and the chart as a Helm client prints them (a script standing in
for helm, run as a real process)."""
import json
import os
import stat
import sys
import textwrap

import pytest

from ansible_collections.cloudnative.fluid.plugins.module_utils import installation as I
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import ApiError
from ansible_collections.cloudnative.fluid.plugins.modules import fluid_info as M

CRD_TEXT = textwrap.dedent("""\
    ---
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: datasets.data.fluid.io
    spec:
      group: data.fluid.io
    ---
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: dataloads.data.fluid.io
    spec:
      group: data.fluid.io
    """)
DOCS = I.crd_documents(CRD_TEXT)
DIGEST = I.digest(DOCS)


def crd(name, kind, generation=3, applied=None, established=True, group="data.fluid.io"):
    ann = {I.APPLIED_ANNOTATION: applied} if applied else {}
    return {"metadata": {"name": name, "uid": "uid-" + name, "generation": generation, "annotations": ann},
            "spec": {"group": group, "names": {"kind": kind},
                     "versions": [{"name": "v1beta1", "storage": False}, {"name": "v1alpha1", "storage": True}]},
            "status": {"conditions": [{"type": "Established", "status": "True" if established else "False"}]}}


def test_crd_documents_and_digest():
    assert len(DOCS) == 2 and "datasets.data.fluid.io" in DOCS[0] and "dataloads.data.fluid.io" in DOCS[1]
    assert I.crd_documents("---\nkind: ConfigMap\n") == [] and I.crd_documents(None) == []
    assert I.digest(DOCS) == DIGEST != I.digest(DOCS[:1])


def test_applied_holds_only_at_the_recorded_generation():
    s = I.crd_summary(crd("datasets.data.fluid.io", "Dataset", 3, DIGEST + "/3"))
    assert s == {"name": "datasets.data.fluid.io", "kind": "Dataset", "uid": "uid-datasets.data.fluid.io",
                 "api_version": "data.fluid.io/v1alpha1", "established": True, "generation": 3, "applied": DIGEST}
    assert I.crd_summary(crd("datasets.data.fluid.io", "Dataset", 4, DIGEST + "/3"))["applied"] == ""
    assert I.crd_summary(crd("datasets.data.fluid.io", "Dataset", 3, "garbage"))["applied"] == ""
    assert I.crd_summary(crd("datasets.data.fluid.io", "Dataset"))["applied"] == ""


def test_crds_current_needs_every_chart_crd_established_and_unchanged():
    good = [crd("datasets.data.fluid.io", "Dataset", 3, DIGEST + "/3"), crd("dataloads.data.fluid.io", "DataLoad", 1, DIGEST + "/1"),
            crd("other.example.com", "Other", group="example.com")]
    listed = I.fluid_crds(good)
    assert [c["name"] for c in listed] == ["dataloads.data.fluid.io", "datasets.data.fluid.io"]
    assert I.crds_current(listed, DOCS, DIGEST) is True
    assert I.crds_current(listed[:1], DOCS, DIGEST) is False  # one missing
    assert I.crds_current(listed, DOCS, I.digest(DOCS[:1])) is False  # another chart
    assert I.crds_current(I.fluid_crds([good[0], crd("dataloads.data.fluid.io", "DataLoad", 2, DIGEST + "/1")]),
                          DOCS, DIGEST) is False  # changed since
    assert I.crds_current(I.fluid_crds([good[0], crd("dataloads.data.fluid.io", "DataLoad", 1, DIGEST + "/1",
                                                     established=False)]), DOCS, DIGEST) is False
    assert I.crds_current([], [], I.digest([])) is False


def deployment(spec_replicas=1, **status):
    return {"kind": "Deployment", "metadata": {"name": "dataset-controller", "generation": 2},
            "spec": {"replicas": spec_replicas}, "status": status}


def test_rollouts_as_kubernetes_core_waits_for_them():
    done = dict(replicas=1, availableReplicas=1, readyReplicas=1, updatedReplicas=1, observedGeneration=2)
    assert I.workload(deployment(**done)) == {"kind": "Deployment", "name": "dataset-controller", "rolled_out": True,
                                              "desired": 1, "ready": 1}
    stale, unavailable = dict(done), dict(done, unavailableReplicas=1)
    stale["observedGeneration"] = 1
    assert I.deployment_rolled_out(deployment(**stale)) is False
    assert I.deployment_rolled_out(deployment(**unavailable)) is False
    assert I.deployment_rolled_out(deployment(spec_replicas=2, **done)) is False
    assert I.deployment_rolled_out(deployment(spec_replicas=0, observedGeneration=2)) is True
    assert I.deployment_rolled_out(deployment()) is False  # no status yet
    ds = {"kind": "DaemonSet", "metadata": {"name": "csi-nodeplugin-fluid", "generation": 1},
          "status": {"desiredNumberScheduled": 2, "updatedNumberScheduled": 2, "numberReady": 2, "observedGeneration": 1}}
    assert I.workload(ds) == {"kind": "DaemonSet", "name": "csi-nodeplugin-fluid", "rolled_out": True, "desired": 2, "ready": 2}
    ds["status"]["numberReady"] = 1
    assert I.daemonset_rolled_out(ds) is False


def test_helm_versions():
    assert I.helm_version("v3.21.4+g1234abc\n") == "3.21.4"
    assert I.helm_version("v4.0.1") == "4.0.1" and I.helm_version("") is None


# ------------------------------------------------------------------------------------------------ the module

RELEASE = {"name": "fluid", "namespace": "fluid-system", "revision": "2", "updated": "2026-12-03", "status": "deployed",
           "chart": "fluid-1.0.8", "app_version": "1.0.8-6533239"}


def fake_helm(tmp_path, releases=(RELEASE,), values="namespace: fluid-system\n", chart_ok=True):
    """An executable that answers as helm does, and logs its arguments and HELM_NAMESPACE."""
    log = tmp_path / "helm.log"
    answers = {"list": json.dumps(list(releases)), "values": values, "crds": CRD_TEXT,
               "chart": "apiVersion: v2\nname: fluid\nversion: 1.0.8\nappVersion: 1.0.8-6533239\n"}
    (tmp_path / "answers.json").write_text(json.dumps(answers))
    script = tmp_path / "helm"
    script.write_text(textwrap.dedent("""\
        #!%s
        import json, os, sys
        here = os.path.dirname(os.path.abspath(__file__))
        a = json.load(open(os.path.join(here, "answers.json")))
        with open(os.path.join(here, "helm.log"), "a") as fh:
            fh.write(json.dumps([sys.argv[1:], os.environ.get("HELM_NAMESPACE"), os.environ.get("HELM_KUBEAPISERVER"),
                                 os.environ.get("HELM_KUBEINSECURE_SKIP_TLS_VERIFY")]) + "\\n")
        args = sys.argv[1:]
        if args == ["version", "--short"]:
            print("v3.21.4+gabcdef")
        elif args[:1] == ["version"]:
            print('version.BuildInfo{Version:"v3.21.4", GitCommit:"abcdef", GoVersion:"go1.26"}')
        elif args[:1] == ["list"]:
            print(a["list"])
        elif args[:2] == ["get", "values"]:
            print(a["values"])
        elif args[:1] == ["show"] and %r:
            sys.stdout.write(a[args[1]])
        else:
            sys.stderr.write("Error: chart not found\\n")
            sys.exit(1)
        """ % (sys.executable, chart_ok)))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script), log


class InstalledCluster(object):
    """The API reads fluid_info makes: /version, the OpenShift group, CRDs, Deployments, DaemonSets, nodes."""
    host = "https://cluster.example:6443"

    def __init__(self, crds, openshift=False):
        self.crds, self.openshift = crds, openshift

    def read(self, path):
        if path == "/version":
            return {"gitVersion": "v1.33.1+k3s1"}
        if self.openshift:
            return {"resources": [{"kind": "SecurityContextConstraints", "name": "securitycontextconstraints"}]}
        raise ApiError("not found", status=404)

    def list(self, kind, namespace, **_kw):
        if kind == "CustomResourceDefinition":
            return self.crds
        if kind == "Deployment":
            assert namespace == "fluid-system"
            return [deployment(replicas=1, availableReplicas=1, readyReplicas=1, observedGeneration=2)]
        if kind == "Node":
            return [{"metadata": {"name": "n1"}, "status": {"nodeInfo": {"kubeletVersion": "v1.33.1+k3s1"}}}]
        return []

    def node_configz(self, name):
        raise ApiError("forbidden", status=403)


def applied_crds(generation_of_dataload=1):
    return [crd("datasets.data.fluid.io", "Dataset", 3, DIGEST + "/3"),
            crd("dataloads.data.fluid.io", "DataLoad", generation_of_dataload, DIGEST + "/1")]


def test_reads_cluster_release_crds_workloads_and_chart(run_module, tmp_path):
    helm, log = fake_helm(tmp_path)
    r = run_module(M, {"binary_path": helm, "chart_ref": "/charts/fluid"}, InstalledCluster(applied_crds(), openshift=True))
    assert r["changed"] is False
    assert r["kubernetes"] == {"version": "1.33.1", "git_version": "v1.33.1+k3s1", "host": InstalledCluster.host,
                               "openshift": True}
    assert r["helm"] == {"binary": helm, "version": "3.21.4", "error": None}
    assert r["release"] == dict(RELEASE, values={"namespace": "fluid-system"})
    assert [c["kind"] for c in r["crds"]] == ["DataLoad", "Dataset"]
    assert r["workloads"] == [{"kind": "Deployment", "name": "dataset-controller", "rolled_out": True, "desired": 1, "ready": 1}]
    assert r["chart"] == {"name": "fluid", "version": "1.0.8", "app_version": "1.0.8-6533239", "crds": DOCS,
                          "crds_digest": DIGEST, "crds_current": True, "error": None}
    assert "kubelet" not in r
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c[0][:2] for c in calls] == [["version", "--short"], ["list", "--all"], ["get", "values"],
                                         ["show", "chart"], ["show", "crds"]]
    assert calls[1][0][-2:] == ["--filter", "^fluid$"] and calls[1][1] == "fluid-system"  # the release's namespace
    assert calls[3][0][2:] == ["/charts/fluid"]


def test_a_changed_crd_and_a_repository_chart(run_module, tmp_path):
    helm, log = fake_helm(tmp_path)
    r = run_module(M, {"binary_path": helm, "chart_ref": "fluid", "chart_repo_url": "https://charts.example",
                       "chart_version": "1.0.8"}, InstalledCluster(applied_crds(generation_of_dataload=2)))
    assert r["chart"]["crds_current"] is False and r["kubernetes"]["openshift"] is False
    show = [json.loads(line)[0] for line in log.read_text().splitlines() if line.startswith('[["show"')]
    assert show[0] == ["show", "chart", "fluid", "--repo", "https://charts.example", "--version", "1.0.8"]


def test_no_release_no_values_and_unreadable_chart(run_module, tmp_path):
    helm, _log = fake_helm(tmp_path, releases=[dict(RELEASE, name="fluid-other")], chart_ok=False)
    r = run_module(M, {"binary_path": helm, "chart_ref": "/nowhere"}, InstalledCluster([]))
    assert r["release"] is None and r["crds"] == []
    assert r["chart"] == {"error": "Error: chart not found"}
    helm, _log = fake_helm(tmp_path, values="null\n")
    assert run_module(M, {"binary_path": helm}, InstalledCluster([]))["release"]["values"] == {}


def test_helm_missing_is_reported_not_failed(run_module, tmp_path):
    r = run_module(M, {"binary_path": str(tmp_path / "no-helm"), "chart_ref": "fluid"}, InstalledCluster([]))
    assert r["helm"]["version"] is None and "no-helm was not found or is not executable" in r["helm"]["error"]
    assert r["release"] is None and r["chart"]["error"].startswith("Helm does not run")


def test_kubelet_check_and_its_bad_paths(run_module, tmp_path):
    helm, _log = fake_helm(tmp_path)
    r = run_module(M, {"binary_path": helm, "kubelet": {"layout": "kubeadm"}}, InstalledCluster([]))
    assert r["kubelet"]["chart_values"]["rootDir"] == "/var/lib/kubelet"
    assert any("run k3s" in m for m in r["kubelet"]["mismatches"]) and r.get("warnings")
    r = run_module(M, {"binary_path": helm, "kubelet": {"layout": "k3s", "cert_dir": "pki"}}, InstalledCluster([]))
    assert r["failed"] and "kubelet.cert_dir: 'pki' must be an absolute path" in r["msg"]


@pytest.mark.parametrize("path", ["helm", None])
def test_a_helm_name_is_looked_up_on_the_path(run_module, tmp_path, monkeypatch, path):
    helm, _log = fake_helm(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ["PATH"])
    r = run_module(M, {"binary_path": path} if path else {}, InstalledCluster([]))
    assert r["helm"]["binary"] == helm and r["release"]["name"] == "fluid"


def test_helm_gets_the_connection_from_k8s_auth_variables_as_kubernetes_core_helm_does(run_module, tmp_path, monkeypatch):
    helm, log = fake_helm(tmp_path)
    monkeypatch.setenv("K8S_AUTH_HOST", "https://from-env:6443")
    monkeypatch.setenv("K8S_AUTH_API_KEY", "token-from-env")
    monkeypatch.setenv("K8S_AUTH_VERIFY_SSL", "no")
    r = run_module(M, {"binary_path": helm}, InstalledCluster([]))
    assert r["release"]["name"] == "fluid"
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c[2:] for c in calls if c[0][0] in ("list", "get")] == [["https://from-env:6443", "true"]] * 2
    # an option given wins over its variable
    assert M.helm_params({"host": "https://given:6443", "validate_certs": None}, {"K8S_AUTH_HOST": "https://env:6443"}) == \
        {"host": "https://given:6443", "validate_certs": None}
