"""cloudnative.fluid.node_labels against the in-memory API server (tests/unit/fakes.py), extended with
node patches, label selectors and a runtime controller that places one worker per eligible node."""
import copy
import json

from ansible_collections.cloudnative.fluid.plugins.module_utils import scheduling
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import ApiError
from ansible_collections.cloudnative.fluid.plugins.module_utils.errors import explain_status
from ansible_collections.cloudnative.fluid.plugins.module_utils.quantity import format_bytes, parse_bytes
from ansible_collections.cloudnative.fluid.plugins.modules import node_labels as M

from fakes import FakeCluster, obj

GPU = "aliyun.accelerator/nvidia_name"
V100 = "Tesla-V100-SXM2-16GB"
N194 = "cn-hongkong.172.31.136.194"
N196 = "cn-hongkong.172.31.136.196"
ZONE = "topology.kubernetes.io/zone"


def _selector_matches(labels, selector):
    for term in [t.strip() for t in selector.split(",") if t.strip()]:
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k) == v:
                return False
        elif "=" in term:
            k, v = term.split("=", 1)
            if labels.get(k.rstrip("=")) != v:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


class NodeCluster(FakeCluster):
    """FakeCluster plus what node_labels uses: label selectors on list, merge patches of nodes."""

    def __init__(self, **kw):
        super(NodeCluster, self).__init__(**kw)
        self.patch_failures = {}  # node name -> list of HTTP statuses to fail with first

    def list(self, kind, namespace, field_selector=None, label_selector=None, with_version=False):
        if label_selector == "bad selector!":
            raise ApiError("unable to parse requirement: invalid label key", status=400)
        out = super(NodeCluster, self).list(kind, namespace, field_selector=field_selector, with_version=with_version)
        if label_selector:
            items = out[0] if with_version else out
            items = [o for o in items if _selector_matches((o["metadata"].get("labels") or {}), label_selector)]
            return (items, out[1]) if with_version else items
        return out

    def merge_patch(self, kind, namespace, name, body, dry_run=False):
        assert kind == "Node" and not dry_run, (kind, dry_run)
        self.calls.append(("patch", "Node", None, name, False))
        todo = self.patch_failures.get(name) or []
        if todo:
            status = todo.pop(0)
            # the client explains a 403 when it raises; this is the API server's own text for one
            text = ('nodes "%s" is forbidden: User "u" cannot patch resource "nodes" in API group "" at the cluster '
                    'scope' % name) if status == 403 else "injected %s" % status
            raise ApiError(explain_status(status, text), status=status)
        node = copy.deepcopy(self.objects.get(("Node", None, name)))
        if node is None:
            raise ApiError('nodes "%s" not found' % name, status=404)
        labels = node["metadata"].setdefault("labels", {})
        for k, v in body["metadata"]["labels"].items():
            if v is None:
                labels.pop(k, None)
            else:
                labels[k] = v
        stored = self.put(node)
        if self.controller is not None:
            self.controller(self, stored)
        return copy.deepcopy(self.objects[("Node", None, name)])


def patches(cluster):
    return [c for c in cluster.calls if c[0] == "patch"]


def seed_node(name, labels=None, gpus=None):
    n = {"kind": "Node", "metadata": {"name": name, "labels": dict({ZONE: "cn-hongkong-b"}, **(labels or {}))},
         "spec": {}, "status": {"allocatable": {"cpu": "32"}}}
    if gpus:
        n["status"]["allocatable"]["nvidia.com/gpu"] = str(gpus)
    return n


