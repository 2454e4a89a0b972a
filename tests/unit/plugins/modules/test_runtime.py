"""cloudnative.fluid.runtime against the in-memory API server (tests/unit/fakes.py)."""
import copy

import pytest

from ansible_collections.cloudnative.fluid.plugins.module_utils import scheduling
from ansible_collections.cloudnative.fluid.plugins.module_utils.quantity import format_bytes, parse_bytes
from ansible_collections.cloudnative.fluid.plugins.modules import runtime as M

from fakes import FakeCluster, fluid_write_back, obj

GPU = "aliyun.accelerator/nvidia_name"
V100 = "Tesla-V100-SXM2-16GB"
SEED = {
    "name": "cifar10",
    "kind": "AlluxioRuntime",
    "replicas": 2,
    "tiered_store": [
        {"medium": "MEM", "path": "/dev/shm", "quota": "2Gi", "high": 0.95, "low": 0.7},
        {"medium": "SSD", "path": "/var/lib/docker/alluxio", "quota": "10Gi", "high": 0.95, "low": 0.7},
    ],
    "properties": {"alluxio.user.file.writetype.default": "MUST_CACHE", "alluxio.master.journal.type": "UFS"},
    "master": {"jvm_options": ["-Xmx4G"]},
    "worker": {"jvm_options": ["-Xmx4G"]},
    "fuse": {"jvm_options": ["-Xmx4G", "-Xms4G"]},
}


def item(**kw):
    base = {k: None for k in M.ITEM_SPEC}
    base.update(namespace="default", state="present", kind="AlluxioRuntime", where="name=x", prefix="")
    base.update(kw)
    return base


def writes(cluster):
    return [c for c in cluster.calls if c[0] in ("apply", "delete") and not c[-1]]


def seed_cluster(gpu_nodes=1):
    """Two nodes, gpu_nodes of them labelled; a controller that runs one worker per matching node."""
    c = FakeCluster()
    c.put({"kind": "Node", "metadata": {"name": "cn-hongkong.172.31.136.196", "labels": {GPU: V100}}})
    c.put({"kind": "Node", "metadata": {"name": "cn-hongkong.172.31.136.194",
                                        "labels": {GPU: V100} if gpu_nodes > 1 else {}}})
    ds = obj("Dataset", "default", "cifar10", spec={
        "mounts": [{"name": "hbase", "mountPoint": "https://downloads.apache.org/hbase/2.2.5/"}],
        "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": GPU, "operator": "In", "values": [V100]}]}]}}}, status={"phase": "NotBound", "conditions": []})
    c.put(ds)

    def controller(cluster, o):
        if not o["kind"].endswith("Runtime") or o["metadata"].get("deletionTimestamp"):
            return
        ns, name = o["metadata"]["namespace"], o["metadata"]["name"]
        dataset = cluster.objects.get(("Dataset", ns, name))
        nodes = [n for n in cluster.objects.values() if n["kind"] == "Node"
                 and scheduling.node_matches_selector(n, scheduling.dataset_node_selector(dataset))]
        replicas = o["spec"].get("replicas", 1)
        ready = min(replicas, len(nodes))
        per_worker = sum(parse_bytes(level["quota"]) for level in o["spec"].get("tieredstore", {}).get("levels", []))
        cluster.set_status(o["kind"], ns, name, {
            "masterPhase": "Ready", "masterNumberReady": 1, "desiredMasterNumberScheduled": 1,
            "workerPhase": "Ready" if ready == replicas else ("PartialReady" if ready else "NotReady"),
            "workerNumberReady": ready, "desiredWorkerNumberScheduled": replicas, "currentWorkerNumberScheduled": ready,
            "fusePhase": "Ready", "fuseNumberReady": ready, "desiredFuseNumberScheduled": replicas,
            "cacheStates": {"cacheCapacity": format_bytes(per_worker * ready, strip=False), "cached": "0.00B"},
            "conditions": [{"type": "MasterReady", "status": "True", "reason": "Master is ready"}]})
        if dataset is not None and ready:
            cluster.set_status("Dataset", ns, name, {"phase": "Bound", "conditions": [
                {"type": "Ready", "status": "True", "message": "The ddc runtime is ready."}]})
    c.controller = controller
    return c


