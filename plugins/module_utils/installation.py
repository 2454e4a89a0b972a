# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a cluster's Fluid installation is (the module fluid_info, the role fluid): its data.fluid.io CRDs,
and the release's workloads rolled out or not."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

GROUP = "data.fluid.io"
# On each CRD the role fluid applied: "<digest of the chart's CRD documents>/<metadata.generation after the apply>".
APPLIED_ANNOTATION = "crds.cloudnative.fluid/applied"
# How the chart's CRD documents are split and joined (the digest is over the joined text).
DOC_SEPARATOR = "\n---"
_CRD_DOC = re.compile(r"(?m)^kind:\s*CustomResourceDefinition\s*$")
_VERSION = re.compile(r"v?([0-9]+\.[0-9]+\.[0-9]+)")


def crd_documents(text):
    """The CustomResourceDefinition documents of a multi-document YAML text (`helm show crds`), as text."""
    return [doc for doc in (DOC_SEPARATOR + (text or "")).split(DOC_SEPARATOR) if _CRD_DOC.search(doc)]


def digest(docs):
    return hashlib.sha256(DOC_SEPARATOR.join(docs).encode("utf-8")).hexdigest()


def _condition(obj, ctype):
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return cond.get("status") == "True"
    return False


def crd_summary(crd):
    """One data.fluid.io CRD: name, kind, uid, storage api_version, established, generation, and `applied`: the
    digest the role last applied to it, or '' when its generation moved since (anyone changed its spec)."""
    meta = crd.get("metadata") or {}
    spec = crd.get("spec") or {}
    stored = [v.get("name") for v in spec.get("versions") or [] if v.get("storage")]
    applied = ((meta.get("annotations") or {}).get(APPLIED_ANNOTATION) or "").rsplit("/", 1)
    generation = meta.get("generation")
    return {
        "name": meta.get("name"),
        "kind": (spec.get("names") or {}).get("kind"),
        "uid": meta.get("uid"),
        "api_version": "%s/%s" % (GROUP, stored[0]) if stored else None,
        "established": _condition(crd, "Established"),
        "generation": generation,
        "applied": applied[0] if len(applied) == 2 and applied[1] == str(generation) else "",
    }


def fluid_crds(crds):
    """The summaries of the data.fluid.io CRDs among crds (a CustomResourceDefinition list), by name."""
    return sorted((crd_summary(c) for c in crds if (c.get("spec") or {}).get("group") == GROUP),
                  key=lambda c: c["name"])


def crds_current(crds, docs, docs_digest):
    """Whether the cluster's data.fluid.io CRDs (summaries) are the chart documents docs as last applied: as many,
    each Established and carrying the documents' digest at its present generation."""
    return bool(docs) and len(crds) == len(docs) and all(c["established"] and c["applied"] == docs_digest
                                                         for c in crds)


# Rolled out as kubernetes.core's k8s_info wait judges it (kubernetes.core 6.2.0
# plugins/module_utils/k8s/waiter.py deployment_ready, daemonset_ready), which the role waited with.
def deployment_rolled_out(obj):
    spec, status, meta = obj.get("spec") or {}, obj.get("status") or {}, obj.get("metadata") or {}
    return bool(status and spec.get("replicas") == (status.get("replicas") or 0)
                and status.get("availableReplicas") == status.get("replicas")
                and status.get("observedGeneration") == meta.get("generation")
                and not status.get("unavailableReplicas"))


def daemonset_rolled_out(obj):
    status, meta = obj.get("status") or {}, obj.get("metadata") or {}
    desired = status.get("desiredNumberScheduled")
    return bool(status and desired is not None and (status.get("updatedNumberScheduled") or 0) == desired
                and status.get("numberReady") == desired
                and status.get("observedGeneration") == meta.get("generation")
                and not status.get("unavailableReplicas"))


def workload(obj):
    """A Deployment or DaemonSet: kind, name, rolled_out, desired and ready replicas."""
    status = obj.get("status") or {}
    if obj["kind"] == "DaemonSet":
        rolled, desired, ready = daemonset_rolled_out(obj), status.get("desiredNumberScheduled"), status.get("numberReady")
    else:
        rolled, desired, ready = deployment_rolled_out(obj), (obj.get("spec") or {}).get("replicas"), status.get("readyReplicas")
    return {"kind": obj["kind"], "name": obj["metadata"]["name"], "rolled_out": rolled,
            "desired": desired or 0, "ready": ready or 0}


def helm_version(text):
    """'3.21.4' from `helm version --short` (v3.21.4+g...), or None."""
    m = _VERSION.search(text or "")
    return m.group(1) if m else None
