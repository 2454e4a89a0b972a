#!/usr/bin/env python3
"""Node labelling and ansible helpers of the benchmark (bench/run.py, issue 10).

On the embedded cluster (hack/cluster/cluster.py, FLUID_CLUSTER_WORKDIR honoured) it makes sure
N extra KWOK nodes exist (every `gpu_every`-th one a GPU node: allocatable nvidia.com/gpu and the
GPU operator's labels), times ONE `cloudnative.fluid.node_labels` task that labels the GPU nodes
(`gpu: true`, detected by the GPU operator's label `nvidia.com/gpu.present=true`: the same nodes
`kubectl label nodes -l nvidia.com/gpu.present=true` labels), and that kubectl command.

    from node_labels_hook import ensure_nodes, time_node_labels, time_kubectl_label, clear_label
    st = ensure_nodes(1000)
    r = time_node_labels(st["kubeconfig"], "bench.cloudnative.fluid/gpu", "run-1")
    r["task_seconds"], r["patch_seconds"], r["changed"]

`task_seconds` is the task's own duration as Ansible's json callback reports it (module start to
result, including the module's Python start-up, listing and detecting the nodes, and patching);
`process_seconds` adds ansible-playbook's start-up; `patch_seconds` is the module's patching alone.
No timing here is asserted anywhere.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRIVER = os.path.join(ROOT, "hack", "cluster", "cluster.py")
VENV_BIN = os.path.dirname(sys.executable)  # make bench runs the venv's python
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
LABEL = "bench.cloudnative.fluid/gpu"
GPU_LABEL = ("nvidia.com/gpu.present", "true")
GPU_SELECTOR = "%s=%s" % GPU_LABEL

ANSIBLE_ENV = dict(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                   ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
                   ANSIBLE_DEPRECATION_WARNINGS="0")


def ansible_env(**extra):
    """The environment of every ansible run of the benchmark: json callback, this tree as the collection,
    no K8S_AUTH_* of the caller's shell (the kubeconfig is always passed)."""
    env = dict(os.environ, **ANSIBLE_ENV)
    for var in [k for k in env if k.startswith("K8S_AUTH_")]:
        env.pop(var)
    env.update(extra)
    return env


def first_task(proc, what):
    """(task, localhost's result) of the first task in a json-callback run; RuntimeError when it failed."""
    try:
        task = json.loads(proc.stdout)["plays"][0]["tasks"][0]
        res = task["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise RuntimeError("%s failed (rc %s):\n%s\n%s" % (what, proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    if res.get("failed") or proc.returncode:
        raise RuntimeError("%s failed: %s" % (what, res.get("msg")))
    return task, res

PLAYBOOK = """---
- name: Label every GPU node
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Label GPU nodes
      cloudnative.fluid.node_labels:
        kubeconfig: "{{ kubeconfig }}"
        gpu: true
        gpu_detection:
          resources: []
          labels: "{{ {gpu_label_key: gpu_label_value} }}"
        labels: "{{ {label_key: label_value} }}"
        parallel: "{{ parallel | int }}"
"""


def cluster_status():
    out = subprocess.run([sys.executable, DRIVER, "status"], capture_output=True, text=True, check=True).stdout
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


def ensure_nodes(extra_nodes=1000, gpu_every=2):
    """Bring the embedded cluster up with `extra_nodes` extra KWOK nodes (created only if missing).

    Two steps: `up` with the seed's nodes, then `up --extra-nodes` on the running cluster, which only
    creates the missing nodes; `up --extra-nodes 1000` on a stopped cluster waits for every node with
    one `kubectl wait --timeout=120s`, which 1000 nodes outlast on a loaded machine. Readiness of the
    extra nodes is then awaited here, from one listing at a time."""
    subprocess.run([sys.executable, DRIVER, "up"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, DRIVER, "up", "--extra-nodes", str(extra_nodes), "--extra-gpu-every", str(gpu_every)],
                   check=True, stdout=subprocess.DEVNULL)
    st = cluster_status()
    wait_nodes_ready(st["kubeconfig"], st.get("kubectl", "kubectl"), extra_nodes + 2)
    st["nodes"] = count_nodes(st["kubeconfig"], st.get("kubectl", "kubectl"))
    st["gpu_nodes"] = count_nodes(st["kubeconfig"], st.get("kubectl", "kubectl"), GPU_SELECTOR)
    return st


def wait_nodes_ready(kubeconfig, kubectl="kubectl", at_least=0, timeout=900):
    """Until at least `at_least` nodes report Ready=True (one listing per second)."""
    deadline = time.monotonic() + timeout
    tmpl = '{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}'
    while True:
        out = subprocess.run([kubectl, "--kubeconfig", kubeconfig, "get", "nodes", "-o", "jsonpath=" + tmpl],
                             capture_output=True, text=True).stdout
        ready = out.split().count("True")
        if ready >= at_least:
            return ready
        if time.monotonic() > deadline:
            raise RuntimeError("only %d of %d nodes Ready after %ss" % (ready, at_least, timeout))
        time.sleep(1)


def count_nodes(kubeconfig, kubectl="kubectl", selector=None):
    args = [kubectl, "--kubeconfig", kubeconfig, "get", "nodes", "-o", "name"] + (["-l", selector] if selector else [])
    return len(subprocess.run(args, capture_output=True, text=True, check=True).stdout.split())


def _ensure_collection_link():
    link = os.path.join(COLLECTIONS, "ansible_collections", "cloudnative", "fluid")
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)


