"""cloudnative.fluid.databackup on the embedded cluster with the REAL Fluid v1.0.8 dataset controller.

Fluid 1.0.0 to 1.0.8 crash their dataset-controller on any DataBackup that is Executing or Failed, and again
after every restart until the DataBackup is deleted (plugins/module_utils/backup.py BUG; the crash was
observed on this cluster: the dataset-controller's log shows the nil pointer panic at
pkg/controllers/v1alpha1/databackup/status_handler.go:43). Other tests share this cluster, so no test here lets a
DataBackup reach Fluid: they prove that the module refuses before writing anything, that check mode writes
nothing, that Datasets without a runtime that backs up are refused, and that the controller did not restart."""
import uuid

import pytest

from conftest import cluster_status
from observe_env import WAIT, ensure_fluid, remove_workload_and_datasets, run_module


def controller_restarts():
    """The dataset-controller's restart count, from `cluster.py status` ("Running (restarts: 15)")."""
    text = cluster_status().get("dataset-controller", "")
    assert text.startswith("Running"), text
    return int(text.partition("restarts: ")[2].rstrip(")") or 0)


@pytest.fixture(scope="module")
def env(kube, cluster):
    """A namespace with Dataset spark Bound to an AlluxioRuntime (a runtime Fluid backs up)."""
    ensure_fluid(kube, cluster)
    ns = "backup-%s" % uuid.uuid4().hex[:5]
    kube.run("create", "namespace", ns)
    fx = cluster["fixtures"].rstrip("/")
    kube.apply({"apiVersion": "data.fluid.io/v1alpha1", "kind": "Dataset", "metadata": {"name": "spark", "namespace": ns},
                "spec": {"mounts": [{"name": "spark", "mountPoint": fx + "/spark/"}], "placement": "Shared"}})
    kube.apply({"apiVersion": "data.fluid.io/v1alpha1", "kind": "AlluxioRuntime",
                "metadata": {"name": "spark", "namespace": ns},
                "spec": {"replicas": 1, "tieredstore": {"levels": [
                    {"mediumtype": "MEM", "path": "/dev/shm", "quota": "1Gi", "high": "0.95", "low": "0.7"}]}}})
    kube.wait_for(("dataset", "-n", ns, "spark"), lambda d: d["status"]["phase"] == "Bound"
                  and d["status"]["runtimes"][0]["type"] == "alluxio", timeout=WAIT)
    yield ns
    remove_workload_and_datasets(kube, ns, [(ns, "spark")])
    kube.run("delete", "namespace", ns, "--ignore-not-found", "--wait=false", check=False)


def backups(kube, ns):
    return [b["metadata"]["name"] for b in kube.get("databackups", "-n", ns)["items"]]


def test_refused_without_the_opt_in_and_nothing_is_written(env, kube, cluster):
    restarts = controller_restarts()
    args = {"name": "spark-backup", "namespace": env, "dataset": "spark", "backup_path": "local:///tmp/fluid-backup"}
    r = run_module(cluster, "databackup", args)
    assert r.failed and not r.get("changed"), r
    msg = r["msg"]
    assert msg.startswith("Refusing to create DataBackup %s/spark-backup; nothing was written." % env), msg
    assert "implement.go:139-141" in msg and "set allow_controller_crash: true" in msg, msg
    assert backups(kube, env) == []
    # the same in check mode: the real run would be refused
    r = run_module(cluster, "databackup", args, check=True)
    assert r.failed and "Refusing to create" in r["msg"], r
    assert backups(kube, env) == []
    assert controller_restarts() == restarts


def test_check_mode_with_the_opt_in_reports_a_backup_and_writes_nothing(env, kube, cluster):
    restarts = controller_restarts()
    args = {"name": "spark-backup", "namespace": env, "dataset": "spark", "backup_path": "pvc://backup-pvc/spark",
            "run_as": {"uid": 1000, "gid": 1000, "user": "alluxio", "group": "alluxio"},
            "allow_controller_crash": True}
    r = run_module(cluster, "databackup", args, check=True, diff=True)
    assert not r.failed and r["changed"] and r["exists"] and r["phase"] == "", r
    # the API server's dry run accepted the object Fluid's CRD validates
    assert r["diff"]["after"]["spec"] == {"dataset": "spark", "backupPath": "pvc://backup-pvc/spark",
                                          "runAs": {"uid": 1000, "gid": 1000, "user": "alluxio", "group": "alluxio"}}
    assert r["backup_location_path"] is None and r["backup_location_node"] is None
    assert backups(kube, env) == []
    assert controller_restarts() == restarts


def test_datasets_without_a_runtime_that_backs_up_are_refused(env, kube, cluster):
    """A Dataset not bound yet, and one bound to a ThinRuntime (Fluid's Thin engine has no DataBackup)."""
    kube.apply({"apiVersion": "data.fluid.io/v1alpha1", "kind": "Dataset", "metadata": {"name": "nfs", "namespace": env},
                "spec": {"mounts": [{"name": "nfs", "mountPoint": "192.168.1.2:/export"}]}})
    kube.wait_for(("dataset", "-n", env, "nfs"), lambda d: d["status"]["phase"] == "NotBound", timeout=WAIT)
    args = {"name": "nfs-backup", "namespace": env, "dataset": "nfs", "backup_path": "local:///tmp/fluid-backup",
            "allow_controller_crash": True}
    r = run_module(cluster, "databackup", args)
    assert r.failed and r["msg"].startswith("dataset: Dataset %s/nfs is not bound to a runtime yet" % env), r

    profile = "nfs-" + env
    made = run_module(cluster, "thinruntime_profile", {
        "name": profile, "file_system_type": "nfs",
        "fuse": {"image": "fluidcloudnative/nfs", "image_tag": "v0.1", "command": ["/usr/local/bin/entrypoint.sh"]}})
    assert not made.failed, made
    try:
        rt = run_module(cluster, "runtime", {"name": "nfs", "namespace": env, "kind": "ThinRuntime",
                                             "spec": {"profileName": profile}})
        assert not rt.failed, rt
        kube.wait_for(("dataset", "-n", env, "nfs"), lambda d: d["status"]["phase"] == "Bound", timeout=WAIT)
        r = run_module(cluster, "databackup", args)
        assert r.failed, r
        assert r["msg"].startswith("dataset: Dataset %s/nfs is bound to a ThinRuntime, and Fluid backs up only "
                                   "Datasets of an AlluxioRuntime or a GooseFSRuntime" % env), r
        assert backups(kube, env) == []
    finally:
        run_module(cluster, "runtime", {"name": "nfs", "namespace": env, "kind": "ThinRuntime", "state": "absent"})
        kube.run("delete", "-n", env, "dataset/nfs", "--ignore-not-found", "--timeout=120s", check=False, timeout=150)
        assert not run_module(cluster, "thinruntime_profile", {"name": profile, "state": "absent"}).failed


def test_absent_of_a_missing_backup_is_ok(env, cluster):
    r = run_module(cluster, "databackup", {"name": "spark-backup", "namespace": env, "state": "absent"})
    assert not r.failed and r["changed"] is False and r["exists"] is False, r
