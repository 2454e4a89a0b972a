"""cloudnative.fluid.node_labels on the embedded cluster (its seed nodes, real API server).

The real module is run by `ansible` (helpers of test_dataset_module.py) and its effect read back
with kubectl. Each test uses a label key of its own and puts the nodes back as it found them;
selections are limited to the seed's zone so benchmark nodes (`cluster.py up --extra-nodes N`)
never get labelled here.
"""
import json
import uuid

import pytest

from test_dataset_module import run_module

N194 = "cn-hongkong.172.31.136.194"
N196 = "cn-hongkong.172.31.136.196"
SEED_ZONE = "topology.kubernetes.io/zone=cn-hongkong-b"
GPU = "aliyun.accelerator/nvidia_name"
V100 = "Tesla-V100-SXM2-16GB"


def labels(kube, name):
    return kube.get("node", name)["metadata"].get("labels") or {}


def versions(kube):
    return {n["metadata"]["name"]: n["metadata"]["resourceVersion"]
            for n in kube.get("nodes", "-l", SEED_ZONE)["items"]}


def set_gpus(kube, name, count):
    """Give a node allocatable nvidia.com/gpu (count None: take it away), as a device plugin would."""
    value = None if count is None else str(count)
    patch = {"status": {"capacity": {"nvidia.com/gpu": value}, "allocatable": {"nvidia.com/gpu": value}}}
    kube.run("patch", "node", name, "--subresource=status", "--type=merge", "-p", json.dumps(patch))


@pytest.fixture
def key(kube):
    k = "it.cloudnative.fluid/t-" + uuid.uuid4().hex[:8]
    yield k
    kube.run("label", "node", N194, N196, k + "-", check=False)


@pytest.fixture
def gpu_194(kube):
    """...194 becomes a GPU node (allocatable nvidia.com/gpu: 1) for the test, and is restored after."""
    set_gpus(kube, N194, 1)
    yield N194
    set_gpus(kube, N194, None)


def test_label_gpu_nodes_check_mode_then_for_real_then_unchanged(cluster, kube, key):
    args = {"gpu": True, "label_selector": SEED_ZONE, "labels": {key: "yes"}}
    before = versions(kube)
    dry = run_module(cluster, "node_labels", args, check=True, diff=True)
    assert not dry.failed, dry
    assert dry["changed"] is True and dry["changed_nodes"] == [N196] and dry["unchanged_nodes"] == []
    assert dry["diff"]["after"] == {N196: {key: "yes"}}
    assert versions(kube) == before  # check mode wrote nothing

    real = run_module(cluster, "node_labels", args)
    assert not real.failed and real["changed_nodes"] == [N196], real
    assert labels(kube, N196)[key] == "yes" and key not in labels(kube, N194)

    written = versions(kube)
    again = run_module(cluster, "node_labels", args, diff=True)
    assert not again.failed and again["changed"] is False, again
    assert again["changed_nodes"] == [] and again["unchanged_nodes"] == [N196]
    assert versions(kube)[N196] == written[N196]  # nothing written the second time

    gone = run_module(cluster, "node_labels", dict(args, state="absent", labels={key: None}))
    assert not gone.failed and gone["changed_nodes"] == [N196], gone
    assert key not in labels(kube, N196) and labels(kube, N196)[GPU] == V100  # other labels untouched


def test_a_node_with_allocatable_gpus_is_a_gpu_node(cluster, kube, key, gpu_194):
    r = run_module(cluster, "node_labels", {"gpu": True, "label_selector": SEED_ZONE, "labels": {key: "gpu"}})
    assert not r.failed and r["changed_nodes"] == [N194, N196], r
    # gpu: false selects the others; there are none left among the seed's nodes
    r = run_module(cluster, "node_labels", {"gpu": False, "label_selector": SEED_ZONE, "labels": {key: "cpu"}})
    assert not r.failed and r["changed_nodes"] == [] and r["unchanged_nodes"] == []


def test_values_from_and_names(cluster, kube, key):
    r = run_module(cluster, "node_labels", {"names": [N194, N196], "labels": {key: "fallback"},
                                            "values_from": {key: "nvidia.com/gpu.product"}})
    assert not r.failed and r["changed_nodes"] == [N194, N196], r
    assert labels(kube, N196)[key] == V100  # the node's own GPU product
    assert labels(kube, N194)[key] == "fallback"


def test_refusals_happen_before_any_write(cluster, kube, key):
    before = versions(kube)
    fluid = run_module(cluster, "node_labels", {"names": [N194], "labels": {"fluid.io/s-default-cifar10": "true"}})
    assert fluid.failed and "is a label Fluid manages itself" in fluid["msg"] and "force: true" in fluid["msg"]
    bad = run_module(cluster, "node_labels", {"names": [N194], "labels": {key: "has spaces", "no good/x/y": "1"}})
    assert bad.failed and "not a valid label value" in bad["msg"] and "labels[no good/x/y]" in bad["msg"]
    missing = run_module(cluster, "node_labels", {"names": [N194, "cn-hongkong.172.31.136.250"], "labels": {key: "x"}})
    assert missing.failed and "names: no node is named cn-hongkong.172.31.136.250" in missing["msg"]
    selector = run_module(cluster, "node_labels", {"label_selector": "a b c", "labels": {key: "x"}})
    assert selector.failed and selector["msg"].startswith("label_selector: the API server refused"), selector
    nothing = run_module(cluster, "node_labels", {"labels": {key: "x"}})
    assert nothing.failed and "give at least one to select nodes" in nothing["msg"]
    no_runtime = run_module(cluster, "node_labels", {"names": [N194], "labels": {key: "x"},
                                                     "wait_datasets": [{"name": "no-such-dataset"}]})
    assert no_runtime.failed and "wait_datasets" in no_runtime["msg"]
    assert versions(kube) == before
