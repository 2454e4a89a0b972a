"""force: true's decision logic: a controller's state from its Lease (leader.judge), which finalizers may go and in
which order (force.plan / force.apply), on objects shaped as Kubernetes and Fluid write them."""
import calendar
import time

import pytest

from ansible_collections.cloudnative.fluid.plugins.module_utils import force
from ansible_collections.cloudnative.fluid.plugins.module_utils import leader
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import ApiError

from fakes import DATASET_FINALIZER, FakeCluster, obj

NOW = calendar.timegm((2026, 12, 3, 17, 30, 0))
RUNTIME_FINALIZER = "alluxio-runtime-controller-finalizer"


def stamp(seconds_ago):
    """A MicroTime as client-go writes renewTime."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(NOW - seconds_ago)) + ".084412Z"


def lease(name, renewed_ago, holder="vm_3d1d081c-8925-46ae-8255-8e77512dbec4", duration=15):
    """A coordination.k8s.io/v1 Lease as controller-runtime v0.17.5's leader election keeps it."""
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "fluid-system", "resourceVersion": "812"},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": duration, "acquireTime": stamp(600),
                     "renewTime": stamp(renewed_ago), "leaseTransitions": 0}}


def deployment(name, replicas=1, ready=None):
    status = {"replicas": replicas, "observedGeneration": 1}
    if ready:
        status.update(readyReplicas=ready, availableReplicas=ready)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "fluid-system"},
            "spec": {"replicas": replicas}, "status": status}


# ---------------------------------------------------------------- leader.judge

@pytest.mark.parametrize("ago, state", [(1, leader.RUNNING), (14, leader.RUNNING), (25, leader.RUNNING),
                                        (26, leader.STALLED), (3600, leader.STALLED)])
def test_a_lease_is_stale_after_its_duration_and_the_margin(ago, state):
    v = leader.judge("alluxioruntime-controller", lease("alluxio.data.fluid.io", ago), None, NOW)
    assert v.state == state
    assert v.forceable is (state == leader.STALLED)
    assert "fluid-system/alluxio.data.fluid.io" in v.why and "vm_3d1d081c" in v.why and "%d s ago" % ago in v.why


def test_a_lease_duration_other_than_the_default_counts():
    assert leader.judge("dataset-controller", lease("dataset.data.fluid.io", 50, duration=60), None, NOW).state == \
        leader.RUNNING
    assert leader.judge("dataset-controller", lease("dataset.data.fluid.io", 71, duration=60), None, NOW).state == \
        leader.STALLED


def test_a_lease_renewed_in_the_future_is_running():
    """A leader whose clock runs ahead of ours."""
    assert leader.judge("dataset-controller", lease("dataset.data.fluid.io", -5), None, NOW).state == leader.RUNNING


@pytest.mark.parametrize("the_lease, the_deployment, state", [
    (None, None, leader.ABSENT),  # uninstalled
    (None, deployment("alluxioruntime-controller", replicas=0), leader.ABSENT),  # scaled to 0, never started
    (None, deployment("alluxioruntime-controller", replicas=1), leader.ABSENT),  # crash-looping before it elects
    (None, deployment("alluxioruntime-controller", replicas=1, ready=1), leader.UNKNOWN),  # no leader election
    (lease("alluxio.data.fluid.io", 5, holder=""), None, leader.ABSENT),  # released, nobody took it
    (lease("alluxio.data.fluid.io", 5, holder=""), deployment("alluxioruntime-controller", ready=1), leader.UNKNOWN),
])
def test_without_a_holder_the_deployment_decides(the_lease, the_deployment, state):
    v = leader.judge("alluxioruntime-controller", the_lease, the_deployment, NOW)
    assert v.state == state, v.why
    assert v.forceable is (state == leader.ABSENT)
    assert "alluxioruntime-controller" in v.text()


def test_a_lease_that_cannot_be_read_is_unknown_and_says_what_to_grant():
    class Forbidden(FakeCluster):
        def list(self, kind, namespace, **kw):
            if kind == "Lease":
                raise ApiError("leases.coordination.k8s.io is forbidden", status=403)
            return FakeCluster.list(self, kind, namespace, **kw)
    v = leader.verdict(Forbidden(), "AlluxioRuntime", NOW)
    assert v.state == leader.UNKNOWN and not v.forceable
    assert "grant list on leases.coordination.k8s.io" in v.why


def test_the_lease_is_found_in_the_namespace_fluid_was_installed_in():
    c = FakeCluster()
    other = lease("alluxio.data.fluid.io", 1)
    other["metadata"]["namespace"] = "fluid"
    c.put(other)
    v = leader.verdict(c, "AlluxioRuntime", NOW)
    assert v.state == leader.RUNNING and "fluid/alluxio.data.fluid.io" in v.why


def test_of_two_installations_a_running_controller_counts():
    c = FakeCluster()
    c.put(lease("alluxio.data.fluid.io", 900))
    fresh = lease("alluxio.data.fluid.io", 1)
    fresh["metadata"]["namespace"] = "fluid-b"
    c.put(fresh)
    assert leader.verdict(c, "AlluxioRuntime", NOW).state == leader.RUNNING
    c.remove("Lease", "fluid-b", "alluxio.data.fluid.io")
    assert leader.verdict(c, "AlluxioRuntime", NOW).state == leader.STALLED


