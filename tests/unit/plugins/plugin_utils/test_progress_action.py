"""The action plugins' progress: the tail of the progress file, and results passed through untouched."""
import copy
import json
import os
import time

import pytest
from unittest.mock import MagicMock

from ansible.plugins.action import ActionBase
from ansible.plugins.action.normal import ActionModule as NormalAction
from ansible.plugins.shell.sh import ShellModule

from ansible_collections.cloudnative.fluid.plugins.module_utils import progress as module_progress
from ansible_collections.cloudnative.fluid.plugins.plugin_utils import progress
from ansible_collections.cloudnative.fluid.plugins.action.dataset import ActionModule as DatasetAction

RESULT = {"changed": True, "datasets": [{"name": "cifar10", "phase": "Bound", "wait_seconds": 27.1}],
          "diff": [{"before": {}, "after": {"spec": {}}}], "invocation": {"module_args": {"name": "cifar10"}}}
RECORDS = [{"t": 0.1, "msg": "default/cifar10 NotBound, waiting until bound"},
           {"t": 0.3, "msg": "default/cifar10 NotBound -> Bound (cache 12.00GiB) after 0 s, done"}]


def test_the_environment_variable_names_are_one():
    assert progress.ENV == module_progress.ENV


class Clock(object):
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def write(path, *records, raw=None):
    with open(path, "a") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
        if raw:
            f.write(raw)


def test_tail_holds_lines_back_until_the_wait_lasted_quiet_seconds(tmp_path):
    path, clock, shown = str(tmp_path / "p"), Clock(), []
    open(path, "w").close()
    tail = progress.Tail(path, "cloudnative.fluid.dataset", shown.append, quiet=3, clock=clock)
    tail.step()
    write(path, RECORDS[0])
    tail.step()
    clock.now += 2
    tail.step()
    assert shown == []
    clock.now += 1.5
    write(path, RECORDS[1])
    tail.step()
    assert shown == ["cloudnative.fluid.dataset: " + r["msg"] for r in RECORDS]


def test_tail_of_a_short_wait_prints_nothing(tmp_path):
    path, clock, shown = str(tmp_path / "p"), Clock(), []
    write(path, *RECORDS)
    tail = progress.Tail(path, "x", shown.append, quiet=3, clock=clock)
    tail.step()
    clock.now += 1
    tail.step()
    assert shown == []


def test_tail_waits_for_whole_lines_and_skips_junk(tmp_path):
    path, shown = str(tmp_path / "p"), []
    tail = progress.Tail(path, "p", shown.append, quiet=0)
    tail.step()  # no file yet
    line = json.dumps(RECORDS[0])
    write(path, raw="not json\n" + json.dumps([1]) + "\n" + line[:10])
    tail.step()
    assert shown == []
    write(path, raw=line[10:] + "\n")
    tail.step()
    assert shown == ["p: " + RECORDS[0]["msg"]]


def test_tail_thread_prints_while_running_and_drains_on_stop(tmp_path):
    path, shown = str(tmp_path / "p"), []
    open(path, "w").close()
    tail = progress.Tail(path, "p", shown.append, quiet=0, poll=0.01)
    tail.start()
    write(path, RECORDS[0])
    deadline = time.monotonic() + 5
    while not shown and time.monotonic() < deadline:
        time.sleep(0.01)
    assert shown == ["p: " + RECORDS[0]["msg"]]
    write(path, RECORDS[1])
    tail.stop()
    assert shown[-1] == "p: " + RECORDS[1]["msg"] and not tail.thread.is_alive()


# ---------------------------------------------------------------- the action plugin


def make(cls, local=True, no_log=False, async_val=0, environment=None):
    task = MagicMock()
    task.action = task.resolved_action = "cloudnative.fluid.dataset"
    task.async_val, task.no_log, task.check_mode, task.environment = async_val, no_log, False, environment
    task.args = {"name": "cifar10"}
    conn = MagicMock()
    conn.transport = "local" if local else "ssh"
    conn.has_native_async = False
    conn._shell = ShellModule()
    conn._shell.tmpdir = None
    templar = MagicMock()
    templar.template.side_effect = lambda v, **kw: v
    return cls(task, conn, MagicMock(), MagicMock(), templar, None)


