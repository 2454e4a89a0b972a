"""cloudnative.fluid.dataset_info and module_utils/observe.py against the in-memory API server."""
import copy

import pytest

from ansible_collections.cloudnative.fluid.plugins.module_utils import observe as O
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import ApiError
from ansible_collections.cloudnative.fluid.plugins.modules import dataset_info as M

from fakes import FakeCluster, obj

GPU = "aliyun.accelerator/nvidia_name"
PENDING_MSG = ("0/2 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, "
               "1 node(s) didn't match PersistentVolume's node affinity.")


class SelectingCluster(FakeCluster):
    """FakeCluster that also applies label selectors (key=value, key!=value, key) and can refuse kinds."""

    def __init__(self, forbidden=(), **kw):
        super(SelectingCluster, self).__init__(**kw)
        self.forbidden = set(forbidden)

    def list(self, kind, namespace, field_selector=None, label_selector=None, with_version=False):
        if kind in self.forbidden:
            raise ApiError('%s is forbidden: User "u" cannot list resource' % kind, status=403)
        out = super(SelectingCluster, self).list(kind, namespace, field_selector=field_selector, with_version=with_version)
        items = out[0] if with_version else out
        if label_selector:
            items = [i for i in items if O._labels_match(i, label_selector)]
        return (items, out[1]) if with_version else items


def dataset(ns, name, phase="Bound", cached="33.75KiB", pct="13.6%", labels=None, runtimes=True, uid=None, **status):
    st = {"phase": phase, "ufsTotal": "247.87KiB", "fileNum": "15",
          "cacheStates": {"cacheCapacity": "12.00GiB", "cached": cached, "cachedPercentage": pct,
                          "cacheHitRatio": "0.0%", "localHitRatio": "0.0%", "remoteHitRatio": "0.0%"},
          "conditions": [{"type": "Ready", "status": "True", "reason": "DatasetReady",
                          "message": "The ddc runtime is ready.", "lastProbeTime": "t"}]}
    if runtimes:
        st["runtimes"] = [{"name": name, "namespace": ns, "type": "alluxio", "category": "Accelerate"}]
    st.update(status)
    o = obj("Dataset", ns, name, status=st)
    o["metadata"]["uid"] = uid or "uid-%s-%s" % (ns, name)
    if labels:
        o["metadata"]["labels"] = labels
    o["spec"] = {"mounts": [{"name": "hbase", "mountPoint": "https://x/hbase/"}]}
    return o


def runtime(ns, name, kind="AlluxioRuntime", workers=(1, 2), worker_phase="PartialReady"):
    return obj(kind, ns, name, spec={"replicas": workers[1]}, status={
        "masterPhase": "Ready", "masterNumberReady": 1, "desiredMasterNumberScheduled": 1,
        "workerPhase": worker_phase, "workerNumberReady": workers[0], "desiredWorkerNumberScheduled": workers[1],
        "fusePhase": "Ready", "fuseNumberReady": 0, "desiredFuseNumberScheduled": 0})


def node(name, labels):
    o = obj("Node", None, name)
    o["metadata"].pop("namespace")
    o["metadata"]["labels"] = labels
    return o


