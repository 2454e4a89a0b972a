# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether the Fluid controller that owns an object is running, from its leader-election Lease.

Fluid's chart starts every controller with ``--enable-leader-election
--leader-election-namespace=<fluid namespace>`` (charts/fluid/fluid/templates/controller/*_controller.yaml,
e.g. alluxioruntime_controller.yaml:52-53). Each then holds the coordination.k8s.io Lease named by its
LeaderElectionID (cmd/alluxio/app/alluxio.go:126 "alluxio.data.fluid.io", cmd/dataset/app/dataset.go:134
"dataset.data.fluid.io", ...) and, with controller-runtime v0.17.5's defaults (pkg/manager/internal.go:52-54:
lease 15 s, renew deadline 10 s, retry 2 s), renews it every 2 s. A leader that cannot renew within the renew
deadline exits. So a Lease whose ``renewTime + leaseDurationSeconds`` lies in the past has no live leader: the
controller is stalled (hung, crash-looping, scaled to 0, uninstalled). ``judge`` decides from the Lease and the
controller's Deployment; it never guesses in favour of force: what it cannot tell counts as running.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid

# Lease name (LeaderElectionID) of each controller's Deployment name (Fluid v1.0.8 cmd/*/app/*.go).
LEASES = {
    "dataset-controller": "dataset.data.fluid.io",  # cmd/dataset/app/dataset.go:134
    "alluxioruntime-controller": "alluxio.data.fluid.io",  # cmd/alluxio/app/alluxio.go:126
    "jindoruntime-controller": "jindo.data.fluid.io",  # cmd/jindo/app/jindo.go:133
    "juicefsruntime-controller": "juicefs.data.fluid.io",  # cmd/juicefs/app/juicefs.go:137
    "thinruntime-controller": "thin.data.fluid.io",  # cmd/thin/app/thin.go:130
    "goosefsruntime-controller": "goosefs.data.fluid.io",  # cmd/goosefs/app/goosefs.go:116
    "efcruntime-controller": "efc.data.fluid.io",  # cmd/efc/app/efc.go:126
    "vineyardruntime-controller": "vineyard.data.fluid.io",  # cmd/vineyard/app/vineyard.go:124
}
# Seconds past renewTime + leaseDurationSeconds before a Lease counts as stale: slack for clock
# skew between the leader's host and this one, and for a loaded API server.
MARGIN = 10

RUNNING, STALLED, ABSENT, UNKNOWN = "running", "stalled", "absent", "unknown"


class Verdict(object):
    """What is known about one controller: state (RUNNING, STALLED, ABSENT or UNKNOWN) and why, in words."""

    def __init__(self, controller, state, why):
        self.controller, self.state, self.why = controller, state, why

    @property
    def forceable(self):
        """True when nobody runs the controller: only then may its finalizers be removed by someone else."""
        return self.state in (STALLED, ABSENT)

    def text(self):
        words = {RUNNING: "is running", STALLED: "is stalled", ABSENT: "is not running", UNKNOWN: "may be running"}
        return "Fluid's %s %s: %s" % (self.controller, words[self.state], self.why)

    def __repr__(self):
        return "Verdict(%r, %r)" % (self.controller, self.state)


def lease_name(controller):
    return LEASES.get(controller)


def judge(controller, lease, deployment, now, namespace=fluid.FLUID_NAMESPACE):
    """The Verdict of one controller from its Lease and its Deployment (dicts as the API returns them, or None).

    - a Lease with a holder renewed within leaseDurationSeconds + MARGIN: RUNNING;
    - a Lease not renewed for longer: STALLED (its holder stopped renewing);
    - a Lease without holder (released): ABSENT unless the Deployment has ready pods (a new leader is on its way:
      UNKNOWN);
    - no Lease: ABSENT when there is no Deployment or it has no ready pod; UNKNOWN when pods are ready
      (a controller started without leader election, or just starting): not counted as stalled.
    """
    where = "%s/%s" % (namespace, lease_name(controller))
    spec = (lease or {}).get("spec") or {}
    holder = spec.get("holderIdentity")
    duration = spec.get("leaseDurationSeconds")
    renewed = fluid.epoch(spec.get("renewTime") or spec.get("acquireTime"))
    if lease is not None and holder and renewed is not None:
        duration = int(duration or 15)
        age = int(now - renewed)
        if now <= renewed + duration + MARGIN:
            return Verdict(controller, RUNNING, "its Lease %s is held by %s, renewed %d s ago (lease %d s)"
                           % (where, holder, max(age, 0), duration))
        return Verdict(controller, STALLED, "its Lease %s was last renewed %d s ago by %s (lease %d s): no leader "
                       "is renewing it" % (where, age, holder, duration))
    dspec = (deployment or {}).get("spec") or {}
    ready = int(((deployment or {}).get("status") or {}).get("readyReplicas") or 0)
    if deployment is not None and ready > 0:
        return Verdict(controller, UNKNOWN, "its Lease %s %s, but its Deployment %s/%s has %d ready pod(s): it may run "
                       "without leader election, or be starting" % (
                           where, "has no holder" if lease is not None else "does not exist", namespace, controller,
                           ready))
    if deployment is None:
        return Verdict(controller, ABSENT, "neither its Lease %s nor its Deployment %s/%s exists" % (
            where, namespace, controller))
    replicas = dspec.get("replicas")
    return Verdict(controller, ABSENT, "its Lease %s %s and its Deployment %s/%s has no ready pod (spec.replicas %s)"
                   % (where, "has no holder" if lease is not None else "does not exist", namespace, controller,
                      replicas if replicas is not None else 1))


RANK = {RUNNING: 0, UNKNOWN: 1, STALLED: 2, ABSENT: 3}


def best(verdicts):
    """Of several installations' verdicts, the one most in favour of a running controller."""
    return sorted(verdicts, key=lambda v: RANK[v.state])[0]


def verdict(client, kind, now=None):
    """The Verdict of the controller that reconciles ``kind``. Its Lease and Deployment are looked up by name in every
    namespace (Fluid's chart puts them in the namespace it is installed in, fluid-system by default); with several,
    the one most in favour of a running controller counts. A read that fails (permissions) makes it UNKNOWN, naming
    what to grant."""
    controller = fluid.controller_name(kind)
    name = lease_name(controller)
    now = time.time() if now is None else now
    if name is None:
        return Verdict(controller, UNKNOWN, "this collection does not know its Lease")
    try:
        leases = client.list("Lease", None, field_selector="metadata.name=" + name)
        deployments = client.list("Deployment", None, field_selector="metadata.name=" + controller)
    except Exception as e:  # pylint: disable=broad-except
        return Verdict(controller, UNKNOWN, "its Lease %s could not be read (%s); grant list on leases.coordination."
                       "k8s.io and deployments.apps in all namespaces" % (
                           name, str(e).splitlines()[0] if str(e) else type(e).__name__))

    def namespace_of(o):
        return (o.get("metadata") or {}).get("namespace") or fluid.FLUID_NAMESPACE

    by_namespace = dict((namespace_of(d), d) for d in deployments)
    verdicts = [judge(controller, lease, by_namespace.get(namespace_of(lease)), now, namespace_of(lease))
                for lease in leases]
    verdicts += [judge(controller, None, d, now, ns) for ns, d in by_namespace.items()
                 if ns not in set(namespace_of(lease) for lease in leases)]
    return best(verdicts or [judge(controller, None, None, now)])
