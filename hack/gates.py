#!/usr/bin/env python3
"""Run the quality gates of `make test` / `make check`, concurrently where they share nothing,
and end with a table of where the time went.

    gates.py test         the static gates beside the cluster build, then the integration lanes and molecule
    gates.py check        the static gates (no cluster): unit, sanity, lint, changelog-lint, galaxy-importer, ee
    gates.py integration  only the integration lanes

Each integration lane runs its test files on an embedded cluster of its own
(FLUID_CLUSTER_WORKDIR=.work-test/<lane>, own ports), so lanes run side by side and never touch a
cluster they did not start: not `make demo`'s (.work/), not $KUBECONFIG's. A lane brings its
cluster up, runs its files, then the teardown test brings it down and checks that no process and
no port is left. Molecule runs its own scenario on .work-test/molecule.

Logs: .work-test/logs/<gate>.log (the tail is printed when a gate fails). Exit 1 if any gate failed.
"""
import argparse
import os
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(ROOT, ".work-test")
LOGS = os.path.join(WORK, "logs")
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
INTEGRATION = os.path.join(ROOT, "tests", "integration")
TEARDOWN = "test_zz_cluster_down.py"

# Integration tests per lane: files, or single tests as pytest node ids (file::test). Lanes run
# side by side, each on a cluster of its own, so a test may uninstall Fluid or kill the API server
# without disturbing another lane; they are balanced by measured time (see README, "Tests").
# Every collected integration test must be in exactly one lane (checked before anything runs by
# collecting each lane); a lane runs its entries in the order listed.
LANES = {
    "restart": ["test_faults.py::test_dataset_wait_survives_apiserver_restarts", "test_role_datasets.py",
                "test_role_dataflow.py",
                "test_secrets.py", "test_node_labels_module.py"],
    "faults": ["test_faults.py", "test_bad_inputs.py", "test_least_privilege.py", "test_role_gpu_node_labels.py"],
    "fluid": ["test_role_fluid.py", "test_fluid_info_module.py", "test_cluster.py", "test_embedded_fluid.py", "test_force_cleanup.py"],
    "modules": ["test_dataset_module.py", "test_runtime_module.py", "test_dataload_module.py",
                "test_dataset_info_module.py", "test_status_report.py", "test_runtime_kinds.py",
                "test_thinruntime_profile_module.py", "test_kubelet_info_module.py", "test_databackup_module.py",
                "test_datamigrate_module.py"],
    "fleet": ["test_fleet.py"],
    # after the upgrade the lane's cluster runs FLUID_VERSION's controllers like every other lane's
    "upgrade": ["test_upgrade.py", "test_dataprocess_module.py"],
}
# Lanes that start once another gate ended (passed or not), so that fewer clusters run at once on two
# cores: the upgrade lane after molecule, then the fleet lane (two more clusters beside its own) after the
# upgrade lane: with all of them at once the machine ran at load 20 and waits on the API server timed out.
LANE_AFTER = {"upgrade": "molecule", "fleet": "integration-upgrade"}
# The environment of a lane's cluster and tests beyond its work folder: the upgrade lane's cluster
# starts on the Fluid release before FLUID_VERSION (hack/versions.env: FLUID_PREVIOUS_VERSION)
LANE_ENV = {"upgrade": {"FLUID_CLUSTER_FLUID_VERSION": "previous"}}
# A lane that runs longer than this is stopped and fails (CI stops everything at 90 minutes).
LANE_TIMEOUT = 50 * 60


def clean_env(**extra):
    """The environment for gates: no credentials or kubeconfig of the user's own cluster."""
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG" and not k.startswith("K8S_AUTH_")}
    env["PATH"] = os.pathsep.join([VENV_BIN, env.get("PATH", "")])
    env.update(extra)
    return env


class Gate(object):
    def __init__(self, name, cmds, env=None, after=(), timeout=None, junit=None, cleanup=None):
        self.name, self.cmds, self.env, self.after = name, cmds, env or clean_env(), list(after)
        self.cleanup = cleanup  # a command run after a failure (a lane's cluster must not outlive it)
        self.after_any = False  # start once `after` ended, passed or not (only ordered, not dependent)
        self.timeout, self.junit = timeout, junit
        self.started = self.ended = None
        self.rc = None
        self.log = os.path.join(LOGS, name + ".log")
        self.note = ""

    @property
    def seconds(self):
        return (self.ended or time.time()) - (self.started or time.time())

    def run(self):
        self.started = time.time()
        with open(self.log, "w") as out:
            for cmd in self.cmds:
                out.write("$ %s\n" % " ".join(cmd))
                out.flush()
                left = None if self.timeout is None else self.timeout - (time.time() - self.started)
                proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
                try:
                    rc = proc.wait(timeout=left)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, 9)
                    proc.wait()
                    rc, self.note = 124, "stopped after %d s" % self.timeout
                if rc != 0:
                    self.rc = rc
                    break
            else:
                self.rc = 0
            if self.rc != 0 and self.cleanup:
                out.write("$ %s  (after the failure)\n" % " ".join(self.cleanup))
                out.flush()
                subprocess.run(self.cleanup, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, timeout=300, check=False)
        self.ended = time.time()


