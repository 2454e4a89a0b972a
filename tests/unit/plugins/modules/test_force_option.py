"""The force option of the dataset and runtime modules on an in-memory cluster without Fluid's controllers: validation,
what a stuck deletion does with and without force, check mode and diff."""
import time

from ansible_collections.cloudnative.fluid.plugins.modules import dataset as DS
from ansible_collections.cloudnative.fluid.plugins.modules import runtime as RT

from fakes import DATASET_FINALIZER, FakeCluster, obj

RUNTIME_FINALIZER = "alluxio-runtime-controller-finalizer"


def lease(name, renewed_ago):
    t = time.time() - renewed_ago
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "fluid-system"},
            "spec": {"holderIdentity": "vm_1bebf0f1", "leaseDurationSeconds": 15,
                     "renewTime": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(t))}}


def cluster(dataset_lease_ago=600, runtime_lease_ago=600):
    """A Dataset and its AlluxioRuntime with Fluid's finalizers; Leases renewed that long ago."""
    c = FakeCluster()
    c.put(lease("dataset.data.fluid.io", dataset_lease_ago))
    c.put(lease("alluxio.data.fluid.io", runtime_lease_ago))
    d = obj("Dataset", "ns", "d", spec={"mounts": [{"name": "m", "mountPoint": "https://x/m/"}]},
            status={"phase": "Bound"})
    d["metadata"]["finalizers"] = [DATASET_FINALIZER]
    r = obj("AlluxioRuntime", "ns", "d", spec={})
    r["metadata"]["finalizers"] = [RUNTIME_FINALIZER]
    c.put(d)
    c.put(r)
    return c


def test_force_is_refused_unless_state_absent_and_wait(run_module):
    c = cluster()
    r = run_module(DS, {"namespace": "ns", "force": True, "datasets": [
        {"name": "d", "state": "absent"}, {"name": "e", "mounts": [{"name": "m", "mount_point": "https://x/m/"}]}]}, c)
    assert r.failed
    assert "force: applies to state: absent only" in r["msg"] and "datasets[1] has state present" in r["msg"]
    assert "set state: absent or remove force" in r["msg"]
    r = run_module(RT, {"name": "d", "namespace": "ns", "kind": "AlluxioRuntime", "state": "absent", "force": True,
                        "wait": False}, c)
    assert r.failed and "force: acts when a deletion has not finished within wait_timeout, so it needs wait: true" \
        in r["msg"]
    assert [x for x in c.calls if x[0] in ("delete", "json_patch")] == []  # nothing was written


def test_without_force_a_stuck_deletion_names_the_stalled_controller(run_module):
    c = cluster()
    r = run_module(RT, {"name": "d", "namespace": "ns", "kind": "AlluxioRuntime", "state": "absent",
                        "wait_timeout": 1}, c)
    assert r.failed and r["removed_finalizers"] == []
    assert "Fluid's alluxioruntime-controller is stalled: its Lease fluid-system/alluxio.data.fluid.io was last " \
        "renewed" in r["msg"]
    assert "Nobody will remove the finalizer alluxio-runtime-controller-finalizer" in r["msg"]
    assert c.get("AlluxioRuntime", "ns", "d")["metadata"]["finalizers"] == [RUNTIME_FINALIZER]


def test_force_removes_the_runtimes_then_the_datasets_finalizer(run_module):
    c = cluster()
    run_module(RT, {"name": "d", "namespace": "ns", "kind": "AlluxioRuntime", "state": "absent", "wait": False}, c)
    r = run_module(DS, {"name": "d", "namespace": "ns", "state": "absent", "force": True, "wait_timeout": 1}, c,
                   diff=True)
    assert not r.failed, r
    assert r["changed"] is True
    assert r["removed_finalizers"] == [
        {"kind": "AlluxioRuntime", "namespace": "ns", "name": "d", "finalizer": RUNTIME_FINALIZER},
        {"kind": "Dataset", "namespace": "ns", "name": "d", "finalizer": DATASET_FINALIZER}]
    assert c.get("AlluxioRuntime", "ns", "d") is None and c.get("Dataset", "ns", "d") is None
    finalizer_diffs = [d for d in r["diff"] if d["before_header"].endswith("finalizers")]
    assert [d["before_header"] for d in finalizer_diffs] == ["AlluxioRuntime ns/d finalizers", "Dataset ns/d finalizers"]
    assert finalizer_diffs[1]["after"] == {"metadata": {"finalizers": []}}


def test_check_mode_reports_what_force_would_remove_and_writes_nothing(run_module):
    c = cluster()
    run_module(RT, {"name": "d", "namespace": "ns", "kind": "AlluxioRuntime", "state": "absent", "wait": False}, c)
    r = run_module(DS, {"name": "d", "namespace": "ns", "state": "absent", "force": True}, c, check=True)
    assert not r.failed and r["changed"] is True
    assert [(e["kind"], e["finalizer"]) for e in r["removed_finalizers"]] == [
        ("AlluxioRuntime", RUNTIME_FINALIZER), ("Dataset", DATASET_FINALIZER)]
    assert c.get("AlluxioRuntime", "ns", "d")["metadata"]["finalizers"] == [RUNTIME_FINALIZER]
    assert c.get("Dataset", "ns", "d")["metadata"]["finalizers"] == [DATASET_FINALIZER]
    assert not c.get("Dataset", "ns", "d")["metadata"].get("deletionTimestamp")


def test_a_healthy_controller_is_never_forced(run_module):
    c = cluster(runtime_lease_ago=1)
    r = run_module(RT, {"name": "d", "namespace": "ns", "kind": "AlluxioRuntime", "state": "absent", "force": True,
                        "wait_timeout": 1}, c)
    assert r.failed and r["removed_finalizers"] == [] and r["changed"] is True  # deleted, not forced
    assert "force: true did not apply to:" in r["msg"]
    assert "Fluid's alluxioruntime-controller is running: its Lease fluid-system/alluxio.data.fluid.io is held by " \
        "vm_1bebf0f1" in r["msg"] and "so force was not applied" in r["msg"]
    assert c.get("AlluxioRuntime", "ns", "d")["metadata"]["finalizers"] == [RUNTIME_FINALIZER]


def test_force_on_a_deletion_the_controller_finishes_removes_nothing(run_module):
    c = cluster()
    c.controller = lambda cl, o: cl.remove(o["kind"], "ns", "d") if o["metadata"].get("deletionTimestamp") else None
    r = run_module(RT, {"name": "d", "namespace": "ns", "kind": "AlluxioRuntime", "state": "absent", "force": True,
                        "wait_timeout": 5}, c)
    assert not r.failed and r["removed_finalizers"] == [] and r["changed"] is True
    assert [x for x in c.calls if x[0] == "json_patch"] == []


def test_nothing_of_fluids_left_says_so(run_module):
    c = cluster()
    d = c.get("Dataset", "ns", "d")
    d["metadata"]["finalizers"] = ["example.com/keep"]
    c.put(d)
    c.remove("AlluxioRuntime", "ns", "d")
    r = run_module(DS, {"name": "d", "namespace": "ns", "state": "absent", "force": True, "wait_timeout": 1}, c)
    assert r.failed and r["removed_finalizers"] == []
    assert "force: true found no Fluid finalizer to remove" in r["msg"]
    assert c.get("Dataset", "ns", "d")["metadata"]["finalizers"] == ["example.com/keep"]
