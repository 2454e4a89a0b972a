#!/usr/bin/env python3
"""cloudnative.fluid benchmarks on the embedded cluster (issue 10): `make bench` -> bench/RESULTS.md.

Sections (--only picks some; raw data goes to bench/out/, which git ignores):

  wait    Bound -> return latency of cloudnative.fluid.dataset (watch) vs kubectl wait (watch) vs
          kubernetes.core.k8s_info until/retries (delay 3 s) vs a 3 s poll loop (the Fluid Python
          SDK's way), for 1 and for 50 Datasets. All four contenders wait on the SAME Datasets at
          the same time; the harness stamps "Bound written" when its own watch delivers the event.
  labels  1000 KWOK nodes, 500 GPU: one node_labels task vs `kubectl label nodes -l` vs a
          kubernetes.core.k8s loop over 50 nodes (reported per node), the same 500 nodes each.
  scale   100 Datasets and runtimes created and awaited by one playbook (a dataset task and a
          runtime task with wait_for=bound) vs the controllers' own bind time (first runtime
          created -> last Bound).
  site    cluster warm start (down, up: a fresh seed cluster), then playbooks/site.yml's first run
          on it and its idempotent re-run.
  fleet   three embedded clusters side by side (hack/cluster/fleet.py): site.yml's first run on all
          three, then idempotent re-runs on one of them and on all three in one run (one inventory).

    FLUID_CLUSTER_WORKDIR=.work-bench python bench/run.py [--runs 5] [--only wait,labels] [--keep-cluster]

No timing is asserted anywhere; the numbers are reported as measured, with the machine's load.
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import node_labels_hook as hook  # noqa: E402  (bench/ is not a package)
import stats as S  # noqa: E402

DRIVER, VENV_BIN, COLLECTIONS = hook.DRIVER, hook.VENV_BIN, hook.COLLECTIONS
OUT = os.path.join(HERE, "out")
GROUP, VERSION = "data.fluid.io", "v1alpha1"
RUN_LABEL = "bench.cloudnative.fluid/run"
POLL_DELAY = 3

def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def loadavg():
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def ansible_adhoc(module, args):
    return [os.path.join(VENV_BIN, "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-m", module] + (
        ["-a", json.dumps(args)] if args else []) + ["-e", "ansible_python_interpreter=" + sys.executable]


def run_json(cmd, timeout=1800):
    """Run an ansible command with the json callback; return (wall seconds, first task's host result, task)."""
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=hook.ansible_env(), timeout=timeout)
    wall = time.monotonic() - t0
    task, res = hook.first_task(proc, " ".join(cmd[:6]))
    return wall, res, task


# ------------------------------------------------------------------------------------------- cluster

class Cluster(object):
    def __init__(self):
        st = hook.cluster_status()
        self.status = st
        self.kubeconfig, self.kubectl = st["kubeconfig"], st.get("kubectl", "kubectl")
        self.fixtures = st["fixtures"]
        from kubernetes import client, config
        self.api = config.new_client_from_config(config_file=self.kubeconfig)
        self.custom = client.CustomObjectsApi(self.api)

    def kc(self, *args, check=True, timeout=300):
        proc = subprocess.run([self.kubectl, "--kubeconfig", self.kubeconfig] + list(args), capture_output=True,
                              text=True, timeout=timeout)
        if check and proc.returncode:
            raise RuntimeError("kubectl %s: %s" % (" ".join(args), proc.stderr))
        return proc.stdout

    def ensure_fluid_crds(self):
        self.kc("apply", "--server-side", "--force-conflicts", "-f", os.path.join(self.status["fluid-chart"], "crds"))
        self.kc("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
        self.kc("create", "namespace", "fluid-system", check=False)
        deadline = time.time() + 180
        while time.time() < deadline:
            st = hook.cluster_status()
            if all(st.get(c, "").startswith("Running") for c in ("dataset-controller", "alluxioruntime-controller")):
                return
            time.sleep(1)
        raise RuntimeError("Fluid controllers are not running: %s" % {k: v for k, v in st.items() if "controller" in k})

    def namespace(self, name):
        self.kc("create", "namespace", name)
        return name

    def drop(self, ns, timeout):
        """Delete runtimes, then Datasets, wait (bounded, not timed) until the Datasets are gone, drop the namespace."""
        for plural in ("alluxioruntimes", "datasets"):
            self.kc("-n", ns, "delete", plural, "--all", "--wait=false", check=False)
        deadline = time.time() + timeout
        while time.time() < deadline:
            left = self.custom.list_namespaced_custom_object(GROUP, VERSION, ns, "datasets")["items"]
            if not left:
                break
            time.sleep(2)
        self.kc("delete", "namespace", ns, "--wait=false", check=False)

    def create_runtimes(self, ns, names):
        for n in names:
            self.custom.create_namespaced_custom_object(GROUP, VERSION, ns, "alluxioruntimes", {
                "apiVersion": "%s/%s" % (GROUP, VERSION), "kind": "AlluxioRuntime",
                "metadata": {"name": n, "namespace": ns},
                "spec": {"replicas": 1, "tieredstore": {"levels": [
                    {"mediumtype": "MEM", "path": "/dev/shm", "quota": "1Gi", "high": "0.95", "low": "0.7"}]}}})

    def dataset_items(self, ns, names, run):
        return [{"name": n, "labels": {RUN_LABEL: run},
                 "mounts": [{"name": "hadoop", "mount_point": self.fixtures + "/hadoop/"}]} for n in names]


class Stamper(object):
    """The harness's own watch on the Datasets (or another Fluid plural) of one namespace: when each
    was first seen (ADDED) and when the event that shows phase Bound arrived (monotonic clock of
    this process)."""

    def __init__(self, cluster, ns, plural="datasets"):
        from kubernetes import watch
        self.cluster, self.ns, self.plural, self.watch = cluster, ns, plural, watch.Watch()
        self.added, self.bound, self.bound_wall, self.lock = {}, {}, {}, threading.Lock()
        self.stopped = False
        listing = cluster.custom.list_namespaced_custom_object(GROUP, VERSION, ns, plural)
        self.rv = listing["metadata"]["resourceVersion"]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped:
            try:
                for ev in self.watch.stream(self.cluster.custom.list_namespaced_custom_object, GROUP, VERSION, self.ns,
                                            self.plural, resource_version=self.rv, timeout_seconds=300):
                    now, wall = time.monotonic(), time.time()
                    obj = ev["object"]
                    name = obj["metadata"]["name"]
                    self.rv = obj["metadata"].get("resourceVersion", self.rv)
                    with self.lock:
                        self.added.setdefault(name, now)
                        if (obj.get("status") or {}).get("phase") == "Bound" and ev["type"] != "DELETED":
                            self.bound.setdefault(name, now)
                            self.bound_wall.setdefault(name, wall)
                    if self.stopped:
                        return
            except Exception as e:  # pylint: disable=broad-except
                if self.stopped:
                    return
                log("stamper watch restarted: %s" % e)
                time.sleep(0.2)

    def last_bound(self, names, grace=0.0):
        """When the last of names was seen Bound (None if one was not, after up to `grace` s more)."""
        deadline = time.monotonic() + grace
        while True:
            with self.lock:
                if all(n in self.bound for n in names):
                    return max(self.bound[n] for n in names)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.1)

    def last_bound_wall(self, names):
        with self.lock:
            return max(self.bound_wall[n] for n in names)

    def stop(self):
        self.stopped = True
        self.watch.stop()


