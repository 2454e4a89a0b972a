"""cloudnative.fluid.dataload on the embedded cluster with the REAL Fluid dataset controller.

Fluid installs its fluid-dataloader Helm chart (a Job); KWOK's pod-complete stage completes the
loader pod; Fluid marks the DataLoad Complete; the Alluxio CLI simulator then counts the
DataLoad's paths as loaded, so the Dataset's cached / cachedPercentage rise by the real size of
those fixture files (hack/cluster/alluxio_sim/README.md).
"""
import os

import pytest

from observe_env import ensure_fluid, FIXTURES, Env, fixture_bytes, human, run_module

WAIT = 240


@pytest.fixture(scope="module")
def env(kube, cluster):
    ensure_fluid(kube, cluster)
    e = Env(kube, cluster, "load").up(nginx=False, second=False)
    yield e
    e.down()


def cache_states(kube, ns):
    return kube.get("dataset", "-n", ns, "cifar10")["status"]["cacheStates"]


def test_load_complete_cached_rises_idempotent_then_absent(env, kube, cluster):
    ns = env.ns_a
    before = cache_states(kube, ns)
    assert before["cached"] == "0.00B" and before.get("cachedPercentage") in ("", "0.0%", None)
    args = {"name": "warm-hbase", "namespace": ns, "dataset": "cifar10",
            "paths": [{"path": "/hbase", "replicas": 1}], "wait_timeout": WAIT}

    # check mode: nothing written
    r = run_module(cluster, "dataload", args, check=True)
    assert not r.failed, r
    assert r["changed"] is True
    assert kube.get("dataload", "-n", ns, "warm-hbase", check=False) is None

    r = run_module(cluster, "dataload", args)
    assert not r.failed, r
    assert r["changed"] is True and r["phase"] == "Complete"
    assert r["duration"] and r["duration"] != "Unfinished" and r["duration_seconds"] is not None
    assert r["conditions"][0]["type"] == "Complete" and r["wait_seconds"] > 0
    dl = kube.get("dataload", "-n", ns, "warm-hbase")
    assert dl["status"]["phase"] == "Complete"
    assert dl["spec"]["target"] == [{"path": "/hbase", "replicas": 1}]
    assert dl["spec"]["dataset"] == {"name": "cifar10", "namespace": ns}
    # the loader really was Fluid's Helm-installed Job, completed
    job = kube.get("job", "-n", ns, "warm-hbase-loader-job")
    assert job["status"].get("succeeded") == 1

    # Fluid's status sync picks up what the loader loaded: exactly the hbase fixture files
    hbase = fixture_bytes("hbase")
    total = fixture_bytes("hadoop", "spark", "hbase")
    after = kube.wait_for(("dataset", "-n", ns, "cifar10"),
                          lambda d: d["status"]["cacheStates"]["cached"] == human(hbase)
                          and d["status"]["cacheStates"]["cachedPercentage"] == "%.1f%%" % (hbase * 100.0 / total),
                          timeout=90)
    states = after["status"]["cacheStates"]
    assert float(states["cachedPercentage"].rstrip("%")) > 0

    info = run_module(cluster, "dataset_info", {"name": "cifar10", "namespace": ns})
    d = info["datasets"][0]
    assert d["cached"]["human"] == states["cached"] and d["cached_percentage"]["percent"] > 0

    # same task again: no change, returns at once, Fluid does not run it again
    again = run_module(cluster, "dataload", args)
    assert not again.failed and again["changed"] is False and again["phase"] == "Complete"
    assert kube.get("dataload", "-n", ns, "warm-hbase")["metadata"]["uid"] == dl["metadata"]["uid"]

    # state absent: deleted, finalizer handled by Fluid; the cached data stays
    gone = run_module(cluster, "dataload", {"name": "warm-hbase", "namespace": ns, "state": "absent",
                                            "wait_timeout": WAIT})
    assert not gone.failed and gone["changed"] is True, gone
    assert kube.get("dataload", "-n", ns, "warm-hbase", check=False) is None
    assert cache_states(kube, ns)["cached"] == human(hbase)
    again = run_module(cluster, "dataload", {"name": "warm-hbase", "namespace": ns, "state": "absent"})
    assert again["changed"] is False


def test_invalid_path_and_missing_dataset_write_nothing(env, kube, cluster):
    ns = env.ns_a
    r = run_module(cluster, "dataload", {"name": "typo", "namespace": ns, "dataset": "cifar10",
                                         "paths": [{"path": "/hbsae"}]})
    assert r.failed and "paths[0].path" in r["msg"] and "/hbase" in r["msg"]
    r = run_module(cluster, "dataload", {"name": "typo", "namespace": ns, "dataset": "nope",
                                         "paths": [{"path": "/"}]})
    assert r.failed and r["msg"].startswith("dataset: Dataset %s/nope does not exist" % ns)
    assert kube.get("dataload", "-n", ns, "typo", check=False) is None


