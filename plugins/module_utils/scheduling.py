# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where Fluid's cache workers can run: node affinity and node selectors, taints and tolerations,
Exclusive placement, and the workers and cache a runtime can reach on a set of nodes.

Plain dicts in (Nodes, Datasets, runtimes as the API returns them), facts out; no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate
from ansible_collections.cloudnative.fluid.plugins.module_utils.quantity import QuantityError, parse_bytes

# ---------------------------------------------------------------- node affinity


def _label_match(labels, expr):
    key, op = expr.get("key"), expr.get("operator")
    values = [str(v) for v in expr.get("values") or []]
    present = key in labels
    value = labels.get(key)
    if op == "In":
        return present and value in values
    if op == "NotIn":
        return not present or value not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt"):
        try:
            lhs, rhs = int(value), int(values[0])
        except (TypeError, ValueError, IndexError):
            return False
        return lhs > rhs if op == "Gt" else lhs < rhs
    return False


def node_matches_selector(node, node_selector):
    """Whether a Node matches a v1.NodeSelector (terms are ORed, expressions in a term ANDed)."""
    terms = (node_selector or {}).get("nodeSelectorTerms") or []
    if not terms:
        return True
    meta = node.get("metadata") or {}
    labels = meta.get("labels") or {}
    fields = {"metadata.name": meta.get("name")}
    for term in terms:
        exprs = term.get("matchExpressions") or []
        fexprs = term.get("matchFields") or []
        if not exprs and not fexprs:
            continue  # an empty term matches nothing
        if all(_label_match(labels, e) for e in exprs) and all(_label_match(fields, e) for e in fexprs):
            return True
    return False


def node_matches_labels(node, selector):
    labels = ((node.get("metadata") or {}).get("labels")) or {}
    return all(labels.get(k) == str(v) for k, v in (selector or {}).items())


def dataset_node_selector(dataset):
    return (((dataset or {}).get("spec") or {}).get("nodeAffinity") or {}).get("required")


# ---------------------------------------------------------------- workers on nodes


def _tolerates(tolerations, taint):
    for t in tolerations or []:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        if t.get("operator") == "Exists":
            if not t.get("key") or t.get("key") == taint.get("key"):
                return True
        elif t.get("key") == taint.get("key") and validate.str_value(t.get("value")) == validate.str_value(taint.get("value")):
            return True
    return False


def runtime_tolerations(dataset, runtime):
    spec = (runtime or {}).get("spec") or {}
    return (list(((dataset or {}).get("spec") or {}).get("tolerations") or []) + list(spec.get("tolerations") or [])
            + list((spec.get("worker") or {}).get("tolerations") or []))


def worker_can_run(node, dataset, runtime):
    """Whether a cache worker of runtime (serving dataset) can be placed on node, by what Fluid and the
    scheduler require: the dataset's node affinity, the worker's node selector, schedulable and untainted
    (or tolerated), and not held by another dataset's exclusive placement (exclusive_conflict).
    Free CPU/memory and other datasets' pod anti-affinity are not predicted: when they keep a worker
    out, the wait times out with the diagnosis naming the pod that is not ready."""
    if not node_matches_selector(node, dataset_node_selector(dataset)):
        return False
    worker_sel = ((((runtime or {}).get("spec") or {}).get("worker") or {}).get("nodeSelector")) or {}
    if not node_matches_labels(node, worker_sel):
        return False
    spec = node.get("spec") or {}
    if spec.get("unschedulable"):
        return False
    tolerations = runtime_tolerations(dataset, runtime)
    for taint in spec.get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerates(tolerations, taint):
            return False
    return not exclusive_conflict(node, dataset)


def exclusive_conflict(node, dataset):
    """Whether another Dataset's Exclusive placement keeps this dataset's worker off the node.

    Fluid 1.0 writes fluid_exclusive=<namespace>_<name> on the node and gives Exclusive workers a pod
    anti-affinity without a namespaces field, which binds only within the pod's own namespace: a
    holder from another namespace does not keep the worker out."""
    holder = ((node.get("metadata") or {}).get("labels") or {}).get(fluid.EXCLUSIVE_LABEL)
    if not holder:
        return False
    meta = (dataset or {}).get("metadata") or {}
    if holder == "%s_%s" % (meta.get("namespace"), meta.get("name")):
        return False
    return holder.split("_", 1)[0] == meta.get("namespace")


def expected_workers(nodes, dataset, runtime):
    """(workers the runtime can have ready, nodes that can host one): min(spec.replicas, eligible nodes)."""
    eligible = sum(1 for n in nodes if worker_can_run(n, dataset, runtime))
    replicas = int((((runtime or {}).get("spec") or {}).get("replicas")) or 0)
    return min(replicas, eligible), eligible


def per_worker_bytes(runtime):
    """Cache bytes one worker adds: the status' capacity per ready worker, else the sum of the tier quotas."""
    ready = fluid.runtime_components(runtime)["worker"]["ready"]
    capacity = fluid.cache_capacity_bytes(runtime)
    if ready and capacity:
        return capacity // ready
    total = 0
    levels = ((((runtime or {}).get("spec") or {}).get("tieredstore") or {}).get("levels")) or []
    for level in levels:
        quotas = [level.get("quota")] if level.get("quota") else list(level.get("quotaList", "").split(","))
        for q in quotas:
            if not q:
                continue
            try:
                total += parse_bytes(str(q).strip())
            except QuantityError:
                return None
    return total or None


def worker_capacity(runtime):
    """(ready workers, cache capacity bytes, cache capacity text) from a runtime's status."""
    return (fluid.runtime_components(runtime)["worker"]["ready"], fluid.cache_capacity_bytes(runtime),
            fluid.cache_states(runtime).get("cacheCapacity") or "")


# A capacity within this fraction of the expected one counts (Fluid prints two decimals).
CAPACITY_TOLERANCE = 0.01


def runtime_widened(runtime, workers, capacity):
    """Predicate: at least `workers` ready and, when capacity is known, a cache at least that large."""
    if runtime is None:
        return False
    ready, have, dummy = worker_capacity(runtime)
    if ready < workers:
        return False
    if capacity:
        return have is not None and have >= capacity * (1 - CAPACITY_TOLERANCE)
    return True


def dataset_widened(dataset, capacity):
    if dataset is None:
        return False
    have = fluid.cache_capacity_bytes(dataset)
    return have is not None and have >= capacity * (1 - CAPACITY_TOLERANCE)


def required_node_affinity(node_selector, node_affinity):
    """spec.nodeAffinity.required from a label mapping and/or a full NodeSelector (None when neither is set):
    each label becomes `key In [value]`, ANDed into every term of the NodeSelector."""
    exprs = [{"key": k, "operator": "In", "values": [str(v)]} for k, v in sorted((node_selector or {}).items())]
    affinity = copy.deepcopy(node_affinity)
    if affinity:
        for term in affinity["nodeSelectorTerms"] if exprs else []:
            term["matchExpressions"] = list(term.get("matchExpressions") or []) + copy.deepcopy(exprs)
        return affinity
    return {"nodeSelectorTerms": [{"matchExpressions": exprs}]} if exprs else None
