"""Progress lines of a wait (module side): what a unit's summary says, when a line is written, no_log."""
import json

from ansible_collections.cloudnative.fluid.plugins.module_utils import driver, progress
from ansible_collections.cloudnative.fluid.plugins.module_utils.waiter import Target, wait_for

from fakes import ScriptedSource, obj

DS = ("Dataset", "default", "cifar10")
RT = ("AlluxioRuntime", "default", "cifar10")


def dataset(phase=None, cache=None, rv=1):
    o = obj("Dataset", "default", "cifar10", rv=rv)
    st = {}
    if phase:
        st["phase"] = phase
    if cache:
        st["cacheStates"] = {"cacheCapacity": cache}
    if st:
        o["status"] = st
    return o


def runtime(master="Ready", worker="", ready=0, desired=2, cache=None, rv=1):
    o = obj("AlluxioRuntime", "default", "cifar10", rv=rv, spec={"replicas": desired})
    o["status"] = {"masterPhase": master, "workerPhase": worker, "workerNumberReady": ready,
                   "desiredWorkerNumberScheduled": desired}
    if cache:
        o["status"]["cacheStates"] = {"cacheCapacity": cache}
    return o


def unit(kind="Dataset", want="bound", targets=(DS,), state="present"):
    u = driver.Unit(kind, "default", "cifar10", state, want=want)
    u.targets = [Target(k[0], k[1], k[2], lambda o: True) for k in targets]
    return u


def test_dataset_with_its_runtime_shows_phase_cache_and_workers():
    u = unit("AlluxioRuntime", "ready", (RT, DS))
    state = progress.snapshot(u, {RT: runtime(worker="PartialReady", ready=1, cache="12.00GiB"), DS: dataset("Bound")})
    assert state == ("Bound", ("cache 12.00GiB", "workers 1/2"))


def test_the_dataset_cache_wins_over_the_runtime_one_and_no_status_is_said():
    u = unit("AlluxioRuntime", "ready", (RT, DS))
    assert progress.snapshot(u, {RT: runtime(cache="1.00GiB"), DS: dataset("Bound", "2.00GiB")})[1][0] == "cache 2.00GiB"
    assert progress.snapshot(unit(), {DS: dataset()}) == ("no status yet", ())


def test_a_runtime_alone_reports_the_master_until_ready_then_the_workers():
    u = unit("AlluxioRuntime", "ready", (RT,))
    assert progress.snapshot(u, {RT: runtime(master="NotReady")})[0] == "master NotReady"
    assert progress.snapshot(u, {RT: runtime(master="")})[0] == "master not ready"
    assert progress.snapshot(u, {RT: runtime(worker="Ready", ready=2)}) == ("workers Ready", ("workers 2/2",))


def test_expected_workers_of_node_labels_are_the_denominator():
    u = unit("AlluxioRuntime", "ready", (RT,))
    u.expected = 3
    assert progress.snapshot(u, {RT: runtime(worker="Ready", ready=2)})[1] == ("workers 2/3",)


