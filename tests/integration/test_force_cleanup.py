"""`force: true` of the dataset and runtime modules on the embedded cluster, with Fluid's real controllers.

Fluid's controllers run with leader election, as the chart runs them (hack/cluster/embedded/supervisor.py): each
renews its Lease fluid-system/<id>.data.fluid.io every 2 s. `cluster.py pause <controller>` SIGSTOPs one, so its
Lease goes stale as a hung pod's would. The tests:

1. both controllers paused, a Dataset and its AlluxioRuntime deleted: without force each deletion times out and the
   diagnosis names the stalled controller and its Lease; check mode with force reports what a run would remove and
   removes nothing; force removes the runtime's finalizer, then the Dataset's (Fluid's only: a finalizer of our own
   stays where it was), reports exactly those, and both objects are gone. The controllers are resumed and lead
   again before the test ends.
2. healthy controllers: force removes nothing and the controllers delete as they always do
   (removed_finalizers: []); a deletion they keep (a pod uses the Dataset's PVC) times out and force says the
   controller is healthy and was not applied.
"""
import json
import os
import subprocess
import sys
import time

import pytest

from conftest import ROOT, cluster_status
from test_dataset_module import fixture_mounts, k8s, namespace, run_module  # noqa: F401  (k8s, namespace: fixtures)

DRIVER = os.path.join(ROOT, "hack", "cluster", "cluster.py")
CONTROLLERS = ("dataset-controller", "alluxioruntime-controller")
LEASES = {"dataset-controller": "dataset.data.fluid.io", "alluxioruntime-controller": "alluxio.data.fluid.io"}
DATASET_FINALIZER = "fluid-dataset-controller-finalizer"
RUNTIME_FINALIZER = "alluxio-runtime-controller-finalizer"
OURS = "example.com/keep"  # a finalizer that is not Fluid's: force must leave it alone
# lease 15 s (controller-runtime's default) + the 10 s margin of module_utils/leader.py, and some slack
STALE_AFTER = 30


