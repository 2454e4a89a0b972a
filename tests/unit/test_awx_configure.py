"""playbooks/awx_configure.yml without a controller.

The playbook runs for real (ansible-playbook: templating, loops, omit, module_defaults, no_log) against
a stand-in awx.awx collection: each stand-in module has the real module's argument spec (taken from
awx.awx in the venv) and validates its arguments with AnsibleModule exactly as the real one does
(unknown options, types, choices, required), then records them instead of calling the controller API.
The tests then check what would have been sent: credentials, job templates, their playbooks, surveys."""
import importlib
import json
import os
import shutil
import subprocess
import tarfile

import pytest
import yaml
from ansible.module_utils import basic

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
AWX = importlib.import_module("ansible_collections.awx.awx")
AWX_DIR = list(AWX.__path__)[0]

STANDIN = '''#!/usr/bin/python
# Stand-in for awx.awx.%(name)s written by tests/unit/test_awx_configure.py: the real argument spec,
# validated by AnsibleModule; the arguments are recorded, nothing is sent to a controller.
import json
import os
from ansible.module_utils.basic import AnsibleModule

SPEC = json.loads(%(spec)r)
KWARGS = json.loads(%(kwargs)r)


def main():
    module = AnsibleModule(argument_spec=SPEC, supports_check_mode=True, **KWARGS)
    with open(os.environ["AWX_STANDIN_LOG"], "a") as fh:
        fh.write(json.dumps({"module": %(name)r, "params": module.params}) + "\\n")
    module.exit_json(changed=False)


if __name__ == "__main__":
    main()
'''


class Captured(Exception):
    pass


def real_spec(name):
    """The argument spec (and AnsibleModule keyword arguments) awx.awx.<name> passes to AnsibleModule."""
    captured = {}

    def capture(self, argument_spec=None, **kwargs):
        captured.update(spec=argument_spec, kwargs=kwargs)
        raise Captured()

    mod = importlib.import_module("ansible_collections.awx.awx.plugins.modules." + name)
    original = basic.AnsibleModule.__init__
    basic.AnsibleModule.__init__ = capture
    try:
        mod.main()
    except Captured:
        pass
    finally:
        basic.AnsibleModule.__init__ = original
    assert captured, "awx.awx.%s did not create its AnsibleModule" % name
    spec, kwargs = captured["spec"], captured["kwargs"]
    for option in spec.values():
        option.pop("fallback", None)  # env fallbacks (CONTROLLER_HOST, ...): functions, and not used here
    kwargs = {k: v for k, v in kwargs.items() if k in ("mutually_exclusive", "required_if", "required_one_of",
                                                       "required_together", "required_by")}
    return spec, kwargs


def playbook_modules():
    with open(os.path.join(ROOT, "playbooks", "awx_configure.yml")) as fh:
        play = yaml.safe_load(fh)[0]
    names = set()
    for task in play["tasks"]:
        names.update(k.split(".")[-1] for k in task if k.startswith("awx.awx."))
    return play, sorted(names)


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    """ANSIBLE_COLLECTIONS_PATH with a stand-in awx.awx (meta/runtime.yml of the real one) and this collection."""
    base = tmp_path_factory.mktemp("awx")
    coll = base / "ansible_collections" / "awx" / "awx"
    (coll / "plugins" / "modules").mkdir(parents=True)
    (coll / "meta").mkdir()
    shutil.copy(os.path.join(AWX_DIR, "meta", "runtime.yml"), str(coll / "meta" / "runtime.yml"))
    shutil.copy(os.path.join(AWX_DIR, "MANIFEST.json"), str(coll / "MANIFEST.json"))
    names = playbook_modules()[1]
    for name in names:
        spec, kwargs = real_spec(name)
        (coll / "plugins" / "modules" / (name + ".py")).write_text(
            STANDIN % {"name": name, "spec": json.dumps(spec), "kwargs": json.dumps(kwargs)})
    return str(base)


