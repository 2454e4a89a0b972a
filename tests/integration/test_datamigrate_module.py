"""cloudnative.fluid.datamigrate on the embedded cluster with the REAL Fluid dataset controller and
juicefsruntime-controller: a JuiceFS Dataset Bound (the JuiceFS simulator answers the runtime
controller's execs, hack/cluster/juicefs_sim/README.md), then a data flow on it, DataLoad ->
DataProcess (run_after the load) -> DataMigrate (run_after the process), each run by Fluid as a Job
that KWOK completes. Fluid renders the migrate Job from the Dataset's JuiceFS configuration (its
<name>-juicefs-values ConfigMap) and the external storage's Secret references, and holds the Dataset in
phase DataMigrating while it runs. A DataMigrate on a Dataset served by another runtime is refused
before anything is written."""
import subprocess

import pytest

from observe_env import ensure_fluid, run_module
from test_dataset_module import drop_namespace, make_namespace, Kube as ApiKube
from test_runtime_kinds import controller_running, juicefs_dataset

WAIT = 400
URI = "s3://archive.minio.example:9000/jfsdemo/"
SCRIPT = {"image": "busybox", "image_tag": "1.36", "command": ["sh"], "source": "ls -lR /data"}


@pytest.fixture(scope="module")
def ns(kube, cluster):
    ensure_fluid(kube, cluster)
    controller_running("juicefsruntime-controller")
    api = ApiKube(cluster["kubeconfig"])
    name = make_namespace(api)
    # an Alluxio Dataset for the refusal test, bound by Fluid while the JuiceFS one comes up
    fx = cluster["fixtures"].rstrip("/")
    kube.apply({"apiVersion": "data.fluid.io/v1alpha1", "kind": "Dataset", "metadata": {"name": "spark", "namespace": name},
                "spec": {"mounts": [{"name": "spark", "mountPoint": fx + "/spark/"}]}})
    kube.apply({"apiVersion": "data.fluid.io/v1alpha1", "kind": "AlluxioRuntime",
                "metadata": {"name": "spark", "namespace": name},
                "spec": {"replicas": 1, "tieredstore": {"levels": [
                    {"mediumtype": "MEM", "path": "/dev/shm", "quota": "1Gi", "high": "0.95", "low": "0.7"}]}}})
    ds = juicefs_dataset(cluster, name)
    assert not run_module(cluster, "dataset", dict(ds, wait=False)).failed
    rt = run_module(cluster, "runtime", {"name": "jfsdemo", "namespace": name, "kind": "JuiceFSRuntime", "replicas": 1,
                                         "tiered_store": [{"medium": "MEM", "path": "/dev/shm", "quota": "1Gi"}],
                                         "wait_timeout": WAIT})
    assert not rt.failed, rt
    bound = run_module(cluster, "dataset", dict(ds, wait_timeout=WAIT))
    assert not bound.failed and bound["datasets"][0]["phase"] == "Bound", bound
    yield name
    drop_namespace(api, name)


def flow(ns):
    load = {"name": "warm", "namespace": ns, "dataset": "jfsdemo", "wait": False}
    proc = {"name": "list", "namespace": ns, "dataset": "jfsdemo", "mount_path": "/data", "script": SCRIPT,
            "run_after": {"kind": "DataLoad", "name": "warm"}, "wait": False}
    mig = {"name": "archive", "namespace": ns, "from": {"dataset": "jfsdemo"},
           "to": {"uri": URI, "encrypt_options": [{"name": n, "secret_name": "jfs-secret", "secret_key": n}
                                                  for n in ("access-key", "secret-key")]},
           "options": {"threads": 4}, "run_after": {"kind": "DataProcess", "name": "list"}, "wait_timeout": WAIT}
    return load, proc, mig


def identity(kube, ns, kind, name):
    meta = kube.get(kind, "-n", ns, name)["metadata"]
    return meta["uid"], meta["creationTimestamp"]


