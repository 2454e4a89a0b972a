# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Live progress of the waiting modules: the action plugins' one implementation.

The action plugin runs its module exactly as ansible.builtin's ``normal`` action does (it *is*
that action, with two hooks). When the module runs on the controller (a ``local`` connection,
also with ``delegate_to: localhost``), the task is not ``no_log`` and not ``async``, it creates an
empty file, names it in the module's environment (``CLOUDNATIVE_FLUID_PROGRESS``; the module's
waiter appends a JSON line per change, see module_utils/progress.py) and, while the module runs,
a thread tails the file and prints each line with ``Display().display()`` on stderr -- at
default verbosity, so also in an AWX job's output, and never inside a stdout callback's output
(the json callback's stays one JSON document). Lines appear only once the wait has lasted
QUIET_SECONDS (then those held back come first), so a task that finds everything ready stays
silent. The module's result is returned untouched; on any other connection nothing changes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile
import threading
import time

from ansible.plugins.action.normal import ActionModule as NormalAction
from ansible.utils.display import Display

ENV = "CLOUDNATIVE_FLUID_PROGRESS"  # the same name as module_utils.progress.ENV
QUIET_SECONDS = 3.0
POLL_SECONDS = 0.5

display = Display()


def show_on_stderr(msg):
    """Progress goes to stderr: stdout stays the stdout callback's alone (the json callback's output
    must stay one JSON document); a terminal and an AWX job show both."""
    display.display(msg, stderr=True)


def format_line(prefix, record):
    """The printed text of one record of the progress file ({"t": seconds, "msg": text})."""
    return "%s: %s" % (prefix, record["msg"])


class Tail(object):
    """Follows a progress file in a thread; prints its lines once the first is QUIET_SECONDS old."""

    def __init__(self, path, prefix, show=None, quiet=None, poll=None, clock=time.monotonic):
        self.path, self.prefix, self.clock = path, prefix, clock
        self.quiet = QUIET_SECONDS if quiet is None else quiet
        self.poll = POLL_SECONDS if poll is None else poll
        self.show = show or show_on_stderr
        self.offset, self.partial, self.held, self.first = 0, "", [], None
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="fluid-progress")
        self.thread.daemon = True

    def start(self):
        self.thread.start()

    def stop(self):
        """After the module returned: the last lines (if the wait was long enough), then the thread ends."""
        self.stopped.set()
        self.thread.join(5)
        self.step()

    def _run(self):
        while not self.stopped.wait(self.poll):
            self.step()

    def read(self):
        try:
            with open(self.path) as f:
                f.seek(self.offset)
                data = f.read()
                self.offset = f.tell()
        except (IOError, OSError):
            return []
        data, dummy, self.partial = (self.partial + data).rpartition("\n")
        records = []
        for text in data.splitlines():
            try:
                record = json.loads(text)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("msg"), str):
                records.append(record)
        return records

    def step(self):
        records = self.read()
        if records and self.first is None:
            self.first = self.clock()
        self.held.extend(records)
        if self.held and self.clock() - self.first >= self.quiet:
            held, self.held = self.held, []
            for record in held:
                self.show(format_line(self.prefix, record))


class ProgressAction(NormalAction):
    """ansible.builtin's normal action, printing the module's progress lines while it waits."""

    _progress_path = None

    def _progress_possible(self, wrap_async):
        return (not wrap_async and not self._task.async_val and not self._task.no_log
                and getattr(self._connection, "transport", None) == "local")

    def _compute_environment_string(self, raw_environment_out=None):
        if self._progress_path is None:
            return super(ProgressAction, self)._compute_environment_string(raw_environment_out)
        env = {}
        super(ProgressAction, self)._compute_environment_string(env)
        env[ENV] = self._progress_path
        if isinstance(raw_environment_out, dict):
            raw_environment_out.clear()
            raw_environment_out.update(env)
        return self._connection._shell.env_prefix(**env)

    def _execute_module(self, *args, **kwargs):
        if self._progress_path is not None or not self._progress_possible(kwargs.get("wrap_async")):
            return super(ProgressAction, self)._execute_module(*args, **kwargs)
        fd, path = tempfile.mkstemp(prefix="cloudnative-fluid-progress-", suffix=".jsonl")
        os.close(fd)
        prefix = getattr(self._task, "resolved_action", None) or self._task.action
        task_vars = kwargs.get("task_vars") or {}
        if len(task_vars.get("ansible_play_hosts_all") or ()) > 1:  # several clusters: say whose line it is
            prefix = "%s [%s]" % (prefix, task_vars.get("inventory_hostname"))
        tail = Tail(path, prefix)
        self._progress_path = path
        try:
            tail.start()
            return super(ProgressAction, self)._execute_module(*args, **kwargs)
        finally:
            self._progress_path = None
            tail.stop()
            os.unlink(path)