# ---------------------------------------------------------------- building and validation

def test_build_seed_runtime():
    body = M.KIND.build(item(**copy.deepcopy(SEED)))
    assert body["kind"] == "AlluxioRuntime" and body["apiVersion"] == "data.fluid.io/v1alpha1"
    spec = body["spec"]
    assert spec["replicas"] == 2
    assert spec["tieredstore"] == {"levels": [
        {"mediumtype": "MEM", "path": "/dev/shm", "quota": "2Gi", "high": "0.95", "low": "0.7"},
        {"mediumtype": "SSD", "path": "/var/lib/docker/alluxio", "quota": "10Gi", "high": "0.95", "low": "0.7"}]}
    assert spec["master"] == {"jvmOptions": ["-Xmx4G"]}
    assert spec["fuse"] == {"jvmOptions": ["-Xmx4G", "-Xms4G"]}
    assert spec["properties"]["alluxio.master.journal.type"] == "UFS"


def test_watermarks_are_written_as_given():
    levels = [{"medium": "MEM", "path": "/dev/shm", "quota": "2Gi", "high": 0.9999999, "low": 1e-7},
              {"medium": "SSD", "path": "/ssd", "quota": "1Gi", "high": 1, "low": 0}]
    body = M.KIND.build(item(name="x", tiered_store=levels))
    got = [(lv["high"], lv["low"]) for lv in body["spec"]["tieredstore"]["levels"]]
    assert got == [("0.9999999", "1e-07"), ("1", "0")]


def test_build_components_per_kind():
    body = M.KIND.build(item(name="x", image="alluxio/alluxio", image_tag=2.9,
                             worker={"node_selector": {"a": "b"}, "resources": {"requests": {"memory": "4Gi", "cpu": 1}},
                                     "env": {"B": 2, "A": "x"}, "properties": {"p": True}},
                             fuse={"image": "fluid/fuse", "image_tag": "v1"},
                             spec={"fuse": {"args": ["fuse"]}, "data": {"replicas": 1}}))
    spec = body["spec"]
    assert spec["alluxioVersion"] == {"image": "alluxio/alluxio", "imageTag": "2.9"}
    assert spec["worker"] == {"nodeSelector": {"a": "b"}, "resources": {"requests": {"memory": "4Gi", "cpu": "1"}},
                              "env": {"B": "2", "A": "x"}, "properties": {"p": "true"}}
    assert spec["fuse"] == {"image": "fluid/fuse", "imageTag": "v1", "args": ["fuse"]}  # spec merged in
    assert spec["data"] == {"replicas": 1}
    juice = M.KIND.build(item(name="j", kind="JuiceFSRuntime", image="juicedata/juicefs-fuse",
                              worker={"env": {"B": "2", "A": "1"}}))
    assert juice["spec"]["juicefsVersion"]["image"] == "juicedata/juicefs-fuse"
    assert juice["spec"]["worker"]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    thin = M.KIND.build(item(name="t", kind="ThinRuntime", worker={"image": "w", "image_tag": "1"}))
    assert thin["spec"]["worker"] == {"image": "w", "imageTag": "1"}


