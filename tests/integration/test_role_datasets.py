"""Roles cloudnative.fluid.datasets and alluxio_runtime on the embedded cluster."""
import json
import os
import re
import time
import uuid

import pytest

from conftest import cluster_status

PLAY = """
- hosts: all
  gather_facts: false
  module_defaults:
    group/cloudnative.fluid.fluid:
      kubeconfig: "{{ k8s_kubeconfig }}"
  roles:
    - cloudnative.fluid.datasets
"""
# The same, and datasets_result written to result_file.
RESULT_PLAY = PLAY + """  post_tasks:
    - name: Keep datasets_result for the test
      ansible.builtin.copy:
        content: "{{ datasets_result | to_json }}"
        dest: "{{ result_file }}"
        mode: "0600"
      changed_when: false
"""
WAIT = "Wait until every Dataset is Bound"
ALLUXIO_CHECK = "Validate the runtimes with the runtime module (check mode, nothing is written)"


def outcomes(run, task):
    """How each run of the task (its name without the role's) ended, in order: ok, changed, skipping, ..."""
    lines = run.stdout.splitlines()
    out = []
    for i, line in enumerate(lines):
        m = re.match(r"TASK \[(?:[^\]:]+ : )?(.*)\] \*+$", line)
        if m and m.group(1) == task:
            out.append(next((n for n in lines[i + 1:] if n.strip()), "").split(":")[0])
    return out


@pytest.fixture
def ns(kube):
    name = "roleds-" + uuid.uuid4().hex[:6]
    kube.run("create", "namespace", name)
    yield name
    kube.run("delete", "alluxioruntime,thinruntime,dataset", "--all", "-n", name, "--timeout=90s", check=False)
    kube.run("delete", "namespace", name, "--wait=false")


def vars_file(tmp_path, ns, fixtures, state="present", runtime_labels=None):
    data = {
        "datasets_state": state,
        "datasets_namespace": ns,
        "datasets_wait_timeout": 240,
        "alluxio_runtime_tiered_store": [{"medium": "MEM", "path": "/dev/shm", "quota": "1Gi", "high": 0.9, "low": 0.5}],
        "datasets_list": [
            # beta's Dataset affinity allows only ...196, and Fluid's Exclusive workers never share a
            # node: alpha's worker is kept on ...194, or the scheduler may give it ...196 first
            # and beta's worker stays Pending
            {"name": "alpha", "mounts": [{"name": "hbase", "mount_point": fixtures + "/hbase/"}],
             "runtime": {"replicas": 1, "worker": {"node_selector": {
                 "kubernetes.io/hostname": "cn-hongkong.172.31.136.194"}}}},
            {"name": "beta", "mounts": [{"name": "spark", "mount_point": fixtures + "/spark/"}],
             "node_selector": {"aliyun.accelerator/nvidia_name": "Tesla-V100-SXM2-16GB"},
             "runtime": {"replicas": 1, "tiered_store": [
                 {"medium": "MEM", "path": "/dev/shm", "quota": "2Gi", "high": 0.95, "low": 0.7}]}},
        ],
    }
    if runtime_labels:
        data["datasets_list"][0]["runtime"]["labels"] = runtime_labels
    data["result_file"] = str(tmp_path / "datasets_result.json")
    p = tmp_path / ("vars-%s.json" % state)
    p.write_text(json.dumps(data))
    return "@%s" % p