def pod(ns, name, claim, phase="Running", node_name=None, scheduled_msg=None, ready=None):
    conds = []
    if scheduled_msg is not None:
        conds.append({"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": scheduled_msg})
    elif phase == "Running":
        conds += [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True" if ready is not False else "False"}]
    o = obj("Pod", ns, name, spec={"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}]},
            status={"phase": phase, "conditions": conds})
    if node_name:
        o["spec"]["nodeName"] = node_name
    return o


def event(ns, name, pod_name, message, ts):
    return obj("Event", ns, name, involvedObject={"kind": "Pod", "name": pod_name}, reason="FailedScheduling",
               type="Warning", message=message, lastTimestamp=ts)


def pvc(ns, name):
    return obj("PersistentVolumeClaim", ns, name, spec={"volumeName": "%s-%s" % (ns, name), "accessModes": ["ReadWriteMany"]},
               status={"phase": "Bound", "accessModes": ["ReadWriteMany"]})


@pytest.fixture
def seed():
    """Two datasets in two namespaces, the seed's nginx (one Running, one Pending), Fluid's node labels."""
    c = SelectingCluster()
    c.put(dataset("seed", "cifar10", labels={"team": "ml"}))
    c.put(runtime("seed", "cifar10"))
    c.put(dataset("other", "spark", cached="0.00B", pct="0.0%", labels={"team": "etl"}))
    c.put(runtime("other", "spark", workers=(1, 1), worker_phase="Ready"))
    c.put(node("n194", {"fluid.io/s-other-spark": "true", "fluid.io/s-h-alluxio-t-other-spark": "4GiB"}))
    c.put(node("n196", {GPU: "V100", "fluid.io/s-seed-cifar10": "true", "fluid.io/s-h-alluxio-t-seed-cifar10": "12GiB"}))
    c.put(pvc("seed", "cifar10"))
    c.put(pvc("other", "spark"))
    c.put(pod("seed", "nginx-0", "cifar10", node_name="n196"))
    c.put(pod("seed", "nginx-1", "cifar10", phase="Pending", scheduled_msg=PENDING_MSG))
    c.put(pod("seed", "unrelated", "other-claim"))
    return c


# ---------------------------------------------------------------- pure readers

@pytest.mark.parametrize("text,expected", [
    ("12.00GiB", {"bytes": 12 * 1024 ** 3, "human": "12.00GiB"}),
    ("33.75KiB", {"bytes": 34560, "human": "33.75KiB"}),
    ("0.00B", {"bytes": 0, "human": "0.00B"}),
    ("", {"bytes": None, "human": None}),
    (None, {"bytes": None, "human": None}),
    ("[Calculating]", {"bytes": None, "human": "[Calculating]"}),
    ("lots", {"bytes": None, "human": "lots"}),
])
def test_size(text, expected):
    assert O.size(text) == expected


def test_percent():
    assert O.percent("13.6%") == {"percent": 13.6, "human": "13.6%"}
    assert O.percent(None) == {"percent": None, "human": None}
    assert O.percent("n/a") == {"percent": None, "human": "n/a"}


@pytest.mark.parametrize("text,seconds", [
    ("2s", 2.0), ("1m11s", 71.0), ("1h0m3.5s", 3603.5), ("0s", 0.0), ("250ms", 0.25),
    ("Unfinished", None), ("", None), ("-", None), ("3x", None),
])
def test_go_duration_seconds(text, seconds):
    assert O.go_duration_seconds(text) == seconds


def test_cache_label_keys_short_and_long():
    d = dataset("seed", "cifar10")
    assert O.cache_label_keys(d) == ["fluid.io/s-seed-cifar10"]
    long_ns = "a-very-long-namespace-name-for-testing-purposes"
    d2 = dataset(long_ns, "and-a-long-dataset-name", uid="1234-uid")
    # Fluid switches to the Dataset's UID when prefix + namespace-name reaches 63 characters
    assert O.cache_label_keys(d2)[0] == "fluid.io/s-1234-uid"


def test_scheduling_reason_condition_then_event():
    p = pod("ns", "p", "c", phase="Pending", scheduled_msg=PENDING_MSG)
    assert O.scheduling_reason(p) == PENDING_MSG
    # no message on the condition: the latest FailedScheduling event of this pod
    p2 = pod("ns", "p2", "c", phase="Pending")
    events = [event("ns", "e1", "p2", "old: volume node affinity conflict", "2020-01-01T00:00:00Z"),
              event("ns", "e2", "p2", "1 node(s) had volume node affinity conflict", "2020-01-01T00:01:00Z"),
              event("ns", "e3", "other", "not mine", "2020-01-01T00:02:00Z")]
    assert O.scheduling_reason(p2, events) == "1 node(s) had volume node affinity conflict"
    assert O.scheduling_reason(pod("ns", "r", "c")) is None


def test_pod_facts_waiting_reason():
    p = pod("ns", "p", "c", phase="Pending")
    p["spec"]["nodeName"] = "n1"
    p["status"]["conditions"] = [{"type": "PodScheduled", "status": "True"}]
    p["status"]["containerStatuses"] = [{"name": "c", "state": {"waiting": {"reason": "ContainerCreating"}}}]
    f = O.pod_facts(p)
    assert f == {"name": "p", "phase": "Pending", "node": "n1", "ready": False, "reason": "ContainerCreating"}


def test_runtime_facts_thin_has_no_master():
    f = O.runtime_facts("ThinRuntime", runtime("ns", "x", kind="ThinRuntime"))
    assert f["master"] is None and f["worker"]["ready"] == 1
    assert O.runtime_facts("AlluxioRuntime", None) is None


def test_label_selector_matching():
    o = {"metadata": {"labels": {"team": "ml", "env": "prod"}}}
    assert O._labels_match(o, "team=ml,env in (prod, dev)")
    assert O._labels_match(o, "team==ml,!missing,env")
    assert not O._labels_match(o, "team!=ml")
    assert not O._labels_match(o, "env notin (prod)")
    assert not O._labels_match(o, "missing")


# ---------------------------------------------------------------- the module

def test_one_dataset_everything(run_module, seed):
    r = run_module(M, {"name": "cifar10", "namespace": "seed"}, seed)
    assert not r.failed and r["changed"] is False
    [d] = r["datasets"]
    assert d["name"] == "cifar10" and d["namespace"] == "seed" and d["phase"] == "Bound"
    assert d["ufs_total"] == {"bytes": 253819, "human": "247.87KiB"}
    assert d["cache_capacity"] == {"bytes": 12884901888, "human": "12.00GiB"}
    assert d["cached"] == {"bytes": 34560, "human": "33.75KiB"}
    assert d["cached_percentage"] == {"percent": 13.6, "human": "13.6%"}
    assert d["hit_ratios"] == {"cache_hit_ratio": 0.0, "local_hit_ratio": 0.0, "remote_hit_ratio": 0.0}
    assert d["file_num"] == 15
    assert d["runtime"]["kind"] == "AlluxioRuntime" and d["runtime"]["replicas"] == 2
    assert d["runtime"]["master"] == {"phase": "Ready", "ready": 1, "desired": 1}
    assert d["runtime"]["worker"] == {"phase": "PartialReady", "ready": 1, "desired": 2}
    assert d["cache_nodes"] == [{"name": "n196", "capacity": {"bytes": 12884901888, "human": "12GiB"}}]
    assert d["pvc"] == {"name": "cifar10", "phase": "Bound", "volume": "seed-cifar10", "access_modes": ["ReadWriteMany"]}
    assert [(p["name"], p["phase"], p["node"], p["reason"]) for p in d["pods"]] == [
        ("nginx-0", "Running", "n196", None), ("nginx-1", "Pending", None, PENDING_MSG)]
    assert d["conditions"][0]["message"] == "The ddc runtime is ready."


def test_all_namespaces_two_datasets_few_reads(run_module, seed):
    seed.calls[:] = []
    r = run_module(M, {"all_namespaces": True}, seed)
    assert [(d["namespace"], d["name"]) for d in r["datasets"]] == [("other", "spark"), ("seed", "cifar10")]
    spark = r["datasets"][0]
    assert spark["cache_nodes"][0]["name"] == "n194" and spark["pods"] == []
    assert spark["runtime"]["worker"]["phase"] == "Ready"
    lists = [c for c in seed.calls if c[0] == "list"]
    gets = [c for c in seed.calls if c[0] == "get"]
    # one list per kind and namespace, never a read per Dataset
    assert not gets
    assert sorted(set((c[1], c[2]) for c in lists)) == sorted([
        ("Dataset", None), ("AlluxioRuntime", "other"), ("AlluxioRuntime", "seed"), ("Node", None),
        ("PersistentVolumeClaim", "other"), ("PersistentVolumeClaim", "seed"), ("Pod", "other"), ("Pod", "seed")]
        + [(kind, ns) for kind in O.DATA_OPERATION_KINDS for ns in ("other", "seed")])


def test_label_selector_and_namespace(run_module, seed):
    r = run_module(M, {"all_namespaces": True, "label_selector": ["team=etl"]}, seed)
    assert [d["name"] for d in r["datasets"]] == ["spark"]
    r = run_module(M, {"namespace": "seed"}, seed)
    assert [d["name"] for d in r["datasets"]] == ["cifar10"]
    r = run_module(M, {"name": "cifar10", "namespace": "seed", "label_selector": ["team=etl"]}, seed)
    assert r["datasets"] == []


def test_missing_dataset_is_empty_not_failed(run_module, seed):
    r = run_module(M, {"name": "nope", "namespace": "seed"}, seed)
    assert not r.failed and r["datasets"] == []


def operation(kind, ns, name, spec, created, **status):
    o = obj(kind, ns, name, spec=spec, status=status)
    o["metadata"]["creationTimestamp"] = created
    return o


COMPLETE = [{"type": "Complete", "status": "True", "reason": "CompletionsReached",
             "message": "Reached expected number of succeeded pods"}]
FAILED = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
           "message": "Job has reached the specified backoff limit"}]


