"""Tests of the CSI node plugin stand-in (hack/cluster/csi_standin.py).

The label key and the stage/unstage rules follow Fluid v1.0.8:
pkg/utils/label.go GetFuseLabelName / GetNamespacedNameValueWithPrefix,
pkg/csi/plugins/nodeserver.go NodeStageVolume / NodeUnstageVolume (getCleanFuseFunc),
pkg/utils/dataset/volume/create.go (the PV Fluid creates for a Dataset).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "hack" / "cluster"))

import csi_standin as cs  # noqa: E402
from simlib.kubeapi import NotFound  # noqa: E402

N194, N196 = "cn-hongkong.172.31.136.194", "cn-hongkong.172.31.136.196"


def fluid_pv(ns, name, attrs=True):
    """The PV Fluid's CreatePersistentVolumeForRuntime writes for Dataset ns/name."""
    pv_name = "%s-%s" % (ns, name)
    csi = {"driver": "fuse.csi.fluid.io", "volumeHandle": pv_name, "volumeAttributes": {
        "fluid_path": "/runtime-mnt/alluxio/%s/%s/alluxio-fuse" % (ns, name), "mount_type": "fuse.alluxio-fuse"}}
    if attrs:
        csi["volumeAttributes"].update(runtime_namespace=ns, runtime_name=name)
    return {"metadata": {"name": pv_name, "labels": {"fluid.io/dataset-id": pv_name}},
            "spec": {"csi": csi, "claimRef": {"namespace": ns, "name": name}, "storageClassName": "fluid"}}


def pvc(ns, name, volume):
    return {"metadata": {"namespace": ns, "name": name, "labels": {"fluid.io/dataset": "true"}},
            "spec": {"volumeName": volume}}


def pod(ns, name, node, claims, phase="Running"):
    spec = {"volumes": [{"name": c, "persistentVolumeClaim": {"claimName": c}} for c in claims]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"namespace": ns, "name": name}, "spec": spec, "status": {"phase": phase}}


# --------------------------------------------------------------------------- label key

def test_fuse_label_key_is_namespace_dash_name():
    assert cs.fuse_label_key("default", "cifar10", "uid-1") == "fluid.io/f-default-cifar10"
    assert cs.fuse_label_key("seed-ab12cd", "cifar10") == "fluid.io/f-seed-ab12cd-cifar10"


def test_fuse_label_key_of_a_long_name_is_the_dataset_uid():
    uid = "0c6b3e5c-0d4e-4a41-9a7e-2a6d3b8f4c11"
    # 62 characters: still the readable form (Fluid switches at >= 63)
    name62 = "x" * (62 - len("fluid.io/f-ns-"))
    assert len(cs.fuse_label_key("ns", name62, uid)) == 62
    assert cs.fuse_label_key("ns", name62, uid) == "fluid.io/f-ns-" + name62
    name63 = name62 + "x"
    assert cs.fuse_label_key("ns", name63, uid) == "fluid.io/f-" + uid
    # no UID known: Fluid keeps the long key
    assert cs.fuse_label_key("ns", name63, "") == "fluid.io/f-ns-" + name63


# --------------------------------------------------------------------------- which volumes are staged where

def test_fluid_volume_reads_runtime_from_attributes_then_claim_ref():
    assert cs.fluid_volume(fluid_pv("default", "cifar10")) == {
        "volume": "default-cifar10", "pv": "default-cifar10", "namespace": "default", "name": "cifar10"}
    assert cs.fluid_volume(fluid_pv("default", "cifar10", attrs=False))["name"] == "cifar10"
    other = fluid_pv("default", "x")
    other["spec"]["csi"]["driver"] = "ebs.csi.aws.com"
    assert cs.fluid_volume(other) is None
    assert cs.fluid_volume({"metadata": {"name": "hostpath"}, "spec": {"hostPath": {"path": "/x"}}}) is None
    assert cs.fluid_volume(None) is None


def story():
    pvs = [fluid_pv("default", "cifar10"), fluid_pv("team", "imagenet"),
           {"metadata": {"name": "pv-local"}, "spec": {"hostPath": {"path": "/data"}}}]
    pvcs = [pvc("default", "cifar10", "default-cifar10"), pvc("team", "imagenet", "team-imagenet"),
            pvc("default", "local", "pv-local"), pvc("default", "unbound", None)]
    return pvcs, pvs


def test_volumes_in_use_counts_only_live_scheduled_pods_with_a_fluid_pvc():
    pvcs, pvs = story()
    pods = [pod("default", "nginx-0", N196, ["cifar10"]),
            pod("default", "nginx-1", N194, ["cifar10", "local"]),
            pod("default", "nginx-2", N194, ["cifar10"]),                # same volume, same node: one stage
            pod("default", "pending", None, ["cifar10"], phase="Pending"),  # not scheduled
            pod("default", "done", N196, ["cifar10"], phase="Succeeded"),   # terminated
            pod("team", "failed", N196, ["imagenet"], phase="Failed"),      # terminated
            pod("default", "plain", N196, ["local", "unbound"]),            # no Fluid volume
            pod("team", "other-ns", N194, ["cifar10"])]                     # claim of another namespace
    used = cs.volumes_in_use(pods, pvcs, pvs)
    assert sorted(used) == [(N194, "default-cifar10"), (N196, "default-cifar10")]
    assert used[(N194, "default-cifar10")]["pods"] == ["default/nginx-1", "default/nginx-2"]
    assert used[(N196, "default-cifar10")]["namespace"] == "default"


