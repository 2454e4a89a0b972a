#!/usr/bin/env python3
"""The embedded cluster: a real Kubernetes control plane without containers.

kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes),
etcd (go.etcd.io/etcd/server/v3), KWOK (fake kubelets for nodes and pods) and
Helm are built from the Go module proxy at the versions pinned in
hack/versions.env, cached under .cache/bin/<pins-hash>/, and wired together by
kwokctl's "binary" runtime. On top of that a supervisor (this file, `supervise`)
runs the HTTP fixtures, the Alluxio exec watcher, the CSI node plugin stand-in
(csi_standin.py) and the real Fluid controllers once Fluid's CRDs are
Established, restarting whatever crashes.

    cluster.py build     build (or reuse) every binary, print progress
    cluster.py up        build, start, wait for Ready (idempotent)
    cluster.py down      stop everything; no process or port is left
    cluster.py status    `key: value` lines other tools and tests read
    cluster.py restart-component NAME... [--down S] SIGKILL + restart (fault tests)
    cluster.py pause|resume CHILD                  SIGSTOP/SIGCONT a supervised child

Everything listens on 127.0.0.1 and logs to the work folder (.work/ or
$FLUID_CLUSTER_WORKDIR).
"""
import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time

import yaml

from gen_gomod import pins  # the one reader of hack/versions.env

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CACHE = os.environ.get("FLUID_CLUSTER_CACHE", os.path.join(ROOT, ".cache"))
# the cluster's folder; a relative FLUID_CLUSTER_WORKDIR is relative to the repository
WORK = os.path.join(ROOT, os.environ.get("FLUID_CLUSTER_WORKDIR") or ".work")
NAME = "fluid"
KWOK_HOME = os.path.join(WORK, "kwok")
CLUSTER_DIR = os.path.join(KWOK_HOME, "clusters", NAME)
KUBECONFIG = os.path.join(CLUSTER_DIR, "kubeconfig.yaml")
LOGS = os.path.join(WORK, "logs")
RUN = os.path.join(WORK, "run")
FLUID_NAMESPACE = "fluid-system"
# the (node, volume) pairs the CSI stand-in staged, as a kubelet keeps them on disk; one cluster's life
CSI_STANDIN_STATE = os.path.join(RUN, "csi-standin.json")


def log(msg):
    print(msg, flush=True)


def go_version():
    return subprocess.check_output(["go", "env", "GOVERSION"], text=True).strip()


