"""cloudnative.fluid.dataload against the in-memory API server (tests/unit/fakes.py)."""
import copy
import threading
import time

import pytest

from ansible_collections.cloudnative.fluid.plugins.module_utils import observe as O
from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate
from ansible_collections.cloudnative.fluid.plugins.modules import dataload as M

from fakes import DATALOAD_FINALIZER, FakeCluster, obj

COMPLETE_COND = {"type": "Complete", "status": "True", "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods"}
FAILED_COND = {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
               "message": "Job has reached the specified backoff limit"}


class LabelCluster(FakeCluster):
    """FakeCluster honouring simple key=value label selectors (the loader pods' job-name)."""

    def list(self, kind, namespace, field_selector=None, label_selector=None, with_version=False):
        out = super(LabelCluster, self).list(kind, namespace, field_selector=field_selector, with_version=with_version)
        if not label_selector:
            return out
        items = out[0] if with_version else out
        k, v = label_selector.split("=", 1)
        items = [i for i in items if ((i.get("metadata") or {}).get("labels") or {}).get(k) == v]
        return (items, out[1]) if with_version else items


def bound_dataset(ns="default", name="cifar10", phase="Bound"):
    return obj("Dataset", ns, name, spec={"mounts": [
        {"name": m, "mountPoint": "https://x/%s/" % m} for m in ("hadoop", "spark", "hbase")]},
        status={"phase": phase})


def fluid_dataload(outcome="Complete", delay=None, duration="2s"):
    """A controller doing what Fluid's DataLoad controller does: finalizer, Executing, then the outcome."""
    def finish(cluster, ns, name):
        o = copy.deepcopy(cluster.objects.get(("DataLoad", ns, name)))
        if o is None:
            return
        if outcome == "Failed":
            term = {"exitCode": 1, "reason": "Error", "message": "Path /hbase does not exist"}
            p = obj("Pod", ns, name + "-loader-job-abcde", status={"phase": "Failed", "containerStatuses": [
                {"name": "dataloader", "state": {"terminated": term}}]})
            p["metadata"]["labels"] = {"job-name": name + "-loader-job"}
            cluster.put(p)
        cond = COMPLETE_COND if outcome == "Complete" else FAILED_COND
        cluster.set_status("DataLoad", ns, name, {"phase": outcome, "duration": duration, "conditions": [cond]})

    def controller(cluster, o):
        if o["kind"] != "DataLoad":
            return
        ns, name = o["metadata"]["namespace"], o["metadata"]["name"]
        if o["metadata"].get("deletionTimestamp"):
            cluster.remove("DataLoad", ns, name)
            return
        if o.get("status", {}).get("phase"):
            return
        o2 = copy.deepcopy(cluster.objects[("DataLoad", ns, name)])
        o2["metadata"]["finalizers"] = [DATALOAD_FINALIZER]
        o2["spec"].setdefault("policy", "Once")  # the CRD's default
        o2["status"] = {"phase": "Executing", "duration": "Unfinished", "conditions": []}
        cluster.put(o2)
        if outcome is None:
            return
        if delay:
            threading.Timer(delay, finish, (cluster, ns, name)).start()
        else:
            finish(cluster, ns, name)
    return controller


@pytest.fixture
def cluster():
    c = LabelCluster()
    c.put(bound_dataset())
    c.controller = fluid_dataload()
    return c


BASE = {"name": "warmup", "dataset": "cifar10", "paths": [{"path": "/hbase", "replicas": 1}], "wait_timeout": 10}


def writes(cluster):
    return [c for c in cluster.calls if c[0] in ("apply", "delete") and not c[-1]]


# ---------------------------------------------------------------- building and validation

def params(**kw):
    base = {k: None for k in driver.argument_spec(M.KIND)}
    base.update(namespace="default", state="present", wait=True, wait_timeout=300)
    base.update(kw)
    return base


