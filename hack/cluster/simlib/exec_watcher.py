#!/usr/bin/env python3
"""Give every pod a simulator answers for a KWOK ``Exec`` that routes its execs there.

Why: KWOK (v0.8.0, pkg/kwok/server/debugging_exec.go) serves ``pods/exec`` of a
fake pod by running the request's argv *on the host*, with the ``workDir`` and
``envs`` of the matching ``Exec`` (kwok.x-k8s.io/v1alpha1, same name and
namespace as the pod) or, failing that, of the first ``ClusterExec`` whose
selector (exact namespaces/names only) matches.  The process is told nothing
about the pod.  So that a simulator knows which runtime it answers for, this
watcher creates one ``Exec`` per pod of a target below (selected by the labels
of Fluid's charts) carrying the identity in env vars, owned by the pod (the
garbage collector deletes it with the pod; the watcher also removes stale ones):

- Alluxio master pods (``role=alluxio-master``): the Alluxio CLI simulator
  (``alluxio_sim/``), state in ``<work>/alluxio-sim``;
- JuiceFS worker and FUSE pods (``role=juicefs-worker``, ``role=juicefs-fuse``):
  the JuiceFS simulator (``juicefs_sim/``), state in ``<work>/juicefs-sim``.

KWOK must run with ``--enable-crds=Exec`` (Exec CRD applied first) and with each
simulator's ``bin/`` on its PATH (KWOK resolves argv[0] with its own PATH).

Usage:
  exec_watcher.py [--kubeconfig PATH] [--work-dir DIR] [--interval SECONDS] [--once] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
from simlib.kubeapi import (  # noqa: E402
    KubeClient, KubeConfig, NotFound, run_forever, stderr_logger)

KWOK_GROUP = "/apis/kwok.x-k8s.io/v1alpha1"
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "alluxio-sim-exec-watcher"
CLUSTER_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


class Target:
    """Pods selected by `selector` get execs of `containers` routed to the simulator in sim_dir/bin."""

    def __init__(self, sim, selector, containers, prefix, role=None):
        self.sim, self.selector, self.containers, self.prefix, self.role = sim, selector, containers, prefix, role
        self.bin = os.path.join(CLUSTER_DIR, sim + "_sim", "bin")

    def runtime_of(self, pod: Dict[str, Any]) -> str:
        labels = pod["metadata"].get("labels") or {}
        if labels.get("release"):
            return labels["release"]
        return re.sub(r"-(master|worker|fuse)(-\d+|-[a-z0-9]{5})?$", "", pod["metadata"]["name"])


TARGETS = [
    Target("alluxio", "role=alluxio-master", ["alluxio-master", "alluxio-job-master"], "ALLUXIO_SIM"),
    Target("juicefs", "role=juicefs-worker", ["juicefs-worker"], "JUICEFS_SIM", role="worker"),
    Target("juicefs", "role=juicefs-fuse", ["juicefs-fuse"], "JUICEFS_SIM", role="fuse"),
]
SIM_BIN = TARGETS[0].bin


def runtime_of(pod: Dict[str, Any]) -> str:
    return TARGETS[0].runtime_of(pod)


def desired_exec(pod: Dict[str, Any], work_dir: str, kubeconfig: str, target: Target = TARGETS[0],
                 base_path: Optional[str] = None) -> Dict[str, Any]:
    meta = pod["metadata"]
    path = target.bin + os.pathsep + (base_path if base_path is not None else os.environ.get("PATH", "/usr/bin:/bin"))
    p = target.prefix
    envs = [
        {"name": p + "_NAMESPACE", "value": meta["namespace"]},
        {"name": p + "_RUNTIME", "value": target.runtime_of(pod)},
        {"name": p + "_POD", "value": meta["name"]},
        {"name": p + "_POD_UID", "value": meta.get("uid", "")},
        {"name": p + "_STATE_DIR", "value": os.path.join(work_dir, target.sim + "-sim")},
        {"name": "KUBECONFIG", "value": kubeconfig},
        {"name": "PATH", "value": path},
    ]
    if target.role:
        envs.insert(4, {"name": p + "_ROLE", "value": target.role})
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Exec",
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "labels": {MANAGED_BY: MANAGER},
            "ownerReferences": [{
                "apiVersion": "v1", "kind": "Pod", "name": meta["name"], "uid": meta.get("uid", ""),
            }],
        },
        "spec": {"execs": [{"containers": list(target.containers),
                            "local": {"workDir": os.path.join(work_dir, target.sim + "-sim"), "envs": envs}}]},
    }


def _same(existing: Dict[str, Any], want: Dict[str, Any]) -> bool:
    owners = [(o.get("uid"), o.get("name")) for o in existing["metadata"].get("ownerReferences") or []]
    want_owner = [(o["uid"], o["name"]) for o in want["metadata"]["ownerReferences"]]
    return existing.get("spec") == want["spec"] and owners == want_owner


def exec_path(namespace: str, name: Optional[str] = None) -> str:
    path = "%s/namespaces/%s/execs" % (KWOK_GROUP, namespace)
    return path + "/" + name if name else path


def reconcile(client: KubeClient, work_dir: str, kubeconfig: str, log=print, dry_run: bool = False,
              targets: List[Target] = TARGETS) -> List[Dict]:
    """One pass: create/update the Exec of every target pod, delete stale managed ones."""
    wanted = {}
    for target in targets:
        os.makedirs(os.path.join(work_dir, target.sim + "-sim"), exist_ok=True)
        for pod in client.list("/api/v1/pods", target.selector):
            want = desired_exec(pod, work_dir, kubeconfig, target)
            wanted[(pod["metadata"]["namespace"], pod["metadata"]["name"])] = want
    if dry_run:
        return list(wanted.values())
    for (ns, name), want in wanted.items():
        try:
            existing = client.get(exec_path(ns, name))
        except NotFound:
            existing = None
        if existing is None:
            client.request("POST", exec_path(ns), body=want)
            log("created Exec %s/%s for runtime %s" % (ns, name, runtime_of_exec(want)))
        elif not _same(existing, want):
            want = json.loads(json.dumps(want))
            want["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
            client.request("PUT", exec_path(ns, name), body=want)
            log("updated Exec %s/%s" % (ns, name))
    for ex in client.list(KWOK_GROUP + "/execs", "%s=%s" % (MANAGED_BY, MANAGER)):
        key = (ex["metadata"]["namespace"], ex["metadata"]["name"])
        if key not in wanted:
            try:
                client.request("DELETE", exec_path(*key))
                log("deleted stale Exec %s/%s" % key)
            except NotFound:
                pass
    return list(wanted.values())


def runtime_of_exec(ex: Dict[str, Any]) -> str:
    for env in ex["spec"]["execs"][0]["local"]["envs"]:
        if env["name"].endswith("_SIM_RUNTIME"):
            return env["value"]
    return "?"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config"))
    parser.add_argument("--work-dir", default="/tmp/fluid-sim-%d" % os.getuid(),
                        help="each simulator's state is in <work-dir>/<simulator>-sim")
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("--dry-run", action="store_true", help="print the Exec objects, change nothing")
    args = parser.parse_args(argv)
    kubeconfig = os.path.abspath(args.kubeconfig)
    work_dir = os.path.abspath(args.work_dir)

    log = stderr_logger("exec-watcher")
    cert_dir = os.path.join(work_dir, "exec-watcher")
    os.makedirs(cert_dir, exist_ok=True)
    client = KubeClient(KubeConfig(kubeconfig, cert_dir=cert_dir))
    if args.dry_run:
        result = reconcile(client, work_dir, kubeconfig, log=log, dry_run=True)
        print(json.dumps({"apiVersion": "v1", "kind": "List", "items": result}, indent=2))
        return 0
    return run_forever(lambda: reconcile(client, work_dir, kubeconfig, log=log), log, interval=args.interval,
                       once=args.once)


if __name__ == "__main__":
    sys.exit(main())
