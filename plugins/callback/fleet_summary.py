# Copyright: (c) 2026, cloudnative.fluid contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""At the end of a run on several hosts (one per cluster), which ones failed and why."""
from __future__ import annotations

DOCUMENTATION = r"""
name: fleet_summary
type: aggregate
short_description: End a run on several clusters with the clusters that failed, the task and its message
description:
  - When a play ran on more than one host (one host per cluster in C(fluid_controller)), prints after the
    play recap one line per host that failed or could not be reached, with the task and its message, and
    how many hosts completed.
  - Prints nothing when the run had one host, so a single-cluster run reads as before.
  - Written on standard error, so the output of a stdout callback (for example C(json)) stays its own.
  - The collection's playbooks (C(site.yml), C(status.yml), ...) load it on their own
    (C(playbooks/callback_plugins/)); for other playbooks enable it with
    C(callbacks_enabled = cloudnative.fluid.fleet_summary) in C(ansible.cfg) or
    E(ANSIBLE_CALLBACKS_ENABLED).
requirements:
  - enable this callback (see above) when the playbook is not one of the collection's
"""

from ansible.plugins.callback import CallbackBase

# a summary line holds this many characters of the failed task's message
MESSAGE_CHARS = 400


def failure_message(result):
    """One line from a failed or unreachable task's result (no_log results say so, never their values)."""
    res = result if isinstance(result, dict) else {}
    if res.get("_ansible_no_log") or "censored" in res:
        return "the output is hidden (no_log)"
    msg = res.get("msg")
    if not msg and isinstance(res.get("results"), list):  # a loop: its first failed item's message
        for item in res["results"]:
            if isinstance(item, dict) and item.get("failed"):
                msg = failure_message(item)
                break
    if not msg:
        msg = res.get("stderr") or res.get("reason") or "failed"
    text = " ".join(str(msg).split())
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS - 3] + "..."


def summary_lines(hosts, failures, failed_hosts):
    """The lines printed at the end: [] for one host; else a count and one line per failed host."""
    hosts = sorted(hosts)
    if len(hosts) < 2:
        return []
    failed = [h for h in hosts if h in failed_hosts]
    done = [h for h in hosts if h not in failed_hosts]
    lines = ["cloudnative.fluid: %d of %d clusters completed (%s)%s" % (
        len(done), len(hosts), ", ".join(done) or "none", "; %d failed:" % len(failed) if failed else "")]
    for h in failed:
        task, msg = failures.get(h, ("(unknown task)", "failed"))
        lines.append("  %s: TASK [%s] %s" % (h, task, msg))
    return lines


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "cloudnative.fluid.fleet_summary"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._failures = {}

    def _record(self, result, unreachable=False):
        task = result._task.get_name().strip() if result._task else "(unknown task)"
        msg = failure_message(result._result)
        self._failures[result._host.get_name()] = (task, ("unreachable: " if unreachable else "") + msg)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not ignore_errors:
            self._record(result)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        failed = set(h for h in stats.processed if stats.failures.get(h) or stats.dark.get(h))
        for line in summary_lines(stats.processed.keys(), self._failures, failed):
            self._display.display(line, stderr=True)
