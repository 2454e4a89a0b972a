# -*- coding: utf-8 -*-
# Copyright (c) cloudnative.fluid contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts about Fluid's API (data.fluid.io/v1alpha1, Fluid 1.0.x), without any I/O.

Kinds and plural names, phases, what each runtime kind's spec has, where the controllers run,
and readers of status fields. The API reads that explain a wait live in ``diagnose``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import posixpath
import time

from ansible_collections.cloudnative.fluid.plugins.module_utils.quantity import (
    QuantityError,
    parse_bytes,
)

GROUP = "data.fluid.io"
VERSION = "v1alpha1"
API_VERSION = GROUP + "/" + VERSION

DATASET = "Dataset"
DATALOAD = "DataLoad"
DATAPROCESS = "DataProcess"
DATAMIGRATE = "DataMigrate"
DATABACKUP = "DataBackup"
# data operations this collection creates and follows (their workload: observe.OPERATION_WORKLOADS; their
# Dataset: operation_dataset())
OPERATION_KINDS = (DATALOAD, DATAPROCESS, DATAMIGRATE, DATABACKUP)
# what spec.runAfter may name (api/v1alpha1/common.go ObjectRef)
OPERATION_REF_KINDS = ("DataLoad", "DataProcess", "DataMigrate", "DataBackup")
# Fluid names an operation's Helm release <name>-loader, -processor, -migrate, -charts; Helm refuses release
# names over 53 characters, and Fluid does not check (pkg/utils/dataload.go, dataprocess.go, ...): the
# operation then stays Executing with DataOperationExecutionFailed events
OPERATION_NAME_MAX = {"DataLoad": 46, "DataProcess": 43, "DataMigrate": 45, "DataBackup": 46}

# kind -> plural, as in Fluid's CRDs (charts/fluid/fluid/crds)
PLURALS = {
    "Dataset": "datasets",
    "DataLoad": "dataloads",
    "DataBackup": "databackups",
    "DataMigrate": "datamigrates",
    "DataProcess": "dataprocesses",
    "AlluxioRuntime": "alluxioruntimes",
    "JindoRuntime": "jindoruntimes",
    "JuiceFSRuntime": "juicefsruntimes",
    "ThinRuntime": "thinruntimes",
    "GooseFSRuntime": "goosefsruntimes",
    "EFCRuntime": "efcruntimes",
    "VineyardRuntime": "vineyardruntimes",
    "ThinRuntimeProfile": "thinruntimeprofiles",
}

# Every runtime kind of Fluid 1.0 (cloudnative.fluid.runtime's kind choices); a Dataset binds to the runtime of
# its own name, of any of these.
RUNTIME_KINDS = ("AlluxioRuntime", "JindoRuntime", "JuiceFSRuntime", "ThinRuntime", "GooseFSRuntime", "EFCRuntime",
                 "VineyardRuntime")
ALL_RUNTIME_KINDS = RUNTIME_KINDS
# Runtimes without a master: JuiceFS's engine never writes a master phase (its CheckMasterReady
# returns true, pkg/ddc/juicefs/master.go), and Thin's FUSE DaemonSet stands where a master would
# (pkg/ddc/thin/master.go).
RUNTIMES_WITHOUT_MASTER = ("JuiceFSRuntime", "ThinRuntime")

THIN_RUNTIME_PROFILE = "ThinRuntimeProfile"
# Kinds without a namespace (api/v1alpha1/thinruntimeprofile_types.go: +kubebuilder:resource:scope=Cluster).
CLUSTER_SCOPED = (THIN_RUNTIME_PROFILE,)

