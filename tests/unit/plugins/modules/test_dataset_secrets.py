"""cloudnative.fluid.dataset's `secrets` option against the in-memory API server, with Secrets."""
import base64
import copy
import json

from ansible_collections.cloudnative.fluid.plugins.module_utils import secrets as S
from ansible_collections.cloudnative.fluid.plugins.modules import dataset as M

from fakes import FakeCluster

VALUE = "S3cr3t-unit-0f9d3c"
OTHER = "An0ther-unit-77aa"


class SecretCluster(FakeCluster):
    """FakeCluster that stores Secrets with server-side apply semantics for `data` keys."""

    def __init__(self, **kw):
        FakeCluster.__init__(self, **kw)
        self.secret_keys = {}  # key -> data keys this manager applied

    def apply(self, body, dry_run=False):
        if body["kind"] != "Secret":
            return FakeCluster.apply(self, body, dry_run)
        self.calls.append(("apply", "Secret", body["metadata"]["namespace"], body["metadata"]["name"], dry_run))
        key = ("Secret", body["metadata"]["namespace"], body["metadata"]["name"])
        existing = copy.deepcopy(self.objects.get(key))
        new = existing or {"apiVersion": "v1", "kind": "Secret", "type": body["type"],
                           "metadata": {"name": key[2], "namespace": key[1]}}
        data = dict((k, v) for k, v in (new.get("data") or {}).items() if k not in self.secret_keys.get(key, set()))
        data.update(body["data"])
        new["data"] = data
        new["metadata"]["labels"] = dict(new["metadata"].get("labels") or {}, **body["metadata"]["labels"])
        new["metadata"]["managedFields"] = [{"manager": "cloudnative.fluid", "operation": "Apply",
                                             "fieldsV1": {"f:data": dict(("f:" + k, {}) for k in body["data"])}}]
        if dry_run:
            return new
        self.secret_keys[key] = set(body["data"])
        return copy.deepcopy(self.put(new))


def b64(v):
    return base64.b64encode(v.encode()).decode()


def ds(**kw):
    args = {"name": "oss-data", "namespace": "default", "wait": False,
            "secrets": [{"name": "oss-cred", "string_data": {"secret": VALUE, "id": "AKID"}}],
            "mounts": [{"name": "d", "mount_point": "oss://bucket/d/",
                        "encrypt_options": [{"name": "fs.oss.accessKeySecret", "secret_name": "oss-cred",
                                             "secret_key": "secret"},
                                            {"name": "fs.oss.accessKeyId", "secret_name": "oss-cred",
                                             "secret_key": "id"}]}]}
    args.update(kw)
    return args


def secret(cluster, name="oss-cred"):
    return cluster.objects.get(("Secret", "default", name))


def writes(cluster):
    return [c for c in cluster.calls if c[0] in ("apply", "delete") and not c[-1]]


def test_creates_secret_before_dataset_and_never_returns_value(run_module):
    cluster = SecretCluster()
    res = run_module(M, ds(), cluster, diff=True)
    assert not res.failed, res
    order = [c[1] for c in writes(cluster)]
    assert order == ["Secret", "Dataset"]
    assert secret(cluster)["data"] == {"secret": b64(VALUE), "id": b64("AKID")}
    assert secret(cluster)["metadata"]["labels"][S.MANAGED_LABEL] == S.MANAGED_VALUE
    assert res["datasets"][0]["secrets"] == [{"name": "oss-cred", "namespace": "default", "changed": True,
                                              "action": "create", "keys": ["id", "secret"]}]
    text = json.dumps(res)
    assert VALUE not in text and b64(VALUE) not in text
    sdiff = res["diff"][0]
    assert sdiff["after"]["data"] == {"id": S.MASK + " (new)", "secret": S.MASK + " (new)"}