def digest(*paths, extra=""):
    h = hashlib.sha256(extra.encode())
    for p in paths:
        with open(p, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()[:12]


class Layout:
    """Where the cached binaries and charts of the current pins live."""

    def __init__(self):
        self.pins = pins()
        gov = go_version()
        tools = os.path.join(HERE, "tools")
        fluid = os.path.join(HERE, "fluid")
        self.tools_dir = os.path.join(CACHE, "bin", "tools-%s-%s" % (
            self.pins["KUBERNETES_VERSION"], digest(
                os.path.join(tools, "go.mod"), os.path.join(tools, "go.sum"),
                os.path.join(tools, "etcd", "main.go"),
                extra=gov + BUILD_RECIPE + json.dumps(self.pins, sort_keys=True))))
        self.fluid_dir = os.path.join(CACHE, "bin", "fluid-%s-%s" % (
            self.pins["FLUID_VERSION"], digest(
                os.path.join(fluid, "go.mod"), os.path.join(fluid, "go.sum"),
                extra=gov + BUILD_RECIPE + self.pins["FLUID_VERSION"] + json.dumps(FLUID_BINARIES))))
        self.charts = os.path.join(CACHE, "charts", "fluid-" + self.pins["FLUID_VERSION"])

    def tool(self, name):
        if name == "kubectl":
            return self.kubectl()
        return os.path.join(self.tools_dir, name)

    def kubectl(self):
        built = os.path.join(self.tools_dir, "kubectl")
        if os.path.exists(built):
            return built
        return shutil.which("kubectl") or built

    @property
    def fluid_chart(self):
        return os.path.join(self.charts, "fluid", "fluid")


# --------------------------------------------------------------------------- build

# Bumped when the way binaries are built changes (flags, grouping): cached binaries are then rebuilt.
BUILD_RECIPE = "2"


def build_groups(lay):
    """[(module dir, output dir, ldflags, [(binary name, package, version)])]: one `go build` per Go module.

    Every binary of a module is built by one `go build -o DIR/ pkg...` so that Go compiles the shared
    packages once and links one binary while compiling the next (both cores busy). Version stamps
    (-X) of all binaries share one -ldflags: a -X for a package a binary does not link is ignored.
    -s -w drops the symbol table and DWARF (faster links; stack traces keep function names)."""
    p = lay.pins
    kube = p["KUBERNETES_VERSION"]
    major, minor = kube.lstrip("v").split(".")[:2]
    stamp = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        stamp += ["-X", "%s.gitVersion=%s" % (pkg, kube), "-X", "%s.gitMajor=%s" % (pkg, major),
                  "-X", "%s.gitMinor=%s" % (pkg, minor), "-X", "%s.gitTreeState=clean" % pkg,
                  "-X", "%s.buildDate=1970-01-01T00:00:00Z" % pkg]
    stamp += ["-X", "sigs.k8s.io/kwok/pkg/consts.Version=%s" % p["KWOK_VERSION"].lstrip("v"),
              "-X", "sigs.k8s.io/kwok/pkg/consts.KubeVersion=%s" % kube.lstrip("v"),
              "-X", "helm.sh/helm/v3/internal/version.version=%s" % p["HELM_VERSION"]]
    tools = [
        ("kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver", kube),
        ("kube-controller-manager", "k8s.io/kubernetes/cmd/kube-controller-manager", kube),
        ("kube-scheduler", "k8s.io/kubernetes/cmd/kube-scheduler", kube),
        ("etcd", "./etcd", p["ETCD_VERSION"]),
        ("kwok", "sigs.k8s.io/kwok/cmd/kwok", p["KWOK_VERSION"]),
        ("kwokctl", "sigs.k8s.io/kwok/cmd/kwokctl", p["KWOK_VERSION"]),
        ("helm", "helm.sh/helm/v3/cmd/helm", p["HELM_VERSION"]),
    ]
    if not shutil.which("kubectl"):
        tools.append(("kubectl", "k8s.io/kubernetes/cmd/kubectl", kube))
    fluid_ld = "-s -w -checklinkname=0 -X github.com/fluid-cloudnative/fluid.version=%s" % p["FLUID_VERSION"]
    fluid = [(name, "github.com/fluid-cloudnative/fluid/cmd/" + cmd, p["FLUID_VERSION"]) for name, cmd in FLUID_BINARIES]
    return [(os.path.join(HERE, "tools"), lay.tools_dir, "-s -w " + " ".join(stamp), tools),
            (os.path.join(HERE, "fluid"), lay.fluid_dir, fluid_ld, fluid)]


# Fluid's controllers the supervisor runs: (binary name, package under github.com/fluid-cloudnative/fluid/cmd/)
FLUID_BINARIES = [("dataset-controller", "dataset"), ("alluxioruntime-controller", "alluxio"),
                  ("juicefsruntime-controller", "juicefs"), ("thinruntime-controller", "thin")]


def build(args=None):
    lay = Layout()
    groups = build_groups(lay)
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=mod")
    t_all = time.time()
    for moddir, outdir, ldflags, binaries in groups:
        todo = [b for b in binaries if not os.path.exists(os.path.join(outdir, b[0]))]
        for name, _, version in binaries:
            if (name, _, version) not in todo:
                log("%s %s: cached (%s)" % (name, version, os.path.relpath(os.path.join(outdir, name), ROOT)))
        if not todo:
            continue
        log("building %s (a cold build takes minutes) ..." % ", ".join("%s %s" % (n, v) for n, _, v in todo))
        tmp = os.path.join(outdir, ".build")
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        t0 = time.time()
        cmd = ["go", "build", "-trimpath", "-ldflags", ldflags, "-o", tmp + os.sep] + [pkg for _, pkg, _ in todo]
        r = subprocess.run(cmd, cwd=moddir, env=env)
        if r.returncode != 0:
            sys.exit("build failed (exit %d): %s" % (r.returncode, " ".join(cmd)))
        for name, pkg, _ in todo:  # go names each binary after its package's last path element
            os.rename(os.path.join(tmp, pkg.rstrip("/").rsplit("/", 1)[-1]), os.path.join(outdir, name))
        os.rmdir(tmp)
        log("built %s in %.0f s" % (", ".join(n for n, _, _ in todo), time.time() - t0))
    # ddc-helm is the name Fluid's controllers call helm by.
    ddc = os.path.join(lay.fluid_dir, "ddc-helm")
    if not os.path.exists(ddc):
        os.symlink(lay.tool("helm"), ddc)
    log("Fluid %s charts: %s" % (lay.pins["FLUID_VERSION"], prepare_charts(lay)))
    log("build done in %.0f s" % (time.time() - t_all))
    return lay


def prepare_charts(lay):
    """Copy Fluid's charts out of the Go module (read-only) and restore the library copies."""
    if os.path.exists(os.path.join(lay.charts, ".done")):
        restore_library(lay.charts)  # caches prepared before the nested data-operation charts were handled
        return lay.charts
    info = json.loads(subprocess.check_output(
        ["go", "mod", "download", "-json", "github.com/fluid-cloudnative/fluid@" + lay.pins["FLUID_VERSION"]],
        cwd=os.path.join(HERE, "fluid")))
    shutil.rmtree(lay.charts, ignore_errors=True)
    shutil.copytree(os.path.join(info["Dir"], "charts"), lay.charts)
    for dirpath, dirnames, filenames in os.walk(lay.charts):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o644)
    restore_library(lay.charts)
    open(os.path.join(lay.charts, ".done"), "w").close()
    return lay.charts


