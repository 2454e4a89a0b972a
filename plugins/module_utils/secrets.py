# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes Secrets that a Fluid object's encryptOptions read, declared next to the object.

A module that takes a ``secrets`` option (a list of ``{name, string_data, type}``) uses this to:

* validate the entries and that every Secret an encrypt option names (``mounts[].encrypt_options[]``,
  ``shared_encrypt_options[]``) is declared or exists, with the key;
* apply each Secret (server-side apply, field manager ``cloudnative.fluid``) before the object;
* decide "changed" without showing a value: the stored data is decoded and compared in memory,
  and the keys this collection owns (from managedFields) are compared with the declared keys;
* build a diff whose values are all masked.

No value ever leaves this module in a result, a warning or an error; modules also add every
value to ``no_log_values``. ``secretish_values`` finds the option values (mount options, shared
options, properties, env) that look like credentials, so that they are masked too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import posixpath
import re

from ansible_collections.cloudnative.fluid.plugins.module_utils.validate import object_name
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import FIELD_MANAGER, ApiError

KIND = "Secret"
# Marks a Secret this collection created, so that state=absent deletes only those.
MANAGED_LABEL = "app.kubernetes.io/managed-by"
MANAGED_VALUE = "cloudnative.fluid"
MASK = "********"
KEY_RE = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
# Types whose data Kubernetes fills in or checks in ways a plain declaration cannot follow.
REFUSED_TYPES = ("kubernetes.io/service-account-token",)

# Option keys that look like they hold a credential, and the suffixes of keys that only say where one is.
SECRETISH = re.compile(r"(secret|passw|token|credential|private|access[-_.]?key|api[-_.]?key|sas)", re.I)
LOCATION_SUFFIXES = (".path", ".file", ".dir", "_path", "_file", "_dir", "-path", "-file", "-dir")

SECRET_SPEC = dict(
    name=dict(type="str", required=True),
    string_data=dict(type="dict", no_log=True),
    type=dict(type="str", default="Opaque"),
)


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return "%s" % value


def secretish_values(mapping):
    """Values of option keys that look like they hold secrets (to mask them in output).

    A key that names where a credential is (``fs.gcs.credential.path``, ``*.file``, ``*.dir``) or a
    value that is an absolute path is a location, not a secret."""
    out = []
    if not isinstance(mapping, dict):  # a wrong type, reported by the option's validation
        return out
    for k, v in mapping.items():
        key, text = str(k), "" if v is None else str(v)
        if not text or not SECRETISH.search(key) or key.lower().endswith(LOCATION_SUFFIXES):
            continue
        if text.startswith("/") and posixpath.normpath(text) == text:
            continue
        out.append(text)
    return out


def values(secrets):
    """Every value of every entry (strings), for no_log_values."""
    out = []
    for s in secrets or []:
        for v in ((s or {}).get("string_data") or {}).values():
            if v is not None and _text(v) != "":
                out.append(_text(v))
    return out


def validate(prefix, secrets, present=True):
    """'field: problem; fix' strings for the entries of one object's `secrets` option (no value is quoted).

    present False (state=absent): only the names matter."""
    errors = []
    seen = {}
    for i, s in enumerate(secrets or []):
        f = "%ssecrets[%d]" % (prefix, i)
        name = s.get("name")
        errors += object_name(f + ".name", name, "Secret")
        if name in seen:
            errors.append("%s.name: Secret %r is already declared in secrets[%d]; declare each Secret once"
                          % (f, name, seen[name]))
        seen.setdefault(name, i)
        if not present:
            continue
        data = s.get("string_data")
        if not data:
            errors.append("%s.string_data: is empty; give at least one key, e.g. string_data: {access-key: ...}" % f)
        for k, v in (data or {}).items():
            if not KEY_RE.match(str(k)):
                errors.append("%s.string_data: key %r is not a valid Secret key (letters, digits, '-', '_' and '.', "
                              "at most 253 characters)" % (f, k))
            if v is None or isinstance(v, (dict, list)):
                errors.append("%s.string_data.%s: must be a string (the value is not shown); quote it or use a "
                              "template that yields a string" % (f, k))
        if s.get("type") in REFUSED_TYPES:
            errors.append("%s.type: %s Secrets are filled in by Kubernetes; declare them with kubernetes.core.k8s "
                          "instead" % (f, s["type"]))
    return errors


def build(namespace, entry):
    """The Secret object for one entry (data base64-encoded, so the stored object equals the apply)."""
    data = dict((str(k), base64.b64encode(_text(v).encode("utf-8")).decode("ascii"))
                for k, v in entry["string_data"].items())
    return {"apiVersion": "v1", "kind": KIND, "type": entry.get("type") or "Opaque",
            "metadata": {"name": entry["name"], "namespace": namespace,
                         "labels": {MANAGED_LABEL: MANAGED_VALUE}},
            "data": data}