def test_idempotent_then_changed_value_is_masked(run_module):
    cluster = SecretCluster()
    assert run_module(M, ds(), cluster)["changed"]
    again = run_module(M, ds(), cluster, diff=True)
    assert not again["changed"] and again["datasets"][0]["secrets"][0]["action"] == "none"
    assert [c for c in writes(cluster) if c[1] == "Secret"] == [("apply", "Secret", "default", "oss-cred", False)]
    args = ds(secrets=[{"name": "oss-cred", "string_data": {"secret": OTHER, "id": "AKID"}}])
    changed = run_module(M, args, cluster, diff=True)
    assert changed["changed"] and changed["datasets"][0]["secrets"][0]["action"] == "update"
    assert changed["diff"][0]["after"]["data"] == {"id": S.MASK, "secret": S.MASK + " (changed)"}
    assert changed["diff"][0]["before"]["data"] == {"id": S.MASK, "secret": S.MASK}
    text = json.dumps(changed)
    assert OTHER not in text and VALUE not in text
    assert base64.b64decode(secret(cluster)["data"]["secret"]).decode() == OTHER


def test_check_mode_writes_nothing(run_module):
    cluster = SecretCluster()
    res = run_module(M, ds(), cluster, check=True, diff=True)
    assert res["changed"] and writes(cluster) == [] and secret(cluster) is None
    assert VALUE not in json.dumps(res)


def test_dropped_key_counts_as_change_and_foreign_keys_stay(run_module):
    cluster = SecretCluster()
    run_module(M, ds(), cluster)
    cluster.objects[("Secret", "default", "oss-cred")]["data"]["added-by-kubectl"] = b64("x")
    args = ds(secrets=[{"name": "oss-cred", "string_data": {"secret": VALUE}}],
              mounts=[{"name": "d", "mount_point": "oss://bucket/d/",
                       "encrypt_options": [{"name": "k", "secret_name": "oss-cred", "secret_key": "secret"}]}])
    res = run_module(M, args, cluster, diff=True)
    assert res["changed"]
    assert set(secret(cluster)["data"]) == {"secret", "added-by-kubectl"}
    assert "id" not in res["diff"][0]["after"]["data"]


def test_encrypt_options_secret_must_be_declared_or_exist(run_module):
    cluster = SecretCluster()
    res = run_module(M, ds(secrets=None), cluster)
    assert res.failed and writes(cluster) == []
    assert "mounts[0].encrypt_options[0].secret_name: Secret oss-cred does not exist in namespace default" in res["msg"]
    assert "secrets" in res["msg"]
    cluster.put({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "oss-cred", "namespace": "default"},
                 "data": {"secret": b64("v")}})
    res = run_module(M, ds(secrets=None), cluster)
    assert res.failed and "encrypt_options[1].secret_key: Secret default/oss-cred has no key 'id'" in res["msg"]


def test_declared_secret_must_hold_the_key(run_module):
    cluster = SecretCluster()
    res = run_module(M, ds(secrets=[{"name": "oss-cred", "string_data": {"secret": VALUE}}]), cluster)
    assert res.failed and writes(cluster) == []
    assert "encrypt_options[1].secret_key: 'id' is not a key of Secret oss-cred declared in secrets" in res["msg"]
    assert VALUE not in json.dumps(res)


def test_invalid_entries_name_the_field_without_the_value(run_module):
    cluster = SecretCluster()
    bad = ds(secrets=[{"name": "Bad_Name", "string_data": {"bad key": VALUE}},
                      {"name": "oss-cred", "string_data": {"secret": VALUE, "id": "x"}},
                      {"name": "oss-cred", "string_data": {"secret": VALUE, "id": "x"}}])
    res = run_module(M, bad, cluster)
    assert res.failed and writes(cluster) == []
    assert "secrets[0].name" in res["msg"] and "secrets[0].string_data: key 'bad key'" in res["msg"]
    assert "secrets[2].name: Secret 'oss-cred' is already declared in secrets[1]" in res["msg"]
    assert VALUE not in json.dumps(res)


def test_type_cannot_change(run_module):
    cluster = SecretCluster()
    cluster.put({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/basic-auth",
                 "metadata": {"name": "oss-cred", "namespace": "default"}, "data": {}})
    res = run_module(M, ds(), cluster)
    assert res.failed and "secrets[0].type" in res["msg"] and "cannot change a Secret's type" in res["msg"]
    assert writes(cluster) == []


def test_values_are_no_log_in_datasets_items(run_module):
    cluster = SecretCluster()
    one = ds()
    args = {"namespace": "default", "wait": False,
            "datasets": [{k: v for k, v in one.items() if k not in ("wait", "namespace")}]}
    res = run_module(M, args, cluster, diff=True)
    assert not res.failed, res
    assert VALUE not in json.dumps(res)
    assert res["datasets"][0]["secrets"][0]["action"] == "create"