def test_build_dataload():
    body = M.KIND.build(params(name="warmup", dataset="cifar10", load_metadata=True,
                               paths=[{"path": "/hbase", "replicas": 2}, {"path": "/spark", "replicas": None}],
                               options={"atomic": True, "n": 3}, node_selector={"zone": "a"},
                               tolerations=[{"key": "gpu", "operator": "Exists"}], labels={"team": "ml"},
                               spec={"ttlSecondsAfterFinished": 600}))
    assert body["apiVersion"] == "data.fluid.io/v1alpha1" and body["kind"] == "DataLoad"
    assert body["metadata"] == {"name": "warmup", "namespace": "default", "labels": {"team": "ml"}}
    assert body["spec"] == {
        "dataset": {"name": "cifar10", "namespace": "default"},
        "loadMetadata": True,
        "target": [{"path": "/hbase", "replicas": 2}, {"path": "/spark"}],
        "options": {"atomic": "true", "n": "3"},
        "nodeSelector": {"zone": "a"},
        "tolerations": [{"key": "gpu", "operator": "Exists"}],
        "ttlSecondsAfterFinished": 600,
    }


def test_build_dataload_after_another_operation():
    body = M.KIND.build(params(name="warm2", dataset="cifar10", ttl_seconds_after_finished=600,
                               run_after={"kind": "DataProcess", "name": "unpack", "namespace": None}))
    assert body["spec"] == {
        "dataset": {"name": "cifar10", "namespace": "default"},
        "runAfter": {"kind": "DataProcess", "name": "unpack", "namespace": "default"},
        "ttlSecondsAfterFinished": 600,
    }


@pytest.mark.parametrize("kw,field", [
    (dict(run_after={"kind": "DataLoad", "name": "Bad_Name", "namespace": None}), "run_after.name"),
    (dict(run_after={"kind": "DataLoad", "name": "a", "namespace": "Bad_NS"}), "run_after.namespace"),
    (dict(ttl_seconds_after_finished=-1), "ttl_seconds_after_finished"),
    (dict(ttl_seconds_after_finished=60, spec={"ttlSecondsAfterFinished": 60}), "spec.ttlSecondsAfterFinished"),
])
def test_validation_of_flow_options_names_the_field(kw, field):
    p = params(**dict(name="w", dataset="cifar10", **kw))
    errors = M.KIND.validate_item(p, p)
    assert any(e.split(":", 1)[0] == field for e in errors), errors


def test_validation_names_fields():
    p = params(name="Warm_Up", dataset=None, wait_timeout=0,
               paths=[{"path": "hbase", "replicas": 0}, {"path": "/a"}, {"path": "/a/"}],
               load_metadata=True, policy="Once",
               spec={"loadMetadata": False, "dataset": {"name": "x"}, "policy": "Cron"})
    errors = M.KIND.validate_item(p, p)
    fields = [e.split(":", 1)[0] for e in errors]
    for f in ("name", "dataset", "paths[0].path", "paths[0].replicas", "paths[2].path",
              "spec.loadMetadata", "spec.dataset", "spec.policy"):
        assert f in fields, (f, errors)


def test_build_typed_policy_run_after_and_pod_options():
    body = M.KIND.build(params(
        name="nightly", dataset="cifar10", policy="Cron", schedule="0 2 * * *",
        run_after={"kind": "DataProcess", "name": "unpack", "namespace": None,
                   "affinity_strategy": {"policy": "Prefer", "depend_on": None, "requires": None,
                                         "prefers": [{"name": "topology.kubernetes.io/zone", "weight": 50}]}},
        affinity={"nodeAffinity": {}}, scheduler_name="volcano", resources={"limits": {"cpu": "1"}},
        pod_labels={"team": "ml"}, pod_annotations={"note": True}))
    spec = body["spec"]
    assert spec["policy"] == "Cron" and spec["schedule"] == "0 2 * * *"
    assert spec["runAfter"] == {"kind": "DataProcess", "name": "unpack", "namespace": "default", "affinityStrategy": {
        "policy": "Prefer", "prefers": [{"name": "topology.kubernetes.io/zone", "weight": 50}]}}
    assert spec["affinity"] == {"nodeAffinity": {}} and spec["schedulerName"] == "volcano"
    assert spec["resources"] == {"limits": {"cpu": "1"}}
    assert spec["podMetadata"] == {"labels": {"team": "ml"}, "annotations": {"note": "true"}}