def driver(*args):
    r = subprocess.run([sys.executable, DRIVER] + list(args), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, "cluster.py %s failed: %s%s" % (" ".join(args), r.stdout, r.stderr)
    return r.stdout


def finalizers(obj):
    return ((obj or {}).get("metadata") or {}).get("finalizers") or []


def lease(k8s, controller):
    from kubernetes import client
    try:
        return client.CoordinationV1Api(k8s.api_client).read_namespaced_lease(LEASES[controller], "fluid-system")
    except k8s.ApiException as e:
        if e.status == 404:
            return None
        raise


def make_pair(cluster, k8s, namespace, name):
    """A Dataset and its AlluxioRuntime (no workers: nothing lands on the nodes), both with Fluid's finalizer."""
    rt = run_module(cluster, "runtime", {"name": name, "namespace": namespace, "kind": "AlluxioRuntime",
                                         "replicas": 0, "wait": False, "tiered_store": [
                                             {"medium": "MEM", "path": "/dev/shm", "quota": "1Gi"}]})
    assert not rt.failed, rt
    ds = run_module(cluster, "dataset", {"name": name, "namespace": namespace, "placement": "Shared", "wait": False,
                                         "mounts": fixture_mounts(cluster, ("hbase",))})
    assert not ds.failed, ds
    k8s.eventually("Fluid's finalizers on the Dataset and the runtime",
                   lambda: (k8s.get("datasets", namespace, name), k8s.get("alluxioruntimes", namespace, name)),
                   lambda p: DATASET_FINALIZER in finalizers(p[0]) and RUNTIME_FINALIZER in finalizers(p[1]),
                   timeout=120)


@pytest.fixture
def controllers_resumed(k8s):
    """Whatever the test paused runs again afterwards and holds its Lease (other tests run on this cluster)."""
    yield
    resumed = time.time()
    st = cluster_status()
    for c in CONTROLLERS:
        if st.get(c, "").startswith("Paused"):  # "Paused (restarts: N)" after a restart
            driver("resume", c)
    for c in CONTROLLERS:
        # a resumed leader finds it missed its renew deadline and exits; the supervisor starts it again and it
        # leads once the old Lease expired. Healthy: running, and its Lease renewed since the resume.
        k8s.eventually("%s running and renewing its Lease" % c, lambda c=c: (cluster_status().get(c, ""), lease(k8s, c)),
                       lambda p: p[0].startswith("Running") and p[1] is not None and p[1].spec.renew_time is not None
                       and p[1].spec.renew_time.timestamp() > resumed, timeout=180, interval=1)


ROLE_PLAY = """
- hosts: all
  gather_facts: false
  roles:
    - cloudnative.fluid.datasets
"""


def role_vars(tmp_path, namespace, state, **extra):
    data = dict(datasets_state=state, datasets_namespace=namespace, datasets_wait_timeout=5,
                datasets_list=[{"name": "byrole", "mounts": [{"name": "m", "mount_point": "https://example.com/m/"}],
                                "runtime": {"replicas": 0}}], **extra)
    path = tmp_path / ("vars-%s.json" % state)
    path.write_text(json.dumps(data))
    return "@%s" % path


def test_force_removes_fluid_finalizers_of_stalled_controllers(cluster, fluid, k8s, namespace, controllers_resumed,
                                                               ansible_playbook, tmp_path):
    name = "stuck"
    make_pair(cluster, k8s, namespace, name)
    make_pair(cluster, k8s, namespace, "byrole")  # for the datasets role below
    # a finalizer of someone else's on the Dataset: force never removes it (it is removed by the test below)
    k8s.custom.patch_namespaced_custom_object("data.fluid.io", "v1alpha1", namespace, "datasets", name,
                                              {"metadata": {"finalizers": [DATASET_FINALIZER, OURS]}})
    paused = time.time()
    for c in CONTROLLERS:
        driver("pause", c)

    # without force: the runtime's deletion times out, naming the stalled controller and its Lease
    rt = run_module(cluster, "runtime", {"name": name, "namespace": namespace, "kind": "AlluxioRuntime",
                                         "state": "absent", "wait_timeout": max(5, int(STALE_AFTER - (time.time() - paused)))})
    assert rt.failed, rt
    msg = rt["msg"]
    assert "alluxioruntime-controller is stalled" in msg and "fluid-system/alluxio.data.fluid.io" in msg, msg
    assert RUNTIME_FINALIZER in msg and "force: true" in msg, msg
    assert rt["removed_finalizers"] == [], rt
    runtime = k8s.get("alluxioruntimes", namespace, name)
    assert runtime["metadata"].get("deletionTimestamp") and finalizers(runtime) == [RUNTIME_FINALIZER], runtime

    ds_args = {"name": name, "namespace": namespace, "state": "absent", "wait_timeout": 5}
    ds = run_module(cluster, "dataset", ds_args)
    assert ds.failed and "dataset-controller is stalled" in ds["msg"], ds

    # check mode: what a run would remove, runtime first; nothing is removed
    would = run_module(cluster, "dataset", dict(ds_args, force=True), check=True, diff=True)
    assert not would.failed, would
    expected = [{"kind": "AlluxioRuntime", "namespace": namespace, "name": name, "finalizer": RUNTIME_FINALIZER},
                {"kind": "Dataset", "namespace": namespace, "name": name, "finalizer": DATASET_FINALIZER}]
    assert would["removed_finalizers"] == expected and would["changed"] is True, would
    assert finalizers(k8s.get("alluxioruntimes", namespace, name)) == [RUNTIME_FINALIZER]
    assert finalizers(k8s.get("datasets", namespace, name)) == [DATASET_FINALIZER, OURS]

    # force: the runtime's finalizer, then the Dataset's; ours stays, so the Dataset stays until it is removed
    forced = run_module(cluster, "dataset", dict(ds_args, force=True), diff=True)
    assert forced["removed_finalizers"] == expected, forced
    assert k8s.get("alluxioruntimes", namespace, name) is None
    dataset = k8s.get("datasets", namespace, name)
    assert finalizers(dataset) == [OURS], dataset
    assert forced.failed and OURS in forced["msg"], forced  # still there: the task says who holds it
    diffs = forced["diff"] if isinstance(forced["diff"], list) else [forced["diff"]]
    assert {"before": {"metadata": {"finalizers": [DATASET_FINALIZER, OURS]}},
            "after": {"metadata": {"finalizers": [OURS]}}} in [{k: d[k] for k in ("before", "after")} for d in diffs]

    # once ours is gone the Dataset goes; a second force run finds nothing left to remove
    k8s.custom.patch_namespaced_custom_object("data.fluid.io", "v1alpha1", namespace, "datasets", name,
                                              {"metadata": {"finalizers": []}})
    again = run_module(cluster, "dataset", dict(ds_args, force=True))
    assert not again.failed and again["removed_finalizers"] == [] and again["changed"] is False, again
    assert k8s.get("datasets", namespace, name) is None

    # the datasets role (what playbooks/teardown.yml runs) with datasets_force_cleanup: the alluxio_runtime role
    # forces the runtime, then the Datasets' task the Dataset
    run = ansible_playbook(ROLE_PLAY, "-v", "-e", role_vars(tmp_path, namespace, "absent", datasets_force_cleanup=True))
    assert run.rc == 0, run
    assert k8s.get("alluxioruntimes", namespace, "byrole") is None and k8s.get("datasets", namespace, "byrole") is None
    assert '"finalizer": "%s"' % RUNTIME_FINALIZER in run.stdout and '"finalizer": "%s"' % DATASET_FINALIZER \
        in run.stdout, run


def test_force_never_touches_a_healthy_controllers_objects(cluster, fluid, k8s, namespace, controllers_resumed):
    name = "healthy"
    make_pair(cluster, k8s, namespace, name)
    rt = run_module(cluster, "runtime", {"name": name, "namespace": namespace, "kind": "AlluxioRuntime",
                                         "state": "absent", "force": True, "wait_timeout": 120})
    assert not rt.failed, rt
    assert rt["removed_finalizers"] == [] and rt["changed"] is True, rt  # deleted by its controller
    assert k8s.get("alluxioruntimes", namespace, name) is None

    # a pod on the Dataset's PVC: the dataset-controller keeps the Dataset while it runs
    # (pkg/utils/kubeclient/volume.go ShouldDeleteDataset); a PVC with Fluid's annotation stands for the one Fluid
    # creates for a bound Dataset
    k8s.core.create_namespaced_persistent_volume_claim(namespace, {
        "metadata": {"name": name, "annotations": {"CreatedBy": "fluid"}},
        "spec": {"accessModes": ["ReadOnlyMany"], "resources": {"requests": {"storage": "1Gi"}},
                 "storageClassName": "fluid"}})
    k8s.core.create_namespaced_pod(namespace, {
        "metadata": {"name": "reader"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}],
                 "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": name}}]}})

    ds = run_module(cluster, "dataset", {"name": name, "namespace": namespace, "state": "absent", "force": True,
                                         "wait_timeout": 5})
    assert ds.failed, ds
    msg = ds["msg"]
    assert "dataset-controller is running" in msg and "so force was not applied" in msg, msg
    assert "fluid-system/dataset.data.fluid.io" in msg, msg
    assert ds["removed_finalizers"] == [], ds
    assert finalizers(k8s.get("datasets", namespace, name)) == [DATASET_FINALIZER]

    # the pod gone, the controller deletes the Dataset itself and force has nothing to do
    k8s.core.delete_namespaced_pod("reader", namespace, grace_period_seconds=0)
    ds = run_module(cluster, "dataset", {"name": name, "namespace": namespace, "state": "absent", "force": True,
                                         "wait_timeout": 120})
    assert not ds.failed and ds["removed_finalizers"] == [], ds
    assert k8s.get("datasets", namespace, name) is None


def test_force_is_refused_without_state_absent(cluster, fluid, k8s, namespace, ansible_playbook, tmp_path):
    r = run_module(cluster, "dataset", {"name": "x", "namespace": namespace, "force": True,
                                        "mounts": fixture_mounts(cluster, ("hbase",))})
    assert r.failed and "force: applies to state: absent only" in r["msg"] and "set state: absent" in r["msg"], r
    r = run_module(cluster, "runtime", {"name": "x", "namespace": namespace, "kind": "AlluxioRuntime",
                                        "state": "absent", "force": True, "wait": False})
    assert r.failed and "force:" in r["msg"] and "wait: true" in r["msg"], r
    assert k8s.get("datasets", namespace, "x") is None
    run = ansible_playbook(ROLE_PLAY, "-e", role_vars(tmp_path, namespace, "present", datasets_force_cleanup=True))
    assert run.rc != 0 and "datasets_force_cleanup: applies to datasets_state: absent only" in run.stdout, run
    assert k8s.get("datasets", namespace, "byrole") is None