def test_validation_names_fields_and_fixes():
    errs = "\n".join(M.KIND.validate_item(item(
        name="cifar10", replicas=-1,
        tiered_store=[{"medium": "MEM", "path": "dev/shm", "quota": "2GB", "high": 0.7, "low": 0.95},
                      {"medium": "MEM", "path": "/a,/b", "quota": "0", "high": 1.5, "low": None}],
        master={"image": "x"}, worker={"resources": {"requests": {"memory": "lots"}}, "env": {"A B": "1"}}),
        {"wait_min_workers": 3}))
    for needle in ["replicas: -1 must be 0 or more",
                   "tiered_store[0].path: 'dev/shm' must be an absolute directory",
                   "tiered_store[0].quota: '2GB' is not a Kubernetes quantity",
                   "tiered_store[0].low: 0.95 must be below high (0.7)",
                   "tiered_store[1].medium: MEM is already tiered_store[0]",
                   "tiered_store[1].quota: '0' must be more than 0",
                   "tiered_store[1].high: 1.5 must be a ratio above 0 and at most 1",
                   "master.image: the master of AlluxioRuntime has no own image; set image at the top level (spec.alluxioVersion)",
                   "worker.resources.requests.memory",
                   "worker.env: 'A B'"]:
        assert needle in errs, needle
    errs = "\n".join(M.KIND.validate_item(item(name="x", replicas=2), {"wait_min_workers": 3}))
    assert "wait_min_workers: 3 is more than replicas (2)" in errs


def test_validation_per_kind_capabilities():
    jindo = "\n".join(M.KIND.validate_item(item(name="j", kind="JindoRuntime", master={"jvm_options": ["-X"]})))
    assert "master.jvm_options: JindoRuntime takes no JVM options" in jindo
    thin = "\n".join(M.KIND.validate_item(item(name="t", kind="ThinRuntime", master={}, image="x", properties={"a": "b"})))
    assert "master: ThinRuntime has no master component" in thin
    assert "image: ThinRuntime has no runtime-wide image" in thin
    assert "properties: ThinRuntime has no spec.properties" in thin
    juice = "\n".join(M.KIND.validate_item(item(name="j", kind="JuiceFSRuntime", worker={"properties": {"a": "b"}})))
    assert "worker.properties: JuiceFSRuntime has no properties" in juice
    assert M.KIND.validate_item(item(**copy.deepcopy(SEED))) == []
    conflict = "\n".join(M.KIND.validate_item(item(name="x", replicas=1, spec={"replicas": 2})))
    assert "spec.replicas: also set by replicas" in conflict


# ---------------------------------------------------------------- the module

def test_seed_story_partial_then_full(run_module):
    """One GPU node: 1 of 2 workers, 12GiB, Bound with wait_min_workers 1; second node labelled: 24GiB."""
    c = seed_cluster(gpu_nodes=1)
    r = run_module(M, dict(SEED, wait_for="bound", wait_min_workers=1), c)
    assert not r.failed, r.get("msg")
    rt = r["runtimes"][0]
    assert rt["worker"] == {"phase": "PartialReady", "ready": 1, "desired": 2, "scheduled": 1}
    assert rt["master"]["phase"] == "Ready" and rt["ready"] is True
    assert rt["cache_states"]["cacheCapacity"] == "12.00GiB" and rt["cache_capacity_bytes"] == 12 * 1024 ** 3
    assert rt["dataset_phase"] == "Bound"

    # waiting for all workers with only one matching node times out with the reason
    r2 = run_module(M, dict(SEED, wait_timeout=1), c)
    assert r2.failed and r2["changed"] is False
    assert "worker PartialReady 1/2 ready" in r2["msg"]
    assert "1 of 2 node(s) match the dataset's spec.nodeAffinity" in r2["msg"]
    assert "Only 1 node(s) can host the 2 requested worker(s)" in r2["msg"]

    # label the second node; the controller reconciles on the next write
    node = copy.deepcopy(c.objects[("Node", None, "cn-hongkong.172.31.136.194")])
    node["metadata"]["labels"][GPU] = V100
    c.put(node)
    c.controller(c, c.objects[("AlluxioRuntime", "default", "cifar10")])
    r3 = run_module(M, dict(SEED), c)
    assert not r3.failed and r3["changed"] is False
    assert r3["runtimes"][0]["cache_states"]["cacheCapacity"] == "24.00GiB"
    assert r3["runtimes"][0]["worker"]["ready"] == 2


