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
    # ThinRuntime has no master: workers alone decide
    thin = obj("ThinRuntime", "default", "t", spec={"replicas": 1},
               status={"workerPhase": "Ready", "workerNumberReady": 1})
    assert F.runtime_ready(thin, kind="ThinRuntime")


def test_unknown_sizes_are_none():
    assert F.ufs_total_bytes(obj("Dataset", "d", "x", status={"ufsTotal": "[Calculating]"})) is None
    assert F.cache_capacity_bytes(obj("Dataset", "d", "x")) is None
    assert F.phase(None) == "" and F.conditions(None) == []


def test_status_written_without_managed_fields():
    assert F.status_written(seed_runtime(SEED_RUNTIME_STATUS)) == (None, None)
    assert F.status_written(None) == (None, None)