def restore_library(charts):
    """Module zips drop symlinks: copy charts/library into every chart that depends on it
    (charts/alluxio, and nested ones such as fluid-dataloader/alluxio)."""
    lib = os.path.join(charts, "library")
    for dirpath, _, filenames in os.walk(charts):
        if "Chart.yaml" not in filenames or dirpath.startswith(lib):
            continue
        with open(os.path.join(dirpath, "Chart.yaml")) as fh:
            deps = (yaml.safe_load(fh) or {}).get("dependencies") or []
        target = os.path.join(dirpath, "charts", "library")
        if any(d.get("name") == "library" for d in deps) and not os.path.exists(target):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copytree(lib, target)


# --------------------------------------------------------------------------- helpers

def kubectl(lay, *args, check=True, capture=True, timeout=60, input=None):
    cmd = [lay.kubectl(), "--kubeconfig", KUBECONFIG] + list(args)
    r = subprocess.run(cmd, capture_output=capture, text=True, timeout=timeout, input=input)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd), (r.stderr or "").strip()))
    return r


def kwokctl(lay, *args, check=True, capture=False):
    env = dict(os.environ, KWOK_WORKDIR=KWOK_HOME)
    cmd = [lay.tool("kwokctl"), "--name", NAME] + list(args)
    r = subprocess.run(cmd, env=env, capture_output=capture, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed (exit %d)" % (" ".join(cmd), r.returncode))
    return r


def api_ready(lay):
    if not os.path.exists(KUBECONFIG):
        return False
    try:
        r = kubectl(lay, "get", "--raw", "/readyz", check=False, timeout=10)
    except subprocess.TimeoutExpired:
        return False
    return r.returncode == 0 and r.stdout.strip() == "ok"


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except (OSError, TypeError):
        return False


def read_pid(name):
    """The pid in WORK/run/<name>.pid, if that process is still this cluster's <name> (a pid file
    left by a cluster that was not brought down may name a pid the system gave to another process)."""
    try:
        pid = int(open(os.path.join(RUN, name + ".pid")).read().strip())
        cmdline = open("/proc/%d/cmdline" % pid, "rb").read().decode(errors="replace").split("\0")
        cwd = os.readlink("/proc/%d/cwd" % pid)
    except (OSError, ValueError):
        return None
    if name == "supervisor" and not ("supervise" in cmdline and cwd == ROOT and _env_of(pid) == WORK):
        return None
    return pid


def _env_of(pid):
    """FLUID_CLUSTER_WORKDIR in a process's environment ('' when unset or unreadable)."""
    try:
        env = open("/proc/%d/environ" % pid, "rb").read().decode(errors="replace").split("\0")
    except OSError:
        return ""
    return next((e.split("=", 1)[1] for e in env if e.startswith("FLUID_CLUSTER_WORKDIR=")), "")


# Ports of a cluster's components come from below the kernel's ephemeral range (32768-60999 by
# default): a component that restarts (the API server in a fault test, the controller-manager
# after losing its lease) must get its port back, and an ephemeral port is soon taken by some
# client connection on a busy machine ("bind: address already in use").
PORT_RANGE = (20000, 32000)


def free_port(taken=()):
    """A port free on 127.0.0.1, outside the ephemeral range (clusters start one at a time: ports_lock)."""
    for _ in range(500):
        port = random.randint(*PORT_RANGE)
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    sys.exit("no free port in %d-%d on 127.0.0.1" % PORT_RANGE)


# --------------------------------------------------------------------------- config

def kwok_stage_docs(lay):
    """KWOK's own default stages (node, pod, volume), read from the pinned module."""
    info = json.loads(subprocess.check_output(
        ["go", "mod", "download", "-json", "sigs.k8s.io/kwok@" + lay.pins["KWOK_VERSION"]],
        cwd=os.path.join(HERE, "tools")))
    base = os.path.join(info["Dir"], "kustomize", "stage")
    files = ["node/fast/node-initialize.yaml", "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
             "pod/fast/pod-ready.yaml", "pod/fast/pod-complete.yaml", "pod/fast/pod-delete.yaml",
             "volume/fast/pv-bind.yaml", "volume/fast/pv-delete.yaml",
             "volume/fast/pvc-provision.yaml", "volume/fast/pvc-delete.yaml"]
    docs = []
    for f in files:
        with open(os.path.join(base, f)) as fh:
            docs += [d for d in yaml.safe_load_all(fh) if d]
    return docs


def exec_docs():
    """KWOK exec mappings (hack/cluster/kwok/*.yaml): `kubectl exec` runs local commands."""
    docs = []
    folder = os.path.join(HERE, "kwok")
    for f in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if f.endswith(".yaml"):
            with open(os.path.join(folder, f)) as fh:
                text = fh.read().replace("${ROOT}", ROOT).replace("${WORK}", WORK)
            docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


LEADER_ELECTION = [{"key": "leader-elect", "value": "true"}, {"key": "leader-elect-lease-duration", "value": "30s"},
                   {"key": "leader-elect-renew-deadline", "value": "20s"},
                   {"key": "leader-elect-retry-period", "value": "4s"}]


def component_ports():
    """kwokctl's port options, each a distinct free port of PORT_RANGE."""
    names = ("kubeApiserverPort", "etcdPort", "etcdPeerPort", "kubeControllerManagerPort", "kubeSchedulerPort",
             "kwokControllerPort")
    ports = {}
    for name in names:
        ports[name] = free_port(taken=set(ports.values()))
    return ports


def write_kwokctl_config(lay):
    conf = {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokctlConfiguration",
        "options": {
            "runtime": "binary",
            "bindAddress": "127.0.0.1",
            **component_ports(),
            "kubeVersion": lay.pins["KUBERNETES_VERSION"],
            "kubeApiserverBinary": lay.tool("kube-apiserver"),
            "kubeControllerManagerBinary": lay.tool("kube-controller-manager"),
            "kubeSchedulerBinary": lay.tool("kube-scheduler"),
            "kwokControllerBinary": lay.tool("kwok"),
            "etcdBinary": lay.tool("etcd"),
            "kubectlBinary": lay.kubectl(),
            "nodeLeaseDurationSeconds": 40,
            "kubeAuthorization": True,
            # Exec/ClusterExec as API objects, so exec mappings can be added at run time
            "enableCRDs": ["Exec", "ClusterExec"],
        },
        "componentsPatches": [
            # nodes are fake: reach their kubelet API (KWOK) at 127.0.0.1, never by name
            {"name": "kube-apiserver", "extraArgs": [
                {"key": "kubelet-preferred-address-types", "value": "InternalIP"}]},
            # kube-controller-manager and kube-scheduler elect a leader, as on a real cluster: they
            # exit when an API server outage outlasts their lease renewal (a fresh start, not
            # minutes of back-off), and the supervisor restarts them as a kubelet restarts static
            # pods. The lease is twice the default (30 s, renewed within 20 s) so that two busy
            # cores starving the renewal for a few seconds do not make them exit.
            {"name": "kube-controller-manager", "extraArgs": LEADER_ELECTION},
            {"name": "kube-scheduler", "extraArgs": LEADER_ELECTION},
            # exec into a pod runs local commands found on kwok's PATH: the
            # simulators' commands come first (alluxio; juicefs, df, cat, ls, rm, mkdir: those
            # pass through to the real command for pods no simulator answers for)
            {"name": "kwok-controller", "extraArgs": [{"key": "node-ip", "value": "127.0.0.1"}],
             "extraEnvs": [{"name": "PATH", "value": os.pathsep.join(
                 [os.path.join(HERE, "alluxio_sim", "bin"), os.path.join(HERE, "juicefs_sim", "bin"),
                  os.environ.get("PATH", "/usr/bin:/bin")])}]},
        ],
    }
    path = os.path.join(WORK, "kwokctl.yaml")
    with open(path, "w") as fh:
        yaml.safe_dump_all([conf] + kwok_stage_docs(lay), fh, sort_keys=False)
    return path


def node_objects(extra_nodes=0, extra_gpu_every=0):
    with open(os.path.join(HERE, "nodes.yaml")) as fh:
        spec = yaml.safe_load(fh)
    defaults = spec.get("defaults", {})
    items = list(spec["nodes"])
    ex = spec.get("extra", {})
    for i in range(extra_nodes):
        gpu = extra_gpu_every and i % extra_gpu_every == 0
        items.append({
            "name": "%s%04d" % (ex.get("name_prefix", "kwok-node-"), i),
            "labels": dict(ex.get("labels", {}), **(ex.get("gpu_labels", {}) if gpu else {})),
            "capacity": ex.get("gpu_capacity", {}) if gpu else {},
        })
    out = []
    for n in items:
        cap = dict(defaults.get("capacity", {}), **n.get("capacity", {}))
        labels = {"kubernetes.io/hostname": n["name"], "kubernetes.io/os": "linux",
                  "kubernetes.io/arch": "amd64", "type": "kwok"}
        labels.update(n.get("labels", {}))
        out.append({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": n["name"], "labels": labels,
                         "annotations": {"kwok.x-k8s.io/node": "fake",
                                         "node.alpha.kubernetes.io/ttl": "0"}},
            "spec": {},
            "status": {"capacity": cap, "allocatable": cap,
                       "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                                     {"type": "Hostname", "address": n["name"]}]},
        })
    return out


def apply_nodes(lay, extra_nodes=0, extra_gpu_every=0):
    nodes = node_objects(extra_nodes, extra_gpu_every)
    # create only: re-applying would reset labels a user (or a test) changed
    existing = set(kubectl(lay, "get", "nodes", "-o", "name").stdout.split())
    todo = [n for n in nodes if "node/" + n["metadata"]["name"] not in existing]
    for i in range(0, len(todo), 200):
        doc = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": todo[i:i + 200]})
        kubectl(lay, "create", "-f", "-", input=doc, timeout=300)
    return len(nodes)


# --------------------------------------------------------------------------- up / down

@contextlib.contextmanager
def ports_lock():
    """Serialises the start of clusters on this machine: kwokctl picks each component's port by
    binding port 0 and letting it go, so two clusters starting at the same instant could pick the
    same port. Once a cluster's components run, they hold their ports."""
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, "cluster-start.lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def up(args):
    lay = Layout()
    os.makedirs(LOGS, exist_ok=True)
    os.makedirs(RUN, exist_ok=True)
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
            "kubernetes-version": lay.pins["KUBERNETES_VERSION"], "fluid-version": lay.pins["FLUID_VERSION"]}
    with open(os.path.join(WORK, "cluster.json"), "w") as fh:
        json.dump(info, fh, indent=1)