def test_absent_deletes_only_secrets_it_created(run_module):
    cluster = SecretCluster()
    run_module(M, ds(), cluster)
    cluster.put({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "foreign", "namespace": "default"},
                 "data": {"k": b64("v")}})
    res = run_module(M, {"name": "oss-data", "namespace": "default", "state": "absent", "wait": False,
                         "secrets": [{"name": "oss-cred"}, {"name": "foreign"}]}, cluster)
    assert not res.failed, res
    assert secret(cluster) is None and secret(cluster, "foreign") is not None
    actions = dict((s["name"], s["action"]) for s in res["datasets"][0]["secrets"])
    assert actions == {"oss-cred": "delete", "foreign": "none"}
    assert writes(cluster)[-1] == ("delete", "Secret", "default", "oss-cred", False)


def test_masked_diff_and_owned_keys_helpers():
    plan = S.SecretPlan("ns", {"name": "s", "string_data": {"a": "1", "b": True}}, "secrets[0]")
    assert base64.b64decode(plan.body["data"]["b"]).decode() == "true"
    existing = {"type": "Opaque", "data": {"a": b64("1"), "c": b64("x")},
                "metadata": {"labels": {S.MANAGED_LABEL: S.MANAGED_VALUE},
                             "managedFields": [{"manager": "cloudnative.fluid", "operation": "Apply",
                                                "fieldsV1": {"f:data": {"f:a": {}, "f:c": {}}}},
                                               {"manager": "kubectl", "operation": "Update",
                                                "fieldsV1": {"f:data": {"f:z": {}}}}]}}
    assert S.owned_keys(existing) == {"a", "c"}
    plan.compare(existing)
    assert plan.changed_keys == ["b"] and plan.removed_keys == ["c"]
    d = plan.diff()
    assert d["after"]["data"] == {"a": S.MASK, "b": S.MASK + " (new)"}
    assert S.values([{"name": "s", "string_data": {"a": "1", "b": True, "e": ""}}]) == ["1", "true"]


# ---------------------------------------------------------------- shared_options, shared_encrypt_options

SHARED = [{"name": "fs.oss.accessKeySecret", "secret_name": "oss-cred", "secret_key": "secret"},
          {"name": "fs.oss.accessKeyId", "secret_name": "oss-cred", "secret_key": "id"}]


def shared(**kw):
    """Two mounts that take their endpoint and credentials from the Dataset-wide options."""
    return ds(mounts=[{"name": "train", "mount_point": "oss://bucket/train/"},
                      {"name": "val", "mount_point": "oss://bucket/val/", "options": {"fs.oss.endpoint": "own"}}],
              shared_options={"fs.oss.endpoint": "oss-cn-hongkong-internal.aliyuncs.com", "retries": 3},
              shared_encrypt_options=copy.deepcopy(SHARED), **kw)


def test_shared_options_are_built_and_their_secret_is_created_first(run_module):
    cluster = SecretCluster()
    res = run_module(M, shared(), cluster, diff=True)
    assert not res.failed, res
    assert [c[1] for c in writes(cluster)] == ["Secret", "Dataset"]
    spec = cluster.objects[("Dataset", "default", "oss-data")]["spec"]
    assert spec["sharedOptions"] == {"fs.oss.endpoint": "oss-cn-hongkong-internal.aliyuncs.com", "retries": "3"}
    assert spec["sharedEncryptOptions"] == [
        {"name": "fs.oss.accessKeySecret", "valueFrom": {"secretKeyRef": {"name": "oss-cred", "key": "secret"}}},
        {"name": "fs.oss.accessKeyId", "valueFrom": {"secretKeyRef": {"name": "oss-cred", "key": "id"}}}]
    assert "encryptOptions" not in spec["mounts"][0] and spec["mounts"][1]["options"] == {"fs.oss.endpoint": "own"}
    assert res["datasets"][0]["secrets"][0]["action"] == "create"
    text = json.dumps(res)
    assert VALUE not in text and b64(VALUE) not in text
    assert run_module(M, shared(), cluster)["changed"] is False


