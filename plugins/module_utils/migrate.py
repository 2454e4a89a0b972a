# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two sides of a Fluid DataMigrate (spec.from and spec.to), its parallel options and its juicefs sync
options: option specs, checks and builders (Fluid v1.0.8, api/v1alpha1/datamigrate_types.go).

Fluid runs a DataMigrate with ``juicefs sync <from> <to> $OPTION`` in a Job of the JuiceFS engine
(charts/fluid-datamigrate/juicefs/templates/configmap.yaml). A side is a Dataset of the operation's
namespace ({dataset, path}) or external storage ({uri, encrypt_options}); one side must be the
Dataset, the other external storage (see dataset_side)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import observe
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import ApiError

SIDES = ("from", "to")
ENCRYPT_OPTION = dict(name=dict(type="str", required=True), secret_name=dict(type="str", required=True),
                      secret_key=dict(type="str", required=True, no_log=False))  # a key name, not a value
SIDE = dict(dataset=dict(type="str"), path=dict(type="str"), uri=dict(type="str"),
            encrypt_options=dict(type="list", elements="dict", options=ENCRYPT_OPTION))
PARALLEL_OPTIONS = dict(ssh_secret_name=dict(type="str"), ssh_port=dict(type="int"),
                        ssh_ready_timeout_seconds=dict(type="int"))
# spec.parallelOptions keys (pkg/datamigrate/constants.go), values as strings
PARALLEL_FIELDS = (("ssh_secret_name", "sshSecretName"), ("ssh_port", "sshPort"),
                   ("ssh_ready_timeout_seconds", "sshReadyTimeoutSeconds"))
# the keys the migrate Job mounts from the SSH Secret (charts/fluid-datamigrate/juicefs/templates/job.yaml)
SSH_KEYS = ("ssh-privatekey", "ssh-publickey")
URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$")
# Kubernetes' rule for an environment variable name (an encrypt option becomes one in the migrate Job)
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
# encrypt option names that Fluid writes into the URI as its user and password (data_migrate.go:386-408)
URI_CREDENTIALS = ("access-key", "secret-key", "token")
# environment variables the migrate Job sets itself (job.yaml; data_migrate.go:267-340 and 389-398)
RESERVED_ENV = ("PARALLELISM", "POD_IP", "SSH_READY_TIMEOUT", "TARGET_SSH_PORT", "WORKER_NAME_FORMAT", "TIMEOUT",
                "EDITION", "OPTION", "FLUID_METAURL", "TOKEN", "ACCESS_KEY", "SECRET_KEY", "EXTERNAL_ACCESS_KEY",
                "EXTERNAL_SECRET_KEY", "EXTERNAL_TOKEN")
# Kubernetes refuses CronJob names over 52 characters; a Cron DataMigrate's is <name>-migrate-migrate
# (pkg/utils/datamigrate.go:46-53), and Fluid does not check it (its Helm install fails, the operation stays Executing)
CRON_NAME_MAX = 36
# GNU timeout's duration, what the Job's script runs juicefs sync under (configmap.yaml: timeout $TIMEOUT)
TIMEOUT = re.compile(r"^[0-9]+(\.[0-9]+)?[smhd]?$")


def dataset_side(item):
    """'from' or 'to': the side that names the Dataset (None unless exactly one does)."""
    named = [s for s in SIDES if (item.get(s) or {}).get("dataset")]
    return named[0] if len(named) == 1 else None


def userinfo(uri):
    """The user:password part of a URI ('' when it has none)."""
    m = URI.match(uri or "")
    authority = m.group(2).split("/", 1)[0] if m else ""
    return authority.rsplit("@", 1)[0] if "@" in authority else ""