def make(target, name=None, **env):
    return Gate(name or target, [["make", "--no-print-directory", target]], clean_env(**env))


def lane_args(name):
    """pytest arguments of a lane: its entries, and --deselect for the single tests of its files
    that other lanes run."""
    elsewhere = [e for other, entries in LANES.items() if other != name for e in entries if "::" in e]
    rel = os.path.relpath(INTEGRATION, ROOT)  # pytest runs in ROOT; --deselect wants node ids as it prints them
    args = [os.path.join(rel, e) for e in LANES[name]]
    files = set(e for e in LANES[name] if "::" not in e)
    for e in elsewhere:
        if e.split("::", 1)[0] in files:
            args += ["--deselect", os.path.join(rel, e)]
    return args


def lane_gate(name, after):
    work = os.path.join(WORK, name)
    env = clean_env(FLUID_CLUSTER_WORKDIR=work, **LANE_ENV.get(name, {}))
    py = os.path.join(VENV_BIN, "python")
    junit = os.path.join(WORK, "junit-%s.xml" % name)
    pytest = [py, "-m", "pytest", "-p", "no:cacheprovider", "-v", "--durations=10"]
    cmds = [
        [sys.executable, os.path.join(ROOT, "hack", "cluster", "cluster.py"), "up"],
        pytest + ["-m", "not teardown", "--junitxml", junit] + lane_args(name),
        # the last test brings this lane's cluster down and checks that nothing of it is left
        pytest + ["-m", "teardown", "--junitxml", junit + ".down", os.path.join(INTEGRATION, TEARDOWN)],
    ]
    down = [sys.executable, os.path.join(ROOT, "hack", "cluster", "cluster.py"), "down"]
    return Gate("integration-" + name, cmds, env, after=after, timeout=LANE_TIMEOUT, junit=[junit, junit + ".down"],
                cleanup=down)


def collect(args):
    out = subprocess.run([os.path.join(VENV_BIN, "python"), "-m", "pytest", "--collect-only", "-q",
                          "-p", "no:cacheprovider", "-m", "not teardown"] + args,
                         cwd=ROOT, capture_output=True, text=True)
    ids = [line.strip() for line in out.stdout.splitlines() if "::" in line]
    if out.returncode != 0 or not ids:
        sys.exit("gates.py: collecting %s failed:\n%s%s" % (" ".join(args), out.stdout[-2000:], out.stderr[-2000:]))
    return ids


def check_lanes():
    """Every integration test in exactly one lane."""
    every = collect([INTEGRATION])
    seen, problems = {}, []
    for name in LANES:
        for tid in collect(lane_args(name)):
            if tid in seen:
                problems.append("%s is in lanes %s and %s" % (tid, seen[tid], name))
            seen[tid] = name
    problems += ["%s is in no lane (add it to LANES in hack/gates.py)" % t for t in every if t not in seen]
    if problems:
        sys.exit("gates.py: " + "; ".join(problems))


def plan(what):
    unit = make("unit", PYTEST_ADDOPTS="--junitxml=%s" % os.path.join(WORK, "junit-unit.xml"))
    unit.junit = [os.path.join(WORK, "junit-unit.xml")]
    # galaxy-importer first: it gives ansible-lint a fixed 180 s, which the busiest part of the run
    # (every lane's tests at once) can exceed on two cores
    static = [make("galaxy-importer"), unit, make("sanity"), make("lint"), make("changelog-lint"),
              make("ee-test", name="ee")]  # ee: the EE build context in a temporary folder (tests/ee)
    if what == "check":
        return static  # all at once: nothing else competes for the cores
    # one after the other, beside the cluster build and the lanes
    for a, b in zip(static, static[1:]):
        b.after, b.after_any = [a.name], True  # after, whatever its outcome: they do not depend on each other
    # FLUID_VERSION's binaries and those of the release before it (the upgrade lane starts on it)
    build = Gate("cluster-build", [[sys.executable, os.path.join(ROOT, "hack", "cluster", "cluster.py"), "build"]],
                 clean_env(FLUID_CLUSTER_FLUID_VERSION="previous"))
    lanes = [lane_gate(name, after=[build.name]) for name in LANES]
    molecule = make("molecule", FLUID_CLUSTER_WORKDIR=os.path.relpath(os.path.join(WORK, "molecule"), ROOT))
    molecule.after = [build.name]
    molecule.timeout = LANE_TIMEOUT
    molecule.cleanup = [sys.executable, os.path.join(ROOT, "hack", "cluster", "cluster.py"), "down"]
    if what == "integration":
        return [build] + lanes
    for lane in lanes:
        if lane.name[len("integration-"):] in LANE_AFTER:
            lane.after, lane.after_any = lane.after + [LANE_AFTER[lane.name[len("integration-"):]]], True
    return [build] + static + lanes + [molecule]


