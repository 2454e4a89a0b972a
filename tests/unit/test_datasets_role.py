"""roles/datasets without a cluster: its Jinja (tasks/preflight.yml) rendered by Ansible's templar, and the
runtime module's own validation in between, as the role runs it in check mode (the one source of validation).

Each Dataset's runtime goes to the role alluxio_runtime (AlluxioRuntime, combined over that role's defaults
there) or to the runtime module (every other kind, combined here over datasets_runtime_defaults[kind]), and a
bad value is named by the variable that set it."""
import copy
import os

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid as F
from ansible_collections.cloudnative.fluid.plugins.modules import runtime as RT

ROLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles", "datasets")
KINDS = list(RT.ITEM_SPEC["kind"]["choices"])  # what the runtime module accepts


def load(*parts):
    with open(os.path.join(ROLE, *parts)) as fh:
        return yaml.safe_load(fh)


def trusted(value):
    """Role variables as Ansible loads them from the role's files: their templates may be rendered."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return dict((k, trusted(v)) for k, v in value.items())
    if isinstance(value, list):
        return [trusted(v) for v in value]
    return value


def task(name):
    for t in load("tasks", "preflight.yml"):
        if t["name"] == name:
            return t
    raise KeyError(name)


class Role(object):
    """The role's variables (defaults, vars, the given ones) and the facts its preflight sets."""

    def __init__(self, **variables):
        self.vars = dict(load("defaults", "main.yml"))
        self.vars.update(load("vars", "main.yml"))
        self.vars.update(copy.deepcopy(variables))
        for name in ("Split Datasets from their runtime settings", "Plan each Dataset's runtime by kind",
                     "Group the runtimes by kind"):
            facts = dict((k, v) for k, v in task(name)["ansible.builtin.set_fact"].items())
            self.vars.update((k, self.render(v)) for k, v in facts.items())

    def render(self, template, **more):
        variables = trusted(dict(self.vars, **more))
        return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(template))

    def __getitem__(self, name):
        return list(self.render("{{ [%s] }}" % name))[0]  # a plain value, whatever the templar's own types

    def check(self):
        """The task 'Validate the runtimes of other kinds' (check mode): the runtime module's validation of the
        task's items, exactly as driver.run does it before any API call; its result as registered."""
        t = task("Validate the runtimes of other kinds with the runtime module (check mode, nothing is written)")
        args = dict((k, self.render(v) if isinstance(v, str) else v) for k, v in t["cloudnative.fluid.runtime"].items())
        params = dict((k, None) for k in driver.argument_spec(RT.KIND))
        params.update(RT.KIND.defaults, wait_for="ready", **args)
        params["wait_timeout"] = int(params["wait_timeout"])

        class Failed(Exception):
            pass

        class Module(object):
            check_mode, params = True, None

            def fail_json(self, **kw):
                raise Failed(kw)

            def warn(self, msg):
                pass

        module = Module()
        module.params = params
        try:
            driver.Run(RT.KIND, module).validate()
        except Failed as e:
            return dict(e.args[0], failed=True)
        return {"failed": False}

    def errors(self):
        """The messages of 'Assert the inputs of the runtimes of other kinds', one per problem."""
        t = task("Assert the inputs of the runtimes of other kinds")
        result = self.check()
        more = dict(__datasets_runtime_check=result)
        return self.render(t["vars"]["__datasets_runtime_errors"], **more)


NFS = {"name": "nfs-demo", "mounts": [{"name": "nfs-demo", "mount_point": "192.168.1.2:/export"}]}
HBASE = {"name": "hbase", "mounts": [{"name": "hbase", "mount_point": "https://downloads.apache.org/hbase/2.2.5/"}]}


def test_datasets_without_a_kind_keep_their_alluxio_runtimes_as_before():
    """Existing inventories (no runtime.kind): every runtime goes to the role alluxio_runtime, as before."""
    role = Role(datasets_namespace="ml", datasets_list=[
        dict(HBASE, node_selector={"gpu": "v100"}, runtime={"replicas": 1}),
        dict(NFS, namespace="other"),
        dict(HBASE, name="elsewhere", runtime=False),
        dict(HBASE, name="tuned", node_selector={"gpu": "v100"}, runtime={"fuse": {"node_selector": {"zone": "a"}}})])
    assert role["_datasets_runtimes"] == [
        {"name": "hbase", "namespace": "ml", "fuse": {"node_selector": {"gpu": "v100"}}, "replicas": 1},
        {"name": "nfs-demo", "namespace": "other"},
        {"name": "tuned", "namespace": "ml", "fuse": {"node_selector": {"zone": "a"}}}]
    assert role["_datasets_runtime_fields"] == ["datasets_list[0].runtime", "datasets_list[1].runtime",
                                                "datasets_list[3].runtime"]
    assert role["_datasets_runtime_settings"][0] == {"name": "hbase", "namespace": "ml", "replicas": 1}
    assert role["_datasets_kind_runtimes"] == []
    assert [d.get("runtime", "-") for d in role["_datasets_items"]] == ["-"] * 4


