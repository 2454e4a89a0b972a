"""Runtime status of every Fluid runtime kind, shaped as Fluid v1.0.8 writes it (for the readiness and module tests).

The status of all seven kinds is api/v1alpha1/status.go's RuntimeStatus: valueFile, the phases and the counts are
always serialized (no omitempty) once a controller wrote status. Who writes what:

* masterPhase and the master counts: pkg/ctrl/master.go CheckAndSyncMasterStatus (phase from the StatefulSet,
  pkg/utils/kubeclient/statefulset.go: 0 replicas -> Ready), called by each engine's CheckMasterReady
  (goosefs/master.go:36-52, efc/master.go:108-124, vineyard/master.go:33-50, jindocache/master.go:35-57);
  SetupMaster writes masterPhase NotReady, selector, valueFile and MasterInitialized first;
* workerPhase and the worker counts: pkg/ctrl/worker.go CheckAndSyncWorkerStatus;
* setupDuration and cacheStates: each engine's CheckAndUpdateRuntimeStatus (goosefs/status.go: 9 cache keys,
  efc/status.go: 9 keys all "" (efc/cache.go queries nothing), vineyard/status.go: no cacheStates,
  jindocache/status.go: 3 keys, no setupDuration; fuse-only Jindo writes valueFile only);
* fusePhase Ready and the fuse counts: pkg/ctrl/fuse.go, in Sync after setup.
"""
NINE = ("cacheCapacity", "cached", "cachedPercentage", "cacheHitRatio", "localHitRatio", "remoteHitRatio",
        "cacheThroughputRatio", "localThroughputRatio", "remoteThroughputRatio")


def cond(ctype, reason, message, status="True"):
    return {"type": ctype, "status": status, "reason": reason, "message": message,
            "lastProbeTime": "2026-01-01T00:00:10Z", "lastTransitionTime": "2026-01-01T00:00:10Z"}


MASTER_INIT = cond("MasterInitialized", "Master is initialized", "The master is initialized.")
MASTER_READY = cond("MasterReady", "Master is ready", "The master is ready.")
MASTER_NOT_READY = cond("MasterReady", "Master is ready", "The master is not ready.", "False")
WORKERS_INIT = cond("WorkersInitialized", "Workers are initialized", "The workers are initialized.")
WORKERS_READY = cond("WorkersReady", "Workers are ready", "The workers are ready.")
WORKERS_PARTIAL = cond("WorkersReady", "Workers are ready", "The workers are partially ready.")
WORKERS_NOT_READY = cond("WorkersReady", "Workers are ready", "The workers are not ready.", "False")
FUSES_READY = cond("FusesReady", "Fuses are ready", "The fuses are ready.")


def status(value_file, master=(1, 1, 1), worker=(2, 2, 2), master_phase="Ready", worker_phase="Ready",
           fuse=True, **more):
    """RuntimeStatus with the always-serialized fields; master/worker: (desired, current, ready)."""
    st = {"valueFile": value_file, "masterPhase": master_phase, "workerPhase": worker_phase,
          "desiredMasterNumberScheduled": master[0], "currentMasterNumberScheduled": master[1],
          "masterNumberReady": master[2],
          "desiredWorkerNumberScheduled": worker[0], "currentWorkerNumberScheduled": worker[1],
          "workerNumberReady": worker[2],
          "fusePhase": "Ready" if fuse else "", "currentFuseNumberScheduled": 0, "desiredFuseNumberScheduled": 0,
          "fuseNumberReady": 0}
    if worker_phase:
        st["workerNumberAvailable"] = worker[2]
        if worker[0] - worker[2] > 0:
            st["workerNumberUnavailable"] = worker[0] - worker[2]
    if fuse:
        st["fuseReason"] = "Fuses are ready"
    st.update(more)
    return st


# ---------------------------------------------------------------- GooseFS: like Alluxio (pkg/ddc/goosefs)

