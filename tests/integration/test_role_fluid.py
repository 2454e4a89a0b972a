"""Issue 5 acceptance: the `cloudnative.fluid.fluid` role installs, upgrades and
uninstalls Fluid on the embedded cluster.

The tests run in file order and share the cluster: install, idempotence, check
mode, upgrade (values, then a newer chart whose CRDs changed), refused
uninstall, purge blocked by a pod, purge, reinstall. The module always ends
with Fluid installed (a finalizer re-installs it if a test failed half way),
because the other test modules rely on Fluid's CRDs and controllers.
"""
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time

import pytest
import yaml

from conftest import ROOT, cluster_status

PLAYBOOK = os.path.join(ROOT, "tests", "integration", "playbooks", "fluid_role.yml")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
NS = "fluid-system"
TEST_NS = "fluid-role-test"
DATASET = "cifar10"
CHART_VERSION = "1.0.8"
UPGRADE_VERSION = "1.0.9-role-test"
UPGRADE_MARK = "cloudnative.fluid/role-test-chart"


class Run:
    def __init__(self, proc, seconds):
        self.rc, self.out, self.seconds = proc.returncode, proc.stdout + proc.stderr, seconds
        m = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", self.out)
        self.ok, self.changed, _, self.failed = (int(g) for g in m.groups()) if m else (0, -1, 0, -1)

    def tail(self, n=6000):
        return self.out[-n:]


@pytest.fixture(scope="module")
def collections(tmp_path_factory):
    """An ANSIBLE_COLLECTIONS_PATH holding this checkout as cloudnative.fluid."""
    top = tmp_path_factory.mktemp("collections")
    ns_dir = top / "ansible_collections" / "cloudnative"
    ns_dir.mkdir(parents=True)
    os.symlink(ROOT, ns_dir / "fluid")
    return str(top)


@pytest.fixture(scope="module")
def role(cluster, collections, tmp_path_factory):
    """role(check=False, **vars) runs the role and returns a Run."""
    work = tmp_path_factory.mktemp("role-fluid")
    counter = [0]

    def run(check=False, **overrides):
        counter[0] += 1
        extra = dict(fluid_chart_ref=cluster["fluid-chart"], fluid_helm_binary=cluster["helm"],
                     fluid_kubeconfig=cluster["kubeconfig"], fluid_version=CHART_VERSION,
                     fluid_wait_timeout=240)
        extra.update(overrides)
        vars_file = work / ("vars-%d.json" % counter[0])
        vars_file.write_text(json.dumps(extra))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1",
                   ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="0",
                   ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
                   ANSIBLE_DEPRECATION_WARNINGS="0", PY_COLORS="0",
                   ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks")
        env.pop("K8S_AUTH_KUBECONFIG", None)
        cmd = [ANSIBLE_PLAYBOOK, PLAYBOOK, "-e", "@" + str(vars_file)] + (["--check"] if check else [])
        start = time.time()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(work), timeout=900)
        result = Run(proc, time.time() - start)
        (work / ("run-%d.log" % counter[0])).write_text(result.out)
        return result
    return run


def helm_release(cluster):
    r = subprocess.run([cluster["helm"], "--kubeconfig", cluster["kubeconfig"], "list", "-n", NS, "-a", "-o", "json"],
                       capture_output=True, text=True, check=True)
    return {rel["name"]: rel for rel in json.loads(r.stdout or "[]")}.get("fluid")


