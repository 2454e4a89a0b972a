"""Faults for the fault tests: `restart-component` SIGKILLs control-plane components, keeps
them down a while and starts them again as kwokctl does (`start-components`, start_components);
`pause` and `resume` SIGSTOP and SIGCONT a child of the supervisor (a hung controller).
"""
import json
import os
import signal
import sys
import time

from .build import Layout
from .helpers import api_ready, component_pid, kwokctl, pid_alive, ports_lock, proc_state
from .paths import CLUSTER_DIR, RUN, log


COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok-controller")


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
