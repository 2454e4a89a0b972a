"""cloudnative.fluid.datamigrate against the in-memory API server (tests/unit/fakes.py), with a
controller doing what Fluid v1.0.8's DataMigrate controller does: hold the Dataset (operationRef and
phase DataMigrating, pkg/ddc/base/operation_lock.go, datamigrate/implement.go:142-148), copy the Job's
condition (datamigrate/status_handler.go:60-116), and release the Dataset back to Bound one reconcile
after the one that wrote Complete (pkg/ddc/base/operation.go:179-210)."""
import copy
import threading

import pytest

from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.modules import datamigrate as M

from fakes import obj
from test_dataload import COMPLETE_COND, FAILED_COND, LabelCluster

FINALIZER = "fluid-datamigrate-controller-finalizer"
S3 = "s3://backup.s3.us-east-1.amazonaws.com/jfs/"
CREDS = [{"name": "access-key", "secret_name": "s3", "secret_key": "ak"},
         {"name": "secret-key", "secret_name": "s3", "secret_key": "sk"}]
OUT = {"name": "out", "from": {"dataset": "jfsdemo", "path": "/hbase/"}, "to": {"uri": S3, "encrypt_options": CREDS},
       "wait_timeout": 10}


def juicefs_dataset(name="jfsdemo", runtime_type="juicefs", ns="default"):
    status = {"phase": "Bound"}
    if runtime_type:
        status["runtimes"] = [{"name": name, "namespace": ns, "type": runtime_type, "category": "Accelerate"}]
    return obj("Dataset", ns, name, spec={"mounts": [{"name": "minio", "mountPoint": "juicefs:///"}]}, status=status)


def secret(name="s3", keys=("ak", "sk"), ns="default"):
    return obj("Secret", ns, name, data=dict((k, "c2VjcmV0") for k in keys))


def fluid_datamigrate(outcome="Complete", release_delay=0.3):
    def release(cluster, ns, dataset):
        ds = copy.deepcopy(cluster.objects[("Dataset", ns, dataset)])
        ds["status"]["phase"] = "Bound"
        ds["status"].pop("operationRef", None)
        cluster.put(ds)

    def controller(cluster, o):
        if o["kind"] != "DataMigrate":
            return
        ns, name = o["metadata"]["namespace"], o["metadata"]["name"]
        if o["metadata"].get("deletionTimestamp"):
            cluster.remove("DataMigrate", ns, name)
            return
        if o.get("status", {}).get("phase"):
            return
        dataset = fluid.operation_dataset(o)
        ds = copy.deepcopy(cluster.objects[("Dataset", ns, dataset)])
        ds["status"].update(phase="DataMigrating", operationRef={"DataMigrate": name})
        cluster.put(ds)
        o2 = copy.deepcopy(cluster.objects[("DataMigrate", ns, name)])
        o2["metadata"]["finalizers"] = [FINALIZER]
        if outcome == "Failed":
            term = {"exitCode": 1, "reason": "Error", "message": "<FATAL>: bucket backup does not exist"}
            p = obj("Pod", ns, name + "-migrate-migrate-x1x2x", status={"phase": "Failed", "containerStatuses": [
                {"name": "datamigrate", "state": {"terminated": term}}]})
            p["metadata"]["labels"] = {"job-name": name + "-migrate-migrate"}
            cluster.put(p)
        cond = COMPLETE_COND if outcome == "Complete" else FAILED_COND
        o2["status"] = {"phase": outcome, "duration": "9s", "conditions": [cond]}
        cluster.put(o2)
        threading.Timer(release_delay, release, (cluster, ns, dataset)).start()
    return controller


@pytest.fixture
def cluster():
    c = LabelCluster()
    c.put(juicefs_dataset())
    c.put(secret())
    c.controller = fluid_datamigrate()
    return c


def params(**kw):
    base = {k: None for k in driver.argument_spec(M.KIND)}
    base.update(namespace="default", state="present", wait=True, wait_timeout=300)
    base.update(kw)
    return base


