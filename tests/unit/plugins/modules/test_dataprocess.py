"""cloudnative.fluid.dataprocess against the in-memory API server (tests/unit/fakes.py), with a
controller writing status as Fluid v1.0.8's DataProcess controller does
(pkg/controllers/v1alpha1/dataprocess/status_handler.go: the Job's condition copied)."""
import copy

import pytest

from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.modules import dataprocess as M

from fakes import obj
from test_dataload import COMPLETE_COND, FAILED_COND, LabelCluster, bound_dataset

FINALIZER = "fluid-dataprocess-controller-finalizer"
SCRIPT = {"image": "busybox", "image_tag": "1.36", "command": ["sh"], "source": "ls -lR /data"}
BASE = {"name": "unpack", "dataset": "cifar10", "mount_path": "/data", "script": SCRIPT, "wait_timeout": 10}


def fluid_dataprocess(outcome="Complete"):
    def controller(cluster, o):
        if o["kind"] != "DataProcess":
            return
        ns, name = o["metadata"]["namespace"], o["metadata"]["name"]
        if o["metadata"].get("deletionTimestamp"):
            cluster.remove("DataProcess", ns, name)
            return
        if o.get("status", {}).get("phase"):
            return
        o2 = copy.deepcopy(cluster.objects[("DataProcess", ns, name)])
        o2["metadata"]["finalizers"] = [FINALIZER]
        if outcome == "Failed":
            term = {"exitCode": 3, "reason": "Error", "message": "tar: /data/train.tar: not found"}
            p = obj("Pod", ns, name + "-processor-job-x1x2x", status={"phase": "Failed", "containerStatuses": [
                {"name": "script-processor", "state": {"terminated": term}}]})
            p["metadata"]["labels"] = {"job-name": name + "-processor-job"}
            cluster.put(p)
        cond = COMPLETE_COND if outcome == "Complete" else FAILED_COND
        o2["status"] = {"phase": outcome, "duration": "7s", "conditions": [cond]}
        cluster.put(o2)
    return controller


@pytest.fixture
def cluster():
    c = LabelCluster()
    c.put(bound_dataset())
    c.controller = fluid_dataprocess()
    return c


def params(**kw):
    base = {k: None for k in driver.argument_spec(M.KIND)}
    base.update(namespace="default", state="present", wait=True, wait_timeout=300)
    base.update(kw)
    return base


def test_build_script_processor():
    body = M.KIND.build(params(name="unpack", dataset="cifar10", mount_path="/data", sub_path="hbase",
                               script=dict(SCRIPT, env=[{"name": "A", "value": "1"}], restart_policy="Never"),
                               pod_labels={"team": "ml"}, service_account_name="etl",
                               run_after={"kind": "DataLoad", "name": "warmup", "namespace": None},
                               ttl_seconds_after_finished=600))
    assert body["kind"] == "DataProcess" and body["metadata"] == {"name": "unpack", "namespace": "default"}
    assert body["spec"] == {
        "dataset": {"name": "cifar10", "namespace": "default", "mountPath": "/data", "subPath": "hbase"},
        "processor": {"serviceAccountName": "etl", "podMetadata": {"labels": {"team": "ml"}},
                      "script": {"image": "busybox", "imageTag": "1.36", "command": ["sh"], "source": "ls -lR /data",
                                 "env": [{"name": "A", "value": "1"}], "restartPolicy": "Never"}},
        "runAfter": {"kind": "DataLoad", "name": "warmup", "namespace": "default"},
        "ttlSecondsAfterFinished": 600,
    }


def test_build_job_processor():
    pod = {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}
    body = M.KIND.build(params(name="p", dataset="cifar10", mount_path="/data", job_pod_spec=pod))
    assert body["spec"]["processor"] == {"job": {"podSpec": pod}}


@pytest.mark.parametrize("kw,field", [
    (dict(script=None), "script, job_pod_spec"),
    (dict(job_pod_spec={"restartPolicy": "Never", "containers": [{"name": "c"}]}), "script, job_pod_spec"),
    (dict(mount_path="data"), "mount_path"),
    (dict(dataset=None), "dataset"),
    (dict(script=dict(SCRIPT, volume_mounts=[{"name": "v", "mountPath": "/data/"}])), "script.volume_mounts[0].mountPath"),
    (dict(script=None, job_pod_spec={"containers": [{"name": "c"}]}), "job_pod_spec.restartPolicy"),
    (dict(name="x" * 44), "name"),
    (dict(run_after={"kind": "DataLoad", "name": "Bad_Name", "namespace": None}), "run_after.name"),
    (dict(ttl_seconds_after_finished=-1), "ttl_seconds_after_finished"),
    (dict(spec={"processor": {}}), "spec.processor"),
])
def test_validation_names_the_field(kw, field):
    p = params(**dict(BASE, **kw))
    errors = M.KIND.validate_item(p, p)
    assert any(e.split(":", 1)[0] == field for e in errors), errors


def test_create_wait_complete_then_unchanged(run_module, cluster):
    r = run_module(M, BASE, cluster)
    assert not r.failed, r
    assert r["changed"] and r["phase"] == "Complete" and r["duration_seconds"] == 7.0 and r["dataset"] == "cifar10"
    again = run_module(M, BASE, cluster)
    assert not again.failed and again["changed"] is False and again["phase"] == "Complete"


def test_failed_process_fails_with_the_jobs_and_containers_reason(run_module, cluster):
    cluster.controller = fluid_dataprocess("Failed")
    r = run_module(M, BASE, cluster)
    assert r.failed
    msg = r["msg"]
    assert msg.startswith("DataProcess default/unpack Failed after 7s: BackoffLimitExceeded"), msg
    assert "script-processor exited 3 (Error): tar: /data/train.tar: not found" in msg, msg


def test_missing_dataset_fails_before_writing(run_module, cluster):
    r = run_module(M, dict(BASE, dataset="nope"), cluster)
    assert r.failed and "Dataset default/nope does not exist" in r["msg"]
    assert ("DataProcess", "default", "unpack") not in cluster.objects


def test_changed_script_replaces_a_finished_process(run_module, cluster):
    run_module(M, BASE, cluster)
    r = run_module(M, dict(BASE, script=dict(SCRIPT, source="du -sh /data")), cluster)
    assert not r.failed and r["replaced"] and r["changed"], r
    assert cluster.objects[("DataProcess", "default", "unpack")]["spec"]["processor"]["script"]["source"] == \
        "du -sh /data"


def test_check_mode_writes_nothing(run_module, cluster):
    r = run_module(M, BASE, cluster, check=True)
    assert not r.failed and r["changed"]
    assert ("DataProcess", "default", "unpack") not in cluster.objects
