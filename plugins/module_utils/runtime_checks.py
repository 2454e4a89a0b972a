# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of a runtime's (and a ThinRuntimeProfile's) typed options, per kind, from Fluid v1.0.8.

What each kind's spec has is the table ``fluid.RUNTIME_SPECS``. Every check returns
``<field>: <what is wrong>; <what to do>`` strings like ``validate``'s; warnings name inputs Fluid
accepts that are most likely mistakes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate
from ansible_collections.cloudnative.fluid.plugins.module_utils.quantity import QuantityError, parse_quantity

# The pattern of a tier's quotaList in Fluid's CRD (api/v1alpha1/common.go:71): two or more quantities separated by
# commas, no spaces, each but the last with a unit.
_NUM = r"(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
_SUFFIX = r"(([KMGTPE]i)|[numkMGTPE]|([eE]%s))" % _NUM
_QUOTA_LIST = re.compile(r"^((%s%s),)+(%s%s?)\Z" % (_NUM, _SUFFIX, _NUM, _SUFFIX))
_VOLUME_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")

# A quota below this is most likely a forgotten unit (2 is two bytes).
SMALL_QUOTA = 1024 ** 2
# Vineyard's tiers: MEM is vineyardd's shared memory, SSD its spill storage (vineyardruntime_types.go:261-286).
VINEYARD_MEDIA = ("MEM", "SSD")


def _kinds(kinds):
    return ", ".join(kinds) if kinds else "no runtime kind"


def quota_list(field, value, paths):
    """A tier's quota_list: Fluid's pattern, one quota per path (pkg/ddc/base/runtime.go:415-421), each above 0."""
    text = str(value)
    if not _QUOTA_LIST.match(text):
        return ["%s: %r is not a quota list Fluid accepts: two or more quantities separated by commas, without spaces, "
                "each with a unit (e.g. 100Gi,50Gi); for a single path use quota" % (field, text)]
    parts = text.split(",")
    errors = []
    if len(parts) != paths:
        errors.append("%s: %d quotas for %d path(s); give one quota per comma-separated path of path, in the same "
                      "order" % (field, len(parts), paths))
    for q in parts:
        try:
            if parse_quantity(q) <= 0:
                errors.append("%s: %r must be more than 0" % (field, q))
        except QuantityError as e:
            errors.append("%s: %s" % (field, e))
    return errors


def tiered_store(p, levels, kind=None):
    """A runtime's tiered_store levels (prefix p): media once, absolute paths, a quota (or a quota list), watermarks;
    VineyardRuntime needs one and takes MEM and SSD only (pkg/ddc/vineyard/transform.go:278-306)."""
    errors, media = [], {}
    vineyard = kind == "VineyardRuntime"
    if vineyard and not levels:
        errors.append("%stiered_store: is required for a VineyardRuntime (Fluid refuses one without tiers: \"the "
                      "tieredstore is empty\"); give vineyardd's shared memory, e.g. tiered_store: [{medium: MEM, "
                      "quota: 4Gi}]" % p)
    for i, level in enumerate(levels):
        lf = "%stiered_store[%d]" % (p, i)
        if level["medium"] in media:
            errors.append("%s.medium: %s is already tiered_store[%d]; each medium may appear once"
                          % (lf, level["medium"], media[level["medium"]]))
        media.setdefault(level["medium"], i)
        if vineyard and level["medium"] not in VINEYARD_MEDIA:
            errors.append("%s.medium: a VineyardRuntime has MEM (vineyardd's shared memory) and SSD (its spill "
                          "storage) tiers only; use one of them" % lf)
        path = level.get("path")
        if path is None:
            if not (vineyard and level["medium"] == "MEM"):  # Vineyard's memory tier takes a quota only
                errors.append("%s.path: is required; give the tier's directory on the node (or several, "
                              "comma-separated), e.g. /dev/shm" % lf)
        else:
            for part in str(path).split(","):
                if not part.strip().startswith("/"):
                    errors.append("%s.path: %r must be an absolute directory on the node (or several, "
                                  "comma-separated), e.g. /dev/shm" % (lf, part.strip()))
        if level.get("quota") is None and level.get("quota_list") is None:
            errors.append("%s.quota: is required (or quota_list, one quota per path); give the tier's size, e.g. "
                          "quota: 2Gi" % lf)
        elif level.get("quota") is not None:
            try:
                if parse_quantity(level["quota"]) <= 0:
                    errors.append("%s.quota: %r must be more than 0" % (lf, level["quota"]))
            except QuantityError as e:
                errors.append("%s.quota: %s" % (lf, e))
        if level.get("quota_list") is not None:
            errors += quota_list(lf + ".quota_list", level["quota_list"], len(str(path or "").split(",")))
        errors += validate.ratio(lf + ".high", level.get("high")) + validate.ratio(lf + ".low", level.get("low"))
        if level.get("high") is not None and level.get("low") is not None and not level["low"] < level["high"]:
            errors.append("%s.low: %r must be below high (%r); Fluid needs 0 < low < high <= 1, e.g. high 0.95, low 0.7"
                          % (lf, level["low"], level["high"]))
    return errors


