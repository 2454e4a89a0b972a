"""The supervisor (`cluster.py supervise`, started by `up` in a session of its own): runs the HTTP
fixtures server, Fluid's controllers once their CRDs are Established, the Alluxio exec watcher
and the CSI node plugin stand-in as Children, restarting whatever exits (with back-off); restarts
kube-controller-manager and kube-scheduler as a kubelet restarts static pods (KubeletStandIn);
and reports every child's pid, state and restarts in WORK/run/supervisor.json.

Fluid's controllers are the binaries of the release that is installed: the image tag of the
dataset-controller Deployment in fluid-system (v1.0.0-31f5433 -> v1.0.0). When a Helm upgrade
changes it, the supervisor stops the controllers and starts the new release's, as a real cluster
rolls the Deployments' pods (FluidChild.switch). Without that Deployment (Fluid's CRDs applied
alone, or Fluid uninstalled) they stay on the last release installed, at first the cluster's own.
"""
import json
import os
import signal
import subprocess
import sys
import time

from .build import Layout
from .helpers import component_pid, free_port, kubectl, kwokctl, ports_lock, proc_state
from .paths import CLUSTER_DIR, CSI_STANDIN_STATE, FLUID_NAMESPACE, HERE, KUBECONFIG, LOGS, RUN, WORK, log

from simlib.kubeapi import KubeClient, KubeConfig, KubeError  # hack/cluster is on sys.path (cluster.py)


class Child:
    def __init__(self, name, cmd, env=None, ready=None):
        self.name, self.cmd, self.env, self.ready = name, cmd, env, ready
        self.proc, self.restarts, self.state, self.started = None, 0, "Waiting", 0.0
        self.failures = 0  # exits since it last ran a minute: the back-off (restarts counts the cluster's life)

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
            # as the kubelet resets a container's back-off once it ran a while: a controller that exits when
            # it loses its leader-election Lease (fluid-system deleted by an uninstall) starts again promptly
            self.failures = 1 if time.time() - self.started > 60 else self.failures + 1
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


class FluidChild(Child):
    """One of Fluid's controllers, run from the binaries of one Fluid release (`release`)."""

    def __init__(self, name, args, env, ready, release, lay):
        self.args, self.base_env, self.lay = args, env, lay
        Child.__init__(self, name, None, None, ready)
        self.use(release)

    def use(self, release):
        self.release = release
        self.cmd = [os.path.join(release.bin_dir, self.name)] + self.args
        self.env = dict(self.base_env, HOME=fluid_home(release), PATH=os.pathsep.join(
            [release.bin_dir, self.lay.tools_dir, os.environ.get("PATH", "")]))

    def switch(self, release):
        """The Deployments now run another release: stop this controller, start that release's."""
        with open(os.path.join(LOGS, self.name + ".log"), "a") as fh:
            fh.write("\n[supervisor] Fluid's Deployments run %s now: stopping the %s controller, starting %s's\n"
                     % (release.version, self.release.version, release.version))
        self.stop()
        self.proc, self.restarts = None, 0
        self.use(release)
        if self.state != "Waiting":
            self.start()


def fluid_crds_established(lay):
    """Kinds of the data.fluid.io CRDs that are Established (empty when the API is not reachable)."""
    r = kubectl(lay, "get", "crd", "-o", "json", check=False, timeout=20)
    if r.returncode != 0:
        return set()
    crds = [c for c in json.loads(r.stdout)["items"] if c["spec"]["group"] == "data.fluid.io"]
    return {c["spec"]["names"]["kind"] for c in crds if any(
        cond["type"] == "Established" and cond["status"] == "True"
        for cond in (c.get("status") or {}).get("conditions") or [])}


class InstalledImage:
    """The image of the dataset-controller Deployment in fluid-system (None without one), read at most
    every 2 s over one kept-alive connection (no kubectl process: it runs for the cluster's life)."""

    def __init__(self):
        self.client, self.at, self.image = None, 0.0, None

    def get(self):
        if time.time() - self.at < 2:
            return self.image
        self.at = time.time()
        try:
            if self.client is None:
                self.client = KubeClient(KubeConfig(KUBECONFIG, cert_dir=os.path.join(RUN, "supervisor-certs")))
            d = self.client.get_or_none("/apis/apps/v1/namespaces/%s/deployments/dataset-controller" % FLUID_NAMESPACE)
        except (KubeError, OSError, ValueError):
            return self.image  # the API restarting: keep the last answer
        containers = (d or {}).get("spec", {}).get("template", {}).get("spec", {}).get("containers") or [{}]
        self.image = containers[0].get("image") if d else None
        return self.image


def image_release(lay, image):
    """The Fluid release of a controller image (fluidcloudnative/dataset-controller:v1.0.0-31f5433:
    the chart's image tag is the release's appVersion), or None when no release of ours has that tag."""
    if not image or ":" not in image.rsplit("/", 1)[-1]:
        return None
    return lay.release_of(image.rsplit(":", 1)[1])