def test_server_defaulted_volume_type_is_not_a_change(run_module):
    c = seed_cluster()
    run_module(M, dict(SEED, wait=False), c)
    stored = c.objects[("AlluxioRuntime", "default", "cifar10")]
    assert [level["volumeType"] for level in stored["spec"]["tieredstore"]["levels"]] == ["hostPath", "hostPath"]
    before = len(writes(c))
    r = run_module(M, dict(SEED, wait=False), c, diff=True)
    assert r["changed"] is False and r.get("diff") == []
    assert len(writes(c)) == before


def test_fluid_write_back_of_empty_structs_is_not_a_change(run_module):
    """Found on the real cluster: Fluid's Update adds volumeSource: {} inside the (atomic) tier list."""
    c = seed_cluster()
    run_module(M, dict(SEED, wait=False), c)
    stored = fluid_write_back(c, c.objects[("AlluxioRuntime", "default", "cifar10")])
    assert stored["spec"]["tieredstore"]["levels"][0]["volumeSource"] == {}
    before = len(writes(c))
    r = run_module(M, dict(SEED, wait=False), c, diff=True)
    assert r["changed"] is False and r.get("diff") == []
    assert len(writes(c)) == before
    # the fields Fluid added stay; a real change is still seen
    r2 = run_module(M, dict(SEED, wait=False, replicas=3), c, diff=True)
    assert r2["changed"] is True
    after = c.objects[("AlluxioRuntime", "default", "cifar10")]
    assert after["spec"]["replicas"] == 3 and after["spec"]["worker"]["resources"]["requests"]["memory"] == "2Gi"
    assert after["metadata"]["labels"]["fluid.io/dataset-id"] == "default-cifar10"
    assert "podMetadata" not in r2["diff"][0]["after"]["spec"]  # empty structs are left out of the diff


def test_update_and_check_mode(run_module):
    c = seed_cluster()
    run_module(M, dict(SEED, wait=False), c)
    bigger = copy.deepcopy(SEED)
    bigger["tiered_store"][0]["quota"] = "4Gi"
    r = run_module(M, dict(bigger, wait=False), c, check=True, diff=True)
    assert r["changed"] is True
    assert c.objects[("AlluxioRuntime", "default", "cifar10")]["spec"]["tieredstore"]["levels"][0]["quota"] == "2Gi"
    assert r["diff"][0]["after"]["spec"]["tieredstore"]["levels"][0]["quota"] == "4Gi"
    assert r["diff"][0]["before"]["spec"]["tieredstore"]["levels"][0]["quota"] == "2Gi"
    r2 = run_module(M, dict(bigger, wait=False), c)
    assert r2["changed"] is True
    assert c.objects[("AlluxioRuntime", "default", "cifar10")]["spec"]["tieredstore"]["levels"][0]["quota"] == "4Gi"


def test_runtime_without_dataset_fails_at_once_with_the_fix(run_module):
    """A runtime serves the Dataset of its own name: without one the wait could never end, so the task fails
    before writing anything instead of waiting out its timeout."""
    c = FakeCluster()  # no controller, no dataset
    r = run_module(M, {"name": "lonely", "replicas": 1, "wait_timeout": 300}, c)
    assert r.failed and "(nothing was changed)" in r["msg"]
    assert "No Dataset named lonely exists in namespace default" in r["msg"]
    assert "Create that Dataset first (cloudnative.fluid.dataset with name: lonely, namespace: default)" in r["msg"]
    assert "controller" not in r["msg"]
    assert [x for x in c.calls if x[0] in ("apply", "delete")] == []
    # without waiting, the runtime may come first
    r = run_module(M, {"name": "lonely", "replicas": 1, "wait": False}, c)
    assert not r.failed and r["changed"] is True