def test_build_out_of_a_dataset_to_s3_with_secret_references():
    body = M.KIND.build(params(**dict(OUT, options={"threads": 50, "update": "", "timeout": "2h"}, block=True,
                                      runtime_type="juicefs", image="juicedata/juicefs-fuse", image_tag="ce-v1.1.0",
                                      image_pull_policy="IfNotPresent")))
    assert body["kind"] == "DataMigrate" and body["metadata"] == {"name": "out", "namespace": "default"}
    assert body["spec"] == {
        "from": {"dataset": {"name": "jfsdemo", "namespace": "default", "path": "/hbase/"}},
        "to": {"externalStorage": {"uri": S3, "encryptOptions": [
            {"name": "access-key", "valueFrom": {"secretKeyRef": {"name": "s3", "key": "ak"}}},
            {"name": "secret-key", "valueFrom": {"secretKeyRef": {"name": "s3", "key": "sk"}}}]}},
        "options": {"threads": "50", "update": "", "timeout": "2h"},
        "block": True, "runtimeType": "juicefs", "image": "juicedata/juicefs-fuse", "imageTag": "ce-v1.1.0",
        "imagePullPolicy": "IfNotPresent",
    }


def test_build_into_a_dataset_in_parallel():
    body = M.KIND.build(params(name="in", **{"from": {"uri": "pvc://archive/2024/"}, "to": {"dataset": "jfsdemo"}},
                               parallelism=3, parallel_options={"ssh_secret_name": "ssh", "ssh_port": 2222,
                                                                "ssh_ready_timeout_seconds": None}))
    assert body["spec"] == {"from": {"externalStorage": {"uri": "pvc://archive/2024/"}},
                            "to": {"dataset": {"name": "jfsdemo", "namespace": "default"}},
                            "parallelism": 3, "parallelOptions": {"sshSecretName": "ssh", "sshPort": "2222"}}


def test_build_with_the_options_every_operation_shares():
    body = M.KIND.build(params(**dict(OUT, run_after={"kind": "DataProcess", "name": "unpack", "namespace": None},
                                      ttl_seconds_after_finished=600, node_selector={"disk": "ssd"},
                                      pod_labels={"team": "ml"}, resources={"limits": {"cpu": "2"}})))
    spec = body["spec"]
    assert spec["runAfter"] == {"kind": "DataProcess", "name": "unpack", "namespace": "default"}
    assert spec["ttlSecondsAfterFinished"] == 600 and spec["nodeSelector"] == {"disk": "ssd"}
    assert spec["podMetadata"] == {"labels": {"team": "ml"}} and spec["resources"] == {"limits": {"cpu": "2"}}
    cron = M.KIND.build(params(**dict(OUT, policy="Cron", schedule="0 3 * * 0")))["spec"]
    assert (cron["policy"], cron["schedule"]) == ("Cron", "0 3 * * 0")


@pytest.mark.parametrize("sides,side", [
    ({"from": {"dataset": "a"}, "to": {"uri": S3}}, "from"),
    ({"from": {"uri": S3}, "to": {"dataset": "a", "path": "/x"}}, "to"),
    ({"from": {"uri": S3}, "to": {"uri": S3}}, None),
    ({"from": {"dataset": "a"}, "to": {"dataset": "b"}}, None),
])
def test_the_dataset_side_is_the_target(sides, side):
    assert M.migrate.dataset_side(sides) == side
    if side:
        assert M.KIND.dataset_of(sides) == sides[side]["dataset"]
        # the Dataset Fluid resolves from the object we write (pkg/utils/datamigrate.go:61-68)
        assert fluid.operation_dataset(M.KIND.build(params(name="m", **sides))) == sides[side]["dataset"]