def test_load_process_migrate_complete_in_order_then_unchanged(kube, cluster, ns):
    load, proc, mig = flow(ns)
    assert not run_module(cluster, "dataload", load).failed
    assert not run_module(cluster, "dataprocess", proc).failed
    # every phase the Dataset passes through while the flow runs, from a watch
    watch = subprocess.Popen([cluster["kubectl"], "--kubeconfig", cluster["kubeconfig"], "get", "dataset", "-n", ns,
                              "jfsdemo", "--watch", "-o", "jsonpath={.status.phase}{\"\\n\"}"],
                             stdout=subprocess.PIPE, text=True)
    try:
        r = run_module(cluster, "datamigrate", mig)
    finally:
        watch.terminate()
    phases = [p for p in watch.communicate()[0].splitlines() if p]
    assert not r.failed, r
    assert r["changed"] and r["phase"] == "Complete" and r["dataset"] == "jfsdemo", r
    assert r["from"] == "Dataset %s/jfsdemo:/" % ns and r["to"] == URI
    # the action plugin printed the wait's progress, up to Complete
    assert "%s/archive Pending" % ns in r.out and "-> Complete" in r.out, r.out[-3000:]
    # the module returned once Fluid had released the Dataset: it was DataMigrating, and is Bound again
    assert "DataMigrating" in phases and phases[-1] == "Bound", phases
    ds = kube.get("dataset", "-n", ns, "jfsdemo")
    assert ds["status"]["phase"] == "Bound" and "DataMigrate" not in (ds["status"].get("operationRef") or {})

    ops = {k: kube.get(k, "-n", ns, n) for k, n in (("dataload", "warm"), ("dataprocess", "list"),
                                                    ("datamigrate", "archive"))}
    assert all(o["status"]["phase"] == "Complete" for o in ops.values()), {k: o["status"] for k, o in ops.items()}
    # each waited for the one before it (Fluid's DataFlow controller), and finished after it
    assert ops["dataprocess"]["status"]["waitingFor"] == {"operationComplete": False}
    assert ops["datamigrate"]["status"]["waitingFor"] == {"operationComplete": False}
    done = [o["status"]["conditions"][0]["lastTransitionTime"] for o in ops.values()]
    assert done == sorted(done), done
    assert ops["datamigrate"]["spec"]["runAfter"]["name"] == "list"

    # Fluid's migrate Job: juicefs sync from the volume (metadata URL from the Dataset's Secret) to the bucket,
    # with the bucket's keys read from the Secret we named
    job = kube.get("job", "-n", ns, "archive-migrate-migrate")
    assert job["status"].get("succeeded") == 1
    env = dict((e["name"], e.get("valueFrom", {}).get("secretKeyRef") or e.get("value"))
               for e in job["spec"]["template"]["spec"]["containers"][0]["env"])
    assert env["EXTERNAL_ACCESS_KEY"] == {"name": "jfs-secret", "key": "access-key"}
    assert env["EXTERNAL_SECRET_KEY"] == {"name": "jfs-secret", "key": "secret-key"}
    assert env["FLUID_METAURL"] == {"name": "jfs-secret", "key": "metaurl"}
    assert env["OPTION"] == "--threads=4" and env["EDITION"] == "community"
    script = kube.get("configmap", "-n", ns, "archive-migrate-script")["data"]["datamigrate.sh"]
    assert "juicefs sync $parallel_options jfs://FLUID_METAURL/ " \
        "s3://${EXTERNAL_ACCESS_KEY}:${EXTERNAL_SECRET_KEY}@archive.minio.example:9000/jfsdemo/ $OPTION" in script

    before = {k: identity(kube, ns, k, n) for k, n in (("dataload", "warm"), ("dataprocess", "list"),
                                                       ("datamigrate", "archive"), ("job", "archive-migrate-migrate"))}
    for module, args in (("dataload", load), ("dataprocess", proc), ("datamigrate", mig)):
        again = run_module(cluster, module, args)
        assert not again.failed and again["changed"] is False, (module, again)
    assert again["phase"] == "Complete"
    after = {k: identity(kube, ns, k, n) for k, n in (("dataload", "warm"), ("dataprocess", "list"),
                                                      ("datamigrate", "archive"), ("job", "archive-migrate-migrate"))}
    assert after == before
    assert kube.get("dataset", "-n", ns, "jfsdemo")["status"]["phase"] == "Bound"

    gone = run_module(cluster, "datamigrate", dict(mig, state="absent"))
    assert not gone.failed and gone["changed"], gone
    assert kube.get("datamigrate", "-n", ns, "archive", check=False) is None


def test_failing_migrate_fails_the_task_with_its_reason_and_releases_the_dataset(kube, cluster, ns):
    """The embedded cluster fails Job pods labelled embedded.cloudnative.fluid/fail=true
    (hack/cluster/kwok/stages/pod-fail.yaml); Fluid's controller then marks the DataMigrate Failed and sets its
    Dataset back to Bound (pkg/ddc/base/operation.go reconcileFailed)."""
    mig = {"name": "broken", "namespace": ns, "from": {"dataset": "jfsdemo"}, "to": {"uri": URI},
           "pod_labels": {"embedded.cloudnative.fluid/fail": "true"}, "wait_timeout": WAIT}
    r = run_module(cluster, "datamigrate", mig)
    assert r.failed, r
    msg = r["msg"]
    assert msg.startswith("DataMigrate %s/broken Failed after " % ns), msg
    assert "BackoffLimitExceeded" in msg and "datamigrate exited 1 (Error): failed on purpose" in msg, msg
    assert kube.get("datamigrate", "-n", ns, "broken")["status"]["phase"] == "Failed"
    ds = kube.get("dataset", "-n", ns, "jfsdemo")
    assert ds["status"]["phase"] == "Bound" and "DataMigrate" not in (ds["status"].get("operationRef") or {})


def test_a_dataset_served_by_alluxio_is_refused_before_writing(kube, cluster, ns):
    kube.wait_for(("dataset", "-n", ns, "spark"), lambda d: d["status"]["runtimes"][0]["type"] == "alluxio",
                  timeout=WAIT)
    r = run_module(cluster, "datamigrate", {"name": "nope", "namespace": ns, "from": {"dataset": "spark"},
                                            "to": {"uri": URI}})
    assert r.failed, r
    assert "from.dataset: Dataset %s/spark is served by runtime kind AlluxioRuntime; Fluid 1.0.8 runs a DataMigrate only on a " \
        "Dataset served by a JuiceFSRuntime" % ns in r["msg"], r["msg"]
    assert kube.get("datamigrate", "-n", ns, "nope", check=False) is None
