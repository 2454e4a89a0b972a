"""JuiceFSRuntime and ThinRuntime (with a ThinRuntimeProfile) through the modules' default waits,
against Fluid v1.0.8's own juicefsruntime-controller and thinruntime-controller on the embedded
cluster (the JuiceFS simulator answers the controller's execs: hack/cluster/juicefs_sim/README.md).
"""
import time

from conftest import cluster_status
from test_dataset_module import k8s, namespace, run_module  # noqa: F401  (fixtures shared with that file)

HBASE_BYTES, HBASE_FILES = 34560, 4  # hack/cluster/fixtures/hbase: 33.75KiB in 4 files


def controller_running(name, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cluster_status().get(name, "").startswith("Running"):
            return
        time.sleep(1)
    raise AssertionError("%s not running: %s" % (name, cluster_status().get(name)))


def juicefs_dataset(cluster, namespace, **extra):
    secret = {"name": "jfs-secret", "string_data": {"metaurl": "redis://redis.example:6379/1",
                                                   "access-key": "minioadmin", "secret-key": "minio-secret-value"}}
    args = {"name": "jfsdemo", "namespace": namespace, "secrets": [secret], "mounts": [{
        "name": "minio", "mount_point": "juicefs:///",
        "options": {"storage": "minio", "bucket": cluster["fixtures"] + "/hbase/"},
        "encrypt_options": [{"name": n, "secret_name": "jfs-secret", "secret_key": n}
                            for n in ("metaurl", "access-key", "secret-key")]}]}
    args.update(extra)
    return args


def info(cluster, namespace, name):
    r = run_module(cluster, "dataset_info", {"name": name, "namespace": namespace})
    assert not r.failed, r
    return r["datasets"][0]


def test_juicefs_runtime_and_dataset_bound_by_default_waits(cluster, fluid, k8s, namespace):
    controller_running("juicefsruntime-controller")
    ds_args = juicefs_dataset(cluster, namespace)
    created = run_module(cluster, "dataset", dict(ds_args, wait=False))
    assert not created.failed and created["changed"], created
    assert "minio-secret-value" not in created.out  # the Secret's values never reach the output
    rt_args = {"name": "jfsdemo", "namespace": namespace, "kind": "JuiceFSRuntime", "replicas": 1,
               "tiered_store": [{"medium": "MEM", "path": "/dev/shm", "quota": "2Gi", "low": 0.1}]}
    rt = run_module(cluster, "runtime", rt_args)  # default wait: ready as Fluid decides it
    assert not rt.failed, rt
    assert rt["runtimes"][0]["ready"] is True and rt["runtimes"][0]["kind"] == "JuiceFSRuntime"
    ds = run_module(cluster, "dataset", ds_args)  # default wait: Bound
    assert not ds.failed and ds["changed"] is False, ds
    assert ds["datasets"][0]["phase"] == "Bound"

    status = k8s.get("juicefsruntimes", namespace, "jfsdemo")["status"]
    assert status["workerPhase"] in ("Ready", "PartialReady") and status["setupDuration"]
    assert status["masterPhase"] == "" and status["valueFile"] == "jfsdemo-juicefs-values"
    # the metadata sync (df and ls -lR in the worker pod, answered by the simulator) is asynchronous
    k8s.eventually("ufsTotal and fileNum of the JuiceFS volume",
                   lambda: k8s.get("datasets", namespace, "jfsdemo"),
                   lambda o: (o.get("status") or {}).get("fileNum") == str(HBASE_FILES))
    got = info(cluster, namespace, "jfsdemo")
    assert got["phase"] == "Bound" and got["ufs_total"]["bytes"] == HBASE_BYTES
    assert got["file_num"] == HBASE_FILES and got["cache_capacity"]["human"] == "2.00GiB"
    assert got["runtime"]["kind"] == "JuiceFSRuntime" and got["runtime"]["worker"]["ready"] == 1

    again = run_module(cluster, "runtime", rt_args)
    assert not again.failed and again["changed"] is False, again

    gone = run_module(cluster, "runtime", dict(rt_args, state="absent"))
    assert not gone.failed and gone["changed"], gone
    assert k8s.get("juicefsruntimes", namespace, "jfsdemo") is None


def test_thin_runtime_with_a_profile_bound_by_default_waits(cluster, fluid, k8s, namespace):
    controller_running("thinruntime-controller")
    profile = "nfs-" + namespace  # cluster-scoped: one per test namespace
    made = run_module(cluster, "thinruntime_profile", {
        "name": profile, "file_system_type": "nfs",
        "fuse": {"image": "fluidcloudnative/nfs", "image_tag": "v0.1", "command": ["/usr/local/bin/entrypoint.sh"]}})
    assert not made.failed and made["changed"], made
    try:
        ds_args = {"name": "nfs-demo", "namespace": namespace,
                   "mounts": [{"name": "nfs-demo", "mount_point": "192.168.1.2:/export"}]}
        assert not run_module(cluster, "dataset", dict(ds_args, wait=False)).failed
        rt_args = {"name": "nfs-demo", "namespace": namespace, "kind": "ThinRuntime",
                   "spec": {"profileName": profile}}
        rt = run_module(cluster, "runtime", rt_args)
        assert not rt.failed and rt["runtimes"][0]["ready"] is True, rt
        ds = run_module(cluster, "dataset", ds_args)
        assert not ds.failed and ds["changed"] is False and ds["datasets"][0]["phase"] == "Bound", ds

        status = k8s.get("thinruntimes", namespace, "nfs-demo")["status"]
        assert status["fusePhase"] == "Ready" and status["setupDuration"] and status["workerPhase"] == ""
        got = info(cluster, namespace, "nfs-demo")
        assert got["phase"] == "Bound" and got["runtime"]["kind"] == "ThinRuntime"
        assert got["runtime"]["master"] is None
        again = run_module(cluster, "runtime", rt_args)
        assert not again.failed and again["changed"] is False, again
        assert not run_module(cluster, "runtime", dict(rt_args, state="absent")).failed
    finally:
        assert not run_module(cluster, "thinruntime_profile", {"name": profile, "state": "absent"}).failed