def seed_cluster(with_runtime=True, grows=True):
    """The seed's two nodes (...196 a GPU node with the label), Dataset cifar10 and, optionally, its runtime
    with 2 replicas of 2Gi+10Gi: a controller keeps one ready worker per node matching the Dataset's affinity."""
    c = NodeCluster()
    c.put(seed_node(N194))
    c.put(seed_node(N196, {GPU: V100, "nvidia.com/gpu.product": V100}, gpus=1))
    c.put(obj("Dataset", "default", "cifar10", spec={
        "mounts": [{"name": "hbase", "mountPoint": "https://downloads.apache.org/hbase/"}],
        "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": GPU, "operator": "In", "values": [V100]}]}]}}}))
    if not with_runtime:
        return c
    c.put(obj("AlluxioRuntime", "default", "cifar10", spec={"replicas": 2, "tieredstore": {"levels": [
        {"mediumtype": "MEM", "path": "/dev/shm", "quota": "2Gi"},
        {"mediumtype": "SSD", "path": "/var/lib/docker/alluxio", "quota": "10Gi"}]}}))

    def controller(cluster, _changed):
        rt = cluster.objects[("AlluxioRuntime", "default", "cifar10")]
        ds = cluster.objects[("Dataset", "default", "cifar10")]
        matching = [n for k, n in cluster.objects.items() if k[0] == "Node"
                    and scheduling.node_matches_selector(n, scheduling.dataset_node_selector(ds))]
        ready = min(rt["spec"]["replicas"], len(matching)) if grows else 1
        cap = format_bytes(ready * parse_bytes("12Gi"), strip=False)
        status = {"masterPhase": "Ready", "workerPhase": "Ready" if ready == 2 else "PartialReady",
                  "workerNumberReady": ready, "desiredWorkerNumberScheduled": 2,
                  "cacheStates": {"cacheCapacity": cap, "cached": "0.00B"}}
        if rt.get("status") != status:
            cluster.set_status("AlluxioRuntime", "default", "cifar10", status)
        dstatus = {"phase": "Bound", "cacheStates": {"cacheCapacity": cap}}
        if ds.get("status") != dstatus:
            cluster.set_status("Dataset", "default", "cifar10", dstatus)

    c.controller = controller
    controller(c, None)
    return c


def node_labels(cluster, name):
    return cluster.objects[("Node", None, name)]["metadata"].get("labels") or {}


def seed_args(**kw):
    args = {"gpu": True, "labels": {GPU: V100}}
    args.update(kw)
    return args


# ---------------------------------------------------------------- validation before any write

def test_refuses_to_select_every_node(run_module):
    c = seed_cluster()
    r = run_module(M, {"labels": {GPU: V100}}, c)
    assert r.failed and "names, label_selector, gpu: give at least one" in r["msg"]
    assert not patches(c)


def test_invalid_labels_are_refused_before_any_write(run_module):
    c = seed_cluster()
    r = run_module(M, seed_args(labels={"bad key!": "x", "example.com/ok": "not ok!"}, names=["Bad_Name"]), c)
    assert r.failed and r["msg"].startswith("Invalid options (nothing was changed)")
    assert "labels[bad key!]" in r["msg"] and "labels[example.com/ok]" in r["msg"]
    assert "names[0]: 'Bad_Name' is not a valid node name" in r["msg"]
    assert not patches(c) and not [x for x in c.calls if x[0] == "list"]


def test_fluid_labels_need_force(run_module):
    c = seed_cluster(with_runtime=False)
    r = run_module(M, seed_args(labels={"fluid.io/s-default-cifar10": "true"}), c)
    assert r.failed and "is a label Fluid manages itself" in r["msg"] and "force: true" in r["msg"]
    assert not patches(c)
    r = run_module(M, seed_args(labels={"fluid.io/s-default-cifar10": "true"}, force=True), c)
    assert not r.failed and r["changed_nodes"] == [N196]


