"""site.yml on three clusters at once (one inventory host per cluster), one of them cut mid-run.

The lane's cluster is `east`; `west` and `north` are two more embedded clusters (hack/cluster/fleet.py,
FLEET = this lane's work folder + "-fleet"). Once the run created east's Dataset, north's kube-apiserver
is killed and kept down (its supervisor stopped first): site.yml must complete on east and west, end with a summary naming north, the
task and the reason, exit non-zero, and the fleet page must list east's and west's Datasets and name
north as not readable, with why.
"""
import html
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, Kube, collections_path

FLEET_PY = os.path.join(ROOT, "hack", "cluster", "fleet.py")


def fleet_module():
    spec = importlib.util.spec_from_file_location("fleet", FLEET_PY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def fleet(cluster):
    """{name: (work folder, Kube)}: east (this lane's cluster), west and north (brought up here, and down
    after the test)."""
    work = cluster["workdir"]
    env = dict(os.environ, FLUID_FLEET_WORKDIR=work + "-fleet")
    env.pop("KUBECONFIG", None)
    subprocess.run([sys.executable, FLEET_PY, "up", "west", "north"], env=env, check=True, timeout=600)
    try:
        out = {"east": (work, Kube(cluster["kubeconfig"], cluster["kubectl"]))}
        for name in ("west", "north"):
            w = os.path.join(work + "-fleet", name)
            out[name] = (w, Kube(os.path.join(w, "kwok", "clusters", "fluid", "kubeconfig.yaml"), cluster["kubectl"]))
        yield out
    finally:
        subprocess.run([sys.executable, FLEET_PY, "down", "west", "north"], env=env, check=True, timeout=600)


def wait_until(what, predicate, proc, timeout):
    """predicate() true within timeout, while the playbook (proc) still runs."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        assert proc.poll() is None, "site.yml ended (rc %s) before %s" % (proc.returncode, what)
        time.sleep(0.5)
    raise AssertionError("timed out after %d s waiting for %s" % (timeout, what))


def running(pid):
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def cut_north(work):
    """North's API server gone for good: its supervisor stopped first (it would start the API server
    again with kube-controller-manager once that one's lease ran out), then kube-apiserver SIGKILLed.
    The fixture's `fleet.py down` stops what is left of north."""
    sup = int(open(os.path.join(work, "run", "supervisor.pid")).read())
    os.killpg(sup, signal.SIGTERM)
    deadline = time.time() + 60
    while running(sup):
        assert time.time() < deadline, "north's supervisor did not stop"
        time.sleep(0.2)
    apiserver = int(open(os.path.join(work, "kwok", "clusters", "fluid", "pids", "kube-apiserver.pid")).read())
    os.kill(apiserver, signal.SIGKILL)


def test_site_yml_goes_on_when_one_cluster_is_cut(fleet, tmp_path):
    inv = fleet_module().write_inventory({n: w for n, (w, _) in fleet.items()}, str(tmp_path / "inventory"))
    report = tmp_path / "fluid-status.html"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_SHOW_CUSTOM_STATS="1")
    env.pop("KUBECONFIG", None)
    out, err = open(tmp_path / "stdout", "w+"), open(tmp_path / "stderr", "w+")
    t0 = time.time()
    proc = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inv,
                             os.path.join(ROOT, "playbooks", "site.yml"), "-e", "status_report_file=%s" % report],
                            stdout=out, stderr=err, env=env, cwd=ROOT)
    try:
        east, north = fleet["east"][1], fleet["north"][1]
        # the run reached the Datasets on east (and, in step with it, on north): cut north now
        wait_until("east's Dataset cifar10", lambda: east.get("dataset", "cifar10", "-n", "default", check=False),
                   proc, 900)
        cut_north(fleet["north"][0])
        wait_until("north's API server down",
                   lambda: north.run("get", "--raw", "/readyz", check=False, timeout=10).returncode != 0, proc, 60)
        cut_at = time.time() - t0
        proc.wait(timeout=1800)
    finally:
        if proc.poll() is None:
            proc.kill()
    out.seek(0)
    err.seek(0)
    stdout, stderr = out.read(), err.read()
    print("north cut %.0f s into the run; the run took %.0f s" % (cut_at, time.time() - t0))
    recap = {m.group(1): dict(kv.split("=") for kv in m.group(2).split())
             for m in re.finditer(r"^(east|west|north)\s+:\s+(.*)$", stdout, re.M)}
    assert proc.returncode != 0, stdout[-3000:]
    assert recap["east"]["failed"] == "0" and recap["west"]["failed"] == "0", recap
    assert recap["north"]["failed"] == "1", recap

    # the end of the run: the summary names north, the task and the reason
    tail = stderr.strip().splitlines()
    summary = [line for line in tail if line.startswith("cloudnative.fluid: ")]
    assert summary == ["cloudnative.fluid: 2 of 3 clusters completed (east, west); 1 failed:"], stderr[-3000:]
    north_line = tail[tail.index(summary[0]) + 1]
    assert re.match(r"^  north: TASK \[.+\] .+", north_line), north_line
    assert re.search(r"refused|reach|connect", north_line, re.I), north_line
    assert tail.index(summary[0]) + 1 == len(tail) - 1, "the summary is the last thing the run prints: %s" % tail[-5:]

    # east and west went all the way: the Dataset Bound with the cache widened on both nodes
    for name in ("east", "west"):
        ds = fleet[name][1].get("dataset", "cifar10", "-n", "default")
        assert ds["status"]["phase"] == "Bound", (name, ds.get("status"))

    # the fleet page: both good clusters' Datasets, north named with the reason; one page per good cluster
    page = report.read_text()
    for name in ("east", "west"):
        section = re.search(r'<section class="cluster" data-cluster="%s">(.*?)</section>' % name, page, re.S)
        assert section, "no section for %s in the fleet page" % name
        assert 'data-dataset="default/cifar10"' in section.group(1)
        assert ">Bound<" in section.group(1)
        assert (tmp_path / ("fluid-status-%s.html" % name)).exists()
    row = re.search(r'<tr class="unreadable" data-cluster="north">(.*?)</tr>', page, re.S)
    assert row, "north is not listed as unreadable in the fleet page"
    assert re.search(r"refused|reach|connect", html.unescape(row.group(1)), re.I), row.group(1)
    assert not (tmp_path / "fluid-status-north.html").exists()
    assert 'data-cluster="north">' not in page.split('id="unreadable"')[0]

    # the job's artifacts (set_stats, as AWX keeps them): the good clusters' Datasets, keyed by cluster
    run = re.search(r"^\s*RUN: (\{.*\})\s*$", stdout, re.M)
    assert run, "no custom stats in the output: %s" % stdout[-2000:]
    artifacts = json.loads(run.group(1))["fluid_status"]
    assert artifacts["report_file"] == str(report)
    assert sorted(artifacts["clusters"]) == ["east", "west"], artifacts
    for name in ("east", "west"):
        cl = artifacts["clusters"][name]
        assert cl["report_file"] == str(tmp_path / ("fluid-status-%s.html" % name))
        assert [(d["namespace"], d["name"], d["phase"]) for d in cl["datasets"]] == [("default", "cifar10", "Bound")]