@pytest.mark.parametrize("kw,field", [
    ({"from": None}, "from"),
    ({"from": {"uri": S3}, "to": {"uri": S3}}, "from, to"),
    ({"from": {"dataset": "jfsdemo"}, "to": {"dataset": "other"}}, "from, to"),
    ({"to": {"uri": S3, "dataset": "x"}}, "to"),
    ({"to": {}}, "to"),
    ({"from": {"dataset": "jfsdemo", "path": "hbase"}}, "from.path"),
    ({"from": {"dataset": "Bad_Name"}}, "from.dataset"),
    ({"from": {"dataset": "jfsdemo", "encrypt_options": CREDS}}, "from.encrypt_options"),
    ({"to": {"uri": S3, "path": "/x"}}, "to.path"),
    ({"to": {"uri": "backup-bucket/jfs"}}, "to.uri"),
    ({"to": {"uri": "s3://AKIAEXAMPLE:wJalrXUtnFEMI@backup/jfs/"}}, "to.uri"),
    ({"to": {"uri": "local:///mnt/backup"}}, "to.uri"),
    ({"to": {"uri": "pvc://archive/x", "encrypt_options": CREDS}}, "to.encrypt_options"),
    ({"to": {"uri": S3, "encrypt_options": [dict(CREDS[0], name="OPTION")]}}, "to.encrypt_options[0].name"),
    ({"to": {"uri": S3, "encrypt_options": [dict(CREDS[0], name="1bad name")]}}, "to.encrypt_options[0].name"),
    ({"to": {"uri": S3, "encrypt_options": [CREDS[0], CREDS[0]]}}, "to.encrypt_options[1].name"),
    ({"options": {"--threads": 10}}, "options.--threads"),
    ({"options": {"exclude": "a b"}}, "options.exclude"),
    ({"options": {"timeout": "soon"}}, "options.timeout"),
    ({"parallelism": 0}, "parallelism"),
    ({"parallelism": 2}, "parallel_options.ssh_secret_name"),
    ({"parallel_options": {"ssh_secret_name": "ssh", "ssh_port": None, "ssh_ready_timeout_seconds": None}},
     "parallel_options"),
    ({"parallelism": 2, "parallel_options": {"ssh_secret_name": "ssh", "ssh_port": 70000,
                                             "ssh_ready_timeout_seconds": None}}, "parallel_options.ssh_port"),
    ({"name": "x" * 46}, "name"),
    ({"name": "x" * 37, "policy": "Cron", "schedule": "@daily"}, "name"),
    ({"policy": "OnEvent"}, "policy"),
    ({"policy": "Cron"}, "schedule"),
    ({"run_after": {"kind": "DataMigrate", "name": "out", "namespace": None}}, "run_after"),
    ({"ttl_seconds_after_finished": -1}, "ttl_seconds_after_finished"),
    ({"node_selector": {"bad key!": "x"}}, "node_selector[bad key!]"),
    ({"spec": {"to": {}}}, "spec.to"),
])
def test_validation_names_the_field(kw, field):
    p = params(**dict(OUT, **kw))
    errors = M.KIND.validate_item(p, p)
    assert any(e.split(":", 1)[0] == field for e in errors), errors


def test_credentials_in_a_uri_are_refused_and_never_shown(run_module, cluster):
    r = run_module(M, dict(OUT, to={"uri": "s3://AKIAEXAMPLE:wJalrXUtnFEMI@backup/jfs/"}), cluster)
    assert r.failed and "to.uri: holds credentials" in r["msg"], r
    assert "wJalrXUtnFEMI" not in str(r)
    assert ("DataMigrate", "default", "out") not in cluster.objects


def test_options_that_look_like_credentials_are_masked(run_module, cluster):
    r = run_module(M, dict(OUT, options={"secret-key": "wJalrXUtnFEMI"}), cluster)
    assert not r.failed, r
    assert "wJalrXUtnFEMI" not in str(r) and "options look like they hold credentials" in str(r["warnings"])


def test_migrate_waits_until_complete_and_the_dataset_is_released(run_module, cluster):
    r = run_module(M, OUT, cluster)
    assert not r.failed, r
    assert r["changed"] and r["phase"] == "Complete" and r["duration_seconds"] == 9.0
    assert r["dataset"] == "jfsdemo" and r["from"] == "Dataset default/jfsdemo:/hbase/" and r["to"] == S3
    # Fluid's Complete came first; the task returned once the Dataset was Bound again
    ds = cluster.objects[("Dataset", "default", "jfsdemo")]
    assert ds["status"]["phase"] == "Bound" and "operationRef" not in ds["status"]
    again = run_module(M, OUT, cluster)
    assert not again.failed and again["changed"] is False and again["phase"] == "Complete"


def test_failed_migrate_fails_with_the_jobs_and_containers_reason(run_module, cluster):
    cluster.controller = fluid_datamigrate("Failed")
    r = run_module(M, OUT, cluster)
    assert r.failed
    msg = r["msg"]
    assert msg.startswith("DataMigrate default/out Failed after 9s: BackoffLimitExceeded"), msg
    assert "datamigrate exited 1 (Error): <FATAL>: bucket backup does not exist" in msg, msg


def test_changed_spec_replaces_a_finished_migrate(run_module, cluster):
    assert not run_module(M, OUT, cluster).failed
    r = run_module(M, dict(OUT, options={"threads": 20}), cluster)
    assert not r.failed and r["replaced"] and r["changed"], r
    assert cluster.objects[("DataMigrate", "default", "out")]["spec"]["options"] == {"threads": "20"}


