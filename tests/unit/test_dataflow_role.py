"""roles/dataflow without a cluster: its Jinja (the plan of the steps, the translation of the modules' messages
to the role's variables) rendered by Ansible's templar, with each module's own validation in between as the
role runs it in check mode (the one source of validation); and that every kind the role accepts has its task
file passing every option of its module."""
import copy
import os

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.cloudnative.fluid.plugins.module_utils import driver
from ansible_collections.cloudnative.fluid.plugins.modules import databackup as DB
from ansible_collections.cloudnative.fluid.plugins.modules import dataload as DL
from ansible_collections.cloudnative.fluid.plugins.modules import datamigrate as DM
from ansible_collections.cloudnative.fluid.plugins.modules import dataprocess as DP

ROLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles", "dataflow")
MODULES = {"DataLoad": DL, "DataProcess": DP, "DataMigrate": DM, "DataBackup": DB}
OMIT = "__omit__"
SCRIPT = {"image": "busybox", "image_tag": "1.36", "source": "ls /data"}


def load(*parts):
    with open(os.path.join(ROLE, *parts)) as fh:
        return yaml.safe_load(fh)


def trusted(value):
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return dict((k, trusted(v)) for k, v in value.items())
    if isinstance(value, list):
        return [trusted(v) for v in value]
    return value


def task(file, name):
    for t in load("tasks", file):
        if t["name"] == name:
            return t
    raise KeyError(name)


def step_task(kind):
    [t] = load("tasks", "step_%s.yml" % kind.lower())
    return t


class Failed(Exception):
    pass


class Module(object):
    check_mode, params = True, None

    def fail_json(self, **kw):
        raise Failed(kw)

    def warn(self, msg):
        pass


class Role(object):
    def __init__(self, **variables):
        self.vars = dict(load("defaults", "main.yml"))
        self.vars.update(load("vars", "main.yml"))
        self.vars.update(copy.deepcopy(variables), omit=OMIT, ansible_check_mode=False)
        plan = task("preflight.yml", "Plan the steps")["ansible.builtin.set_fact"]["_dataflow_plan"]
        self.vars["_dataflow_plan"] = self.render(plan)

    def render(self, template, **more):
        return Templar(loader=DataLoader(), variables=trusted(dict(self.vars, **more))).template(
            trust_as_template(template))

    @property
    def plan(self):
        return [dict(s) for s in self.vars["_dataflow_plan"]]

    def check(self, step):
        """The step's task in the check pass: the module's validation of its arguments, as driver.run does it
        before any API call; its result as registered (with the step, as tasks/step.yml keeps it)."""
        t = step_task(step["kind"])
        more = dict(__dataflow_step=step, __dataflow_pass="check", __dataflow_options=step["options"])
        args = {}
        for k, v in t["cloudnative.fluid." + step["kind"].lower()].items():
            value = self.render(v, **more) if isinstance(v, str) else v
            if value != OMIT:
                args[k] = value
        kind = MODULES[step["kind"]].KIND
        params = dict((k, None) for k in driver.argument_spec(kind))
        params.update(kind.defaults, **args)
        params["wait_timeout"] = int(params["wait_timeout"])
        module = Module()
        module.params = params
        try:
            driver.Run(kind, module).validate()
        except Failed as e:
            return dict(e.args[0], failed=True, step=step)
        return {"changed": False, "step": step}

    def errors(self):
        t = task("preflight.yml", "Assert the steps' inputs")
        results = [self.check(s) for s in self.plan]
        return list(self.render(t["vars"]["__dataflow_errors"], __dataflow_results=results,
                                __dataflow_from_role=t["vars"]["__dataflow_from_role"]))

    def name_errors(self):
        t = task("preflight.yml", "Assert the steps have names of their own")
        return list(self.render(t["vars"]["__dataflow_name_errors"]))


FLOW = dict(dataflow_name="prep", dataflow_namespace="ml", dataflow_dataset="cifar10", dataflow_steps=[
    {"kind": "DataLoad", "paths": ["/hbase"]},
    {"kind": "DataProcess", "mount_path": "/data", "script": SCRIPT, "wait_timeout": 60},
    {"kind": "DataLoad", "name": "spark", "dataset": "other", "paths": ["/spark"],
     "run_after": {"kind": "DataLoad", "name": "prep-1-dataload"}}])