# What each runtime kind's spec has, from Fluid v1.0.8's api/v1alpha1/<kind>runtime_types.go: the field of its
# runtime-wide image (None: images are per component), its components, env as a map or a list of name/value pairs
# (None: no env), where a component's image goes ("version": EFC's components nest it under version), the typed
# options of the spec, and the typed options of each component. This collection's option names are the snake_case
# of Fluid's json names (RUNTIME_FIELDS); an option a kind's type lacks is refused, naming the kinds that have it.
RUNTIME_COMPONENTS = ("master", "worker", "fuse")
_COMMON = ("node_selector", "resources")
_ALLUXIO_COMP = _COMMON + ("jvm_options", "properties", "env", "network_mode", "volume_mounts")
_JUICEFS_COMP = _COMMON + ("options", "env", "network_mode", "volume_mounts")
_EFC_COMP = _COMMON + ("properties", "image", "image_tag", "network_mode")
_VINEYARD_COMP = _COMMON + ("env", "image", "image_tag", "options", "network_mode", "volume_mounts")
RUNTIME_SPECS = {
    # AlluxioCompTemplateSpec (:43-95), AlluxioFuseSpec (:98-158), AlluxioRuntimeSpec (:172-243)
    "AlluxioRuntime": dict(
        version="alluxioVersion", components=RUNTIME_COMPONENTS, env="map", image_at=None,
        spec=("properties", "data", "run_as", "volumes", "api_gateway", "management"),
        master=_ALLUXIO_COMP, worker=_ALLUXIO_COMP,
        fuse=_ALLUXIO_COMP + ("image", "image_tag", "args", "clean_policy")),
    # GooseFSCompTemplateSpec (:25-69), GooseFSFuseSpec (:72-122), GooseFSRuntimeSpec (:125-186): no volumes, no
    # network modes
    "GooseFSRuntime": dict(
        version="goosefsVersion", components=RUNTIME_COMPONENTS, env="map", image_at=None,
        spec=("properties", "data", "run_as", "api_gateway"),
        master=_COMMON + ("jvm_options", "properties", "env"), worker=_COMMON + ("jvm_options", "properties", "env"),
        fuse=_COMMON + ("jvm_options", "properties", "env", "image", "image_tag", "args", "clean_policy")),
    # JindoCompTemplateSpec (:29-82), JindoFuseSpec (:85-154), JindoRuntimeSpec (:157-222): one network mode for the
    # whole runtime (json "networkmode"), no volume mounts on the fuse
    "JindoRuntime": dict(
        version="jindoVersion", components=RUNTIME_COMPONENTS, env="map", image_at=None,
        spec=("properties", "run_as", "volumes", "network_mode"),
        master=_COMMON + ("properties", "env", "volume_mounts"), worker=_COMMON + ("properties", "env", "volume_mounts"),
        fuse=_COMMON + ("properties", "env", "image", "image_tag", "args", "clean_policy")),
    # JuiceFSRuntimeSpec (:33-83), JuiceFSCompTemplateSpec (:86-128), JuiceFSFuseSpec (:130-176)
    "JuiceFSRuntime": dict(
        version="juicefsVersion", components=RUNTIME_COMPONENTS, env="list", image_at=None,
        spec=("run_as", "volumes", "management", "configs"),
        master=_JUICEFS_COMP, worker=_JUICEFS_COMP, fuse=_JUICEFS_COMP + ("image", "image_tag", "clean_policy")),
    # ThinRuntimeSpec (:32-70), ThinCompTemplateSpec (:73-129), ThinFuseSpec (:131-201): no master
    "ThinRuntime": dict(
        version=None, components=("worker", "fuse"), env="list", image_at=None,
        spec=("run_as", "volumes", "management"),
        worker=_COMMON + ("env", "image", "image_tag", "network_mode", "volume_mounts"),
        fuse=_COMMON + ("env", "image", "image_tag", "command", "args", "options", "clean_policy", "network_mode",
                        "volume_mounts")),
    # EFCCompTemplateSpec (:48-91), EFCFuseSpec (:94-130), EFCRuntimeSpec (:133-162): images under each
    # component's version, no env, no volumes
    "EFCRuntime": dict(
        version=None, components=RUNTIME_COMPONENTS, env=None, image_at="version",
        spec=(), master=_EFC_COMP, worker=_EFC_COMP, fuse=_EFC_COMP + ("clean_policy",)),
    # VineyardCompTemplateSpec (:25-110), MasterSpec (:132-152), VineyardClientSocketSpec (:155-235),
    # VineyardRuntimeSpec (:238-301): the fuse (a client socket) has no node selector and no volume mounts
    "VineyardRuntime": dict(
        version=None, components=RUNTIME_COMPONENTS, env="map", image_at=None,
        spec=("volumes",), master=_VINEYARD_COMP, worker=_VINEYARD_COMP,
        fuse=("resources", "env", "image", "image_tag", "options", "clean_policy", "network_mode")),
}
# The json name of each typed option where it is not the camelCase of the option (JindoRuntimeSpec's
# `NetworkMode json:"networkmode"`, jindoruntime_types.go:209).
RUNTIME_FIELDS = {"network_mode": {"JindoRuntime": "networkmode"}}
# Values of Fluid's enums (api/v1alpha1/constant.go:44-58, container_network.go:19-27; "" means the default).
FUSE_CLEAN_POLICIES = ("OnDemand", "OnRuntimeDeleted", "OnFuseChanged")
NETWORK_MODES = ("HostNetwork", "ContainerNetwork")