class Contender(object):
    """A process whose exit is stamped by a thread blocked in wait()."""

    def __init__(self, name, cmd):
        self.name, self.cmd = name, cmd
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=hook.ansible_env())
        self.end, self.out, self.err = None, "", ""
        self.thread = threading.Thread(target=self._wait, daemon=True)
        self.thread.start()

    def _wait(self):
        self.out, self.err = self.proc.communicate()
        self.end = time.monotonic()

    def join(self, timeout):
        self.thread.join(timeout)
        if self.end is None:
            self.proc.kill()
            self.thread.join(5)
            raise RuntimeError("%s did not return within %ss" % (self.name, timeout))
        if self.proc.returncode:
            raise RuntimeError("%s failed (rc %s): %s %s" % (self.name, self.proc.returncode, self.out[-2000:], self.err[-2000:]))
        return self.end


class PollLoop(object):
    """The Fluid Python SDK's way: read the Datasets, sleep 3 s, until all are Bound (in-process)."""

    def __init__(self, cluster, ns, names, run, delay=POLL_DELAY):
        self.end, self.error, self.polls = None, None, 0
        self.thread = threading.Thread(target=self._run, args=(cluster, ns, set(names), run, delay), daemon=True)
        self.thread.start()

    def _run(self, cluster, ns, names, run, delay):
        try:
            deadline = time.monotonic() + 1800
            while time.monotonic() < deadline:
                self.polls += 1
                items = cluster.custom.list_namespaced_custom_object(GROUP, VERSION, ns, "datasets",
                                                                     label_selector="%s=%s" % (RUN_LABEL, run))["items"]
                bound = {i["metadata"]["name"] for i in items if (i.get("status") or {}).get("phase") == "Bound"}
                if names <= bound:
                    self.end = time.monotonic()
                    return
                time.sleep(delay)
        except Exception as e:  # pylint: disable=broad-except
            self.error = e

    def join(self, timeout):
        self.thread.join(timeout)
        if self.end is None:
            raise RuntimeError("poll loop: %s" % (self.error or "no result"))
        return self.end


K8S_INFO_PLAYBOOK = """---
- name: Wait until every Dataset of the run is Bound (kubernetes.core.k8s_info until/retries)
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Poll the Datasets
      kubernetes.core.k8s_info:
        kubeconfig: "{{ kubeconfig }}"
        api_version: data.fluid.io/v1alpha1
        kind: Dataset
        namespace: "{{ ns }}"
        label_selectors: ["{{ selector }}"]
      register: ds
      until: >-
        ds.resources | length == count | int and
        (ds.resources | selectattr('status', 'defined') | map(attribute='status')
         | selectattr('phase', 'defined') | selectattr('phase', 'equalto', 'Bound') | list | length) == count | int
      retries: 600
      delay: "{{ delay | int }}"
"""


def wait_run(cl, count, run, settle):
    """One run of section 1: create the Datasets, start the contenders, then the runtimes."""
    ns = cl.namespace("bench-%s" % run)
    names = ["ds-%03d" % i for i in range(count)] if count > 1 else ["ds"]
    stamper = Stamper(cl, ns)
    items = cl.dataset_items(ns, names, run)
    try:
        run_json(ansible_adhoc("cloudnative.fluid.dataset", {"kubeconfig": cl.kubeconfig, "namespace": ns,
                                                             "wait": False, "datasets": items}))
        tmp = tempfile.mkdtemp(prefix="bench-k8s-info-", dir=OUT)
        pb = os.path.join(tmp, "k8s_info.yml")
        with open(pb, "w") as fh:
            fh.write(K8S_INFO_PLAYBOOK)
        contenders = {
            "cloudnative.fluid.dataset": Contender("module", ansible_adhoc("cloudnative.fluid.dataset", {
                "kubeconfig": cl.kubeconfig, "namespace": ns, "wait": True, "wait_timeout": 1500, "datasets": items})),
            "kubectl wait": Contender("kubectl wait", [cl.kubectl, "--kubeconfig", cl.kubeconfig, "-n", ns, "wait",
                                                       "--for=jsonpath={.status.phase}=Bound", "--timeout=1500s"]
                                      + ["dataset/" + n for n in names]),
            "k8s_info until (delay 3 s)": Contender("k8s_info", [
                os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", pb, "-e", json.dumps({
                    "kubeconfig": cl.kubeconfig, "ns": ns, "selector": "%s=%s" % (RUN_LABEL, run), "count": count,
                    "delay": POLL_DELAY, "ansible_python_interpreter": sys.executable})]),
            "3 s poll (Fluid SDK way)": PollLoop(cl, ns, names, run),
        }
        time.sleep(settle)  # every contender is started and waiting before any runtime exists
        t_runtime = time.monotonic()
        cl.create_runtimes(ns, names)
        ends = {k: c.join(1800) for k, c in contenders.items()}
        bound = stamper.last_bound(names, grace=10)
        if bound is None:
            raise RuntimeError("the harness did not see every Dataset Bound: %s" % sorted(set(names) - set(stamper.bound)))
        module_task = json.loads(contenders["cloudnative.fluid.dataset"].out)["plays"][0]["tasks"][0]
        module_res = module_task["hosts"]["localhost"]
        # the json callback stamps the task's end (UTC wall clock) when the controller has the module's result
        task_end = hook.epoch(module_task["task"]["duration"]["end"])
        bound_wall = stamper.last_bound_wall(names)
        row = {"run": run, "count": count, "bind_seconds": bound - t_runtime,
               "latency": {k: e - bound for k, e in ends.items()},
               "module_result_at_controller": task_end - bound_wall,
               "module_process_exit_after_result": ends["cloudnative.fluid.dataset"] - bound - (task_end - bound_wall),
               "module_wait_seconds_max": max(d.get("wait_seconds") or 0 for d in module_res["datasets"]),
               "k8s_info_attempts": _attempts(contenders["k8s_info until (delay 3 s)"].out),
               "poll_reads": contenders["3 s poll (Fluid SDK way)"].polls, "loadavg": loadavg()}
        return row
    finally:
        stamper.stop()
        cl.drop(ns, timeout=120 if count == 1 else 300)