@pytest.mark.parametrize("kw,field,words", [
    (dict(policy="OnEvent"), "policy", "not implemented"),
    (dict(policy="Cron"), "schedule", "required"),
    (dict(policy="Cron", schedule="every night"), "schedule", "five fields"),
    (dict(schedule="0 2 * * *"), "schedule", "policy: Cron"),
    (dict(policy="Cron", schedule="@daily", ttl_seconds_after_finished=60), "ttl_seconds_after_finished", "ignores"),
    (dict(ttl_seconds_after_finished=-1), "ttl_seconds_after_finished", "0 or more"),
    (dict(run_after={"kind": "DataLoad", "name": "warmup", "namespace": None, "affinity_strategy": None}),
     "run_after", "itself"),
    (dict(run_after={"kind": "DataLoad", "name": "x", "namespace": None, "affinity_strategy": {
        "policy": "Prefer", "depend_on": None, "requires": None, "prefers": [{"name": "zone", "weight": 200}]}}),
     "run_after.affinity_strategy.prefers[0].weight", "1 to 100"),
    (dict(resources={"limit": {"cpu": 1}}), "resources.limit", "requests and limits"),
    (dict(pod_labels={"bad key!": "x"}), "pod_labels", ""),
])
def test_operation_options_are_checked(kw, field, words):
    p = params(name="warmup", dataset="cifar10", **kw)
    errors = M.KIND.validate_item(p, p)
    hits = [e for e in errors if e.split(":", 1)[0].startswith(field)]
    assert hits and words in hits[0], errors


def test_cron_schedule_forms_accepted():
    for schedule in ("0 2 * * *", "*/30 * * * *", "0 0 1,15 * MON-FRI", "@hourly"):
        p = params(name="w", dataset="cifar10", policy="Cron", schedule=schedule)
        assert M.KIND.validate_item(p, p) == [], schedule


def test_validate_paths_against_mounts():
    ds = bound_dataset()
    ok = params(name="w", dataset="cifar10", paths=[{"path": "/"}, {"path": "/hbase"}, {"path": "/spark/data"}])

    def check(p, dataset):
        return validate.paths_under(p["paths"], fluid.dataset_dirs(dataset), "Dataset default/cifar10")

    assert check(ok, ds) == []
    bad = params(name="w", dataset="cifar10", paths=[{"path": "/hbasex"}])
    [err] = check(bad, ds)
    assert err.startswith("paths[0].path:") and "/hadoop, /spark, /hbase" in err
    ds["spec"]["mounts"][0]["path"] = "/"
    assert check(bad, ds) == []  # a mount at the root: any path may exist


# ---------------------------------------------------------------- the module

def test_create_and_wait_complete(run_module, cluster):
    r = run_module(M, BASE, cluster)
    assert not r.failed, r
    assert r["changed"] and r["phase"] == "Complete" and r["duration"] == "2s" and r["duration_seconds"] == 2.0
    assert r["target"] == [{"path": "/hbase", "replicas": 1}] and r["dataset"] == "cifar10"
    assert r["conditions"][0]["reason"] == "CompletionsReached" and r["replaced"] is False and r["exists"]
    stored = cluster.objects[("DataLoad", "default", "warmup")]
    assert stored["spec"]["target"] == [{"path": "/hbase", "replicas": 1}]


def test_wait_by_watch_for_a_slow_loader(run_module, cluster):
    cluster.controller = fluid_dataload(delay=0.3, duration="1m11s")
    r = run_module(M, BASE, cluster)
    assert not r.failed and r["phase"] == "Complete" and r["duration_seconds"] == 71.0
    assert r["wait_seconds"] >= 0.25


def test_second_run_is_unchanged_and_does_not_rerun(run_module, cluster):
    run_module(M, BASE, cluster)
    cluster.calls[:] = []
    r = run_module(M, BASE, cluster)
    assert not r.failed and r["changed"] is False and r["phase"] == "Complete"
    assert writes(cluster) == []


