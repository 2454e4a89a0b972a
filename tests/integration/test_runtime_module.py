"""cloudnative.fluid.runtime on the embedded cluster with the real Fluid controllers.

Same approach as test_dataset_module.py (whose helpers this file reuses): the real module run by
`ansible`, results checked through the Kubernetes API, one namespace per test.
"""

from test_dataset_module import (  # noqa: F401  (k8s, namespace: fixtures shared with that file)
    GPU,
    V100,
    WAIT,
    fixture_mounts,
    k8s,
    namespace,
    our_write,
    run_module,
    seed_runtime_args,
)


def make_dataset(cluster, namespace, name, **extra):
    args = {"name": name, "namespace": namespace, "mounts": fixture_mounts(cluster, ("hbase",)), "wait": False}
    args.update(extra)
    r = run_module(cluster, "dataset", args)
    assert not r.failed, r
    return r


def test_runtime_ready_bound_and_unchanged(cluster, fluid, k8s, namespace):
    make_dataset(cluster, namespace, "cifar10", node_selector={GPU: V100})
    args = seed_runtime_args("cifar10", namespace, replicas=1, wait_for="bound",
                             properties={"alluxio.user.file.writetype.default": "MUST_CACHE"})
    r = run_module(cluster, "runtime", args)
    assert not r.failed, r
    rt = r["runtimes"][0]
    assert r["changed"] is True and rt["kind"] == "AlluxioRuntime"
    assert rt["ready"] is True and rt["master"]["phase"] == "Ready" and rt["worker"]["ready"] >= 1
    assert rt["dataset_phase"] == "Bound"

    obj = k8s.get("alluxioruntimes", namespace, "cifar10")
    levels = obj["spec"]["tieredstore"]["levels"]
    assert [(lv["mediumtype"], lv["path"], lv["quota"], lv["high"], lv["low"]) for lv in levels] == [
        ("MEM", "/dev/shm", "2Gi", "0.95", "0.7"), ("SSD", "/var/lib/docker/alluxio", "10Gi", "0.95", "0.7")]
    assert [lv.get("volumeType") for lv in levels] == ["hostPath", "hostPath"]  # the CRD's default, not ours
    assert obj["spec"]["replicas"] == 1 and obj["spec"]["master"]["jvmOptions"] == ["-Xmx4G"]
    assert obj["spec"]["properties"] == {"alluxio.user.file.writetype.default": "MUST_CACHE"}
    assert k8s.get("datasets", namespace, "cifar10")["status"]["phase"] == "Bound"

    # the server-defaulted volumeType and Fluid's status never count as a change; nothing is written
    written = our_write(obj)
    again = run_module(cluster, "runtime", args, diff=True)
    assert not again.failed and again["changed"] is False, again
    assert again.get("diff", []) == []
    assert our_write(k8s.get("alluxioruntimes", namespace, "cifar10")) == written

    # one ready worker with MEM 2Gi + SSD 10Gi: the seed's 12GiB (the controller syncs it shortly after)
    cap = k8s.eventually("cacheCapacity 12.00GiB", lambda: k8s.get("alluxioruntimes", namespace, "cifar10"),
                         lambda o: ((o.get("status") or {}).get("cacheStates") or {}).get("cacheCapacity") == "12.00GiB"
                         and (o.get("status") or {}).get("workerNumberReady") == 1)
    assert cap["status"]["workerNumberReady"] == 1


def test_runtime_update_and_check_mode(cluster, fluid, k8s, namespace):
    make_dataset(cluster, namespace, "upd")
    args = seed_runtime_args("upd", namespace, replicas=1, wait=False)
    assert not run_module(cluster, "runtime", args).failed
    before = k8s.get("alluxioruntimes", namespace, "upd")
    written = our_write(before)

    bigger = dict(args, tiered_store=[dict(args["tiered_store"][0], quota="4Gi"), args["tiered_store"][1]])
    dry = run_module(cluster, "runtime", bigger, check=True, diff=True)
    assert not dry.failed and dry["changed"] is True, dry
    diff = dry["diff"][0] if isinstance(dry["diff"], list) else dry["diff"]
    assert diff["before"]["spec"]["tieredstore"]["levels"][0]["quota"] == "2Gi"
    assert diff["after"]["spec"]["tieredstore"]["levels"][0]["quota"] == "4Gi"
    unchanged = k8s.get("alluxioruntimes", namespace, "upd")
    assert unchanged["spec"]["tieredstore"]["levels"][0]["quota"] == "2Gi" and our_write(unchanged) == written

    real = run_module(cluster, "runtime", bigger)
    assert not real.failed and real["changed"] is True, real
    after = k8s.get("alluxioruntimes", namespace, "upd")
    assert after["spec"]["tieredstore"]["levels"][0]["quota"] == "4Gi"
    assert our_write(after)[0] == written[0] + 1


