"""fluid.runtime_ready for every runtime kind, on status objects shaped as Fluid v1.0.8 writes them
(tests/unit/runtime_samples.py says who writes what)."""
import copy

import pytest

from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid as F

from fakes import obj
from runtime_samples import (
    BOUND,
    EFC_BOUND,
    EFC_MASTER_DISABLED,
    EFC_WORKERS_NOT_READY,
    EFC_WORKER_DISABLED,
    GOOSEFS_BOUND,
    GOOSEFS_MASTER_STARTING,
    GOOSEFS_PARTIAL,
    JINDO_BOUND,
    JINDO_FUSE_ONLY,
    JINDO_NO_MASTER,
    VINEYARD_BOUND,
    VINEYARD_PARTIAL,
)


def test_goosefs():
    rt = obj("GooseFSRuntime", "default", "goose", spec={"replicas": 2}, status=GOOSEFS_BOUND)
    assert F.runtime_ready(rt, kind="GooseFSRuntime")
    rt["status"] = GOOSEFS_MASTER_STARTING
    assert not F.runtime_ready(rt, kind="GooseFSRuntime", min_workers=0)
    rt["status"] = GOOSEFS_PARTIAL
    assert not F.runtime_ready(rt, kind="GooseFSRuntime")  # all 2 workers by default
    assert F.runtime_ready(rt, kind="GooseFSRuntime", min_workers=1)


def test_efc():
    rt = obj("EFCRuntime", "default", "efcdemo", spec={"replicas": 1}, status=EFC_BOUND)
    assert F.runtime_ready(rt, kind="EFCRuntime")
    rt["status"] = EFC_WORKERS_NOT_READY
    assert not F.runtime_ready(rt, kind="EFCRuntime")
    assert F.runtime_ready(rt, kind="EFCRuntime", min_workers=0)
    no_master = obj("EFCRuntime", "default", "efcdemo", spec={"replicas": 1, "master": {"disabled": True}},
                    status=EFC_MASTER_DISABLED)
    assert F.runtime_ready(no_master, kind="EFCRuntime")
    # replicas without workers: Fluid deploys none, so none is awaited
    no_workers = obj("EFCRuntime", "default", "efcdemo", spec={"replicas": 2, "worker": {"disabled": True}},
                     status=EFC_WORKER_DISABLED)
    assert F.runtime_ready(no_workers, kind="EFCRuntime")
    assert not F.runtime_has_workers(no_workers, "EFCRuntime")
    # before the master phase is written, even a disabled master is not ready
    no_master["status"] = {}
    assert not F.runtime_ready(no_master, kind="EFCRuntime", min_workers=0)


def test_vineyard():
    rt = obj("VineyardRuntime", "default", "vineyard", spec={"replicas": 2}, status=VINEYARD_BOUND)
    assert F.runtime_ready(rt, kind="VineyardRuntime")
    assert F.cache_states(rt) == {}  # Vineyard writes none
    rt["status"] = VINEYARD_PARTIAL
    assert not F.runtime_ready(rt, kind="VineyardRuntime")
    assert F.runtime_ready(rt, kind="VineyardRuntime", min_workers=1)
    # spec.master.endpoint (an external etcd) is not read by the v1.0.8 engine: its master is still awaited
    external = obj("VineyardRuntime", "default", "vineyard",
                   spec={"replicas": 2, "master": {"endpoint": {"uri": "etcd:2379"}}},
                   status=dict(VINEYARD_BOUND, masterPhase="NotReady", masterNumberReady=0))
    assert not F.runtime_ready(external, kind="VineyardRuntime", min_workers=0)


def test_jindo():
    rt = obj("JindoRuntime", "default", "jindo", spec={"replicas": 2}, status=JINDO_BOUND)
    assert F.runtime_ready(rt, kind="JindoRuntime")  # Jindo never writes setupDuration: not needed
    assert "setupDuration" not in rt["status"]
    rt["status"] = dict(JINDO_BOUND, masterNumberReady=0, masterPhase="NotReady")
    assert not F.runtime_ready(rt, kind="JindoRuntime", min_workers=0)
    no_master = obj("JindoRuntime", "default", "jindo", spec={"replicas": 2, "master": {"disabled": True}},
                    status=JINDO_NO_MASTER)
    assert F.runtime_ready(no_master, kind="JindoRuntime")
    no_master["status"] = dict(JINDO_NO_MASTER, workerPhase="NotReady", workerNumberReady=0)
    assert not F.runtime_ready(no_master, kind="JindoRuntime")
    fuse_only = obj("JindoRuntime", "default", "jindo",
                    spec={"master": {"disabled": True}, "worker": {"disabled": True}}, status=JINDO_FUSE_ONLY)
    assert F.runtime_ready(fuse_only, kind="JindoRuntime")
    fuse_only["status"] = {}  # created, not set up yet
    assert not F.runtime_ready(fuse_only, kind="JindoRuntime")
    del fuse_only["status"]
    assert not F.runtime_ready(fuse_only, kind="JindoRuntime")


def test_every_kind_has_a_sample():
    assert sorted(BOUND) == sorted(F.RUNTIME_KINDS) == sorted(F.RUNTIME_SPECS)


@pytest.mark.parametrize("kind", sorted(BOUND))
def test_bound_samples_are_ready_and_nothing_is_not(kind):
    spec, st = BOUND[kind]
    assert F.runtime_ready(obj(kind, "default", "x", spec=spec, status=copy.deepcopy(st)), kind=kind)
    assert not F.runtime_ready(obj(kind, "default", "x", spec=spec), kind=kind, min_workers=0)  # no status yet
    assert not F.runtime_ready(None, kind=kind)


@pytest.mark.parametrize("kind", sorted(BOUND))
def test_bound_samples_need_their_workers(kind):
    spec, st = BOUND[kind]
    rt = obj(kind, "default", "x", spec=dict(spec, replicas=3, worker={"enabled": True}), status=copy.deepcopy(st))
    if kind == "ThinRuntime":
        rt["status"].update(workerPhase="PartialReady", desiredWorkerNumberScheduled=3, workerNumberReady=1)
    assert not F.runtime_ready(rt, kind=kind)  # 3 by default
    assert F.runtime_ready(rt, kind=kind, min_workers=1)
    assert F.runtime_ready(rt, kind=kind, min_workers=0)
