"""cloudnative.fluid.databackup against the in-memory API server (tests/unit/fakes.py).

The stand-in controller writes the status Fluid's DataBackup status handler is written to produce
(pkg/controllers/v1alpha1/databackup/status_handler.go:66-90, infos from implement.go:65-83). Fluid 1.0.0 to 1.0.8
never get there (their dataset-controller crashes first, /work/notes/databackup-evidence.md): these tests show
what the module does with a Fluid that has the fix, and that it refuses to create a DataBackup otherwise."""
import copy

import pytest

from ansible_collections.cloudnative.fluid.plugins.module_utils import backup
from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import observe
from ansible_collections.cloudnative.fluid.plugins.modules import databackup as M

from fakes import obj
from test_dataload import LabelCluster

FINALIZER = "fluid-databackup-controller-finalizer"
PATH = "local:///var/lib/fluid-backups"
BASE = {"name": "spark-backup", "dataset": "spark", "backup_path": PATH, "wait_timeout": 10}
OPTED_IN = dict(BASE, allow_controller_crash=True)
COMPLETE = {"type": "Complete", "status": "True", "reason": "BackupSuccessful",
            "message": "Backup Pod exec successfully and finish"}
FAILED = {"type": "Failed", "status": "True", "reason": "BackupFailed", "message": "Backup Pod exec failed and exit"}


def dataset(runtime_type="alluxio", name="spark"):
    status = {"phase": "Bound" if runtime_type else "NotBound"}
    if runtime_type:
        status["runtimes"] = [{"category": "Accelerate", "name": name, "namespace": "default", "type": runtime_type}]
    return obj("Dataset", "default", name, spec={"mounts": [{"name": "m", "mountPoint": "https://x/m/"}]},
               status=status)


def fluid_databackup(outcome="Complete"):
    """Finalizer, then the outcome from the backup Pod <name>-pod on the master's node (None: stays Executing)."""
    def controller(cluster, o):
        if o["kind"] != "DataBackup":
            return
        ns, name = o["metadata"]["namespace"], o["metadata"]["name"]
        if o["metadata"].get("deletionTimestamp"):
            cluster.remove("DataBackup", ns, name)
            return
        if o.get("status", {}).get("phase"):
            return
        o2 = copy.deepcopy(cluster.objects[("DataBackup", ns, name)])
        o2["metadata"]["finalizers"] = [FINALIZER]
        pod = obj("Pod", ns, name + "-pod", spec={"nodeName": "node-1", "containers": [{"name": "tool"}]},
                  status={"phase": "Running"})
        if outcome is None:
            o2["status"] = {"phase": "Executing", "duration": "Unfinished", "conditions": []}
        elif outcome == "Complete":
            pod["status"] = {"phase": "Succeeded"}
            o2["status"] = {"phase": "Complete", "duration": "12s", "conditions": [COMPLETE],
                            "infos": {backup.INFO_PATH: o2["spec"]["backupPath"], backup.INFO_NODE: "node-1"}}
        else:
            term = {"exitCode": 1, "reason": "Error", "message": "mv: cannot move: No space left on device"}
            pod["status"] = {"phase": "Failed", "containerStatuses": [{"name": "tool", "state": {"terminated": term}}]}
            o2["status"] = {"phase": "Failed", "duration": "5s", "conditions": [FAILED]}
        cluster.put(pod)
        cluster.put(o2)
    return controller


@pytest.fixture
def cluster():
    c = LabelCluster()
    c.put(dataset())
    c.controller = fluid_databackup()
    return c


def params(**kw):
    base = {k: None for k in driver.argument_spec(M.KIND)}
    base.update(namespace="default", state="present", wait=True, wait_timeout=300, allow_controller_crash=False)
    base.update(kw)
    return base


def writes(cluster):
    return [c for c in cluster.calls if c[0] in ("apply", "delete", "merge_patch") and not c[-1]]


# ---------------------------------------------------------------- building and validation

def test_build_databackup():
    body = M.KIND.build(params(name="b", dataset="spark", backup_path="pvc://backup-pvc/spark",
                               run_as={"uid": 1000, "gid": 1000, "user": "alluxio", "group": "alluxio"},
                               run_after={"kind": "DataLoad", "name": "warmup", "namespace": None},
                               ttl_seconds_after_finished=600, labels={"team": "ml"}))
    assert body["kind"] == "DataBackup"
    assert body["metadata"] == {"name": "b", "namespace": "default", "labels": {"team": "ml"}}
    # spec.dataset is the Dataset's name, a string (api/v1alpha1/databackup_types.go:29)
    assert body["spec"] == {"dataset": "spark", "backupPath": "pvc://backup-pvc/spark",
                            "runAs": {"uid": 1000, "gid": 1000, "user": "alluxio", "group": "alluxio"},
                            "runAfter": {"kind": "DataLoad", "name": "warmup", "namespace": "default"},
                            "ttlSecondsAfterFinished": 600}