GOOSEFS_BOUND = status(
    "goose-goosefs-values", setupDuration="1m4s", selector="app=goosefs,release=goose,role=goosefs-worker",
    conditions=[MASTER_INIT, MASTER_READY, WORKERS_INIT, WORKERS_READY, FUSES_READY],
    cacheStates=dict(dict.fromkeys(NINE, "0.0%"), cacheCapacity="20.00GiB", cached="0.00B"),
    cacheAffinity={"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}})
# SetupMaster ran (sts created), CheckAndSyncMasterStatus saw no ready master yet
GOOSEFS_MASTER_STARTING = status("goose-goosefs-values", master=(1, 1, 0), worker=(0, 0, 0),
                                 master_phase="NotReady", worker_phase="", fuse=False,
                                 selector="app=goosefs,release=goose,role=goosefs-worker",
                                 conditions=[MASTER_INIT, MASTER_NOT_READY])
GOOSEFS_PARTIAL = status("goose-goosefs-values", worker=(2, 2, 1), worker_phase="PartialReady",
                         setupDuration="1m4s", conditions=[MASTER_INIT, MASTER_READY, WORKERS_INIT, WORKERS_PARTIAL])


# ---------------------------------------------------------------- EFC (pkg/ddc/efc)

EFC_CACHE = dict.fromkeys(NINE, "")  # efc/cache.go queryCacheStatus returns zero values
EFC_BOUND = status("efcdemo-efc-values", worker=(1, 1, 1), setupDuration="35s",
                   selector="app=efc,release=efcdemo,role=efc-worker",
                   conditions=[MASTER_INIT, MASTER_READY, WORKERS_INIT, WORKERS_READY, FUSES_READY],
                   cacheStates=EFC_CACHE)
# spec.master.disabled: the chart renders the master StatefulSet with 0 replicas, whose phase is Ready
EFC_MASTER_DISABLED = status("efcdemo-efc-values", master=(0, 0, 0), worker=(1, 1, 1), setupDuration="20s",
                             conditions=[MASTER_INIT, MASTER_READY, WORKERS_INIT, WORKERS_READY],
                             cacheStates=EFC_CACHE)
# spec.worker.disabled: Replicas() is 0, the worker StatefulSet has 0 replicas (phase Ready, nothing ready)
EFC_WORKER_DISABLED = status("efcdemo-efc-values", worker=(0, 0, 0), setupDuration="20s",
                             conditions=[MASTER_INIT, MASTER_READY, WORKERS_READY], cacheStates=EFC_CACHE)
EFC_WORKERS_NOT_READY = status("efcdemo-efc-values", worker=(1, 1, 0), worker_phase="NotReady", fuse=False,
                               conditions=[MASTER_INIT, MASTER_READY, WORKERS_INIT, WORKERS_NOT_READY])


# ---------------------------------------------------------------- Vineyard (pkg/ddc/vineyard)

# docs/en/samples/vineyard/vineyard_runtime.md: "vineyard   Ready   PartialReady   Ready" with replicas 2, Bound;
# no cacheStates (vineyard/status.go:66-83 is commented out), no cacheAffinity.
VINEYARD_PARTIAL = status("vineyard-vineyard-values", worker=(2, 2, 1), worker_phase="PartialReady",
                          setupDuration="2m13s", selector="app=vineyard,release=vineyard,role=vineyard-worker",
                          conditions=[MASTER_INIT, MASTER_READY, WORKERS_INIT, WORKERS_PARTIAL, FUSES_READY])
VINEYARD_BOUND = status("vineyard-vineyard-values", worker=(2, 2, 2), setupDuration="2m13s",
                        selector="app=vineyard,release=vineyard,role=vineyard-worker",
                        conditions=[MASTER_INIT, MASTER_READY, WORKERS_INIT, WORKERS_READY, FUSES_READY])


# ---------------------------------------------------------------- Jindo (pkg/ddc/jindocache, the default engine)

JINDO_BOUND = status("jindo-jindocache-values", selector="app=jindo,release=jindo,role=jindo-worker",
                     conditions=[MASTER_INIT, MASTER_READY, WORKERS_INIT, WORKERS_READY, FUSES_READY],
                     cacheStates={"cacheCapacity": "200.00GiB", "cached": "0.00B", "cachedPercentage": "0.0%"})
# master disabled, workers on: CheckMasterReady returns true and writes nothing (jindocache/master.go:35-41)
JINDO_NO_MASTER = status("jindo-jindocache-values", master=(0, 0, 0), master_phase="",
                         conditions=[WORKERS_INIT, WORKERS_READY, FUSES_READY],
                         cacheStates={"cacheCapacity": "200.00GiB", "cached": "0.00B", "cachedPercentage": "0.0%"})
# master and workers disabled (fuse only): only valueFile (jindocache/status.go:44-89)
JINDO_FUSE_ONLY = status("jindo-jindocache-values", master=(0, 0, 0), worker=(0, 0, 0), master_phase="",
                         worker_phase="", fuse=False)


# ---------------------------------------------------------------- all seven kinds

ALLUXIO_BOUND = status("cifar10-alluxio-values", setupDuration="27s", mountTime="2026-01-01T00:00:20Z",
                       selector="app=alluxio,release=cifar10,role=alluxio-worker",
                       conditions=[MASTER_INIT, MASTER_READY, WORKERS_INIT, WORKERS_READY, FUSES_READY],
                       cacheStates=dict(dict.fromkeys(NINE, "0.0%"), cacheCapacity="24.00GiB", cached="0.00B"))
# the samples of hack/notes/fluid-runtimes.md section 1.3
JUICEFS_BOUND = status("jfsdemo-juicefs-values", master=(0, 0, 0), worker=(1, 1, 1), master_phase="",
                       setupDuration="48s", conditions=[WORKERS_INIT, WORKERS_READY, FUSES_READY],
                       cacheStates={"cacheCapacity": "40.00GiB", "cached": "", "cachedPercentage": "",
                                    "cacheHitRatio": "", "cacheThroughputRatio": ""})
THIN_BOUND = status("nfs-demo-thin-values", master=(0, 0, 0), worker=(0, 0, 0), master_phase="", worker_phase="",
                    setupDuration="6s", conditions=[cond("FusesInitialized", "Fuses are initialized",
                                                         "The fuse is initialized."), FUSES_READY],
                    cacheStates=dict.fromkeys(("cacheCapacity", "cached", "cachedPercentage", "cacheHitRatio",
                                               "cacheThroughputRatio"), "N/A"))
BOUND = {
    "AlluxioRuntime": ({"replicas": 2}, ALLUXIO_BOUND),
    "GooseFSRuntime": ({"replicas": 2}, GOOSEFS_BOUND),
    "JindoRuntime": ({"replicas": 2}, JINDO_BOUND),
    "JuiceFSRuntime": ({"replicas": 1}, JUICEFS_BOUND),
    "ThinRuntime": ({"profileName": "nfs"}, THIN_BOUND),
    "EFCRuntime": ({"replicas": 1}, EFC_BOUND),
    "VineyardRuntime": ({"replicas": 2}, VINEYARD_BOUND),
}