def test_changed_spec_of_finished_load_replaces_it(run_module, cluster):
    run_module(M, BASE, cluster)
    uid_before = cluster.objects[("DataLoad", "default", "warmup")]["metadata"]["uid"]
    cluster.calls[:] = []
    r = run_module(M, dict(BASE, paths=[{"path": "/hbase", "replicas": 2}]), cluster, diff=True)
    assert not r.failed, r
    assert r["changed"] and r["replaced"] and r["phase"] == "Complete"
    assert [c[0] for c in writes(cluster)] == ["delete", "apply"]
    assert cluster.objects[("DataLoad", "default", "warmup")]["spec"]["target"][0]["replicas"] == 2
    assert r["diff"]["before"]["spec"]["target"][0]["replicas"] == 1
    assert uid_before  # a new object was created (the fake reuses uids by name)


def test_changed_spec_of_running_load_fails(run_module, cluster):
    cluster.controller = fluid_dataload(outcome=None)
    r = run_module(M, dict(BASE, wait=False), cluster)
    assert r["phase"] == "Executing"
    cluster.calls[:] = []
    r = run_module(M, dict(BASE, paths=[{"path": "/spark"}]), cluster)
    assert r.failed and "Executing" in r["msg"] and "state: absent" in r["msg"]
    assert writes(cluster) == []


def test_labels_only_change_in_place(run_module, cluster):
    run_module(M, BASE, cluster)
    cluster.calls[:] = []
    r = run_module(M, dict(BASE, labels={"team": "ml"}), cluster)
    assert r["changed"] and not r["replaced"]
    assert [c[0] for c in writes(cluster)] == ["apply"]


def test_failed_load_fails_with_the_loaders_reason(run_module, cluster):
    cluster.controller = fluid_dataload(outcome="Failed", duration="40s")
    r = run_module(M, BASE, cluster)
    assert r.failed and r["phase"] == "Failed"
    assert "BackoffLimitExceeded: Job has reached the specified backoff limit" in r["msg"]
    assert "warmup-loader-job-abcde: container dataloader exited 1 (Error): Path /hbase does not exist" in r["msg"]
    assert "40s" in r["msg"]