def run(standin, tmp_path, *extra):
    log = tmp_path / "calls.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTROLLER_", "TOWER_"))}
    env.update(ANSIBLE_COLLECTIONS_PATH=standin, AWX_STANDIN_LOG=str(log), ANSIBLE_NOCOLOR="1", ANSIBLE_PIPELINING="True",
               ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="False")
    r = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,",
                        os.path.join(ROOT, "playbooks", "awx_configure.yml"),
                        "-e", "ansible_python_interpreter=" + os.path.join(VENV_BIN, "python")] + list(extra),
                       capture_output=True, text=True, env=env, timeout=300, check=False)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return r, calls


def by_module(calls, name):
    return [c["params"] for c in calls if c["module"] == name]


def load(path):
    with open(os.path.join(ROOT, path)) as fh:
        return yaml.safe_load(fh)


def test_syntax_check():
    r = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "--syntax-check",
                        os.path.join(ROOT, "playbooks", "awx_configure.yml")],
                       capture_output=True, text=True, timeout=120, check=False,
                       env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".cache", "collections")))
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_standins_reject_what_the_real_modules_reject(standin, tmp_path):
    """The stand-ins validate: an option the real module lacks fails the run."""
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({"awx_execution_environment": {"name": "x", "image": "y", "pull": "sometimes"}}))
    r, calls = run(standin, tmp_path, "-e", "@%s" % bad)
    assert r.returncode != 0
    assert "value of pull must be one of: always, missing, never" in r.stdout, r.stdout


@pytest.fixture(scope="module")
def applied(standin, tmp_path_factory):
    """The run with playbooks/vars/awx.yml and credentials with inputs (secrets)."""
    tmp_path = tmp_path_factory.mktemp("run")
    creds = tmp_path / "creds.yml"
    creds.write_text(yaml.safe_dump({
        "awx_installer_credential": {"name": "Fluid installer", "credential_type":
                                     "OpenShift or Kubernetes API Bearer Token",
                                     "inputs": {"host": "https://k8s:6443", "bearer_token": "s3cr3t-installer"}},
        "awx_day_to_day_credential": {"name": "Fluid day-to-day", "credential_type": "Kubeconfig",
                                      "inputs": {"kubeconfig": "s3cr3t-kubeconfig"}},
    }))
    r, calls = run(standin, tmp_path, "-e", "@%s" % creds, "-v")
    assert r.returncode == 0, r.stdout + r.stderr
    return r, calls


def test_every_awx_task_runs_with_arguments_its_module_accepts(applied):
    calls = applied[1]
    names = playbook_modules()[1]
    assert sorted(set(c["module"] for c in calls)) == names
    jts = load("playbooks/vars/awx.yml")["awx_job_templates"]
    assert len(by_module(calls, "job_template")) == len(jts)


def test_secrets_are_not_logged(applied):
    r, calls = applied
    assert "s3cr3t" not in r.stdout + r.stderr
    creds = {c["name"]: c for c in by_module(calls, "credential")}
    assert creds["Fluid installer"]["inputs"]["bearer_token"] == "s3cr3t-installer"
    assert creds["Fluid day-to-day"]["credential_type"] == "Kubeconfig"
    assert all(c["update_secrets"] is False for c in creds.values())


def test_the_installer_credential_is_used_for_install_and_teardown_only(applied):
    calls = applied[1]
    seen = {}
    for jt in by_module(calls, "job_template"):
        installs = jt["playbook"] == "playbooks/teardown.yml" or "fluid" in (jt["job_tags"] or "").split(",")
        assert jt["credentials"] == ["Fluid installer" if installs else "Fluid day-to-day"], jt["name"]
        seen[jt["name"]] = jt
    assert seen["Fluid – install"]["credentials"] == ["Fluid installer"]
    assert seen["Fluid – teardown"]["credentials"] == ["Fluid installer"]