def test_desired_labels_per_node():
    pvcs, pvs = story()
    pods = [pod("default", "nginx-0", N196, ["cifar10"]), pod("team", "train", N196, ["imagenet"]),
            pod("default", "nginx-1", N194, ["cifar10"])]
    used = cs.volumes_in_use(pods, pvcs, pvs)
    assert cs.desired_labels(used, {("default", "cifar10"): "u1", ("team", "imagenet"): "u2"}) == {
        N196: {"fluid.io/f-default-cifar10": "default/cifar10", "fluid.io/f-team-imagenet": "team/imagenet"},
        N194: {"fluid.io/f-default-cifar10": "default/cifar10"}}
    # a Dataset that does not exist (yet): NodeStageVolume fails, no label
    assert cs.desired_labels(used, {("default", "cifar10"): "u1"}) == {
        N196: {"fluid.io/f-default-cifar10": "default/cifar10"}, N194: {"fluid.io/f-default-cifar10": "default/cifar10"}}


def test_plan_stages_on_first_pod_and_unstages_after_last():
    a, b = (N196, "default-cifar10"), (N194, "default-cifar10")
    assert cs.plan({a: {}, b: {}}, []) == ([b, a], [])
    assert cs.plan({a: {}, b: {}}, [a]) == ([b], [])
    assert cs.plan({a: {}}, [a, b]) == ([], [b])
    assert cs.plan({}, [a, b]) == ([], [b, a])


@pytest.mark.parametrize("policy, removes", [
    ("OnDemand", True), ("OnRuntimeDeleted", False), ("", False), (None, False),
    ("OnFuseChanged", False), ("Sometimes", None)])
def test_unstage_follows_the_fuse_clean_policy(policy, removes):
    assert cs.unstage_removes_label(policy) is removes


# --------------------------------------------------------------------------- reconcile against a fake API

class FakeClient:
    """The few KubeClient calls the stand-in makes, over a dict of objects."""

    def __init__(self):
        self.objects = {}
        self.patches = []

    def _items(self, prefix):
        return [copy.deepcopy(v) for k, v in sorted(self.objects.items()) if k.startswith(prefix)]

    def get(self, path, query=None):
        if path == "/api/v1/pods":
            assert "spec.nodeName!=" in query["fieldSelector"]
            return {"items": [p for p in self._items("pods/") if cs.pod_is_live(p)]}
        if path not in self.objects:
            raise NotFound(path, 404)
        return copy.deepcopy(self.objects[path])

    def get_or_none(self, path):
        return copy.deepcopy(self.objects.get(path))

    def list(self, path, label_selector=None):
        return self._items({"/api/v1/persistentvolumeclaims": "pvcs/", "/api/v1/persistentvolumes": "pvs/"}[path])

    def request(self, method, path, body=None, query=None, content_type=None):
        assert method == "PATCH" and content_type == "application/strategic-merge-patch+json"
        node = self.objects.get(path)
        if node is None:
            raise NotFound(path, 404)
        self.patches.append((path.rsplit("/", 1)[1], body["metadata"]["labels"]))
        for k, v in body["metadata"]["labels"].items():
            if v is None:
                node["metadata"]["labels"].pop(k, None)
            else:
                node["metadata"]["labels"][k] = v

    # helpers
    def add_dataset(self, ns, name, policy=None, uid="uid-" + "c"):
        self.objects["/apis/data.fluid.io/v1alpha1/namespaces/%s/datasets/%s" % (ns, name)] = {
            "metadata": {"name": name, "namespace": ns, "uid": uid},
            "status": {"runtimes": [{"name": name, "namespace": ns, "type": "alluxio", "category": "Accelerate"}]}}
        rt = {"metadata": {"name": name, "namespace": ns}, "spec": {"fuse": {}}}
        if policy:
            rt["spec"]["fuse"]["cleanPolicy"] = policy
        self.objects["/apis/data.fluid.io/v1alpha1/namespaces/%s/alluxioruntimes/%s" % (ns, name)] = rt
        self.objects["pvs/" + ns + "-" + name] = fluid_pv(ns, name)
        self.objects["pvcs/%s/%s" % (ns, name)] = pvc(ns, name, ns + "-" + name)
        self.objects["/api/v1/namespaces/%s/persistentvolumeclaims/%s" % (ns, name)] = pvc(ns, name, ns + "-" + name)

    def labels(self, node):
        return {k: v for k, v in self.objects["/api/v1/nodes/" + node]["metadata"]["labels"].items()
                if k.startswith("fluid.io/f-")}


