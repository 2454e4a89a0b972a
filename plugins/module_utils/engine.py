# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The declarative part every Fluid object module shares.

A module validates its options and builds plain dicts; this engine then, for all of them:

* applies each object with server-side apply (field manager ``cloudnative.fluid``). Whether an
  object changes is decided by a server-side *dry run* of that apply compared with what the
  cluster has: only fields this collection sets can differ, and fields the API server or Fluid
  default (``volumeType: hostPath``, finalizers, status) never count as a change;
* in check mode stops at the dry run, so nothing is written and the diff is the server's answer;
* deletes objects for ``state: absent`` (a dry run in check mode);
* waits for all of them at once with one watch-based waiter and one deadline;
* on timeout fails with ``fluid.diagnose()`` for every object that did not get there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid as F
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import ApiError, FluidNotInstalled, explain_api_error
from ansible_collections.cloudnative.fluid.plugins.module_utils.waiter import Target, WaitError, wait_for

# Top-level metadata fields this collection sets; everything else under metadata belongs to the server.
OWNED_METADATA = ("labels", "annotations")
# On timeout, objects explained in full; the rest are named (a diagnosis costs several API reads).
DIAGNOSE_MAX = 5


class Desired(object):
    """One object the module wants: state present (with body) or absent."""

    def __init__(self, kind, namespace, name, state, body=None, where=None):
        self.kind, self.namespace, self.name, self.state = kind, namespace, name, state
        self.body = body
        self.where = where or "%s %s/%s" % (kind, namespace, name)
        self.changed = False
        self.before = None
        self.after = None
        self.wait_seconds = 0.0
        self.warnings = []

    @property
    def ref(self):
        return "%s %s/%s" % (self.kind, self.namespace, self.name)


def str_map(d):
    """A mapping with string values, as labels, annotations and Fluid's options want (booleans as true/false)."""
    out = {}
    for k, v in (d or {}).items():
        if isinstance(v, bool):
            v = "true" if v else "false"
        out[str(k)] = "" if v is None else str(v)
    return out


def fluid_object(kind, item, spec):
    """The data.fluid.io object of one item: name, namespace, labels, annotations, and spec with the
    item's own `spec` option merged last."""
    metadata = {"name": item["name"], "namespace": item["namespace"]}
    if item.get("labels"):
        metadata["labels"] = str_map(item["labels"])
    if item.get("annotations"):
        metadata["annotations"] = str_map(item["annotations"])
    return {"apiVersion": F.API_VERSION, "kind": kind, "metadata": metadata,
            "spec": deep_merge(spec, item.get("spec"))}