def test_many_runtimes_and_delete(run_module):
    c = seed_cluster()
    for n in ("a", "b"):
        c.put(obj("Dataset", "default", n, spec={"mounts": [{"mountPoint": "https://x/"}]}))
    r = run_module(M, {"runtimes": [{"name": "a", "replicas": 1}, {"name": "b", "kind": "JindoRuntime", "replicas": 1}],
                       "wait_for": "bound"}, c)
    assert not r.failed, r.get("msg")
    assert [(x["name"], x["kind"], x["dataset_phase"]) for x in r["runtimes"]] == [
        ("a", "AlluxioRuntime", "Bound"), ("b", "JindoRuntime", "Bound")]
    r2 = run_module(M, {"runtimes": [{"name": "a", "state": "absent"}, {"name": "b", "kind": "JindoRuntime", "state": "absent"}]}, c)
    assert not r2.failed and r2["changed"] is True
    assert ("AlluxioRuntime", "default", "a") not in c.objects and ("JindoRuntime", "default", "b") not in c.objects


def test_invalid_runtime_options_fail_before_any_call(run_module):
    c = FakeCluster()
    r = run_module(M, {"name": "x", "kind": "JindoRuntime", "master": {"jvm_options": ["-X"]},
                       "tiered_store": [{"medium": "MEM", "path": "/dev/shm", "quota": "2Gi", "high": 0.5, "low": 0.6}]}, c)
    assert r.failed and r["msg"].startswith("Invalid options (nothing was changed)")
    assert len(r["errors"]) == 2
    assert c.calls == []


def test_secret_properties_are_masked(run_module):
    c = seed_cluster()
    r = run_module(M, {"name": "cifar10", "replicas": 1, "wait": False,
                       "properties": {"fs.s3a.secret.key": "TOPSECRET42"},
                       "fuse": {"env": {"AWS_SECRET_ACCESS_KEY": "ALSOSECRET"}}}, c, diff=True)
    assert not r.failed
    assert "TOPSECRET42" not in repr(r) and "ALSOSECRET" not in repr(r)


def test_empty_option_values_count_as_a_change(run_module):
    """Fluid takes fuse options without a value (writeback: ""); adding them is a change, and they are written."""
    c = seed_cluster()
    run_module(M, dict(SEED, wait=False), c)
    spec = {"fuse": {"options": {"writeback": "", "verbose": ""}}}
    r = run_module(M, dict(SEED, wait=False, spec=spec), c, diff=True)
    assert r["changed"] is True
    assert r["diff"][0]["after"]["spec"]["fuse"]["options"] == {"writeback": "", "verbose": ""}
    stored = c.objects[("AlluxioRuntime", "default", "cifar10")]
    assert stored["spec"]["fuse"]["options"] == {"writeback": "", "verbose": ""}
    again = run_module(M, dict(SEED, wait=False, spec=spec), c)
    assert again["changed"] is False


def test_quota_without_a_unit_warns(run_module):
    c = seed_cluster()
    levels = [{"medium": "MEM", "path": "/dev/shm", "quota": "2"}, {"medium": "SSD", "path": "/ssd", "quota": "2Gi"}]
    r = run_module(M, {"name": "cifar10", "replicas": 1, "wait": False, "tiered_store": levels}, c)
    assert not r.failed
    [w] = [str(w) for w in r.get("warnings", []) if "quota" in str(w)]
    assert "tiered_store[0].quota: '2' is only 2 byte(s)" in w and "e.g. 2Gi" in w


def test_thin_replicas_without_enabled_workers_warns(run_module):
    c = seed_cluster()
    thin = {"name": "cifar10", "kind": "ThinRuntime", "replicas": 2, "wait": False, "spec": {"profileName": "nfs"}}

    def thin_warnings(result):  # Ansible keeps one warning list per process: count, do not look for absence
        return sum("a ThinRuntime gets workers only with spec.worker.enabled" in str(w)
                   for w in result.get("warnings", []))

    r = run_module(M, thin, c)
    assert not r.failed
    before = thin_warnings(r)
    assert before >= 1
    enabled = dict(thin, spec={"profileName": "nfs", "worker": {"enabled": True}})
    assert thin_warnings(run_module(M, enabled, c)) == before


# ---------------------------------------------------------------- replicas left alone, autoscaling

