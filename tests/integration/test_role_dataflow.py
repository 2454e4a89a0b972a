"""Role cloudnative.fluid.dataflow on the embedded cluster with the REAL Fluid dataset controller: a flow
DataLoad -> DataProcess -> DataLoad on a Bound Alluxio Dataset, chained by Fluid's runAfter (its DataFlow
controller holds each step Pending until the one before is Complete); a flow whose middle step fails (KWOK
fails pods labelled embedded.cloudnative.fluid/fail=true); a bad step refused before anything is written."""
import json

import pytest

from observe_env import ensure_fluid, Env

SCRIPT = {"image": "busybox", "image_tag": "1.36", "command": ["sh"], "source": "ls -lR /data"}
PLAY = """
- hosts: all
  gather_facts: false
  roles:
    - cloudnative.fluid.dataflow
"""


@pytest.fixture(scope="module")
def env(kube, cluster):
    ensure_fluid(kube, cluster)
    e = Env(kube, cluster, "flow").up(nginx=False, second=False)
    yield e
    for kind in ("dataload", "dataprocess"):
        kube.run("delete", kind, "--all", "-n", e.ns_a, "--timeout=90s", check=False, timeout=120)
    e.down()


def flow(tmp_path, ns, name, steps, **more):
    data = dict({"dataflow_name": name, "dataflow_namespace": ns, "dataflow_dataset": "cifar10",
                 "dataflow_wait_timeout": 400, "dataflow_steps": steps}, **more)
    p = tmp_path / ("%s-%d.json" % (name, len(list(tmp_path.iterdir()))))
    p.write_text(json.dumps(data))
    return "@%s" % p


def finished_at(obj):
    return obj["status"]["conditions"][0]["lastTransitionTime"]


def test_flow_completes_in_order_reports_each_step_then_is_unchanged_then_deletes(ansible_playbook, kube, env, tmp_path):
    ns = env.ns_a
    steps = [{"kind": "DataLoad", "paths": ["/hbase"]},
             {"kind": "DataProcess", "mount_path": "/data", "script": SCRIPT},
             {"kind": "DataLoad", "paths": ["/spark"]}]
    run = ansible_playbook(PLAY, "-e", flow(tmp_path, ns, "warm", steps))
    assert run.rc == 0, run
    for line in ("1. DataLoad warm-1-dataload: Complete in ", "2. DataProcess warm-2-dataprocess: Complete in ",
                 "3. DataLoad warm-3-dataload: Complete in "):
        assert line in run.stdout, run.stdout[-3000:]
    assert run.stdout.count("- created by this run") == 3, run.stdout[-3000:]

    # every step Complete, each chained to the one before it, and each finished after it
    wanted = (("dataload", "warm-1-dataload"), ("dataprocess", "warm-2-dataprocess"), ("dataload", "warm-3-dataload"))
    objs = [kube.wait_for((kind, "-n", ns, name), lambda o: o["status"]["phase"] == "Complete", timeout=60)
            for kind, name in wanted]
    assert "runAfter" not in objs[0]["spec"]
    assert {k: objs[1]["spec"]["runAfter"][k] for k in ("kind", "name", "namespace")} == {
        "kind": "DataLoad", "name": "warm-1-dataload", "namespace": ns}
    assert {k: objs[2]["spec"]["runAfter"][k] for k in ("kind", "name", "namespace")} == {
        "kind": "DataProcess", "name": "warm-2-dataprocess", "namespace": ns}
    for o in objs[1:]:
        assert o["status"]["waitingFor"] == {"operationComplete": False}
    assert finished_at(objs[0]) <= finished_at(objs[1]) <= finished_at(objs[2])
    # the Job of each step was created once the step before it had finished
    jobs = [kube.get("job", "-n", ns, job) for job in ("warm-2-dataprocess-processor-job", "warm-3-dataload-loader-job")]
    assert finished_at(objs[0]) <= jobs[0]["metadata"]["creationTimestamp"]
    assert finished_at(objs[1]) <= jobs[1]["metadata"]["creationTimestamp"]

    uids = [o["metadata"]["uid"] for o in objs]
    again = ansible_playbook(PLAY, "-e", flow(tmp_path, ns, "warm", steps))
    assert again.rc == 0 and again.stats["changed"] == 0, again
    assert "created by this run" not in again.stdout
    assert [kube.get(kind, "-n", ns, name)["metadata"]["uid"] for kind, name in wanted] == uids

    gone = ansible_playbook(PLAY, "-e", flow(tmp_path, ns, "warm", steps, dataflow_state="absent"))
    assert gone.rc == 0 and gone.stats["changed"] == 3, gone
    for kind, name in wanted:
        assert kube.get(kind, "-n", ns, name, check=False) is None


