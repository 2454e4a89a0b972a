# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one driver of every Fluid object module.

A module declares its kind (a ``Kind`` subclass: options of one item, validation, builder,
what to wait for, the result entry, secret values, hooks) and calls ``run(kind)``. The driver
then, for one item (``name``) or a list (``datasets``, ``runtimes``):

* expands the items, each inheriting the top-level defaults (``namespace``, ``state``, ``kind``);
* validates every item before anything is written and fails with all problems at once, each
  ``field: problem; fix`` with the item's prefix (``datasets[2].``);
* applies each object with server-side apply (field manager ``cloudnative.fluid``); whether it
  changes is decided by a server-side *dry run* compared with what the cluster has, so fields the
  API server or Fluid default never count as a change;
* in check mode stops at the dry run (a 404 for a namespace that an earlier task would create is
  reported as would-be created), deletes for ``state: absent``, refuses an object being deleted;
* waits for all objects at once with one watch-based waiter and one deadline, and on timeout
  fails with ``diagnose.diagnose()`` of up to DIAGNOSE_MAX objects;
* exits with ``changed``, one result entry per item and the diff.

A cluster-scoped kind (ThinRuntimeProfile) sets ``namespaced = False`` and declares its options with
``cluster_item_spec``: its items have no namespace, its objects none in their metadata, its result
entries none either.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import copy
import gc

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import force as forcing
from ansible_collections.cloudnative.fluid.plugins.module_utils import progress
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import (
    AUTH_ARG_SPEC,
    AnsibleK8SModule,
    ApiError,
    FluidNotInstalled,
    connect,
)
from ansible_collections.cloudnative.fluid.plugins.module_utils.diagnose import diagnose
from ansible_collections.cloudnative.fluid.plugins.module_utils.errors import explain_api_error
from ansible_collections.cloudnative.fluid.plugins.module_utils.waiter import Target, WaitError, wait_for

# Top-level metadata fields this collection sets; everything else under metadata belongs to the server.
OWNED_METADATA = ("labels", "annotations")
# On timeout, objects explained in full; the rest are named (a diagnosis costs several API reads).
DIAGNOSE_MAX = 5
WAIT_SPEC = dict(wait=dict(type="bool", default=True), wait_timeout=dict(type="int", default=300))
# `force` of the kinds whose deletion Fluid's finalizers hold (Kind.forceable): module_utils.force
FORCE_SPEC = dict(force=dict(type="bool", default=False))
INVALID = "Invalid options (nothing was changed):\n- "


# ---------------------------------------------------------------- objects as dicts


def str_map(d):
    """A mapping with string values, as labels, annotations and Fluid's options want (booleans as true/false)."""
    return dict((str(k), validate.str_value(v)) for k, v in (d or {}).items())


def fields(values, names):
    """{api name: values[option]} for each (option, api name) of names whose value is set (not None)."""
    return dict((api, values[opt]) for opt, api in names if values.get(opt) is not None)