@pytest.mark.parametrize("path", ["local:///var/lib/fluid-backups", "local:///", "pvc://backup-pvc/spark/2026",
                                  "pvc://backup-pvc", "pvc://backup-pvc/"])
def test_backup_paths_fluid_takes(path):
    p = params(**BASE)
    p["backup_path"] = path
    assert M.KIND.validate_item(p, p) == []


@pytest.mark.parametrize("path,words", [
    (None, "local:///var/lib/fluid-backups or pvc://backup-pvc/imagenet"),
    ("s3://bucket/backups", "is not a path Fluid backs up to"),
    ("/var/lib/fluid-backups", "local:///<absolute folder>"),
    ("local://backups", "local:///var/lib/fluid-backups"),
    ("pvc://Backup_PVC/x", "not a valid PersistentVolumeClaim name"),
])
def test_bad_backup_path_names_the_field_and_an_example(path, words):
    p = params(**BASE)
    p["backup_path"] = path
    errors = M.KIND.validate_item(p, p)
    assert len(errors) == 1 and errors[0].startswith("backup_path") and words in errors[0], errors


@pytest.mark.parametrize("kw,field", [
    (dict(dataset=None), "dataset"),
    (dict(dataset="Spark_1"), "dataset"),
    (dict(run_as={"uid": 1000, "gid": None, "user": "alluxio", "group": None}), "run_as"),
    (dict(run_as={"uid": -1, "gid": 0, "user": "a", "group": "a"}), "run_as.uid"),
    (dict(name="x" * 47), "name"),
    (dict(ttl_seconds_after_finished=-1), "ttl_seconds_after_finished"),
    (dict(run_after={"kind": "DataBackup", "name": "spark-backup", "namespace": None}), "run_after"),
    (dict(spec={"backupPath": "local:///x"}), "spec.backupPath"),
])
def test_validation_names_the_field(kw, field):
    p = params(**dict(BASE, **kw))
    errors = M.KIND.validate_item(p, p)
    assert any(e.split(":", 1)[0] == field for e in errors), errors


def test_run_as_error_lists_the_missing_fields():
    p = params(**dict(BASE, run_as={"uid": 1000, "gid": None, "user": "alluxio", "group": None}))
    assert M.KIND.validate_item(p, p) == [
        "run_as: also give gid, group; Fluid needs uid, gid, user and group together, e.g. {uid: 1000, gid: 1000, "
        "user: alluxio, group: alluxio}"]


def test_absent_needs_no_dataset_nor_path():
    p = params(name="spark-backup", state="absent")
    assert M.KIND.validate_item(p, p) == []


# ---------------------------------------------------------------- the guard: Fluid's dataset-controller crash

def test_refuses_to_create_without_the_opt_in_and_writes_nothing(run_module, cluster):
    r = run_module(M, BASE, cluster)
    assert r.failed and r.get("changed") is not True
    msg = r["msg"]
    assert msg.startswith("Refusing to create DataBackup default/spark-backup; nothing was written."), msg
    assert "pkg/controllers/v1alpha1/databackup/implement.go:139-141" in msg and "crashes again" in msg, msg
    assert "set allow_controller_crash: true" in msg and "(state: absent) ends the crash loop" in msg, msg
    assert ("DataBackup", "default", "spark-backup") not in cluster.objects
    assert writes(cluster) == []


def test_refuses_in_check_mode_too(run_module, cluster):
    r = run_module(M, BASE, cluster, check=True)
    assert r.failed and "Refusing to create" in r["msg"]
    assert [c for c in cluster.calls if c[0] in ("apply", "delete")] == []


def test_opt_in_check_mode_reports_a_creation_and_writes_nothing(run_module, cluster):
    r = run_module(M, OPTED_IN, cluster, check=True, diff=True)
    assert not r.failed and r["changed"] and r["exists"], r
    assert r["diff"]["after"]["spec"] == {"dataset": "spark", "backupPath": PATH}
    assert ("DataBackup", "default", "spark-backup") not in cluster.objects
    assert writes(cluster) == []


def test_opt_in_creates_waits_complete_and_returns_the_location(run_module, cluster):
    r = run_module(M, OPTED_IN, cluster)
    assert not r.failed, r
    assert r["changed"] and r["phase"] == "Complete" and r["dataset"] == "spark" and r["duration_seconds"] == 12.0
    assert r["conditions"] == [COMPLETE]
    assert r["backup_location_path"] == PATH and r["backup_location_node"] == "node-1"
    assert any("allow_controller_crash is set" in str(w) for w in r.get("warnings", [])), r


def test_an_existing_complete_backup_with_the_same_spec_is_ok_without_the_opt_in(run_module, cluster):
    assert not run_module(M, OPTED_IN, cluster).failed
    again = run_module(M, BASE, cluster)
    assert not again.failed and again["changed"] is False and again["phase"] == "Complete", again
    assert again["backup_location_node"] == "node-1"


