# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The force option of the modules that delete Datasets and runtimes.
    DOCUMENTATION = r"""
options:
  force:
    description:
      - With O(state=absent), finish a deletion that Fluid's controller can no longer finish. When the objects are
        not gone within O(wait_timeout), the task removes Fluid's own finalizer (C(fluid-dataset-controller-finalizer),
        C(alluxio-runtime-controller-finalizer), ...) of each object that is still there, but only when the
        controller that owns it is not running. Then it waits once more, O(wait_timeout) but at most 30 seconds, for the objects to go.
      - Not running means that its leader-election Lease (C(dataset.data.fluid.io), C(alluxio.data.fluid.io), ...
        in the namespace Fluid was installed in; Fluid's chart runs every controller with leader election) was not
        renewed for its lease duration plus 10 seconds, or that neither the Lease nor a ready pod of the controller's
        Deployment exists. Both are looked up by name in every namespace, which needs C(list) on
        C(leases.coordination.k8s.io) and C(deployments.apps) cluster-wide; without it the controller counts as
        running. A controller that runs (or might run) is left to finish the deletion, and the task fails as without
        O(force), saying that the controller is healthy and that force was not applied.
      - Never removed, as Fluid itself would not remove them, are the finalizers of an object whose PVC a running pod
        still uses, of a Dataset that other Datasets mount, of a Dataset whose runtime of the same name exists and is
        not being deleted, and finalizers that are not Fluid's (C(kubernetes.io/pvc-protection), another operator's).
        A Dataset whose runtime is also stuck in deletion gets the runtime's finalizer removed first.
      - What the controller's deletion path would have cleaned up for a runtime (the PVC and PV of the Dataset's
        name, the runtime's Helm release and config maps, node labels) is not; the task warns about the PVC and PV
        it finds.
      - Only with O(state=absent) (every item) and O(wait=true); refused otherwise.
      - In check mode, reports the finalizers a run would remove now (their controllers already not running), by a
        server-side dry run.
    type: bool
    default: false
"""