def validate_sides(item):
    """Each side is a Dataset or external storage, and exactly one side is the Dataset."""
    errors = []
    for s in SIDES:
        errors += _side_errors(s, item.get(s))
    if errors:
        return errors
    named = [s for s in SIDES if item[s].get("dataset")]
    if not named:
        errors.append("from, to: neither names a Dataset; Fluid runs a DataMigrate on a Dataset of its own namespace: "
                      "set to.dataset to migrate into it, or from.dataset to migrate out of it")
    elif len(named) == 2:
        # both sides would read the target's metadata URL and mount point (pkg/ddc/juicefs/data_migrate.go:267-294)
        errors.append("from, to: both name a Dataset; Fluid 1.0.8 migrates between a Dataset and external storage "
                      "only (with two Datasets it reads both through the same JuiceFS volume): make one side a uri")
    return errors


def _side_errors(field, side):
    if not side:
        return ["%s: is required with state=present; give a Dataset ({dataset: my-dataset, path: /}) or external "
                "storage ({uri: 's3://bucket/path/'})" % field]
    if bool(side.get("dataset")) == bool(side.get("uri")):
        return ["%s: give either dataset (a Dataset of this namespace) or uri (external storage), not %s"
                % (field, "both" if side.get("dataset") else "neither")]
    if side.get("dataset"):
        errors = validate.resource_name(field + ".dataset", side["dataset"], "Dataset")
        if side.get("path") is not None and not str(side["path"]).startswith("/"):
            errors.append("%s.path: %r must be an absolute path inside the Dataset, e.g. /%s (end it with / for a "
                          "directory)" % (field, side["path"], side["path"]))
        if side.get("encrypt_options"):
            errors.append("%s.encrypt_options: Fluid reads a Dataset's credentials from its runtime; encrypt_options "
                          "are for a uri" % field)
        return errors
    errors = [] if side.get("path") is None else [
        "%s.path: is for a Dataset; put the path in %s.uri (e.g. s3://bucket/path/)" % (field, field)]
    return errors + _uri_errors(field, side["uri"], side.get("encrypt_options") or [])


def _uri_errors(field, uri, encrypt_options):
    m = URI.match(uri)
    if not m:
        return ["%s.uri: %r is not a URI; write <scheme>://<bucket or host>/<path>, e.g. s3://bucket/data/ or "
                "pvc://my-claim/data/" % (field, uri)]
    scheme, rest = m.group(1).lower(), m.group(2)
    if userinfo(uri):
        # Fluid replaces a URI's user and password (data_migrate.go:408); they would only be stored in clear
        return ["%s.uri: holds credentials (user:password@); keep them in a Secret and name it in "
                "%s.encrypt_options ({name: access-key, ...} and {name: secret-key, ...})" % (field, field)]
    if scheme == "local":  # pkg/ddc/juicefs/data_migrate.go:379, "TODO: support host path scheme local://"
        return ["%s.uri: Fluid 1.0.8 does not migrate local:// paths (it passes an empty location to juicefs sync); "
                "use a PersistentVolumeClaim, pvc://<claim>/<path>" % field]
    errors = []
    if scheme == "pvc":
        errors += validate.object_name(field + ".uri", rest.split("/", 1)[0], "PersistentVolumeClaim")
        if encrypt_options:
            errors.append("%s.encrypt_options: a pvc:// volume is mounted into the migrate Job and needs no "
                          "credentials; leave encrypt_options out" % field)
    seen = set()
    for i, opt in enumerate(encrypt_options):
        f, name = "%s.encrypt_options[%d]" % (field, i), opt["name"]
        if not ENV_NAME.match(name) or name in RESERVED_ENV:
            errors.append("%s.name: %r cannot be an environment variable of the migrate Job (%s); use access-key, "
                          "secret-key, token, or a variable juicefs sync reads" % (
                              f, name, "Fluid sets it itself" if name in RESERVED_ENV else "letters, digits, - . _"))
        elif name in seen:
            errors.append("%s.name: %r is listed twice; list each encrypt option once" % (f, name))
        seen.add(name)
        errors += validate.object_name(f + ".secret_name", opt["secret_name"], "Secret")
    return errors