def _attempts(out):
    try:
        return json.loads(out)["plays"][0]["tasks"][0]["hosts"]["localhost"].get("attempts")
    except (ValueError, KeyError, IndexError):
        return None


def ansible_start_cost(runs):
    """What a no-op costs: `ansible localhost -m ansible.builtin.ping`, process start to exit."""
    out = []
    for _ in range(runs):
        wall, _res, _t = run_json(ansible_adhoc("ansible.builtin.ping", None))
        out.append(wall)
    return out


def section_wait(cl, args, results):
    results["ansible_noop"] = ansible_start_cost(args.runs)
    log("ansible no-op (ping) process: median %.2f s" % S.summary(results["ansible_noop"])["median"])
    for count, runs in ((1, args.runs), (50, args.runs_50)):
        if runs < 1:
            continue
        rows = results.setdefault("wait_%d" % count, [])
        for i in range(runs):
            row = wait_run(cl, count, "w%d-%d-%d" % (count, i, int(time.time()) % 100000), args.settle)
            rows.append(row)
            log("wait %d datasets run %d/%d: bind %.1f s; Bound->return %s" % (
                count, i + 1, runs, row["bind_seconds"],
                ", ".join("%s %.2f s" % (k, v) for k, v in row["latency"].items())))


# ------------------------------------------------------------------------------------------- labels

K8S_LOOP_PLAYBOOK = """---
- name: Label nodes one by one (kubernetes.core.k8s loop)
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Patch each node
      kubernetes.core.k8s:
        kubeconfig: "{{ kubeconfig }}"
        state: patched
        definition:
          apiVersion: v1
          kind: Node
          metadata:
            name: "{{ item }}"
            labels: "{{ {label_key: label_value} }}"
      loop: "{{ nodes }}"
"""


def time_k8s_loop(cl, nodes, label_value):
    tmp = tempfile.mkdtemp(prefix="bench-k8s-loop-", dir=OUT)
    pb = os.path.join(tmp, "loop.yml")
    with open(pb, "w") as fh:
        fh.write(K8S_LOOP_PLAYBOOK)
    wall, res, task = run_json([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", pb, "-e", json.dumps({
        "kubeconfig": cl.kubeconfig, "nodes": nodes, "label_key": hook.LABEL, "label_value": label_value,
        "ansible_python_interpreter": sys.executable})])
    changed = sum(1 for r in res.get("results", []) if r.get("changed"))
    if changed != len(nodes):
        raise RuntimeError("the k8s loop changed %d of %d nodes" % (changed, len(nodes)))
    return {"process_seconds": wall, "task_seconds": hook.task_seconds(task), "nodes": len(nodes)}


def cpu_children():
    import resource
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def with_cpu(fn, *a, **kw):
    """fn's result dict plus `cpu_seconds`: user+sys CPU of the processes it ran (and their children)."""
    c0 = cpu_children()
    out = fn(*a, **kw)
    out["cpu_seconds"] = cpu_children() - c0
    return out


def section_labels(cl, args, results):
    gpu_nodes = cl.kc("get", "nodes", "-l", hook.GPU_SELECTOR, "-o", "name").split()
    results["labels_setup"] = {"nodes": results["meta"]["nodes"], "gpu_nodes": len(gpu_nodes),
                               "parallel": args.parallel}
    log("labels: %(nodes)d nodes, %(gpu_nodes)d GPU" % results["labels_setup"])
    rows = results.setdefault("labels", [])
    for i in range(args.runs_labels):
        hook.clear_label(cl.kubeconfig, cl.kubectl)
        ours = with_cpu(hook.time_node_labels, cl.kubeconfig, label_value="run-%d" % i, parallel=args.parallel)
        hook.clear_label(cl.kubeconfig, cl.kubectl)
        log("labels run %d: node_labels task %.2f s (process %.2f s, %d changed)" % (
            i + 1, ours["task_seconds"], ours["process_seconds"], ours["changed"]))
        theirs = with_cpu(hook.time_kubectl_label, cl.kubeconfig, cl.kubectl, label_value="run-%d" % i)
        log("labels run %d: kubectl label %.2f s (%d changed)" % (i + 1, theirs["process_seconds"], theirs["changed"]))
        if not ours["changed"] == theirs["changed"] == len(gpu_nodes):
            raise RuntimeError("node_labels changed %d nodes, kubectl %d, of %d GPU nodes: not the same work" % (
                ours["changed"], theirs["changed"], len(gpu_nodes)))
        row = {"node_labels": ours, "kubectl": theirs, "loadavg": loadavg()}
        if i < args.runs_loop:
            hook.clear_label(cl.kubeconfig, cl.kubectl)
            row["k8s_loop"] = with_cpu(time_k8s_loop, cl, [n.split("/", 1)[1] for n in gpu_nodes[:args.loop_nodes]], "run-%d" % i)
            log("labels run %d: k8s loop task %.2f s for %d nodes" % (
                i + 1, row["k8s_loop"]["task_seconds"], row["k8s_loop"]["nodes"]))
        rows.append(row)
    hook.clear_label(cl.kubeconfig, cl.kubectl)