def test_credential_names_are_configurable_and_without_inputs_left_alone(standin, tmp_path):
    names = tmp_path / "names.yml"
    jts = load("playbooks/vars/awx.yml")["awx_job_templates"]
    for jt in jts:
        if jt["playbook"] == "playbooks/status.yml":
            jt["extra_vars"] = {"status_report_file": "/srv/fluid-reports/fluid-status.html"}
    names.write_text(yaml.safe_dump({
        "awx_installer_credential": {"name": "ops-installer", "credential_type": "x", "inputs": {}},
        "awx_day_to_day_credential": {"name": "ops-daily", "credential_type": "x", "inputs": {}},
        "awx_job_templates": jts}))
    r, calls = run(standin, tmp_path, "-e", "@%s" % names)
    assert r.returncode == 0, r.stdout
    extra = {jt["name"]: jt["extra_vars"] for jt in by_module(calls, "job_template")}
    assert extra["Fluid – status"] == {"status_report_file": "/srv/fluid-reports/fluid-status.html"}
    assert extra["Fluid – install"] is None
    assert by_module(calls, "credential") == []  # no inputs: the credentials must exist, they are not changed
    creds = {jt["name"]: jt["credentials"] for jt in by_module(calls, "job_template")}
    assert creds["Fluid – install"] == ["ops-installer"] and creds["Fluid – status"] == ["ops-daily"]


def test_a_job_template_with_an_unknown_credential_role_is_refused(standin, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump({"awx_job_templates": [
        {"name": "x", "playbook": "playbooks/status.yml", "credential": "admin"}]}))
    r, calls = run(standin, tmp_path, "-e", "@%s" % bad)
    assert r.returncode != 0
    assert "awx_job_templates: x: credential must be installer or day_to_day" in r.stdout
    assert calls == []


def test_every_job_templates_playbook_is_in_the_built_collection(applied, tmp_path):
    calls = applied[1]
    r = subprocess.run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "build", "--force",
                        "--output-path", str(tmp_path), ROOT], capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    with tarfile.open(str(tmp_path / ("cloudnative-fluid-%s.tar.gz" % load("galaxy.yml")["version"]))) as tf:
        members = set(tf.getnames())
    for jt in by_module(calls, "job_template"):
        assert jt["playbook"] in members, jt["name"]


# AWX's own rules for a survey (awx/api/views/__init__.py, JobTemplateSurveySpec._validate_spec_data):
# name, description (strings) and a non-empty spec list; each question a dict with string type,
# question_name, variable and a boolean required; unique variables; one of the allowed types; a
# default of the type's Python type (or ''); integer min/max; choice questions list choices, and a
# multiplechoice default is one of them.
SURVEY_TYPES = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str,
                "integer": int, "float": float}


def survey_errors(spec):
    errors = []
    for field, kind in (("name", str), ("description", str), ("spec", list)):
        if not isinstance(spec.get(field), kind):
            errors.append("%s is not a %s" % (field, kind.__name__))
    if errors or not spec["spec"]:
        return errors or ["spec is empty"]
    seen = set()
    for i, q in enumerate(spec["spec"]):
        for field, kind in (("type", str), ("question_name", str), ("variable", str), ("required", bool)):
            if not isinstance(q.get(field), kind):
                errors.append("question %d: %s is not a %s" % (i, field, kind.__name__))
        if q.get("variable") in seen:
            errors.append("question %d: variable %s twice" % (i, q["variable"]))
        seen.add(q.get("variable"))
        qtype = q.get("type")
        if qtype not in SURVEY_TYPES:
            errors.append("question %d: type %s" % (i, qtype))
            continue
        default = q.get("default", "")
        if default != "" and not isinstance(default, SURVEY_TYPES[qtype]):
            errors.append("question %d: default %r is not %s" % (i, default, qtype))
        for key in ("min", "max"):
            if q.get(key) is not None and not isinstance(q[key], int):
                errors.append("question %d: %s is not an integer" % (i, key))
        if qtype == "integer" and default != "" and not (q.get("min", default) <= default <= q.get("max", default)):
            errors.append("question %d: default %r outside min/max" % (i, default))
        if qtype in ("multiplechoice", "multiselect"):
            if not q.get("choices"):
                errors.append("question %d: no choices" % i)
            elif default != "" and any(d not in q["choices"] for d in str(default).splitlines()):
                errors.append("question %d: default %r not among the choices" % (i, default))
    return errors