def ensure_supervisor(lay):
    pid = read_pid("supervisor")
    if pid and pid_alive(pid):
        return
    logf = open(os.path.join(LOGS, "supervisor.log"), "ab")
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "supervise"],
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
              os.path.relpath(CSI_STANDIN_STATE, WORK)):
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
             ("fluid-chart", lay.fluid_chart), ("charts", lay.charts), ("workdir", WORK), ("logs", LOGS)]
    sup = {}
    try:
        sup = json.load(open(os.path.join(RUN, "supervisor.json")))
    except (OSError, ValueError):
        pass
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


# --------------------------------------------------------------------------- faults

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok-controller")


def component_pid(name):
    """pid of a control-plane component kwokctl runs (kube-apiserver, etcd, ...), from its pid file."""
    try:
        return int(open(os.path.join(CLUSTER_DIR, "pids", name + ".pid")).read().strip())
    except (OSError, ValueError):
        return None


def proc_state(pid):
    """The one-letter state of a process (R, S, T for stopped, Z for a zombie), None when gone."""
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError, TypeError):
        return None


def restart_component(args):
    """SIGKILL control-plane components (a crash, no graceful shutdown), keep them down for --down
    seconds, then start them again the way kwokctl does (`kwokctl start cluster` starts every
    component whose pid is not running, with the command line saved in kwok.yaml)."""
    lay = Layout()
    t0 = time.time()
    for name in args.component:
        pid = component_pid(name)
        if not pid or not pid_alive(pid):
            sys.exit("%s is not running (no live pid in %s)" % (name, os.path.join(CLUSTER_DIR, "pids")))
        os.kill(pid, signal.SIGKILL)
        while proc_state(pid) not in (None, "Z"):
            if time.time() - t0 > 30:
                sys.exit("%s (pid %d) did not die after SIGKILL" % (name, pid))
            time.sleep(0.05)
        # a zombie still answers kill(pid, 0), which is kwokctl's "is it running": without its pid
        # file kwokctl starts it again however long the zombie waits for its reaper
        try:
            os.remove(os.path.join(CLUSTER_DIR, "pids", name + ".pid"))
        except OSError:
            pass
        log("killed %s (pid %d) in %.1f s" % (name, pid, time.time() - t0))
    time.sleep(args.down)
    start_components(lay)
    log("%s restarted (pid %s); API ready %.1f s after the kill" % (
        ", ".join(args.component), ", ".join(str(component_pid(n)) for n in args.component), time.time() - t0))