def junit_cases(paths):
    """(seconds, test id, outcome) of every test case in JUnit XML files written by pytest."""
    out = []
    for path in paths:
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError):
            continue
        for case in root.iter("testcase"):
            outcome = "passed"
            for child in case:
                if child.tag in ("failure", "error"):
                    outcome = "failed"
                elif child.tag == "skipped":
                    outcome = "skipped"
            tid = "%s::%s" % (case.get("classname", "").rsplit(".", 1)[-1], case.get("name"))
            out.append((float(case.get("time") or 0), tid, outcome))
    return out


def tail(path, lines=120):
    try:
        with open(path, errors="replace") as fh:
            return "".join(fh.readlines()[-lines:])
    except OSError:
        return "(no log)"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["test", "check", "integration"])
    args = ap.parse_args()
    if args.what != "check":
        check_lanes()
    os.makedirs(LOGS, exist_ok=True)
    gates = plan(args.what)
    by_name = {g.name: g for g in gates}
    t0 = time.time()
    load0 = open("/proc/loadavg").read().split()[:3]
    lock = threading.Lock()
    threads = {}

    def runner(g):
        g.run()
        with lock:
            state = "passed" if g.rc == 0 else "FAILED (exit %s%s)" % (g.rc, ", " + g.note if g.note else "")
            print("== %s %s in %.0f s (log: %s)" % (g.name, state, g.seconds, os.path.relpath(g.log, ROOT)), flush=True)
            if g.rc != 0:
                print(tail(g.log), flush=True)

    def start(g):
        print("== %s started" % g.name, flush=True)
        threads[g.name] = threading.Thread(target=runner, args=(g,), daemon=True)
        threads[g.name].start()

    pending = list(gates)
    while pending or any(t.is_alive() for t in threads.values()):
        for g in list(pending):
            deps = [by_name[d] for d in g.after]
            if not all(d.ended for d in deps) and not all(d.rc == 0 for d in deps):
                continue  # wait for them
            if g.after_any or all(d.rc == 0 for d in deps):
                start(g)
            else:
                g.rc, g.note = "skipped", "a gate it needs failed"
                g.started = g.ended = time.time()
                print("== %s skipped: %s failed" % (g.name, ", ".join(d.name for d in deps if d.rc != 0)), flush=True)
            pending.remove(g)
        time.sleep(0.5)

    total = time.time() - t0
    load1 = open("/proc/loadavg").read().split()[:3]
    print("\n== timing: make %s, %s, %d cores, load %s -> %s" % (
        args.what, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t0)), os.cpu_count(), " ".join(load0), " ".join(load1)))
    print("| gate | start | time | result |")
    print("|---|---:|---:|---|")
    for g in gates:
        if g.started:
            print("| %s | +%d s | %d s | %s |" % (g.name, g.started - t0, g.seconds, "passed" if g.rc == 0 else
                                                 "failed" if g.rc != "skipped" else "skipped"))
    print("| **all** | | **%d s** | |" % total)
    def fresh(names):  # JUnit files this run wrote (an earlier run's stay behind)
        return [p for g in gates if g.name in names for p in (g.junit or [])
                if g.started and os.path.exists(p) and os.path.getmtime(p) >= t0]

    slow = junit_cases(fresh([g.name for g in gates if g.name.startswith("integration-")]))
    if slow:
        print("\nslowest integration tests:")
        print("| test | time |")
        print("|---|---:|")
        for secs, tid, _ in sorted(slow, reverse=True)[:10]:
            print("| %s | %d s |" % (tid, secs))
    cases = junit_cases(fresh([g.name for g in gates]))
    if cases:
        passed = sum(1 for c in cases if c[2] == "passed")
        failed = sum(1 for c in cases if c[2] == "failed")
        print("\ntests: %d passed, %d failed" % (passed, failed))
    failed_gates = [g.name for g in gates if g.rc != 0]
    if failed_gates:
        print("\nmake %s: FAILED: %s" % (args.what, ", ".join(failed_gates)))
        sys.exit(1)
    print("\nmake %s: all gates passed in %d s" % (args.what, total))


if __name__ == "__main__":
    main()