def volumes(field, items):
    """Kubernetes Volumes (API field names): a DNS-1123 label name, once each, and exactly one volume source."""
    errors, seen = [], {}
    for i, v in enumerate(items or []):
        vf = "%s[%d]" % (field, i)
        if not isinstance(v, dict):
            errors.append("%s: must be a Kubernetes Volume with API field names, e.g. {name: data, hostPath: "
                          "{path: /mnt/data}}" % vf)
            continue
        name = v.get("name")
        if not name or len(str(name)) > 63 or not _VOLUME_NAME.match(str(name)):
            errors.append("%s.name: %r is not a valid volume name; use at most 63 lowercase letters, digits and '-', "
                          "starting and ending with a letter or digit" % (vf, name))
        elif name in seen:
            errors.append("%s.name: %s is already %s[%d]; name each volume once" % (vf, name, field, seen[name]))
        seen.setdefault(name, i)
        sources = sorted(k for k in v if k != "name")
        if len(sources) != 1:
            errors.append("%s: needs exactly one volume source besides name (hostPath, emptyDir, persistentVolumeClaim, "
                          "configMap, secret, ...), has %s" % (vf, ", ".join(sources) or "none"))
    return errors


def volume_names(items, spec=None):
    """The names of the volumes a task gives (typed, and in its spec)."""
    given = list(items or []) + list(((spec or {}).get("volumes")) or [])
    return set(v.get("name") for v in given if isinstance(v, dict) and v.get("name"))


def volume_mounts(field, mounts, names, where="volumes"):
    """Kubernetes VolumeMounts (API field names): each names a volume of `where` and has an absolute mountPath
    (Fluid fails with "failed to find the volume for volumeMount", e.g. pkg/ddc/thin/transform_volumes.go:39-41)."""
    errors = []
    for i, m in enumerate(mounts or []):
        mf = "%s[%d]" % (field, i)
        if not isinstance(m, dict):
            errors.append("%s: must be a mapping with name and mountPath (API field names)" % mf)
            continue
        if not m.get("name"):
            errors.append("%s.name: is required; name one of %s" % (mf, where))
        elif m["name"] not in names:
            errors.append("%s.name: %r is not a volume of %s (%s); add a volume of that name to %s or mount one of "
                          "those" % (mf, m["name"], where, ", ".join(sorted(names)) or "none given", where))
        path = m.get("mountPath")
        if not path or not str(path).startswith("/"):
            errors.append("%s.mountPath: %r must be an absolute path in the container, e.g. /data (API field names: "
                          "mountPath, subPath, readOnly)" % (mf, path))
    return errors


def env_names(field, env):
    return ["%s: %r is not a valid environment variable name" % (field, key) for key in env or {}
            if not str(key) or " " in str(key) or "=" in str(key)]


def _missing_option(cf, kind, comp, opt):
    caps = fluid.RUNTIME_SPECS[kind]
    if opt == "jvm_options":
        return "%s.jvm_options: %s takes no JVM options (only %s do); remove it" % (
            cf, kind, " and ".join(fluid.kinds_with(comp, opt)))
    if opt == "properties":
        how = ("use %s.options for its settings" % cf if "options" in fluid.runtime_options(kind, comp)
               else "pass its own settings through spec, e.g. spec: {%s: {...}}" % comp)
        return "%s.properties: %s has no properties; %s" % (cf, kind, how)
    if opt in ("image", "image_tag") and caps["version"]:
        return "%s.%s: the %s of %s has no own image; set %s at the top level (spec.%s)" % (
            cf, opt, comp, kind, opt, caps["version"])
    if opt == "network_mode" and opt in fluid.runtime_options(kind, "spec"):
        return "%s.network_mode: %s has one network mode for all its components; set network_mode at the top level " \
               "(spec.%s)" % (cf, kind, fluid.RUNTIME_FIELDS[opt][kind])
    return "%s.%s: the %s of %s has no %s field; remove it (the %s of %s has one)" % (
        cf, opt, comp, kind, fluid.camel(opt), comp, _kinds(fluid.kinds_with(comp, opt)))


