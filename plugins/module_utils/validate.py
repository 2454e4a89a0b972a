# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input checks shared by the modules. Every check returns error strings of the form
``<field>: <what is wrong>; <what to do>`` so a failed task names the field and the fix."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils.quantity import QuantityError, parse_quantity

# \Z, not $: $ also matches before a trailing newline (so "cifar10\n" passed as a name)
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?\Z")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
_QUALIFIED_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?\Z")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?\Z")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://(.*)\Z")
# an NFS export as Fluid's ThinRuntime NFS profile mounts it: <host>:/<path> (addons/nfs in Fluid)
_NFS_EXPORT = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:/\S*\Z")
_INTEGER = re.compile(r"^[+-]?[0-9]+\Z")

NODE_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
TOLERATION_OPERATORS = ("Exists", "Equal")
TOLERATION_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def str_value(value):
    """A label value as Kubernetes stores it (YAML true -> 'true', 16 -> '16')."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def resource_name(field, value, what="object"):
    """Fluid requires Dataset and runtime names to be DNS-1035 labels (its controllers reject others)."""
    if not value:
        return ["%s: is required; give the %s a name" % (field, what)]
    value = str(value)
    if len(value) > 63 or not _DNS1035.match(value):
        return ["%s: %r is not a valid %s name; Fluid needs a DNS-1035 label: at most 63 lowercase letters, "
                "digits and '-', starting with a letter and ending with a letter or digit (e.g. cifar10)"
                % (field, value, what)]
    return []


def object_name(field, value, what="object"):
    """A Kubernetes object name (DNS-1123 subdomain), e.g. of a Secret or a PVC."""
    value = "" if value is None else str(value)
    if not value or len(value) > 253 or not _DNS1123_SUBDOMAIN.match(value):
        return ["%s: %r is not a valid %s name; use lowercase letters, digits, '-' and '.', starting and ending "
                "with a letter or digit" % (field, value, what)]
    return []


def namespace_name(field, value):
    if not value or len(str(value)) > 63 or not _DNS1123_LABEL.match(str(value)):
        return ["%s: %r is not a valid namespace name; use at most 63 lowercase letters, digits and '-', "
                "starting and ending with a letter or digit" % (field, value)]
    return []


def qualified_key(field, key, what="label key"):
    """A label/annotation key: [prefix/]name, prefix a DNS-1123 subdomain, name at most 63 chars."""
    key = str(key)
    prefix, name = key.rpartition("/")[::2]
    problems = []
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)):
        problems.append("its prefix %r must be a lowercase DNS subdomain such as example.com" % prefix)
    if not name or len(name) > 63 or not _QUALIFIED_NAME.match(name):
        problems.append("its name part %r must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a "
                        "letter or digit" % name)
    if problems:
        return ["%s: %r is not a valid %s: %s" % (field, key, what, "; ".join(problems))]
    return []


def label_value(field, value):
    value = "" if value is None else str(value)
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        return ["%s: %r is not a valid label value; use at most 63 letters, digits, '-', '_' or '.', starting and "
                "ending with a letter or digit (or leave it empty)" % (field, value)]
    return []


def labels(field, mapping, values=True):
    errors = []
    for k, v in (mapping or {}).items():
        errors += qualified_key("%s[%s]" % (field, k), k, "label key" if values else "annotation key")
        if values:
            errors += label_value("%s[%s]" % (field, k), v)
    return errors


def mount_point(field, value, schemes=fluid.MOUNT_SCHEMES):
    value = str(value or "")
    m = _SCHEME.match(value)
    if not m and _NFS_EXPORT.match(value) and value.split(":", 1)[0] not in schemes:  # not a typo of <scheme>://
        return []
    if not m:
        return ["%s: %r is not a URL; write <scheme>://<location>, e.g. https://mirrors.example.com/data/ or "
                "pvc://my-claim/subdir (schemes: %s)" % (field, value, ", ".join(s + "://" for s in schemes))]
    scheme, rest = m.group(1), m.group(2)
    if scheme not in schemes:
        return ["%s: the scheme %s:// of %r is not one Fluid's runtimes mount; use one of %s" % (
            field, scheme, value, ", ".join(s + "://" for s in schemes))]
    if not rest.strip("/") and scheme not in ("juicefs", "jfs"):  # juicefs:/// is the volume's root
        return ["%s: %r names no location after %s://; add a host, bucket, claim or path" % (field, value, scheme)]
    if scheme == "pvc" and not _DNS1123_SUBDOMAIN.match(rest.split("/", 1)[0]):
        return ["%s: %r must start with a PVC name: pvc://<claim-name>[/subpath]" % (field, value)]
    if scheme == "local" and not rest.startswith("/"):
        return ["%s: %r must hold an absolute host path: local:///mnt/data" % (field, value)]
    return []


def node_selector_terms(field, selector):
    """A v1.NodeSelector with API field names: {nodeSelectorTerms: [{matchExpressions: [...]}, ...]}."""
    if not isinstance(selector, dict):
        return ["%s: must be a NodeSelector mapping {nodeSelectorTerms: [...]}" % field]
    unknown = set(selector) - {"nodeSelectorTerms"}
    if unknown:
        return ["%s: unknown key(s) %s; a NodeSelector has only nodeSelectorTerms (use node_selector for plain "
                "label matches)" % (field, ", ".join(sorted(unknown)))]
    terms = selector.get("nodeSelectorTerms")
    if not isinstance(terms, list) or not terms:
        return ["%s.nodeSelectorTerms: must be a non-empty list of terms, each with matchExpressions or matchFields"
                % field]
    errors = []
    for i, term in enumerate(terms):
        tf = "%s.nodeSelectorTerms[%d]" % (field, i)
        if not isinstance(term, dict) or not (term.get("matchExpressions") or term.get("matchFields")):
            errors.append("%s: needs matchExpressions or matchFields (an empty term matches no node)" % tf)
            continue
        for part in ("matchExpressions", "matchFields"):
            for j, expr in enumerate(term.get(part) or []):
                ef = "%s.%s[%d]" % (tf, part, j)
                if not isinstance(expr, dict) or not expr.get("key"):
                    errors.append("%s: needs a key" % ef)
                    continue
                op = expr.get("operator")
                if op not in NODE_SELECTOR_OPERATORS:
                    errors.append("%s.operator: %r is not one of %s" % (ef, op, ", ".join(NODE_SELECTOR_OPERATORS)))
                    continue
                vals = expr.get("values") or []
                if op in ("In", "NotIn") and not vals:
                    errors.append("%s.values: operator %s needs at least one value" % (ef, op))
                if op in ("Exists", "DoesNotExist") and vals:
                    errors.append("%s.values: operator %s takes no values; remove them" % (ef, op))
                if op in ("Gt", "Lt") and (len(vals) != 1 or not _INTEGER.match(str(vals[0]))):
                    errors.append("%s.values: operator %s needs exactly one integer value" % (ef, op))
    return errors


def tolerations(field, items):
    errors = []
    for i, t in enumerate(items or []):
        tf = "%s[%d]" % (field, i)
        if not isinstance(t, dict):
            errors.append("%s: must be a mapping with key, operator, value, effect (API field names)" % tf)
            continue
        op = t.get("operator", "Equal")
        if op not in TOLERATION_OPERATORS:
            errors.append("%s.operator: %r is not one of %s" % (tf, op, ", ".join(TOLERATION_OPERATORS)))
        if op == "Exists" and t.get("value"):
            errors.append("%s.value: operator Exists takes no value; remove it" % tf)
        if t.get("effect") and t["effect"] not in TOLERATION_EFFECTS:
            errors.append("%s.effect: %r is not one of %s" % (tf, t["effect"], ", ".join(TOLERATION_EFFECTS)))
        if not t.get("key") and op != "Exists":
            errors.append("%s.key: an empty key needs operator Exists (it tolerates every taint)" % tf)
        if t.get("key"):  # the pods Fluid creates carry it: the API server checks it like a label's
            errors += qualified_key(tf + ".key", t["key"], "toleration key")
        if op == "Equal" and t.get("value"):
            errors += label_value(tf + ".value", t["value"])
    return errors


def positive(field, value, example=300):
    if value is not None and value <= 0:
        return ["%s: must be a positive number of seconds, got %r; give e.g. %s: %s (to not wait at all, set "
                "wait: false instead)" % (field, value, field, example)]
    return []


def one_or_many(params, one, many, noun):
    """`one` (a single object's name) and `many` (a list of objects) are alternatives: name the conflict and the fix."""
    if params.get(one) is not None and params.get(many) is not None:
        return ["%s, %s: give one of them, not both: %s for a single %s (its options at the top level), or %s with "
                "the name inside each item; move %s=%s into %s or drop %s"
                % (one, many, one, noun, many, one, params[one], many, many)]
    return []


def ratio(field, value):
    if value is not None and not 0 < value <= 1:
        return ["%s: %r must be a ratio above 0 and at most 1, e.g. 0.95" % (field, value)]
    return []


def resources(field, value):
    """Kubernetes resource requests/limits: known keys, quantities that parse."""
    errors = []
    if value is None:
        return errors
    unknown = set(value) - {"requests", "limits", "claims"}
    if unknown:
        errors.append("%s: unknown key(s) %s; use requests and limits, e.g. {requests: {memory: 4Gi}}"
                      % (field, ", ".join(sorted(unknown))))
    for part in ("requests", "limits"):
        for res, qty in (value.get(part) or {}).items():
            try:
                parse_quantity(qty)
            except QuantityError as e:
                errors.append("%s.%s.%s: %s" % (field, part, res, e))
    return errors


# A quota below this is most likely a forgotten unit (2 is two bytes).
SMALL_QUOTA = 1024 ** 2


def paths_under(paths, dirs, where):
    """Each path (paths[i].path) must be /, or lie under one of the directories (a Dataset's mounts, `where`)."""
    if not dirs or "/" in dirs:
        return []
    errors = []
    for i, p in enumerate(paths or []):
        path = posixpath.normpath(p.get("path") or "/")
        if path == "/" or any(path == d or path.startswith(d.rstrip("/") + "/") for d in dirs):
            continue
        errors.append("paths[%d].path: %r is not under any mount of %s (its mounts: %s); use one of them, a path "
                      "below one, or / for everything" % (i, p.get("path"), where, ", ".join(dirs)))
    return errors


def run_after(field, ref):
    """spec.runAfter of a data operation: the preceding operation's name and namespace (kind: choices)."""
    if not ref:
        return []
    errors = resource_name(field + ".name", ref.get("name"), ref.get("kind") or "operation")
    if ref.get("namespace") is not None:
        errors += namespace_name(field + ".namespace", ref["namespace"])
    return errors