def test_a_released_lease_is_paired_with_the_deployment_of_its_namespace():
    c = FakeCluster()
    c.put(lease("dataset.data.fluid.io", 5, holder=""))
    c.put(deployment("dataset-controller", replicas=1, ready=1))
    assert leader.verdict(c, "Dataset", NOW).state == leader.UNKNOWN
    c.put(deployment("dataset-controller", replicas=0))
    v = leader.verdict(c, "Dataset", NOW)
    assert v.state == leader.ABSENT and "spec.replicas 0" in v.why


def test_every_controller_of_a_fluid_kind_has_its_lease():
    from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
    assert set(fluid.controller_name(k) for k in fluid.FINALIZERS) <= set(leader.LEASES)


# ---------------------------------------------------------------- force.plan / apply

def deleting(kind, name, finalizers, namespace="ns", **extra):
    o = obj(kind, namespace, name, **extra)
    o["metadata"].update(finalizers=list(finalizers), deletionTimestamp="2026-12-03T17:29:00Z")
    return o


def stuck(dataset_lease_ago=600, runtime_lease_ago=600, runtime=True, dataset_finalizers=(DATASET_FINALIZER,)):
    c = FakeCluster()
    c.put(lease("dataset.data.fluid.io", dataset_lease_ago))
    c.put(lease("alluxio.data.fluid.io", runtime_lease_ago))
    c.put(deleting("Dataset", "d", dataset_finalizers, status={"phase": "Bound"}))
    if runtime:
        c.put(deleting("AlluxioRuntime", "d", [RUNTIME_FINALIZER]))
    return c


def entries(steps):
    return [(s.kind, s.name, s.finalizer) for s in steps]


def test_runtime_first_then_dataset_and_only_fluids_finalizers():
    c = stuck(dataset_finalizers=(DATASET_FINALIZER, "example.com/keep"))
    the_plan = force.plan(c, [("Dataset", c.get("Dataset", "ns", "d"))], now=NOW)
    assert the_plan.refused == []
    removed, errors = force.apply(c, the_plan)
    assert errors == []
    assert entries(removed) == [("AlluxioRuntime", "d", RUNTIME_FINALIZER), ("Dataset", "d", DATASET_FINALIZER)]
    patched = [x[1] for x in c.calls if x[0] == "json_patch"]
    assert patched == ["AlluxioRuntime", "Dataset"]
    assert c.get("AlluxioRuntime", "ns", "d") is None
    assert c.get("Dataset", "ns", "d")["metadata"]["finalizers"] == ["example.com/keep"]
    assert removed[1].entry() == {"kind": "Dataset", "namespace": "ns", "name": "d", "finalizer": DATASET_FINALIZER}
    assert removed[1].diff()["before"] == {"metadata": {"finalizers": [DATASET_FINALIZER, "example.com/keep"]}}
    assert removed[1].diff()["after"] == {"metadata": {"finalizers": ["example.com/keep"]}}


def test_the_order_holds_whatever_order_the_objects_come_in():
    c = stuck()
    the_plan = force.plan(c, [("Dataset", c.get("Dataset", "ns", "d")),
                              ("AlluxioRuntime", c.get("AlluxioRuntime", "ns", "d"))], now=NOW)
    assert entries(the_plan.ordered()) == [("AlluxioRuntime", "d", RUNTIME_FINALIZER),
                                           ("Dataset", "d", DATASET_FINALIZER)]  # each once


def test_a_running_runtime_controller_keeps_the_runtime_and_so_the_dataset():
    c = stuck(runtime_lease_ago=1)
    the_plan = force.plan(c, [("Dataset", c.get("Dataset", "ns", "d"))], now=NOW)
    assert the_plan.steps == []
    assert len(the_plan.refused) == 1
    assert "alluxioruntime-controller is running" in the_plan.refused[0]
    assert "so force was not applied" in the_plan.refused[0]


def test_a_running_dataset_controller_keeps_its_dataset_but_a_stalled_runtime_controllers_runtime_goes():
    c = stuck(dataset_lease_ago=2)
    the_plan = force.plan(c, [("AlluxioRuntime", c.get("AlluxioRuntime", "ns", "d")),
                              ("Dataset", c.get("Dataset", "ns", "d"))], now=NOW)
    assert entries(the_plan.steps) == [("AlluxioRuntime", "d", RUNTIME_FINALIZER)]
    assert ["dataset-controller is running" in r for r in the_plan.refused] == [True]


def test_a_dataset_whose_runtime_is_not_being_deleted_is_refused():
    c = stuck(runtime=False)
    c.put(obj("AlluxioRuntime", "ns", "d", spec={}))
    the_plan = force.plan(c, [("Dataset", c.get("Dataset", "ns", "d"))], now=NOW)
    assert the_plan.steps == []
    assert "AlluxioRuntime ns/d still exists and is not being deleted; delete it first" in the_plan.refused[0]


