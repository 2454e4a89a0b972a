# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the runtime module writes its typed options into a runtime's spec, for each kind
(fluid.RUNTIME_SPECS says which kind has which field and where)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid

KINDS = fluid.RUNTIME_SPECS


def resources_map(resources):
    return dict((k, driver.str_map(v) if k in ("requests", "limits") else v) for k, v in resources.items())


def typed(value):
    """A typed option's value with Fluid's json names: keys camelCased, unset (None) suboptions left out."""
    if not isinstance(value, dict):
        return value
    out = dict((fluid.camel(k), typed(v)) for k, v in value.items() if v is not None)
    return dict((k, v) for k, v in out.items() if v != {})


# component option -> its field, and how the value is written
COMPONENT_FIELDS = (("jvm_options", "jvmOptions", list), ("properties", "properties", driver.str_map),
                    ("options", "options", driver.str_map), ("node_selector", "nodeSelector", driver.str_map),
                    ("resources", "resources", resources_map), ("image", "image", str), ("image_tag", "imageTag", str),
                    ("env", "env", driver.str_map), ("command", "command", list), ("args", "args", list),
                    ("clean_policy", "cleanPolicy", str), ("network_mode", "networkMode", str),
                    ("volume_mounts", "volumeMounts", list))


def build_component(kind, opts):
    out = dict((api, convert(opts[opt])) for opt, api, convert in COMPONENT_FIELDS if opts.get(opt))
    if "env" in out and KINDS[kind]["env"] == "list":
        out["env"] = [{"name": k, "value": out["env"][k]} for k in sorted(out["env"])]
    if KINDS[kind]["image_at"]:  # EFC: version: {image, imageTag}
        version = dict((k, out.pop(k)) for k in ("image", "imageTag") if k in out)
        if version:
            out[KINDS[kind]["image_at"]] = version
    return out


def build_level(level):
    names = (("medium", "mediumtype"), ("path", "path"), ("quota", "quota"), ("quota_list", "quotaList"))
    out = dict((api, str(level[opt])) for opt, api in names if level.get(opt) is not None)
    # watermarks as written: 0.95 -> "0.95", 1 -> "1", 0.9999999 -> "0.9999999"
    out.update((k, "%.15g" % level[k]) for k in ("high", "low") if level.get(k) is not None)
    if level.get("volume_type"):
        out["volumeType"] = level["volume_type"]
    return out


def build_spec(kind, item, typed_spec):
    """The spec of a runtime of this kind from the module's options (typed_spec: the spec-level options whose
    suboptions are typed, written camelCase all the way down)."""
    spec = driver.fields(item, (("replicas", "replicas"), ("configs", "configs")))
    if item.get("tiered_store"):
        spec["tieredstore"] = {"levels": [build_level(level) for level in item["tiered_store"]]}
    for comp in fluid.RUNTIME_COMPONENTS:
        built = build_component(kind, item.get(comp) or {})
        if built:
            spec[comp] = built
    if item.get("properties"):
        spec["properties"] = driver.str_map(item["properties"])
    version = dict((api, str(item[opt])) for opt, api in (("image", "image"), ("image_tag", "imageTag"))
                   if item.get(opt))
    if version:
        spec[KINDS[kind]["version"]] = version
    spec.update((fluid.camel(opt), typed(item[opt])) for opt in typed_spec if typed(item.get(opt)))
    if item.get("volumes"):
        spec["volumes"] = item["volumes"]
    if item.get("network_mode"):
        spec[fluid.RUNTIME_FIELDS["network_mode"].get(kind, "networkMode")] = item["network_mode"]
    return spec