def test_runtime_kind_picks_the_kind_and_its_defaults():
    role = Role(datasets_list=[
        dict(NFS, node_selector={"gpu": "v100"}, runtime={"kind": "ThinRuntime", "spec": {"profileName": "nfs"}}),
        dict(HBASE, runtime={"kind": "JuiceFSRuntime", "replicas": 3}),
        dict(HBASE, name="alluxio", runtime={"kind": "AlluxioRuntime", "replicas": 1})])
    thin, jfs = list(role["_datasets_kind_runtimes"])
    assert thin == {"name": "nfs-demo", "namespace": "default", "kind": "ThinRuntime",
                    "fuse": {"node_selector": {"gpu": "v100"}}, "spec": {"profileName": "nfs"}}
    # datasets_runtime_defaults.JuiceFSRuntime's tier, the Dataset's own replicas
    assert jfs == {"name": "hbase", "namespace": "default", "kind": "JuiceFSRuntime", "replicas": 3,
                   "tiered_store": [{"medium": "MEM", "path": "/dev/shm", "quota": "2Gi"}]}
    assert role["_datasets_kind_runtime_fields"] == ["datasets_list[0].runtime", "datasets_list[1].runtime"]
    # an explicit AlluxioRuntime goes to the role alluxio_runtime, whose items take no kind
    assert role["_datasets_runtimes"] == [{"name": "alluxio", "namespace": "default", "replicas": 1}]
    assert role["__datasets_kind_runtime_ids"] == [{"name": "nfs-demo", "namespace": "default", "kind": "ThinRuntime"},
                                                   {"name": "hbase", "namespace": "default", "kind": "JuiceFSRuntime"}]
    assert role.errors() == []


def test_datasets_runtime_kind_is_the_default_kind_and_kind_defaults_merge_under_the_settings():
    role = Role(datasets_runtime_kind="ThinRuntime",
                datasets_runtime_defaults={"ThinRuntime": {
                    "spec": {"profileName": "nfs", "runAs": {"uid": 1}}, "labels": {"team": "a"}}},
                datasets_list=[dict(NFS, runtime={"spec": {"profileName": "other"}}), dict(NFS, name="plain")])
    own, plain = list(role["_datasets_kind_runtimes"])
    assert own["kind"] == plain["kind"] == "ThinRuntime"
    assert own["spec"] == {"profileName": "other", "runAs": {"uid": 1}} and own["labels"] == {"team": "a"}
    assert plain["spec"] == {"profileName": "nfs", "runAs": {"uid": 1}}
    assert role["_datasets_runtimes"] == []


def test_absent_names_each_runtime_by_kind():
    role = Role(datasets_state="absent", datasets_list=[dict(HBASE, runtime={"kind": "JuiceFSRuntime"})])
    assert role.check()["failed"] is False
    assert role["__datasets_kind_runtime_ids"] == [{"name": "hbase", "namespace": "default", "kind": "JuiceFSRuntime"}]


def test_a_bad_value_is_named_by_the_variable_that_set_it():
    role = Role(
        datasets_runtime_defaults={
            "JuiceFSRuntime": {"tiered_store": [{"medium": "MEM", "path": "/dev/shm", "quota": "0"}]}, "ThinRuntime": {}},
        datasets_list=[dict(HBASE, runtime={"kind": "JuiceFSRuntime"}),
                       dict(HBASE, name="own", runtime={"kind": "JuiceFSRuntime", "tiered_store": [
                           {"medium": "MEM", "path": "shm", "quota": "1Gi"}]}),
                       dict(HBASE, name="alluxio"),
                       dict(HBASE, name="typo", runtime={"kind": "FooRuntime"}),
                       dict(NFS, runtime={"kind": "ThinRuntime", "replicas": -1})])
    errors = role.errors()
    assert any(e.startswith("datasets_runtime_defaults.JuiceFSRuntime.tiered_store[0].quota: '0' must be more than 0")
               for e in errors), errors
    assert any(e.startswith("datasets_list[1].runtime.tiered_store[0].path: 'shm' must be an absolute") for e in errors)
    assert any(e.startswith("datasets_list[3].runtime.kind: value of kind must be one of: AlluxioRuntime")
               and e.endswith("got: FooRuntime") for e in errors), errors
    assert any(e.startswith("datasets_list[4].runtime.replicas: -1 must be 0 or more") for e in errors), errors
    assert not any("datasets_list[2]" in e for e in errors)  # the AlluxioRuntime is checked by its own role
    assert len(errors) == 4, errors


