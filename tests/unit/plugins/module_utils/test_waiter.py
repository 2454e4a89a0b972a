"""The waiter's edge cases: many objects at once, 410 Gone, dropped streams, restarts, the deadline."""
import threading
import time

import pytest

from ansible_collections.cloudnative.fluid.plugins.module_utils import waiter as W
from ansible_collections.cloudnative.fluid.plugins.module_utils.waiter import Gone, Target, Transient, WaitError, wait_for

from fakes import FakeCluster, ScriptedSource, obj


def ds(name, phase=None, rv=1, ns="default"):
    o = obj("Dataset", ns, name, rv=rv)
    if phase:
        o["status"] = {"phase": phase}
    return o


def bound(o):
    return o is not None and (o.get("status") or {}).get("phase") == "Bound"


def ev(etype, o):
    return {"type": etype, "object": o}


def test_already_satisfied_by_the_list_needs_no_event():
    src = ScriptedSource([([ds("a", "Bound")], "5")], [])
    r = wait_for(src, [Target("Dataset", "default", "a", bound)], timeout=5)
    assert r.done and r.elapsed < 1
    assert r.objects[("Dataset", "default", "a")]["status"]["phase"] == "Bound"
    # one object in one namespace: the list is narrowed to it
    assert src.list_calls == [("Dataset", "default", "metadata.name=a")]


def test_event_completes_the_wait_and_watch_resumes_from_list_version():
    src = ScriptedSource([([ds("a", "NotBound", rv=3)], "7")],
                         [[ev("MODIFIED", ds("a", "Bound", rv=8))]])
    r = wait_for(src, [Target("Dataset", "default", "a", bound)], timeout=5)
    assert r.done
    assert src.watch_calls[0] == ("Dataset", "default", "7")
    assert r.satisfied[("Dataset", "default", "a")] < 1


def test_many_objects_must_all_hold_at_once():
    names = ["d%02d" % i for i in range(50)]
    events = [ev("MODIFIED", ds(n, "Bound", rv=10 + i)) for i, n in enumerate(names)]
    # one of them falls back before the last one binds: the wait must not end early
    events.insert(25, ev("MODIFIED", ds("d00", "Updating", rv=60)))
    events.append(ev("MODIFIED", ds("d00", "Bound", rv=61)))
    src = ScriptedSource([([ds(n, "NotBound") for n in names], "9")], [events])
    r = wait_for(src, [Target("Dataset", "default", n, bound) for n in names], timeout=5)
    assert r.done
    assert len(src.list_calls) == 1 and src.list_calls[0][2] is None  # one list for the namespace, no selector
    assert all(k in r.satisfied for k in r.objects)
    # d00's time is when it became Bound the second time, after everything else
    assert r.satisfied[("Dataset", "default", "d00")] >= max(v for k, v in r.satisfied.items() if k[2] != "d00")


def test_gone_410_event_relists_and_resumes_from_the_new_version():
    src = ScriptedSource(
        [([ds("a", "NotBound")], "5"), ([ds("a", "Bound", rv=40)], "40")],
        [[{"type": "ERROR", "object": {"kind": "Status", "code": 410, "message": "too old resource version: 5 (30)"}}]])
    r = wait_for(src, [Target("Dataset", "default", "a", bound)], timeout=5)
    assert r.done
    assert len(src.list_calls) == 2  # re-listed after 410
    assert r.reconnects == 1


def test_gone_410_raised_then_watch_from_relisted_version():
    src = ScriptedSource(
        [([ds("a", "NotBound")], "5"), ([ds("a", "NotBound", rv=40)], "40")],
        [[Gone("410")], [ev("MODIFIED", ds("a", "Bound", rv=41))]])
    r = wait_for(src, [Target("Dataset", "default", "a", bound)], timeout=5)
    assert r.done
    assert [c[2] for c in src.watch_calls[:2]] == ["5", "40"]


def test_relist_notices_deletions_missed_during_the_gap():
    src = ScriptedSource([([ds("a", "Bound")], "5"), ([], "50")], [[Gone("410")]])
    r = wait_for(src, [Target("Dataset", "default", "a", lambda o: o is None)], timeout=5)
    assert r.done and r.objects[("Dataset", "default", "a")] is None


def test_dropped_stream_reconnects_from_last_seen_version_without_relisting():
    src = ScriptedSource(
        [([ds("a", "NotBound", rv=3)], "3")],
        [[ev("MODIFIED", ds("a", "NotBound", rv=9)), Transient("connection reset by peer")],
         [{"type": "BOOKMARK", "object": {"kind": "Dataset", "metadata": {"resourceVersion": "12"}}}],
         [ev("MODIFIED", ds("a", "Bound", rv=13))]])
    r = wait_for(src, [Target("Dataset", "default", "a", bound)], timeout=5)
    assert r.done
    assert len(src.list_calls) == 1
    assert [c[2] for c in src.watch_calls[:3]] == ["3", "9", "12"]  # resumes after the drop and after the bookmark