def validate_sync(item):
    """options (juicefs sync flags), parallelism and parallel_options."""
    errors = []
    for k, v in (item.get("options") or {}).items():
        text = validate.str_value(v)
        if str(k).startswith("-"):
            errors.append("options.%s: write the juicefs sync flag without dashes, e.g. %s: %s"
                          % (k, str(k).lstrip("-"), text or "true"))
        elif re.search(r"\s", str(k) + text):
            # the Job's script expands $OPTION unquoted (charts/fluid-datamigrate/juicefs/templates/configmap.yaml)
            errors.append("options.%s: Fluid passes options to juicefs sync unquoted, so neither the key nor the "
                          "value may contain spaces" % k)
        elif k == "timeout" and not TIMEOUT.match(text):
            errors.append("options.timeout: %r is not a duration of the timeout command; write e.g. 30m (Fluid's "
                          "default), 2h or 1d" % text)
    parallelism, par = item.get("parallelism"), item.get("parallel_options") or {}
    if parallelism is not None and parallelism < 1:
        errors.append("parallelism: must be at least 1, got %r" % parallelism)
    if (parallelism or 1) > 1:
        if not par.get("ssh_secret_name"):  # pkg/controllers/v1alpha1/datamigrate/implement.go:104-119
            errors.append("parallel_options.ssh_secret_name: is required with parallelism %d; name a Secret of this "
                          "namespace with the keys %s (the workers log in to each other with it)"
                          % (parallelism, " and ".join(SSH_KEYS)))
        else:
            errors += validate.object_name("parallel_options.ssh_secret_name", par["ssh_secret_name"], "Secret")
    elif any(v is not None for v in par.values()):
        errors.append("parallel_options: Fluid uses them only with parallelism above 1; set parallelism or leave "
                      "parallel_options out")
    if par.get("ssh_port") is not None and not 1 <= par["ssh_port"] <= 65535:
        errors.append("parallel_options.ssh_port: must be a port, 1 to 65535, got %r" % par["ssh_port"])
    if par.get("ssh_ready_timeout_seconds") is not None and par["ssh_ready_timeout_seconds"] < 1:
        errors.append("parallel_options.ssh_ready_timeout_seconds: must be at least 1, got %r"
                      % par["ssh_ready_timeout_seconds"])
    return errors


def build_side(side, namespace):
    """spec.from or spec.to: a Dataset of the operation's namespace (Fluid requires it there,
    datamigrate/implement.go:121-133), or external storage with its credentials as Secret references."""
    if side.get("dataset"):
        dataset = {"name": side["dataset"], "namespace": namespace}
        if side.get("path") is not None:
            dataset["path"] = side["path"]
        return {"dataset": dataset}
    storage = {"uri": side["uri"]}
    if side.get("encrypt_options"):
        storage["encryptOptions"] = [{"name": o["name"], "valueFrom": {"secretKeyRef": {
            "name": o["secret_name"], "key": o["secret_key"]}}} for o in side["encrypt_options"]]
    return {"externalStorage": storage}


def build_parallel(item):
    """parallelism and parallelOptions (their values strings, as Fluid's map takes them)."""
    spec = {} if item.get("parallelism") is None else {"parallelism": item["parallelism"]}
    par = dict((api, str(item["parallel_options"][opt])) for opt, api in PARALLEL_FIELDS
               if (item.get("parallel_options") or {}).get(opt) is not None)
    if par:
        spec["parallelOptions"] = par
    return spec


def describe(side, namespace):
    """One side as a user reads it: 'Dataset ns/name:/path' or the URI."""
    if side.get("dataset"):
        return "Dataset %s/%s:%s" % (namespace, side["dataset"], side.get("path") or "/")
    return side["uri"]


# ---------------------------------------------------------------- checks against the cluster, before any write