def test_timeout_explains_the_unschedulable_loader(env, kube, cluster):
    """A loader pod that no node admits: the DataLoad stays Executing; the timeout says why."""
    ns = env.ns_a
    r = run_module(cluster, "dataload", {"name": "stuck", "namespace": ns, "dataset": "cifar10",
                                         "paths": [{"path": "/spark"}], "node_selector": {"no-such-label": "x"},
                                         "wait_timeout": 45})
    print(r["msg"])
    assert r.failed and "Timed out after 45s" in r["msg"], r
    assert "DataLoad %s/stuck: phase" % ns in r["msg"]
    assert "DataLoad pod stuck-loader-job-" in r["msg"] and "Pending" in r["msg"], r["msg"]
    assert "node affinity/selector" in r["msg"] or "node(s) didn't match" in r["msg"], r["msg"]
    gone = run_module(cluster, "dataload", {"name": "stuck", "namespace": ns, "state": "absent", "wait_timeout": WAIT})
    assert not gone.failed, gone


def test_fixture_sizes_are_real():
    assert os.path.isdir(os.path.join(FIXTURES, "hbase")) and fixture_bytes("hbase") > 0


def test_whole_dataset_load_caches_all(env, kube, cluster):
    """No paths: Fluid's chart default loads /, and the cached share reaches 100%."""
    ns = env.ns_a
    args = {"name": "warm-all", "namespace": ns, "dataset": "cifar10", "wait_timeout": WAIT}
    r = run_module(cluster, "dataload", args)
    assert not r.failed, r
    assert r["changed"] and r["phase"] == "Complete" and r["target"] == []
    env_of = {e["name"]: e.get("value") for e in kube.get("job", "-n", ns, "warm-all-loader-job")[
        "spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env_of["DATA_PATH"] == "/" and env_of["PATH_REPLICAS"] == "1", env_of
    total = fixture_bytes("hadoop", "spark", "hbase")
    kube.wait_for(("dataset", "-n", ns, "cifar10"),
                  lambda d: d["status"]["cacheStates"]["cachedPercentage"] == "100.0%"
                  and d["status"]["cacheStates"]["cached"] == human(total), timeout=120)
    d = run_module(cluster, "dataset_info", {"name": "cifar10", "namespace": ns})["datasets"][0]
    assert d["cached_percentage"]["percent"] == 100.0, d
    gone = run_module(cluster, "dataload", dict(args, state="absent"))
    assert not gone.failed and gone["changed"], gone


def test_record_outlives_the_ttl(env, kube, cluster):
    """Fluid deletes the DataLoad after its TTL; the same task later is ok from the record on the Dataset and
    creates nothing; state: absent drops the record."""
    ns = env.ns_a
    args = {"name": "warm-ttl", "namespace": ns, "dataset": "cifar10", "paths": ["/hadoop"],
            "ttl_seconds_after_finished": 5, "wait_timeout": WAIT}
    r = run_module(cluster, "dataload", args)
    assert not r.failed, r
    assert r["changed"] and r["phase"] == "Complete" and r["recorded"] is False
    # Fluid deletes it once the TTL has passed (pkg/ddc/base/operation.go processTTL)
    kube.wait_for(("dataloads", "-n", ns), lambda lst: "warm-ttl" not in [
        i["metadata"]["name"] for i in lst["items"]], timeout=120)
    record = kube.get("dataset", "-n", ns, "cifar10")["metadata"]["annotations"][
        "operations.cloudnative.fluid/dataload.warm-ttl"]
    assert '"phase": "Complete"' in record

    again = run_module(cluster, "dataload", args)
    assert not again.failed, again
    assert again["changed"] is False and again["recorded"] is True and again["phase"] == "Complete"
    assert kube.get("dataload", "-n", ns, "warm-ttl", check=False) is None

    gone = run_module(cluster, "dataload", {"name": "warm-ttl", "namespace": ns, "state": "absent"})
    assert not gone.failed and gone["changed"] is True  # the record goes
    annotations = kube.get("dataset", "-n", ns, "cifar10")["metadata"].get("annotations") or {}
    assert "operations.cloudnative.fluid/dataload.warm-ttl" not in annotations


def test_cron_load_waits_for_its_next_run_and_reports_it(env, kube, cluster):
    ns = env.ns_a
    args = {"name": "every-minute", "namespace": ns, "dataset": "cifar10", "paths": ["/spark"],
            "policy": "Cron", "schedule": "* * * * *", "wait_timeout": 200}
    r = run_module(cluster, "dataload", args)
    assert not r.failed, r
    assert r["changed"] and r["policy"] == "Cron" and r["phase"] == "Complete", r
    assert r["last_schedule_time"] and r["last_successful_time"], r
    cron = kube.get("cronjob", "-n", ns, "every-minute-loader-job")
    assert cron["spec"]["schedule"] == "* * * * *"

    later = run_module(cluster, "dataload", dict(args, wait=False))
    assert not later.failed and later["changed"] is False
    assert later["last_schedule_time"] >= r["last_schedule_time"]

    gone = run_module(cluster, "dataload", {"name": "every-minute", "namespace": ns, "state": "absent",
                                            "wait_timeout": WAIT})
    assert not gone.failed and gone["changed"], gone
    kube.wait_for(("cronjobs", "-n", ns), lambda lst: not lst["items"], timeout=60)