def test_a_pod_on_the_pvc_keeps_the_object_as_fluid_would():
    c = stuck()
    pod = obj("Pod", "ns", "reader", spec={"volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "d"}}]},
              status={"phase": "Running"})
    pod.pop("apiVersion")
    c.put(pod)
    c.put(dict(obj("Pod", "ns", "done", spec=pod["spec"]), status={"phase": "Succeeded"}))
    the_plan = force.plan(c, [("Dataset", c.get("Dataset", "ns", "d"))], now=NOW)
    assert the_plan.steps == []
    assert "pods still use the PVC ns/d (reader)" in the_plan.refused[0]


def test_datasets_that_mount_it_keep_it_unless_they_are_gone():
    c = stuck(runtime=False)
    d = c.get("Dataset", "ns", "d")
    d["status"]["datasetRef"] = ["other/ref", "other/gone"]
    c.put(d)
    c.put(obj("Dataset", "other", "ref"))
    the_plan = force.plan(c, [("Dataset", c.get("Dataset", "ns", "d"))], now=NOW)
    assert the_plan.steps == [] and "(status.datasetRef: other/ref);" in the_plan.refused[0]
    c.remove("Dataset", "other", "ref")
    the_plan = force.plan(c, [("Dataset", c.get("Dataset", "ns", "d"))], now=NOW)
    assert entries(the_plan.steps) == [("Dataset", "d", DATASET_FINALIZER)] and the_plan.refused == []


def test_an_object_without_fluids_finalizer_needs_nothing():
    c = stuck(runtime=False, dataset_finalizers=("example.com/keep",))
    the_plan = force.plan(c, [("Dataset", c.get("Dataset", "ns", "d"))], now=NOW)
    assert the_plan.steps == [] and the_plan.refused == []


def test_finalizers_changed_meanwhile_remove_nothing_and_keep_the_dataset():
    """A controller that came back between the read and the patch: the "test" op fails, nothing is removed, and
    the Dataset keeps its finalizer because its runtime kept its own."""
    c = stuck()
    the_plan = force.plan(c, [("Dataset", c.get("Dataset", "ns", "d"))], now=NOW)
    r = c.get("AlluxioRuntime", "ns", "d")
    r["metadata"]["finalizers"] = [RUNTIME_FINALIZER, "example.com/other"]
    c.put(r)
    removed, errors = force.apply(c, the_plan)
    assert removed == [] and len(errors) == 1 and "AlluxioRuntime ns/d: could not remove" in errors[0]
    assert c.get("Dataset", "ns", "d")["metadata"]["finalizers"] == [DATASET_FINALIZER]


def test_dry_run_removes_nothing():
    c = stuck()
    the_plan = force.plan(c, [("Dataset", c.get("Dataset", "ns", "d"))], now=NOW)
    removed, errors = force.apply(c, the_plan, dry_run=True)
    assert len(removed) == 2 and errors == []
    assert c.get("AlluxioRuntime", "ns", "d")["metadata"]["finalizers"] == [RUNTIME_FINALIZER]
    assert c.get("Dataset", "ns", "d")["metadata"]["finalizers"] == [DATASET_FINALIZER]


def test_leftovers_name_the_volume_fluid_would_have_deleted():
    c = stuck()
    c.put({"kind": "PersistentVolumeClaim", "metadata": {"name": "d", "namespace": "ns"}})
    c.put({"kind": "PersistentVolume", "metadata": {"name": "ns-d"}})
    the_plan = force.plan(c, [("Dataset", c.get("Dataset", "ns", "d"))], now=NOW)
    removed = force.apply(c, the_plan)[0]
    assert force.leftovers(c, removed) == ["PersistentVolumeClaim ns/d", "PersistentVolume ns-d"]


# ---------------------------------------------------------------- the diagnosis of a timed-out deletion

def test_a_stuck_deletion_is_explained_by_its_controllers_lease():
    from ansible_collections.cloudnative.fluid.plugins.module_utils import diagnose
    c = stuck(runtime_lease_ago=2)
    text = diagnose.diagnose(c, "AlluxioRuntime", "ns", "d", want="absent", now=NOW)
    assert "Fluid's alluxioruntime-controller is running: its Lease fluid-system/alluxio.data.fluid.io" in text
    assert "its log says why it keeps the finalizer alluxio-runtime-controller-finalizer" in text
    c.put(lease("alluxio.data.fluid.io", 40))
    text = diagnose.diagnose(c, "AlluxioRuntime", "ns", "d", want="absent", now=NOW)
    assert "Fluid's alluxioruntime-controller is stalled: its Lease fluid-system/alluxio.data.fluid.io was last " \
        "renewed 40 s ago" in text
    assert "Nobody will remove the finalizer alluxio-runtime-controller-finalizer" in text and "force: true" in text
    c.remove("Lease", "fluid-system", "alluxio.data.fluid.io")
    text = diagnose.diagnose(c, "AlluxioRuntime", "ns", "d", want="absent", now=NOW)
    assert "Fluid's alluxioruntime-controller is not running: neither its Lease" in text
