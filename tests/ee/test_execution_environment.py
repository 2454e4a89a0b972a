"""`make ee`: `ansible-builder create` succeeds for execution-environment.yml (no container engine needed).

Not a unit test: it builds the collection and an EE build context (in a temporary folder, never
in the work tree). `make ee-test` runs it; `make test` and `make check` run it as the gate `ee`."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_ansible_builder_create_makes_a_context_with_helm_and_the_collection(tmp_path):
    context = str(tmp_path / "context")
    r = subprocess.run(["make", "-s", "ee", "EE_CONTEXT=" + context], cwd=ROOT, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    dockerfile = open(os.path.join(context, "Dockerfile")).read()
    pins = dict(line.split("=", 1) for line in open(os.path.join(ROOT, "hack", "versions.env"))
                if "=" in line and not line.startswith("#"))
    assert "helm-${HELM_VERSION}-linux-amd64.tar.gz" in dockerfile
    assert "ansible-galaxy collection install /tmp/cloudnative-fluid.tar.gz" in dockerfile
    build = os.path.join(context, "_build")
    assert "HELM_VERSION=%s" % pins["HELM_VERSION"].strip() in open(os.path.join(build, "configs", "versions.env")).read()
    assert "kubernetes.core" in open(os.path.join(build, "requirements.yml")).read()
    assert os.path.getsize(os.path.join(build, "cloudnative-fluid.tar.gz")) > 10000
