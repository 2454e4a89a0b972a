#!/usr/bin/env python3
"""Stand-in for the node-labelling part of Fluid's CSI node plugin.

On a real cluster the kubelet calls Fluid's CSI node plugin (DaemonSet
csi-nodeplugin-fluid, driver ``fuse.csi.fluid.io``) for every Fluid volume a pod
on its node uses.  In Fluid v1.0.8 (pkg/csi/plugins/nodeserver.go):

* ``NodeStageVolume`` -- called once per (node, volume) when the first pod using
  the volume arrives on the node -- reads the runtime's namespace/name from the
  PV's ``volumeAttributes`` (``runtime_namespace``/``runtime_name``; fallback:
  the PV's claimRef) and patches the node with the label
  ``utils.GetFuseLabelName(namespace, name, datasetUID)`` = ``"true"``.
  The runtime's FUSE DaemonSet selects nodes by that label, so a FUSE pod starts.
  It fails (and the kubelet retries) while the Dataset or its runtime is missing.
* ``NodeUnstageVolume`` -- called when the last pod using the volume on that node
  is gone -- resolves PV -> claimRef -> PVC -> runtime and removes the label only
  when the runtime's ``spec.fuse.cleanPolicy`` says so: ``OnDemand`` removes it;
  ``OnRuntimeDeleted`` (the default when unset) keeps it, and Fluid's runtime
  controller removes the label when the runtime is deleted (pkg/ctrl/fuse.go
  CleanUpFuse); ``OnFuseChanged`` removes it only when the FUSE generation on
  the node's disk differs from the PVC's, which Fluid cannot read here (no FUSE
  pod writes it), so, as Fluid does then, the label stays.  A PV, PVC, Dataset or
  runtime that is already gone makes unstage a no-op.

This watcher does the same from the API alone, in a 1 s list loop: a pod that is
scheduled (``spec.nodeName``) and not terminated (phase not Succeeded/Failed)
and mounts a PVC bound to a ``fuse.csi.fluid.io`` PV keeps that volume "staged"
on its node.  Staged (node, volume) pairs are kept in a state file (the kubelet
keeps them on disk), so a restart of this watcher neither forgets an unstage nor
stages twice.  No mount happens: the boundary is the node label.

Usage:
  csi_standin.py [--kubeconfig PATH] [--state-file FILE] [--interval SECONDS] [--once]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, Iterable, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from simlib.kubeapi import (  # noqa: E402
    KubeClient, KubeConfig, NotFound, core_path, group_path, run_forever, stderr_logger)

CSI_DRIVER = "fuse.csi.fluid.io"                # pkg/common/volume.go CSIDriver
FUSE_LABEL_PREFIX = "fluid.io/f-"               # pkg/common/label.go LabelAnnotationFusePrefix
DNS1035_LABEL_MAX_LENGTH = 63                   # k8s.io/apimachinery validation.DNS1035LabelMaxLength
ATTR_NAMESPACE = "runtime_namespace"            # pkg/common/volume.go VolumeAttrNamespace
ATTR_NAME = "runtime_name"                      # pkg/common/volume.go VolumeAttrName
FLUID_GROUP, FLUID_VERSION = "data.fluid.io", "v1alpha1"
DEFAULT_CLEAN_POLICY = "OnRuntimeDeleted"       # pkg/ddc/base/runtime.go SetupFuseCleanPolicy
TERMINATED = ("Succeeded", "Failed")

Key = Tuple[str, str]  # (node name, volume handle)


# --------------------------------------------------------------------------- pure logic

def fuse_label_key(namespace: str, name: str, dataset_uid: str = "") -> str:
    """utils.GetFuseLabelName (pkg/utils/label.go, GetNamespacedNameValueWithPrefix):
    ``fluid.io/f-<namespace>-<name>`` while that whole key is shorter than 63
    characters, else ``fluid.io/f-<dataset UID>``; without a UID Fluid keeps the
    long key (which the API server then refuses)."""
    full = "%s%s-%s" % (FUSE_LABEL_PREFIX, namespace, name)
    if len(full) < DNS1035_LABEL_MAX_LENGTH or not dataset_uid:
        return full
    return FUSE_LABEL_PREFIX + dataset_uid


def pod_is_live(pod: Dict[str, Any]) -> bool:
    """Scheduled and not terminated: its volumes stay staged on its node."""
    return bool((pod.get("spec") or {}).get("nodeName")) and \
        (pod.get("status") or {}).get("phase") not in TERMINATED


def fluid_volume(pv: Optional[Dict[str, Any]]) -> Optional[Dict[str, str]]:
    """{volume, namespace, name} of a Fluid PV (CSI driver fuse.csi.fluid.io), else None.
    The runtime's namespace/name come from volumeAttributes as in getRuntimeNamespacedName,
    else from the claimRef (volume.GetNamespacedNameByVolumeId)."""
    csi = ((pv or {}).get("spec") or {}).get("csi") or {}
    if csi.get("driver") != CSI_DRIVER:
        return None
    attrs = csi.get("volumeAttributes") or {}
    ref = pv["spec"].get("claimRef") or {}
    namespace, name = attrs.get(ATTR_NAMESPACE), attrs.get(ATTR_NAME)
    if not (namespace and name):
        namespace, name = ref.get("namespace"), ref.get("name")
    if not (namespace and name):
        return None
    return {"volume": csi.get("volumeHandle") or pv["metadata"]["name"], "pv": pv["metadata"]["name"],
            "namespace": namespace, "name": name}


def volumes_in_use(pods: Iterable[Dict], pvcs: Iterable[Dict], pvs: Iterable[Dict]) -> Dict[Key, Dict[str, Any]]:
    """{(node, volume handle): {volume, pv, namespace, name, pods}} for every Fluid volume that a
    live pod mounts through a bound PVC: the volumes the kubelet keeps staged on each node."""
    claims = {(c["metadata"]["namespace"], c["metadata"]["name"]): c for c in pvcs}
    by_name = {v["metadata"]["name"]: v for v in pvs}
    out: Dict[Key, Dict[str, Any]] = {}
    for pod in pods:
        if not pod_is_live(pod):
            continue
        ns, node = pod["metadata"]["namespace"], pod["spec"]["nodeName"]
        for vol in pod["spec"].get("volumes") or []:
            claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
            pvc = claims.get((ns, claim)) if claim else None
            pv_name = ((pvc or {}).get("spec") or {}).get("volumeName")
            info = fluid_volume(by_name.get(pv_name)) if pv_name else None
            if info is None:
                continue
            entry = out.setdefault((node, info["volume"]), dict(info, pods=[]))
            entry["pods"].append("%s/%s" % (ns, pod["metadata"]["name"]))
    return out


def plan(in_use: Dict[Key, Any], staged: Iterable[Key]) -> Tuple[List[Key], List[Key]]:
    """(to stage, to unstage): the kubelet stages a volume on a node when the first pod using it
    arrives there and unstages it when the last one is gone."""
    staged = set(staged)
    return sorted(k for k in in_use if k not in staged), sorted(k for k in staged if k not in in_use)


def unstage_removes_label(clean_policy: Optional[str]) -> Optional[bool]:
    """Does NodeUnstageVolume remove the FUSE label for this spec.fuse.cleanPolicy?
    (getCleanFuseFunc; None: a policy Fluid refuses, unstage fails and is retried)."""
    policy = clean_policy or DEFAULT_CLEAN_POLICY
    if policy == "OnDemand":
        return True
    if policy in ("OnRuntimeDeleted", "OnFuseChanged"):
        return False
    return None


def desired_labels(in_use: Dict[Key, Dict[str, Any]], dataset_uids: Dict[Tuple[str, str], str]
                   ) -> Dict[str, Dict[str, str]]:
    """{node: {label key: "namespace/name"}}: the FUSE labels NodeStageVolume puts on each node for
    the volumes in use there (``dataset_uids``: {(namespace, name): Dataset UID}; a volume whose
    Dataset is missing is left out: Fluid's stage fails until it exists)."""
    out: Dict[str, Dict[str, str]] = {}
    for (node, _), info in in_use.items():
        uid = dataset_uids.get((info["namespace"], info["name"]))
        if uid is None:
            continue
        out.setdefault(node, {})[fuse_label_key(info["namespace"], info["name"], uid)] = \
            "%s/%s" % (info["namespace"], info["name"])
    return out


# --------------------------------------------------------------------------- API side

class RuntimeMissing(Exception):
    """Dataset without a bound runtime, or the runtime object is gone (GetRuntimeInfo fails)."""


def runtime_info(client: KubeClient, namespace: str, name: str) -> Dict[str, Any]:
    """base.GetRuntimeInfo: the Dataset's UID and its runtime (type from status.runtimes[0])."""
    dataset = client.get_or_none(group_path(FLUID_GROUP, FLUID_VERSION, namespace, "datasets", name))
    if dataset is None:
        raise RuntimeMissing("Dataset %s/%s not found" % (namespace, name))
    runtimes = (dataset.get("status") or {}).get("runtimes") or []
    rtype = runtimes[0].get("type") if runtimes else ""
    if not rtype:
        raise RuntimeMissing("Dataset %s/%s has no runtime in its status" % (namespace, name))
    runtime = client.get_or_none(group_path(FLUID_GROUP, FLUID_VERSION, namespace, rtype + "runtimes", name))
    if runtime is None:
        raise RuntimeMissing("%sruntime %s/%s not found" % (rtype, namespace, name))
    fuse = (runtime.get("spec") or {}).get("fuse") or {}
    return {"uid": dataset["metadata"].get("uid", ""), "type": rtype,
            "clean_policy": fuse.get("cleanPolicy") or DEFAULT_CLEAN_POLICY}


def patch_node_label(client: KubeClient, node: str, key: str, value: Optional[str]) -> None:
    """patchNodeWithLabel: a strategic-merge patch of metadata.labels (null deletes)."""
    client.request("PATCH", core_path(None, "nodes", node), body={"metadata": {"labels": {key: value}}},
                   content_type="application/strategic-merge-patch+json")


class StandIn:
    """The reconcile loop's state: staged (node, volume) pairs, persisted in ``state_file``."""

    def __init__(self, client: KubeClient, state_file: Optional[str] = None, log=print):
        self.client, self.state_file, self.log = client, state_file, log
        self.staged: Dict[Key, Dict[str, str]] = {}
        self._said: Dict[Key, str] = {}  # last message per pair, so a retry does not flood the log
        if state_file and os.path.exists(state_file):
            try:
                with open(state_file, encoding="utf-8") as fh:
                    for rec in json.load(fh):
                        self.staged[(rec["node"], rec["volume"])] = rec
            except (OSError, ValueError, KeyError, TypeError) as exc:
                self.log("ignoring unreadable state file %s: %s" % (state_file, exc))

    def _save(self) -> None:
        if not self.state_file:
            return
        os.makedirs(os.path.dirname(os.path.abspath(self.state_file)), exist_ok=True)
        tmp = self.state_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump([self.staged[k] for k in sorted(self.staged)], fh, indent=1)
        os.replace(tmp, self.state_file)

    def _once(self, key: Key, msg: str) -> None:
        if self._said.get(key) != msg:
            self._said[key] = msg
            self.log(msg)

    def reconcile(self) -> Tuple[List[Key], List[Key]]:
        """One pass; returns the (node, volume) pairs staged and unstaged by it."""
        c = self.client
        pods = c.get("/api/v1/pods", {"fieldSelector": "spec.nodeName!=,status.phase!=Succeeded,"
                                                         "status.phase!=Failed"}).get("items") or []
        uses_claims = any(v.get("persistentVolumeClaim") for p in pods for v in p["spec"].get("volumes") or [])
        pvcs = c.list("/api/v1/persistentvolumeclaims") if uses_claims else []
        pvs = c.list("/api/v1/persistentvolumes") if uses_claims or self.staged else []
        in_use = volumes_in_use(pods, pvcs, pvs)
        to_stage, to_unstage = plan(in_use, self.staged)
        done_stage = [k for k in to_stage if self._stage(k, in_use[k])]
        done_unstage = [k for k in to_unstage if self._unstage(k, {v["metadata"]["name"]: v for v in pvs})]
        for k in list(self._said):
            if k not in in_use and k not in self.staged:
                del self._said[k]
        if done_stage or done_unstage:
            self._save()
        return done_stage, done_unstage

    def _stage(self, key: Key, info: Dict[str, Any]) -> bool:
        node, volume = key
        ns, name = info["namespace"], info["name"]
        try:
            rt = runtime_info(self.client, ns, name)
        except RuntimeMissing as exc:
            self._once(key, "NodeStageVolume %s on %s waits: %s (pods %s)" % (volume, node, exc, ", ".join(info["pods"])))
            return False
        label = fuse_label_key(ns, name, rt["uid"])
        try:
            patch_node_label(self.client, node, label, "true")
        except NotFound:
            self._once(key, "NodeStageVolume %s: node %s not found" % (volume, node))
            return False
        self.staged[key] = {"node": node, "volume": volume, "namespace": ns, "name": name, "label": label}
        self._said.pop(key, None)
        self.log("labelled node %s %s=true (NodeStageVolume %s for pod %s)" % (node, label, volume, ", ".join(info["pods"])))
        return True

    def _unstage(self, key: Key, pvs: Dict[str, Dict[str, Any]]) -> bool:
        node, volume = key
        rec = self.staged[key]
        # getCleanFuseFunc: PV -> claimRef -> PVC -> runtime; anything gone: nothing to clean
        pv = pvs.get(volume) or pvs.get(rec.get("pv", ""))
        ref = ((pv or {}).get("spec") or {}).get("claimRef") or {}
        pvc = self.client.get_or_none(core_path(ref["namespace"], "persistentvolumeclaims", ref["name"])) \
            if ref.get("namespace") and ref.get("name") else None
        if pvc is None:
            return self._forget(key, "NodeUnstageVolume %s on %s: volume or claim gone, nothing to clean" % (volume, node))
        ns, name = pvc["metadata"]["namespace"], pvc["metadata"]["name"]
        try:
            rt = runtime_info(self.client, ns, name)
        except RuntimeMissing as exc:
            return self._forget(key, "NodeUnstageVolume %s on %s: %s, nothing to clean" % (volume, node, exc))
        removes = unstage_removes_label(rt["clean_policy"])
        if removes is None:
            self._once(key, "NodeUnstageVolume %s on %s fails: unknown fuse cleanPolicy %r (retrying)"
                       % (volume, node, rt["clean_policy"]))
            return False
        label = fuse_label_key(ns, name, rt["uid"])
        if not removes:
            return self._forget(key, "NodeUnstageVolume %s on %s: kept %s (fuse cleanPolicy %s)"
                                % (volume, node, label, rt["clean_policy"]))
        try:
            patch_node_label(self.client, node, label, None)
        except NotFound:
            return self._forget(key, "NodeUnstageVolume %s: node %s is gone" % (volume, node))
        return self._forget(key, "unlabelled node %s %s (NodeUnstageVolume %s, fuse cleanPolicy %s)"
                            % (node, label, volume, rt["clean_policy"]))

    def _forget(self, key: Key, msg: str) -> bool:
        del self.staged[key]
        self._said.pop(key, None)
        self.log(msg)
        return True


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config"))
    parser.add_argument("--state-file", help="where staged (node, volume) pairs are kept across restarts")
    parser.add_argument("--cert-dir", help="where client certificates from the kubeconfig are written")
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    args = parser.parse_args(argv)

    log = stderr_logger("csi-node-standin")
    client = KubeClient(KubeConfig(os.path.abspath(args.kubeconfig), cert_dir=args.cert_dir))
    standin = StandIn(client, args.state_file, log=log)
    log("started (%d staged volume(s) from %s)" % (len(standin.staged), args.state_file or "no state file"))
    # any error (the API server restarting, a half-created object, ...) is retried, never fatal
    return run_forever(standin.reconcile, log, interval=args.interval, once=args.once, errors=(Exception,))


if __name__ == "__main__":
    sys.exit(main())