def start_components(lay, args=None):
    """Start every control-plane component that is not running (kwokctl start cluster), wait for the API."""
    with ports_lock():
        kwokctl(lay, "start", "cluster", "--timeout", "120s", "--wait", "120s", capture=True)
    deadline = time.time() + 120
    while not api_ready(lay):
        if time.time() > deadline:
            sys.exit("kube-apiserver not ready 120 s after `kwokctl start cluster`; see %s" % CLUSTER_DIR)
        time.sleep(0.2)
    down = [n for n in COMPONENTS if proc_state(component_pid(n)) in (None, "Z")]
    if down:
        sys.exit("not running after `kwokctl start cluster`: %s" % ", ".join(down))


def supervised_pid(name):
    try:
        sup = json.load(open(os.path.join(RUN, "supervisor.json")))
    except (OSError, ValueError):
        sup = {}
    child = (sup.get("children") or {}).get(name)
    if child is None:
        sys.exit("no supervised child %r (known: %s)" % (name, ", ".join(sorted((sup.get("children") or {})))))
    if not child.get("pid") or not pid_alive(child["pid"]):
        sys.exit("%s is not running (state %s)" % (name, child.get("state")))
    return child["pid"]


def pause(args):
    """SIGSTOP a supervised child: the process stays (the supervisor sees nothing to restart) but does
    nothing -- a hung controller, as a deadlocked or CPU-starved pod would be. `resume` SIGCONTs it."""
    pid = supervised_pid(args.child)
    os.kill(pid, signal.SIGSTOP)
    deadline = time.time() + 10
    while proc_state(pid) != "T" and time.time() < deadline:
        time.sleep(0.05)
    log("%s (pid %d) paused" % (args.child, pid))