def test_a_changed_spec_is_refused_without_the_opt_in_and_replaced_with_it(run_module, cluster):
    assert not run_module(M, OPTED_IN, cluster).failed
    other = dict(BASE, backup_path="pvc://backup-pvc/spark")
    r = run_module(M, other, cluster)
    assert r.failed and r["msg"].startswith("Refusing to replace DataBackup default/spark-backup (delete it and "
                                            "create it again); nothing was written."), r
    assert cluster.objects[("DataBackup", "default", "spark-backup")]["spec"]["backupPath"] == PATH
    r = run_module(M, dict(other, allow_controller_crash=True), cluster)
    assert not r.failed and r["replaced"] and r["backup_location_path"] == "pvc://backup-pvc/spark", r


def test_absent_deletes_without_the_opt_in(run_module, cluster):
    assert not run_module(M, OPTED_IN, cluster).failed
    r = run_module(M, {"name": "spark-backup", "state": "absent", "wait_timeout": 10}, cluster)
    assert not r.failed and r["changed"] and not r["exists"], r
    assert ("DataBackup", "default", "spark-backup") not in cluster.objects


# ---------------------------------------------------------------- the Dataset and its runtime

@pytest.mark.parametrize("runtime_type,words", [
    ("juicefs", "is bound to a JuiceFSRuntime, and Fluid backs up only Datasets of an AlluxioRuntime or a "
                "GooseFSRuntime"),
    ("thin", "is bound to a ThinRuntime"),
    (None, "is not bound to a runtime yet (phase NotBound)"),
])
def test_runtime_without_backup_is_refused_before_writing(run_module, cluster, runtime_type, words):
    cluster.put(dataset(runtime_type))
    r = run_module(M, OPTED_IN, cluster)
    assert r.failed and r["msg"].startswith("dataset: Dataset default/spark ") and words in r["msg"], r
    assert writes(cluster) == []


def test_goosefs_dataset_is_accepted(run_module, cluster):
    cluster.put(dataset("goosefs"))
    r = run_module(M, OPTED_IN, cluster)
    assert not r.failed and r["phase"] == "Complete", r


def test_missing_dataset_fails_before_writing(run_module, cluster):
    r = run_module(M, dict(OPTED_IN, dataset="nope"), cluster)
    assert r.failed and "Dataset default/nope does not exist" in r["msg"]
    assert writes(cluster) == []


# ---------------------------------------------------------------- failure and timeout

def test_failed_backup_fails_with_the_pods_reason_and_the_crash_note(run_module, cluster):
    cluster.controller = fluid_databackup("Failed")
    r = run_module(M, OPTED_IN, cluster)
    assert r.failed and r["phase"] == "Failed"
    msg = r["msg"]
    assert msg.startswith("DataBackup default/spark-backup Failed after 5s: BackupFailed: Backup Pod exec failed"), msg
    assert "spark-backup-pod: container tool exited 1 (Error): mv: cannot move: No space left on device" in msg, msg
    assert msg.endswith(backup.BUG), msg


def test_timeout_names_the_backup_pod_and_the_crash(run_module, cluster):
    cluster.controller = fluid_databackup(None)
    r = run_module(M, dict(OPTED_IN, wait_timeout=1), cluster)
    assert r.failed and r["phase"] == "Executing"
    assert "DataBackup pod spark-backup-pod Running on node-1" in r["msg"], r["msg"]
    assert backup.BUG in r["msg"]


# ---------------------------------------------------------------- shared readers

def test_operation_dataset_reads_both_forms():
    assert fluid.operation_dataset({"spec": {"dataset": "spark"}}) == "spark"
    assert fluid.operation_dataset({"spec": {"dataset": {"name": "cifar10", "namespace": "x"}}}) == "cifar10"
    assert fluid.operation_dataset(None) is None


def test_workloads_a_pod_for_a_backup_jobs_for_the_others(cluster):
    assert observe.operation_workload("b", fluid.DATABACKUP) == ("Pod", "b-pod")
    assert observe.operation_workload("w", fluid.DATALOAD) == ("Job", "w-loader-job")
    assert observe.operation_workload("p", fluid.DATAPROCESS) == ("Job", "p-processor-job")
    assert observe.loader_pods(cluster, "default", "b", fluid.DATABACKUP) == []
    cluster.put(obj("Pod", "default", "b-pod", status={"phase": "Running"}))
    assert [p["metadata"]["name"] for p in observe.loader_pods(cluster, "default", "b", fluid.DATABACKUP)] == ["b-pod"]


def test_location_is_null_until_complete():
    assert backup.location({"status": {"phase": "Executing"}}) == {"backup_location_path": None,
                                                                   "backup_location_node": None}
    assert backup.location({"status": {"infos": {"BackupLocationPath": "pvc://p/x", "BackupLocationNodeName": "NA"}}}) \
        == {"backup_location_path": "pvc://p/x", "backup_location_node": "NA"}