def test_timeout_diagnosis(run_module, cluster):
    cluster.controller = fluid_dataload(outcome=None)
    p = obj("Pod", "default", "warmup-loader-job-xyz", status={"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "message": "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."}]})
    p["metadata"]["labels"] = {"job-name": "warmup-loader-job"}
    cluster.put(p)
    r = run_module(M, dict(BASE, wait_timeout=1), cluster)
    assert r.failed and "Timed out after 1s" in r["msg"]
    assert "DataLoad default/warmup: phase Executing" in r["msg"]
    assert "DataLoad pod warmup-loader-job-xyz Pending: 0/2 nodes are available" in r["msg"]


def test_timeout_diagnosis_dataset_not_bound(run_module, cluster):
    cluster.put(bound_dataset(phase="NotBound"))
    cluster.controller = None
    r = run_module(M, dict(BASE, wait_timeout=1), cluster)
    assert r.failed and "is NotBound, not Bound" in r["msg"]
    assert "No controller has reconciled DataLoad default/warmup: no status written" in r["msg"]
    assert "dataset-controller Deployment in namespace fluid-system" in r["msg"]


def test_missing_dataset_fails_before_writing(run_module, cluster):
    r = run_module(M, dict(BASE, dataset="nope"), cluster)
    assert r.failed and r["msg"].startswith("dataset: Dataset default/nope does not exist")
    assert writes(cluster) == []


def test_path_outside_mounts_fails_before_writing(run_module, cluster):
    r = run_module(M, dict(BASE, paths=[{"path": "/hbsae"}]), cluster)
    assert r.failed and "paths[0].path: '/hbsae' is not under any mount" in r["msg"]
    assert writes(cluster) == []


def test_check_mode_writes_nothing(run_module, cluster):
    r = run_module(M, BASE, cluster, check=True)
    assert r["changed"] and r["exists"] and r["phase"] == ""
    assert writes(cluster) == []
    assert ("DataLoad", "default", "warmup") not in cluster.objects


def test_check_mode_missing_dataset_warns(run_module, cluster):
    r = run_module(M, dict(BASE, dataset="later"), cluster, check=True)
    assert not r.failed and r["changed"]
    assert any("does not exist" in str(w) for w in r.get("warnings", []))


def test_absent_deletes_and_waits(run_module, cluster):
    run_module(M, BASE, cluster)
    r = run_module(M, {"name": "warmup", "state": "absent", "wait_timeout": 10}, cluster)
    assert r["changed"] and not r["exists"]
    assert ("DataLoad", "default", "warmup") not in cluster.objects
    r = run_module(M, {"name": "warmup", "state": "absent"}, cluster)
    assert r["changed"] is False


def test_absent_check_mode(run_module, cluster):
    run_module(M, BASE, cluster)
    cluster.calls[:] = []
    r = run_module(M, {"name": "warmup", "state": "absent"}, cluster, check=True)
    assert r["changed"] and writes(cluster) == []
    assert ("DataLoad", "default", "warmup") in cluster.objects


def test_fluid_not_installed(run_module):
    r = run_module(M, BASE, LabelCluster(fluid_installed=False))
    assert r.failed and "cloudnative.fluid.fluid" in r["msg"]


def test_operation_failure_without_details():
    assert "no reason" in O.operation_failure({"status": {"phase": "Failed"}})


def test_paths_take_plain_strings(run_module, cluster):
    r = run_module(M, dict(BASE, paths=["/spark", {"path": "/hbase", "replicas": 2}]), cluster)
    assert not r.failed, r.get("msg")
    assert r["target"] == [{"path": "/spark"}, {"path": "/hbase", "replicas": 2}]
    bad = run_module(M, dict(BASE, name="other", paths=[["/spark"], {"path": "/x", "size": 1},
                                                        {"path": "/y", "replicas": 1.5}, {"path": "/z", "replicas": "2"}]),
                     cluster)
    assert bad.failed and bad["msg"].startswith("Invalid options (nothing was changed)")
    assert "paths[0]: ['/spark'] is not a path" in bad["msg"] and "paths[1]: " in bad["msg"]
    assert "paths[2].replicas: 1.5 is not a whole number" in bad["msg"] and "paths[3]" not in bad["msg"]
    assert "{path: /spark, replicas: 1}" in bad["msg"]


def test_docs_say_that_without_paths_the_whole_dataset_is_loaded():
    import yaml

    doc = yaml.safe_load(M.DOCUMENTATION)
    text = " ".join(doc["options"]["paths"]["description"])
    assert "the whole Dataset" in text and "loads nothing" not in text
    assert doc["options"]["paths"]["elements"] == "raw"


# ---------------------------------------------------------------- the record of a DataLoad Fluid deleted (TTL)

def record(cluster, name="warmup"):
    annotations = cluster.objects[("Dataset", "default", "cifar10")]["metadata"].get("annotations") or {}
    return annotations.get("operations.cloudnative.fluid/dataload." + name)


def test_ttl_deleted_load_is_not_run_again_until_its_spec_changes(run_module, cluster):
    ttl = dict(BASE, ttl_seconds_after_finished=60)
    r = run_module(M, ttl, cluster)
    assert not r.failed and r["changed"] and r["recorded"] is False
    assert '"phase": "Complete"' in record(cluster) and '"duration": "2s"' in record(cluster)
    cluster.remove("DataLoad", "default", "warmup")  # what Fluid does after ttlSecondsAfterFinished
    cluster.calls[:] = []
    r = run_module(M, ttl, cluster)
    assert not r.failed, r
    assert r["changed"] is False and r["recorded"] is True and r["exists"] is False
    assert r["phase"] == "Complete" and r["duration"] == "2s"
    assert writes(cluster) == [] and not [c for c in cluster.calls if c[0] == "merge_patch"]
    assert ("DataLoad", "default", "warmup") not in cluster.objects
    # a changed spec runs it again
    r = run_module(M, dict(ttl, paths=["/spark"]), cluster)
    assert r["changed"] and r["recorded"] is False and ("DataLoad", "default", "warmup") in cluster.objects
    assert '"/spark"' not in record(cluster)  # the record holds a digest, not the spec


def test_recorded_failure_fails_and_absent_drops_the_record(run_module, cluster):
    cluster.controller = fluid_dataload(outcome="Failed")
    ttl = dict(BASE, ttl_seconds_after_finished=60)
    assert run_module(M, ttl, cluster).failed
    cluster.remove("DataLoad", "default", "warmup")
    r = run_module(M, ttl, cluster)
    assert r.failed and "recorded" in r["msg"] and "state: absent" in r["msg"]
    r = run_module(M, {"name": "warmup", "state": "absent"}, cluster)
    assert not r.failed and r["changed"] and record(cluster) is None
    r = run_module(M, {"name": "warmup", "state": "absent"}, cluster)
    assert not r.failed and not r["changed"]


def test_check_mode_writes_no_record(run_module, cluster):
    r = run_module(M, dict(BASE, ttl_seconds_after_finished=60), cluster, check=True)
    assert r["changed"] and record(cluster) is None


# ---------------------------------------------------------------- Cron

def cron_dataload(previous_run=True, delay=0.3):
    """Fluid's Cron handling: Executing until the CronJob's first run; each run's lastScheduleTime and outcome
    (dataload/status_handler.go:112-188). previous_run: a run that finished before the task started."""
    def run(cluster, ns, name, when):
        o = cluster.objects.get(("DataLoad", ns, name))
        if o is not None:
            cluster.set_status("DataLoad", ns, name, {
                "phase": "Complete", "duration": "3s", "conditions": [COMPLETE_COND],
                "lastScheduleTime": when, "lastSuccessfulTime": when})

    def controller(cluster, o):
        if o["kind"] != "DataLoad" or o.get("status"):
            return
        ns, name = o["metadata"]["namespace"], o["metadata"]["name"]
        if o["metadata"].get("deletionTimestamp"):
            cluster.remove("DataLoad", ns, name)
            return
        if previous_run:
            run(cluster, ns, name, "2026-01-01T00:00:00Z")
        else:
            cluster.set_status("DataLoad", ns, name, {"phase": "Executing", "duration": "Unfinished"})
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 1))
        threading.Timer(delay, run, (cluster, ns, name, now)).start()
    return controller