def runtime_errors(run, unit, dataset):
    """The Dataset is served by a JuiceFSRuntime (Fluid 1.0.8 migrates with the JuiceFS engine only,
    pkg/ddc/juicefs/operate.go:31; every other engine's GetDataOperationValueFile answers NotSupported), and
    runtime_type, when set, is its type (pkg/utils/datamigrate.go:81-118)."""
    item, field = unit.item, dataset_side(unit.item) + ".dataset"
    ref = "Dataset %s/%s" % (unit.namespace, item[dataset_side(item)]["dataset"])
    bound = fluid.bound_runtime(dataset)
    if bound is not None:
        kind = observe.RUNTIME_TYPE_KINDS.get(str(bound.get("type")).lower(), bound.get("type"))
    else:  # not bound yet: it binds to the runtime of its own name
        name = dataset["metadata"]["name"]
        kind = next((k for k in fluid.RUNTIME_KINDS if run.client.kind_served(k)
                     and run.call(unit, "read", run.client.get, k, unit.namespace, name)), None)
        if kind is None:
            return ["%s: %s is not bound to a runtime and no runtime of its name exists; a DataMigrate needs a "
                    "JuiceFSRuntime: create it with cloudnative.fluid.runtime (kind: JuiceFSRuntime)" % (field, ref)]
    if kind != "JuiceFSRuntime":
        return ["%s: %s is served by runtime kind %s; Fluid 1.0.8 runs a DataMigrate only on a Dataset served by a "
                "JuiceFSRuntime. Migrate a JuiceFS Dataset, or copy this one's files with a DataProcess"
                % (field, ref, kind)]
    want = observe.KIND_RUNTIME_TYPES[kind]
    if item.get("runtime_type") is not None and item["runtime_type"] != want:
        return ["runtime_type: %r is not the type of the runtime serving %s (%s); set runtime_type: %s or leave it "
                "out" % (item["runtime_type"], ref, want, want)]
    return []


def reference_errors(run, unit):
    """The Secrets (and keys) the encrypt options and the SSH Secret name, and a pvc:// claim, exist. Reads
    Secrets only to see their keys: no value is kept or shown. A 403 becomes a warning."""
    item, errors, secrets = unit.item, [], {}
    wanted = []
    for s in SIDES:
        for i, opt in enumerate((item.get(s) or {}).get("encrypt_options") or []):
            wanted.append(("%s.encrypt_options[%d]" % (s, i), opt["secret_name"], opt["secret_key"]))
    ssh = (item.get("parallel_options") or {}).get("ssh_secret_name")
    if ssh and (item.get("parallelism") or 1) > 1:
        wanted += [("parallel_options.ssh_secret_name", ssh, key) for key in SSH_KEYS]
    for field, name, key in wanted:
        if name not in secrets:
            secrets[name] = _readable(run, unit, "Secret", name, field)
        obj = secrets[name]
        if obj is None:
            errors.append("%s: Secret %s/%s does not exist; create it first (with the key %s)"
                          % (field, unit.namespace, name, key))
        elif obj and key not in (obj.get("data") or {}):
            errors.append("%s: Secret %s/%s has no key %r (keys: %s); fix the key or add it to the Secret" % (
                field, unit.namespace, name, key, ", ".join(sorted(obj.get("data") or {})) or "none"))
    for s in SIDES:
        m = URI.match((item.get(s) or {}).get("uri") or "")
        if m and m.group(1).lower() == "pvc":
            claim = m.group(2).split("/", 1)[0]
            if _readable(run, unit, "PersistentVolumeClaim", claim, s + ".uri") is None:
                errors.append("%s.uri: PersistentVolumeClaim %s/%s does not exist; the migrate Job mounts it, create "
                              "it first" % (s, unit.namespace, claim))
    return errors


def _readable(run, unit, kind, name, field):
    """The object, None when it does not exist, False when this account may not read it (warned)."""
    try:
        return run.client.get(kind, unit.namespace, name)
    except ApiError as e:
        if e.status != 403:
            run.fail("%s: could not read %s %s/%s (nothing was changed): %s" % (field, kind, unit.namespace, name, e))
        run.module.warn("%s: could not check that %s %s/%s exists (%s)" % (field, kind, unit.namespace, name, e))
        return False
