"""roles/fluid: the chart values for Fluid's webhook that fluid_webhook_sidecar_injection_mode and fluid_tiered_locality
render (vars/main.yml, __fluid_webhook_values), as Ansible templates them. The args string must be what Fluid's
NodeAffinityWithCache plugin unmarshals (pkg/webhook/plugins/nodeaffinitywithcache/tiered_locaity.go)."""
import json
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(ROOT, "roles", "fluid")


def webhook_values(tmp_path, **inputs):
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local",
             "vars_files": [os.path.join(ROLE, "defaults", "main.yml"), os.path.join(ROLE, "vars", "main.yml")],
             "tasks": [{"ansible.builtin.debug": {"var": "__fluid_webhook_values"}}]}]
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                           str(path), "-e", json.dumps(inputs)], capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]["__fluid_webhook_values"]


def test_unset_leaves_the_chart_alone(tmp_path):
    assert webhook_values(tmp_path) == {}
    assert webhook_values(tmp_path, fluid_tiered_locality={"preferred": [], "required": []}) == {}


def test_sidecar_injection_mode(tmp_path):
    assert webhook_values(tmp_path, fluid_webhook_sidecar_injection_mode="native-sidecar") == {
        "webhook": {"fuseSidecar": {"sidecarInjectionMode": "native-sidecar"}}}


@pytest.mark.parametrize("locality", [
    {"preferred": [{"name": "fluid.io/node", "weight": 100}, {"name": "topology.kubernetes.io/zone", "weight": 50}],
     "required": ["fluid.io/node"]},
    {"preferred": [{"name": "rack.example.com/id", "weight": 80}]},
])
def test_tiered_locality_replaces_the_plugins_profile(tmp_path, locality):
    values = webhook_values(tmp_path, fluid_tiered_locality=locality)
    webhook = values["webhook"]
    assert webhook["forceReplacePluginsProfile"] is True
    [plugin] = webhook["pluginsProfile"]["pluginConfig"]
    assert plugin["name"] == "NodeAffinityWithCache"
    # the plugin's args: a YAML string with exactly Fluid's TieredLocality fields
    assert yaml.safe_load(plugin["args"]) == {"preferred": locality.get("preferred", []),
                                              "required": locality.get("required", [])}
    # the profile's plugin lists stay the chart's (Helm merges maps, a list value replaces the chart's list)
    assert set(webhook["pluginsProfile"]) == {"pluginConfig"}