def test_runtime_timeout_explains_unschedulable_workers(cluster, fluid, k8s, namespace):
    # no node carries this label, so no worker can be placed
    make_dataset(cluster, namespace, "nowhere", node_selector={"cloudnative.fluid/integration-none": "x"})
    r = run_module(cluster, "runtime", seed_runtime_args("nowhere", namespace, replicas=1, wait_timeout=20))
    assert r.failed
    msg = r["msg"]
    assert msg.startswith("Timed out after 20s waiting for 1 of 1 runtimes"), msg
    assert "AlluxioRuntime %s/nowhere" % namespace in msg
    assert "0 of " in msg and "node(s) match the dataset's spec.nodeAffinity" in msg
    assert "Only 0 node(s) can host the 1 requested worker(s)" in msg
    assert r["runtimes"][0]["worker"]["ready"] == 0


def test_runtime_delete_waits_until_gone(cluster, fluid, k8s, namespace):
    make_dataset(cluster, namespace, "short")
    created = run_module(cluster, "runtime", seed_runtime_args("short", namespace, replicas=1, wait_min_workers=0))
    assert not created.failed, created
    deleted = run_module(cluster, "runtime", {"name": "short", "namespace": namespace, "state": "absent",
                                               "wait_timeout": WAIT})
    assert not deleted.failed and deleted["changed"] is True, deleted
    assert k8s.get("alluxioruntimes", namespace, "short") is None
    # with the runtime gone the Dataset can go too
    gone = run_module(cluster, "dataset", {"name": "short", "namespace": namespace, "state": "absent",
                                            "wait_timeout": WAIT})
    assert not gone.failed and gone["changed"] is True, gone
    assert k8s.get("datasets", namespace, "short") is None


def test_invalid_runtime_input_writes_nothing(cluster, fluid, k8s, namespace):
    r = run_module(cluster, "runtime", seed_runtime_args("bad", namespace, replicas=-1, tiered_store=[
        {"medium": "MEM", "path": "/dev/shm", "quota": "2GB", "high": 0.7, "low": 0.95}]))
    assert r.failed
    for needle in ("replicas: -1 must be 0 or more", "tiered_store[0].quota: '2GB' is not a Kubernetes quantity",
                   "tiered_store[0].low: 0.95 must be below high (0.7)"):
        assert needle in r["msg"], r["msg"]
    assert k8s.get("alluxioruntimes", namespace, "bad") is None


def test_autoscaler_owns_replicas_and_reruns_leave_them(cluster, fluid, k8s, namespace):
    """autoscaling: a HorizontalPodAutoscaler on the runtime's scale subresource; a number of workers set by
    another writer through that subresource survives re-runs; replicas left out are never reset."""
    from kubernetes import client
    hpas = client.AutoscalingV2Api(k8s.api_client)
    make_dataset(cluster, namespace, "scaled")
    args = seed_runtime_args("scaled", namespace, wait_for="bound", autoscaling={"min_replicas": 1, "max_replicas": 3})
    del args["replicas"]
    r = run_module(cluster, "runtime", args)
    assert not r.failed, r
    rt = r["runtimes"][0]
    assert r["changed"] and rt["replicas"] == 1 and rt["autoscaling"]["max_replicas"] == 3, rt
    hpa = hpas.read_namespaced_horizontal_pod_autoscaler("scaled", namespace)
    assert (hpa.spec.scale_target_ref.kind, hpa.spec.scale_target_ref.name) == ("AlluxioRuntime", "scaled")
    assert (hpa.spec.min_replicas, hpa.spec.max_replicas) == (1, 3)

    # another writer (as an autoscaler does) sets the number through the runtime's scale subresource
    k8s.custom.patch_namespaced_custom_object_scale("data.fluid.io", "v1alpha1", namespace, "alluxioruntimes",
                                                    "scaled", {"spec": {"replicas": 2}})
    again = run_module(cluster, "runtime", dict(args, wait=False), diff=True)
    assert not again.failed and again["changed"] is False, again
    assert k8s.get("alluxioruntimes", namespace, "scaled")["spec"]["replicas"] == 2

    # autoscaling dropped: the autoscaler this module made goes, the number of workers stays
    no_auto = dict(args, wait=False)
    del no_auto["autoscaling"]
    gone = run_module(cluster, "runtime", no_auto)
    assert not gone.failed and gone["changed"] is True and gone["runtimes"][0]["autoscaling"] is None, gone
    assert not [h for h in hpas.list_namespaced_horizontal_pod_autoscaler(namespace).items]
    assert k8s.get("alluxioruntimes", namespace, "scaled")["spec"]["replicas"] == 2
    assert run_module(cluster, "runtime", no_auto)["changed"] is False

    # replicas given again: managed again
    back = run_module(cluster, "runtime", dict(no_auto, replicas=1))
    assert not back.failed and back["changed"] is True
    assert k8s.get("alluxioruntimes", namespace, "scaled")["spec"]["replicas"] == 1