def deep_merge(base, extra):
    """extra merged into a copy of base: mappings recursively, anything else replaced."""
    out = copy.deepcopy(base)
    for k, v in (extra or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def prune(value):
    """value without empty mappings, empty lists, None and "" (recursively).

    Fluid's controllers write their objects back from Go structs, which adds empty fields the
    user never set (``volumeSource: {}`` inside an atomic tieredstore level, ``podMetadata: {}``).
    They mean the same as absent fields, so they must not make an object look changed.
    """
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = prune(v)
            if v not in (None, "", {}, []):
                out[k] = v
        return out
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def comparable(obj):
    """The part of an object this collection manages: metadata labels/annotations and spec, pruned."""
    if obj is None:
        return None
    meta = obj.get("metadata") or {}
    out = {}
    owned = {k: meta[k] for k in OWNED_METADATA if meta.get(k)}
    if owned:
        out["metadata"] = owned
    if "spec" in obj:
        out["spec"] = obj["spec"]
    return prune(out)


def _api_failure(module, item, action, e, done):
    msg = "%s: could not %s %s: %s" % (item.where, action, item.ref, explain_api_error(e, item.namespace))
    if done:
        msg += " Already changed before this error: %s." % ", ".join(done)
    module.fail_json(msg=msg)


def apply_all(module, client, items):
    """Apply/delete every item (dry run in check mode). Fills item.changed/before/after."""
    check = module.check_mode
    for kind in sorted(set(i.kind for i in items)):
        try:
            client.require(kind)
        except FluidNotInstalled as e:
            module.fail_json(msg=str(e))
        except ApiError as e:
            module.fail_json(msg=str(e))
    done = []
    for item in items:
        try:
            existing = client.get(item.kind, item.namespace, item.name)
        except ApiError as e:
            _api_failure(module, item, "read", e, done)
        item.before = comparable(existing)
        if item.state == "absent":
            item.after = None
            if existing is None:
                continue
            already = bool((existing.get("metadata") or {}).get("deletionTimestamp"))
            item.changed = not already
            if item.changed:
                try:
                    client.delete(item.kind, item.namespace, item.name, dry_run=check)
                except ApiError as e:
                    _api_failure(module, item, "delete", e, done)
                if not check:
                    done.append(item.ref)
            continue

        if existing is not None and (existing.get("metadata") or {}).get("deletionTimestamp"):
            module.fail_json(msg="%s: %s is being deleted (finalizers: %s); wait for the deletion to finish "
                                 "(state: absent waits for it) and run again." % (
                                     item.where, item.ref,
                                     ", ".join((existing.get("metadata") or {}).get("finalizers") or []) or "none"))
        try:
            preview = client.apply(item.body, dry_run=True)
        except ApiError as e:
            if check and e.status == 404 and existing is None:
                # The namespace may be created by an earlier task that check mode did not run.
                item.changed = True
                item.after = comparable(item.body)
                item.warnings.append("%s: dry run failed (%s); reporting it as would-be created." % (item.where, e))
                continue
            _api_failure(module, item, "apply", e, done)
        item.after = comparable(preview)
        item.changed = existing is None or item.before != item.after
        if item.changed and not check:
            try:
                item.after = comparable(client.apply(item.body))
            except ApiError as e:
                _api_failure(module, item, "apply", e, done)
            done.append(item.ref)


def diffs(items):
    out = []
    for item in items:
        if item.changed:
            out.append({
                "before_header": item.ref if item.before is not None else "%s (absent)" % item.ref,
                "after_header": item.ref if item.after is not None else "%s (absent)" % item.ref,
                "before": item.before or {},
                "after": item.after or {},
            })
    return out


def wait_all(module, client, items, targets_for, timeout, want_for, noun):
    """Wait for every item's targets at once; fail with a diagnosis per pending item on timeout.

    targets_for(item) -> list of waiter.Target; want_for(item) -> the diagnosis' want.
    Returns {key: object} of the last seen objects.
    """
    targets, owner = [], {}
    for item in items:
        for t in targets_for(item):
            targets.append(t)
            owner.setdefault(t.key, item)
    try:
        result = wait_for(client, targets, timeout)
    except WaitError as e:
        module.fail_json(msg="Waiting for %s failed: %s" % (noun, e))
    for item in items:
        keys = [t.key for t in targets_for(item)]
        times = [result.satisfied.get(k) for k in keys]
        item.wait_seconds = round(max(times) if keys and all(x is not None for x in times) else result.elapsed, 3)
    if not result.done:
        pending_items = []
        for key in result.pending():
            item = owner[key]
            if item not in pending_items:
                pending_items.append(item)
        parts = []
        for item in pending_items[:DIAGNOSE_MAX]:
            text = F.diagnose(client, item.kind, item.namespace, item.name,
                              obj=result.objects.get((item.kind, item.namespace, item.name)),
                              want=want_for(item))
            parts.append("- %s (%s):\n  %s" % (item.ref, want_for(item), text.replace("\n", "\n  ")))
        rest = pending_items[DIAGNOSE_MAX:]
        if rest:
            parts.append("- and %d more not there yet (same checks apply): %s" % (
                len(rest), ", ".join("%s/%s" % (i.namespace, i.name) for i in rest)))
        return result, ("Timed out after %ss waiting for %d of %d %s:\n%s" % (
            timeout, len(pending_items), len(items), noun, "\n".join(parts)))
    return result, None


def item_targets_absent(item):
    return [Target(item.kind, item.namespace, item.name, lambda o: o is None)]