def helm_values(cluster):
    r = subprocess.run([cluster["helm"], "--kubeconfig", cluster["kubeconfig"], "get", "values", "fluid", "-n", NS,
                        "-o", "json"], capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def fluid_crds(kube):
    return [c for c in kube.get("crd")["items"] if c["spec"]["group"] == "data.fluid.io"]


def established(crd):
    return any(c["type"] == "Established" and c["status"] == "True" for c in crd.get("status", {}).get("conditions", []))


def chart_crd_names(cluster):
    return sorted(f[len("data.fluid.io_"):-len(".yaml")] + ".data.fluid.io"
                  for f in os.listdir(os.path.join(cluster["fluid-chart"], "crds")) if f.endswith(".yaml"))


def fluid_volumes(kube):
    """PVs and PVCs Fluid made (annotation CreatedBy=fluid or storage class fluid)."""
    out = []
    for kind in ("pv", "pvc"):
        for o in kube.get(kind, "-A")["items"]:
            if (o["metadata"].get("annotations", {}).get("CreatedBy") == "fluid"
                    or o["spec"].get("storageClassName") == "fluid"):
                out.append("%s %s/%s" % (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]))
    return out


def assert_installed(kube, cluster, chart=CHART_VERSION):
    crds = {c["metadata"]["name"]: c for c in fluid_crds(kube)}
    assert sorted(crds) == chart_crd_names(cluster)
    assert all(established(c) for c in crds.values()), [n for n, c in crds.items() if not established(c)]
    rel = helm_release(cluster)
    assert rel and rel["status"] == "deployed" and rel["chart"] == "fluid-" + chart, rel
    for name in ("dataset-controller", "alluxioruntime-controller"):
        d = kube.get("deployment", "-n", NS, name)
        assert d["status"].get("updatedReplicas") == d["spec"]["replicas"] == d["status"].get("availableReplicas"), name
    ds = kube.get("daemonset", "-n", NS, "csi-nodeplugin-fluid")
    assert ds["status"]["desiredNumberScheduled"] > 0
    assert ds["status"].get("updatedNumberScheduled") == ds["status"]["desiredNumberScheduled"] \
        == ds["status"].get("numberReady")
    return rel


def dataset_manifest(name=DATASET):
    return {"apiVersion": "data.fluid.io/v1alpha1", "kind": "Dataset",
            "metadata": {"name": name, "namespace": TEST_NS},
            "spec": {"mounts": [{"name": "hbase", "mountPoint": "https://mirrors.bit.edu.cn/apache/hbase/stable/"}]}}


def ensure_test_namespace(kube):
    """TEST_NS exists and is Active (a previous run may still be deleting it)."""
    kube.wait_for(("namespaces",), lambda n: all(
        i["status"]["phase"] == "Active" for i in n["items"] if i["metadata"]["name"] == TEST_NS), timeout=180)
    kube.run("create", "namespace", TEST_NS, check=False)


def wait_controllers(timeout=180):
    """The embedded cluster's supervised Fluid controllers run again (after CRDs came back)."""
    deadline = time.time() + timeout
    st = {}
    while time.time() < deadline:
        st = cluster_status()
        if all(st.get(c, "").startswith("Running") for c in ("dataset-controller", "alluxioruntime-controller")):
            return
        time.sleep(1)
    raise AssertionError("Fluid controllers not running: %s" % {k: v for k, v in st.items() if "controller" in k})


@pytest.fixture(scope="module", autouse=True)
def leave_fluid_installed(role, kube, cluster):
    """Whatever happens in between, Fluid is installed when the module ends."""
    yield
    for pod in ("nginx-0",):
        kube.run("delete", "pod", "-n", TEST_NS, pod, "--grace-period=0", "--force", "--ignore-not-found", check=False)
    if not (helm_release(cluster) and len(fluid_crds(kube)) == len(chart_crd_names(cluster))):
        r = role()
        assert r.rc == 0, r.tail()
    kube.run("delete", "namespace", TEST_NS, "--ignore-not-found", "--wait=false", check=False)
    kube.run("delete", "pv", "%s-%s" % (TEST_NS, DATASET), "--ignore-not-found", "--wait=false", check=False)
    wait_controllers()


