"""cloudnative.fluid.dataset against the in-memory API server (tests/unit/fakes.py)."""
import copy
import json

from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.modules import dataset as M

from fakes import DATASET_FINALIZER, FakeCluster, bound_on_apply, obj

GPU = "aliyun.accelerator/nvidia_name"
V100 = "Tesla-V100-SXM2-16GB"
SEED = {
    "name": "cifar10",
    "mounts": [
        {"name": "hadoop", "mount_point": "https://downloads.apache.org/hadoop/common/hadoop-3.2.1/"},
        {"name": "spark", "mount_point": "https://downloads.apache.org/spark/spark-2.4.6/"},
        {"name": "hbase", "mount_point": "https://downloads.apache.org/hbase/2.2.5/"},
    ],
    "node_selector": {GPU: V100},
}


def writes(cluster):
    return [c for c in cluster.calls if c[0] in ("apply", "delete") and not c[-1]]


def item(**kw):
    base = {k: None for k in M.ITEM_SPEC}
    base.update(namespace="default", state="present", where="name=x", prefix="")
    base.update(kw)
    return base


# ---------------------------------------------------------------- building and validation

def test_build_seed_dataset():
    body = M.KIND.build(item(**copy.deepcopy(SEED)))
    assert body["apiVersion"] == "data.fluid.io/v1alpha1" and body["kind"] == "Dataset"
    assert body["metadata"] == {"name": "cifar10", "namespace": "default"}
    assert body["spec"]["mounts"] == [
        {"mountPoint": "https://downloads.apache.org/hadoop/common/hadoop-3.2.1/", "name": "hadoop"},
        {"mountPoint": "https://downloads.apache.org/spark/spark-2.4.6/", "name": "spark"},
        {"mountPoint": "https://downloads.apache.org/hbase/2.2.5/", "name": "hbase"},
    ]
    assert body["spec"]["nodeAffinity"] == {"required": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": GPU, "operator": "In", "values": [V100]}]}]}}
    assert set(body["spec"]) == {"mounts", "nodeAffinity"}


def test_build_all_typed_fields_and_spec_merged_last():
    body = M.KIND.build(item(
        name="imagenet",
        mounts=[{"name": "in", "mount_point": "oss://b/in/", "path": "/data", "options": {"fs.oss.endpoint": "e", "n": 3, "b": True},
                 "encrypt_options": [{"name": "fs.oss.accessKeyId", "secret_name": "oss", "secret_key": "id"}],
                 "read_only": True, "shared": False}],
        node_selector={"zone": "a"},
        node_affinity={"nodeSelectorTerms": [{"matchExpressions": [{"key": "gpu", "operator": "Exists"}]},
                                             {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]},
        tolerations=[{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
        placement="Shared", access_modes=["ReadWriteMany"],
        owner={"uid": 1000, "gid": 1000, "user": "u", "group": "g"},
        labels={"team": "ml", "n": 1}, annotations={"note": "x"},
        spec={"sharedOptions": {"a": "b"}, "placement": "Exclusive"}))
    spec = body["spec"]
    m = spec["mounts"][0]
    assert m["options"] == {"fs.oss.endpoint": "e", "n": "3", "b": "true"}
    assert m["encryptOptions"] == [{"name": "fs.oss.accessKeyId", "valueFrom": {"secretKeyRef": {"name": "oss", "key": "id"}}}]
    assert m["readOnly"] is True and m["shared"] is False and m["path"] == "/data"
    terms = spec["nodeAffinity"]["required"]["nodeSelectorTerms"]
    # node_selector is ANDed into every term of node_affinity
    assert terms[0]["matchExpressions"] == [{"key": "gpu", "operator": "Exists"},
                                            {"key": "zone", "operator": "In", "values": ["a"]}]
    assert terms[1]["matchExpressions"] == [{"key": "zone", "operator": "In", "values": ["a"]}]
    assert terms[1]["matchFields"][0]["values"] == ["n1"]
    assert spec["tolerations"][0]["key"] == "gpu"
    assert spec["accessModes"] == ["ReadWriteMany"]
    assert spec["owner"] == {"uid": 1000, "gid": 1000, "user": "u", "group": "g"}
    assert spec["sharedOptions"] == {"a": "b"} and spec["placement"] == "Exclusive"  # spec wins
    assert body["metadata"]["labels"] == {"team": "ml", "n": "1"}


def test_validation_names_every_field_and_fix():
    errs = M.KIND.validate_item(item(
        name="Cifar_10", namespace="Bad NS",
        mounts=[{"name": "a", "mount_point": "ftp://x/y"}, {"name": "a", "mount_point": "https://x/", "path": "rel"},
                {"mount_point": "https://x/z"}],
        node_selector={"bad key!": "v"},
        node_affinity={"nodeSelectorTerms": []},
        tolerations=[{"key": "k", "operator": "Maybe"}],
        labels={"ok": "bad value!"}), {})
    text = "\n".join(errs)
    for needle in ["name: 'Cifar_10'", "namespace: 'Bad NS'", "mounts[0].mount_point: the scheme ftp://",
                   "mounts[1].name: 'a' is already the name of mounts[0]", "mounts[1].path: 'rel' must be an absolute",
                   "mounts[2].name: is required when a Dataset has several mounts",
                   "node_selector[bad key!]", "node_affinity.nodeSelectorTerms: must be a non-empty list",
                   "tolerations[0].operator", "labels[ok]"]:
        assert needle in text, needle


def test_validation_mounts_required_unless_in_spec_and_conflicts():
    assert any("a Dataset needs at least one mount" in e for e in M.KIND.validate_item(item(name="x", mounts=[]), {}))
    assert M.KIND.validate_item(item(name="x", spec={"mounts": [{"mountPoint": "https://x/"}]}), {}) == []
    errs = M.KIND.validate_item(item(name="x", mounts=[{"name": "a", "mount_point": "https://x/"}],
                                node_selector={"a": "b"}, spec={"nodeAffinity": {}}), {})
    assert any("spec.nodeAffinity: also set by node_selector" in e for e in errs)
    assert M.KIND.validate_item(item(name="x", state="absent"), {}) == []


def test_expand_datasets_list():
    params = {k: None for k in driver.argument_spec(M.KIND)}
    params.update(namespace="team", state="present", datasets=[
        {"name": "a", "mounts": [{"name": "a", "mount_point": "https://x/a/"}]},
        {"name": "b", "namespace": "other", "state": "absent"},
        {"mounts": "not a list"},
        "nope",
    ])
    items, errors = driver.expand_items(M.KIND, params)
    assert [i["namespace"] for i in items[:2]] == ["team", "other"]
    assert items[1]["state"] == "absent"
    assert any(e.startswith("datasets[2]: ") and "name" in e for e in errors)
    assert any(e.startswith("datasets[3]: must be a mapping") for e in errors)
    params["mounts"] = [{"mount_point": "https://x/"}]
    assert any(e.startswith("mounts: set it inside each item") for e in driver.expand_items(M.KIND, params)[1])


# ---------------------------------------------------------------- the module against the fake API server

def test_create_waits_for_bound_then_second_run_is_unchanged(run_module):
    c = FakeCluster()
    c.controller = bound_on_apply()
    r = run_module(M, dict(SEED), c)
    assert not r.failed, r.get("msg")
    assert r["changed"] is True
    d = r["datasets"][0]
    assert d["phase"] == "Bound" and d["changed"] is True and d["exists"] is True
    assert d["cache_states"]["cacheCapacity"] == "12.00GiB" and d["cache_capacity_bytes"] == 12 * 1024 ** 3
    assert d["ufs_total"] == "1.742GiB" and d["ufs_total_bytes"] == round(1.742 * 1024 ** 3)
    assert 0 <= d["wait_seconds"] < 5
    stored = c.objects[("Dataset", "default", "cifar10")]
    assert stored["metadata"]["finalizers"] == [DATASET_FINALIZER]
    assert stored["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["key"] == GPU

    before = len(writes(c))
    r2 = run_module(M, dict(SEED), c)
    assert not r2.failed and r2["changed"] is False and r2["datasets"][0]["changed"] is False
    assert len(writes(c)) == before  # only the dry run, nothing written
    assert r2["datasets"][0]["phase"] == "Bound"


def test_check_mode_writes_nothing_and_diff_shows_the_object(run_module):
    c = FakeCluster()
    r = run_module(M, dict(SEED), c, check=True, diff=True)
    assert not r.failed and r["changed"] is True
    assert c.objects == {} and writes(c) == []
    assert any(call[0] == "apply" and call[-1] is True for call in c.calls)  # the server-side dry run
    diff = r["diff"][0]
    assert diff["before"] == {} and diff["before_header"].endswith("(absent)")
    assert diff["after"]["spec"]["mounts"][2]["name"] == "hbase"


def test_update_changes_and_diff_shows_only_our_fields(run_module):
    c = FakeCluster()
    c.controller = bound_on_apply()
    run_module(M, dict(SEED), c)
    changed = copy.deepcopy(SEED)
    changed["mounts"][2]["mount_point"] = "https://downloads.apache.org/hbase/2.2.6/"
    changed["labels"] = {"team": "ml"}
    r = run_module(M, changed, c, diff=True)
    assert not r.failed and r["changed"] is True
    stored = c.objects[("Dataset", "default", "cifar10")]
    assert stored["spec"]["mounts"][2]["mountPoint"].endswith("2.2.6/")
    diff = r["diff"][0]
    assert diff["before"]["spec"]["mounts"][2]["mountPoint"].endswith("2.2.5/")
    assert diff["after"]["metadata"]["labels"] == {"team": "ml"}
    assert "status" not in diff["after"] and "finalizers" not in diff["after"]["metadata"]
    # dropping a label this collection set removes it (server-side apply ownership) and is a change
    r2 = run_module(M, dict(changed, labels=None), c)
    assert r2["changed"] is True and "labels" not in c.objects[("Dataset", "default", "cifar10")]["metadata"]


def test_labels_set_by_others_are_kept_and_cause_no_change(run_module):
    c = FakeCluster()
    run_module(M, dict(SEED, wait=False), c)
    o = copy.deepcopy(c.objects[("Dataset", "default", "cifar10")])
    o["metadata"]["labels"] = {"fluid.io/dataset-id": "default-cifar10"}
    c.put(o)
    r = run_module(M, dict(SEED, wait=False), c)
    assert r["changed"] is False
    assert c.objects[("Dataset", "default", "cifar10")]["metadata"]["labels"] == {"fluid.io/dataset-id": "default-cifar10"}


def test_timeout_fails_with_diagnosis(run_module):
    c = FakeCluster()
    c.controller = bound_on_apply(runtime_needed=True)
    c.put({"kind": "Node", "metadata": {"name": "cn-hongkong.172.31.136.196", "labels": {GPU: V100}}})
    c.put({"kind": "Node", "metadata": {"name": "cn-hongkong.172.31.136.194", "labels": {}}})
    r = run_module(M, dict(SEED, wait_timeout=1), c)
    assert r.failed
    msg = r["msg"]
    assert msg.startswith("Timed out after 1s waiting for 1 of 1 Datasets")
    assert "Dataset default/cifar10: phase NotBound" in msg
    assert "No runtime named cifar10 exists in namespace default" in msg
    assert "1 of 2 node(s) match the dataset's spec.nodeAffinity" in msg
    assert r["datasets"][0]["phase"] == "NotBound" and r["changed"] is True


def test_absent_waits_for_finalizers_then_is_unchanged(run_module):
    c = FakeCluster()
    c.controller = bound_on_apply()
    run_module(M, dict(SEED), c)
    assert c.objects[("Dataset", "default", "cifar10")]["metadata"]["finalizers"]
    r = run_module(M, {"name": "cifar10", "state": "absent"}, c)
    assert not r.failed and r["changed"] is True
    assert ("Dataset", "default", "cifar10") not in c.objects
    assert r["datasets"][0]["exists"] is False
    r2 = run_module(M, {"name": "cifar10", "state": "absent"}, c)
    assert r2["changed"] is False and not r2.failed


def test_absent_timeout_names_the_pod_using_the_pvc(run_module):
    c = FakeCluster()
    ds = obj("Dataset", "default", "cifar10", spec={"mounts": [{"mountPoint": "https://x/"}]}, status={"phase": "Bound"})
    ds["metadata"]["finalizers"] = [DATASET_FINALIZER]
    c.put(ds)  # no controller: the finalizer stays
    c.put(obj("Pod", "default", "nginx-0", spec={"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "cifar10"}}]},
              status={"phase": "Running"}))
    r = run_module(M, {"name": "cifar10", "state": "absent", "wait_timeout": 1}, c)
    assert r.failed
    assert "still exists (deletion requested" in r["msg"]
    assert "nginx-0 (Running)" in r["msg"]


def test_invalid_options_fail_before_any_call(run_module):
    c = FakeCluster()
    r = run_module(M, {"datasets": [
        {"name": "ok", "mounts": [{"name": "a", "mount_point": "https://x/a/"}]},
        {"name": "20-bad", "mounts": [{"name": "a", "mount_point": "gopher://x"}]},
        {"name": "ok", "mounts": [{"name": "a", "mount_point": "https://x/a/"}]},
    ], "wait_timeout": 0}, c)
    assert r.failed and r["msg"].startswith("Invalid options (nothing was changed)")
    assert any(e.startswith("datasets[1].name: '20-bad'") for e in r["errors"])
    assert any(e.startswith("datasets[1].mounts[0].mount_point") for e in r["errors"])
    assert any(e.startswith("datasets[2].name: Dataset default/ok is already datasets[0]") for e in r["errors"])
    assert any(e.startswith("wait_timeout: must be a positive") for e in r["errors"])
    assert c.calls == []


def test_fluid_not_installed(run_module):
    c = FakeCluster(fluid_installed=False)
    r = run_module(M, dict(SEED), c)
    assert r.failed
    assert "Install Fluid first with the role cloudnative.fluid.fluid" in r["msg"] and "CRDs are missing" in r["msg"]
    assert writes(c) == []


def test_many_datasets_in_one_call_are_awaited_together(run_module):
    c = FakeCluster()
    c.controller = bound_on_apply()
    names = ["d%02d" % i for i in range(12)]
    r = run_module(M, {"namespace": "bulk", "datasets": [
        {"name": n, "mounts": [{"name": n, "mount_point": "https://x/%s/" % n}]} for n in names]}, c)
    assert not r.failed, r.get("msg")
    assert [d["name"] for d in r["datasets"]] == names
    assert all(d["phase"] == "Bound" and d["namespace"] == "bulk" for d in r["datasets"])
    assert len([x for x in c.calls if x[0] == "list" and x[1] == "Dataset"]) == 1  # one list, one watch for all


def test_secret_looking_mount_options_are_masked(run_module, capsys):
    c = FakeCluster()
    options = {"fs.oss.accessKeySecret": "VERYSECRETVALUE", "fs.oss.endpoint": "e"}
    args = {"name": "oss", "mounts": [{"name": "o", "mount_point": "oss://b/p/", "options": options}], "wait": False}
    r = run_module(M, args, c, diff=True)
    assert not r.failed
    assert "VERYSECRETVALUE" not in repr(r)
    assert "use encrypt_options instead" in json.dumps(r.get("warnings"))
    assert c.objects[("Dataset", "default", "oss")]["spec"]["mounts"][0]["options"]["fs.oss.accessKeySecret"] == "VERYSECRETVALUE"


def test_check_mode_in_a_namespace_that_does_not_exist_yet(run_module):
    c = FakeCluster()
    r = run_module(M, dict(SEED, namespace="missing-ns"), c, check=True)
    assert not r.failed and r["changed"] is True
    assert "would-be created" in json.dumps(r.get("warnings"))


def test_missing_namespace_fails_with_the_fix(run_module):
    c = FakeCluster()
    r = run_module(M, dict(SEED, namespace="missing-ns", wait=False), c)
    assert r.failed and "namespace missing-ns does not exist; create it first" in r["msg"]


def test_timeout_of_many_explains_a_few_and_names_the_rest(run_module):
    c = FakeCluster()  # no controller: nothing ever binds
    names = ["t%02d" % i for i in range(8)]
    r = run_module(M, {"wait_timeout": 1, "datasets": [
        {"name": n, "mounts": [{"name": n, "mount_point": "https://x/%s/" % n}]} for n in names]}, c)
    assert r.failed
    assert r["msg"].startswith("Timed out after 1s waiting for 8 of 8 Datasets")
    assert r["msg"].count("No controller has reconciled Dataset") == 5
    assert "- and 3 more not there yet (same checks apply): default/t05, default/t06, default/t07" in r["msg"]