def test_api_server_restart_connection_refused_for_a_while():
    refused = [Transient("Connection refused")] * 6
    src = ScriptedSource(refused[:3] + [([ds("a", "NotBound")], "5")],
                         [[Transient("Connection refused")]] * 3 + [[ev("MODIFIED", ds("a", "Bound", rv=6))]])
    t0 = time.monotonic()
    r = wait_for(src, [Target("Dataset", "default", "a", bound)], timeout=10)
    assert r.done
    assert r.reconnects == 6
    # capped exponential backoff: 0.05+0.1+0.2+0.4+0.8+1.0 at most
    assert time.monotonic() - t0 < 4


def test_deadline_is_one_for_all_objects():
    names = ["a", "b", "c"]
    src = ScriptedSource([([ds(n, "NotBound") for n in names], "5")],
                         [[ev("MODIFIED", ds("a", "Bound", rv=6))]])
    t0 = time.monotonic()
    r = wait_for(src, [Target("Dataset", "default", n, bound) for n in names], timeout=0.5)
    took = time.monotonic() - t0
    assert not r.done
    assert 0.45 <= took < 2
    assert sorted(k[2] for k in r.pending()) == ["b", "c"]
    assert ("Dataset", "default", "a") in r.satisfied
    assert r.objects[("Dataset", "default", "b")]["status"]["phase"] == "NotBound"


def test_deadline_while_the_api_server_is_down():
    src = ScriptedSource([Transient("Connection refused")], [])
    r = wait_for(src, [Target("Dataset", "default", "a", bound)], timeout=0.4)
    assert not r.done and r.reconnects >= 2
    assert r.objects[("Dataset", "default", "a")] is None and not r.satisfied


def test_forbidden_is_fatal():
    src = ScriptedSource([([], "5")], [[{"type": "ERROR", "object": {"code": 403, "message": "forbidden"}}]])
    with pytest.raises(WaitError) as e:
        wait_for(src, [Target("Dataset", "default", "a", bound)], timeout=5)
    assert "403" in str(e.value)


def test_many_namespaces_collapse_into_one_cluster_wide_stream():
    targets = [Target("Dataset", "ns%d" % i, "d", bound) for i in range(W.MAX_NAMESPACED_STREAMS + 1)]
    src = ScriptedSource([([ds("d", "Bound", ns="ns%d" % i) for i in range(W.MAX_NAMESPACED_STREAMS + 1)], "5")], [])
    r = wait_for(src, targets, timeout=5)
    assert r.done
    assert src.list_calls == [("Dataset", None, None)]


def test_several_kinds_and_namespaces_are_watched_in_parallel():
    src = ScriptedSource([([], "1")], [])
    rt = obj("AlluxioRuntime", "x", "r", status={"masterPhase": "Ready"})
    src.lists = [([rt], "2"), ([ds("d", "Bound", ns="y")], "3")]
    r = wait_for(src, [Target("AlluxioRuntime", "x", "r", bool),
                       Target("Dataset", "y", "d", bound)], timeout=5)
    assert r.done
    assert sorted(c[0] for c in src.list_calls) == ["AlluxioRuntime", "Dataset"]


def test_no_targets_returns_at_once():
    r = wait_for(ScriptedSource([([], "1")], []), [], timeout=5)
    assert r.done and r.elapsed == 0


def test_fake_cluster_end_to_end_with_compaction_and_drop():
    """Against the in-memory API server: controller writes arrive while the stream is dropped and compacted."""
    c = FakeCluster()
    c.put(ds("a", "NotBound"))
    c.put(ds("b", "NotBound"))
    c.watch_failures = [Transient("connection refused")]

    def controller():
        time.sleep(0.2)
        c.put(obj("Dataset", "other", "noise"))  # an event the waiter's streams never see
        c.compact()  # resuming from the last version a stream saw now gets 410 ...
        c.drop_streams()  # ... and the API server restarts, so every stream must resume
        time.sleep(0.2)
        c.set_status("Dataset", "default", "a", {"phase": "Bound"})
        c.set_status("Dataset", "default", "b", {"phase": "Bound"})

    th = threading.Thread(target=controller)
    th.start()
    r = wait_for(c, [Target("Dataset", "default", n, bound) for n in ("a", "b")], timeout=5)
    th.join()
    assert r.done
    assert c.streams_closed == 1  # the waiter cancelled its streams when done
    lists = [x for x in c.calls if x[0] == "list"]
    watches = [x for x in c.calls if x[0] == "watch"]
    assert len(lists) == 2  # the first list, and the re-list after 410
    assert len(watches) >= 3  # refused, dropped, gone, then the one that saw Bound
    assert r.reconnects >= 3
