"""The playbooks run by collection name (ansible-playbook cloudnative.fluid.site) from the collection as
installed from its tarball (ansible-galaxy collection install), not from this work tree.

--syntax-check loads every play, imported playbook and imported task file (site.yml's tasks/ and
status.yml, awx_configure.yml's vars/): a file the tarball lacks, or a path that only resolves from the
work tree, fails. tests/integration/test_status_report.py runs status.yml this way on a cluster (its
templates/ lookups)."""
import os
import subprocess

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
PLAYBOOKS = sorted(f[:-4] for f in os.listdir(os.path.join(ROOT, "playbooks")) if f.endswith(".yml"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """ANSIBLE_COLLECTIONS_PATH with cloudnative.fluid installed from the tarball `ansible-galaxy collection build`
    makes (kubernetes.core and awx.awx come from the venv's ansible package)."""
    tmp = tmp_path_factory.mktemp("installed")
    r = subprocess.run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path",
                        str(tmp), ROOT], capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(os.path.join(ROOT, "galaxy.yml")) as fh:
        version = yaml.safe_load(fh)["version"]
    tarball = str(tmp / ("cloudnative-fluid-%s.tar.gz" % version))
    r = subprocess.run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "install", "--force", "--no-deps", "--offline",
                        "-p", str(tmp / "collections"), tarball], capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert os.path.isfile(str(tmp / "collections" / "ansible_collections" / "cloudnative" / "fluid" / "MANIFEST.json"))
    return str(tmp / "collections")


def test_the_playbooks_are_the_ones_users_run():
    assert set(PLAYBOOKS) >= {"site", "status", "dataflow", "teardown", "automation_account", "awx_configure"}


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_syntax_check_by_collection_name_from_the_installed_tarball(installed, name, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_COLLECTIONS_PATH"}
    env["ANSIBLE_COLLECTIONS_PATH"] = installed
    # run from an empty folder: nothing may resolve relative to this work tree
    r = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "--syntax-check", "-i", "localhost,",
                        "cloudnative.fluid." + name], capture_output=True, text=True, env=env, cwd=str(tmp_path),
                       timeout=300, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "playbook: " in r.stdout
    assert installed in r.stdout  # the installed collection's playbook, not the work tree's
