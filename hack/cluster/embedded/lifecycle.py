"""Bringing the cluster up and down and reporting on it: `up` (build, create or start the
cluster under ports_lock, nodes, base manifests, execs, the supervisor started as `cluster.py
supervise`, WORK/cluster.json), `down` (supervisor, kwokctl, leftover processes of the work folder,
then checks that no process and no listening port is left), `ports` and `status` (the `key: value`
lines tests and tools read).
"""
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import yaml

from .build import START_VERSION_FILE, Layout, build
from .config import apply_nodes, exec_docs, write_kwokctl_config
from .helpers import api_ready, kubectl, kwokctl, pid_alive, ports_lock, proc_state, read_pid
from .paths import CLUSTER_DIR, CSI_STANDIN_STATE, DRIVER, HERE, KUBECONFIG, LOGS, NAME, ROOT, RUN, WORK, log


def up(args):
    lay = Layout()
    os.makedirs(LOGS, exist_ok=True)
    os.makedirs(RUN, exist_ok=True)
    try:
        created_on = open(START_VERSION_FILE).read().strip()
    except OSError:
        created_on = None
    if created_on and created_on != lay.fluid.version:
        sys.exit("cluster %r was created on Fluid %s, not %s (FLUID_CLUSTER_FLUID_VERSION): bring it down first"
                 % (NAME, created_on, lay.fluid.version))
    done = os.path.join(RUN, "up.done")
    if api_ready(lay) and os.path.exists(done):
        log("cluster %r is already running (kubeconfig: %s); nothing to do" % (NAME, KUBECONFIG))
        ensure_supervisor(lay)
        write_info(lay)
        if args.extra_nodes:
            apply_nodes(lay, args.extra_nodes, args.extra_gpu_every)
        return
    lay = build()
    t0 = time.time()
    with ports_lock():
        if api_ready(lay):
            log("cluster %r is running but its set-up did not finish; finishing it" % NAME)
        elif os.path.isdir(CLUSTER_DIR):
            log("starting the existing cluster %r" % NAME)
            kwokctl(lay, "start", "cluster", "--timeout", "120s", "--wait", "120s")
        else:
            log("creating cluster %r in %s (binary runtime, 127.0.0.1 only)" % (NAME, WORK))
            with contextlib.suppress(OSError):  # left by a cluster that was not brought down
                os.remove(CSI_STANDIN_STATE)
            with open(START_VERSION_FILE, "w") as fh:  # the supervisor's first controllers, status, cluster.json
                fh.write(lay.fluid.version)
            conf = write_kwokctl_config(lay)
            kwokctl(lay, "create", "cluster", "--config", conf, "--kubeconfig", os.path.join(WORK, "kubeconfig"),
                    "--timeout", "180s", "--wait", "180s", "--quiet-pull")
        deadline = time.time() + 120
        while not api_ready(lay):
            if time.time() > deadline:
                sys.exit("kube-apiserver did not become ready; see %s" % CLUSTER_DIR)
            time.sleep(0.5)
        n = apply_nodes(lay, args.extra_nodes, args.extra_gpu_every)
        # KWOK marks nodes Ready one by one: allow 120 s plus 0.3 s per node (1000 extra nodes under load)
        node_wait = 120 + int(0.3 * n)
        kubectl(lay, "wait", "--for=condition=Ready", "node", "--all", "--timeout=%ds" % node_wait, timeout=node_wait + 30)
        kubectl(lay, "apply", "-f", os.path.join(HERE, "manifests", "base.yaml"))
        kubectl(lay, "apply", "-f", "-", input=yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": exec_docs()}))
        ensure_supervisor(lay)
        write_info(lay)
        open(done, "w").close()
    log("cluster %r Ready with %d nodes in %.1f s" % (NAME, n, time.time() - t0))
    log("kubeconfig: %s" % KUBECONFIG)


def write_info(lay):
    """WORK/cluster.json: the facts inventories read (inventories/local/group_vars)."""
    sup = json.load(open(os.path.join(RUN, "supervisor.json")))
    info = {"kubeconfig": KUBECONFIG, "helm": lay.tool("helm"), "kubectl": lay.kubectl(),
            "fluid-chart": lay.fluid_chart, "fixtures": sup["fixtures"],
            "kubernetes-version": lay.pins["KUBERNETES_VERSION"], "fluid-version": lay.fluid.version,
            # every release's chart this cluster can run (the one it started on and FLUID_VERSION's), for upgrades
            "fluid-charts": {v: r.chart for v, r in sorted(lay.fluid_releases.items()) if r.built()}}
    with open(os.path.join(WORK, "cluster.json"), "w") as fh:
        json.dump(info, fh, indent=1)


def ensure_supervisor(lay):
    pid = read_pid("supervisor")
    if pid and pid_alive(pid):
        return
    logf = open(os.path.join(LOGS, "supervisor.log"), "ab")
    p = subprocess.Popen([sys.executable, DRIVER, "supervise"],
                         stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True, cwd=ROOT, env=dict(os.environ, FLUID_CLUSTER_WORKDIR=WORK))
    with open(os.path.join(RUN, "supervisor.pid"), "w") as fh:
        fh.write(str(p.pid))
    # wait until it reported its children once (its first pass starts the fixtures server)
    deadline = time.time() + 120
    while not os.path.exists(os.path.join(RUN, "supervisor.json")):
        if time.time() > deadline or not pid_alive(p.pid):
            sys.exit("the supervisor did not start in 120 s; see %s" % os.path.join(LOGS, "supervisor.log"))
        time.sleep(0.2)


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def down(args):
    lay = Layout()
    pid = read_pid("supervisor")
    owners = cluster_processes()
    if pid and pid_alive(pid):
        owners[pid] = "supervisor"
    ports_before = listening_ports(owners)
    if pid and pid_alive(pid):
        os.killpg(pid, signal.SIGTERM)
        for _ in range(100):
            if not pid_alive(pid):
                break
            time.sleep(0.1)
        else:
            os.killpg(pid, signal.SIGKILL)
    for f in ("run/supervisor.pid", "run/supervisor.json", "run/up.done", "run/fixtures.port", "cluster.json",
              os.path.relpath(CSI_STANDIN_STATE, WORK), os.path.relpath(START_VERSION_FILE, WORK)):
        try:
            os.remove(os.path.join(WORK, f))
        except OSError:
            pass
    if os.path.isdir(CLUSTER_DIR) and os.path.exists(lay.tool("kwokctl")):
        kwokctl(lay, "delete", "cluster", check=False)
    shutil.rmtree(CLUSTER_DIR, ignore_errors=True)
    left = stop_leftovers()
    if left:
        sys.exit("processes of the cluster still running after cluster-down: %s" % left)
    # a process that is exiting may hold its sockets a moment longer: wait until they are closed
    deadline = time.time() + 15
    still = [p for p in ports_before if port_open(p)]
    while still and time.time() < deadline:
        time.sleep(0.2)
        still = [p for p in still if port_open(p)]
    if still:
        sys.exit("ports of the cluster still listening after cluster-down: %s" % still)
    log("cluster %r is down; no process of it is left" % NAME)


def cluster_processes():
    """{pid: cmdline} of every process started for this cluster: kwokctl runs the control plane
    in the cluster's folder, the supervisor runs its children in the work folder."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cwd = os.readlink("/proc/%s/cwd" % pid)
            cmd = open("/proc/%s/cmdline" % pid, "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cwd == WORK or cwd.startswith(WORK + os.sep):
            out[int(pid)] = cmd[:160]
    return out


def stop_leftovers(grace=5.0):
    """Terminate processes of the cluster that outlived their parent (a supervisor killed -9,
    say): SIGTERM, then SIGKILL after the grace period. Returns those still alive."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = cluster_processes()
        for pid in left:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.time() + grace
        while left and time.time() < deadline:
            time.sleep(0.1)
            left = {p: c for p, c in left.items() if pid_alive(p)}
        if not left:
            return {}
    return cluster_processes()


def listening_ports(pids):
    """TCP ports in LISTEN state owned by the given processes."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir("/proc/%d/fd" % pid):
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            if f[3] == "0A" and f[9] in inodes:
                ports.add(int(f[1].rsplit(":", 1)[1], 16))
    return sorted(ports)


def ports(args):
    procs = cluster_processes()
    sup = read_pid("supervisor")
    if sup and pid_alive(sup):
        procs[sup] = "supervisor"
    for p in listening_ports(procs):
        print(p)


# --------------------------------------------------------------------------- status

def status(args):
    lay = Layout()
    lines = [("kubeconfig", KUBECONFIG), ("helm", lay.tool("helm")), ("kubectl", lay.kubectl()),
             ("fluid-chart", lay.fluid_chart), ("charts", lay.fluid.charts), ("fluid-version", lay.fluid.version)]
    # the chart of every Fluid release this cluster can run, e.g. fluid-chart-v1.0.0 (upgrade tests)
    lines += [("fluid-chart-" + v, r.chart) for v, r in sorted(lay.fluid_releases.items()) if r.built()]
    lines += [("workdir", WORK), ("logs", LOGS)]
    sup = {}
    try:
        sup = json.load(open(os.path.join(RUN, "supervisor.json")))
    except (OSError, ValueError):
        pass
    if sup.get("fluid-controllers"):  # the release whose controllers the supervisor runs
        lines.append(("fluid-controllers", sup["fluid-controllers"]))
    if sup.get("fixtures"):
        lines.append(("fixtures", sup["fixtures"]))
    ready = api_ready(lay)
    lines.append(("cluster", "Ready" if ready else ("Stopped" if not os.path.isdir(CLUSTER_DIR) else "NotReady")))
    if os.path.isdir(CLUSTER_DIR) and os.path.exists(lay.tool("kwokctl")):
        r = kwokctl(lay, "get", "components", "-o", "wide", check=False, capture=True)
        restarts = sup.get("component_restarts") or {}
        for row in r.stdout.splitlines()[1:]:
            parts = row.split()
            if len(parts) >= 2:
                lines.append((parts[0], parts[1] + (" (restarts: %d)" % restarts[parts[0]]
                                                    if restarts.get(parts[0]) else "")))
    sp = read_pid("supervisor")
    lines.append(("supervisor", "Running" if sp and pid_alive(sp) else "Stopped"))
    for name, st in sorted(sup.get("children", {}).items()):
        sup_alive = sp and pid_alive(sp)
        alive = sup_alive and st.get("pid") and pid_alive(st["pid"])
        state = st.get("state", "?") if alive or (sup_alive and st.get("state") == "Waiting") else "Stopped"
        if alive and proc_state(st["pid"]) == "T":
            state = "Paused"
        if st.get("restarts"):
            state += " (restarts: %d)" % st["restarts"]
        lines.append((name, state))
    for k, v in lines:
        print("%s: %s" % (k, v))
    if args.require_ready and not ready:
        sys.exit(1)
