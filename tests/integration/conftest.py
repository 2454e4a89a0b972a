"""Fixtures for tests against the embedded cluster (or $KUBECONFIG's cluster).

The cluster is brought up by `make cluster-up` (make test does it). These
fixtures never skip: a missing cluster is a failure that says what to run.
"""
import json
import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIVER = os.path.join(ROOT, "hack", "cluster", "cluster.py")


def cluster_status():
    out = subprocess.run([sys.executable, DRIVER, "status"], capture_output=True, text=True, check=True).stdout
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


class Kube:
    """kubectl with JSON in and out, bound to one kubeconfig."""

    def __init__(self, kubeconfig, binary):
        self.kubeconfig, self.binary = kubeconfig, binary

    def run(self, *args, input=None, check=True, timeout=120):
        r = subprocess.run([self.binary, "--kubeconfig", self.kubeconfig] + list(args), input=input,
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("kubectl %s failed: %s" % (" ".join(args), r.stderr.strip()))
        return r

    def get(self, *args, check=True):
        r = self.run("get", "-o", "json", *args, check=check)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def apply(self, obj, *extra):
        text = obj if isinstance(obj, str) else json.dumps(obj)
        return self.run("apply", "-f", "-", *extra, input=text)

    def wait_for(self, what, predicate, timeout=120, interval=0.5):
        """Re-read `what` (kubectl get args) until predicate(obj) is truthy."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = self.get(*what, check=False)
            if last is not None:
                try:
                    if predicate(last):
                        return last
                except (KeyError, IndexError, TypeError):
                    pass
            time.sleep(interval)
        raise AssertionError("timed out after %ss waiting on %s; last seen:\n%s"
                             % (timeout, " ".join(what), json.dumps(last, indent=1)[:4000]))


@pytest.fixture(scope="session")
def cluster():
    st = cluster_status()
    if os.environ.get("KUBECONFIG_UNDER_TEST"):
        st["kubeconfig"] = os.environ["KUBECONFIG_UNDER_TEST"]
    elif st.get("cluster") != "Ready":
        pytest.fail("the embedded cluster is not running: run `make cluster-up` first "
                    "(status said cluster: %s)" % st.get("cluster"), pytrace=False)
    return st


@pytest.fixture(scope="session")
def kube(cluster):
    return Kube(cluster["kubeconfig"], cluster["kubectl"])


def ensure_fluid(kube, cluster, timeout=120):
    """Fluid's CRDs applied (server-side) and the real controllers running."""
    crds = os.path.join(cluster["fluid-chart"], "crds")
    kube.run("apply", "--server-side", "--force-conflicts", "-f", crds)
    kube.run("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
    kube.run("create", "namespace", "fluid-system", check=False)
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = cluster_status()
        if all(st.get(c, "").startswith("Running") for c in ("dataset-controller", "alluxioruntime-controller")):
            return
        time.sleep(1)
    raise AssertionError("Fluid controllers not running: %s" % {k: v for k, v in st.items() if "controller" in k})


@pytest.fixture
def fluid(kube, cluster):
    ensure_fluid(kube, cluster)


COLLECTIONS = os.path.join(ROOT, ".cache", "collections")


def collections_path():
    """ANSIBLE_COLLECTIONS_PATH holding this work tree as cloudnative.fluid."""
    link = os.path.join(COLLECTIONS, "ansible_collections", "cloudnative", "fluid")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)
    return COLLECTIONS


class PlaybookRun:
    def __init__(self, proc):
        self.rc, self.stdout, self.stderr = proc.returncode, proc.stdout, proc.stderr
        self.stats = {}
        for line in self.stdout.splitlines():
            if line.startswith("localhost") and "ok=" in line:
                self.stats = {k: int(v) for k, v in (f.split("=") for f in line.split()[2:])}

    def __repr__(self):
        """The failed tasks first (pytest shows only the start of a long message)."""
        lines = self.stdout.splitlines()
        fatal = [line for line in lines if "fatal:" in line or "FAILED!" in line]
        return "rc=%s stats=%s fatal: %s\n%s" % (self.rc, self.stats, " | ".join(fatal)[:3000],
                                                  self.stderr[-2000:])


@pytest.fixture(scope="session")
def ansible_playbook(cluster, tmp_path_factory):
    """Run a playbook (path, or YAML text) against the cluster: ansible_playbook(text, *args)."""
    folder = tmp_path_factory.mktemp("playbooks")

    def run(playbook, *args, inventory=None, env=None, admin=True):
        """admin=False: no connection of the cluster's admin at all (no -e k8s_kubeconfig, and neither $KUBECONFIG
        nor K8S_AUTH_* of this process); the inventory, `args` or `env` give the connection."""
        path = playbook
        if "\n" in playbook:
            path = str(folder / ("pb-%d.yml" % len(os.listdir(folder))))
            with open(path, "w") as fh:
                fh.write(playbook)
        cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), path]
        cmd += ["-i", inventory or "localhost,"] + (["-e", "k8s_kubeconfig=%s" % cluster["kubeconfig"]] if admin else [])
        cmd += list(args)
        if inventory is None:
            cmd += ["-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable]
        e = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR="1",
                 ANSIBLE_FORCE_COLOR="0", **(env or {}))
        if not admin:
            for k in [k for k in e if k == "KUBECONFIG" or (k.startswith("K8S_AUTH_") and k not in (env or {}))]:
                del e[k]
        return PlaybookRun(subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=ROOT, timeout=1800))
    return run


SEED_GPU_LABEL = "aliyun.accelerator/nvidia_name"
SEED_SECOND_NODE = "cn-hongkong.172.31.136.194"


@pytest.fixture(autouse=True)
def seed_start(request):
    """Every test starts from the seed's step 1: only ...196 carries the GPU label. (site.yml and
    the GPU-labelling tests label ...194; the demo may have run on this cluster before.)"""
    if request.node.get_closest_marker("teardown"):
        return
    request.getfixturevalue("kube").run("label", "node", SEED_SECOND_NODE, SEED_GPU_LABEL + "-", check=False)