def test_plan_names_chains_and_defaults_each_step():
    plan = Role(dataflow_ttl_seconds_after_finished=3600, **FLOW).plan
    assert [(s["field"], s["kind"], s["name"], s["wait_timeout"]) for s in plan] == [
        ("dataflow_steps[0]", "DataLoad", "prep-1-dataload", 600),
        ("dataflow_steps[1]", "DataProcess", "prep-2-dataprocess", 60),
        ("dataflow_steps[2]", "DataLoad", "spark", 600)]
    assert plan[0]["options"] == {"name": "prep-1-dataload", "dataset": "cifar10", "paths": ["/hbase"],
                                  "ttl_seconds_after_finished": 3600}
    assert plan[1]["options"] == {"name": "prep-2-dataprocess", "dataset": "cifar10", "mount_path": "/data",
                                  "script": SCRIPT, "run_after": {"kind": "DataLoad", "name": "prep-1-dataload"},
                                  "ttl_seconds_after_finished": 3600}
    # the step's own dataset and run_after win
    assert plan[2]["options"]["dataset"] == "other"
    assert plan[2]["options"]["run_after"] == {"kind": "DataLoad", "name": "prep-1-dataload"}


def test_a_valid_flow_has_no_errors_and_the_modules_build_the_chain():
    role = Role(**FLOW)
    assert role.name_errors() == [] and role.errors() == []
    body = DP.KIND.build(dict(dict((k, None) for k in DP.ITEM_SPEC), namespace="ml", **role.plan[1]["options"]))
    assert body["spec"]["runAfter"] == {"kind": "DataLoad", "name": "prep-1-dataload", "namespace": "ml"}


def test_errors_name_the_steps_variable_or_the_flows():
    steps = [{"kind": "DataLoad", "paths": ["hbase"], "wait_timeout": 0},
             {"kind": "DataProcess", "mount_path": "/data", "script": SCRIPT},
             {"kind": "DataLoad", "dataset": "Bad_Name"}]
    errors = Role(dataflow_name="x" * 40, dataflow_dataset="", dataflow_wait_timeout=-5, dataflow_steps=steps).errors()
    fields = [e.split(":", 1)[0] for e in errors]
    assert "dataflow_steps[0].paths[0].path" in fields
    assert "dataflow_steps[0].wait_timeout" in fields
    assert "dataflow_steps[2].dataset" in fields
    # values the role filled in are named by the role's variables, with the step they reached
    assert "dataflow_dataset: is required with state=present; name the Dataset to process (it must be in namespace " \
           "default) (dataflow_steps[1], DataProcess %s-2-dataprocess)" % ("x" * 40) in errors, errors
    assert any(e.startswith("dataflow_wait_timeout: must be a positive number of seconds, got -5; give e.g. "
                            "dataflow_wait_timeout: 300 (dataflow_steps[1]") for e in errors), errors
    assert not [e for e in errors if "wait: false" in e]
    long_name = [e for e in errors if e.startswith("dataflow_steps[1].name (")]
    assert long_name and "from dataflow_name" in long_name[0] and "longer than 43 characters" in long_name[0], errors


def test_names_must_differ_and_exist():
    role = Role(dataflow_steps=[{"kind": "DataLoad", "name": "a"}, {"kind": "DataLoad", "name": "a"},
                                {"kind": "DataProcess"}])
    assert role.name_errors() == [
        "dataflow_steps[1].name: a is already the name of dataflow_steps[0]; give each step a name of its own",
        "dataflow_steps[2].name: the step has no name and dataflow_name is empty; set dataflow_name (the step is then "
        "called <dataflow_name>-3-dataprocess) or give the step a name"]


SPEC = load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
STEP = SPEC["dataflow_steps"]["options"]
ROLE_KEYS = {"name", "namespace", "state", "wait", "wait_timeout"}  # set by the role for every step


@pytest.mark.parametrize("kind", STEP["kind"]["choices"])
def test_each_kind_has_its_task_file_passing_every_option_of_its_module(kind):
    module = MODULES[kind]
    args = step_task(kind)["cloudnative.fluid." + kind.lower()]
    options = set(module.ITEM_SPEC) - {"namespace", "state"}
    assert options - set(args) == set(), "options of the module that tasks/step_%s.yml does not pass" % kind.lower()
    assert options - set(STEP) == set(), "options of the module missing from the steps in meta/argument_specs.yml"
    # the module's options (nested ones too) as the role's argument spec declares them
    for opt in options - ROLE_KEYS:
        assert STEP[opt]["type"] == module.ITEM_SPEC[opt]["type"], opt
        sub = module.ITEM_SPEC[opt].get("options")
        if sub:
            assert set(STEP[opt]["options"]) == set(sub), opt
            assert {k for k, v in sub.items() if v.get("required")} == {
                k for k, v in STEP[opt]["options"].items() if v.get("required")}, opt


def test_every_step_option_is_an_option_of_some_kind():
    known = set().union(*(set(MODULES[k].ITEM_SPEC) | set(MODULES[k].KIND.module_spec)
                          for k in STEP["kind"]["choices"])) | {"kind", "wait_timeout"}
    assert set(STEP) - known == set()
