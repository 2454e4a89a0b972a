"""Where the embedded cluster lives: the repository, the binary cache, the work folder and the
files in it (kubeconfig, logs, pid files, the CSI stand-in's state), and the driver the supervisor
is started from. WORK is read from $FLUID_CLUSTER_WORKDIR when this module is first imported (a
relative one is relative to the repository; default .work/), so every module of the driver and
every process it starts with that variable set see the same cluster. Also `log`, the driver's
one way of printing progress.
"""
import os

# hack/cluster (this package's parent): the folder of cluster.py, the fixtures, the simulators
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(HERE))
CACHE = os.environ.get("FLUID_CLUSTER_CACHE", os.path.join(ROOT, ".cache"))
# the cluster's folder; a relative FLUID_CLUSTER_WORKDIR is relative to the repository
WORK = os.path.join(ROOT, os.environ.get("FLUID_CLUSTER_WORKDIR") or ".work")
NAME = "fluid"
KWOK_HOME = os.path.join(WORK, "kwok")
CLUSTER_DIR = os.path.join(KWOK_HOME, "clusters", NAME)
KUBECONFIG = os.path.join(CLUSTER_DIR, "kubeconfig.yaml")
LOGS = os.path.join(WORK, "logs")
RUN = os.path.join(WORK, "run")
FLUID_NAMESPACE = "fluid-system"
# the (node, volume) pairs the CSI stand-in staged, as a kubelet keeps them on disk; one cluster's life
CSI_STANDIN_STATE = os.path.join(RUN, "csi-standin.json")
# the command line the supervisor is started from (`DRIVER supervise`, see lifecycle.ensure_supervisor)
DRIVER = os.path.join(HERE, "cluster.py")


def log(msg):
    print(msg, flush=True)