def test_survey_rules_catch_bad_surveys():
    good = {"name": "n", "description": "", "spec": [
        {"question_name": "q", "variable": "v", "type": "multiplechoice", "required": True,
         "choices": ["a", "b"], "default": "a"}]}
    assert survey_errors(good) == []
    bad = json.loads(json.dumps(good))
    bad["spec"][0]["default"] = "c"
    bad["spec"].append({"question_name": "t", "variable": "v", "type": "integer", "required": "yes",
                        "default": 9, "min": 1, "max": 5})
    assert len(survey_errors(bad)) == 4


def role_options(role):
    specs = load(os.path.join("roles", role, "meta", "argument_specs.yml"))["argument_specs"]
    return set(specs["main"]["options"])


def variables_read(playbook, tags):
    """Variables the plays of a playbook read: their vars and the options of the roles they import
    (only the tasks with one of `tags` when tags are given)."""
    names = set()
    for play in load(playbook):
        if "import_playbook" in play or "ansible.builtin.import_playbook" in play:
            continue
        names.update(play.get("vars", {}))
        for task in play.get("tasks", []):
            if tags and not set(tags) & set(task.get("tags", [])):
                continue
            role = (task.get("ansible.builtin.import_role") or {}).get("name")
            if role:
                names.update(role_options(role.split(".")[-1]))
    return names


def test_surveys_are_well_formed_and_ask_for_variables_the_playbooks_read(applied):
    calls = applied[1]
    jts = by_module(calls, "job_template")
    assert [jt for jt in jts if jt["survey_enabled"]] == [jt for jt in jts if jt["survey_spec"]]
    for jt in jts:
        if not jt["survey_spec"]:
            continue
        assert survey_errors(jt["survey_spec"]) == [], jt["name"]
        tags = [t for t in (jt["job_tags"] or "").split(",") if t]
        read = variables_read(jt["playbook"], tags)
        for q in jt["survey_spec"]["spec"]:
            assert q["variable"] in read, "%s asks for %s, which %s (tags %s) does not read" % (
                jt["name"], q["variable"], jt["playbook"], tags)


def test_job_templates_cover_install_datasets_labels_status_dataflow_teardown(applied):
    calls = applied[1]
    got = {(jt["playbook"], jt["job_tags"]) for jt in by_module(calls, "job_template")}
    assert got >= {("playbooks/site.yml", "fluid"), ("playbooks/site.yml", "datasets"), ("playbooks/site.yml", "gpu"),
                   ("playbooks/status.yml", None), ("playbooks/dataflow.yml", None), ("playbooks/teardown.yml", None)}
    assert all(jt["execution_environment"] == "cloudnative.fluid" and jt["labels"] == ["cloudnative.fluid"]
               for jt in by_module(calls, "job_template"))


def test_the_kubeconfig_credential_type_injects_k8s_auth_kubeconfig(applied):
    calls = applied[1]
    (ct,) = by_module(calls, "credential_type")
    assert ct["injectors"] == {"file": {"template.kubeconfig": "{{ kubeconfig }}"},
                               "env": {"K8S_AUTH_KUBECONFIG": "{{ tower.filename.kubeconfig }}"}}
    (host,) = by_module(calls, "host")
    assert host["variables"] == {"ansible_connection": "local",
                                 "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
