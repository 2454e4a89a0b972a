"""A wait on a runtime kind whose Fluid controller is not running fails with a diagnosis that names the
controller and what starts it (chart value runtime.<name>.enabled, the fluid role's fluid_runtimes_enabled),
through the runtime module and through the dataset module, for every kind the runtime module accepts."""
from ansible_collections.cloudnative.fluid.plugins.module_utils import diagnose
from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid as F
from ansible_collections.cloudnative.fluid.plugins.modules import dataset as DS
from ansible_collections.cloudnative.fluid.plugins.modules import runtime as RT

from fakes import FakeCluster, obj

KINDS = list(RT.ITEM_SPEC["kind"]["choices"])
# one cache tier: some kinds need one (Vineyard's shared memory), every kind takes one
TIERS = [{"medium": "MEM", "path": "/dev/shm", "quota": "1Gi"}]


def chunks(kinds):
    """At most driver.DIAGNOSE_MAX kinds per task: a timeout explains that many objects in full."""
    return [kinds[i:i + driver.DIAGNOSE_MAX] for i in range(0, len(kinds), driver.DIAGNOSE_MAX)]


def name(kind):
    return kind.lower()[:-len("runtime")]


def cluster(kinds, runtimes=False):
    """A Dataset per kind that the dataset-controller has seen (a status), and, with runtimes, its runtime that
    no controller ever reconciled (no status)."""
    c = FakeCluster()
    for kind in kinds:
        c.put(obj("Dataset", "default", name(kind), spec={"mounts": [{"name": "d", "mountPoint": "https://x/d/"}]},
                  status={"phase": "NotBound", "conditions": []}))
        if runtimes:
            c.put(obj(kind, "default", name(kind), spec={}))
    return c


def assert_explains(msg, kind):
    controller, short = F.controller_name(kind), diagnose.chart_runtime(kind)
    assert "No controller has reconciled %s default/%s: no status written" % (kind, name(kind)) in msg, msg
    assert "Fluid's %s is missing, stopped or hung" % controller in msg
    assert "kubectl -n fluid-system get deploy %s" % controller in msg
    assert "runtime.%s.enabled=true" % short in msg
    assert "fluid_runtimes_enabled must include %s" % short in msg


def test_the_runtime_module_kinds_are_fluids():
    assert set(KINDS) <= set(F.ALL_RUNTIME_KINDS) and "AlluxioRuntime" in KINDS


def test_runtime_wait_names_the_missing_controller_of_each_kind(run_module):
    for kinds in chunks(KINDS):
        c = cluster(kinds)
        r = run_module(RT, {"namespace": "default", "wait_timeout": 1, "runtimes": [
            {"name": name(k), "kind": k, "tiered_store": TIERS} for k in kinds]}, c)
        assert r.failed and r["msg"].startswith("Timed out after 1s waiting for %d of %d runtimes" % (len(kinds), len(kinds)))
        for kind in kinds:
            assert_explains(r["msg"], kind)
        assert "dataset-controller is missing" not in r["msg"]


def test_dataset_wait_names_the_missing_controller_of_its_runtime_kind(run_module):
    for kinds in chunks(KINDS):
        c = cluster(kinds, runtimes=True)
        r = run_module(DS, {"namespace": "default", "wait_timeout": 1, "datasets": [
            {"name": name(k), "mounts": [{"name": "d", "mount_point": "https://x/d/"}]} for k in kinds]}, c)
        assert r.failed and "waiting for %d of %d Datasets" % (len(kinds), len(kinds)) in r["msg"]
        for kind in kinds:
            assert "%s default/%s: " % (kind, name(kind)) in r["msg"]
            assert_explains(r["msg"], kind)
