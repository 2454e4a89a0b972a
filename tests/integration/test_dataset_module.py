"""cloudnative.fluid.dataset on the embedded cluster with the real Fluid controllers.

Each test runs the real module (`ansible localhost -m cloudnative.fluid.dataset`, the
collection found through ANSIBLE_COLLECTIONS_PATH=.cache/collections) and checks what it did
through the Kubernetes API (the `kubernetes` Python client), in a namespace of its own.

Fixtures from conftest.py: `cluster` (the `key: value` lines of `cluster.py status`, with
`kubeconfig` and `fixtures`, the base URL of the HTTP under-storage) and `fluid` (Fluid's CRDs
installed and its controllers running).
"""
import json
import os
import subprocess
import sys
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
ANSIBLE = os.path.join(os.path.dirname(sys.executable), "ansible")
GROUP, VERSION = "data.fluid.io", "v1alpha1"
GPU = "aliyun.accelerator/nvidia_name"
V100 = "Tesla-V100-SXM2-16GB"
FINALIZER = "fluid-dataset-controller-finalizer"
WAIT = 240  # seconds a module may wait for the real controllers


# ------------------------------------------------------------------------ helpers (shared with test_runtime_module)

def ensure_collection_link():
    link = os.path.join(COLLECTIONS, "ansible_collections", "cloudnative", "fluid")
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)
    return COLLECTIONS


class Result(dict):
    """One module result (the json callback's host result) plus the run's rc and raw output."""

    def __init__(self, rc, data, out):
        super(Result, self).__init__(data)
        self.rc, self.out = rc, out

    @property
    def failed(self):
        return bool(self.get("failed")) or self.rc != 0

    def __str__(self):
        return "rc=%s msg=%s\n%s" % (self.rc, self.get("msg"), self.out[-4000:])


def run_module(cluster, module, args, check=False, diff=False, timeout=WAIT + 120):
    """Run cloudnative.fluid.<module> once on localhost, as a user would, and return its result."""
    args = dict(args, kubeconfig=cluster["kubeconfig"])
    cmd = [ANSIBLE, "localhost", "-i", "localhost,", "-c", "local", "-m", "cloudnative.fluid." + module,
           "-a", json.dumps(args), "-e", "ansible_python_interpreter=" + sys.executable]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=ensure_collection_link(), ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_DEPRECATION_WARNINGS="0")
    for var in [k for k in env if k.startswith("K8S_AUTH_")]:
        env.pop(var)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    try:
        data = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError("no module result from %s:\n%s\n%s" % (" ".join(cmd[:6]), proc.stdout[-3000:], proc.stderr[-3000:]))
    return Result(proc.returncode, data, proc.stdout + proc.stderr)