@pytest.fixture
def api():
    c = FakeClient()
    for n in (N194, N196):
        c.objects["/api/v1/nodes/" + n] = {"metadata": {"name": n, "labels": {"kubernetes.io/hostname": n}}}
    return c


def test_reconcile_labels_on_stage_and_removes_on_unstage_with_on_demand(api, tmp_path):
    api.add_dataset("default", "cifar10", policy="OnDemand")
    api.objects["pods/default/nginx-0"] = pod("default", "nginx-0", N196, ["cifar10"])
    logs = []
    standin = cs.StandIn(api, str(tmp_path / "state.json"), log=logs.append)
    standin.reconcile()
    assert api.labels(N196) == {"fluid.io/f-default-cifar10": "true"} and api.labels(N194) == {}
    standin.reconcile()
    assert len(api.patches) == 1  # staged once, not patched every pass
    # the second pod lands on the other node
    api.objects["pods/default/nginx-1"] = pod("default", "nginx-1", N194, ["cifar10"])
    standin.reconcile()
    assert api.labels(N194) == {"fluid.io/f-default-cifar10": "true"}
    # a restarted stand-in reads what was staged: no second stage, unstage still happens
    standin = cs.StandIn(api, str(tmp_path / "state.json"), log=logs.append)
    assert sorted(standin.staged) == [(N194, "default-cifar10"), (N196, "default-cifar10")]
    api.objects["pods/default/nginx-1"]["status"]["phase"] = "Succeeded"
    del api.objects["pods/default/nginx-0"]
    assert standin.reconcile() == ([], [(N194, "default-cifar10"), (N196, "default-cifar10")])
    assert api.labels(N194) == {} and api.labels(N196) == {}
    assert json.loads((tmp_path / "state.json").read_text()) == []
    assert [m.split()[0] for m in logs] == ["labelled", "labelled", "unlabelled", "unlabelled"]


def test_reconcile_keeps_the_label_with_the_default_clean_policy(api):
    api.add_dataset("default", "cifar10")  # no cleanPolicy: OnRuntimeDeleted
    api.objects["pods/default/nginx-0"] = pod("default", "nginx-0", N196, ["cifar10"])
    logs = []
    standin = cs.StandIn(api, None, log=logs.append)
    standin.reconcile()
    del api.objects["pods/default/nginx-0"]
    standin.reconcile()
    assert api.labels(N196) == {"fluid.io/f-default-cifar10": "true"}
    assert standin.staged == {} and "kept fluid.io/f-default-cifar10 (fuse cleanPolicy OnRuntimeDeleted)" in logs[-1]


def test_reconcile_waits_for_the_dataset_and_runtime(api):
    api.objects["pvs/default-cifar10"] = fluid_pv("default", "cifar10")
    api.objects["pvcs/default/cifar10"] = pvc("default", "cifar10", "default-cifar10")
    api.objects["pods/default/nginx-0"] = pod("default", "nginx-0", N196, ["cifar10"])
    logs = []
    standin = cs.StandIn(api, None, log=logs.append)
    standin.reconcile()
    standin.reconcile()
    assert api.labels(N196) == {} and len(logs) == 1 and "waits: Dataset default/cifar10 not found" in logs[0]
    api.add_dataset("default", "cifar10")
    standin.reconcile()
    assert api.labels(N196) == {"fluid.io/f-default-cifar10": "true"}


def test_reconcile_uses_the_dataset_uid_for_a_long_name(api):
    name = "a-dataset-with-a-rather-long-name-for-a-label-key"
    api.add_dataset("default", name, policy="OnDemand", uid="5f0e-uid")
    api.objects["pods/default/p"] = pod("default", "p", N194, [name])
    standin = cs.StandIn(api, None, log=lambda m: None)
    standin.reconcile()
    assert api.labels(N194) == {"fluid.io/f-5f0e-uid": "true"}
    del api.objects["pods/default/p"]
    standin.reconcile()
    assert api.labels(N194) == {}


def test_unstage_after_the_runtime_is_gone_changes_nothing(api):
    api.add_dataset("default", "cifar10", policy="OnDemand")
    api.objects["pods/default/nginx-0"] = pod("default", "nginx-0", N196, ["cifar10"])
    logs = []
    standin = cs.StandIn(api, None, log=logs.append)
    standin.reconcile()
    # runtime deleted first: Fluid's controller cleans the labels itself (CleanUpFuse)
    del api.objects["/apis/data.fluid.io/v1alpha1/namespaces/default/alluxioruntimes/cifar10"]
    del api.objects["pods/default/nginx-0"]
    standin.reconcile()
    assert standin.staged == {} and len(api.patches) == 1 and "nothing to clean" in logs[-1]


def test_unreadable_state_file_is_ignored(api, tmp_path):
    state = tmp_path / "state.json"
    state.write_text("{not json")
    logs = []
    assert cs.StandIn(api, str(state), log=logs.append).staged == {}
    assert "ignoring unreadable state file" in logs[0]