def decoded(obj):
    """{key: text} of a stored Secret (values stay in memory; never returned by a module)."""
    out = {}
    for k, v in ((obj or {}).get("data") or {}).items():
        try:
            out[k] = base64.b64decode(v or "").decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            out[k] = None
    return out


def owned_keys(obj):
    """Data keys that this collection's field manager owns (applied before), from managedFields."""
    keys = set()
    for mf in ((obj or {}).get("metadata") or {}).get("managedFields") or []:
        if mf.get("manager") != FIELD_MANAGER or mf.get("operation") != "Apply":
            continue
        fields = ((mf.get("fieldsV1") or {}).get("f:data") or {})
        keys.update(k[2:] for k in fields if k.startswith("f:"))
    return keys


class SecretPlan(object):
    """One declared Secret: what exists, what would change (key names only), the body to apply."""

    def __init__(self, namespace, entry, where):
        self.namespace, self.name = namespace, entry["name"]
        self.where = where
        self.body = build(namespace, entry)
        self.keys = sorted(self.body["data"])
        self.existing = None
        self.changed = False
        self.changed_keys = []
        self.removed_keys = []
        self.action = "none"

    @property
    def ref(self):
        return "Secret %s/%s" % (self.namespace, self.name)

    def compare(self, existing):
        self.existing = existing
        if existing is None:
            self.action, self.changed, self.changed_keys = "create", True, list(self.keys)
            return
        if (existing.get("type") or "Opaque") != self.body["type"]:
            raise ValueError("%s.type: %s has type %s, not %s; Kubernetes cannot change a Secret's type: delete "
                             "it first or declare type: %s" % (self.where, self.ref, existing.get("type"),
                                                               self.body["type"], existing.get("type")))
        stored = decoded(existing)
        wanted = dict((k, base64.b64decode(v).decode("utf-8")) for k, v in self.body["data"].items())
        self.changed_keys = sorted(k for k in wanted if stored.get(k) != wanted[k])
        self.removed_keys = sorted(owned_keys(existing) - set(wanted))
        labels = (existing.get("metadata") or {}).get("labels") or {}
        self.changed = bool(self.changed_keys or self.removed_keys or labels.get(MANAGED_LABEL) != MANAGED_VALUE)
        self.action = "update" if self.changed else "none"

    def diff(self):
        """A diff of key names with every value masked."""
        def side(keys):
            return {"type": self.body["type"], "data": dict((k, MASK) for k in keys)}
        before = side(sorted(decoded(self.existing))) if self.existing is not None else {}
        after_keys = sorted((set(decoded(self.existing)) - set(self.removed_keys)) | set(self.keys))
        after = side(after_keys)
        for k in self.changed_keys:
            after["data"][k] = MASK + " (changed)" if self.existing is not None and k in before.get("data", {}) \
                else MASK + " (new)"
        return {"before_header": self.ref if self.existing is not None else "%s (absent)" % self.ref,
                "after_header": self.ref, "before": before, "after": after}

    def summary(self):
        return {"name": self.name, "namespace": self.namespace, "changed": self.changed, "action": self.action,
                "keys": self.keys}


class DeletePlan(object):
    """state=absent: one listed Secret, deleted (after its Dataset) only if this collection created it."""

    def __init__(self, namespace, name):
        self.namespace, self.name = namespace, name
        self.changed = False
        self.action = "delete"
        self.kept = None

    @property
    def ref(self):
        return "Secret %s/%s" % (self.namespace, self.name)

    def resolve(self, client, check):
        obj = client.get(KIND, self.namespace, self.name)
        if obj is None:
            self.action = "none"
            return
        if ((obj.get("metadata") or {}).get("labels") or {}).get(MANAGED_LABEL) != MANAGED_VALUE:
            self.action, self.kept = "none", "not created by cloudnative.fluid"
            return
        client.delete(KIND, self.namespace, self.name, dry_run=check)
        self.changed = True

    def diff(self):
        return {"before_header": self.ref, "after_header": "%s (absent)" % self.ref,
                "before": {"data": MASK}, "after": {}}

    def summary(self):
        out = {"name": self.name, "namespace": self.namespace, "changed": self.changed, "action": self.action,
               "keys": []}
        if self.kept:
            out["kept"] = self.kept
        return out


def references(item):
    """(field, entry) of every encrypt option of one item that reads a Secret: each mount's
    ``mounts[i].encrypt_options[j]``, then the Dataset-wide ``shared_encrypt_options[j]`` (Fluid's
    ``spec.sharedEncryptOptions``, read for every mount). Fields carry the item's prefix."""
    p = item.get("prefix", "")
    for i, m in enumerate(item.get("mounts") or []):
        for j, opt in enumerate(m.get("encrypt_options") or []):
            yield "%smounts[%d].encrypt_options[%d]" % (p, i, j), opt
    for j, opt in enumerate(item.get("shared_encrypt_options") or []):
        yield "%sshared_encrypt_options[%d]" % (p, j), opt


