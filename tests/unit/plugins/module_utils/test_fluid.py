"""module_utils/fluid.py: status readers on objects as Fluid writes them."""
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid as F

from fakes import SEED_DATASET_STATUS, SEED_RUNTIME_STATUS, obj, seed_dataset, seed_runtime

GIB = 1024 ** 3


def test_status_readers_on_the_seed():
    ds = seed_dataset(SEED_DATASET_STATUS)
    assert F.phase(ds) == "Bound" and F.is_bound(ds)
    assert F.ufs_total(ds) == "1.742GiB" and F.ufs_total_bytes(ds) == round(1.742 * GIB)
    assert F.cache_capacity_bytes(ds) == 12 * GIB and F.cached_bytes(ds) == 0
    assert F.cached_percentage(ds) == 0.0
    assert F.conditions(ds) == [{"type": "Ready", "status": "True", "reason": "DatasetReady",
                                 "message": "The ddc runtime is ready."}]
    assert F.dataset_runtimes(ds)[0]["name"] == "cifar10"
    rt = seed_runtime(SEED_RUNTIME_STATUS)
    comps = F.runtime_components(rt)
    assert comps["master"] == {"phase": "Ready", "ready": 1, "desired": 1, "scheduled": 1}
    assert comps["worker"]["phase"] == "PartialReady" and comps["worker"]["ready"] == 1 and comps["worker"]["desired"] == 2
    assert comps["fuse"]["ready"] == 1 and comps["fuse"]["desired"] == 2


def test_runtime_ready_counts_workers():
    rt = seed_runtime(SEED_RUNTIME_STATUS)
    assert not F.runtime_ready(rt)  # default: all spec.replicas (2) workers
    assert F.runtime_ready(rt, min_workers=1)
    assert F.runtime_ready(rt, min_workers=0)
    assert not F.runtime_ready(None)
    not_ready = seed_runtime(dict(SEED_RUNTIME_STATUS, masterPhase="NotReady"))
    assert not F.runtime_ready(not_ready, min_workers=0)


# Runtime status as Fluid v1.0.8 writes it (samples of hack/notes/fluid-runtimes.md, section 1.3).
JUICEFS_BOUND = {"valueFile": "jfsdemo-juicefs-values", "masterPhase": "", "workerPhase": "Ready",
                 "desiredWorkerNumberScheduled": 1, "currentWorkerNumberScheduled": 1, "workerNumberReady": 1,
                 "desiredMasterNumberScheduled": 0, "currentMasterNumberScheduled": 0, "masterNumberReady": 0,
                 "fusePhase": "Ready", "fuseReason": "Fuses are ready", "desiredFuseNumberScheduled": 0,
                 "fuseNumberReady": 0, "setupDuration": "48s",
                 "cacheStates": {"cacheCapacity": "40.00GiB", "cached": "", "cachedPercentage": ""}}
JUICEFS_PARTIAL = dict(JUICEFS_BOUND, workerPhase="PartialReady", desiredWorkerNumberScheduled=3, workerNumberReady=1)
JUICEFS_SETTING_UP = {"workerPhase": "NotReady", "desiredWorkerNumberScheduled": 1, "workerNumberReady": 0}
THIN_BOUND = {"valueFile": "nfs-demo-thin-values", "masterPhase": "", "workerPhase": "",
              "desiredWorkerNumberScheduled": 0, "workerNumberReady": 0, "fusePhase": "Ready",
              "fuseReason": "Fuses are ready", "desiredFuseNumberScheduled": 0, "fuseNumberReady": 0,
              "setupDuration": "6s", "cacheStates": {"cacheCapacity": "N/A", "cached": "N/A"}}


def test_juicefs_has_no_master_and_is_ready_once_set_up():
    bound = obj("JuiceFSRuntime", "default", "jfsdemo", spec={"replicas": 1}, status=JUICEFS_BOUND)
    assert F.runtime_ready(bound, kind="JuiceFSRuntime")  # masterPhase stays "": not a reason to wait
    partial = obj("JuiceFSRuntime", "default", "jfsdemo", spec={"replicas": 3}, status=JUICEFS_PARTIAL)
    assert not F.runtime_ready(partial, kind="JuiceFSRuntime")  # all 3 workers by default
    assert F.runtime_ready(partial, kind="JuiceFSRuntime", min_workers=1)
    setting_up = obj("JuiceFSRuntime", "default", "jfsdemo", spec={"replicas": 1}, status=JUICEFS_SETTING_UP)
    assert not F.runtime_ready(setting_up, kind="JuiceFSRuntime", min_workers=0)  # no setupDuration yet
    assert not F.runtime_ready(obj("JuiceFSRuntime", "default", "j", spec={}, status={}), kind="JuiceFSRuntime")


def test_thin_needs_its_fuse_and_workers_only_when_enabled():
    bound = obj("ThinRuntime", "default", "nfs-demo", spec={"profileName": "nfs"}, status=THIN_BOUND)
    assert F.runtime_ready(bound, kind="ThinRuntime")
    # replicas without worker.enabled: Fluid deploys no worker, so none is awaited
    assert F.runtime_ready(obj("ThinRuntime", "default", "n", spec={"replicas": 2}, status=THIN_BOUND),
                           kind="ThinRuntime")
    enabled = obj("ThinRuntime", "default", "n", spec={"replicas": 1, "worker": {"enabled": True}}, status=THIN_BOUND)
    assert not F.runtime_ready(enabled, kind="ThinRuntime")
    enabled["status"] = dict(THIN_BOUND, workerPhase="Ready", desiredWorkerNumberScheduled=1, workerNumberReady=1)
    assert F.runtime_ready(enabled, kind="ThinRuntime")
    # nothing written yet (the status before Fluid did anything) is not ready, whatever replicas says
    assert not F.runtime_ready(obj("ThinRuntime", "default", "n", spec={}, status={}), kind="ThinRuntime")


def test_masters_must_all_be_ready():
    st = dict(SEED_RUNTIME_STATUS, desiredMasterNumberScheduled=3, masterNumberReady=2)
    for kind in ("AlluxioRuntime", "GooseFSRuntime", "VineyardRuntime", "EFCRuntime", "JindoRuntime"):
        rt = obj(kind, "default", "r", spec={"replicas": 2}, status=st)
        assert not F.runtime_ready(rt, kind=kind, min_workers=0), kind
        rt["status"] = dict(st, masterNumberReady=3)
        assert F.runtime_ready(rt, kind=kind, min_workers=1), kind


def test_jindo_without_master_or_workers():
    fuse_only = obj("JindoRuntime", "default", "j", spec={"master": {"disabled": True}, "worker": {"disabled": True}},
                    status={"valueFile": "j-jindocache-values"})
    assert F.runtime_ready(fuse_only, kind="JindoRuntime")


def test_unknown_sizes_are_none():
    assert F.ufs_total_bytes(obj("Dataset", "d", "x", status={"ufsTotal": "[Calculating]"})) is None
    assert F.cache_capacity_bytes(obj("Dataset", "d", "x")) is None
    assert F.phase(None) == "" and F.conditions(None) == []


def test_status_written_without_managed_fields():
    assert F.status_written(seed_runtime(SEED_RUNTIME_STATUS)) == (None, None)
    assert F.status_written(None) == (None, None)
