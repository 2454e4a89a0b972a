#!/usr/bin/env python3
"""Stand-in for the master's /etc/fluid/scripts/mount.sh (Fluid's alluxio chart).

Fluid execs the absolute path `/etc/fluid/scripts/mount.sh` (only with
master.replicas > 1, or when Dataset.spec.mounts change while
mountConfigStorage=configmap).  KWOK runs exec argv[0] on the host as is, so
that path must exist there: `ln -s <repo>/hack/cluster/alluxio_sim/bin/mount.sh
/etc/fluid/scripts/mount.sh`.  It reconciles the simulated mount table with
mount.info of the runtime's <runtime>-mount-config ConfigMap, like the real script.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))))
from alluxio_sim.simulator import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["__mount.sh__"] + sys.argv[1:], prog="mount.sh"))