def test_invalid_inputs_are_refused_with_the_field_named(role, cluster):
    r = role(fluid_runtimes_enabled=["alluxio", "lustre"])
    assert r.rc != 0
    assert "fluid_runtimes_enabled" in r.out and "lustre" in r.out
    r = role(fluid_version="1.0.7")
    assert r.rc != 0
    assert "fluid 1.0.8" in r.out and 'fluid_version: "1.0.8"' in r.out, r.tail()
    r = role(fluid_tiered_locality={"preferred": [{"name": "fluid.io/node", "weight": 0}], "required": ["bad key!"]})
    assert r.rc != 0
    assert "fluid_tiered_locality.preferred[0].weight=0 must be from 1 to 100" in r.out, r.tail()
    assert "fluid_tiered_locality.required[0]=bad key! is not a node label key" in r.out, r.tail()
    assert helm_release(cluster) is None, "nothing is installed before the inputs are checked"


def test_install(role, kube, cluster):
    r = role()
    assert r.rc == 0, r.tail()
    rel = assert_installed(kube, cluster)
    assert "chart fluid-%s (app %s)" % (CHART_VERSION, rel["app_version"]) in r.out
    values = helm_values(cluster)
    assert values["runtime"]["alluxio"]["enabled"] is True
    assert values["runtime"]["jindo"]["enabled"] is False
    assert values["csi"]["kubelet"] == {"rootDir": "/var/lib/kubelet", "certDir": "/var/lib/kubelet/pki",
                                        "kubeConfigFile": "/etc/kubernetes/kubelet.conf"}
    # the role owns the CRDs (server-side apply), not a chart hook
    crd = kube.get("crd", "datasets.data.fluid.io", "--show-managed-fields")
    assert "cloudnative.fluid" in {m["manager"] for m in crd["metadata"]["managedFields"]}
    # the embedded cluster's real controllers start on Established CRDs
    wait_controllers()


def task_output(out, task):
    """What the run printed under the role's task (after its header, up to the next task), or None."""
    m = re.search(r"^TASK \[cloudnative\.fluid\.fluid : %s[^\]]*\][^\n]*\n(.*?)(?=^TASK \[|^PLAY |\Z)" % re.escape(task),
                  out, re.S | re.M)
    return m.group(1) if m else None


def test_second_run_changes_nothing(role, cluster):
    revision = helm_release(cluster)["revision"]
    r = role()
    assert r.rc == 0, r.tail()
    assert r.changed == 0, r.tail()
    # nothing differs from the one read of the cluster: no Helm upgrade, no CRD apply, no rollout waits
    assert helm_release(cluster)["revision"] == revision
    for task in ("Install or upgrade the Helm release", "Server-side apply the chart's CRDs",
                 "Wait until the controllers are rolled out", "Wait until the CSI plugin DaemonSet is rolled out"):
        shown = task_output(r.out, task)
        assert shown is not None and "skipping: [localhost]" in shown and not re.search(r"^(ok|changed): ", shown, re.M), \
            (task, shown)


def test_crd_changed_by_another_hand_is_applied_again(role, kube):
    """A re-run skips the CRDs' apply only while they are what the role applied: a spec changed by another
    writer (its generation rises) is put back."""
    name = "datasets.data.fluid.io"
    before = kube.get("crd", name)
    kube.run("patch", "crd", name, "--type=json",
             "-p", '[{"op": "replace", "path": "/spec/names/categories", "value": ["fluid", "edited"]}]')
    assert kube.get("crd", name)["metadata"]["generation"] > before["metadata"]["generation"]
    r = role()
    assert r.rc == 0, r.tail()
    after = kube.get("crd", name)
    assert after["spec"]["names"]["categories"] == ["fluid"]
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    # recorded again: the next run skips the apply and changes nothing
    applied = after["metadata"]["annotations"]["crds.cloudnative.fluid/applied"]
    assert applied.endswith("/%d" % after["metadata"]["generation"]), applied
    r = role()
    assert r.rc == 0, r.tail()
    assert r.changed == 0, r.tail()