def test_shared_encrypt_options_secret_must_be_declared_or_exist(run_module):
    """The same checks as mounts[].encrypt_options, through the same code (secrets.references)."""
    cluster = SecretCluster()
    res = run_module(M, shared(secrets=None), cluster)
    assert res.failed and writes(cluster) == []
    assert ("shared_encrypt_options[0].secret_name: Secret oss-cred does not exist in namespace default; declare it "
            "in secrets") in res["msg"]
    assert "shared_encrypt_options[1].secret_name: Secret oss-cred does not exist" in res["msg"]
    cluster.put({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "oss-cred", "namespace": "default"},
                 "data": {"secret": b64("v")}})
    res = run_module(M, shared(secrets=None), cluster)
    assert res.failed and writes(cluster) == []
    assert "shared_encrypt_options[1].secret_key: Secret default/oss-cred has no key 'id' (keys: secret)" in res["msg"]
    assert "shared_encrypt_options[0]" not in res["msg"]
    cluster.objects[("Secret", "default", "oss-cred")]["data"]["id"] = b64("x")
    res = run_module(M, shared(secrets=None), cluster)
    assert not res.failed, res
    assert res["datasets"][0]["secrets"] == []


def test_shared_encrypt_options_key_must_be_in_the_declared_secret(run_module):
    cluster = SecretCluster()
    res = run_module(M, shared(secrets=[{"name": "oss-cred", "string_data": {"secret": VALUE}}]), cluster)
    assert res.failed and writes(cluster) == []
    assert ("shared_encrypt_options[1].secret_key: 'id' is not a key of Secret oss-cred declared in secrets "
            "(keys: secret)") in res["msg"]
    assert VALUE not in json.dumps(res)


def test_shared_encrypt_options_in_datasets_items_name_the_item(run_module):
    cluster = SecretCluster()
    one = {k: v for k, v in shared(secrets=None).items() if k not in ("wait", "namespace")}
    res = run_module(M, {"namespace": "default", "wait": False, "datasets": [one]}, cluster)
    assert res.failed and writes(cluster) == []
    assert "datasets[0].shared_encrypt_options[0].secret_name: Secret oss-cred does not exist" in res["msg"]
    assert "declare it in datasets[0].secrets" in res["msg"]


def test_shared_encrypt_options_invalid_secret_name_and_spec_conflict():
    item = {k: None for k in M.ITEM_SPEC}
    item.update(name="x", namespace="default", state="present", where="name=x", prefix="",
                mounts=[{"name": "a", "mount_point": "oss://b/a/"}],
                shared_options={"k": "v"},
                shared_encrypt_options=[{"name": "k2", "secret_name": "Bad_Name", "secret_key": "s"}],
                spec={"sharedOptions": {"k": "w"}, "sharedEncryptOptions": []})
    text = "\n".join(M.KIND.validate_item(item, {}))
    assert "shared_encrypt_options[0].secret_name: 'Bad_Name'" in text
    assert "spec.sharedOptions: also set by shared_options; set it in one place only" in text
    assert "spec.sharedEncryptOptions: also set by shared_encrypt_options" in text


def test_secret_looking_shared_options_are_masked_and_warned_about(run_module):
    cluster = SecretCluster()
    args = ds(secrets=None, mounts=[{"name": "d", "mount_point": "oss://bucket/d/"}],
              shared_options={"fs.oss.accessKeySecret": OTHER, "fs.oss.endpoint": "e",
                              "fs.gcs.credential.path": "/etc/creds.json"})
    res = run_module(M, args, cluster, diff=True)
    assert not res.failed, res
    assert OTHER not in json.dumps(res)
    assert "/etc/creds.json" in json.dumps(res)  # a location, not a secret
    assert "shared_encrypt_options for shared_options" in json.dumps(res.get("warnings"))
    assert cluster.objects[("Dataset", "default", "oss-data")]["spec"]["sharedOptions"]["fs.oss.accessKeySecret"] == OTHER


def test_references_walks_mounts_then_shared():
    item = {"prefix": "datasets[1].", "mounts": [{"encrypt_options": [{"secret_name": "a"}]}, {}],
            "shared_encrypt_options": [{"secret_name": "b"}]}
    assert [(f, o["secret_name"]) for f, o in S.references(item)] == [
        ("datasets[1].mounts[0].encrypt_options[0]", "a"), ("datasets[1].shared_encrypt_options[0]", "b")]
    assert list(S.references({"prefix": "", "mounts": None, "shared_encrypt_options": None})) == []