def runtime_options(kind, part):
    """The typed options of one part ("spec", "master", "worker", "fuse") of a runtime kind; () if it has none."""
    return RUNTIME_SPECS[kind].get(part) or ()


def kinds_with(part, option):
    """The runtime kinds whose `part` has `option`, for messages."""
    return [k for k in RUNTIME_KINDS if option in runtime_options(k, part)]


def camel(name):
    """Fluid's json name of a snake_case option: image_tag -> imageTag."""
    words = name.split("_")
    return words[0] + "".join(w.capitalize() for w in words[1:])


# Dataset phases (api/v1alpha1/dataset_types.go); a Bound Dataset is DataMigrating while a DataMigrate runs on it
# (pkg/controllers/v1alpha1/datamigrate/implement.go:142-148), still served by its runtime
PHASE_BOUND = "Bound"
PHASE_DATA_MIGRATING = "DataMigrating"
PHASES_SERVED = (PHASE_BOUND, PHASE_DATA_MIGRATING)

# Runtime component phases (api/v1alpha1/status.go)
RUNTIME_READY = "Ready"
RUNTIME_PARTIAL_READY = "PartialReady"

# Fluid's own node labels: fluid.io/s-<ns>-<name>, fluid.io/s-h-<runtime>-t-<ns>-<name>,
# fluid.io/dataset-num ... (pkg/common/label.go) and the Exclusive placement label (pkg/common/common.go),
# whose value is <namespace>_<dataset name>.
LABEL_DOMAIN = "fluid.io"
EXCLUSIVE_LABEL = "fluid_exclusive"

# Data operation (DataLoad ...) phases, api/v1alpha1 common.Phase*.
OP_EXECUTING = "Executing"
OP_COMPLETE = "Complete"
OP_FAILED = "Failed"
OP_FINISHED = (OP_COMPLETE, OP_FAILED)

# Where Fluid's chart runs its controllers, and which one reconciles each kind (the Deployment names
# of charts/fluid/fluid/templates/controller). Data operations are reconciled by the dataset controller.
FLUID_NAMESPACE = "fluid-system"
CONTROLLERS = {
    "Dataset": "dataset-controller",
    "DataLoad": "dataset-controller",
    "DataBackup": "dataset-controller",
    "DataMigrate": "dataset-controller",
    "DataProcess": "dataset-controller",
    "AlluxioRuntime": "alluxioruntime-controller",
    "JindoRuntime": "jindoruntime-controller",
    "JuiceFSRuntime": "juicefsruntime-controller",
    "ThinRuntime": "thinruntime-controller",
    "GooseFSRuntime": "goosefsruntime-controller",
    "EFCRuntime": "efcruntime-controller",
    "VineyardRuntime": "vineyardruntime-controller",
}

