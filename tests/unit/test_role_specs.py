"""Every role: meta/argument_specs.yml and defaults/main.yml agree (each default in the spec equals the
defaults file, each defaults entry is in the spec), every option is described, nested options are
well formed, and every role takes the same cluster connection variables (k8s_*)."""
import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES_DIR = os.path.join(ROOT, "roles")
ROLES = sorted(r for r in os.listdir(ROLES_DIR) if os.path.isdir(os.path.join(ROLES_DIR, r, "meta")))
CONNECTION = {"k8s_kubeconfig": "str", "k8s_context": "str", "k8s_host": "str", "k8s_api_key": "str",
              "k8s_ca_cert": "str", "k8s_validate_certs": "bool"}
TYPES = {"str", "int", "float", "bool", "list", "dict", "raw", "path"}


def load(role, *parts):
    with open(os.path.join(ROLES_DIR, role, *parts)) as fh:
        return yaml.safe_load(fh)


def options(role):
    return load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]


def test_every_role_is_checked():
    assert {"alluxio_runtime", "automation_account", "datasets", "fluid", "gpu_node_labels"} <= set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_defaults_mirror_argument_specs(role):
    defaults = load(role, "defaults", "main.yml") or {}
    spec = options(role)
    assert set(defaults) - set(spec) == set(), "in defaults/main.yml but not in meta/argument_specs.yml"
    assert set(spec) - set(defaults) == set(), "in meta/argument_specs.yml but not in defaults/main.yml"
    for name, opt in spec.items():
        assert opt.get("default") == defaults[name], "%s: the spec's default differs from defaults/main.yml" % name


def walk(spec, path):
    for name, opt in spec.items():
        where = "%s.%s" % (path, name) if path else name
        yield where, opt
        if "options" in opt:
            assert opt.get("type") == "dict" or opt.get("elements") == "dict", \
                "%s: nested options need type dict or elements dict" % where
            yield from walk(opt["options"], where)


@pytest.mark.parametrize("role", ROLES)
def test_options_are_described_and_typed(role):
    for where, opt in walk(options(role), ""):
        assert opt.get("type", "str") in TYPES, where
        if "." not in where:
            assert opt.get("description"), "%s has no description" % where
        if opt.get("type") == "list":
            assert opt.get("elements"), "%s: a list needs elements" % where


@pytest.mark.parametrize("role", ROLES)
def test_one_connection_for_every_role(role):
    spec = options(role)
    for name, typ in CONNECTION.items():
        assert name in spec, "%s does not take %s" % (role, name)
        assert spec[name].get("type") == typ, name
    assert spec["k8s_api_key"].get("no_log") is True
    with open(os.path.join(ROLES_DIR, role, "tasks", "main.yml")) as fh:
        main = yaml.safe_load(fh)
    assert len(main) == 1 and "block" in main[0], "tasks/main.yml: one block that carries the module_defaults"
    # per module (merged key by key over a play's group/cloudnative.fluid.fluid entry), every one of the role's
    defaults = main[0]["module_defaults"]
    used = set()
    for path in os.listdir(os.path.join(ROLES_DIR, role, "tasks")):
        with open(os.path.join(ROLES_DIR, role, "tasks", path)) as fh:
            used |= set(m for m in re.findall(r"^\s*-?\s*((?:cloudnative\.fluid|kubernetes\.core)\.[a-z_]+):", fh.read(), re.M)
                        if m != "kubernetes.core.helm_template")  # helm_template renders offline
    assert used <= set(defaults), used - set(defaults)
    assert set(defaults.values()) == {"{{ __%s_connection }}" % role}
    connection = load(role, "vars", "main.yml")["__%s_connection" % role]
    for option in ("kubeconfig", "context", "host", "api_key", "ca_cert", "validate_certs"):
        assert "'%s':" % option in connection, option


def mirror(spec):
    """What the role's nested options must share with a module's argument spec."""
    out = {}
    for name, opt in spec.items():
        m = {"type": opt.get("type", "str")}
        for k in ("elements", "choices"):
            if opt.get(k) is not None:
                m[k] = sorted(opt[k]) if k == "choices" else opt[k]
        m["required"] = bool(opt.get("required"))
        m["no_log"] = bool(opt.get("no_log"))
        if opt.get("options"):
            m["options"] = mirror(opt["options"])
        out[name] = m
    return out


def module(name):
    import importlib
    return importlib.import_module("ansible_collections.cloudnative.fluid.plugins.modules." + name)


def item_options(mod, drop):
    import copy
    spec = copy.deepcopy(module(mod).ITEM_SPEC)
    for k in drop:
        spec.pop(k)
    spec["name"]["required"] = True  # an item of a list needs its name
    return mirror(spec)


def test_datasets_list_items_mirror_the_dataset_module():
    opts = dict(options("datasets")["datasets_list"]["options"])
    assert opts.pop("runtime")["type"] == "raw"  # a mapping of runtime settings, or false
    # the role's datasets_state says present or absent for all
    assert mirror(opts) == item_options("dataset", ["state"])
    assert opts["secrets"]["options"]["string_data"]["no_log"] is True


def test_alluxio_runtime_items_and_defaults_mirror_the_runtime_module():
    spec = options("alluxio_runtime")
    # the role declares AlluxioRuntimes only; alluxio_runtime_state says present or absent for all
    assert mirror(spec["alluxio_runtime_runtimes"]["options"]) == item_options("runtime", ["state", "kind"])
    runtime = module("runtime")
    assert mirror(spec["alluxio_runtime_tiered_store"]["options"]) == mirror(runtime.LEVEL_SPEC)
    for comp in ("master", "worker", "fuse"):
        assert mirror(spec["alluxio_runtime_" + comp]["options"]) == mirror(runtime.COMPONENT_SPEC), comp