@pytest.mark.parametrize("dataset,kind", [
    (juicefs_dataset(runtime_type="alluxio"), "AlluxioRuntime"),
    (juicefs_dataset(runtime_type="thin"), "ThinRuntime"),
])
def test_a_dataset_of_another_runtime_is_refused_before_writing(run_module, cluster, dataset, kind):
    cluster.put(dataset)
    r = run_module(M, OUT, cluster)
    assert r.failed, r
    assert "from.dataset: Dataset default/jfsdemo is served by runtime kind %s; Fluid 1.0.8 runs a DataMigrate " \
        "only" % kind in r["msg"], r["msg"]
    assert ("DataMigrate", "default", "out") not in cluster.objects


def test_an_unbound_dataset_is_refused_unless_a_juicefs_runtime_of_its_name_exists(run_module, cluster):
    cluster.put(juicefs_dataset(runtime_type=None))
    r = run_module(M, OUT, cluster)
    assert r.failed and "is not bound to a runtime and no runtime of its name exists" in r["msg"], r
    cluster.put(obj("AlluxioRuntime", "default", "jfsdemo"))
    r = run_module(M, OUT, cluster)
    assert r.failed and "is served by runtime kind AlluxioRuntime" in r["msg"], r
    cluster.remove("AlluxioRuntime", "default", "jfsdemo")
    cluster.put(obj("JuiceFSRuntime", "default", "jfsdemo"))
    cluster.controller = None
    r = run_module(M, dict(OUT, wait=False), cluster)
    assert not r.failed and r["changed"], r


def test_runtime_type_must_be_the_datasets(run_module, cluster):
    r = run_module(M, dict(OUT, runtime_type="alluxio"), cluster)
    assert r.failed and "runtime_type: 'alluxio' is not the type of the runtime serving Dataset default/jfsdemo " \
        "(juicefs)" in r["msg"], r


def test_missing_dataset_secret_key_and_claim_fail_before_writing(run_module, cluster):
    r = run_module(M, dict(OUT, **{"from": {"dataset": "nope"}}), cluster)
    assert r.failed and "Dataset default/nope does not exist" in r["msg"]
    creds = [CREDS[0], dict(CREDS[1], secret_key="secret"), dict(CREDS[1], name="token", secret_name="gone")]
    r = run_module(M, dict(OUT, to={"uri": S3, "encrypt_options": creds}), cluster)
    assert r.failed, r
    assert "to.encrypt_options[1]: Secret default/s3 has no key 'secret' (keys: ak, sk)" in r["msg"], r["msg"]
    assert "to.encrypt_options[2]: Secret default/gone does not exist" in r["msg"], r["msg"]
    assert "c2VjcmV0" not in str(r)
    r = run_module(M, dict(OUT, to={"uri": "pvc://archive/jfs/"}), cluster)
    assert r.failed and "to.uri: PersistentVolumeClaim default/archive does not exist" in r["msg"], r
    r = run_module(M, dict(OUT, parallelism=2, parallel_options={"ssh_secret_name": "s3"}), cluster)
    assert r.failed and "parallel_options.ssh_secret_name: Secret default/s3 has no key 'ssh-privatekey'" in r["msg"]
    assert ("DataMigrate", "default", "out") not in cluster.objects


def test_check_mode_writes_nothing(run_module, cluster):
    r = run_module(M, OUT, cluster, check=True, diff=True)
    assert not r.failed and r["changed"] and r["diff"]["after"]["spec"]["to"]["externalStorage"]["uri"] == S3
    assert ("DataMigrate", "default", "out") not in cluster.objects


def test_check_mode_warns_of_what_an_earlier_task_may_create(run_module, cluster):
    creds = [dict(CREDS[0], secret_name="later")]
    r = run_module(M, dict(OUT, to={"uri": S3, "encrypt_options": creds}), cluster, check=True)
    assert not r.failed and r["changed"], r
    assert "to.encrypt_options[0]: Secret default/later does not exist" in str(r["warnings"])
    assert r["exists"] and ("DataMigrate", "default", "out") not in cluster.objects


def test_delete(run_module, cluster):
    assert not run_module(M, OUT, cluster).failed
    r = run_module(M, {"name": "out", "state": "absent", "wait_timeout": 10}, cluster)
    assert not r.failed and r["changed"] and not r["exists"], r
    assert ("DataMigrate", "default", "out") not in cluster.objects