# The finalizer each Fluid controller puts on the objects it owns and removes at the end of their deletion path,
# Fluid v1.0.8: the Dataset's (pkg/controllers/v1alpha1/dataset/dataset_controller.go:47, removed at :238-246 once no
# running pod uses its PVC and no Dataset mounts it), each runtime's (pkg/controllers/v1alpha1/<kind>/implement.go,
# EFC's pkg/common/efc.go:27; removed by pkg/controllers/runtime_controller.go:184-250 after deleting the PVC and PV,
# uninstalling the runtime's Helm release, cleaning the FUSE node labels and config maps and unbinding the
# Dataset). Any other finalizer (kubernetes.io/pvc-protection, foregroundDeletion, another operator's) is not Fluid's.
FINALIZERS = {
    "Dataset": "fluid-dataset-controller-finalizer",
    "AlluxioRuntime": "alluxio-runtime-controller-finalizer",
    "JindoRuntime": "jindo-runtime-controller-finalizer",
    "JuiceFSRuntime": "juicefs-runtime-controller-finalizer",
    "ThinRuntime": "thin-runtime-controller-finalizer",
    "GooseFSRuntime": "goosefs-runtime-controller-finalizer",
    "EFCRuntime": "efc-runtime-controller-finalizer",
    "VineyardRuntime": "vineyard-runtime-controller-finalizer",
}

INSTALL_HINT = (
    "Fluid is not installed in this cluster: the data.fluid.io CRDs are missing. "
    "Install Fluid first with the role cloudnative.fluid.fluid (it installs the CRDs and controllers), "
    "then run this task again."
)

# Mount point schemes that Fluid 1.0 runtimes understand. Fluid itself handles local://, pvc://,
# http(s):// and dataset://; the rest are the under-storage schemes of Alluxio, Jindo, JuiceFS and
# ThinRuntime profiles.
MOUNT_SCHEMES = (
    "https", "http", "s3", "s3a", "oss", "hdfs", "webhdfs", "pvc", "local", "dataset",
    "gs", "gcs", "wasb", "wasbs", "abfs", "abfss", "adl", "cos", "cosn", "obs", "ks3", "bos",
    "swift", "alluxio", "jfs", "juicefs", "nfs", "cephfs", "cubefs", "glusterfs", "minio", "ozone",
)


def plural(kind):
    try:
        return PLURALS[kind]
    except KeyError:
        raise ValueError("unknown Fluid kind %r (known: %s)" % (kind, ", ".join(sorted(PLURALS))))


# ---------------------------------------------------------------- status readers


def status_of(obj):
    return (obj or {}).get("status") or {}


def phase(obj):
    """Dataset (or data operation) phase, '' when no status has been written."""
    return status_of(obj).get("phase") or ""


def is_bound(obj):
    return obj is not None and phase(obj) == PHASE_BOUND


def conditions(obj):
    """Conditions as a list of dicts with type, status, reason, message (times dropped)."""
    out = []
    for c in status_of(obj).get("conditions") or []:
        out.append({k: c.get(k) for k in ("type", "status", "reason", "message") if c.get(k) is not None})
    return out


def has_status(obj):
    """True once any controller has written a status."""
    st = status_of(obj)
    return bool(st.get("phase") or st.get("conditions") or st.get("masterPhase") or st.get("workerPhase")
                or st.get("fusePhase") or st.get("cacheStates"))


def cache_states(obj):
    """status.cacheStates as written (strings), e.g. {'cacheCapacity': '12.00GiB', 'cached': '0.00B'}."""
    return dict(status_of(obj).get("cacheStates") or {})


def _bytes_or_none(text):
    try:
        return parse_bytes(text)
    except QuantityError:
        return None


def cache_capacity_bytes(obj):
    return _bytes_or_none(cache_states(obj).get("cacheCapacity"))


def cached_bytes(obj):
    return _bytes_or_none(cache_states(obj).get("cached"))


def cached_percentage(obj):
    """cachedPercentage as a float (``'12.5%'`` -> 12.5), None when unknown."""
    text = cache_states(obj).get("cachedPercentage")
    if not text:
        return None
    try:
        return float(str(text).strip().rstrip("%"))
    except ValueError:
        return None


