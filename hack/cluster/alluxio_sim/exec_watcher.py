#!/usr/bin/env python3
"""Give every Alluxio master pod a KWOK ``Exec`` that routes to the simulator.

Why: KWOK (v0.8.0, pkg/kwok/server/debugging_exec.go) serves ``pods/exec`` of a
fake pod by running the request's argv *on the host*, with the ``workDir`` and
``envs`` of the matching ``Exec`` (kwok.x-k8s.io/v1alpha1, same name and
namespace as the pod) or, failing that, of the first ``ClusterExec`` whose
selector (exact namespaces/names only) matches.  The process is told nothing
about the pod.  So that the simulator knows which runtime it answers for, this
watcher creates one ``Exec`` per pod labelled ``role=alluxio-master`` (label of
Fluid's alluxio chart) carrying the identity in env vars, owned by the pod (the
garbage collector deletes it with the pod; the watcher also removes stale ones).

KWOK must run with ``--enable-crds=Exec`` (Exec CRD applied first) and with this
folder's ``bin/`` on its PATH (KWOK resolves argv[0] with its own PATH).

Usage:
  exec_watcher.py [--kubeconfig PATH] [--state-dir DIR] [--interval SECONDS] [--once] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
from alluxio_sim.kubeapi import (  # noqa: E402
    KubeClient, KubeConfig, NotFound, run_forever, stderr_logger)

KWOK_GROUP = "/apis/kwok.x-k8s.io/v1alpha1"
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "alluxio-sim-exec-watcher"
MASTER_SELECTOR = "role=alluxio-master"
CONTAINERS = ["alluxio-master", "alluxio-job-master"]
SIM_BIN = os.path.join(os.path.dirname(os.path.realpath(__file__)), "bin")


def runtime_of(pod: Dict[str, Any]) -> str:
    labels = pod["metadata"].get("labels") or {}
    if labels.get("release"):
        return labels["release"]
    return re.sub(r"-master-\d+$", "", pod["metadata"]["name"])


def desired_exec(pod: Dict[str, Any], state_dir: str, kubeconfig: str, sim_bin: str = SIM_BIN,
                 base_path: Optional[str] = None) -> Dict[str, Any]:
    meta = pod["metadata"]
    path = sim_bin + os.pathsep + (base_path if base_path is not None else os.environ.get("PATH", "/usr/bin:/bin"))
    envs = [
        {"name": "ALLUXIO_SIM_NAMESPACE", "value": meta["namespace"]},
        {"name": "ALLUXIO_SIM_RUNTIME", "value": runtime_of(pod)},
        {"name": "ALLUXIO_SIM_POD", "value": meta["name"]},
        {"name": "ALLUXIO_SIM_POD_UID", "value": meta.get("uid", "")},
        {"name": "ALLUXIO_SIM_STATE_DIR", "value": state_dir},
        {"name": "KUBECONFIG", "value": kubeconfig},
        {"name": "PATH", "value": path},
    ]
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
        "spec": {"execs": [{"containers": list(CONTAINERS), "local": {"workDir": state_dir, "envs": envs}}]},
    }


def _same(existing: Dict[str, Any], want: Dict[str, Any]) -> bool:
    owners = [(o.get("uid"), o.get("name")) for o in existing["metadata"].get("ownerReferences") or []]
    want_owner = [(o["uid"], o["name"]) for o in want["metadata"]["ownerReferences"]]
    return existing.get("spec") == want["spec"] and owners == want_owner


def exec_path(namespace: str, name: Optional[str] = None) -> str:
    path = "%s/namespaces/%s/execs" % (KWOK_GROUP, namespace)
    return path + "/" + name if name else path


def reconcile(client: KubeClient, state_dir: str, kubeconfig: str, log=print, dry_run: bool = False) -> List[Dict]:
    """One pass: create/update Execs for master pods, delete stale managed ones."""
    pods = client.list("/api/v1/pods", MASTER_SELECTOR)
    wanted = {}
    for pod in pods:
        want = desired_exec(pod, state_dir, kubeconfig)
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
        if env["name"] == "ALLUXIO_SIM_RUNTIME":
            return env["value"]
    return "?"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config"))
    parser.add_argument("--state-dir", default=os.environ.get("ALLUXIO_SIM_STATE_DIR")
                        or "/tmp/alluxio-sim-%d" % os.getuid())
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("--dry-run", action="store_true", help="print the Exec objects, change nothing")
    args = parser.parse_args(argv)
    kubeconfig = os.path.abspath(args.kubeconfig)
    state_dir = os.path.abspath(args.state_dir)
    os.makedirs(state_dir, exist_ok=True)

    log = stderr_logger("exec-watcher")
    client = KubeClient(KubeConfig(kubeconfig, cert_dir=state_dir))
    if args.dry_run:
        result = reconcile(client, state_dir, kubeconfig, log=log, dry_run=True)
        print(json.dumps({"apiVersion": "v1", "kind": "List", "items": result}, indent=2))
        return 0
    return run_forever(lambda: reconcile(client, state_dir, kubeconfig, log=log), log, interval=args.interval,
                       once=args.once)


if __name__ == "__main__":
    sys.exit(main())