def resume(args):
    pid = supervised_pid(args.child)
    os.kill(pid, signal.SIGCONT)
    log("%s (pid %d) resumed" % (args.child, pid))


# --------------------------------------------------------------------------- supervisor

class Child:
    def __init__(self, name, cmd, env=None, ready=None):
        self.name, self.cmd, self.env, self.ready = name, cmd, env, ready
        self.proc, self.restarts, self.state, self.started = None, 0, "Waiting", 0.0

    def start(self):
        logf = open(os.path.join(LOGS, self.name + ".log"), "ab")
        self.proc = subprocess.Popen(self.cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=self.env, cwd=WORK)
        self.state, self.started = "Running", time.time()

    def poll(self):
        if self.proc is None:
            return
        if self.proc.poll() is not None:
            self.restarts += 1
            self.state = "CrashLoop"
            with open(os.path.join(LOGS, self.name + ".log"), "a") as fh:
                fh.write("\n[supervisor] %s exited with %s; restarting (%d)\n"
                         % (self.name, self.proc.returncode, self.restarts))
            self.proc = None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def fluid_crds_established(lay):
    """Kinds of the data.fluid.io CRDs that are Established (empty when the API is not reachable)."""
    r = kubectl(lay, "get", "crd", "-o", "json", check=False, timeout=20)
    if r.returncode != 0:
        return set()
    crds = [c for c in json.loads(r.stdout)["items"] if c["spec"]["group"] == "data.fluid.io"]
    return {c["spec"]["names"]["kind"] for c in crds if any(
        cond["type"] == "Established" and cond["status"] == "True"
        for cond in (c.get("status") or {}).get("conditions") or [])}


def fluid_home(lay):
    """$HOME for Fluid's controllers: they read charts from $HOME/charts/<runtime>."""
    home = os.path.join(WORK, "fluid-home")
    os.makedirs(home, exist_ok=True)
    link = os.path.join(home, "charts")
    if os.path.islink(link) and os.readlink(link) != lay.charts:
        os.remove(link)
    if not os.path.exists(link):
        os.symlink(lay.charts, link)
    return home