def ufs_total(obj):
    return status_of(obj).get("ufsTotal") or ""


def ufs_total_bytes(obj):
    text = ufs_total(obj)
    # Fluid writes "[Calculating]" while it is still counting.
    if not text or text.startswith("["):
        return None
    return _bytes_or_none(text)


def operation_dataset(obj):
    """The name of the Dataset a data operation works on (None when it names none): spec.dataset.name, spec.dataset
    itself for a DataBackup (a string, api/v1alpha1/databackup_types.go:29), and for a DataMigrate spec.to.dataset,
    else spec.from.dataset, as Fluid v1.0.8 picks it when spec.runtimeType is empty (pkg/utils/datamigrate.go:61-68)."""
    spec = (obj or {}).get("spec") or {}
    if isinstance(spec.get("dataset"), str):
        return spec["dataset"]
    for side in (spec, spec.get("to") or {}, spec.get("from") or {}):
        name = (side.get("dataset") or {}).get("name")
        if name:
            return name
    return None


def operations_holding(dataset, kind):
    """Names of the data operations of this kind that hold a Dataset while they run (status.operationRef[kind], a
    comma-separated list: api/v1alpha1/dataset_types.go:355-394)."""
    refs = (status_of(dataset).get("operationRef") or {}).get(kind) or ""
    return [n for n in refs.split(",") if n]


def bound_runtime(obj):
    """The runtime serving a Dataset (status.runtimes, category Accelerate, as Fluid's data operations look it up:
    pkg/controllers/operation_controller.go:159), or None."""
    return next((r for r in dataset_runtimes(obj) if r.get("category") == "Accelerate"), None)


def dataset_runtimes(obj):
    """status.runtimes: the runtimes a Dataset is bound to, as dicts with name, namespace, type, category."""
    out = []
    for r in status_of(obj).get("runtimes") or []:
        out.append({k: r.get(k) for k in ("name", "namespace", "type", "category", "masterReplicas") if r.get(k) is not None})
    return out


def facts(obj, *readers):
    """{name: reader(obj)} for the named status readers of this module (a result entry's status part)."""
    return dict((name, globals()[name](obj)) for name in readers)


def dataset_dirs(dataset):
    """Top-level directories of a Dataset as the runtime shows them: each mount's path, else /<name>."""
    dirs = []
    for m in ((dataset or {}).get("spec") or {}).get("mounts") or []:
        path = m.get("path") or ("/" + m["name"] if m.get("name") else None)
        if path:
            dirs.append(posixpath.normpath(path))
    return dirs


def runtime_components(obj):
    """Per component phase and counts of a runtime's status.

    Returns {'master': {...}, 'worker': {...}, 'fuse': {...}}, each with phase, ready, desired
    (and reason when Fluid gave one).
    """
    st = status_of(obj)

    def comp(name):
        c = {
            "phase": st.get(name + "Phase") or "",
            "ready": int(st.get(name + "NumberReady") or 0),
            "desired": int(st.get("desired" + name.capitalize() + "NumberScheduled") or 0),
            "scheduled": int(st.get("current" + name.capitalize() + "NumberScheduled") or 0),
        }
        if st.get(name + "Reason"):
            c["reason"] = st[name + "Reason"]
        return c

    return {"master": comp("master"), "worker": comp("worker"), "fuse": comp("fuse")}


def _disabled(obj, component):
    return bool((((obj.get("spec") or {}).get(component)) or {}).get("disabled"))


def runtime_has_workers(obj, kind):
    """Whether Fluid deploys workers for this runtime: ThinRuntime only with spec.worker.enabled
    (pkg/ddc/thin/util.go), Jindo and EFC unless spec.worker.disabled (jindocache/worker.go
    CheckWorkersReady; EFCRuntime.Replicas() is 0 then, api/v1alpha1/efcruntime_types.go:204-214)."""
    worker = ((obj or {}).get("spec") or {}).get("worker") or {}
    if kind == "ThinRuntime":
        return bool(worker.get("enabled"))
    if kind in ("JindoRuntime", "EFCRuntime"):
        return not worker.get("disabled")
    return True