# ------------------------------------------------------------------------------------------- scale

SCALE_PLAYBOOK = """---
- name: Many Datasets and their runtimes, created and awaited
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Datasets (validated together, written, not awaited)
      cloudnative.fluid.dataset:
        kubeconfig: "{{ kubeconfig }}"
        namespace: "{{ ns }}"
        wait: false
        datasets: "{{ datasets }}"
    - name: Runtimes, awaited until every Dataset is Bound
      cloudnative.fluid.runtime:
        kubeconfig: "{{ kubeconfig }}"
        namespace: "{{ ns }}"
        wait_for: bound
        wait_timeout: "{{ wait_timeout | int }}"
        runtimes: "{{ runtimes }}"
"""


def section_scale(cl, args, results):
    count = args.scale
    run = "s%d-%d" % (count, int(time.time()) % 100000)
    ns = cl.namespace("bench-" + run)
    names = ["ds-%03d" % i for i in range(count)]
    stamper, runtimes_seen = Stamper(cl, ns), Stamper(cl, ns, "alluxioruntimes")
    tmp = tempfile.mkdtemp(prefix="bench-scale-", dir=OUT)
    pb = os.path.join(tmp, "scale.yml")
    with open(pb, "w") as fh:
        fh.write(SCALE_PLAYBOOK)
    runtimes = [{"name": n, "replicas": 1, "tiered_store": [{"medium": "MEM", "path": "/dev/shm", "quota": "1Gi",
                                                              "high": 0.95, "low": 0.7}]} for n in names]
    log("scale: %d Datasets and runtimes in one playbook (one dataset task, one runtime task)" % count)
    try:
        t0 = time.monotonic()
        proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", pb, "-e", json.dumps({
            "kubeconfig": cl.kubeconfig, "ns": ns, "datasets": cl.dataset_items(ns, names, run), "runtimes": runtimes,
            "wait_timeout": args.scale_timeout, "ansible_python_interpreter": sys.executable})], capture_output=True, text=True,
            env=hook.ansible_env(), timeout=1800)
        end = time.monotonic()
        if proc.returncode:
            raise RuntimeError("scale playbook failed: %s %s" % (proc.stdout[-3000:], proc.stderr[-2000:]))
        tasks = json.loads(proc.stdout)["plays"][0]["tasks"]
        bound = stamper.last_bound(names, grace=10)
        if bound is None:
            raise RuntimeError("the harness did not see every Dataset Bound: %s" % sorted(set(names) - set(stamper.bound)))
        first_dataset = min(stamper.added[n] for n in names if n in stamper.added)
        first_runtime = min(runtimes_seen.added[n] for n in names if n in runtimes_seen.added)
        results["scale"] = {"count": count, "wall_seconds": end - t0, "bind_seconds": bound - first_runtime,
                            "ansible_before_first_create": first_dataset - t0,
                            "datasets_before_first_runtime": first_runtime - first_dataset,
                            "return_after_last_bound": end - bound,
                            "task_seconds": [hook.task_seconds(t) for t in tasks], "loadavg": loadavg()}
        log("scale: playbook %.1f s; controllers' bind time (first runtime created -> last Bound) %.1f s" % (
            end - t0, bound - first_runtime))
    finally:
        stamper.stop()
        runtimes_seen.stop()
        cl.drop(ns, timeout=300)


# ------------------------------------------------------------------------------------------- site

RECAP = re.compile(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)")


def site_run():
    t0 = time.monotonic()
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "inventories/local", "playbooks/site.yml"],
                          capture_output=True, text=True, env=hook.ansible_env(ANSIBLE_STDOUT_CALLBACK="default"),
                          cwd=ROOT, timeout=1800)
    wall = time.monotonic() - t0
    with open(os.path.join(OUT, "site-%d.log" % int(time.time())), "w") as fh:
        fh.write(proc.stdout + proc.stderr)
    m = RECAP.search(proc.stdout)
    if proc.returncode or not m:
        raise RuntimeError("site.yml failed (rc %s): %s" % (proc.returncode, proc.stdout[-3000:]))
    ok, changed, _unreachable, _failed, skipped = (int(x) for x in m.groups())
    return {"wall_seconds": wall, "ok": ok, "changed": changed, "skipped": skipped}


def timed(cmd):
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t0


def section_site(cl, args, results):
    """Last section: `down` and `up` leave a fresh cluster with the seed's nodes and no Fluid (what a
    first run meets); site.yml then runs on it twice."""
    down = timed([sys.executable, DRIVER, "down"])
    up = timed([sys.executable, DRIVER, "up"])
    results["warm_start"] = {"down_seconds": down, "up_seconds": up,
                             "nodes": len(Cluster().kc("get", "nodes", "-o", "name").split())}
    log("cluster down %.1f s, warm up (cached binaries, seed's nodes) %.1f s" % (down, up))
    first = site_run()
    log("site.yml first run: %(wall_seconds).1f s, ok=%(ok)d changed=%(changed)d" % first)
    again = site_run()
    log("site.yml re-run: %(wall_seconds).1f s, ok=%(ok)d changed=%(changed)d" % again)
    results["site"] = {"first": first, "rerun": again}


FLEET_NAMES = ("east", "west", "north")
FLEET_TOOL = os.path.join(ROOT, "hack", "cluster", "fleet.py")


def fleet_site_run(inventory):
    """site.yml on every host of INVENTORY: wall seconds and each host's recap."""
    t0 = time.monotonic()
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", inventory, "playbooks/site.yml",
                           "-e", "status_report_file=%s" % os.path.join(OUT, "fleet-status.html")],
                          capture_output=True, text=True, env=hook.ansible_env(ANSIBLE_STDOUT_CALLBACK="default"),
                          cwd=ROOT, timeout=3600)
    wall = time.monotonic() - t0
    with open(os.path.join(OUT, "fleet-site-%d.log" % int(time.time())), "w") as fh:
        fh.write(proc.stdout + proc.stderr)
    recap = {m.group(1): {k: int(v) for k, v in (kv.split("=") for kv in m.group(2).split())}
             for m in re.finditer(r"^(\S+)\s+:\s+(ok=.*)$", proc.stdout, re.M)}
    if proc.returncode or not recap:
        raise RuntimeError("site.yml on %s failed (rc %s): %s" % (inventory, proc.returncode, proc.stdout[-3000:]))
    return {"wall_seconds": wall, "hosts": len(recap), "changed": sum(r["changed"] for r in recap.values())}


