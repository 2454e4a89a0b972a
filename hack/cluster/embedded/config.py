"""The cluster's configuration: kwokctl's configuration file (binary runtime on 127.0.0.1, the
components' ports, leader election, the kwok-controller's PATH with the simulators' commands)
with KWOK's own default stages, the KWOK exec mappings of hack/cluster/kwok/, and the nodes of
hack/cluster/nodes.yaml (plus generated ones for benchmarks), created if missing.
"""
import json
import os
import subprocess

import yaml

from .helpers import free_port, kubectl
from .paths import HERE, ROOT, WORK


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
    # our own stages (hack/cluster/kwok/stages/): pod-fail fails Job pods labelled FAIL_LABEL=true,
    # so KWOK's pod-complete must leave those pods alone
    for doc in docs:
        if doc["metadata"]["name"] == "pod-complete":
            doc["spec"]["selector"]["matchExpressions"].append(
                {"key": '.metadata.labels["%s"]' % FAIL_LABEL, "operator": "DoesNotExist"})
    folder = os.path.join(HERE, "kwok", "stages")
    for f in sorted(os.listdir(folder)):
        if f.endswith(".yaml"):
            with open(os.path.join(folder, f)) as fh:
                docs += [d for d in yaml.safe_load_all(fh) if d]
    return docs


# a Job's pod with this label set to "true" fails (hack/cluster/kwok/stages/pod-fail.yaml)
FAIL_LABEL = "embedded.cloudnative.fluid/fail"


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