def runtime_ready(obj, kind="AlluxioRuntime", min_workers=None):
    """Whether the runtime is ready as Fluid v1.0.8 means it before it binds the Dataset
    (pkg/ddc/base/setup.go runs SetupMaster, CheckMasterReady, SetupWorkers, CheckWorkersReady,
    CheckAndUpdateRuntimeStatus; phases from pkg/utils/kubeclient/statefulset.go, written by
    pkg/ctrl/master.go CheckAndSyncMasterStatus and pkg/ctrl/worker.go CheckAndSyncWorkerStatus):

    * a master: phase Ready with all its replicas ready, as each engine's CheckAndUpdateRuntimeStatus
      needs every master (alluxio/status.go:95-105, goosefs/status.go:92-98, vineyard/status.go:85-91,
      efc/status.go:83-89, jindocache/status.go:147-153). GooseFS, Vineyard and Alluxio always have one
      (goosefs/master.go:36-52, vineyard/master.go:33-50; Vineyard's spec.master.endpoint is not read by
      the v1.0.8 engine, vineyard/transform.go:84-88, so its etcd master is always deployed). EFC's
      disabled master is a StatefulSet of 0 replicas (charts/efc/templates/master/statefulset.yaml:28), whose
      phase Fluid writes Ready (efc/master.go:108-124). Jindo's disabled master is never checked nor
      written (jindocache/master.go:35-41);
    * a Jindo runtime with master and workers disabled (fuse only) is set up once status.valueFile is
      written, its only status (jindocache/status.go:37-89);
    * JuiceFS has no master and Thin has its FUSE DaemonSet instead: their setup is done once
      status.setupDuration is written (pkg/ddc/juicefs/status.go, pkg/ddc/thin/status.go; Thin
      writes fusePhase Ready with it);
    * workers: at least min_workers ready (default spec.replicas; 0 needs none) and the worker phase
      Ready or PartialReady; a runtime without workers (Thin without spec.worker.enabled, a disabled
      Jindo or EFC worker) needs none.
    """
    if obj is None:
        return False
    st, comps = status_of(obj), runtime_components(obj)
    if kind in RUNTIMES_WITHOUT_MASTER:
        if not st.get("setupDuration"):
            return False
        if kind == "ThinRuntime" and comps["fuse"]["phase"] != RUNTIME_READY:
            return False
    elif not (kind == "JindoRuntime" and _disabled(obj, "master")):
        if comps["master"]["phase"] != RUNTIME_READY:
            return False
        if comps["master"]["ready"] < comps["master"]["desired"]:
            return False
    elif not runtime_has_workers(obj, kind) and not st.get("valueFile"):
        return False
    if not runtime_has_workers(obj, kind):
        return True
    if min_workers is None:
        min_workers = int(((obj.get("spec") or {}).get("replicas")) or 0)
    if min_workers <= 0:
        return True
    if comps["worker"]["ready"] < min_workers:
        return False
    return comps["worker"]["phase"] in (RUNTIME_READY, RUNTIME_PARTIAL_READY)


# ---------------------------------------------------------------- metadata readers


def epoch(timestamp):
    """Seconds since the epoch of an RFC 3339 timestamp as the API server writes them (UTC), or None."""
    if not timestamp:
        return None
    try:
        return calendar.timegm(time.strptime(str(timestamp)[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None


def status_written(obj):
    """(epoch seconds, manager) of the last write to the object's status subresource, from
    metadata.managedFields; (None, None) when no status was ever written through it."""
    last, manager = None, None
    for m in ((obj or {}).get("metadata") or {}).get("managedFields") or []:
        if m.get("subresource") != "status":
            continue
        t = epoch(m.get("time"))
        if t is not None and (last is None or t > last):
            last, manager = t, m.get("manager")
    return last, manager


def controller_name(kind):
    """The Deployment of Fluid's controller that reconciles ``kind``."""
    return CONTROLLERS.get(kind, kind.lower() + "-controller")