def section_fleet(cl, args, results):
    """Three clusters of their own (FLUID_FLEET_WORKDIR=.work-bench-fleet), brought up and down here."""
    env = dict(os.environ, FLUID_FLEET_WORKDIR=os.path.relpath(os.path.join(ROOT, ".work-bench-fleet"), ROOT))
    env.pop("FLUID_CLUSTER_WORKDIR", None)
    fleet_dir = os.path.join(ROOT, env["FLUID_FLEET_WORKDIR"])
    try:
        t0 = time.monotonic()
        subprocess.run([sys.executable, FLEET_TOOL, "up"] + list(FLEET_NAMES), env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        up = time.monotonic() - t0
        three = os.path.join(fleet_dir, "inventory")
        one = os.path.join(fleet_dir, "inventory-one")
        sys.path.insert(0, os.path.dirname(FLEET_TOOL))
        import fleet as F  # pylint: disable=import-outside-toplevel
        F.FLEET = fleet_dir
        F.write_inventory({FLEET_NAMES[0]: os.path.join(fleet_dir, FLEET_NAMES[0])}, one)
        first = fleet_site_run(three)
        log("fleet: up %.0f s; site.yml first run on 3 clusters %.1f s" % (up, first["wall_seconds"]))
        runs_one, runs_three = [], []
        for _ in range(max(1, min(args.runs, 3))):
            runs_one.append(with_cpu(fleet_site_run, one))
            runs_three.append(with_cpu(fleet_site_run, three))
        one_s = S.median_of([r["wall_seconds"] for r in runs_one])
        three_s = S.median_of([r["wall_seconds"] for r in runs_three])
        # The anchor: the ratio the CPU alone sets when the three runs share the machine's cores perfectly (three
        # times one run's Ansible CPU seconds, over the cores, against one run's wall time; the clusters' own
        # API servers and controllers come on top).
        one_cpu = S.median_of([r["cpu_seconds"] for r in runs_one])
        cores = os.cpu_count() or 1
        floor = max(1.0, 3 * one_cpu / cores / one_s)
        log("fleet: re-run on 1 cluster %.1f s (%.1f s CPU), on 3 clusters %.1f s (x%.2f; CPU floor on %d cores x%.2f)"
            % (one_s, one_cpu, three_s, three_s / one_s, cores, floor))
        results["fleet"] = {"up_seconds": up, "first": first, "rerun_one": runs_one, "rerun_three": runs_three,
                            "one_seconds": one_s, "three_seconds": three_s, "ratio": three_s / one_s,
                            "one_cpu_seconds": one_cpu, "cores": cores, "cpu_floor_ratio": floor}
    finally:
        subprocess.run([sys.executable, FLEET_TOOL, "down"], env=env, cwd=ROOT, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ------------------------------------------------------------------------------------------- report

def versions(cl):
    v = {"python": platform.python_version()}
    try:
        import ansible.release
        v["ansible-core"] = ansible.release.__version__
    except ImportError:
        pass
    try:
        import ansible_collections.kubernetes.core as kc
        with open(os.path.join(list(kc.__path__)[0], "MANIFEST.json")) as fh:
            v["kubernetes.core"] = json.load(fh)["collection_info"]["version"]
    except (ImportError, OSError, ValueError, KeyError):
        pass
    import kubernetes
    v["kubernetes (Python)"] = kubernetes.__version__
    kv = json.loads(cl.kc("version", "-o", "json"))
    v["kubectl"] = kv.get("clientVersion", {}).get("gitVersion")
    v["kube-apiserver"] = kv.get("serverVersion", {}).get("gitVersion")
    with open(os.path.join(ROOT, "hack", "versions.env")) as fh:
        for line in fh:
            if line.startswith(("FLUID_VERSION=", "KWOK_VERSION=", "ETCD_VERSION=")):
                k, val = line.strip().split("=", 1)
                v[k.split("_")[0].capitalize().replace("Kwok", "KWOK").replace("Etcd", "etcd")] = val
    return v


def write_results(results, path):
    L = []
    meta = results["meta"]
    invocations = meta.get("invocations") or []
    origin = ("from one run; every ratio below compares numbers from that same run" if len(invocations) <= 1 else
              "from %d runs (listed below, each section whole from one of them); every ratio compares numbers of "
              "one section, so from one run" % len(invocations))
    L += ["# cloudnative.fluid benchmarks", "",
          "Written by `make bench` (`bench/run.py`) on %s %s. Raw data: `bench/out/results-*.json` (git-ignored). "
          "No timing is asserted by any test." % (meta["date"], origin), "",
          "**Shared machine:** %s cores, shared with other sessions running clusters and tests at the same time "
          "(load average at start %s, at end %s). Absolute numbers move with that load; ratios from one run are what count."
          % (meta["nproc"], meta["load_start"], meta.get("load_end", "-")), "",
          "Embedded cluster (`hack/cluster`, workdir `%s`): %s nodes (%s GPU). Versions: %s." % (
              meta["workdir"], meta["nodes"], meta["gpu_nodes"],
              ", ".join("%s %s" % kv for kv in meta["versions"].items())), ""]
    for inv in invocations:
        L += ["- invocation `%s` (%s, load %s -> %s): %s" % (inv["file"], inv["date"], inv["load_start"], inv["load_end"],
                                                           ", ".join(inv["sections"]))]
    if invocations:
        L += [""]
    goals = []
    hdr = ["contender", "median", "min", "max", "runs", "median / module's"]
    if "wait_1" in results:
        noop = S.summary(results["ansible_noop"])
        L += ["## 1. Wait latency: Bound written -> waiter returns", "",
              "The harness creates the Datasets (module, `wait: false`), starts all four contenders at once on the same "
              "Datasets, waits %s s, then creates the AlluxioRuntimes; every contender is waiting long before the first "
              "Bound (binding takes tens of seconds). Latency = the "
              "contender's return (process exit; for the in-process poll loop, the moment it sees Bound) minus the "
              "moment the harness's own watch delivered the last Dataset's `phase: Bound` event. Nothing is subtracted. "
              "Poll anchors use a 3 s delay (`k8s_info` `until`/`retries: 600`/`delay: 3`; the loop lists every 3 s)."
              % results["meta"]["settle"], "",
              "Ansible's own cost, for reference: a no-op `ansible localhost -m ansible.builtin.ping` takes %s median "
              "(min %s, max %s, %d runs) from process start to exit; part of it (Python start, plugin loading) is before "
              "the module waits, part (result callback, interpreter exit) is after Bound and is inside the module's latency."
              % (S.fmt(noop["median"]), S.fmt(noop["min"]), S.fmt(noop["max"]), noop["n"]), ""]
        for count in (1, 50):
            rows = results.get("wait_%d" % count) or []
            if not rows:
                continue
            names = list(rows[0]["latency"])
            ref = [r["latency"]["cloudnative.fluid.dataset"] for r in rows]
            L += ["### %d Dataset%s" % (count, "s" if count > 1 else ""), "",
                  S.table(hdr, [S.summary_row(n, [r["latency"][n] for r in rows], reference=ref) for n in names]), "",
                  "Where the module's latency goes (medians): Bound -> the module's result reaches the Ansible "
                  "controller (watch event, predicate, module exit, result transfer; json callback's task end) %s; "
                  "then ansible's callbacks and process exit %s." % (
                      S.fmt(S.median_of([r.get("module_result_at_controller") for r in rows])),
                      S.fmt(S.median_of([r.get("module_process_exit_after_result") for r in rows]))),
                  "",
                  "Controllers' bind time (runtime created -> last Bound): median %s. Module's own `wait_seconds` "
                  "(its watch start -> Bound seen): median %s, so its watch began a median %s before the runtimes "
                  "were created (per run %s; negative = after). k8s_info attempts: %s; poll-loop reads: %s." % (
                      S.fmt(S.summary([r["bind_seconds"] for r in rows])["median"]),
                      S.fmt(S.summary([r["module_wait_seconds_max"] for r in rows])["median"]),
                      S.fmt(S.median_of([r["module_wait_seconds_max"] - r["bind_seconds"] for r in rows])),
                      ", ".join("%+.1f s" % (r["module_wait_seconds_max"] - r["bind_seconds"]) for r in rows),
                      [r["k8s_info_attempts"] for r in rows], [r["poll_reads"] for r in rows]), ""]
            m = S.summary(ref)["median"]
            anchors = {n: S.summary([r["latency"][n] for r in rows])["median"] for n in names if "poll" in n or "until" in n}
            worst = min(anchors.values())
            goals.append(S.goal(m <= 0.2 and worst >= 10 * m,
                                "(1) %d dataset%s: module median %s (goal <= 0.2 s); the best polling anchor's median is %s "
                                "the module's (goal >= 10x); kubectl wait (a watch) median %s" % (
                                    count, "s" if count > 1 else "", S.fmt(m), S.fmt_ratio(S.ratio(worst, m)),
                                    S.fmt(S.summary([r["latency"]["kubectl wait"] for r in rows])["median"]))))
            # the module driver's goal: from the last Bound to the task's end (the json callback's task end)
            task_end, limit = S.median_of([r.get("module_result_at_controller") for r in rows]), 0.1 if count == 1 else 0.3
            if task_end is not None:
                goals.append(S.goal(task_end <= limit, "(1) %d dataset%s: Bound -> the task's end median %s (goal <= %g s)"
                                    % (count, "s" if count > 1 else "", S.fmt(task_end), limit)))
    if "labels" in results:
        rows = results["labels"]
        setup = results["labels_setup"]
        ours_task = [r["node_labels"]["task_seconds"] for r in rows]
        ours_proc = [r["node_labels"]["process_seconds"] for r in rows]
        patch = [r["node_labels"]["patch_seconds"] for r in rows]
        kubectl = [r["kubectl"]["process_seconds"] for r in rows]
        loop = [r["k8s_loop"] for r in rows if "k8s_loop" in r]
        per_node = [x["task_seconds"] / x["nodes"] for x in loop]
        L += ["## 2. Node labelling: %d nodes, %d GPU nodes labelled" % (setup["nodes"], setup["gpu_nodes"]), "",
              "Each run first removes the label (not timed), so every timed run changes every GPU node; a run where "
              "the contenders changed different numbers of nodes stops the section. `node_labels` lists the nodes and "
              "picks the GPU ones itself (`gpu: true`, `gpu_detection` set to the GPU operator's label "
              "`nvidia.com/gpu.present=true`, parallel=%d); kubectl gets `-l nvidia.com/gpu.present=true`; the "
              "kubernetes.core.k8s loop patches %s named GPU nodes (`state: patched`, one module run per node), "
              "reported per node (the loop task's time / nodes) and extrapolated to %d." % (
                  setup["parallel"], loop[0]["nodes"] if loop else "-", setup["gpu_nodes"]), "",
              "Ratios compare like with like: a process with a process (ansible-playbook's or kubectl's, start to "
              "exit), a task with a task (as Ansible's json callback times it, without ansible-playbook's start-up).", "",
              S.table(["contender", "median", "min", "max", "runs", "median / node_labels' (same measure)"], [
                  S.summary_row("node_labels, whole ansible-playbook process", ours_proc, reference=ours_proc),
                  S.summary_row("kubectl label nodes -l (process)", kubectl, reference=ours_proc),
                  S.summary_row("node_labels task (module run, as Ansible times it)", ours_task, reference=ours_task),
                  S.summary_row("node_labels patching alone (`patch_seconds`)", patch, reference=ours_task),
                  S.summary_row("kubernetes.core.k8s loop task, per node", per_node, reference=None),
                  S.summary_row("kubernetes.core.k8s loop task, x%d nodes (extrapolated)" % setup["gpu_nodes"],
                                [p * setup["gpu_nodes"] for p in per_node], reference=ours_task),
                  S.summary_row("CPU (user+sys) of the node_labels ansible-playbook run",
                                [r["node_labels"].get("cpu_seconds") for r in rows],
                                reference=[r["node_labels"].get("cpu_seconds") for r in rows]),
                  S.summary_row("CPU (user+sys) of kubectl label", [r["kubectl"].get("cpu_seconds") for r in rows],
                                reference=[r["node_labels"].get("cpu_seconds") for r in rows])]), "",
              "Changed nodes per node_labels run: %s; per kubectl run: %s." % (
                  [r["node_labels"]["changed"] for r in rows], [r["kubectl"]["changed"] for r in rows]), ""]
        mt, mk = S.summary(ours_task)["median"], S.summary(kubectl)["median"]
        mp = S.summary(ours_proc)["median"]
        goals.append(S.goal(mp <= 3 and mk >= 2 * mp,
                            "(2) node_labels' ansible-playbook process median %s (goal <= 3 s), %s faster than "
                            "kubectl label's process (goal >= 2x); the task alone took %s" % (
                                S.fmt(mp), S.fmt_ratio(S.ratio(mk, mp)), S.fmt(mt))))
    if "scale" in results:
        s = results["scale"]
        over = S.ratio(s["wall_seconds"] - s["bind_seconds"], s["bind_seconds"])
        L += ["## 3. %d Datasets and runtimes in one playbook" % s["count"], "",
              "One `cloudnative.fluid.dataset` task (`datasets:` list, `wait: false`) and one `cloudnative.fluid.runtime` "
              "task (`runtimes:` list, `wait_for: bound`) in one ansible-playbook run (1 run: it is not cheap). Two "
              "tasks, not one: Datasets and runtimes are separate modules, as they are separate objects.", "",
              S.table(["measure", "seconds"], [
                  ["playbook wall time (process start -> exit)", S.fmt(s["wall_seconds"])],
                  ["controllers' bind time (first runtime created -> last Bound, harness watch)", S.fmt(s["bind_seconds"])],
                  ["before the first create (ansible start, validation)", S.fmt(s["ansible_before_first_create"])],
                  ["first Dataset created -> first runtime created (the dataset task, the runtime task's start)",
                   S.fmt(s.get("datasets_before_first_runtime"))],
                  ["after the last Bound (module return, ansible exit)", S.fmt(s["return_after_last_bound"])],
                  ["task durations (dataset, runtime)", ", ".join(S.fmt(t) for t in s["task_seconds"])],
                  ["overhead: (wall - bind) / bind", "%.1f%%" % (100 * over)]]), ""]
        goals.append(S.goal(over <= 0.2, "(3) overhead %.1f%% over the controllers' own bind time (goal <= 20%%)" % (100 * over)))
    if "site" in results:
        st, wm = results["site"], results.get("warm_start", {})
        L += ["## 4. site.yml and the embedded cluster", "",
              "The section first stops the benchmark's cluster and starts it again (`cluster.py down`, `up`): a fresh "
              "cluster with the seed's two nodes and no Fluid, which site.yml's first run then installs.", "",
              S.table(["run", "wall", "ok", "changed", "skipped"], [
                  ["first run", S.fmt(st["first"]["wall_seconds"]), st["first"]["ok"], st["first"]["changed"], st["first"]["skipped"]],
                  ["re-run", S.fmt(st["rerun"]["wall_seconds"]), st["rerun"]["ok"], st["rerun"]["changed"], st["rerun"]["skipped"]]]), "",
              "Embedded cluster warm start (binaries cached): `cluster.py down` %s, then `cluster.py up` %s to Ready "
              "with %s nodes (the seed's)." % (S.fmt(wm.get("down_seconds")), S.fmt(wm.get("up_seconds")), wm.get("nodes", "-")), ""]
        goals.append(S.goal(st["rerun"]["changed"] == 0, "(4) site.yml re-run reports %d changed (goal 0)" % st["rerun"]["changed"]))
        goals.append(S.goal(st["rerun"]["wall_seconds"] <= 15, "(4) site.yml re-run takes %s (goal <= 15 s)"
                            % S.fmt(st["rerun"]["wall_seconds"])))
    if "fleet" in results:
        fl = results["fleet"]
        L += ["## 5. Three clusters from one inventory", "",
              "Three more embedded clusters side by side (`hack/cluster/fleet.py up east west north`, %s), site.yml's "
              "first run on all three, then its idempotent re-run on one of them and on all three in one run "
              "(median of %d each, alternating)." % (S.fmt(fl["up_seconds"]), len(fl["rerun_one"])), "",
              S.table(["run", "wall", "changed"], [
                  ["first run, 3 clusters", S.fmt(fl["first"]["wall_seconds"]), fl["first"]["changed"]],
                  ["re-run, 1 cluster", S.fmt(fl["one_seconds"]), sum(r["changed"] for r in fl["rerun_one"])],
                  ["re-run, 3 clusters", S.fmt(fl["three_seconds"]), sum(r["changed"] for r in fl["rerun_three"])]]), "",
              "Three clusters take %s the time of one." % S.fmt_ratio(fl["ratio"])
              + ("" if "cpu_floor_ratio" not in fl else
                 " One cluster's re-run keeps %s of CPU busy in Ansible's processes over its %s: three of them on this "
                 "machine's %d cores cannot take less than %s of one (the anchor), before the three clusters' own "
                 "API servers and controllers." % (S.fmt(fl["one_cpu_seconds"]), S.fmt(fl["one_seconds"]), fl["cores"],
                                                   S.fmt_ratio(fl["cpu_floor_ratio"]))), ""]
        goals.append(S.goal(fl["ratio"] <= 1.5, "(5) site.yml re-run on 3 clusters in one run takes %s one cluster's "
                            "(goal <= 1.5x)" % S.fmt_ratio(fl["ratio"])))
    for key, text in (("wait_1", "(1) 1 dataset"), ("wait_50", "(1) 50 datasets"), ("labels", "(2) node labelling"),
                      ("scale", "(3) many Datasets in one playbook"), ("site", "(4) site.yml re-run"),
                      ("fleet", "(5) three clusters")):
        if not results.get(key):
            goals.append(S.goal(None, text + " (see below)"))
    for name, err in (results.get("failed_sections") or {}).items():
        L += ["## Section %s did not complete" % name, "", "```", err, "```", ""]
    L += ["## Goals", ""] + goals + [""]
    if results.get("notes"):
        L += ["## Why", ""] + ["- " + n for n in results["notes"]] + [""]
    with open(path, "w") as fh:
        fh.write("\n".join(L))


SECTIONS = {"wait": ("wait_1", "wait_50"), "labels": ("labels",), "scale": ("scale",), "site": ("site",),
            "fleet": ("fleet",)}


def merge_raw(paths):
    """Raw result files of several invocations, merged: sections of later files win; each file's
    date, load and arguments are kept under meta.invocations."""
    merged = {}
    for p in paths:
        with open(p) as fh:
            part = json.load(fh)
        meta = part.pop("meta")
        if "meta" not in merged:
            merged["meta"] = dict(meta, invocations=[])
        merged["meta"]["load_end"] = meta.get("load_end", merged["meta"].get("load_end"))
        merged["meta"]["invocations"].append({"file": os.path.basename(p), "date": meta.get("date"),
                                              "load_start": meta.get("load_start"), "load_end": meta.get("load_end"),
                                              "sections": sorted(k for k in part if k != "failed_sections")})
        failed = part.pop("failed_sections", {})
        done = {k: v for k, v in part.items() if v not in (None, [], {})}
        merged.update(done)
        merged.setdefault("failed_sections", {})
        for section in SECTIONS:  # a later file's data of a section clears an earlier failure of it
            if any(k in done for k in SECTIONS[section]):
                merged["failed_sections"].pop(section, None)
        merged["failed_sections"].update(failed)
    return merged


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs of the cheap measurements (default 5)")
    ap.add_argument("--runs-50", type=int, default=1, help="runs of the 50-Dataset wait (default 1)")
    ap.add_argument("--runs-labels", type=int, default=5, help="runs of node_labels and kubectl label (default 5)")
    ap.add_argument("--runs-loop", type=int, default=1, help="runs of the k8s loop (default 1)")
    ap.add_argument("--loop-nodes", type=int, default=50, help="nodes the k8s loop patches (default 50)")
    ap.add_argument("--scale", type=int, default=100, help="Datasets in section 3 (default 100)")
    ap.add_argument("--nodes", type=int, default=1000, help="extra KWOK nodes, every second one a GPU node")
    ap.add_argument("--parallel", type=int, default=10, help="node_labels parallel")
    ap.add_argument("--scale-timeout", type=int, default=900, help="wait_timeout of the scale playbook's runtime task")
    ap.add_argument("--settle", type=float, default=6.0, help="seconds between starting the contenders and the runtimes")
    ap.add_argument("--only", default="wait,labels,scale,site,fleet")
    ap.add_argument("--keep-cluster", action="store_true", help="leave the cluster up at the end")
    ap.add_argument("--output", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--notes", help="a JSON file with a list of explanations to add under 'Why'")
    ap.add_argument("--from-json", nargs="+", metavar="RAW",
                    help="no measuring: write the report from raw results of earlier runs (bench/out/results-*.json), "
                         "merged in order (later sections win; meta from the first, load at end from the last)")
    args = ap.parse_args(argv)
    if args.from_json:
        results = merge_raw(args.from_json)
        if args.notes:
            with open(args.notes) as fh:
                results["notes"] = json.load(fh)
        write_results(results, args.output)
        log("wrote %s from %s" % (args.output, ", ".join(args.from_json)))
        return 0
    only = set(args.only.split(","))
    os.makedirs(OUT, exist_ok=True)
    hook._ensure_collection_link()
    workdir = os.environ.get("FLUID_CLUSTER_WORKDIR", os.path.join(ROOT, ".work"))
    results = {"meta": {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "nproc": os.cpu_count(),
                        "load_start": loadavg(), "workdir": os.path.relpath(workdir, ROOT), "settle": args.settle,
                        "args": vars(args)}}
    t_all = time.monotonic()
    log("cluster up with %d extra nodes (workdir %s); load %s" % (args.nodes, workdir, loadavg()))
    st = hook.ensure_nodes(args.nodes)
    cl = Cluster()
    cl.ensure_fluid_crds()
    results["meta"]["versions"] = versions(cl)
    results["meta"]["nodes"], results["meta"]["gpu_nodes"] = st["nodes"], st["gpu_nodes"]
    log("versions: %s; %d nodes (%d GPU)" % (results["meta"]["versions"], results["meta"]["nodes"], results["meta"]["gpu_nodes"]))
    raw = os.path.join(OUT, "results-%s.json" % time.strftime("%Y%m%dT%H%M%S"))
    try:
        for name, fn in (("wait", section_wait), ("labels", section_labels), ("scale", section_scale), ("site", section_site),
                         ("fleet", section_fleet)):
            if name in only:
                t0 = time.monotonic()
                log("section %s" % name)
                try:
                    fn(cl, args, results)
                except Exception as e:  # pylint: disable=broad-except
                    # say so in RESULTS.md and go on with the next section
                    log("section %s FAILED: %s" % (name, e))
                    results.setdefault("failed_sections", {})[name] = str(e)[:2000]
                log("section %s done in %.0f s; load %s" % (name, time.monotonic() - t0, loadavg()))
                with open(raw, "w") as fh:
                    json.dump(results, fh, indent=1, default=str)
    finally:
        results["meta"]["load_end"] = loadavg()
        results["meta"]["total_seconds"] = time.monotonic() - t_all
        if args.notes:
            with open(args.notes) as fh:
                results["notes"] = json.load(fh)
        with open(raw, "w") as fh:
            json.dump(results, fh, indent=1, default=str)
        if not args.keep_cluster:
            log("cluster down")
            subprocess.run([sys.executable, DRIVER, "down"], check=False, stdout=subprocess.DEVNULL)
    write_results(results, args.output)
    log("wrote %s (raw %s) in %.0f s" % (args.output, raw, time.monotonic() - t_all))
    return 0


if __name__ == "__main__":
    sys.exit(main())