def deep_merge(base, extra):
    """extra merged into a copy of base: mappings recursively, anything else replaced."""
    out = copy.deepcopy(base)
    for k, v in (extra or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def fluid_object(kind, item, spec):
    """The data.fluid.io object of one item: name, namespace (none for a cluster-scoped kind), labels,
    annotations, and spec with the item's own `spec` option merged last."""
    metadata = {"name": item["name"]}
    if item.get("namespace") is not None:
        metadata["namespace"] = item["namespace"]
    if item.get("labels"):
        metadata["labels"] = str_map(item["labels"])
    if item.get("annotations"):
        metadata["annotations"] = str_map(item["annotations"])
    return {"apiVersion": fluid.API_VERSION, "kind": kind, "metadata": metadata,
            "spec": deep_merge(spec, item.get("spec"))}


def prune(value, wanted=None):
    """value without empty mappings, empty lists, None and "" (recursively), except what `wanted` sets.

    Fluid's controllers write their objects back from Go structs, which adds empty fields the
    user never set (``volumeSource: {}`` inside an atomic tieredstore level, ``podMetadata: {}``).
    They mean the same as absent fields, so they must not make an object look changed. An empty
    string the user sets (``wanted``, the object as applied, has it at the same place; Fluid's
    option maps take ``writeback: ""``) is a value and stays.
    """
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            want = wanted.get(k) if isinstance(wanted, dict) else None
            v = prune(v, want)
            if v not in (None, "", {}, []) or (v == "" and want == ""):
                out[k] = v
        return out
    if isinstance(value, list):
        wanted = wanted if isinstance(wanted, list) else []
        return [prune(v, wanted[i] if i < len(wanted) else None) for i, v in enumerate(value)]
    return value


def comparable(obj, wanted=None):
    """The part of an object this collection manages: metadata labels/annotations and spec, pruned
    (wanted: the object as applied, whose empty strings count)."""
    if obj is None:
        return None
    meta = obj.get("metadata") or {}
    out = {}
    owned = {k: meta[k] for k in OWNED_METADATA if meta.get(k)}
    if owned:
        out["metadata"] = owned
    if "spec" in obj:
        out["spec"] = obj["spec"]
    return prune(out, comparable_guide(wanted))


def comparable_guide(wanted):
    if not wanted:
        return None
    meta = wanted.get("metadata") or {}
    return {"metadata": {k: meta.get(k) for k in OWNED_METADATA}, "spec": wanted.get("spec")}


# ---------------------------------------------------------------- declarations


def item_spec(**options):
    """The options of one item: name, namespace, state, the kind's own options, labels, annotations, spec."""
    spec = dict(name=dict(type="str"), namespace=dict(type="str"), state=dict(type="str", choices=["present", "absent"]))
    spec.update(options)
    spec.update(labels=dict(type="dict"), annotations=dict(type="dict"), spec=dict(type="dict"))
    return spec


def cluster_item_spec(**options):
    """item_spec of a cluster-scoped kind (Kind.namespaced False): the same without namespace."""
    spec = item_spec(**options)
    del spec["namespace"]
    return spec


class Kind(object):
    """A declaration of one Fluid kind. Modules subclass it and override what differs."""

    kind = None  # the Fluid kind (runtime: the item's own `kind` option, see kind_of)
    namespaced = True  # False for a cluster-scoped kind: its item_spec is cluster_item_spec, objects have no namespace
    noun = None  # what one item is called in messages ("Dataset", "runtime")
    many = None  # the list option ("datasets"); None: one object per task
    result = None  # the result key of the entries ("datasets"); None: the one entry at the top level
    item_spec = {}  # the options of one item
    defaults = {}  # top-level defaults the items inherit ({"namespace": "default", ...})
    module_spec = {}  # further top-level options (wait_for, ...)
    item_hint = "name"  # what an item of `many` needs at least
    typed_spec = ()  # (spec field, option or "option/option") pairs: the spec option must not set them too
    credential_warning = None  # warning when secret_values() finds option values that look like credentials
    forceable = False  # True: the `force` option (state: absent removes Fluid's finalizers of a stalled controller)

    def kind_of(self, item):
        return self.kind

    def validate_item(self, item, params=None):
        """Every problem with one item, as 'field: problem; fix' strings (prefix item['prefix'])."""
        p = item.get("prefix", "")
        errors = validate.resource_name(p + "name", item.get("name"), self.kind or item.get("kind") or self.noun)
        if self.namespaced:
            errors += validate.namespace_name(p + "namespace", item.get("namespace"))
        errors += self.validate(item, params or {})
        if item.get("state") == "absent":
            return errors
        errors += validate.labels(p + "labels", item.get("labels"))
        errors += validate.labels(p + "annotations", item.get("annotations"), values=False)
        for field, option in self.typed_spec:
            typed = [o for o in option.split("/") if item.get(o) is not None]
            if field in (item.get("spec") or {}) and typed:
                errors.append("%sspec.%s: also set by %s; set it in one place only" % (p, field, " and ".join(typed)))
        return errors

    def validate(self, item, params):
        """The kind's own checks of one item."""
        return []

    def warnings(self, item):
        return []

    def build(self, item):
        raise NotImplementedError

    def secret_values(self, item):
        """Option values to keep out of the output (they are warned about with credential_warning)."""
        return []

    def hidden_values(self, item):
        """Values to keep out of the output silently (declared secrets)."""
        return []

    def want(self, params):
        return "ready"

    def targets(self, unit, params):
        """The waiter.Targets of a present item."""
        raise NotImplementedError

    def summary(self, run, unit):
        raise NotImplementedError

    # hooks, each given the Run
    def prepare(self, run):
        """After validation, the connection and the kind check; before any write (may read and fail)."""

    def replace(self, run, unit, existing):
        """An existing object whose fields changed: True when the hook handled the write itself."""
        return False

    def settled(self, run, unit):
        """An object that does not exist but needs no write (a data operation Fluid deleted when done): True."""
        return False

    def finished(self, run, unit):
        """After a successful wait: a failure message when the object finished badly."""
        return None

    def after(self, run, failure):
        """After the wait (or after the writes when not waiting)."""

    def extra_changed(self, run):
        return False

    def extra_diffs(self, run):
        return []


class Unit(object):
    """One object the waiter awaits (and, for a module item, what the task did to it)."""

    def __init__(self, kind, namespace, name, state="present", body=None, item=None, want="ready"):
        self.kind, self.namespace, self.name, self.state = kind, namespace, name, state
        self.body, self.item, self.want = body, item or {}, want
        self.where = self.item.get("where") or self.ref
        self.targets = []
        self.changed = self.replaced = self.ready = False
        self.before = self.after = self.obj = None
        self.wait_seconds = 0.0

    @property
    def path(self):
        """namespace/name, or the name alone for a cluster-scoped object."""
        return self.name if self.namespace is None else "%s/%s" % (self.namespace, self.name)

    @property
    def ref(self):
        return "%s %s" % (self.kind, self.path)

    @property
    def key(self):
        return (self.kind, self.namespace, self.name)

    def headline(self):
        return "%s (%s):" % (self.ref, self.want)

    def entry(self, **more):
        """The result entry's fields every kind has, and more."""
        out = dict(name=self.name, namespace=self.namespace, state=self.state, changed=self.changed,
                   exists=self.after is not None and self.state == "present", wait_seconds=self.wait_seconds, **more)
        if self.namespace is None:  # a cluster-scoped object
            del out["namespace"]
        return out

    def diff(self):
        return {"before_header": self.ref if self.before is not None else "%s (absent)" % self.ref,
                "after_header": self.ref if self.after is not None else "%s (absent)" % self.ref,
                "before": self.before or {}, "after": self.after or {}}


def gone(obj):
    return obj is None


def wait(client, units, timeout, noun, module=None):
    """Wait for every unit's targets at once, within one deadline; set each unit's ready,
    wait_seconds and obj. Returns None, or the failure: a diagnosis of up to DIAGNOSE_MAX units.
    With the module, reports progress when the action plugin asked for it (module_utils.progress)."""
    targets = [t for u in units for t in u.targets]
    reporter = progress.Reporter.for_module(module, units)
    try:
        result = wait_for(client, targets, timeout, progress=reporter.update if reporter else None)
    except WaitError as e:
        return "Waiting for %s failed: %s" % (noun, e)
    for u in units:
        times = [result.satisfied.get(t.key) for t in u.targets]
        u.ready = all(x is not None for x in times)
        u.wait_seconds = round(max(times) if u.ready and times else result.elapsed, 3)
        u.obj = result.objects.get(u.key, u.obj)
    pending = [u for u in units if not u.ready]
    if result.done or not pending:
        return None
    parts = []
    for u in pending[:DIAGNOSE_MAX]:
        text = diagnose(client, u.kind, u.namespace, u.name, obj=result.objects.get(u.key), want=u.want)
        parts.append("- %s\n  %s" % (u.headline(), text.replace("\n", "\n  ")))
    rest = pending[DIAGNOSE_MAX:]
    if rest:
        parts.append("- and %d more not there yet (same checks apply): %s" % (
            len(rest), ", ".join(u.path for u in rest)))
    return "Timed out after %ss waiting for %d of %d %s:\n%s" % (
        timeout, len(pending), len(units), noun, "\n".join(parts))


# ---------------------------------------------------------------- one task


def argument_spec(kind):
    spec = copy.deepcopy(kind.item_spec)
    for k, v in kind.defaults.items():
        spec[k]["default"] = v
    if kind.many:
        spec[kind.many] = dict(type="list", elements="dict")
    else:
        spec["name"]["required"] = True
    spec.update(copy.deepcopy(WAIT_SPEC))
    spec.update(copy.deepcopy(kind.module_spec))
    if kind.forceable:
        spec.update(copy.deepcopy(FORCE_SPEC))
    spec.update(copy.deepcopy(AUTH_ARG_SPEC))
    return spec


def expand_items(kind, params):
    """(items, errors): each item a dict of item_spec options plus 'where' and 'prefix' (for errors)."""
    if not kind.many or params.get(kind.many) is None:
        item = {k: params.get(k) for k in kind.item_spec}
        item.update(where="name=%s" % params.get("name"), prefix="")
        return [item], []
    errors = ["%s: set it inside each item of %s, not at the top level, when %s is used" % (k, kind.many, kind.many)
              for k in kind.item_spec if k != "name" and k not in kind.defaults and params.get(k) is not None]
    item_spec = copy.deepcopy(kind.item_spec)
    item_spec["name"]["required"] = True
    validator = ArgumentSpecValidator(item_spec)
    items = []
    for i, raw in enumerate(params[kind.many]):
        where = "%s[%d]" % (kind.many, i)
        if not isinstance(raw, dict):
            errors.append("%s: must be a mapping with at least %s" % (where, kind.item_hint))
            continue
        result = validator.validate(raw)
        errors += ["%s: %s" % (where, e) for e in result.errors]
        item = dict(result.validated_parameters)
        for k in kind.defaults:
            item[k] = item.get(k) or params.get(k)
        item.update(where=where, prefix=where + ".")
        items.append(item)
    return items, errors


class Run(object):
    """One task of a module: its module, client, items and units."""

    def __init__(self, kind, module):
        self.kind, self.module, self.params = kind, module, module.params
        self.check = module.check_mode
        self.client = None
        self.items, self.units, self.done = [], [], []
        self.removed, self.force_diffs = [], []  # force: the finalizers removed (module_utils.force Steps)

    def fail(self, msg, **extra):
        if not self.kind.result and self.units:
            extra = dict(self.result()[0], **extra)
        self.module.fail_json(msg=msg, **extra)

    def invalid(self, errors):
        if errors:
            self.fail(INVALID + "\n- ".join(errors), errors=errors)

    def call(self, unit, action, fn, *args, **kwargs):
        """fn(*args) with an API error turned into a failure naming the item, the object and the fix."""
        try:
            return fn(*args, **kwargs)
        except ApiError as e:
            msg = "%s: could not %s %s: %s" % (unit.where, action, unit.ref, explain_api_error(e, unit.namespace))
            if self.done:
                msg += " Already changed before this error: %s." % ", ".join(self.done)
            self.fail(msg)

    def validate(self):
        kind, params = self.kind, self.params
        if kind.many:
            self.invalid(validate.one_or_many(params, "name", kind.many, kind.noun))
        self.items, errors = expand_items(kind, params)
        errors += validate.positive("wait_timeout", params["wait_timeout"])
        if params.get("force"):
            present = [i["where"] for i in self.items if i.get("state") != "absent"]
            if present:
                errors.append("force: applies to state: absent only (it removes Fluid's finalizers of objects being "
                              "deleted), and %s %s state present; set state: absent or remove force" % (
                                  ", ".join(present), "has" if len(present) == 1 else "have"))
            if not params["wait"]:
                errors.append("force: acts when a deletion has not finished within wait_timeout, so it needs "
                              "wait: true; set wait: true or remove force")
        seen = {}
        for item in self.items:
            errors += kind.validate_item(item, params)
            key = (item.get("namespace"), item.get("name"))
            if item.get("name") and key in seen:
                errors.append("%sname: %s %s is already %s; list each %s once" % (
                    item["prefix"], kind.noun, "/".join(k for k in key if k is not None), seen[key], kind.noun))
            seen.setdefault(key, item["where"])
        found = {}
        for item in self.items:  # masked before any failure can show the options
            found[item["where"]] = kind.secret_values(item)
            for value in found[item["where"]] + kind.hidden_values(item):
                self.module._module.no_log_values.add(value)
        self.invalid(errors)
        for item in self.items:
            warnings = [item["where"] + ": " + kind.credential_warning] if found[item["where"]] else []
            for w in kind.warnings(item) + warnings:
                self.module.warn(w)
            body = kind.build(item) if item["state"] == "present" else None
            unit = Unit(kind.kind_of(item), item.get("namespace"), item["name"], item["state"], body, item,
                        "absent" if item["state"] == "absent" else kind.want(params))
            self.units.append(unit)

    def require(self):
        for k in sorted(set(u.kind for u in self.units)):
            try:
                self.client.require(k)
            except (FluidNotInstalled, ApiError) as e:
                self.fail(str(e))

    def existing(self, unit):
        """The unit's object as the cluster has it before this task writes it, read once (a kind's prepare hook
        and the apply share the read)."""
        if not hasattr(unit, "existing"):
            unit.existing = self.call(unit, "read", self.client.get, unit.kind, unit.namespace, unit.name)
        return unit.existing

    def apply(self, unit):
        """Apply or delete one object (a dry run in check mode); fills unit.changed/before/after/obj."""
        client = self.client
        existing = unit.obj = self.existing(unit)
        unit.before = comparable(existing, unit.body)
        meta = (existing or {}).get("metadata") or {}
        if unit.state == "absent":
            unit.changed = existing is not None and not meta.get("deletionTimestamp")
            if unit.changed:
                self.call(unit, "delete", client.delete, unit.kind, unit.namespace, unit.name, dry_run=self.check)
                self.done += [] if self.check else [unit.ref]
            return
        if existing is None and self.kind.settled(self, unit):
            return
        if meta.get("deletionTimestamp"):
            self.fail("%s: %s is being deleted (finalizers: %s); wait for the deletion to finish (state: absent "
                      "waits for it) and run again." % (unit.where, unit.ref, ", ".join(meta.get("finalizers") or [])
                                                        or "none"))
        try:
            preview = client.apply(unit.body, dry_run=True)
        except ApiError as e:
            if not (self.check and e.status == 404 and existing is None):
                self.call(unit, "apply", _raise, e)
            # The namespace may be created by an earlier task that check mode did not run.
            unit.changed, unit.after = True, comparable(unit.body, unit.body)
            self.module.warn("%s: dry run failed (%s); reporting it as would-be created." % (unit.where, e))
            return
        unit.after = comparable(preview, unit.body)
        unit.changed = existing is None or unit.before != unit.after
        if not unit.changed or (existing is not None and self.kind.replace(self, unit, existing)) or self.check:
            return
        unit.obj = self.call(unit, "apply", client.apply, unit.body)
        unit.after = comparable(unit.obj, unit.body)
        self.done.append(unit.ref)

    def wait(self):
        """Wait for every unit (one deadline); a failure message or None."""
        params = self.params
        for u in self.units:
            u.targets = ([Target(u.kind, u.namespace, u.name, gone)] if u.state == "absent"
                         else self.kind.targets(u, params))
        failure = wait(self.client, self.units, params["wait_timeout"], self.kind.noun + "s", self.module)
        for u in self.units:
            if failure is None and u.state == "present":
                failure = self.kind.finished(self, u)
        return failure

    def force(self, failure):
        """force: true, after a wait for deletions that timed out (failure: its diagnosis). Removes Fluid's
        finalizers of the objects still there whose controller is stalled or absent (module_utils.force), waits
        wait_timeout again (at most GONE_TIMEOUT) for them to go, and returns the failure that is left, or None."""
        pending = [u for u in self.units if u.state == "absent" and not u.ready]
        objects = [(u.kind, self.call(u, "read", self.client.get, u.kind, u.namespace, u.name)) for u in pending]
        the_plan = forcing.plan(self.client, [(k, o) for k, o in objects if o is not None])
        removed, errors = forcing.apply(self.client, the_plan)
        self.removed += removed
        self.force_diffs += [s.diff() for s in removed]
        notes = the_plan.refused + errors
        left = forcing.leftovers(self.client, removed)
        if left:
            self.module.warn("force removed Fluid's finalizers before its controller cleaned up after the runtime; "
                             "these objects are left, delete them when nothing uses them: %s" % ", ".join(left))
        forced = [u for u in pending if any((s.namespace, s.name) == (u.namespace, u.name) for s in removed)]
        timeout = min(self.params["wait_timeout"], forcing.GONE_TIMEOUT)
        after = wait(self.client, forced, timeout, self.kind.noun + "s", self.module) if forced else None
        if not notes and after is None and all(u.ready for u in pending):
            return None
        text = failure
        if removed:
            text += "\nforce: true removed %s." % ", ".join("%s from %s" % (s.finalizer, s.ref) for s in removed)
        if notes:
            text += "\nforce: true did not apply to:\n- " + "\n- ".join(notes)
        elif not removed:
            text += ("\nforce: true found no Fluid finalizer to remove (fluid.io's are %s); the finalizers left are "
                     "not Fluid's and stay." % ", ".join(sorted(set(fluid.FINALIZERS.values()))))
        if after:
            text += "\nAfter removing them: " + after
        return text

    def force_check(self):
        """force: true in check mode: the finalizers a run would remove now (dry-run patches), reported."""
        objects = []
        for u in self.units:
            obj = self.call(u, "read", self.client.get, u.kind, u.namespace, u.name) if u.state == "absent" else None
            if obj is not None:
                objects.append((u.kind, obj))
        the_plan = forcing.plan(self.client, objects)
        removed, errors = forcing.apply(self.client, the_plan, dry_run=True)
        self.removed += removed
        self.force_diffs += [s.diff() for s in removed]
        for note in the_plan.refused + errors:
            self.module.warn("force: " + note)

    def result(self):
        return [self.kind.summary(self, u) for u in self.units]

    def exit(self, failure):
        results = self.result()
        changed = any(u.changed for u in self.units) or self.kind.extra_changed(self) or bool(self.removed)
        if self.kind.result:
            out = {"changed": changed, self.kind.result: results}
            if self.kind.forceable:
                out["removed_finalizers"] = [s.entry() for s in self.removed]
            if self.module._diff:
                out["diff"] = (self.kind.extra_diffs(self) + [u.diff() for u in self.units if u.changed]
                               + self.force_diffs)
        else:
            out = dict(results[0], changed=changed)
            if self.module._diff and changed:
                out["diff"] = self.units[0].diff()
        fast_teardown()
        if failure:
            self.module.fail_json(msg=failure, **out)
        self.module.exit_json(**out)


def fast_teardown():
    """Make the module process's exit cheap: at exit, freeze the garbage collector's objects.

    After exit_json has printed the result, the controller still waits for the process to end, and
    the interpreter's teardown with the kubernetes library loaded (thousands of classes) spends most
    of its time in the final garbage collections over objects that the OS frees anyway. A frozen
    object is skipped by those collections. Nothing else changes: AnsiballZ's own cleanup (its
    ``finally`` and every other atexit handler) runs as before, and nothing is frozen before exit.
    """
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


def _raise(e):
    raise e


def run(kind):
    """The module's main(): everything from the options to the exit."""
    module = AnsibleK8SModule(argument_spec=argument_spec(kind), supports_check_mode=True,
                              required_one_of=[("name", kind.many)] if kind.many else None)
    task = Run(kind, module)
    task.validate()
    task.client = connect(module)
    task.require()
    kind.prepare(task)
    for unit in task.units:
        task.apply(unit)
    failure = None
    if task.params["wait"] and not task.check:
        failure = task.wait()
        if failure and task.params.get("force"):
            failure = task.force(failure)
    else:
        if task.check and task.params.get("force"):
            task.force_check()
        for u in task.units:
            if u.state == "absent":
                u.obj = None if kind.result else u.obj  # one object's result shows what was deleted
            elif u.obj is not None or not task.check:
                u.obj = task.client.get(u.kind, u.namespace, u.name)
    kind.after(task, failure)
    task.exit(failure)