def test_datasets_role_binds_all_then_is_idempotent_then_deletes(ansible_playbook, kube, cluster, fluid, ns, tmp_path):
    """The AlluxioRuntimes are checked once per run (in the preflight, not again when declared or deleted); a re-run
    that changes nothing leaves the wait for Bound out, with datasets_result of the same shape; a changed runtime
    is waited for again."""
    run = ansible_playbook(RESULT_PLAY, "-e", vars_file(tmp_path, ns, cluster["fixtures"]))
    assert run.rc == 0, run
    assert outcomes(run, WAIT) == ["ok"] and outcomes(run, ALLUXIO_CHECK) == ["ok", "skipping"], run.stdout
    waited = json.loads((tmp_path / "datasets_result.json").read_text())
    assert [(d["name"], d["phase"]) for d in waited["datasets"]] == [("alpha", "Bound"), ("beta", "Bound")]
    for name, quota in (("alpha", "1Gi"), ("beta", "2Gi")):
        ds = kube.get("dataset", "-n", ns, name)
        assert ds["status"]["phase"] == "Bound"
        rt = kube.get("alluxioruntime", "-n", ns, name)
        assert rt["spec"]["replicas"] == 1
        assert rt["spec"]["tieredstore"]["levels"][0]["quota"] == quota
    # role defaults reached the runtime; the Dataset's node_selector became the FUSE node selector
    assert kube.get("alluxioruntime", "-n", ns, "beta")["spec"]["fuse"]["nodeSelector"] == {
        "aliyun.accelerator/nvidia_name": "Tesla-V100-SXM2-16GB"}
    assert "nodeSelector" not in kube.get("alluxioruntime", "-n", ns, "alpha")["spec"].get("fuse", {})
    again = ansible_playbook(RESULT_PLAY, "-e", vars_file(tmp_path, ns, cluster["fixtures"]))
    assert again.rc == 0 and again.stats["changed"] == 0, again
    assert outcomes(again, WAIT) == [] and outcomes(again, ALLUXIO_CHECK) == ["ok", "skipping"], again.stdout
    declared = json.loads((tmp_path / "datasets_result.json").read_text())
    assert [(d["name"], d["phase"]) for d in declared["datasets"]] == [("alpha", "Bound"), ("beta", "Bound")]
    assert set(declared) == set(waited) and declared["changed"] is False, (declared, waited)
    assert [set(d) for d in declared["datasets"]] == [set(d) for d in waited["datasets"]]
    # only a runtime changes: the Datasets are waited for again
    relabelled = ansible_playbook(RESULT_PLAY, "-e", vars_file(tmp_path, ns, cluster["fixtures"],
                                                               runtime_labels={"example.com/rerun": "1"}))
    assert relabelled.rc == 0 and relabelled.stats["changed"] == 1, relabelled
    assert outcomes(relabelled, WAIT) == ["ok"], relabelled.stdout
    assert kube.get("alluxioruntime", "-n", ns, "alpha")["metadata"]["labels"]["example.com/rerun"] == "1"
    gone = ansible_playbook(PLAY, "-e", vars_file(tmp_path, ns, cluster["fixtures"], state="absent"))
    assert gone.rc == 0, gone
    assert outcomes(gone, ALLUXIO_CHECK) == ["ok", "skipping"], gone.stdout
    assert kube.get("dataset", "-n", ns)["items"] == []
    assert kube.get("alluxioruntime", "-n", ns)["items"] == []


def test_datasets_role_reads_a_dataset_not_bound_again_on_a_rerun(ansible_playbook, kube, fluid, ns, tmp_path):
    """Nothing changes on the re-run, but a Dataset is not Bound (its runtime is managed elsewhere): the wait task
    still runs (here with datasets_wait: false, so it reads the Datasets again without waiting)."""
    p = tmp_path / "notbound.json"
    p.write_text(json.dumps({"datasets_namespace": ns, "datasets_wait": False, "result_file": str(tmp_path / "r.json"),
                             "datasets_list": [{"name": "elsewhere", "runtime": False,
                                                "mounts": [{"name": "m", "mount_point": "https://example.com/d/"}]}]}))
    first = ansible_playbook(RESULT_PLAY, "-e", "@%s" % p)
    assert first.rc == 0 and outcomes(first, WAIT) == ["ok"], first
    again = ansible_playbook(RESULT_PLAY, "-e", "@%s" % p)
    assert again.rc == 0 and again.stats["changed"] == 0, again
    assert outcomes(again, WAIT) == ["ok"], again.stdout
    result = json.loads((tmp_path / "r.json").read_text())
    assert [(d["name"], d["phase"]) for d in result["datasets"]] == [("elsewhere", "NotBound")], result
    assert kube.get("alluxioruntime", "-n", ns)["items"] == []


def test_datasets_role_refuses_an_item_without_mounts(ansible_playbook, kube, fluid, ns):
    run = ansible_playbook(PLAY, "-e", '{"datasets_namespace": "%s", "datasets_list": [{"name": "nomounts"}]}' % ns)
    assert run.rc != 0
    assert "datasets_list[0].mounts: a Dataset needs at least one mount" in run.stdout
    assert kube.get("dataset", "-n", ns)["items"] == []