CRON = dict(BASE, policy="Cron", schedule="* * * * *")


def test_cron_waits_for_a_run_after_the_task_started(run_module, cluster):
    cluster.controller = cron_dataload(previous_run=True)
    r = run_module(M, CRON, cluster)
    assert not r.failed, r
    assert r["policy"] == "Cron" and r["schedule"] == "* * * * *" and r["phase"] == "Complete"
    assert r["last_schedule_time"] != "2026-01-01T00:00:00Z" and r["last_successful_time"] == r["last_schedule_time"]
    assert r["wait_seconds"] >= 0.25  # not the earlier run, which was Complete at once


def test_cron_without_wait_reports_the_last_run(run_module, cluster):
    cluster.controller = cron_dataload(previous_run=True, delay=30)
    r = run_module(M, dict(CRON, wait=False), cluster)
    assert not r.failed and r["last_schedule_time"] == "2026-01-01T00:00:00Z" and r["wait_seconds"] == 0


def test_changed_cron_load_is_replaced_between_runs(run_module, cluster):
    cluster.controller = cron_dataload(previous_run=False, delay=30)
    run_module(M, dict(CRON, wait=False), cluster)
    assert cluster.objects[("DataLoad", "default", "warmup")]["status"]["phase"] == "Executing"
    r = run_module(M, dict(CRON, schedule="*/5 * * * *", wait=False), cluster)
    assert not r.failed and r["replaced"] and r["schedule"] == "*/5 * * * *"