@pytest.fixture
def module(monkeypatch):
    """A stand-in for the module run: records its environment, writes progress lines when asked."""
    seen = {"env": [], "cmd": []}
    outcome = {"result": RESULT, "raise": ""}

    def execute(self, module_name=None, module_args=None, tmp=None, task_vars=None, persist_files=False,
                delete_remote_tmp=None, wrap_async=False, ignore_unknown_opts=False):
        env = {}
        seen["cmd"].append(self._compute_environment_string(env))
        seen["env"].append(env)
        if env.get(progress.ENV):
            for r in RECORDS:
                write(env[progress.ENV], r)
                time.sleep(0.05)
        if outcome["raise"]:
            raise RuntimeError(outcome["raise"])
        return copy.deepcopy(outcome["result"])

    monkeypatch.setattr(ActionBase, "_execute_module", execute)
    monkeypatch.setattr(ActionBase, "_remove_tmp_path", lambda self, path, force=False: None)
    monkeypatch.setattr(progress, "QUIET_SECONDS", 0)
    monkeypatch.setattr(progress, "POLL_SECONDS", 0.01)
    shown = []
    monkeypatch.setattr(progress.display, "display", lambda msg, *a, **kw: shown.append(msg))
    seen["shown"] = shown
    seen["outcome"] = outcome
    return seen


def run_both(**kw):
    return make(NormalAction, **kw).run(task_vars={}), make(DatasetAction, **kw).run(task_vars={})


def test_local_run_prints_progress_and_returns_the_result_unchanged(module):
    plain, with_progress = run_both()
    assert with_progress == plain == RESULT
    assert module["shown"] == ["cloudnative.fluid.dataset: " + r["msg"] for r in RECORDS]
    path = module["env"][1][progress.ENV]
    assert progress.ENV not in module["env"][0]  # the plain run
    assert path in module["cmd"][1] and not os.path.exists(path)  # named to the module, removed after


def test_lines_name_their_host_when_the_play_has_several(module):
    make(DatasetAction).run(task_vars={"inventory_hostname": "east", "ansible_play_hosts_all": ["east", "west"]})
    make(DatasetAction).run(task_vars={"inventory_hostname": "localhost", "ansible_play_hosts_all": ["localhost"]})
    n = len(RECORDS)
    assert module["shown"][:n] == ["cloudnative.fluid.dataset [east]: " + r["msg"] for r in RECORDS]
    assert module["shown"][n:] == ["cloudnative.fluid.dataset: " + r["msg"] for r in RECORDS]


def test_the_task_environment_is_kept(module):
    make(DatasetAction, environment=[{"HTTPS_PROXY": "http://proxy:3128"}]).run(task_vars={})
    assert module["env"][0]["HTTPS_PROXY"] == "http://proxy:3128" and progress.ENV in module["env"][0]


@pytest.mark.parametrize("kw", [dict(local=False), dict(no_log=True), dict(async_val=30)])
def test_no_progress_remote_no_log_or_async(module, kw):
    plain, with_progress = run_both(**kw)
    assert with_progress == plain
    assert module["shown"] == [] and all(progress.ENV not in e for e in module["env"])
    assert module["cmd"][0] == module["cmd"][1]


def test_failures_pass_through(module):
    module["outcome"]["result"] = {"failed": True, "msg": "Timed out after 5s waiting for 1 of 1 Datasets",
                                   "changed": False, "datasets": []}
    plain, with_progress = run_both()
    assert with_progress == plain and with_progress["failed"]


def test_an_exception_propagates_and_the_file_is_removed(module):
    module["outcome"]["raise"] = "connection lost"
    with pytest.raises(RuntimeError, match="connection lost"):
        make(DatasetAction).run(task_vars={})
    assert not os.path.exists(module["env"][0][progress.ENV])


def test_progress_lines_go_to_stderr_not_into_the_stdout_callbacks_output(capsys):
    progress.show_on_stderr("cloudnative.fluid.dataset: default/cifar10 NotBound -> Bound after 27 s, done")
    out, err = capsys.readouterr()
    assert out == "" and "NotBound -> Bound" in err