class Kube(object):
    """The Kubernetes API through the official Python client, bound to the cluster's kubeconfig."""

    def __init__(self, kubeconfig):
        from kubernetes import client, config
        self.api_client = config.new_client_from_config(config_file=kubeconfig)
        self.core = client.CoreV1Api(self.api_client)
        self.custom = client.CustomObjectsApi(self.api_client)
        self.ApiException = client.exceptions.ApiException

    def get(self, plural, namespace, name):
        """The object, or None when it does not exist."""
        try:
            return self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
        except self.ApiException as e:
            if e.status == 404:
                return None
            raise

    def eventually(self, what, fetch, predicate, timeout=WAIT, interval=0.5):
        """Re-read until predicate holds (test-side check of what the controllers do asynchronously)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = fetch()
            if predicate(last):
                return last
            time.sleep(interval)
        raise AssertionError("timed out after %ss waiting for %s; last seen: %s" % (timeout, what, json.dumps(last)[:3000]))


def make_namespace(kube):
    from kubernetes import client
    name = "fluid-mod-" + uuid.uuid4().hex[:8]
    kube.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


def drop_namespace(kube, name):
    """Delete the runtimes and datasets first (Fluid's finalizers), then the namespace, without waiting."""
    for plural in ("alluxioruntimes", "jindoruntimes", "juicefsruntimes", "thinruntimes", "datasets"):
        try:
            items = kube.custom.list_namespaced_custom_object(GROUP, VERSION, name, plural)["items"]
        except kube.ApiException:
            continue
        for item in items:
            try:
                kube.custom.delete_namespaced_custom_object(GROUP, VERSION, name, plural, item["metadata"]["name"])
            except kube.ApiException:
                pass
    try:
        kube.core.delete_namespace(name)
    except kube.ApiException:
        pass


def our_write(obj):
    """(generation, time of this collection's last server-side apply): both stay when nothing was written."""
    times = [m.get("time") for m in obj["metadata"].get("managedFields") or []
             if m.get("manager") == "cloudnative.fluid" and m.get("operation") == "Apply"]
    assert times, "no server-side apply by cloudnative.fluid in managedFields: %s" % obj["metadata"].get("managedFields")
    return obj["metadata"].get("generation"), times[0]


def fixture_mounts(cluster, names=("hadoop", "spark", "hbase")):
    base = cluster.get("fixtures")
    if not base:
        pytest.fail("cluster status has no `fixtures` line (the HTTP under-storage); is the supervisor running? "
                    "(status: %s)" % cluster.get("supervisor"), pytrace=False)
    return [{"name": n, "mount_point": "%s/%s/" % (base.rstrip("/"), n)} for n in names]


def seed_runtime_args(name, namespace, replicas=1, **extra):
    """The seed's AlluxioRuntime (MEM 2Gi /dev/shm + SSD 10Gi, watermarks 0.95/0.7)."""
    args = {
        "name": name, "namespace": namespace, "kind": "AlluxioRuntime", "replicas": replicas,
        "tiered_store": [
            {"medium": "MEM", "path": "/dev/shm", "quota": "2Gi", "high": 0.95, "low": 0.7},
            {"medium": "SSD", "path": "/var/lib/docker/alluxio", "quota": "10Gi", "high": 0.95, "low": 0.7},
        ],
        "master": {"jvm_options": ["-Xmx4G"]},
        "worker": {"jvm_options": ["-Xmx4G"]},
        "fuse": {"jvm_options": ["-Xmx4G", "-Xms4G"]},
        "wait_timeout": WAIT,
    }
    args.update(extra)
    return args


# ------------------------------------------------------------------------ fixtures

@pytest.fixture
def k8s(cluster):
    return Kube(cluster["kubeconfig"])


@pytest.fixture
def namespace(k8s):
    name = make_namespace(k8s)
    yield name
    drop_namespace(k8s, name)


# ------------------------------------------------------------------------ tests

def test_create_bound_then_unchanged(cluster, fluid, k8s, namespace):
    mounts = fixture_mounts(cluster)
    ds_args = {"name": "cifar10", "namespace": namespace, "mounts": mounts, "node_selector": {GPU: V100}}

    created = run_module(cluster, "dataset", dict(ds_args, wait=False))
    assert not created.failed, created
    assert created["changed"] is True and created["datasets"][0]["changed"] is True
    obj = k8s.get("datasets", namespace, "cifar10")
    assert obj["spec"]["mounts"] == [{"mountPoint": m["mount_point"], "name": m["name"]} for m in mounts]
    assert obj["spec"]["nodeAffinity"] == {"required": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": GPU, "operator": "In", "values": [V100]}]}]}}
    # the real dataset controller takes it over: finalizer, then NotBound (seed step 4)
    obj = k8s.eventually("finalizer and NotBound", lambda: k8s.get("datasets", namespace, "cifar10"),
                          lambda o: FINALIZER in (o["metadata"].get("finalizers") or [])
                          and (o.get("status") or {}).get("phase") == "NotBound")

    runtime = run_module(cluster, "runtime", seed_runtime_args("cifar10", namespace, wait_for="bound"))
    assert not runtime.failed, runtime
    rt = runtime["runtimes"][0]
    assert rt["dataset_phase"] == "Bound" and rt["master"]["phase"] == "Ready" and rt["worker"]["ready"] >= 1

    bound = run_module(cluster, "dataset", dict(ds_args, wait_timeout=WAIT))
    assert not bound.failed, bound
    d = bound["datasets"][0]
    assert bound["changed"] is False and d["changed"] is False
    assert d["phase"] == "Bound"
    assert {"name": "cifar10", "namespace": namespace} == {k: d["runtimes"][0][k] for k in ("name", "namespace")}
    api = k8s.get("datasets", namespace, "cifar10")
    assert api["status"]["phase"] == "Bound"
    assert any(c["type"] == "Ready" and c["status"] == "True" for c in d["conditions"]), d["conditions"]

    # a second identical run writes nothing at all (Fluid's status updates may still bump resourceVersion)
    written = our_write(api)
    again = run_module(cluster, "dataset", dict(ds_args, wait_timeout=WAIT), diff=True)
    assert not again.failed and again["changed"] is False, again
    assert again.get("diff", []) == []
    assert again["datasets"][0]["phase"] == "Bound" and again["datasets"][0]["wait_seconds"] < WAIT
    after = k8s.get("datasets", namespace, "cifar10")
    assert our_write(after) == written
    assert after["spec"] == api["spec"]


def test_update_changes_only_what_changed(cluster, fluid, k8s, namespace):
    mounts = fixture_mounts(cluster, ("hbase",))
    base = {"name": "upd", "namespace": namespace, "mounts": mounts, "wait": False}
    assert not run_module(cluster, "dataset", base).failed
    before = k8s.get("datasets", namespace, "upd")
    first_write = our_write(before)

    upd = run_module(cluster, "dataset", dict(base, labels={"team": "ml"}, access_modes=["ReadWriteMany"]), diff=True)
    assert not upd.failed and upd["changed"] is True, upd
    obj = k8s.get("datasets", namespace, "upd")
    assert obj["metadata"]["labels"]["team"] == "ml"
    assert obj["spec"]["accessModes"] == ["ReadWriteMany"]
    assert obj["spec"]["mounts"] == before["spec"]["mounts"]
    diff = upd["diff"]
    diff = diff[0] if isinstance(diff, list) else diff
    assert diff["after"]["metadata"]["labels"] == {"team": "ml"}
    assert "status" not in diff["after"] and "status" not in diff["before"]

    assert our_write(obj)[0] == first_write[0] + 1  # the spec changed once: one new generation
    same = run_module(cluster, "dataset", dict(base, labels={"team": "ml"}, access_modes=["ReadWriteMany"]))
    assert not same.failed and same["changed"] is False, same
    assert our_write(k8s.get("datasets", namespace, "upd")) == our_write(obj)


def test_check_mode_writes_nothing(cluster, fluid, k8s, namespace):
    mounts = fixture_mounts(cluster, ("spark",))
    new = run_module(cluster, "dataset", {"name": "dry", "namespace": namespace, "mounts": mounts}, check=True, diff=True)
    assert not new.failed and new["changed"] is True, new
    assert k8s.get("datasets", namespace, "dry") is None
    diff = new["diff"][0] if isinstance(new["diff"], list) else new["diff"]
    assert diff["after"]["spec"]["mounts"][0]["mountPoint"] == mounts[0]["mount_point"]

    assert not run_module(cluster, "dataset", {"name": "dry", "namespace": namespace, "mounts": mounts, "wait": False}).failed
    written = our_write(k8s.get("datasets", namespace, "dry"))
    gone = run_module(cluster, "dataset", {"name": "dry", "namespace": namespace, "state": "absent"}, check=True)
    assert not gone.failed and gone["changed"] is True, gone
    still = k8s.get("datasets", namespace, "dry")
    assert still is not None and not still["metadata"].get("deletionTimestamp")
    changed_mount = [{"name": "spark", "mount_point": mounts[0]["mount_point"] + "sub/"}]
    upd = run_module(cluster, "dataset", {"name": "dry", "namespace": namespace, "mounts": changed_mount, "wait": False},
                     check=True)
    assert not upd.failed and upd["changed"] is True
    now = k8s.get("datasets", namespace, "dry")
    assert now["spec"]["mounts"][0]["mountPoint"] == mounts[0]["mount_point"]
    assert our_write(now) == written


def test_delete_waits_until_finalizers_are_gone(cluster, fluid, k8s, namespace):
    names = ["del-a", "del-b", "del-c"]
    created = run_module(cluster, "dataset", {"namespace": namespace, "wait": False, "datasets": [
        {"name": n, "mounts": fixture_mounts(cluster, ("hadoop",))} for n in names]})
    assert not created.failed, created
    for n in names:
        k8s.eventually("finalizer on " + n, lambda n=n: k8s.get("datasets", namespace, n),
                        lambda o: FINALIZER in ((o or {}).get("metadata", {}).get("finalizers") or []))

    deleted = run_module(cluster, "dataset", {"namespace": namespace, "state": "absent", "wait_timeout": WAIT,
                                               "datasets": [{"name": n} for n in names]})
    assert not deleted.failed, deleted
    assert deleted["changed"] is True
    # the module returned only once Fluid had removed its finalizer and the objects were gone
    assert [k8s.get("datasets", namespace, n) for n in names] == [None, None, None]

    again = run_module(cluster, "dataset", {"namespace": namespace, "state": "absent",
                                             "datasets": [{"name": n} for n in names]})
    assert not again.failed and again["changed"] is False


def test_timeout_shows_the_diagnosis(cluster, fluid, k8s, namespace):
    r = run_module(cluster, "dataset", {"name": "lonely", "namespace": namespace, "mounts": fixture_mounts(cluster, ("hbase",)),
                                         "node_selector": {GPU: V100}, "wait_timeout": 5})
    assert r.failed
    msg = r["msg"]
    assert msg.startswith("Timed out after 5s waiting for 1 of 1 Datasets"), msg
    assert "Dataset %s/lonely: phase" % namespace in msg
    assert "No runtime named lonely exists in namespace %s" % namespace in msg
    assert "node(s) match the dataset's spec.nodeAffinity" in msg
    assert r["datasets"][0]["name"] == "lonely" and r["changed"] is True
    # the object was created (the timeout is about binding, not about writing)
    assert k8s.get("datasets", namespace, "lonely") is not None


def test_invalid_input_names_the_field_and_writes_nothing(cluster, fluid, k8s, namespace):
    r = run_module(cluster, "dataset", {"name": "Bad_Name", "namespace": namespace,
                                         "mounts": [{"name": "x", "mount_point": "ftp://example.com/x"}]})
    assert r.failed
    assert "name: 'Bad_Name' is not a valid Dataset name" in r["msg"]
    assert "mounts[0].mount_point: the scheme ftp://" in r["msg"]
    assert k8s.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "datasets")["items"] == []