def test_other_option_errors(run_module):
    c = seed_cluster()
    r = run_module(M, seed_args(parallel=0, wait_timeout=0, values_from={"x.io/y": "z"},
                                gpu_detection={"resources": [], "labels": {}},
                                wait_datasets=[{"name": "Cifar10"}, {"name": "ok"}, {"name": "ok"}]), c)
    msg = r["msg"]
    assert r.failed
    for part in ("parallel: 0 must be 1 or more", "wait_timeout: must be a positive number",
                 "values_from[x.io/y]: x.io/y is not in labels", "gpu_detection: has neither resources nor labels",
                 "wait_datasets[0].name: 'Cifar10' is not a valid Dataset name",
                 "wait_datasets[2]: default/ok is already wait_datasets[1]"):
        assert part in msg, part
    assert not patches(c)


def test_missing_names_fail_before_any_write(run_module):
    c = seed_cluster()
    r = run_module(M, {"names": [N194, "cn-hongkong.172.31.136.999"], "labels": {GPU: V100}}, c)
    assert r.failed and "names: no node is named cn-hongkong.172.31.136.999" in r["msg"]
    assert not patches(c)


def test_bad_label_selector_names_the_field(run_module):
    c = seed_cluster()
    r = run_module(M, {"label_selector": "bad selector!", "labels": {GPU: V100}}, c)
    assert r.failed and r["msg"].startswith("label_selector: the API server refused 'bad selector!'")


def test_wait_datasets_must_exist_with_a_runtime(run_module):
    c = seed_cluster(with_runtime=False)
    r = run_module(M, seed_args(names=[N194], gpu=None, wait_datasets=[{"name": "cifar10"}, {"name": "nope"}]), c)
    assert r.failed
    assert "wait_datasets[0]: Dataset default/cifar10 has no runtime" in r["msg"]
    assert "wait_datasets[1]: Dataset default/nope does not exist" in r["msg"]
    assert not patches(c) and GPU not in node_labels(c, N194)


def test_wait_datasets_without_fluid(run_module):
    c = NodeCluster(fluid_installed=False)
    c.put(seed_node(N194))
    r = run_module(M, {"names": [N194], "labels": {GPU: V100}, "wait_datasets": [{"name": "cifar10"}]}, c)
    assert r.failed and "wait_datasets: Fluid is not installed" in r["msg"] and "cloudnative.fluid.fluid" in r["msg"]


# ---------------------------------------------------------------- selection, changes, idempotence

def test_gpu_nodes_are_labelled_once(run_module):
    c = seed_cluster(with_runtime=False)
    c.objects[("Node", None, N196)]["metadata"]["labels"].pop(GPU)
    r = run_module(M, seed_args(), c)
    assert not r.failed and r["changed"] is True
    assert r["changed_nodes"] == [N196] and r["unchanged_nodes"] == []
    assert node_labels(c, N196)[GPU] == V100 and GPU not in node_labels(c, N194)
    assert r["patch_seconds"] >= 0 and r["datasets"] == []
    again = run_module(M, seed_args(), c)
    assert again["changed"] is False and again["changed_nodes"] == [] and again["unchanged_nodes"] == [N196]
    assert len(patches(c)) == 1


def test_gpu_false_and_label_selector_and_names_combine(run_module):
    c = seed_cluster(with_runtime=False)
    c.put(seed_node("other-zone", {ZONE: "elsewhere"}))
    r = run_module(M, {"gpu": False, "label_selector": ZONE + "=cn-hongkong-b", "labels": {"example.com/cpu": "only"}}, c)
    assert r["changed_nodes"] == [N194]
    r = run_module(M, {"names": [N194, N196, "other-zone"], "label_selector": ZONE + "=cn-hongkong-b",
                       "labels": {"example.com/zone-b": "yes"}}, c)
    assert r["changed_nodes"] == [N194, N196]  # other-zone exists but does not match the selector
    assert "example.com/zone-b" not in node_labels(c, "other-zone")