def runtime_component(cf, kind, comp, opts, names=()):
    """One component (master, worker, fuse) of a runtime kind: only the options its type has (fluid.RUNTIME_SPECS);
    names: the volumes its volume_mounts may name."""
    if comp not in fluid.RUNTIME_SPECS[kind]["components"]:
        return ["%s: %s has no %s component; remove it" % (cf, kind, comp)]
    allowed = fluid.runtime_options(kind, comp)
    errors = [_missing_option(cf, kind, comp, opt) for opt in sorted(opts)
              if opts[opt] is not None and opt not in allowed]
    errors += validate.labels(cf + ".node_selector", opts.get("node_selector"))
    errors += validate.resources(cf + ".resources", opts.get("resources"))
    if "volume_mounts" in allowed:
        errors += volume_mounts(cf + ".volume_mounts", opts.get("volume_mounts"), names)
    return errors + env_names(cf + ".env", opts.get("env") if "env" in allowed else None)


def runtime_spec(p, kind, item):
    """The spec-level typed options of one runtime item: only those its kind has, and their values."""
    errors, have = [], fluid.runtime_options(kind, "spec")
    for opt in ("properties", "data", "run_as", "volumes", "api_gateway", "management", "configs", "network_mode"):
        if item.get(opt) is None or opt in have:
            continue
        if opt == "network_mode":
            comps = [c for c in fluid.RUNTIME_SPECS[kind]["components"] if opt in fluid.runtime_options(kind, c)]
            errors.append("%snetwork_mode: %s has no runtime-wide network mode (only JindoRuntime does); set it per "
                          "component: %s" % (p, kind, ", ".join(c + ".network_mode" for c in comps) or "none has one"))
            continue
        errors.append("%s%s: %s has no spec.%s; remove it (%s have it)" % (
            p, opt, kind, fluid.camel(opt), _kinds(fluid.kinds_with("spec", opt))))
    replicas = (item.get("data") or {}).get("replicas")
    if replicas is not None and replicas < 1:
        errors.append("%sdata.replicas: %r must be 1 or more: the copies of each file kept in the cache (Fluid reads "
                      "0 or less as 1, pkg/ddc/alluxio/transform.go:177-181)" % (p, replicas))
    for key in ("uid", "gid"):
        value = (item.get("run_as") or {}).get(key)
        if value is not None and value < 0:
            errors.append("%srun_as.%s: %r must be 0 or more" % (p, key, value))
    for key in ("user", "group"):
        if item.get("run_as") is not None and not str(item["run_as"].get(key) or "").strip():
            errors.append("%srun_as.%s: must not be empty; Fluid's runAs needs uid, gid, user and group" % (p, key))
    policy = ((item.get("management") or {}).get("clean_cache_policy")) or {}
    errors += ["%smanagement.clean_cache_policy.%s: %r must be 0 or more" % (p, k, policy[k])
               for k in ("grace_period_seconds", "max_retry_attempts") if policy.get(k) is not None and policy[k] < 0]
    for i, entry in enumerate(item.get("configs") or []):
        if not str(entry).strip() or str(entry).strip().startswith("-"):
            errors.append("%sconfigs[%d]: %r must be a juicefs format option without its dashes, e.g. trash-days=0 "
                          "(Fluid adds the --, pkg/ddc/juicefs/transform_fuse.go:428-434)" % (p, i, entry))
    return errors + volumes(p + "volumes", item.get("volumes"))


def runtime_warnings(item):
    """Runtime inputs Fluid accepts that are most likely mistakes, as warnings naming the field."""
    p, kind, out = item["prefix"], item.get("kind"), []
    if (kind == "ThinRuntime" and item.get("replicas")
            and not ((item.get("spec") or {}).get("worker") or {}).get("enabled")):
        out.append("%sreplicas: a ThinRuntime gets workers only with spec.worker.enabled: true; without it Fluid "
                   "deploys none and the wait does not count them" % p)
    if kind in ("JuiceFSRuntime", "ThinRuntime") and item.get("run_as"):
        out.append("%srun_as: Fluid v1.0.8's %s engine does not read spec.runAs (only the Alluxio, GooseFS and Jindo "
                   "engines do); it has no effect" % (p, kind))
    levels = item.get("tiered_store") or []
    if kind == "EFCRuntime" and (len(levels) > 1 or any("," in str(lv.get("path") or "") for lv in levels)):
        out.append("%stiered_store: an EFCRuntime's workers use only the first path of the fastest tier "
                   "(pkg/ddc/efc/transform_tieredstore.go:75-84); the others are ignored" % p)
    for i, level in enumerate(levels):
        if level.get("quota") is None:
            continue
        size = parse_quantity(level["quota"])
        if 0 < size < SMALL_QUOTA:
            out.append("%stiered_store[%d].quota: %r is only %s byte(s) of cache; a number without a unit is "
                       "bytes. Write the unit, e.g. %sGi" % (p, i, level["quota"], size, level["quota"]))
    return out
