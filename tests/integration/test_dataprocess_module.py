"""cloudnative.fluid.dataprocess on the embedded cluster with the REAL Fluid dataset controller:
Fluid installs its fluid-dataprocess chart (a Job with the Dataset's PVC mounted); KWOK's
pod-complete stage completes the pod; Fluid marks the DataProcess Complete. With run_after, Fluid's
DataFlow controller holds it Pending until the DataLoad before it is Complete."""
import pytest

from observe_env import ensure_fluid, Env, run_module

WAIT = 240
SCRIPT = {"image": "busybox", "image_tag": "1.36", "command": ["sh"], "source": "ls -lR /data"}


@pytest.fixture(scope="module")
def env(kube, cluster):
    ensure_fluid(kube, cluster)
    e = Env(kube, cluster, "proc").up(nginx=False, second=False)
    yield e
    e.down()


def test_process_after_a_load_complete_in_order_then_unchanged(env, kube, cluster):
    ns = env.ns_a
    load = {"name": "warm", "namespace": ns, "dataset": "cifar10", "paths": ["/hbase"], "wait": False}
    proc = {"name": "list", "namespace": ns, "dataset": "cifar10", "mount_path": "/data", "script": SCRIPT,
            "run_after": {"kind": "DataLoad", "name": "warm"}, "wait_timeout": WAIT}
    assert not run_module(cluster, "dataload", load).failed
    r = run_module(cluster, "dataprocess", proc)
    assert not r.failed, r
    assert r["changed"] and r["phase"] == "Complete", r
    # Fluid copies the Job's first condition: on Kubernetes 1.31 and later that is SuccessCriteriaMet
    # (pkg/controllers/v1alpha1/dataprocess/status_handler.go)
    assert r["conditions"][0]["type"] in ("SuccessCriteriaMet", "Complete") and r["conditions"][0]["status"] == "True"

    dp = kube.get("dataprocess", "-n", ns, "list")
    assert {k: dp["spec"]["runAfter"][k] for k in ("kind", "name", "namespace")} == {
        "kind": "DataLoad", "name": "warm", "namespace": ns}
    assert dp["status"]["waitingFor"] == {"operationComplete": False}
    dl = kube.get("dataload", "-n", ns, "warm")
    assert dl["status"]["phase"] == "Complete"
    job = kube.get("job", "-n", ns, "list-processor-job")
    assert job["status"].get("succeeded") == 1
    # the Dataset's volume is mounted where we asked, in Fluid's own pod template
    mounts = job["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"mountPath": "/data", "name": "fluid-dataset-vol"} in [
        {k: m[k] for k in ("mountPath", "name")} for m in mounts]
    # Fluid finished the process after the load did
    load_done = [c["lastTransitionTime"] for c in dl["status"]["conditions"]][0]
    proc_done = [c["lastTransitionTime"] for c in dp["status"]["conditions"]][0]
    assert load_done <= proc_done

    again = run_module(cluster, "dataprocess", proc)
    assert not again.failed and again["changed"] is False and again["phase"] == "Complete", again

    gone = run_module(cluster, "dataprocess", dict(proc, state="absent"))
    assert not gone.failed and gone["changed"], gone
    assert kube.get("dataprocess", "-n", ns, "list", check=False) is None


def test_failing_process_fails_the_task_with_its_reason(env, kube, cluster):
    """The embedded cluster fails Job pods labelled embedded.cloudnative.fluid/fail=true
    (hack/cluster/kwok/stages/pod-fail.yaml); Fluid's controller then marks the DataProcess Failed."""
    ns = env.ns_a
    proc = {"name": "broken", "namespace": ns, "dataset": "cifar10", "mount_path": "/data", "script": SCRIPT,
            "pod_labels": {"embedded.cloudnative.fluid/fail": "true"}, "wait_timeout": 400}
    r = run_module(cluster, "dataprocess", proc)
    assert r.failed, r
    msg = r["msg"]
    assert msg.startswith("DataProcess %s/broken Failed after " % ns), msg
    # the Job's reason, and the failed container's exit code and message, as Fluid and Kubernetes wrote them
    assert "BackoffLimitExceeded" in msg, msg
    assert "script-processor exited 1 (Error): failed on purpose" in msg, msg
    assert kube.get("dataprocess", "-n", ns, "broken")["status"]["phase"] == "Failed"
    # a re-run of the same task does not start it again: Fluid never re-runs a Failed operation
    again = run_module(cluster, "dataprocess", dict(proc, wait_timeout=30))
    assert again.failed and again.get("changed") is False and "Failed after" in again["msg"], again