def test_a_bad_default_kind_names_datasets_runtime_kind():
    role = Role(datasets_runtime_kind="Alluxio", datasets_list=[HBASE])
    errors = role.errors()
    assert len(errors) == 1 and errors[0].startswith("datasets_runtime_kind: value of kind must be one of"), errors


def test_the_default_kind_defaults_pass_the_runtime_module():
    """Each entry of datasets_runtime_defaults, alone, is a runtime the module accepts."""
    defaults = load("defaults", "main.yml")["datasets_runtime_defaults"]
    role = Role(datasets_list=[dict(HBASE, name=k.lower(), runtime={"kind": k}) for k in defaults])
    assert [r["kind"] for r in role["_datasets_kind_runtimes"]] == list(defaults)
    assert role.errors() == []


# ---------------------------------------------------------------- the variables, against the runtime module

def spec():
    return load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]


def test_kind_defaults_are_keyed_by_fluids_runtime_kinds_but_alluxio():
    """datasets_runtime_defaults takes every Fluid runtime kind but AlluxioRuntime (the role alluxio_runtime's
    variables are its defaults); its default names kinds the runtime module accepts, with the module's options."""
    opts = spec()["datasets_runtime_defaults"]["options"]
    assert set(opts) == set(F.ALL_RUNTIME_KINDS) - {"AlluxioRuntime"}
    assert all(o["type"] == "dict" and o.get("description") for o in opts.values())
    assert set(KINDS) - {"AlluxioRuntime"} <= set(opts)
    defaults = load("defaults", "main.yml")["datasets_runtime_defaults"]
    assert set(defaults) <= set(KINDS) - {"AlluxioRuntime"}
    for kind, entry in defaults.items():
        assert set(entry) <= set(RT.ITEM_SPEC) - {"name", "namespace", "state", "kind"}, kind


@pytest.mark.parametrize("var", ["datasets_runtime_kind"])
def test_default_kind_is_alluxio_and_one_of_the_modules(var):
    assert spec()[var]["default"] == load("defaults", "main.yml")[var] == "AlluxioRuntime"
    assert "AlluxioRuntime" in KINDS


# ---------------------------------------------------------------- the wait for Bound left out on a re-run

def declared(*phases, changed=False):
    """The dataset module's result (wait: false) for Datasets in these phases."""
    return {"changed": changed, "removed_finalizers": [],
            "datasets": [{"name": "d%d" % i, "namespace": "default", "phase": p, "changed": False}
                         for i, p in enumerate(phases)]}


SKIPPED = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}


@pytest.mark.parametrize("case, datasets_list, results, left_out", [
    ("every Dataset Bound, nothing changed", [HBASE, dict(NFS, runtime={"kind": "ThinRuntime"})],
     dict(datasets_result=declared("Bound", "Bound"), alluxio_runtime_result={"changed": False},
          datasets_runtime_result={"changed": False}), True),
    ("a Dataset NotBound", [HBASE, dict(NFS, runtime=False)],
     dict(datasets_result=declared("Bound", "NotBound"), alluxio_runtime_result={"changed": False},
          datasets_runtime_result=SKIPPED), False),
    ("a Dataset without a status yet", [HBASE],
     dict(datasets_result=declared(""), alluxio_runtime_result={"changed": False}, datasets_runtime_result=SKIPPED),
     False),
    ("a Dataset DataMigrating (the wait waits for Bound)", [HBASE],
     dict(datasets_result=declared("DataMigrating"), alluxio_runtime_result={"changed": False},
          datasets_runtime_result=SKIPPED), False),
    ("a Dataset or its Secret changed", [HBASE],
     dict(datasets_result=declared("Bound", changed=True), alluxio_runtime_result={"changed": False},
          datasets_runtime_result=SKIPPED), False),
    ("an AlluxioRuntime changed", [HBASE],
     dict(datasets_result=declared("Bound"), alluxio_runtime_result={"changed": True},
          datasets_runtime_result=SKIPPED), False),
    ("a runtime of another kind changed", [dict(NFS, runtime={"kind": "ThinRuntime"})],
     dict(datasets_result=declared("Bound"), datasets_runtime_result={"changed": True}), False),
    ("no AlluxioRuntime here: no result of the role alluxio_runtime is read", [dict(NFS, runtime={"kind": "ThinRuntime"})],
     dict(datasets_result=declared("Bound"), datasets_runtime_result={"changed": False}), True),
    ("no AlluxioRuntime here: an earlier run of the role alluxio_runtime does not count", [dict(HBASE, runtime=False)],
     dict(datasets_result=declared("Bound"), alluxio_runtime_result={"changed": True},
          datasets_runtime_result=SKIPPED), True),
])
def test_the_wait_is_left_out_only_when_every_dataset_is_bound_and_nothing_changed(
        case, datasets_list, results, left_out):
    role = Role(datasets_list=datasets_list)
    assert role.render("{{ [__datasets_bound_unchanged] }}", **results)[0] is left_out, case