def test_check_mode_changes_nothing_on_install(role, cluster):
    before = helm_release(cluster)
    r = role(check=True, fluid_helm_values={"runtime": {"syncRetryDuration": "25s"}})
    assert r.rc == 0, r.tail()
    assert r.changed > 0, "check mode should report the pending upgrade\n" + r.tail()
    after = helm_release(cluster)
    assert after["revision"] == before["revision"]
    assert "syncRetryDuration" not in helm_values(cluster).get("runtime", {})


def test_changed_value_upgrades(role, kube, cluster):
    ensure_test_namespace(kube)
    kube.apply(dataset_manifest())
    before = helm_release(cluster)
    changed = dict(fluid_helm_values={"runtime": {"syncRetryDuration": "25s"}},
                   fluid_image_pull_secrets=["fluid-registry"], fluid_image_registry="registry.example.com/mirror",
                   fluid_webhook_sidecar_injection_mode="native-sidecar", fluid_tiered_locality=LOCALITY)
    r = role(**changed)
    assert r.rc == 0, r.tail()
    assert r.changed > 0
    after = assert_installed(kube, cluster)
    assert int(after["revision"]) == int(before["revision"]) + 1
    values = helm_values(cluster)
    assert values["runtime"]["syncRetryDuration"] == "25s"
    assert values["image"]["imagePullSecrets"] == [{"name": "fluid-registry"}]
    dep = kube.get("deployment", "-n", NS, "dataset-controller")
    assert dep["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "fluid-registry"}]
    # the mirror keeps each image's repository path
    image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.startswith("registry.example.com/mirror/fluidcloudnative/dataset-controller:"), image
    env = {e["name"]: e.get("value") for e in
           kube.get("deployment", "-n", NS, "alluxioruntime-controller")["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["ALLUXIO_RUNTIME_IMAGE_ENV"].startswith("registry.example.com/mirror/alluxio/alluxio-dev:"), env
    assert kube.get("dataset", "-n", TEST_NS, DATASET)
    # the webhook: its FUSE sidecar mode, and the tiered locality in the plugins profile it reads when it starts
    webhook = kube.get("deployment", "-n", NS, "fluid-webhook")["spec"]["template"]
    env = {e["name"]: e.get("value") for e in webhook["spec"]["containers"][0]["env"]}
    assert env["FUSE_SIDECAR_INJECTION_MODE"] == "native-sidecar"
    assert webhook_locality(kube) == LOCALITY
    digest = webhook["metadata"]["annotations"]["cloudnative.fluid/tiered-locality"]
    r = role(**changed)
    assert r.rc == 0 and r.changed == 0, r.tail()
    # a changed locality is written and restarts the webhook (a new pod template), an unchanged one never does
    changed["fluid_tiered_locality"] = {"preferred": [{"name": "fluid.io/node", "weight": 90}], "required": []}
    r = role(**changed)
    assert r.rc == 0 and r.changed > 0, r.tail()
    assert webhook_locality(kube) == changed["fluid_tiered_locality"]
    webhook = kube.get("deployment", "-n", NS, "fluid-webhook")["spec"]["template"]
    assert webhook["metadata"]["annotations"]["cloudnative.fluid/tiered-locality"] != digest


def webhook_locality(kube):
    profile = yaml.safe_load(kube.get("configmap", "-n", NS, "webhook-plugins")["data"]["pluginsProfile"])
    [plugin] = [p for p in profile["pluginConfig"] if p["name"] == "NodeAffinityWithCache"]
    return yaml.safe_load(plugin["args"])


LOCALITY = {"preferred": [{"name": "fluid.io/node", "weight": 100}, {"name": "rack.example.com/id", "weight": 60}],
            "required": ["fluid.io/node"]}


@pytest.fixture(scope="module")
def newer_chart(cluster, tmp_path_factory):
    """The offline chart, re-versioned, with a changed Dataset CRD (as a newer Fluid would have)."""
    dst = str(tmp_path_factory.mktemp("chart") / "fluid")
    shutil.copytree(cluster["fluid-chart"], dst, symlinks=True)
    for base, dirs, files in os.walk(dst):
        for n in dirs + files:
            p = os.path.join(base, n)
            os.chmod(p, os.stat(p).st_mode | stat.S_IWUSR)
    chart_yaml = os.path.join(dst, "Chart.yaml")
    with open(chart_yaml) as fh:
        text = fh.read()
    text = re.sub(r"(?m)^version:.*$", "version: " + UPGRADE_VERSION, text)
    text = re.sub(r"(?m)^appVersion:.*$", "appVersion: " + UPGRADE_VERSION, text)
    with open(chart_yaml, "w") as fh:
        fh.write(text)
    crd = os.path.join(dst, "crds", "data.fluid.io_datasets.yaml")
    with open(crd) as fh:
        text = fh.read()
    text, n = re.subn(r"(?m)^metadata:\n  annotations:\n",
                      "metadata:\n  annotations:\n    %s: %s\n" % (UPGRADE_MARK, json.dumps(UPGRADE_VERSION)), text, count=1)
    assert n == 1, "unexpected CRD layout in %s" % crd
    with open(crd, "w") as fh:
        fh.write(text)
    return dst


def test_new_version_upgrades_release_and_crds(role, kube, cluster, newer_chart):
    r = role(fluid_chart_ref=newer_chart, fluid_version=UPGRADE_VERSION)
    assert r.rc == 0, r.tail()
    assert_installed(kube, cluster, chart=UPGRADE_VERSION)
    assert "upgraded from fluid-%s" % CHART_VERSION in r.out, r.tail()
    crd = kube.get("crd", "datasets.data.fluid.io")
    assert crd["metadata"]["annotations"].get(UPGRADE_MARK) == UPGRADE_VERSION
    assert kube.get("dataset", "-n", TEST_NS, DATASET), "the upgrade lost the Dataset"
    # and back: refused before anything is written, unless allowed
    rev = helm_release(cluster)["revision"]
    r = role()
    assert r.rc != 0
    assert "Refusing to downgrade Fluid (nothing was changed)" in r.out, r.tail()
    assert "runs chart fluid %s, newer than fluid_version %s" % (UPGRADE_VERSION, CHART_VERSION) in r.out, r.tail()
    assert helm_release(cluster)["revision"] == rev
    assert kube.get("crd", "datasets.data.fluid.io")["metadata"]["annotations"].get(UPGRADE_MARK) == UPGRADE_VERSION
    # allowed: the release downgrades and the CRD loses what only the newer chart had
    r = role(fluid_allow_downgrade=True)
    assert r.rc == 0, r.tail()
    assert "downgraded from fluid-%s" % UPGRADE_VERSION in r.out, r.tail()
    assert_installed(kube, cluster)
    crd = kube.get("crd", "datasets.data.fluid.io")
    assert UPGRADE_MARK not in crd["metadata"].get("annotations", {})
    assert kube.get("dataset", "-n", TEST_NS, DATASET)


def test_uninstall_refused_while_a_dataset_exists(role, kube, cluster):
    r = role(fluid_state="absent")
    assert r.rc != 0
    assert "Refusing to uninstall Fluid" in r.out
    assert "Dataset %s/%s" % (TEST_NS, DATASET) in r.out, r.tail()
    assert "fluid_purge" in r.out
    assert_installed(kube, cluster)
    assert kube.get("dataset", "-n", TEST_NS, DATASET)


def test_check_mode_purge_changes_nothing(role, kube, cluster):
    rev = helm_release(cluster)["revision"]
    r = role(check=True, fluid_state="absent", fluid_purge=True)
    assert r.rc == 0, r.tail()
    assert r.changed > 0
    assert kube.get("dataset", "-n", TEST_NS, DATASET)
    assert "deletionTimestamp" not in kube.get("dataset", "-n", TEST_NS, DATASET)["metadata"]
    assert_installed(kube, cluster)
    assert helm_release(cluster)["revision"] == rev
    assert kube.get("namespace", NS)


def _pod_using_the_dataset_pvc(kube):
    """What the seed's nginx-0 is: a pod holding the Dataset's PVC (and PV), which blocks its deletion."""
    pv = "%s-%s" % (TEST_NS, DATASET)
    kube.apply({"apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": pv, "annotations": {"CreatedBy": "fluid"}},
                "spec": {"capacity": {"storage": "100Pi"}, "accessModes": ["ReadWriteMany"],
                         "storageClassName": "fluid", "persistentVolumeReclaimPolicy": "Retain",
                         "csi": {"driver": "fuse.csi.fluid.io", "volumeHandle": pv},
                         "claimRef": {"namespace": TEST_NS, "name": DATASET}}})
    kube.apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": DATASET, "namespace": TEST_NS, "annotations": {"CreatedBy": "fluid"}},
                "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "fluid", "volumeName": pv,
                         "resources": {"requests": {"storage": "100Pi"}}}})
    kube.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nginx-0", "namespace": TEST_NS},
                "spec": {"containers": [{"name": "nginx", "image": "nginx",
                                         "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                         "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": DATASET}}]}})
    kube.wait_for(("pvc", "-n", TEST_NS, DATASET), lambda p: p["status"]["phase"] == "Bound")


def test_purge_names_the_pod_that_blocks_it(role, kube, cluster):
    _pod_using_the_dataset_pvc(kube)
    timeout = 20
    r = role(fluid_state="absent", fluid_purge=True, fluid_wait_timeout=timeout)
    assert r.rc != 0
    assert "pod %s/nginx-0 still uses PVC %s" % (TEST_NS, DATASET) in r.out, r.tail()
    assert "Dataset %s/%s" % (TEST_NS, DATASET) in r.out
    # the wait stopped at the given timeout and says so (no wall-clock assertion: these machines are noisy)
    assert "(fluid_wait_timeout=%ss)" % timeout in r.out, r.tail()
    # nothing after the blocked step was removed
    assert helm_release(cluster)
    assert len(fluid_crds(kube)) == len(chart_crd_names(cluster))


def test_purge_removes_everything(role, kube, cluster):
    kube.run("delete", "pod", "-n", TEST_NS, "nginx-0", "--grace-period=0", "--force", "--ignore-not-found")
    kube.wait_for(("pods", "-n", TEST_NS), lambda p: not [i for i in p["items"] if i["metadata"]["name"] == "nginx-0"])
    # with fluid_force_cleanup: the controllers run, so they delete their objects and nothing is forced
    r = role(fluid_state="absent", fluid_purge=True, fluid_force_cleanup=True)
    assert r.rc == 0, r.tail()
    assert "Removed Fluid's finalizers: none" in r.out, r.tail()
    assert fluid_crds(kube) == []
    assert helm_release(cluster) is None
    assert kube.get("namespace", NS, check=False) is None
    assert fluid_volumes(kube) == []
    assert kube.run("get", "csidriver", "fuse.csi.fluid.io", check=False).returncode != 0
    # uninstalling again is a no-op
    r = role(fluid_state="absent", fluid_purge=True)
    assert r.rc == 0, r.tail()
    assert r.changed == 0, r.tail()


def test_check_mode_install_changes_nothing(role, kube, cluster):
    r = role(check=True)
    assert r.rc == 0, r.tail()
    assert r.changed > 0
    assert fluid_crds(kube) == []
    assert helm_release(cluster) is None
    assert kube.get("namespace", NS, check=False) is None


def test_reinstall(role, kube, cluster):
    r = role()
    assert r.rc == 0, r.tail()
    assert "newly installed" in r.out
    assert_installed(kube, cluster)
    r = role()
    assert r.rc == 0 and r.changed == 0, r.tail()
    wait_controllers()