def task_seconds(task):
    """A task's duration as the json callback stamps it (UTC start and end)."""
    return epoch(task["task"]["duration"]["end"]) - epoch(task["task"]["duration"]["start"])


def epoch(stamp):
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def time_node_labels(kubeconfig, label_key=LABEL, label_value="bench", parallel=10):
    """Run the one-task playbook; returns task/process/patch seconds and how many nodes changed."""
    _ensure_collection_link()
    with tempfile.TemporaryDirectory(prefix="node-labels-bench-") as tmp:
        pb = os.path.join(tmp, "label.yml")
        with open(pb, "w") as fh:
            fh.write(PLAYBOOK)
        extra = {"kubeconfig": kubeconfig, "label_key": label_key, "label_value": label_value, "parallel": parallel,
                 "gpu_label_key": GPU_LABEL[0], "gpu_label_value": GPU_LABEL[1],
                 "ansible_python_interpreter": sys.executable}
        t0 = time.monotonic()
        proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", pb,
                               "-e", json.dumps(extra)], capture_output=True, text=True, env=ansible_env(), cwd=tmp)
        process_seconds = time.monotonic() - t0
    task, res = first_task(proc, "node_labels")
    return {"tool": "node_labels", "task_seconds": round(task_seconds(task), 3),
            "process_seconds": round(process_seconds, 3), "patch_seconds": res.get("patch_seconds"),
            "changed": len(res.get("changed_nodes") or []), "unchanged": len(res.get("unchanged_nodes") or [])}


def time_kubectl_label(kubeconfig, kubectl="kubectl", label_key=LABEL, label_value="bench", selector=GPU_SELECTOR):
    t0 = time.monotonic()
    proc = subprocess.run([kubectl, "--kubeconfig", kubeconfig, "label", "nodes", "-l", selector,
                           "%s=%s" % (label_key, label_value), "--overwrite"], capture_output=True, text=True)
    seconds = time.monotonic() - t0
    if proc.returncode:
        raise RuntimeError("kubectl label failed: %s" % proc.stderr)
    return {"tool": "kubectl label", "process_seconds": round(seconds, 3),
            "changed": sum(1 for line in proc.stdout.splitlines() if line.endswith(" labeled"))}


def clear_label(kubeconfig, kubectl="kubectl", label_key=LABEL):
    subprocess.run([kubectl, "--kubeconfig", kubeconfig, "label", "nodes", "-l", label_key, label_key + "-"],
                   capture_output=True, text=True, check=True)
