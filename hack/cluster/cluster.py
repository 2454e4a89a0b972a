#!/usr/bin/env python3
"""The embedded cluster: a real Kubernetes control plane without containers.

kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes),
etcd (go.etcd.io/etcd/server/v3), KWOK (fake kubelets for nodes and pods) and
Helm are built from the Go module proxy at the versions pinned in
hack/versions.env, cached under .cache/bin/<pins-hash>/, and wired together by
kwokctl's "binary" runtime. On top of that a supervisor (`supervise`,
embedded/supervisor.py) runs the HTTP fixtures, the Alluxio exec watcher, the
CSI node plugin stand-in (csi_standin.py) and the real Fluid controllers once
Fluid's CRDs are Established, restarting whatever crashes.

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
import os

# hack/cluster is sys.path[0] when this file runs as a script: the driver's code is the package
# hack/cluster/embedded (paths, build, helpers, config, lifecycle, faults, supervisor)
from embedded.build import Layout, build
from embedded.config import apply_nodes
from embedded.faults import COMPONENTS, pause, restart_component, resume, start_components
from embedded.lifecycle import down, ports, status, up
from embedded.paths import log
from embedded.supervisor import supervise


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