@pytest.fixture
def with_operations(seed):
    """cifar10's flow (a load, a failed process, a load waiting for it), a Cron load, a backup (dataset by plain
    name), a migration into cifar10, and operations of other Datasets or of no Dataset that must not show."""
    ds = {"name": "cifar10", "namespace": "seed"}
    seed.put(operation("DataLoad", "seed", "warm", {"dataset": ds}, "2024-05-01T10:00:00Z",
                       phase="Complete", duration="1m11s", conditions=COMPLETE))
    seed.put(operation("DataProcess", "seed", "unpack", {"dataset": dict(ds, mountPath="/data"),
                                                         "runAfter": {"kind": "DataLoad", "name": "warm"}},
                       "2024-05-01T10:00:01Z", phase="Failed", duration="2m3s", conditions=FAILED,
                       waitingFor={"operationComplete": False}))
    seed.put(operation("DataLoad", "seed", "after", {"dataset": ds, "runAfter": {
        "kind": "DataProcess", "name": "unpack", "namespace": "seed"}}, "2024-05-01T10:00:02Z",
        phase="Pending", duration="Unfinished", waitingFor={"operationComplete": True}))
    seed.put(operation("DataLoad", "seed", "nightly", {"dataset": ds, "policy": "Cron", "schedule": "0 1 * * *"},
                       "2024-04-01T00:00:00Z", phase="Complete", duration="5s", conditions=COMPLETE,
                       lastScheduleTime="2024-05-01T01:00:00Z", lastSuccessfulTime="2024-05-01T01:00:05Z"))
    seed.put(operation("DataBackup", "seed", "backup", {"dataset": "cifar10", "backupPath": "pvc://b/"},
                       "2024-05-02T00:00:00Z"))
    seed.put(operation("DataMigrate", "seed", "in", {"from": {"externalStorage": {"uri": "s3://x"}},
                                                     "to": {"dataset": ds}}, "2024-03-01T00:00:00Z",
                       phase="Complete", duration="3s"))
    seed.put(operation("DataLoad", "seed", "elsewhere", {"dataset": {"name": "other-ds", "namespace": "seed"}},
                       "2024-05-01T00:00:00Z"))
    seed.put(operation("DataLoad", "other", "spark-warm", {"dataset": {"name": "spark"}}, "2024-05-01T00:00:00Z",
                       phase="Executing", duration="Unfinished"))
    return seed