def test_deletion_and_absence():
    gone = unit("Dataset", "absent", (DS,), state="absent")
    assert progress.snapshot(gone, {DS: None}) == ("gone", ())
    d = dataset("Bound")
    d["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert progress.snapshot(gone, {DS: d}) == ("deleting", ())
    assert progress.snapshot(unit(), {DS: None}) == ("absent", ())


def test_dataload_phase_and_duration():
    key = ("DataLoad", "default", "cifar10")
    load = obj("DataLoad", "default", "cifar10")
    load["status"] = {"phase": "Executing", "duration": "12s"}
    assert progress.snapshot(unit("DataLoad", "complete", (key,)), {key: load}) == ("Executing", ("duration 12s",))


def test_datamigrate_shows_its_dataset_until_released():
    key = ("DataMigrate", "default", "cifar10")
    mig = obj("DataMigrate", "default", "cifar10")
    mig["status"] = {"phase": "Complete", "duration": "9s"}
    u = unit("DataMigrate", "complete", (key, DS))
    migrating = progress.snapshot(u, {key: mig, DS: dataset("DataMigrating")})
    assert migrating == ("Complete", ("duration 9s", "Dataset DataMigrating"))
    assert progress.snapshot(u, {key: mig, DS: dataset("Bound")}) == ("Complete", ("duration 9s",))


def test_line_formats():
    u = unit()
    first = progress.line(u, None, ("NotBound", ()), 0.2, False)
    assert first == "default/cifar10 NotBound, waiting until bound"
    assert progress.line(u, ("NotBound", ()), ("Bound", ("cache 12.00GiB", "workers 1/2")), 27.4, True) == \
        "default/cifar10 NotBound -> Bound (cache 12.00GiB, workers 1/2) after 27 s, done"
    assert progress.line(u, ("Ready", ("workers 1/2",)), ("Ready", ("workers 2/2",)), 3, False) == \
        "default/cifar10 Ready (workers 2/2) after 3 s"
    assert progress.line(u, None, ("Bound", ()), 0, True) == "default/cifar10 Bound, already bound"


def read(path):
    with open(str(path)) as f:
        return [json.loads(x) for x in f]


def test_reporter_writes_a_line_per_change_only(tmp_path):
    path = tmp_path / "p.jsonl"
    u = unit()
    r = progress.Reporter(str(path), [u])
    r.update({}, set(), 0.0)  # nothing listed yet
    r.update({DS: dataset("NotBound")}, set(), 0.1)
    r.update({DS: dataset("NotBound", rv=2)}, set(), 1.0)  # same summary: no line
    r.update({DS: dataset("Bound", "2.00GiB")}, {DS}, 5.2)
    assert [x["msg"] for x in read(path)] == [
        "default/cifar10 NotBound, waiting until bound",
        "default/cifar10 NotBound -> Bound (cache 2.00GiB) after 5 s, done"]
    assert read(path)[1]["t"] == 5.2


def test_reporter_masks_no_log_values_and_survives_an_unwritable_file(tmp_path):
    path = tmp_path / "p.jsonl"
    r = progress.Reporter(str(path), [unit()], hidden={"cifar10"})
    r.update({DS: dataset("NotBound")}, set(), 0)
    assert "cifar10" not in path.read_text() and "********" in path.read_text()
    r = progress.Reporter(str(tmp_path / "missing" / "p.jsonl"), [unit()])
    r.update({DS: dataset("NotBound")}, set(), 0)
    assert r.path is None
    r.update({DS: dataset("Bound")}, {DS}, 1)  # disabled, no error


def test_reporter_never_breaks_a_wait(tmp_path):
    r = progress.Reporter(str(tmp_path / "p.jsonl"), [unit()])
    r.update({DS: "not an object"}, set(), 0)
    assert r.path is None


def test_for_module_only_with_the_environment_variable(monkeypatch, tmp_path):
    class Module(object):
        no_log_values = {"s3cret"}

    monkeypatch.delenv(progress.ENV, raising=False)
    assert progress.Reporter.for_module(Module(), []) is None
    monkeypatch.setenv(progress.ENV, str(tmp_path / "p"))
    assert progress.Reporter.for_module(None, []) is None
    r = progress.Reporter.for_module(Module(), [])
    assert r.path == str(tmp_path / "p") and r.hidden == {"s3cret"}


def test_the_waiter_calls_progress_after_the_list_and_each_event(tmp_path):
    src = ScriptedSource([([dataset("NotBound", rv=3)], "7")],
                         [[{"type": "MODIFIED", "object": dataset("NotBound", "1.00GiB", rv=8)},
                           {"type": "MODIFIED", "object": dataset("Bound", "1.00GiB", rv=9)}]])
    u = unit()
    u.targets = [Target(*DS, predicate=lambda o: (o.get("status") or {}).get("phase") == "Bound")]
    r = progress.Reporter(str(tmp_path / "p.jsonl"), [u])
    assert wait_for(src, u.targets, 5, progress=r.update).done
    assert [x["msg"].split(" after")[0] for x in read(tmp_path / "p.jsonl")] == [
        "default/cifar10 NotBound, waiting until bound",
        "default/cifar10 NotBound (cache 1.00GiB)",
        "default/cifar10 NotBound -> Bound (cache 1.00GiB)"]
