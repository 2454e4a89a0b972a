"""module_utils/diagnose.py: why an object is not there yet, from what the API shows."""
import time

import pytest

from ansible_collections.cloudnative.fluid.plugins.module_utils import diagnose
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid as F

from fakes import DATASET_FINALIZER, SEED_RUNTIME_STATUS, FakeCluster, cluster_with_nodes, obj, seed_dataset, \
    seed_runtime


def test_diagnose_dataset_without_runtime():
    c = cluster_with_nodes()
    c.put(seed_dataset({"phase": "NotBound", "conditions": []}))
    text = diagnose.diagnose(c, "Dataset", "default", "cifar10", want="bound")
    assert "phase NotBound" in text
    assert "No runtime named cifar10 exists in namespace default" in text
    assert "cloudnative.fluid.runtime" in text
    assert "1 of 2 node(s) match the dataset's spec.nodeAffinity" in text
    assert "No controller has reconciled" not in text


def test_diagnose_dataset_with_partial_runtime_and_pending_pod():
    c = cluster_with_nodes()
    c.put(seed_dataset({"phase": "NotBound", "conditions": []}))
    c.put(seed_runtime(SEED_RUNTIME_STATUS))
    c.put(obj("Pod", "default", "cifar10-worker-1", status={
        "phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                                            "message": "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity."}]}))
    c.put(obj("Pod", "default", "cifar10-worker-0", status={"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}))
    text = diagnose.diagnose(c, "Dataset", "default", "cifar10", want="bound")
    assert "AlluxioRuntime default/cifar10: master Ready 1/1 ready, worker PartialReady 1/2 ready, fuse Ready 1/2 ready" in text
    assert "MasterReady=True" in text
    assert "Only 1 node(s) can host the 2 requested worker(s)" in text
    assert "Pod not ready: cifar10-worker-1 Pending: 0/2 nodes are available" in text
    assert "cifar10-worker-0" not in text


def test_diagnose_runtime_without_dataset():
    c = cluster_with_nodes(gpu_nodes=2)
    c.put(seed_runtime())
    text = diagnose.diagnose(c, "AlluxioRuntime", "default", "cifar10", want="ready")
    assert "No Dataset named cifar10 exists in namespace default" in text
    assert "cloudnative.fluid.dataset" in text
    assert "No controller has reconciled AlluxioRuntime default/cifar10: no status written" in text
    assert "alluxioruntime-controller Deployment in namespace fluid-system" in text


def test_diagnose_no_status_means_controllers_absent():
    c = cluster_with_nodes()
    c.put(seed_dataset())
    text = diagnose.diagnose(c, "Dataset", "default", "cifar10", want="bound")
    assert "phase (none: no status written yet)" in text
    assert "No controller has reconciled Dataset default/cifar10: no status written" in text
    assert "Fluid's dataset-controller is missing, stopped or hung" in text
    assert "cloudnative.fluid.fluid" in text


def test_diagnose_crds_missing():
    c = FakeCluster(fluid_installed=False)
    text = diagnose.diagnose(c, "Dataset", "default", "cifar10", want="bound")
    assert text == F.INSTALL_HINT
    assert "cloudnative.fluid.fluid" in text and "CRDs" in text


def test_diagnose_deletion_blocked_by_pod_using_pvc():
    c = cluster_with_nodes()
    ds = seed_dataset({"phase": "Bound"})
    ds["metadata"]["finalizers"] = [DATASET_FINALIZER]
    ds["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    c.put(ds)
    c.put(obj("Pod", "default", "nginx-0", spec={"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "cifar10"}}]},
              status={"phase": "Running"}))
    c.put(obj("Pod", "default", "done-0", spec={"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "cifar10"}}]},
              status={"phase": "Succeeded"}))
    c.put(obj("Pod", "default", "other", spec={"volumes": [{"name": "x", "persistentVolumeClaim": {"claimName": "other"}}]},
              status={"phase": "Running"}))
    c.put(obj("Event", "default", "e1", type="Warning", reason="ErrorDeleteDataset",
              message="Failed to delete dataset because err: can not delete dataset because Pod nginx-0 in Namespace default is using it",
              involvedObject={"kind": "Dataset", "name": "cifar10"}))
    text = diagnose.diagnose(c, "Dataset", "default", "cifar10", want="absent")
    assert "finalizers: fluid-dataset-controller-finalizer" in text
    assert "deletion requested" in text
    assert "Pods still use the PVC default/cifar10" in text and "nginx-0 (Running)" in text
    assert "done-0" not in text and "other" not in text
    assert "Warning event: ErrorDeleteDataset" in text


def test_diagnose_deletion_done_and_gone_objects():
    c = FakeCluster()
    assert diagnose.diagnose(c, "Dataset", "default", "gone", want="absent") == "Dataset default/gone is gone."
    assert "does not exist" in diagnose.diagnose(c, "Dataset", "default", "gone", want="bound")


def test_diagnose_survives_read_errors():
    class Forbidden(FakeCluster):
        def list(self, kind, namespace, **kw):
            if kind == "Node":
                raise PermissionError("403 Forbidden")
            return super(Forbidden, self).list(kind, namespace, **kw)
    c = Forbidden()
    c.put(seed_dataset({"phase": "NotBound"}))
    text = diagnose.diagnose(c, "Dataset", "default", "cifar10", want="bound")
    assert "could not read nodes: 403 Forbidden" in text
    assert "phase NotBound" in text


# ---------------------------------------------------------------- controllers named by the diagnosis

NOW = 1700000000  # 2023-11-14T22:13:20Z


def _at(seconds_before):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - seconds_before))


def test_diagnose_names_the_runtime_controller_that_never_reconciled():
    c = cluster_with_nodes(gpu_nodes=2)
    c.put(seed_dataset({"phase": "NotBound", "conditions": []}))
    rt = seed_runtime()
    rt["metadata"]["creationTimestamp"] = _at(95)
    c.put(rt)
    text = diagnose.diagnose(c, "Dataset", "default", "cifar10", want="bound", now=NOW)
    assert ("No controller has reconciled AlluxioRuntime default/cifar10: no status written in the 95 s since it "
            "was created. Fluid's alluxioruntime-controller is missing, stopped or hung") in text
    assert "kubectl -n fluid-system get deploy alluxioruntime-controller" in text
    assert "fluid_runtimes_enabled must include alluxio" in text
    assert "dataset-controller is missing" not in text  # the Dataset has a status: its controller works


def test_diagnose_names_a_stalled_runtime_controller_only_after_a_while():
    rt = seed_runtime(SEED_RUNTIME_STATUS)  # workers PartialReady: not ready
    rt["metadata"]["managedFields"] = [
        {"manager": "kubectl", "operation": "Update", "time": _at(10)},  # spec writes do not count
        {"manager": "alluxioruntime-controller", "operation": "Update", "subresource": "status", "time": _at(600)},
        {"manager": "alluxioruntime-controller", "operation": "Update", "subresource": "status", "time": _at(300)},
    ]
    assert F.status_written(rt) == (NOW - 300, "alluxioruntime-controller")
    c = cluster_with_nodes()
    c.put(seed_dataset({"phase": "NotBound", "conditions": []}))
    c.put(rt)
    text = diagnose.diagnose(c, "Dataset", "default", "cifar10", want="bound", now=NOW)
    assert ("AlluxioRuntime default/cifar10 is not ready and its status was last written 300 s ago (by "
            "alluxioruntime-controller): either nothing progresses") in text
    assert "alluxioruntime-controller is stalled" in text
    # a recent write: the controller is alive, nothing to say about it
    text = diagnose.diagnose(c, "Dataset", "default", "cifar10", want="bound", now=NOW - 300 + diagnose.STALLED_SECONDS - 1)
    assert "stalled" not in text and "No controller has reconciled" not in text
    # a ready runtime is never called stalled, however old its status
    ready = dict(SEED_RUNTIME_STATUS, workerPhase="Ready", workerNumberReady=2)
    rt["status"] = ready
    c.put(rt)
    assert "stalled" not in diagnose.diagnose(c, "Dataset", "default", "cifar10", want="bound", now=NOW)


def test_diagnose_dataload_includes_its_dataset_and_loader_notes():
    c = cluster_with_nodes()
    c.put(seed_dataset({"phase": "NotBound", "conditions": []}))
    c.put(obj("DataLoad", "default", "warmup", spec={"dataset": {"name": "cifar10", "namespace": "default"}},
              status={"phase": "Pending"}))
    text = diagnose.diagnose(c, "DataLoad", "default", "warmup", want="complete", now=NOW)
    assert "DataLoad default/warmup: phase Pending" in text
    assert "Dataset default/cifar10 is NotBound, not Bound" in text
    assert "No controller has reconciled" not in text
    c.put(obj("DataLoad", "default", "fresh", spec={"dataset": {"name": "missing"}}))
    text = diagnose.diagnose(c, "DataLoad", "default", "fresh", want="complete", now=NOW)
    assert "Dataset default/missing does not exist" in text
    assert "No controller has reconciled DataLoad default/fresh" in text and "dataset-controller" in text


def test_diagnose_a_pending_operation_names_its_run_after_or_the_runtime_check():
    c = cluster_with_nodes()
    c.put(seed_dataset({"phase": "Bound", "conditions": []}))
    after = {"kind": "DataProcess", "name": "unpack", "namespace": "default"}
    c.put(obj("DataMigrate", "default", "out", spec={"from": {"dataset": {"name": "cifar10"}}, "runAfter": after},
              status={"phase": "Pending", "waitingFor": {"operationComplete": True}}))
    text = diagnose.diagnose(c, "DataMigrate", "default", "out", want="complete", now=NOW)
    assert "Waiting for its run_after, DataProcess default/unpack, which does not exist" in text, text
    c.put(obj("DataProcess", "default", "unpack", status={"phase": "Failed"}))
    text = diagnose.diagnose(c, "DataMigrate", "default", "out", want="complete", now=NOW)
    assert "DataProcess default/unpack, to be Complete: it is Failed. Fluid never starts an operation after a " \
        "Failed one" in text, text
    c.put(obj("DataMigrate", "default", "out", spec={"from": {"dataset": {"name": "cifar10"}}},
              status={"phase": "Pending", "waitingFor": {}}))
    text = diagnose.diagnose(c, "DataMigrate", "default", "out", want="complete", now=NOW)
    assert "Pending until the Dataset's runtime passes the readiness check" in text, text


def test_diagnose_does_not_blame_a_controller_that_reported_why():
    """Fluid's runtime controller runs but writes no status while the Dataset of the runtime's name is missing;
    its own event says so, and the diagnosis must not call that controller missing or hung."""
    c = cluster_with_nodes()
    c.put(seed_runtime())
    c.put(obj("Event", "default", "e1", type="Warning", reason="ErrorProcessRuntime",
              message='fail to get dataset: datasets.data.fluid.io "cifar10" not found',
              involvedObject={"kind": "AlluxioRuntime", "name": "cifar10"}))
    text = diagnose.diagnose(c, "AlluxioRuntime", "default", "cifar10", want="ready", now=NOW)
    assert "No Dataset named cifar10 exists in namespace default" in text
    assert "Warning event: ErrorProcessRuntime: fail to get dataset" in text
    assert "missing, stopped or hung" not in text and "No controller has reconciled" not in text
    assert "alluxioruntime-controller is running" in text


# ---------------------------------------------------------------- every runtime kind: its controller and what starts it

# kind -> (its controller's Deployment in Fluid v1.0.8's chart, its name in runtime.<name>.enabled and in the
# fluid role's fluid_runtimes_enabled); written out, not derived, so that a wrong derivation shows
CONTROLLERS = {
    "AlluxioRuntime": ("alluxioruntime-controller", "alluxio"),
    "JindoRuntime": ("jindoruntime-controller", "jindo"),
    "JuiceFSRuntime": ("juicefsruntime-controller", "juicefs"),
    "ThinRuntime": ("thinruntime-controller", "thin"),
    "GooseFSRuntime": ("goosefsruntime-controller", "goosefs"),
    "EFCRuntime": ("efcruntime-controller", "efc"),
    "VineyardRuntime": ("vineyardruntime-controller", "vineyard"),
}


def test_every_runtime_kind_has_a_controller_and_a_chart_name_the_fluid_role_knows():
    import os
    import yaml
    assert set(CONTROLLERS) == set(F.ALL_RUNTIME_KINDS)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    with open(os.path.join(root, "roles", "fluid", "vars", "main.yml")) as fh:
        known = yaml.safe_load(fh)["__fluid_known_runtimes"]
    for kind, (controller, short) in CONTROLLERS.items():
        assert F.controller_name(kind) == controller and diagnose.chart_runtime(kind) == short
        assert short in known, kind
    assert diagnose.chart_runtime("Dataset") is None


def _unreconciled(kind):
    c = cluster_with_nodes()
    c.put(seed_dataset({"phase": "NotBound", "conditions": []}))
    rt = obj(kind, "default", "cifar10", spec={})
    rt["metadata"]["creationTimestamp"] = _at(42)
    c.put(rt)
    return c


def _assert_names_controller_and_switch(text, kind):
    controller, short = CONTROLLERS[kind]
    assert ("No controller has reconciled %s default/cifar10: no status written in the 42 s since it was created. "
            "Fluid's %s is missing, stopped or hung" % (kind, controller)) in text
    assert "kubectl -n fluid-system get deploy %s" % controller in text
    assert "value runtime.%s.enabled=true" % short in text
    assert "role cloudnative.fluid.fluid: fluid_runtimes_enabled must include %s" % short in text
    assert "the dataset-controller scales it out on demand, for a Dataset whose runtime is of kind %s" % kind in text
    assert "dataset-controller is missing" not in text  # the Dataset has a status: its controller works


@pytest.mark.parametrize("kind", sorted(CONTROLLERS))
def test_a_dataset_waiting_on_a_runtime_nobody_reconciles_names_its_controller(kind):
    text = diagnose.diagnose(_unreconciled(kind), "Dataset", "default", "cifar10", want="bound", now=NOW)
    assert "%s default/cifar10: " % kind in text  # the runtime was found, whatever its kind
    _assert_names_controller_and_switch(text, kind)


@pytest.mark.parametrize("kind", sorted(CONTROLLERS))
def test_a_runtime_nobody_reconciles_names_its_controller(kind):
    text = diagnose.diagnose(_unreconciled(kind), kind, "default", "cifar10", want="ready", now=NOW)
    _assert_names_controller_and_switch(text, kind)


def test_a_stalled_runtime_controller_is_named_with_its_switch():
    rt = obj("ThinRuntime", "default", "cifar10", spec={}, status={"fusePhase": "NotReady"})
    rt["metadata"]["managedFields"] = [
        {"manager": "thinruntime-controller", "operation": "Update", "subresource": "status", "time": _at(400)}]
    c = cluster_with_nodes()
    c.put(seed_dataset({"phase": "NotBound", "conditions": []}))
    c.put(rt)
    text = diagnose.diagnose(c, "ThinRuntime", "default", "cifar10", want="ready", now=NOW)
    assert "or the thinruntime-controller is stalled; check the thinruntime-controller Deployment" in text
    assert "runtime.thin.enabled=true" in text and "fluid_runtimes_enabled must include thin" in text