def test_gpu_detection_by_capacity_picks_up_a_new_gpu_node(run_module):
    c = seed_cluster(with_runtime=False)
    c.objects[("Node", None, N194)]["status"]["allocatable"]["nvidia.com/gpu"] = "1"
    r = run_module(M, seed_args(), c)
    assert r["changed_nodes"] == [N194] and r["unchanged_nodes"] == [N196]
    det = {"resources": [], "labels": {"nvidia.com/gpu.present": "true"}}
    r = run_module(M, seed_args(gpu_detection=det, labels={"example.com/x": "y"}), c)
    assert r["changed_nodes"] == [] and r["unchanged_nodes"] == []
    assert "No node matched" in json.dumps(r.get("warnings"))


def test_values_from_takes_the_nodes_gpu_product(run_module):
    c = seed_cluster(with_runtime=False)
    c.objects[("Node", None, N196)]["metadata"]["labels"]["nvidia.com/gpu.product"] = "NVIDIA-A100-SXM4-80GB"
    r = run_module(M, {"names": [N194, N196], "labels": {GPU: V100},
                       "values_from": {GPU: "nvidia.com/gpu.product"}}, c)
    assert r["changed_nodes"] == [N194, N196]
    assert node_labels(c, N196)[GPU] == "NVIDIA-A100-SXM4-80GB" and node_labels(c, N194)[GPU] == V100


def test_check_mode_and_diff_name_exactly_the_nodes_that_would_change(run_module):
    c = seed_cluster(with_runtime=False)
    before = copy.deepcopy(c.objects)
    r = run_module(M, {"names": [N194, N196], "labels": {GPU: V100, "example.com/x": "1"}}, c, check=True, diff=True)
    assert not r.failed and r["changed"] is True
    assert r["changed_nodes"] == [N194, N196] and r["unchanged_nodes"] == []
    assert r["diff"]["before"] == {N194: {}, N196: {GPU: V100}}
    assert r["diff"]["after"] == {N194: {GPU: V100, "example.com/x": "1"}, N196: {GPU: V100, "example.com/x": "1"}}
    assert not patches(c) and c.objects == before
    r = run_module(M, {"names": [N196], "labels": {GPU: V100}}, c, check=True, diff=True)
    assert r["changed"] is False and r["diff"]["before"] == {} and r["diff"]["after"] == {}


def test_absent_removes_only_the_given_keys(run_module):
    c = seed_cluster(with_runtime=False)
    r = run_module(M, {"names": [N194, N196], "state": "absent", "labels": {GPU: None}}, c, diff=True)
    assert r["changed_nodes"] == [N196] and r["unchanged_nodes"] == [N194]
    assert GPU not in node_labels(c, N196) and node_labels(c, N196)["nvidia.com/gpu.product"] == V100
    assert r["diff"]["before"] == {N196: {GPU: V100}} and r["diff"]["after"] == {N196: {}}
    again = run_module(M, {"names": [N194, N196], "state": "absent", "labels": {GPU: None}}, c)
    assert again["changed"] is False


# ---------------------------------------------------------------- failures while patching

def test_conflicts_and_throttling_are_retried(run_module):
    c = seed_cluster(with_runtime=False)
    c.patch_failures = {N194: [409, 429], N196: [503]}
    r = run_module(M, {"names": [N194, N196], "labels": {"example.com/x": "1"}}, c)
    assert not r.failed and r["changed_nodes"] == [N194, N196]
    assert node_labels(c, N194)["example.com/x"] == "1"


def test_forbidden_fails_with_what_was_done(run_module):
    c = seed_cluster(with_runtime=False)
    c.patch_failures = {N196: [403]}
    r = run_module(M, {"names": [N194, N196], "labels": {"example.com/x": "1"}, "parallel": 1}, c)
    assert r.failed and "could not label node %s" % N196 in r["msg"]
    assert "u may not patch nodes cluster-wide. Grant 'patch' on nodes cluster-wide" in r["msg"]
    assert r["msg"].count("forbidden (403)") == 1 and "RBAC permission" not in r["msg"]
    assert r["failed_nodes"] == [N196] and r["changed_nodes"] == [N194]


# ---------------------------------------------------------------- the seed story: 12GiB -> 24GiB