def fluid_home(release):
    """$HOME for Fluid's controllers: they read charts from $HOME/charts/<runtime>."""
    home = os.path.join(WORK, "fluid-home", release.version)
    os.makedirs(home, exist_ok=True)
    link = os.path.join(home, "charts")
    if os.path.islink(link) and os.readlink(link) != release.charts:
        os.remove(link)
    if not os.path.exists(link):
        os.symlink(release.charts, link)
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
    # HOME (the release's charts) and PATH (its ddc-helm) are set per release by FluidChild
    fluid_env = dict(base_env, MY_POD_NAMESPACE=FLUID_NAMESPACE, HELM_DRIVER="configmap",
                     FLUID_RUNTIME_RECONCILE_DURATION="5", FLUID_RUNTIME_RECONCILE_DURATION_OFFSET="1",
                     FLUID_SYNC_RETRY_DURATION="5s")
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
    # leader election as Fluid's chart runs every controller (charts/fluid/fluid/templates/controller/
    # *_controller.yaml: --enable-leader-election --leader-election-namespace=fluid-system): each holds the
    # Lease fluid-system/<id>.data.fluid.io of its cmd/<runtime>/app/*.go (LeaderElectionID) and renews it every
    # 2 s (controller-runtime v0.17.5 defaults: lease 15 s, renew deadline 10 s). A paused or stopped controller
    # stops renewing, so its Lease goes stale as on a real cluster; a restarted one leads once the old Lease
    # expired. A controller that cannot renew within 10 s exits, and is restarted below.
    elect = ["--enable-leader-election", "--leader-election-namespace=" + FLUID_NAMESPACE]

    children = [
        Child("fixtures-server", [sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                           "--directory", os.path.join(HERE, "fixtures"), str(fixtures_port)], base_env),
        FluidChild("dataset-controller", ["start", "--development=false", "--metrics-addr=127.0.0.1:0"] + elect,
                   fluid_env, crds_ready, lay.fluid, lay),
        # bitmap: Fluid's collision-free host-port policy (chart value runtime.alluxio.portAllocatePolicy;
        # default random). On two nodes, random ports shared by two runtimes left a worker pinned to
        # one node Pending for good ("didn't have free ports"); documented in the README.
        FluidChild("alluxioruntime-controller", ["start", "--development=false", "--metrics-addr=127.0.0.1:0",
                                                 "--port-allocate-policy=bitmap"] + elect,
                   fluid_env, crds_ready, lay.fluid, lay),
        # the chart enables these with runtime.juicefs.enabled / runtime.thin.enabled (role fluid:
        # fluid_runtimes_enabled); here they run whenever their CRDs are Established
        FluidChild("juicefsruntime-controller", ["start", "--development=false", "--metrics-addr=127.0.0.1:0",
                                                 "--port-allocate-policy=bitmap"] + elect,
                   mount_root_env, crds_of("JuiceFSRuntime"), lay.fluid, lay),
        FluidChild("thinruntime-controller", ["start", "--development=false", "--metrics-addr=127.0.0.1:0"] + elect,
                   mount_root_env, crds_of("ThinRuntime", "ThinRuntimeProfile"), lay.fluid, lay),
    ]
    fluid_children = [c for c in children if isinstance(c, FluidChild)]
    installed = {"release": lay.fluid, "unknown": None}
    deployment_image = InstalledImage()

    def follow_installed_release():
        """Run the controllers of the release Helm installed (the dataset-controller Deployment's image)."""
        image = deployment_image.get()
        release = image_release(lay, image)
        if image and release is None and image != installed["unknown"]:
            installed["unknown"] = image
            log("[supervisor] the dataset-controller Deployment runs %s, a release this cluster has no binaries of "
                "(it has %s); keeping Fluid %s" % (image, ", ".join(sorted(lay.fluid_releases)),
                                                  installed["release"].version))
        if release is None or release is installed["release"]:
            return
        if not release.built():
            log("[supervisor] the dataset-controller Deployment runs Fluid %s, whose binaries are not built "
                "(FLUID_CLUSTER_FLUID_VERSION=%s cluster.py build); keeping Fluid %s"
                % (release.version, release.version, installed["release"].version))
            installed["unknown"] = image
            return
        log("[supervisor] the dataset-controller Deployment runs Fluid %s now (was %s): switching the controllers"
            % (release.version, installed["release"].version))
        installed["release"] = release
        for c in fluid_children:
            c.switch(release)
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
                "fluid-controllers": installed["release"].version,
                "children": {c.name: {"pid": c.proc.pid if c.proc else None, "state": c.state,
                                      "restarts": c.restarts} for c in children},
                "component_restarts": kubelet.restarts}
        tmp = os.path.join(RUN, "supervisor.json.tmp")
        with open(tmp, "w") as fh:
            json.dump(data, fh)
        os.replace(tmp, os.path.join(RUN, "supervisor.json"))

    last_check = 0.0
    while not stopping:
        for step in (follow_installed_release, lambda: supervise_once(children, last_check, stopping), kubelet.poll):
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
        if c.failures and time.time() - c.started < min(30, 2 ** c.failures):
            continue  # back off
        c.start()
    if ready_cache:
        last_check = time.time()
    return last_check