def controller_or_skip(name, timeout=120):
    """Skip unless the embedded cluster runs Fluid's `name` controller; wait until it is Running. (On a cluster
    of KUBECONFIG_UNDER_TEST, a real Fluid, the dataset-controller scales it out on demand: no check.)"""
    if os.environ.get("KUBECONFIG_UNDER_TEST"):
        return
    if name not in cluster_status():
        pytest.skip("the embedded cluster has no %s (hack/cluster/cluster.py runs none), so nothing would reconcile "
                    "this runtime kind" % name)
    deadline = time.time() + timeout
    while not cluster_status().get(name, "").startswith("Running"):
        assert time.time() < deadline, "%s not running: %s" % (name, cluster_status().get(name))
        time.sleep(1)


def test_datasets_role_declares_a_thin_runtime_by_kind_with_its_kind_defaults(ansible_playbook, kube, fluid, ns, tmp_path):
    """runtime.kind picks the kind; datasets_runtime_defaults.ThinRuntime gives the profile; no AlluxioRuntime."""
    controller_or_skip("thinruntime-controller")
    profile = "nfs-" + ns  # ThinRuntimeProfiles are cluster-scoped: one per test namespace
    kube.apply({"apiVersion": "data.fluid.io/v1alpha1", "kind": "ThinRuntimeProfile", "metadata": {"name": profile},
                "spec": {"fileSystemType": "nfs", "fuse": {"image": "fluidcloudnative/nfs", "imageTag": "v0.1",
                                                           "command": ["/usr/local/bin/entrypoint.sh"]}}})
    try:
        def run(state="present"):
            p = tmp_path / ("thin-%s.json" % state)
            p.write_text(json.dumps({
                "datasets_state": state, "datasets_namespace": ns, "datasets_wait_timeout": 240,
                "datasets_runtime_defaults": {"ThinRuntime": {"spec": {"profileName": profile}}},
                "datasets_list": [{"name": "nfs-demo", "mounts": [{"name": "nfs-demo", "mount_point": "192.168.1.2:/export"}],
                                   "runtime": {"kind": "ThinRuntime"}}]}))
            return ansible_playbook(PLAY, "-e", "@%s" % p)

        first = run()
        assert first.rc == 0, first
        assert kube.get("dataset", "-n", ns, "nfs-demo")["status"]["phase"] == "Bound"
        rt = kube.get("thinruntime", "-n", ns, "nfs-demo")
        assert rt["spec"]["profileName"] == profile
        assert kube.get("alluxioruntime", "-n", ns)["items"] == []
        again = run()
        assert again.rc == 0 and again.stats["changed"] == 0, again
        gone = run("absent")
        assert gone.rc == 0, gone
        assert kube.get("thinruntime", "-n", ns)["items"] == [] and kube.get("dataset", "-n", ns)["items"] == []
    finally:
        kube.run("delete", "thinruntimeprofile", profile, "--ignore-not-found", check=False)


def test_datasets_role_names_the_kind_variable_of_a_bad_runtime_and_writes_nothing(ansible_playbook, kube, fluid, ns):
    run = ansible_playbook(PLAY, "-e", json.dumps({
        "datasets_namespace": ns,
        "datasets_runtime_defaults": {
            "JuiceFSRuntime": {"tiered_store": [{"medium": "MEM", "path": "/dev/shm", "quota": "0"}]}},
        "datasets_list": [{"name": "jfs", "mounts": [{"name": "m", "mount_point": "juicefs:///"}],
                           "runtime": {"kind": "JuiceFSRuntime"}},
                          {"name": "bad", "mounts": [{"name": "m", "mount_point": "https://example.com/d/"}],
                           "runtime": {"kind": "FooRuntime"}}]}))
    assert run.rc != 0
    assert "datasets_runtime_defaults.JuiceFSRuntime.tiered_store[0].quota: '0' must be more than 0" in run.stdout
    assert "datasets_list[1].runtime.kind: value of kind must be one of" in run.stdout
    assert kube.get("dataset", "-n", ns)["items"] == []
