"""Shared set-up for the observability tests (dataset_info, dataload, status.yml and its HTML report).

Not a test module: helpers and one environment builder. The environment is the seed's "before the
second GPU node" picture, in two namespaces of its own, made with plain kubectl and written by the
REAL Fluid controllers:

* ``<prefix>-a/cifar10``: the three fixture mounts, cache only on the GPU node, an AlluxioRuntime with
  2 workers (MEM 2Gi + SSD 10Gi) -> Bound, 12GiB, workers 1/2 PartialReady; optionally the seed's
  nginx StatefulSet (2 replicas, host port 80) on its PVC -> nginx-0 Running, nginx-1 Pending with the
  scheduler's "didn't match PersistentVolume's node affinity".
* ``<prefix>-b/spark``: one mount, no node constraint, 1 worker (MEM 4Gi) -> Bound, 4GiB.

Both use placement Shared so they may share nodes with each other.
"""
import json
import os
import subprocess
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
BIN = os.path.dirname(sys.executable)
GPU = "aliyun.accelerator/nvidia_name"
V100 = "Tesla-V100-SXM2-16GB"
WAIT = 240
FIXTURES = os.path.join(ROOT, "hack", "cluster", "fixtures")


def ensure_fluid(kube, cluster):
    """conftest.ensure_fluid of this folder (Fluid's CRDs applied, controllers running), found by path:
    `import conftest` would pick tests/unit/conftest.py when both folders run in one session."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conftest.py")
    for mod in list(sys.modules.values()):
        if os.path.abspath(getattr(mod, "__file__", None) or "") == path and hasattr(mod, "ensure_fluid"):
            return mod.ensure_fluid(kube, cluster)
    import importlib.util
    spec = importlib.util.spec_from_file_location("fluid_integration_conftest", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.ensure_fluid(kube, cluster)


def collections_path():
    link = os.path.join(COLLECTIONS, "ansible_collections", "cloudnative", "fluid")
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)
    return COLLECTIONS


def ansible_env():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_DEPRECATION_WARNINGS="0")
    for var in [k for k in env if k.startswith("K8S_AUTH_")]:
        env.pop(var)
    return env


class Result(dict):
    def __init__(self, rc, data, out):
        super(Result, self).__init__(data)
        self.rc, self.out = rc, out

    @property
    def failed(self):
        return bool(self.get("failed")) or self.rc != 0

    def __str__(self):
        return "rc=%s msg=%s\n%s" % (self.rc, self.get("msg"), self.out[-4000:])


def run_module(cluster, module, args, check=False, diff=False, timeout=WAIT + 120):
    """cloudnative.fluid.<module> once on localhost, as a user runs it; its result."""
    args = dict(args, kubeconfig=cluster["kubeconfig"])
    cmd = [os.path.join(BIN, "ansible"), "localhost", "-i", "localhost,", "-c", "local",
           "-m", "cloudnative.fluid." + module, "-a", json.dumps(args), "-e", "ansible_python_interpreter=" + sys.executable]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    env = dict(ansible_env(), ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    try:
        data = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError("no module result:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-3000:]))
    return Result(proc.returncode, data, proc.stdout + proc.stderr)


def run_playbook(cluster, playbook, extra_vars=None, cwd=None, timeout=WAIT + 120):
    """ansible-playbook <playbook> against the embedded cluster; (rc, stdout+stderr)."""
    inventory = os.path.join(ROOT, "tests", "integration", "observe_inventory.yml")
    ev = dict(extra_vars or {}, k8s_kubeconfig=cluster["kubeconfig"])
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, playbook, "-e", json.dumps(ev)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ansible_env(), cwd=cwd, timeout=timeout, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def parse_bytes(text):
    """module_utils.quantity.parse_bytes of the collection under test (found through .cache/collections)."""
    if collections_path() not in sys.path:
        sys.path.insert(0, collections_path())
    from ansible_collections.cloudnative.fluid.plugins.module_utils.quantity import parse_bytes as parse
    return parse(text)


def human(n):
    """Fluid's BytesSize format (binary units, two decimals)."""
    units = ["B", "KiB", "MiB", "GiB", "TiB"]
    i, value = 0, float(n)
    while value >= 1024 and i < len(units) - 1:
        value /= 1024
        i += 1
    return "%.2f%s" % (value, units[i])


