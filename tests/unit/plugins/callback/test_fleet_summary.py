"""The fleet summary callback: what it prints at the end of a run on several clusters."""
from types import SimpleNamespace

from ansible_collections.cloudnative.fluid.plugins.callback import fleet_summary as F


def test_one_host_prints_nothing():
    assert F.summary_lines(["localhost"], {"localhost": ("T", "boom")}, {"localhost"}) == []


def test_names_each_failed_cluster_with_task_and_message():
    lines = F.summary_lines(["west", "north", "east"], {"north": ("Declare the Datasets", "connection refused")},
                            {"north"})
    assert lines[0] == "cloudnative.fluid: 2 of 3 clusters completed (east, west); 1 failed:"
    assert lines[1:] == ["  north: TASK [Declare the Datasets] connection refused"]


def test_all_completed():
    assert F.summary_lines(["a", "b"], {}, set()) == ["cloudnative.fluid: 2 of 2 clusters completed (a, b)"]


def test_rescued_failure_is_not_reported():
    # a failure recorded for a host that is not in the failed set (rescued, or ignored) is not printed
    assert F.summary_lines(["a", "b"], {"a": ("T", "x")}, set()) == ["cloudnative.fluid: 2 of 2 clusters completed (a, b)"]


def test_messages_one_line_truncated_and_no_log_hidden():
    assert F.failure_message({"msg": "a\n  b"}) == "a b"
    assert len(F.failure_message({"msg": "x" * 5000})) == F.MESSAGE_CHARS
    assert F.failure_message({"censored": "hidden", "msg": "secret"}) == "the output is hidden (no_log)"
    assert F.failure_message({"_ansible_no_log": True, "msg": "secret"}) == "the output is hidden (no_log)"
    loop = {"msg": "", "results": [{"failed": False, "msg": "ok"}, {"failed": True, "msg": "item 2 broke"}]}
    assert F.failure_message(loop) == "item 2 broke"
    assert F.failure_message({"stderr": "helm: boom"}) == "helm: boom"


class Stats(SimpleNamespace):
    pass


def test_callback_end_to_end(capsys):
    cb = F.CallbackModule()

    def result(host, task, res):
        return SimpleNamespace(_host=SimpleNamespace(get_name=lambda: host),
                               _task=SimpleNamespace(get_name=lambda: task), _result=res)

    cb.v2_runner_on_failed(result("east", "Ignored", {"msg": "ignored"}), ignore_errors=True)
    cb.v2_runner_on_failed(result("north", "Wait until Bound", {"msg": "timed out"}))
    cb.v2_runner_on_unreachable(result("south", "Gather", {"msg": "ssh: no route"}))
    stats = Stats(processed={"east": 1, "north": 1, "south": 1}, failures={"north": 1}, dark={"south": 1})
    cb.v2_playbook_on_stats(stats)
    err = capsys.readouterr().err
    assert "1 of 3 clusters completed (east); 2 failed:" in err
    assert "north: TASK [Wait until Bound] timed out" in err
    assert "south: TASK [Gather] unreachable: ssh: no route" in err
    assert "Ignored" not in err