def check_references(client, item, declared):
    """Errors for encrypt options (references()) that name a Secret (or key) neither declared in `secrets` nor in
    the cluster.

    declared: {secret name: set of keys}. Reads each undeclared Secret once; a 403 becomes a warning
    (the credentials may apply Datasets without reading Secrets). Returns (errors, warnings)."""
    errors, warnings, cache = [], [], {}
    ns = item.get("namespace")
    p = item["prefix"]
    for f, opt in references(item):
        name, key = opt.get("secret_name"), opt.get("secret_key")
        if name in declared:
            if key not in declared[name]:
                errors.append("%s.secret_key: %r is not a key of Secret %s declared in %ssecrets (keys: %s); add it "
                              "to its string_data or fix secret_key" % (f, key, name, p,
                                                                        ", ".join(sorted(declared[name]))))
            continue
        if name not in cache:
            try:
                cache[name] = client.get(KIND, ns, name)
            except ApiError as e:
                if e.status == 403:
                    warnings.append("%s.secret_name: could not check that Secret %s/%s exists (%s)"
                                    % (f, ns, name, e))
                    cache[name] = False
                else:
                    raise
        obj = cache[name]
        if obj is None:
            errors.append("%s.secret_name: Secret %s does not exist in namespace %s; declare it in %ssecrets "
                          "(e.g. secrets: [{name: %s, string_data: {%s: ...}}]) or create it first"
                          % (f, name, ns, p, name, key))
        elif obj and key not in ((obj.get("data") or {})):
            errors.append("%s.secret_key: Secret %s/%s has no key %r (keys: %s); fix secret_key or add the key"
                          % (f, ns, name, key, ", ".join(sorted(obj.get("data") or {})) or "none"))
    return errors, warnings


def plan_all(client, plans):
    """Read each declared Secret and compare it (raises ValueError with a field-naming message)."""
    for plan in plans:
        plan.compare(client.get(KIND, plan.namespace, plan.name))


def apply_all(client, plans, check):
    """Apply every changed Secret (a server-side dry run in check mode, which validates it)."""
    for plan in plans:
        if not plan.changed:
            continue
        if check and plan.existing is None:
            continue  # its namespace may not exist yet in check mode; nothing to validate against
        client.apply(plan.body, dry_run=check)


class Declared(object):
    """The `secrets` option of a task's items: checked and planned before anything is written, applied
    before the objects that read them, deleted (state=absent) after them."""

    def __init__(self):
        self.plans = {}  # item 'where' -> [SecretPlan or DeletePlan]

    def prepare(self, run):
        """Plan every item's Secrets against the cluster; fail (nothing written) on a missing reference or a
        type that cannot change; then apply the changed ones (a dry run in check mode)."""
        errors = []
        for item in run.items:
            entries = item.get("secrets") or []
            if item["state"] != "present":
                self.plans[item["where"]] = [DeletePlan(item["namespace"], s["name"]) for s in entries]
                continue
            declared = dict((s["name"], set(str(k) for k in s["string_data"])) for s in entries)
            plans = [SecretPlan(item["namespace"], s, "%ssecrets[%d]" % (item["prefix"], i)) for i, s in enumerate(entries)]
            try:
                errs, warns = check_references(run.client, item, declared)
                errors += errs
                for w in warns:
                    run.module.warn(w)
                plan_all(run.client, plans)
            except ValueError as e:
                errors.append(str(e))
                continue
            except ApiError as e:
                run.fail("%s: could not read the Secrets of secrets or encrypt_options in namespace %s (nothing was "
                         "changed): %s" % (item["where"], item["namespace"], e))
            self.plans[item["where"]] = plans
        run.invalid(errors)
        try:
            apply_all(run.client, [pl for pl in self.all() if pl.action != "delete"], run.check)
        except ApiError as e:
            run.fail("Could not apply a Secret of secrets (nothing else was changed): %s" % e)

    def all(self):
        return [pl for pls in self.plans.values() for pl in pls]

    def delete(self, run):
        """state=absent: delete the listed Secrets this collection created, once their object is deleted."""
        for where, plans in self.plans.items():
            for pl in plans:
                if pl.action != "delete":
                    continue
                try:
                    pl.resolve(run.client, run.check)
                except ApiError as e:
                    run.fail("%s: the Dataset was deleted but %s was not: %s" % (where, pl.ref, e))

    def summaries(self, item):
        return [pl.summary() for pl in self.plans.get(item["where"], [])]

    @property
    def changed(self):
        return any(pl.changed for pl in self.all())

    def diffs(self):
        return [pl.diff() for pl in self.all() if pl.changed]