def test_replicas_left_out_keep_what_another_writer_set(run_module):
    c = seed_cluster()
    run_module(M, dict(SEED, wait=False), c)
    rt = copy.deepcopy(c.objects[("AlluxioRuntime", "default", "cifar10")])
    rt["spec"]["replicas"] = 5  # kubectl scale, an autoscaler
    c.put(rt)
    unmanaged = dict(SEED, wait=False)
    del unmanaged["replicas"]
    c.calls[:] = []
    r = run_module(M, unmanaged, c)
    assert not r.failed and r["changed"] is False and r["runtimes"][0]["replicas"] == 5, r
    assert c.objects[("AlluxioRuntime", "default", "cifar10")]["spec"]["replicas"] == 5 and writes(c) == []
    # one read before the task writes (shared by the replicas check and the apply), one after (wait: false)
    assert len([x for x in c.calls if x[:2] == ("get", "AlluxioRuntime")]) == 2


def test_autoscaling_creates_updates_and_deletes_its_autoscaler(run_module):
    c = seed_cluster()
    auto = dict(SEED, wait=False, autoscaling={"min_replicas": 2, "max_replicas": 4})
    del auto["replicas"]
    r = run_module(M, auto, c, diff=True)
    assert not r.failed and r["changed"], r
    hpa = c.objects[("HorizontalPodAutoscaler", "default", "cifar10")]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "data.fluid.io/v1alpha1", "kind": "AlluxioRuntime",
                                             "name": "cifar10"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 4)
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert c.objects[("AlluxioRuntime", "default", "cifar10")]["spec"]["replicas"] == 2  # a new runtime: min
    assert r["runtimes"][0]["autoscaling"]["max_replicas"] == 4
    assert any(d["after_header"].endswith("autoscaler") for d in r["diff"])
    assert run_module(M, auto, c)["changed"] is False
    more = dict(auto, autoscaling={"min_replicas": 2, "max_replicas": 6})
    assert run_module(M, more, c, check=True)["changed"] is True
    assert c.objects[("HorizontalPodAutoscaler", "default", "cifar10")]["spec"]["maxReplicas"] == 4
    assert run_module(M, more, c)["changed"] is True
    assert c.objects[("HorizontalPodAutoscaler", "default", "cifar10")]["spec"]["maxReplicas"] == 6
    plain = dict(auto)
    del plain["autoscaling"]
    assert run_module(M, plain, c)["changed"] is True
    assert ("HorizontalPodAutoscaler", "default", "cifar10") not in c.objects


def test_foreign_autoscaler_is_never_touched(run_module):
    c = seed_cluster()
    c.put(obj("HorizontalPodAutoscaler", "default", "cifar10", spec={"maxReplicas": 9}))
    plain = dict(SEED, wait=False)
    assert run_module(M, plain, c)["changed"] is True  # the runtime is created; the autoscaler stays
    assert ("HorizontalPodAutoscaler", "default", "cifar10") in c.objects
    auto = dict(plain, autoscaling={"max_replicas": 2})
    del auto["replicas"]
    r = run_module(M, auto, c)
    assert r.failed and "did not create" in r["msg"], r


@pytest.mark.parametrize("kw,field", [
    (dict(replicas=2, autoscaling={"min_replicas": 1, "max_replicas": 2}), "replicas"),
    (dict(autoscaling={"min_replicas": 0, "max_replicas": 2}), "autoscaling.min_replicas"),
    (dict(autoscaling={"min_replicas": 3, "max_replicas": 2}), "autoscaling.max_replicas"),
    (dict(autoscaling={"min_replicas": 1, "max_replicas": 2, "metrics": [{"resource": {}}]}),
     "autoscaling.metrics[0].type"),
    (dict(kind="ThinRuntime", autoscaling={"min_replicas": 1, "max_replicas": 2}), "autoscaling"),
])
def test_autoscaling_checks(kw, field):
    it = item(name="x", **kw)
    errors = M.KIND.validate_item(it, {"wait_min_workers": None})
    assert any(e.split(":", 1)[0] == field for e in errors), errors