def test_operations_of_each_dataset(run_module, with_operations):
    r = run_module(M, {"all_namespaces": True}, with_operations)
    assert not r.failed
    spark, cifar = r["datasets"]
    assert [(o["kind"], o["name"], o["phase"]) for o in spark["operations"]] == [("DataLoad", "spark-warm", "Executing")]
    ops = {o["name"]: o for o in cifar["operations"]}
    # oldest first; only the operations that name cifar10 (a backup by its plain name, a migration into it)
    assert [o["name"] for o in cifar["operations"]] == ["in", "nightly", "warm", "unpack", "after", "backup"]
    assert ops["warm"] == {
        "kind": "DataLoad", "name": "warm", "phase": "Complete", "duration": "1m11s", "duration_seconds": 71.0,
        "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "policy": "Once",
        "schedule": None, "last_schedule_time": None, "last_successful_time": None, "run_after": None,
        "waiting": False, "created": "2024-05-01T10:00:00Z"}
    assert ops["unpack"]["policy"] is None and ops["unpack"]["reason"] == "BackoffLimitExceeded"
    assert ops["unpack"]["run_after"] == {"kind": "DataLoad", "name": "warm", "namespace": "seed"}
    assert ops["after"]["waiting"] is True and ops["after"]["phase"] == "Pending"
    assert ops["after"]["duration_seconds"] is None
    assert (ops["nightly"]["policy"], ops["nightly"]["schedule"], ops["nightly"]["last_schedule_time"],
            ops["nightly"]["last_successful_time"]) == ("Cron", "0 1 * * *", "2024-05-01T01:00:00Z",
                                                        "2024-05-01T01:00:05Z")
    assert ops["backup"]["phase"] == "" and ops["backup"]["reason"] is None
    assert cifar["operations_unreadable"] == []


def test_operation_kinds_not_served_or_forbidden_are_named_not_failed(run_module, with_operations):
    with_operations.kinds.discard("DataBackup")
    with_operations.forbidden.add("DataMigrate")
    r = run_module(M, {"name": "cifar10", "namespace": "seed"}, with_operations)
    assert not r.failed
    d = r["datasets"][0]
    assert [o["name"] for o in d["operations"]] == ["nightly", "warm", "unpack", "after"]
    assert [u["kind"] for u in d["operations_unreadable"]] == ["DataMigrate", "DataBackup"]
    assert "not installed" in d["operations_unreadable"][1]["reason"]
    assert any("DataMigrate objects" in str(w) and "403" in str(w) for w in r.get("warnings", [])), r