def test_labelling_the_second_node_widens_the_cache(run_module):
    c = seed_cluster()
    c.objects[("Node", None, N194)]["status"]["allocatable"]["nvidia.com/gpu"] = "1"
    r = run_module(M, seed_args(values_from={GPU: "nvidia.com/gpu.product"}, wait_datasets=[{"name": "cifar10"}]), c)
    assert not r.failed, r
    assert r["changed_nodes"] == [N194] and r["unchanged_nodes"] == [N196]
    [d] = r["datasets"]
    assert (d["name"], d["namespace"], d["runtime_kind"]) == ("cifar10", "default", "AlluxioRuntime")
    assert (d["replicas"], d["eligible_nodes"], d["expected_workers"]) == (2, 2, 2)
    assert (d["workers_before"], d["workers_after"]) == (1, 2)
    assert (d["cache_capacity_before"], d["cache_capacity_after"]) == ("12.00GiB", "24.00GiB")
    assert d["expected_cache_capacity"] == "24.00GiB" and d["cache_capacity_after_bytes"] == 24 * 1024 ** 3
    assert d["ready"] is True and d["wait_seconds"] >= 0

    again = run_module(M, seed_args(wait_datasets=[{"name": "cifar10"}]), c)
    assert again["changed"] is False and again["datasets"][0]["cache_capacity_before"] == "24.00GiB"
    assert again["datasets"][0]["ready"] is True


def test_check_mode_predicts_the_new_capacity(run_module):
    c = seed_cluster()
    r = run_module(M, {"names": [N194], "labels": {GPU: V100}, "wait_datasets": [{"name": "cifar10"}]}, c, check=True)
    assert not r.failed and r["changed_nodes"] == [N194]
    [d] = r["datasets"]
    assert d["expected_workers"] == 2 and d["expected_cache_capacity"] == "24.00GiB"
    assert d["cache_capacity_after"] == "12.00GiB" and d["ready"] is False and d["wait_seconds"] == 0
    assert GPU not in node_labels(c, N194)


def test_timeout_explains_the_runtime(run_module):
    c = seed_cluster(grows=False)  # the second worker never becomes ready
    r = run_module(M, {"names": [N194], "labels": {GPU: V100}, "wait_datasets": [{"name": "cifar10"}],
                       "wait_timeout": 1}, c)
    assert r.failed and r["changed_nodes"] == [N194]
    msg = r["msg"]
    assert msg.startswith("Timed out after 1s waiting for 1 of 1 datasets"), msg
    assert "Dataset default/cifar10: waited for 2 ready worker(s) and a cache of 24.00GiB" in msg
    assert "the AlluxioRuntime has 1 ready, cache 12.00GiB" in msg
    assert "AlluxioRuntime default/cifar10: master Ready" in msg  # fluid.diagnose()
    assert r["datasets"][0]["ready"] is False


def test_result_is_json_serialisable(run_module):
    c = seed_cluster()
    r = run_module(M, seed_args(wait_datasets=[{"name": "cifar10"}], wait=False), c, diff=True)
    json.dumps(r)
    assert r["datasets"][0]["workers_after"] == 1


def test_namespace_option_is_the_default_of_wait_datasets(run_module):
    """module_defaults for group/cloudnative.fluid.fluid may set namespace for every module of the group."""
    c = seed_cluster()
    r = run_module(M, {"names": [N194], "labels": {GPU: V100}, "namespace": "default",
                       "wait_datasets": [{"name": "cifar10"}]}, c, check=True)
    assert not r.failed, r.get("msg")
    assert r["datasets"][0]["namespace"] == "default"
    r = run_module(M, {"names": [N194], "labels": {GPU: V100}, "namespace": "elsewhere",
                       "wait_datasets": [{"name": "cifar10"}]}, c, check=True)
    assert r.failed and "wait_datasets[0]: Dataset elsewhere/cifar10 does not exist" in r["msg"]
