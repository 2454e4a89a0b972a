#!/usr/bin/env python3
"""A fleet of embedded clusters side by side, and an inventory with one host per cluster.

    fleet.py up NAME...     bring up one embedded cluster per name (FLEET/NAME, own ports), write
                            FLEET/inventory/ (one host per cluster in group fluid_controller)
    fleet.py down [NAME...] bring them down (default: every cluster of the fleet folder)
    fleet.py status         each cluster's `cluster: ...` line

FLEET is $FLUID_FLEET_WORKDIR (relative to the repository; default .work-fleet). Each cluster is a
cluster.py cluster with FLUID_CLUSTER_WORKDIR=FLEET/NAME, so `cluster.py` commands (status,
restart-component, ...) work on one of them with that variable set. The inventory's hosts use
`ansible_connection: local`, their own `k8s_kubeconfig` and the embedded cluster's facts
(inventories/local/group_vars/all, linked, reads FLEET/NAME/cluster.json for each host).
"""
import argparse
import os
import re
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DRIVER = os.path.join(HERE, "cluster.py")
FLEET = os.path.join(ROOT, os.environ.get("FLUID_FLEET_WORKDIR") or ".work-fleet")
NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")


def cluster_env(name):
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env["FLUID_CLUSTER_WORKDIR"] = os.path.join(FLEET, name)
    return env


def driver(name, *args, capture=False):
    return subprocess.run([sys.executable, DRIVER] + list(args), env=cluster_env(name), cwd=ROOT,
                          capture_output=capture, text=True, check=False)


def members():
    """Names of the clusters in the fleet folder (those brought up at least once)."""
    if not os.path.isdir(FLEET):
        return []
    return sorted(n for n in os.listdir(FLEET) if NAME_RE.match(n) and os.path.isdir(os.path.join(FLEET, n, "run")))


def write_inventory(clusters, inv=None):
    """INV/hosts.yml (default FLEET/inventory) with one host per cluster ({name: work folder}), and
    group_vars/all linked to inventories/local's (the embedded cluster's facts, read per host from
    its own cluster.json). Returns INV."""
    inv = inv or os.path.join(FLEET, "inventory")
    os.makedirs(os.path.join(inv, "group_vars"), exist_ok=True)
    link = os.path.join(inv, "group_vars", "all")
    target = os.path.join(ROOT, "inventories", "local", "group_vars", "all")
    if os.path.islink(link) and os.readlink(link) != target:
        os.remove(link)
    if not os.path.islink(link):
        os.symlink(target, link)
    hosts = {}
    for name, work in sorted(clusters.items()):
        hosts[name] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            # inventories/local/group_vars/all/cluster.yml reads WORKDIR/cluster.json
            "embedded_cluster_workdir": work,
            "k8s_kubeconfig": os.path.join(work, "kwok", "clusters", "fluid", "kubeconfig.yaml"),
        }
    path = os.path.join(inv, "hosts.yml")
    with open(path, "w") as fh:
        fh.write("---\n# Written by hack/cluster/fleet.py: one host per embedded cluster.\n")
        yaml.safe_dump({"all": {"children": {"fluid_controller": {"hosts": hosts}}}}, fh, sort_keys=False)
    return inv


def up(args):
    bad = [n for n in args.names if not NAME_RE.match(n) or n == "inventory"]
    if bad:
        sys.exit("fleet.py: cluster names must be lowercase letters, digits, '-' or '_' (not 'inventory'): %s"
                 % ", ".join(bad))
    for name in args.names:  # one after the other: cluster starts are serialised anyway (ports_lock)
        print("== %s (%s)" % (name, os.path.join(FLEET, name)), flush=True)
        if driver(name, "up").returncode != 0:
            sys.exit("fleet.py: cluster %s did not come up; its logs: %s" % (name, os.path.join(FLEET, name, "logs")))
    inv = write_inventory({n: os.path.join(FLEET, n) for n in set(members()) | set(args.names)})
    print("inventory: %s" % inv, flush=True)


def down(args):
    names = args.names or members()
    failed = [n for n in names if driver(n, "down").returncode != 0]
    if failed:
        sys.exit("fleet.py: cluster-down failed for %s" % ", ".join(failed))


def status(args):
    for name in members():
        out = driver(name, "status", capture=True).stdout
        state = next((line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("cluster: ")), "?")
        print("%s: %s" % (name, state))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("up")
    u.add_argument("names", nargs="+")
    u.set_defaults(fn=up)
    d = sub.add_parser("down")
    d.add_argument("names", nargs="*")
    d.set_defaults(fn=down)
    sub.add_parser("status").set_defaults(fn=status)
    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