def test_a_failed_middle_step_stops_the_flow_and_names_the_step_that_never_runs(ansible_playbook, kube, env, tmp_path):
    ns = env.ns_a
    steps = [{"kind": "DataLoad", "paths": ["/hbase"]},
             {"kind": "DataProcess", "name": "broken", "mount_path": "/data", "script": SCRIPT,
              "pod_labels": {"embedded.cloudnative.fluid/fail": "true"}},
             {"kind": "DataLoad", "paths": ["/spark"]}]
    run = ansible_playbook(PLAY, "-e", flow(tmp_path, ns, "fails", steps))
    assert run.rc != 0, run
    assert "Data flow fails stopped at step 2 (DataProcess broken): DataProcess %s/broken Failed after " % ns \
        in run.stdout, run
    assert "BackoffLimitExceeded" in run.stdout, run
    assert "Will never run, because Fluid starts a step only after the one it runs after is Complete: " \
           "fails-3-dataload." in run.stdout, run
    assert "2. DataProcess broken: Failed in " in run.stdout and "will never run: fails-3-dataload" in run.stdout, run
    assert kube.get("dataload", "-n", ns, "fails-1-dataload")["status"]["phase"] == "Complete"
    assert kube.get("dataprocess", "-n", ns, "broken")["status"]["phase"] == "Failed"
    # Fluid keeps the step after the failed one Pending, waiting for it
    last = kube.wait_for(("dataload", "-n", ns, "fails-3-dataload"),
                         lambda o: o["status"]["waitingFor"]["operationComplete"] is True, timeout=60)
    assert last["status"]["phase"] == "Pending"
    assert kube.get("job", "-n", ns, "fails-3-dataload-loader-job", check=False) is None

    gone = ansible_playbook(PLAY, "-e", flow(tmp_path, ns, "fails", steps, dataflow_state="absent"))
    assert gone.rc == 0, gone


def test_a_bad_step_is_refused_before_anything_is_written(ansible_playbook, kube, env, tmp_path):
    ns = env.ns_a
    steps = [{"kind": "DataLoad", "paths": ["hbase"]},
             {"kind": "DataProcess", "mount_path": "/data"},
             {"kind": "DataLoad", "dataset": "nope"},
             {"kind": "DataLoad", "name": "taken", "wait_timeout": 0},
             {"kind": "DataLoad", "name": "taken"}]
    run = ansible_playbook(PLAY, "-e", flow(tmp_path, ns, "refused", steps))
    assert run.rc != 0
    assert "dataflow_steps[4].name: taken is already the name of dataflow_steps[3]" in run.stdout, run
    steps.pop()
    # the modules' messages, each naming the variable that set the value: the step's own, or the flow's
    run = ansible_playbook(PLAY, "-e", flow(tmp_path, ns, "refused", steps, dataflow_dataset=""))
    assert run.rc != 0
    for text in ("dataflow_steps[0].paths[0].path: 'hbase' must be an absolute path inside the Dataset",
                 "dataflow_steps[1].script, job_pod_spec: give exactly one processor",
                 "dataflow_steps[2].dataset: Dataset %s/nope does not exist" % ns,
                 "dataflow_steps[3].wait_timeout: must be a positive number of seconds, got 0",
                 "dataflow_dataset: is required with state=present; name the Dataset to load into (it must be in "
                 "namespace %s) (dataflow_steps[3], DataLoad taken)" % ns):
        assert text in run.stdout, (text, run.stdout[-3000:])
    assert kube.get("dataload", "-n", ns)["items"] == [] and kube.get("dataprocess", "-n", ns)["items"] == []