def supervise(args):
    lay = Layout()
    os.makedirs(LOGS, exist_ok=True)
    # one port for the cluster's life: datasets keep its URL in their mount points
    port_file = os.path.join(RUN, "fixtures.port")
    try:
        fixtures_port = int(open(port_file).read())
    except (OSError, ValueError):
        fixtures_port = free_port()
        with open(port_file, "w") as fh:
            fh.write(str(fixtures_port))
    base_env = dict(os.environ, KUBECONFIG=KUBECONFIG)
    # Fluid re-reconciles a runtime every 90 s (FLUID_RUNTIME_RECONCILE_DURATION) and syncs
    # its status at most every 15 s (chart value runtime.syncRetryDuration); both are
    # shortened here so status follows changes within seconds. Documented in the README.
    fluid_env = dict(base_env, MY_POD_NAMESPACE=FLUID_NAMESPACE, HELM_DRIVER="configmap",
                     FLUID_RUNTIME_RECONCILE_DURATION="5", FLUID_RUNTIME_RECONCILE_DURATION_OFFSET="1",
                     FLUID_SYNC_RETRY_DURATION="5s",
                     HOME=fluid_home(lay),
                     PATH=os.pathsep.join([lay.fluid_dir, lay.tools_dir, os.environ.get("PATH", "")]))
    seen = {"at": 0.0, "kinds": set()}

    def crds_of(*kinds):
        """A child's readiness: its CRDs Established (one CRD list per supervisor pass)."""
        def ready():
            if time.time() - seen["at"] > 1:
                seen["kinds"], seen["at"] = fluid_crds_established(lay), time.time()
            return {"Dataset", "DataLoad"} | set(kinds) <= seen["kinds"]
        return ready
    crds_ready = crds_of("AlluxioRuntime")

    # MOUNT_ROOT as the chart sets it (runtime.mountRoot): JuiceFS and Thin put their FUSE mount
    # points under it, and its absence makes them fall back on paths the CSI plugin would not use
    mount_root_env = dict(fluid_env, MOUNT_ROOT="/runtime-mnt")

    children = [
        Child("fixtures-server", [sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                           "--directory", os.path.join(HERE, "fixtures"), str(fixtures_port)], base_env),
        Child("dataset-controller", [os.path.join(lay.fluid_dir, "dataset-controller"), "start",
                                     "--development=false", "--metrics-addr=127.0.0.1:0"],
              fluid_env, ready=crds_ready),
        # bitmap: Fluid's collision-free host-port policy (chart value runtime.alluxio.portAllocatePolicy;
        # default random). On two nodes, random ports shared by two runtimes left a worker pinned to
        # one node Pending for good ("didn't have free ports"); documented in the README.
        Child("alluxioruntime-controller", [os.path.join(lay.fluid_dir, "alluxioruntime-controller"), "start",
                                            "--development=false", "--metrics-addr=127.0.0.1:0",
                                            "--port-allocate-policy=bitmap"],
              fluid_env, ready=crds_ready),
        # the chart enables these with runtime.juicefs.enabled / runtime.thin.enabled (role fluid:
        # fluid_runtimes_enabled); here they run whenever their CRDs are Established
        Child("juicefsruntime-controller", [os.path.join(lay.fluid_dir, "juicefsruntime-controller"), "start",
                                            "--development=false", "--metrics-addr=127.0.0.1:0",
                                            "--port-allocate-policy=bitmap"],
              mount_root_env, ready=crds_of("JuiceFSRuntime")),
        Child("thinruntime-controller", [os.path.join(lay.fluid_dir, "thinruntime-controller"), "start",
                                         "--development=false", "--metrics-addr=127.0.0.1:0"],
              mount_root_env, ready=crds_of("ThinRuntime", "ThinRuntimeProfile")),
    ]
    # gives each Alluxio master pod a KWOK Exec that routes `alluxio ...` to the simulator
    children.append(Child("exec-watcher", [
        sys.executable, os.path.join(HERE, "simlib", "exec_watcher.py"), "--kubeconfig", KUBECONFIG,
        "--work-dir", WORK, "--interval", "1"], base_env))
    # labels a node fluid.io/f-<ns>-<dataset> while a pod there uses the Dataset's PVC, as Fluid's
    # CSI node plugin does on NodeStageVolume/NodeUnstageVolume: the FUSE DaemonSet selects that label
    children.append(Child("csi-node-standin", [
        sys.executable, os.path.join(HERE, "csi_standin.py"), "--kubeconfig", KUBECONFIG,
        "--state-file", CSI_STANDIN_STATE, "--cert-dir", os.path.join(WORK, "csi-standin"),
        "--interval", "1"], base_env))
    stopping = []

    def on_term(*_):
        stopping.append(1)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    kubelet = KubeletStandIn(lay)

    def report():
        data = {"fixtures": "http://127.0.0.1:%d" % fixtures_port,
                "children": {c.name: {"pid": c.proc.pid if c.proc else None, "state": c.state,
                                      "restarts": c.restarts} for c in children},
                "component_restarts": kubelet.restarts}
        tmp = os.path.join(RUN, "supervisor.json.tmp")
        with open(tmp, "w") as fh:
            json.dump(data, fh)
        os.replace(tmp, os.path.join(RUN, "supervisor.json"))

    last_check = 0.0
    while not stopping:
        for step in (lambda: supervise_once(children, last_check, stopping), kubelet.poll):
            try:
                last_check = step() or last_check
            except Exception as e:  # a hiccup (API restarting, ...) must not end supervision
                log("[supervisor] %s: %s" % (type(e).__name__, e))
            report()  # before the kubelet stand-in's restart, which may take a while
        time.sleep(0.5)
    for c in children:
        c.stop()
    log("supervisor stopped")


