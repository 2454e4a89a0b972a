# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nodes for cloudnative.fluid.node_labels: selection, GPU detection, label plans and parallel patches
(where workers can then run is module_utils.scheduling's).

Everything here works on plain dicts (Nodes, Datasets, runtimes as the API returns them) and on
the collection's one client (module_utils.client.FluidClient); nothing here talks to Ansible.

Labels are written with one JSON merge patch of ``metadata.labels`` per node (RFC 7386: a key
set to a string sets it, a key set to null removes it). The patch carries only the keys the task
manages and no resourceVersion, so it composes with what others write to the same node at the
same time (the kubelet's status, Fluid's own ``fluid.io/*`` labels) instead of failing on it.
Patches run in a bounded pool of threads over the client's connection pool. A 409 Conflict re-reads
the node and re-plans it; 429, 5xx and dropped connections are retried with a short backoff.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import queue
import threading
import time

from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import ApiError
from ansible_collections.cloudnative.fluid.plugins.module_utils.quantity import QuantityError, parse_quantity

# The default gpu_detection: extended resources (device plugins) and labels (GPU operator / NFD).
DEFAULT_GPU_RESOURCES = ["nvidia.com/gpu", "amd.com/gpu"]
DEFAULT_GPU_LABELS = {
    "nvidia.com/gpu.present": "true",  # NVIDIA GPU operator (gpu-feature-discovery)
    "feature.node.kubernetes.io/pci-10de.present": "true",  # node-feature-discovery: a PCI device of vendor NVIDIA
}

# Patch retries for 409, 429, 5xx and connection failures; the backoff doubles from BACKOFF_START.
PATCH_ATTEMPTS = 5
BACKOFF_START = 0.05
RETRY_STATUSES = (429, 500, 502, 503, 504)


# ---------------------------------------------------------------- node facts


def name_of(node):
    return ((node or {}).get("metadata") or {}).get("name")


def labels_of(node):
    return dict(((node or {}).get("metadata") or {}).get("labels") or {})


def is_fluid_key(key):
    """Whether a label key is one Fluid manages itself (fluid.io/..., <x>.fluid.io/..., fluid_exclusive)."""
    key = str(key)
    if key == fluid.EXCLUSIVE_LABEL:
        return True
    prefix = key.rpartition("/")[0]
    return prefix == fluid.LABEL_DOMAIN or prefix.endswith("." + fluid.LABEL_DOMAIN)


def _positive_quantity(value):
    try:
        return parse_quantity(value) > 0
    except QuantityError:
        return False


def gpu_reason(node, detection):
    """Why the node counts as a GPU node under detection rules, or None when it does not.

    detection: {'resources': [names], 'labels': {key: value or None}}. A node is a GPU node when
    status.allocatable has any of the resources above 0, or it carries any of the labels (with
    that value; None or '' means any value).
    """
    allocatable = ((node or {}).get("status") or {}).get("allocatable") or {}
    for res in detection.get("resources") or []:
        if res in allocatable and _positive_quantity(allocatable[res]):
            return "allocatable %s=%s" % (res, allocatable[res])
    labels = labels_of(node)
    for key, value in (detection.get("labels") or {}).items():
        if key not in labels:
            continue
        if value in (None, "") or labels[key] == validate.str_value(value):
            return "label %s=%s" % (key, labels[key])
    return None


# ---------------------------------------------------------------- validation


def validate_labels(labels, state, force, values_from=None):
    """Errors for the labels option (and values_from), before anything is written."""
    errors = []
    if not labels:
        return ["labels: give at least one label, e.g. {aliyun.accelerator/nvidia_name: Tesla-V100-SXM2-16GB}"]
    for key, value in labels.items():
        field = "labels[%s]" % key
        errors += validate.qualified_key(field, key)
        if state == "present":
            if value is None:
                errors.append("%s: has no value; give one, or use state: absent to remove the label" % field)
            else:
                errors += validate.label_value(field, validate.str_value(value))
        if is_fluid_key(key) and not force:
            errors.append("%s: %s is a label Fluid manages itself (it marks where a dataset's cache runs); "
                          "changing it confuses Fluid's scheduling. Pick another key, or set force: true if you "
                          "really mean to" % (field, key))
    for key, source in (values_from or {}).items():
        field = "values_from[%s]" % key
        if key not in labels:
            errors.append("%s: %s is not in labels; every key of values_from needs a fallback value in labels "
                          "(used on nodes without the label %s)" % (field, key, source))
        if state != "present":
            errors.append("%s: only used with state: present; remove values_from" % field)
        errors += validate.qualified_key(field, source, "source label key")
    return errors


def validate_detection(detection):
    errors = []
    for i, res in enumerate(detection.get("resources") or []):
        errors += validate.qualified_key("gpu_detection.resources[%d]" % i, res, "extended resource name")
    for key, value in (detection.get("labels") or {}).items():
        field = "gpu_detection.labels[%s]" % key
        errors += validate.qualified_key(field, key)
        if value not in (None, ""):
            errors += validate.label_value(field, validate.str_value(value))
    if not detection.get("resources") and not detection.get("labels"):
        errors.append("gpu_detection: has neither resources nor labels, so no node could be a GPU node; "
                      "give at least one (or leave gpu_detection out for the defaults)")
    return errors


# ---------------------------------------------------------------- plans


class Change(object):
    """One node's labels: before/after of the managed keys only (None = absent) and the patch."""

    __slots__ = ("name", "before", "after", "patch", "node", "attempts", "error")

    def __init__(self, name, before, after, node=None):
        self.name, self.before, self.after, self.node = name, before, after, node
        self.patch = {k: after[k] for k in after if after[k] != before.get(k)}
        self.attempts = 0
        self.error = None

    @property
    def changed(self):
        return bool(self.patch)


def plan_node(node, labels, state, values_from=None):
    """The Change for one node; values_from takes a value from another label of the node when valid.

    Returns (change, warnings).
    """
    current = labels_of(node)
    warnings = []
    before, after = {}, {}
    for key, value in labels.items():
        before[key] = current.get(key)
        if state == "absent":
            after[key] = None
            continue
        value = validate.str_value(value)
        source = (values_from or {}).get(key)
        if source and current.get(source):
            candidate = current[source]
            if validate.label_value("x", candidate):
                warnings.append("node %s: label %s=%r is not a valid label value, so %s gets the configured %r"
                                % (name_of(node), source, candidate, key, value))
            else:
                value = candidate
        after[key] = value
    return Change(name_of(node), before, after, node), warnings


def plan(nodes, labels, state, values_from=None):
    changes, warnings = [], []
    for node in nodes:
        change, w = plan_node(node, labels, state, values_from)
        changes.append(change)
        warnings += w
    return changes, warnings


def apply_plan(node, change):
    """The node dict with the change's after applied to its labels (what the server will hold)."""
    meta = dict((node or {}).get("metadata") or {})
    labels = dict(meta.get("labels") or {})
    for k, v in change.after.items():
        if v is None:
            labels.pop(k, None)
        else:
            labels[k] = v
    meta["labels"] = labels
    out = dict(node or {})
    out["metadata"] = meta
    return out


# ---------------------------------------------------------------- parallel patches


def patch_node_labels(client, name, patch):
    """One merge patch of metadata.labels (values None delete). Returns the node the server stored."""
    return client.merge_patch("Node", None, name, {"metadata": {"labels": patch}})


def pool_size(client, default=10):
    """The client's HTTP connection pool size: more threads than this would open throwaway TLS connections."""
    api = getattr(client, "api", None)
    conf = getattr(getattr(api, "client", None), "configuration", None)
    size = getattr(conf, "connection_pool_maxsize", None)
    try:
        return max(1, int(size))
    except (TypeError, ValueError):
        return default


class PatchOutcome(object):
    def __init__(self):
        self.done = []  # Changes the server accepted
        self.vanished = []  # node names that were deleted meanwhile (404)
        self.failed = []  # Changes with .error set
        self.not_attempted = []  # Changes left when a failure stopped the run
        self.seconds = 0.0
        self.retries = 0


def _is_transient(e):
    status = getattr(e, "status", None)
    return status is None or status in RETRY_STATUSES


def patch_all(client, changes, parallel, labels=None, state="present", values_from=None, sleep=time.sleep,
              clock=time.monotonic):
    """Patch every changed node, at most `parallel` at a time. A failure that retrying cannot fix stops the
    dispatch of further nodes (those in flight finish). Returns a PatchOutcome.

    labels/state/values_from re-plan a node after a 409 Conflict (re-read first).
    """
    out = PatchOutcome()
    todo = [c for c in changes if c.changed]
    if not todo:
        return out
    start = clock()
    work = queue.Queue()
    for c in todo:
        work.put(c)
    lock = threading.Lock()
    stop = threading.Event()

    def one(change):
        backoff = BACKOFF_START
        while True:
            change.attempts += 1
            try:
                change.node = patch_node_labels(client, change.name, change.patch)
                return "done"
            except ApiError as e:
                if e.status == 404:
                    return "vanished"
                retry = e.status == 409 or _is_transient(e)
                if not retry or change.attempts >= PATCH_ATTEMPTS:
                    change.error = e
                    return "failed"
                with lock:
                    out.retries += 1
                sleep(backoff)
                backoff *= 2
                if e.status == 409 and labels is not None:
                    fresh = client.get("Node", None, change.name)
                    if fresh is None:
                        return "vanished"
                    replanned, dummy = plan_node(fresh, labels, state, values_from)
                    change.before, change.after, change.patch = replanned.before, replanned.after, replanned.patch
                    if not change.patch:
                        change.node = fresh
                        return "done"

    def worker():
        while not stop.is_set():
            try:
                change = work.get_nowait()
            except queue.Empty:
                return
            try:
                result = one(change)
            except Exception as e:  # pylint: disable=broad-except
                change.error = e
                result = "failed"
            with lock:
                if result == "done":
                    out.done.append(change)
                elif result == "vanished":
                    out.vanished.append(change.name)
                else:
                    out.failed.append(change)
                    stop.set()

    n = max(1, min(int(parallel), len(todo)))
    threads = [threading.Thread(target=worker, name="fluid-node-labels-%d" % i) for i in range(n)]
    for th in threads:
        th.daemon = True
        th.start()
    for th in threads:
        th.join()
    while True:
        try:
            out.not_attempted.append(work.get_nowait())
        except queue.Empty:
            break
    out.seconds = clock() - start
    return out