def fixture_bytes(*mounts):
    total = 0
    for mount in mounts:
        for dirpath, _, files in os.walk(os.path.join(FIXTURES, mount)):
            total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    return total


def _dataset(ns, name, fx, mounts, node_affinity=False):
    spec = {"mounts": [{"name": m, "mountPoint": "%s/%s/" % (fx, m)} for m in mounts],
            "accessModes": ["ReadWriteMany"], "placement": "Shared"}
    if node_affinity:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": GPU, "operator": "In", "values": [V100]}]}]}}
    return {"apiVersion": "data.fluid.io/v1alpha1", "kind": "Dataset", "metadata": {"name": name, "namespace": ns},
            "spec": spec}


def _runtime(ns, name, replicas, levels, fuse_gpu=False):
    spec = {"replicas": replicas, "tieredstore": {"levels": levels}}
    if fuse_gpu:
        spec["fuse"] = {"nodeSelector": {GPU: V100}}
    return {"apiVersion": "data.fluid.io/v1alpha1", "kind": "AlluxioRuntime",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


NGINX = {
    "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "nginx"},
    "spec": {"replicas": 2, "serviceName": "nginx", "podManagementPolicy": "Parallel",
             "selector": {"matchLabels": {"app": "nginx"}},
             "template": {"metadata": {"labels": {"app": "nginx"}}, "spec": {
                 "hostNetwork": True,
                 "containers": [{"name": "nginx", "image": "nginx", "ports": [{"containerPort": 18082, "protocol": "TCP"}],
                                 "volumeMounts": [{"name": "cifar10", "mountPath": "/data"}]}],
                 "volumes": [{"name": "cifar10", "persistentVolumeClaim": {"claimName": "cifar10"}}]}}}}


class Env(object):
    def __init__(self, kube, cluster, prefix):
        self.kube, self.cluster = kube, cluster
        tag = uuid.uuid4().hex[:5]
        self.ns_a, self.ns_b = "%s-a-%s" % (prefix, tag), "%s-b-%s" % (prefix, tag)

    def up(self, nginx=True, second=True):
        kube, fx = self.kube, self.cluster["fixtures"].rstrip("/")
        for ns in (self.ns_a, self.ns_b) if second else (self.ns_a,):
            kube.run("create", "namespace", ns)
        kube.apply(_dataset(self.ns_a, "cifar10", fx, ("hadoop", "spark", "hbase"), node_affinity=True))
        kube.apply(_runtime(self.ns_a, "cifar10", 2, [
            {"mediumtype": "MEM", "path": "/dev/shm", "quota": "2Gi", "high": "0.95", "low": "0.7"},
            {"mediumtype": "SSD", "path": "/var/lib/docker/alluxio", "quota": "10Gi", "high": "0.95", "low": "0.7"}],
            fuse_gpu=True))
        if second:
            kube.apply(_dataset(self.ns_b, "spark", fx, ("spark",)))
            kube.apply(_runtime(self.ns_b, "spark", 1, [
                {"mediumtype": "MEM", "path": "/dev/shm", "quota": "4Gi", "high": "0.95", "low": "0.7"}]))
        kube.wait_for(("dataset", "-n", self.ns_a, "cifar10"),
                      lambda d: d["status"]["phase"] == "Bound"
                      and d["status"]["cacheStates"]["cacheCapacity"] == "12.00GiB", timeout=WAIT)
        if second:
            kube.wait_for(("dataset", "-n", self.ns_b, "spark"),
                          lambda d: d["status"]["phase"] == "Bound"
                          and d["status"]["cacheStates"]["cacheCapacity"] == "4.00GiB", timeout=WAIT)
        if nginx:
            body = json.loads(json.dumps(NGINX))
            body["metadata"]["namespace"] = self.ns_a
            kube.apply(body)
            pods = kube.wait_for(("pods", "-n", self.ns_a, "-l", "app=nginx"), lambda p: len(p["items"]) == 2 and sorted(
                i["status"]["phase"] for i in p["items"]) == ["Pending", "Running"], timeout=WAIT)
            pending = [p for p in pods["items"] if p["status"]["phase"] == "Pending"][0]["metadata"]["name"]
            kube.wait_for(("pod", "-n", self.ns_a, pending), lambda p: any(
                c["type"] == "PodScheduled" and c["status"] == "False" and c.get("message")
                for c in p["status"]["conditions"]), timeout=60)
        return self

    def down(self):
        remove_workload_and_datasets(self.kube, self.ns_a, [(self.ns_a, "cifar10"), (self.ns_b, "spark")])
        for ns in (self.ns_a, self.ns_b):
            self.kube.run("delete", "namespace", ns, "--ignore-not-found", "--wait=false", check=False)


def remove_workload_and_datasets(kube, workload_ns, datasets):
    """Delete statefulset/nginx in workload_ns, then each (namespace, name) runtime and Dataset, waiting until gone."""
    kube.run("delete", "-n", workload_ns, "statefulset/nginx", "--ignore-not-found", "--cascade=foreground",
             "--timeout=60s", check=False)
    for ns in sorted(set(ns for ns, _ in datasets)):
        kube.run("delete", "-n", ns, "dataload", "--all", "--timeout=60s", check=False)
    # the runtime first: Fluid's runtime shutdown unbinds the Dataset, and retries for a minute
    # (cache clean-up against a master already gone) when the Dataset was deleted before it
    for kind in ("alluxioruntime", "dataset"):
        for ns, name in datasets:
            kube.run("delete", "-n", ns, "%s/%s" % (kind, name), "--ignore-not-found", "--wait=false", check=False)
        for ns, name in datasets:
            kube.run("wait", "--for=delete", "-n", ns, "%s/%s" % (kind, name), "--timeout=120s", check=False,
                     timeout=150)


def api_snapshot(kube, namespaces):
    """What the API says, per dataset 'ns/name': the Dataset, its runtime, its cache nodes, its pods."""
    nodes = kube.get("nodes")["items"]
    out = {}
    for ns in namespaces:
        for ds in kube.get("dataset", "-n", ns)["items"]:
            name = ds["metadata"]["name"]
            rt = kube.get("alluxioruntime", "-n", ns, name, check=False)
            pods = [p for p in kube.get("pods", "-n", ns)["items"]
                    if any((v.get("persistentVolumeClaim") or {}).get("claimName") == name
                           for v in p["spec"].get("volumes") or [])]
            out["%s/%s" % (ns, name)] = {
                "dataset": ds, "runtime": rt, "pods": pods,
                "cache_nodes": sorted(n["metadata"]["name"] for n in nodes
                                      if n["metadata"].get("labels", {}).get("fluid.io/s-%s-%s" % (ns, name)) == "true"),
            }
    return out


def stable(kube, namespaces, action, attempts=4):
    """Run action() between two identical API snapshots (Fluid rewrites status every few seconds)."""
    for _ in range(attempts):
        before = _comparable(api_snapshot(kube, namespaces))
        result = action()
        after = api_snapshot(kube, namespaces)
        if _comparable(after) == before:
            return result, after
        time.sleep(2)
    raise AssertionError("the API kept changing during %d attempts" % attempts)


def _comparable(snap):
    out = {}
    for key, v in snap.items():
        st = v["dataset"].get("status") or {}
        rst = (v["runtime"] or {}).get("status") or {}
        out[key] = (json.dumps(st.get("cacheStates"), sort_keys=True), st.get("phase"), st.get("ufsTotal"),
                    rst.get("workerNumberReady"), rst.get("fuseNumberReady"), rst.get("masterPhase"),
                    tuple(v["cache_nodes"]),
                    tuple(sorted((p["metadata"]["name"], p["status"].get("phase")) for p in v["pods"])))
    return out
