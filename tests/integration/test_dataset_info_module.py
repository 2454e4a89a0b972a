"""cloudnative.fluid.dataset_info on the embedded cluster: what it returns matches the API.

Two Datasets in two namespaces, made with plain kubectl and served by the REAL Fluid controllers
(observe_env.py): the seed's cifar10 before the second GPU node is labelled (12GiB, workers 1/2,
nginx-1 Pending on the PV's node affinity) and a second Dataset spark (4GiB) elsewhere.
"""
import pytest

from observe_env import ensure_fluid, Env, fixture_bytes, human, parse_bytes, run_module, stable

PV_AFFINITY = ("didn't match PersistentVolume's node affinity", "volume node affinity conflict")


@pytest.fixture(scope="module")
def env(kube, cluster):
    ensure_fluid(kube, cluster)
    e = Env(kube, cluster, "info").up(nginx=True)
    yield e
    e.down()


def size_of(text):
    return {"bytes": parse_bytes(text), "human": text}


def check_against_api(d, api):
    ds, rt = api["dataset"], api["runtime"]
    st, rst = ds["status"], rt["status"]
    states = st["cacheStates"]
    assert d["phase"] == st["phase"] == "Bound"
    assert d["ufs_total"] == size_of(st["ufsTotal"])
    assert d["cache_capacity"] == size_of(states["cacheCapacity"])
    assert d["cached"] == size_of(states["cached"])
    assert d["cached_percentage"] == {"percent": float(states["cachedPercentage"].rstrip("%")),
                                      "human": states["cachedPercentage"]}
    for fluid_key, key in (("cacheHitRatio", "cache_hit_ratio"), ("localHitRatio", "local_hit_ratio"),
                           ("remoteHitRatio", "remote_hit_ratio")):
        if states.get(fluid_key):
            assert d["hit_ratios"][key] == float(states[fluid_key].rstrip("%"))
        else:
            assert key not in d["hit_ratios"]
    assert d["file_num"] == int(st["fileNum"])
    r = d["runtime"]
    assert r["kind"] == "AlluxioRuntime" and r["name"] == ds["metadata"]["name"]
    assert r["replicas"] == rt["spec"]["replicas"]
    for comp in ("master", "worker", "fuse"):
        assert r[comp]["phase"] == rst[comp + "Phase"]
        assert r[comp]["ready"] == rst.get(comp + "NumberReady", 0)
        assert r[comp]["desired"] == rst.get("desired%sNumberScheduled" % comp.capitalize(), 0)
    assert [n["name"] for n in d["cache_nodes"]] == api["cache_nodes"]
    assert d["pvc"]["name"] == ds["metadata"]["name"] and d["pvc"]["phase"] == "Bound"
    assert sorted((p["name"], p["phase"]) for p in d["pods"]) == sorted(
        (p["metadata"]["name"], p["status"]["phase"]) for p in api["pods"])


def test_two_datasets_in_two_namespaces_match_the_api(env, kube, cluster):
    def read():
        return run_module(cluster, "dataset_info", {"all_namespaces": True})

    r, snap = stable(kube, [env.ns_a, env.ns_b], read)
    assert not r.failed, r
    assert r["changed"] is False
    got = {"%s/%s" % (d["namespace"], d["name"]): d for d in r["datasets"]}
    for key in ("%s/cifar10" % env.ns_a, "%s/spark" % env.ns_b):
        assert key in got, sorted(got)
        check_against_api(got[key], snap[key])

    cifar = got["%s/cifar10" % env.ns_a]
    # the seed's figures: 12GiB from MEM 2Gi + SSD 10Gi on one ready worker of two; data = the fixtures
    assert cifar["cache_capacity"]["bytes"] == 12 * 1024 ** 3
    assert cifar["ufs_total"]["human"] == human(fixture_bytes("hadoop", "spark", "hbase"))
    assert (cifar["runtime"]["worker"]["ready"], cifar["runtime"]["worker"]["desired"]) == (1, 2)
    assert cifar["runtime"]["worker"]["phase"] == "PartialReady"
    assert [n["name"] for n in cifar["cache_nodes"]] == ["cn-hongkong.172.31.136.196"]
    assert cifar["cache_nodes"][0]["capacity"]["human"] == "12GiB"
    pods = {p["name"]: p for p in cifar["pods"]}
    running = [p for p in pods.values() if p["phase"] == "Running"]
    pending = [p for p in pods.values() if p["phase"] == "Pending"]
    assert len(running) == 1 and running[0]["node"] == "cn-hongkong.172.31.136.196"
    assert len(pending) == 1 and any(s in pending[0]["reason"] for s in PV_AFFINITY), pending
    spark = got["%s/spark" % env.ns_b]
    assert spark["cache_capacity"]["bytes"] == 4 * 1024 ** 3 and spark["pods"] == []
    assert spark["ufs_total"]["human"] == human(fixture_bytes("spark"))


def test_by_name_namespace_label_and_check_mode(env, kube, cluster):
    kube.run("label", "dataset", "-n", env.ns_b, "spark", "team=etl")
    r = run_module(cluster, "dataset_info", {"all_namespaces": True, "label_selector": ["team=etl"]})
    assert [(d["namespace"], d["name"]) for d in r["datasets"]] == [(env.ns_b, "spark")]
    r = run_module(cluster, "dataset_info", {"name": "cifar10", "namespace": env.ns_a, "include_pods": False},
                   check=True)
    assert not r.failed and [d["name"] for d in r["datasets"]] == ["cifar10"]
    assert r["datasets"][0]["pods"] is None and r["changed"] is False
    r = run_module(cluster, "dataset_info", {"namespace": env.ns_b})
    assert [d["name"] for d in r["datasets"]] == ["spark"]
    r = run_module(cluster, "dataset_info", {"name": "absent", "namespace": env.ns_b})
    assert not r.failed and r["datasets"] == []