class KubeletStandIn(object):
    """Restarts kube-controller-manager and kube-scheduler when they exit, as the kubelet restarts
    a real cluster's static control-plane pods (with back-off). Both exit by design when an API
    server outage outlasts their leader-election lease. kube-apiserver and etcd are left to
    whoever stopped them (cluster.py restart-component controls the outages of fault tests)."""

    NAMES = ("kube-controller-manager", "kube-scheduler")

    def __init__(self, lay):
        self.lay = lay
        self.restarts = {}  # name -> restarts in the cluster's life (cluster-status shows them)
        self.failures = {}  # name -> restarts since it last ran a minute: the back-off
        self.started = {}
        self.last_start = 0.0

    def poll(self):
        now = time.time()
        down = [n for n in self.NAMES if proc_state(component_pid(n)) in (None, "Z")]
        for n in self.NAMES:
            if n not in down and now - self.started.get(n, 0) > 60:
                self.failures[n] = 0
        if not down or not os.path.isdir(CLUSTER_DIR):
            return
        if now - self.last_start < min(30, 2 ** max(self.failures.get(n, 0) for n in down)):
            return  # back off, as the kubelet does
        self.last_start = now
        for n in down:
            self.restarts[n] = self.restarts.get(n, 0) + 1
            self.failures[n] = self.failures.get(n, 0) + 1
            self.started[n] = now
        log("[supervisor] %s exited; starting it again (kwokctl start cluster)" % ", ".join(down))
        with ports_lock():  # not beside another `kwokctl start cluster` (restart-component)
            kwokctl(self.lay, "start", "cluster", "--timeout", "60s", capture=True, check=False)


def supervise_once(children, last_check, stopping):
    """One pass: restart what exited, start what became ready to start.
    Readiness checks (an API call) run at most every 2 s."""
    ready_cache = {}
    for c in children:
        c.poll()
        if c.proc is not None or stopping:
            continue
        if c.ready is not None:
            if time.time() - last_check < 2:
                continue
            if c.ready not in ready_cache:
                ready_cache[c.ready] = c.ready()
            if not ready_cache[c.ready]:
                c.state = "Waiting" if not c.restarts else "CrashLoop"
                continue
        if c.restarts and time.time() - c.started < min(30, 2 ** c.restarts):
            continue  # back off
        c.start()
    if ready_cache:
        last_check = time.time()
    return last_check


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("build").set_defaults(fn=build)
    u = sub.add_parser("up")
    u.add_argument("--extra-nodes", type=int, default=int(os.environ.get("FLUID_CLUSTER_EXTRA_NODES", "0")))
    u.add_argument("--extra-gpu-every", type=int, default=2)
    u.set_defaults(fn=up)
    sub.add_parser("down").set_defaults(fn=down)
    s = sub.add_parser("status")
    s.add_argument("--require-ready", action="store_true")
    s.set_defaults(fn=status)
    sub.add_parser("supervise").set_defaults(fn=supervise)
    sub.add_parser("ports", help="TCP ports the cluster's processes listen on").set_defaults(fn=ports)
    r = sub.add_parser("restart-component", help="SIGKILL control-plane components, then start them as kwokctl does")
    r.add_argument("component", choices=COMPONENTS, nargs="+")
    r.add_argument("--down", type=float, default=0.0, help="seconds to keep them down before restarting")
    r.set_defaults(fn=restart_component)
    sub.add_parser("apply-nodes", help="create the nodes of nodes.yaml that are missing (after a test deleted one)"
                   ).set_defaults(fn=lambda a: log("%d node(s) in nodes.yaml" % apply_nodes(Layout())))
    sub.add_parser("start-components", help="start control-plane components that are not running").set_defaults(
        fn=lambda a: start_components(Layout(), a))
    for name, fn in (("pause", pause), ("resume", resume)):
        p = sub.add_parser(name, help="SIGSTOP/SIGCONT a supervised child (e.g. alluxioruntime-controller)")
        p.add_argument("child")
        p.set_defaults(fn=fn)
    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
