"""What every command of the driver uses: kubectl and kwokctl on this cluster, whether the API
is ready, the processes of the cluster (pid_alive; read_pid, which checks that a pid file's
process is still this cluster's; component_pid and proc_state for the control-plane components
kwokctl runs) and its ports (PORT_RANGE, free_port, ports_lock which serialises cluster starts on
the machine).
"""
import contextlib
import fcntl
import os
import random
import socket
import subprocess
import sys

from .paths import CACHE, CLUSTER_DIR, KUBECONFIG, KWOK_HOME, NAME, ROOT, RUN, WORK


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
