# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress of a wait, as one line per change, for the action plugins to print while the module runs.

The waiter sees every event of the objects it awaits. ``Reporter.update`` is its callback: it
sums up each awaited unit (phase, cache capacity, ready workers) and, when that summary changed,
appends one JSON line ``{"t": seconds, "msg": text}`` to the file named by the environment
variable ``CLOUDNATIVE_FLUID_PROGRESS``. The collection's action plugins set that variable only
when the module runs on the controller (connection local), tail the file and print the lines
(see plugins/plugin_utils/progress.py). Without the variable, or when the file cannot be written,
nothing is reported and the module behaves exactly as before. Values the module keeps out of its
output (no_log) are masked in the lines too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible.module_utils.common.parameters import remove_values
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid

ENV = "CLOUDNATIVE_FLUID_PROGRESS"
OPERATIONS = fluid.OPERATION_KINDS


def _status_phase(obj):
    return fluid.phase(obj) or "no status yet"


def snapshot(unit, objects):
    """(state, details) of one unit from the last seen objects of its targets (key -> object or None).

    state: the Dataset's or DataLoad's phase when one is awaited, else the runtime's (master while
    it is not Ready, then workers); 'absent'/'gone' without an object, 'deleting' with a deletion
    timestamp. details: 'cache 12.00GiB', 'workers 1/2', 'duration 20s' when known.
    """
    by_kind = {}
    for t in unit.targets:
        by_kind.setdefault(t.kind, objects.get(t.key))
    main = unit.kind if unit.kind in by_kind else (unit.targets[0].kind if unit.targets else unit.kind)
    runtime_kind = next((k for k in by_kind if k in fluid.ALL_RUNTIME_KINDS), None)
    runtime = by_kind.get(runtime_kind) if runtime_kind else None
    operation = next((by_kind[k] for k in OPERATIONS if k in by_kind), None)
    dataset = by_kind.get(fluid.DATASET)
    obj = by_kind.get(main)

    if obj is None:
        state = "gone" if unit.state == "absent" else "absent"
    elif (obj.get("metadata") or {}).get("deletionTimestamp"):
        state = "deleting"
    elif main in fluid.CLUSTER_SCOPED:  # a ThinRuntimeProfile has no status: it is there or not
        state = "present"
    elif operation is not None:
        state = _status_phase(operation)
    elif fluid.DATASET in by_kind and dataset is not None:
        state = _status_phase(dataset)
    else:
        comps = fluid.runtime_components(obj)
        if runtime_kind not in fluid.RUNTIMES_WITHOUT_MASTER and comps["master"]["phase"] != fluid.RUNTIME_READY:
            state = "master " + (comps["master"]["phase"] or "not ready")
        else:
            state = "workers " + (comps["worker"]["phase"] or "not ready")

    details = []
    if unit.state != "absent":
        cache = fluid.cache_states(dataset).get("cacheCapacity") or fluid.cache_states(runtime).get("cacheCapacity")
        if cache:
            details.append("cache %s" % cache)
        if runtime is not None:
            worker = fluid.runtime_components(runtime)["worker"]
            want = getattr(unit, "expected", None) or worker["desired"] or int(
                ((runtime.get("spec") or {}).get("replicas")) or 0)
            details.append("workers %d/%d" % (worker["ready"], want))
        if operation is not None and (operation.get("status") or {}).get("duration"):
            details.append("duration %s" % operation["status"]["duration"])
        if operation is not None and dataset is not None and fluid.phase(dataset) != fluid.PHASE_BOUND:
            details.append("Dataset %s" % _status_phase(dataset))  # a DataMigrate's, until Fluid releases it
    return state, tuple(details)


def line(unit, before, after, seconds, done):
    """One progress line: 'default/cifar10 NotBound -> Bound (cache 12.00GiB, workers 1/2) after 27 s'.

    before: the previous (state, details), None for the first line of a unit.
    """
    state, details = after
    text = "%s " % (unit.name if unit.namespace is None else "%s/%s" % (unit.namespace, unit.name))
    if before is None:
        text += state
    elif before[0] != state:
        text += "%s -> %s" % (before[0], state)
    else:
        text += state
    if details:
        text += " (%s)" % ", ".join(details)
    if before is None:
        text += ", waiting until %s" % unit.want if not done else ", already %s" % unit.want
    else:
        text += " after %d s" % int(round(seconds))
        if done:
            text += ", done"
    return text


class Reporter(object):
    """Writes a line per change of the units' summaries; does nothing once writing failed."""

    def __init__(self, path, units, hidden=()):
        self.path, self.units, self.hidden = path, list(units), set(hidden)
        self.last = {}

    @classmethod
    def for_module(cls, module, units):
        """The reporter the action plugin asked for (ENV set), else None."""
        path = os.environ.get(ENV)
        if not path or module is None:
            return None
        inner = getattr(module, "_module", module)
        return cls(path, units, getattr(inner, "no_log_values", ()))

    def update(self, objects, satisfied, seconds):
        """The waiter's callback: objects key -> object (None: absent) for the keys listed so far,
        satisfied: keys whose predicate holds, seconds: since the wait started."""
        if self.path is None:
            return
        try:
            lines = self.lines(objects, satisfied, seconds)
        except Exception:  # pylint: disable=broad-except
            self.path = None  # progress never breaks a wait
            return
        if lines:
            self.write(lines, seconds)

    def lines(self, objects, satisfied, seconds):
        lines = []
        for u in self.units:
            if any(t.key not in objects for t in u.targets):
                continue  # not listed yet
            now = snapshot(u, objects)
            done = bool(u.targets) and all(t.key in satisfied for t in u.targets)
            before = self.last.get(id(u))
            if before is not None and before[0] == now and before[1] == done:
                continue
            self.last[id(u)] = (now, done)
            lines.append(line(u, before[0] if before else None, now, seconds, done))
        return lines

    def write(self, lines, seconds):
        try:
            with open(self.path, "a") as f:
                for text in lines:
                    if self.hidden:
                        text = remove_values(text, self.hidden)
                    f.write(json.dumps({"t": round(seconds, 3), "msg": text}) + "\n")
        except (IOError, OSError):
            self.path = None
