"""What a user checks after site.yml, with pytest-testinfra: through the host (files and their
modes), kubectl (as a user types it) and the Kubernetes API (the Python client).

Molecule's testinfra verifier runs this against the scenario's inventory (localhost). The embedded
cluster's facts come from $FLUID_CLUSTER_WORKDIR/cluster.json, written by the create step.
"""
import json
import os

import pytest

WORK = os.environ["FLUID_CLUSTER_WORKDIR"]
GPU = "aliyun.accelerator/nvidia_name"


@pytest.fixture(scope="module")
def facts(host):
    info = host.file(os.path.join(WORK, "cluster.json"))
    assert info.exists, "the create step writes cluster.json"
    return json.loads(info.content_string)


def kubectl(host, facts, *args):
    out = host.check_output("%s --kubeconfig %s %s -o json" % (facts["kubectl"], facts["kubeconfig"], " ".join(args)))
    return json.loads(out)


def test_kubeconfig_is_not_world_readable(host, facts):
    kubeconfig = host.file(facts["kubeconfig"])
    assert kubeconfig.is_file
    assert kubeconfig.mode & 0o007 == 0, "kubeconfig %s has mode %o" % (facts["kubeconfig"], kubeconfig.mode)


def test_dataset_bound_with_both_gpu_nodes_cache(host, facts):
    ds = kubectl(host, facts, "get", "dataset", "cifar10", "-n", "default")
    assert ds["status"]["phase"] == "Bound"
    assert ds["status"]["cacheStates"]["cacheCapacity"] == "24.00GiB"
    rt = kubectl(host, facts, "get", "alluxioruntime", "cifar10", "-n", "default")
    assert (rt["status"]["workerNumberReady"], rt["status"]["workerPhase"]) == (2, "Ready")


def test_both_gpu_nodes_labelled(host, facts):
    nodes = kubectl(host, facts, "get", "nodes", "-l", GPU)["items"]
    assert len(nodes) == 2


def test_demo_pods_run_through_the_api(facts):
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(config_file=facts["kubeconfig"]))
    pods = api.list_namespaced_pod("default", label_selector="app=nginx").items
    assert len(pods) == 2
    assert sorted(p.status.phase for p in pods) == ["Running", "Running"]
    assert all(any(v.persistent_volume_claim and v.persistent_volume_claim.claim_name == "cifar10"
                   for v in p.spec.volumes) for p in pods)


def test_status_report_written(host):
    report = host.file(os.path.join(WORK, "fluid-status.html"))
    assert report.exists and report.mode & 0o777 == 0o644
    html = report.content_string
    assert "cifar10" in html and "24.00GiB" in html