def test_include_operations_false(run_module, with_operations):
    with_operations.calls[:] = []
    r = run_module(M, {"name": "cifar10", "namespace": "seed", "include_operations": False}, with_operations)
    assert r["datasets"][0]["operations"] is None and r["datasets"][0]["operations_unreadable"] == []
    assert not [c for c in with_operations.calls if c[0] == "list" and c[1] in O.DATA_OPERATION_KINDS]


def test_include_pods_false(run_module, seed):
    seed.calls[:] = []
    r = run_module(M, {"name": "cifar10", "namespace": "seed", "include_pods": False}, seed)
    assert r["datasets"][0]["pods"] is None
    assert not [c for c in seed.calls if c[0] == "list" and c[1] in ("Pod", "Event")]


def test_pending_reason_from_events_when_condition_has_none(run_module, seed):
    p = pod("seed", "nginx-2", "cifar10", phase="Pending")
    seed.put(p)
    seed.put(event("seed", "ev1", "nginx-2", "1 node(s) had volume node affinity conflict", "2020-01-01T00:00:00Z"))
    r = run_module(M, {"name": "cifar10", "namespace": "seed"}, seed)
    reasons = {p["name"]: p["reason"] for p in r["datasets"][0]["pods"]}
    assert reasons["nginx-2"] == "1 node(s) had volume node affinity conflict"


def test_forbidden_nodes_warn_and_leave_cache_nodes_null(run_module, seed):
    seed.forbidden.add("Node")
    r = run_module(M, {"name": "cifar10", "namespace": "seed"}, seed)
    assert not r.failed
    assert r["datasets"][0]["cache_nodes"] is None
    assert any("nodes" in str(w) and "403" in str(w) for w in r.get("warnings", [])), r


def test_unbound_dataset_finds_runtime_by_name(run_module):
    c = SelectingCluster()
    c.put(dataset("ns", "fresh", phase="NotBound", runtimes=False, cacheStates={}, ufsTotal=""))
    c.put(runtime("ns", "fresh", workers=(0, 2), worker_phase="NotReady"))
    r = run_module(M, {"name": "fresh", "namespace": "ns"}, c)
    d = r["datasets"][0]
    assert d["phase"] == "NotBound" and d["runtime"]["kind"] == "AlluxioRuntime"
    assert d["runtime"]["worker"]["phase"] == "NotReady"
    assert d["cached"] == {"bytes": None, "human": None} and d["cache_nodes"] == [] and d["pvc"] is None


def test_no_status_yet(run_module):
    c = SelectingCluster()
    o = obj("Dataset", "ns", "new")
    o["metadata"]["uid"] = "u"
    c.put(o)
    r = run_module(M, {"name": "new", "namespace": "ns"}, c)
    d = r["datasets"][0]
    assert d["phase"] == "" and d["runtime"] is None and d["hit_ratios"] == {} and d["file_num"] is None


def test_fluid_not_installed(run_module):
    r = run_module(M, {"all_namespaces": True}, SelectingCluster(fluid_installed=False))
    assert r.failed and "cloudnative.fluid.fluid" in r["msg"]


def test_invalid_options_name_the_field(run_module, seed):
    r = run_module(M, {"name": "Bad_Name", "namespace": "NS!", "label_selector": ["env in (a"]}, seed)
    assert r.failed
    assert any(e.startswith("name:") for e in r["errors"])
    assert any(e.startswith("namespace:") for e in r["errors"])
    assert any(e.startswith("label_selector[0]:") for e in r["errors"])
    assert not seed.calls


def test_check_mode_reads_the_same(run_module, seed):
    a = run_module(M, {"all_namespaces": True}, seed)
    b = run_module(M, {"all_namespaces": True}, seed, check=True)
    assert a["datasets"] == b["datasets"]
    assert not [c for c in seed.calls if c[0] in ("apply", "delete")]


def test_dataset_facts_pure():
    d = dataset("seed", "cifar10")
    facts = O.dataset_facts(copy.deepcopy(d))
    assert facts["cache_nodes"] is None and facts["pods"] is None and facts["runtime"] is None
    assert facts["operations"] is None and facts["operations_unreadable"] == []


def test_docs_say_the_byte_counts_are_approximate():
    import yaml

    ret = yaml.safe_load(M.RETURN)["datasets"]["contains"]
    assert "rounded" in " ".join(ret["cache_capacity"]["description"])
    assert "approximate" in " ".join(ret["ufs_total"]["description"]).lower()
