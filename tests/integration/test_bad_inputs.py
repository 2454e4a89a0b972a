"""The bad-input table: every row runs a real module or role as a user would, must FAIL with a message
that names the field and the fix, and must leave the cluster as it was (checked through the API).

To keep ansible start-ups few, the rows run as tasks of one playbook (modules with ignore_errors,
roles in block/rescue so the rest of a failed role never runs), with the json callback; each row is
then asserted on its own. The "Fluid not installed" rows run in a second playbook after Fluid's CRDs
have really been deleted from this cluster; the CRDs (and controllers) are restored afterwards with
the `fluid` fixture's logic (conftest.ensure_fluid).
"""
import collections
import json
import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

from conftest import SEED_SECOND_NODE, collections_path, ensure_fluid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
# What "nothing was created" is checked against in a row's namespace.
KINDS = ("datasets", "alluxioruntimes", "jindoruntimes", "juicefsruntimes", "thinruntimes", "dataloads",
         "secrets", "persistentvolumeclaims")
RUN = uuid.uuid4().hex[:5]
URL = "https://example.com/data/"

Row = collections.namedtuple("Row", "id target args needles check preflight")


def row(id, target, args, needles, check="namespace", preflight=None):
    """target: a module name, or role:<name>. needles: the field and the fix, each must be in the message.
    check: what the API must still show (namespace: nothing in the row's namespace; update: the existing
    Dataset's resourceVersion; nodes: every node's resourceVersion; absent-namespace; fluid-role; no-fluid)."""
    return Row(id, target, args, needles, check, preflight)


NS = "{ns}"  # replaced by the row's own namespace

ROWS = [
    # ------------------------------------------------------------------ dataset module
    row("dataset-empty-mounts", "dataset", {"name": "d", "namespace": NS, "mounts": []},
        ["mounts: a Dataset needs at least one mount", "add e.g. mounts: [{name: data, mount_point:"]),
    row("dataset-unsupported-scheme", "dataset", {"name": "d", "namespace": NS,
                                                  "mounts": [{"name": "a", "mount_point": "ftp2://host/data"}]},
        ["mounts[0].mount_point: the scheme ftp2://", "use one of", "https://", "pvc://"]),
    row("dataset-name-not-dns1035", "dataset", {"name": "Cifar_10", "namespace": NS, "mounts": [{"mount_point": URL}]},
        ["name: 'Cifar_10' is not a valid Dataset name", "DNS-1035", "(e.g. cifar10)"]),
    row("dataset-namespace-does-not-exist", "dataset", {"name": "d", "namespace": "bad-absent-" + RUN,
                                                        "mounts": [{"mount_point": URL}]},
        ["namespace bad-absent-%s does not exist" % RUN, "create it first", "or set namespace to an existing one"],
        check="absent-namespace"),
    row("dataset-name-and-datasets", "dataset", {"name": "d", "namespace": NS,
                                                 "datasets": [{"name": "e", "mounts": [{"mount_point": URL}]}]},
        ["name, datasets: give one of them, not both", "move name=d into datasets"]),
    row("dataset-mounts-and-spec-mounts", "dataset", {"name": "d", "namespace": NS, "mounts": [{"mount_point": URL}],
                                                      "spec": {"mounts": [{"mountPoint": URL}]}},
        ["spec.mounts: also set by mounts", "set it in one place only"]),
    row("dataset-wait-timeout-zero", "dataset", {"name": "d", "namespace": NS, "mounts": [{"mount_point": URL}],
                                                 "wait_timeout": 0},
        ["wait_timeout: must be a positive number of seconds, got 0", "give e.g. wait_timeout: 300"]),
    row("dataset-update-invalid", "dataset", {"name": "keep", "namespace": NS,
                                              "mounts": [{"name": "d", "mount_point": "pvc://Bad_Claim/x"}]},
        ["mounts[0].mount_point: 'pvc://Bad_Claim/x'", "must start with a PVC name: pvc://<claim-name>"],
        check="update"),
    # ------------------------------------------------------------------ runtime module
    row("runtime-bad-quantity", "runtime", {"name": "d", "namespace": NS,
                                            "tiered_store": [{"medium": "MEM", "path": "/dev/shm", "quota": "2Gx"}]},
        ["tiered_store[0].quota: '2Gx' is not a Kubernetes quantity", "e.g. 2Gi"]),
    row("runtime-low-above-high", "runtime", {"name": "d", "namespace": NS, "tiered_store": [
        {"medium": "MEM", "path": "/dev/shm", "quota": "1Gi", "high": 0.5, "low": 0.9}]},
        ["tiered_store[0].low: 0.9 must be below high (0.5)", "e.g. high 0.95, low 0.7"]),
    row("runtime-negative-replicas", "runtime", {"name": "d", "namespace": NS, "replicas": -1},
        ["replicas: -1 must be 0 or more", "e.g. replicas: 1"]),
    row("runtime-unknown-kind", "runtime", {"name": "d", "namespace": NS, "kind": "FooRuntime"},
        ["value of kind must be one of: AlluxioRuntime, JindoRuntime, JuiceFSRuntime, ThinRuntime", "got: FooRuntime"]),
    row("runtime-wait-timeout-negative", "runtime", {"name": "d", "namespace": NS, "wait_timeout": -5},
        ["wait_timeout: must be a positive number of seconds, got -5", "give e.g. wait_timeout: 300"]),
    row("runtime-name-and-runtimes", "runtime", {"name": "d", "namespace": NS, "runtimes": [{"name": "e"}]},
        ["name, runtimes: give one of them, not both", "move name=d into runtimes"]),
    # ------------------------------------------------------------------ node_labels, dataload
    row("node-labels-invalid-key", "node_labels", {"names": [SEED_SECOND_NODE], "labels": {"bad key!": "x"}},
        ["labels[bad key!]: 'bad key!' is not a valid label key", "must be 1-63 letters, digits"], check="nodes"),
    row("node-labels-fluid-label", "node_labels", {"names": [SEED_SECOND_NODE],
                                                   "labels": {"fluid.io/s-default-cifar10": "true"}},
        ["labels[fluid.io/s-default-cifar10]: fluid.io/s-default-cifar10 is a label Fluid manages itself",
         "Pick another key, or set force: true"], check="nodes"),
    row("node-labels-no-node-selection", "node_labels", {"labels": {"team": "ml"}},
        ["names, label_selector, gpu: give at least one to select nodes", "for example gpu: true"], check="nodes"),
    row("dataload-relative-path", "dataload", {"name": "load", "namespace": NS, "dataset": "d",
                                               "paths": [{"path": "data"}]},
        ["paths[0].path: 'data' must be an absolute path inside the Dataset", "e.g. /"]),
    # ------------------------------------------------------------------ connection and credentials
    row("kubeconfig-missing", "dataset", {"name": "d", "namespace": NS, "mounts": [{"mount_point": URL}],
                                          "kubeconfig": "/nonexistent/bad-inputs/kubeconfig"},
        ["kubeconfig: ", "does not exist", "point kubeconfig (or K8S_AUTH_KUBECONFIG) at your cluster's kubeconfig"]),
    row("api-unreachable", "dataset", {"name": "d", "namespace": NS, "mounts": [{"mount_point": URL}],
                                       "kubeconfig": "{closed_kubeconfig}"},
        ["cannot reach the Kubernetes API server at https://127.0.0.1:{closed_port}", "connection refused",
         "Check that the cluster is running and that kubeconfig and context"]),
    row("rbac-forbidden", "dataset", {"name": "d", "namespace": NS, "mounts": [{"mount_point": URL}],
                                      "kubeconfig": "{sa_kubeconfig}"},
        ["forbidden (403): system:serviceaccount:{ns}:nobody may not get datasets.data.fluid.io in namespace {ns}",
         "Grant 'get' on datasets.data.fluid.io in namespace {ns} to system:serviceaccount:{ns}:nobody",
         "cloudnative.fluid.automation_account"]),
    row("unauthorized-token", "dataset", {"name": "d", "namespace": NS, "mounts": [{"mount_point": URL}],
                                          "kubeconfig": "{bogus_kubeconfig}"},
        ["unauthorized (401)", "rejected the credentials", "kubectl create token"]),
    # ------------------------------------------------------------------ roles: fail in preflight
    row("role-datasets-missing-mounts", "role:datasets", {"datasets_namespace": NS, "datasets_list": [{"name": "r"}]},
        ["datasets_list[0].mounts: a Dataset needs at least one mount", "add e.g. mounts:"],
        preflight="Assert the Dataset inputs"),
    row("role-datasets-runtime-bad-quantity", "role:datasets", {"datasets_namespace": NS, "datasets_list": [
        {"name": "r", "mounts": [{"name": "d", "mount_point": URL}],
         "runtime": {"tiered_store": [{"medium": "MEM", "path": "/dev/shm", "quota": "2Gx"}]}}]},
        ["datasets_list[0].runtime.tiered_store[0].quota: '2Gx' is not a Kubernetes quantity", "e.g. 2Gi"],
        preflight="Assert the runtime inputs"),
    row("role-alluxio-runtime-bad-quantity", "role:alluxio_runtime", {
        "alluxio_runtime_namespace": NS, "alluxio_runtime_runtimes": [{"name": "r"}],
        "alluxio_runtime_tiered_store": [{"medium": "MEM", "path": "/dev/shm", "quota": "2Gx"}]},
        ["alluxio_runtime_tiered_store[0].quota: '2Gx' is not a Kubernetes quantity", "e.g. 2Gi"],
        preflight="Assert the runtime inputs"),
    row("role-gpu-node-labels-bad-key", "role:gpu_node_labels", {"gpu_node_labels_label_key": "bad key!"},
        ["gpu_node_labels_label_key: bad key! is not a valid label key", "e.g. aliyun.accelerator/nvidia_name"],
        check="nodes", preflight="Check the role's inputs"),
    row("role-gpu-node-labels-fluid-label", "role:gpu_node_labels",
        {"gpu_node_labels_extra_labels": {"fluid.io/dataset-num": "1"}},
        ["gpu_node_labels_extra_labels: fluid.io/dataset-num is a label Fluid manages itself",
         "use another key, or set gpu_node_labels_force: true"], check="nodes", preflight="Check the role's inputs"),
    row("role-fluid-bad-version", "role:fluid", {"fluid_version": "1.x", "fluid_namespace": "bad-fluid-" + RUN},
        ["fluid_version: 1.x is not a chart version", "write one such as 1.0.8"], check="fluid-role",
        preflight="Check the role's inputs"),
    row("role-fluid-context-with-ca-cert", "role:fluid", {"k8s_context": "kwok-fluid", "k8s_ca_cert": "/etc/fluid/ca.crt",
                                                         "fluid_namespace": "bad-fluid-" + RUN},
        ["k8s_context=kwok-fluid cannot be combined with k8s_ca_cert", "Put them in the kubeconfig",
         "or leave k8s_context empty"], check="fluid-role", preflight="Check the role's inputs"),
    # ------------------------------------------------------------------ Fluid's CRDs removed from the cluster
    row("dataset-fluid-not-installed", "dataset", {"name": "d", "namespace": NS, "mounts": [{"mount_point": URL}]},
        ["Fluid is not installed in this cluster: the data.fluid.io CRDs are missing",
         "Install Fluid first with the role cloudnative.fluid.fluid"], check="no-fluid"),
    row("runtime-fluid-not-installed", "runtime", {"name": "d", "namespace": NS},
        ["Fluid is not installed in this cluster", "Install Fluid first with the role cloudnative.fluid.fluid"],
        check="no-fluid"),
]


def namespace_of(r):
    return "bad-%s-%02d" % (RUN, ROWS.index(r))


def fill(value, ctx):
    """Placeholders ({ns}, {sa_kubeconfig}, ...) replaced in every string of a row."""
    if isinstance(value, str):
        for k, v in ctx.items():
            value = value.replace("{%s}" % k, str(v))
        return value
    if isinstance(value, dict):
        return {fill(k, ctx): fill(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ctx) for v in value]
    return value


def task_for(r, ctx):
    args = fill(r.args, ctx)
    if r.target.startswith("role:"):
        return {"name": "row " + r.id, "block": [
            {"name": "role of " + r.id, "ansible.builtin.import_role": {"name": "cloudnative.fluid." + r.target[5:]},
             "vars": args}],
            "rescue": [{"name": "rescued " + r.id, "ansible.builtin.debug": {"msg": {
                "failed_task": "{{ ansible_failed_task.name }}",
                "message": "{{ ansible_failed_result.msg | default('') }}"}}}]}
    return {"name": r.id, "cloudnative.fluid." + r.target: args, "ignore_errors": True}


def run_rows(cluster, rows, ctx, tmp):
    """One ansible-playbook run for all rows; {row id: (failed, message, failed task or None)}."""
    play = [{"hosts": "localhost", "gather_facts": False,
             "module_defaults": {"group/cloudnative.fluid.fluid": {"kubeconfig": cluster["kubeconfig"]}},
             "vars": {"fluid_kubeconfig": cluster["kubeconfig"], "gpu_node_labels_kubeconfig": cluster["kubeconfig"]},
             "tasks": [task_for(r, dict(ctx, ns=namespace_of(r))) for r in rows]}]
    path = os.path.join(tmp, "bad-inputs-%d.yml" % len(os.listdir(tmp)))
    with open(path, "w") as fh:
        json.dump(play, fh, indent=1)  # JSON is YAML
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_DEPRECATION_WARNINGS="0")
    for var in [k for k in env if k.startswith("K8S_AUTH_")]:
        env.pop(var)
    proc = subprocess.run([PLAYBOOK, path, "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=" + sys.executable],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=900, check=False)
    try:
        tasks = json.loads(proc.stdout)["plays"][0]["tasks"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError("no json output from ansible-playbook:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-3000:]))
    out = {}
    for t in tasks:
        name, res = t["task"]["name"], t["hosts"].get("localhost", {})
        if name.startswith("rescued ") and name[8:] in ctx["role_rows"]:  # the role failed at failed_task
            out[name[8:]] = (True, res["msg"]["message"], res["msg"]["failed_task"])
        elif name in ctx["module_rows"]:
            out[name] = (bool(res.get("failed")), res.get("msg", ""), None)
    return out


def snapshot(kube, namespaces):
    """What the checks compare: objects per row namespace, nodes, existing namespaces, the Dataset CRD."""
    items = kube.get(",".join(KINDS), "-A")["items"]
    objects = collections.defaultdict(list)
    for it in items:
        if it["metadata"]["namespace"] in namespaces:
            objects[it["metadata"]["namespace"]].append("%s/%s" % (it["kind"], it["metadata"]["name"]))
    # labels are what node_labels and gpu_node_labels write (a node's resourceVersion moves with heartbeats)
    nodes = {n["metadata"]["name"]: n["metadata"].get("labels") for n in kube.get("nodes")["items"]}
    existing = set(n["metadata"]["name"] for n in kube.get("namespaces")["items"])
    crd = kube.get("crd", "datasets.data.fluid.io", check=False)
    return {"objects": objects, "nodes": nodes, "namespaces": existing,
            "crd": crd and crd["metadata"]["resourceVersion"]}


def kubeconfig_file(tmp, name, server, ca, token):
    path = os.path.join(tmp, name)
    with open(path, "w") as fh:
        json.dump({"apiVersion": "v1", "kind": "Config", "current-context": "x",
                   "clusters": [{"name": "c", "cluster": dict(ca, server=server)}],
                   "users": [{"name": "u", "user": {"token": token}}],
                   "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}]}, fh)
    return path


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there any more
    return port


def settled(kube, ns, name, timeout=120):
    """The Dataset's resourceVersion once Fluid's controller has written its status and stopped writing."""
    obj = kube.wait_for(["dataset", "-n", ns, name], lambda o: o["status"]["phase"], timeout=timeout)
    while True:
        time.sleep(2)
        again = kube.get("dataset", "-n", ns, name)
        if again["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]:
            return again
        obj = again


def remove_fluid_crds(kube, cluster):
    """Really uninstall Fluid's API from this cluster: its objects first (finalizers), then the CRDs."""
    crds = os.path.join(cluster["fluid-chart"], "crds")
    kube.run("delete", "dataloads,alluxioruntimes,jindoruntimes,juicefsruntimes,thinruntimes,datasets", "--all", "-A",
             "--timeout=90s", check=False, timeout=150)
    kube.run("delete", "-f", crds, "--timeout=120s", timeout=180)
    deadline = time.monotonic() + 60
    while kube.run("get", "--raw", "/apis/data.fluid.io/v1alpha1", check=False).returncode == 0:
        assert time.monotonic() < deadline, "data.fluid.io/v1alpha1 still served after its CRDs were deleted"
        time.sleep(1)


@pytest.fixture(scope="module")
def table(cluster, kube, tmp_path_factory):
    setup = time.monotonic()
    tmp = str(tmp_path_factory.mktemp("bad-inputs"))
    ensure_fluid(kube, cluster)
    namespaces = [namespace_of(r) for r in ROWS]
    kube.apply({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in namespaces]})
    # credentials: a ServiceAccount with no rights (token minted by the API server), a token nobody issued,
    # and the real API's address swapped for a closed port
    rbac = next(r for r in ROWS if r.id == "rbac-forbidden")
    kube.run("create", "serviceaccount", "nobody", "-n", namespace_of(rbac))
    token = kube.run("create", "token", "nobody", "-n", namespace_of(rbac), "--duration=30m").stdout.strip()
    view = json.loads(kube.run("config", "view", "--raw", "--minify", "-o", "json").stdout)["clusters"][0]["cluster"]
    ca = {k: view[k] for k in ("certificate-authority", "certificate-authority-data") if k in view}
    port = closed_port()
    ctx = {"sa_kubeconfig": kubeconfig_file(tmp, "sa.kubeconfig", view["server"], ca, token),
           "bogus_kubeconfig": kubeconfig_file(tmp, "bogus.kubeconfig", view["server"], ca, "not-a-token"),
           "closed_kubeconfig": kubeconfig_file(tmp, "closed.kubeconfig", "https://127.0.0.1:%d" % port, ca, token),
           "closed_port": port,
           "role_rows": set(r.id for r in ROWS if r.target.startswith("role:")),
           "module_rows": set(r.id for r in ROWS if not r.target.startswith("role:"))}
    # the object of the update row, settled so that only a write by the module could change it
    update = next(r for r in ROWS if r.check == "update")
    kube.apply({"apiVersion": "data.fluid.io/v1alpha1", "kind": "Dataset",
                "metadata": {"name": "keep", "namespace": namespace_of(update)},
                "spec": {"mounts": [{"name": "d", "mountPoint": URL}]}})
    kept = settled(kube, namespace_of(update), "keep")
    t0 = time.monotonic()

    with_fluid = [r for r in ROWS if r.check != "no-fluid"]
    no_fluid = [r for r in ROWS if r.check == "no-fluid"]
    before = snapshot(kube, namespaces)
    started = time.monotonic()
    results = run_rows(cluster, with_fluid, ctx, tmp)
    batch_seconds = time.monotonic() - started
    after = snapshot(kube, namespaces)
    after["kept"] = kube.get("dataset", "-n", namespace_of(update), "keep")
    t1 = time.monotonic()
    try:
        remove_fluid_crds(kube, cluster)
        t2 = time.monotonic()
        results.update(run_rows(cluster, no_fluid, ctx, tmp))
        t3 = time.monotonic()
        after["crd_after_no_fluid"] = kube.get("crd", "datasets.data.fluid.io", check=False)
        after["served_after_no_fluid"] = kube.run("get", "--raw", "/apis/data.fluid.io/v1alpha1",
                                                  check=False).returncode == 0
        after["no_fluid_objects"] = {namespace_of(r): [s["metadata"]["name"] for s in kube.get(
            "secrets,persistentvolumeclaims", "-n", namespace_of(r))["items"]] for r in no_fluid}
    finally:
        ensure_fluid(kube, cluster)
    sys.stderr.write("bad-inputs: setup %.1f s; %d rows in one playbook %.1f s; CRDs removed in %.1f s; %d rows "
                     "without Fluid %.1f s; Fluid restored in %.1f s\n" % (
                         t0 - setup, len(with_fluid), batch_seconds, t2 - t1, len(no_fluid), t3 - t2,
                         time.monotonic() - t3))
    yield {"ctx": ctx, "results": results, "before": before, "after": after, "kept": kept}
    for n in namespaces:
        kube.run("delete", "dataset", "--all", "-n", n, "--wait=false", check=False)
        kube.run("delete", "namespace", n, "--wait=false", check=False)


def test_the_table_has_every_required_kind_of_row():
    assert len(ROWS) >= 22 and len(set(r.id for r in ROWS)) == len(ROWS)
    targets = set(r.target for r in ROWS)
    assert {"dataset", "runtime", "node_labels", "dataload", "role:datasets", "role:alluxio_runtime",
            "role:gpu_node_labels", "role:fluid"} <= targets


@pytest.mark.parametrize("r", ROWS, ids=[r.id for r in ROWS])
def test_bad_input_fails_naming_field_and_fix_and_changes_nothing(r, table):
    ns = namespace_of(r)
    ctx = dict(table["ctx"], ns=ns)
    assert r.id in table["results"], "row %s did not fail (no failed module result / role was not rescued)" % r.id
    failed, msg, failed_task = table["results"][r.id]
    assert failed, "row %s did not fail: %s" % (r.id, msg)
    for needle in fill(r.needles, ctx):
        assert needle in msg, "row %s: %r not in the message:\n%s" % (r.id, needle, msg)
    if r.preflight:
        assert failed_task == r.preflight, "row %s failed in %r, not in preflight (%r): %s" % (
            r.id, failed_task, r.preflight, msg)
        assert "(nothing was changed)" in msg, msg

    before, after = table["before"], table["after"]
    if r.check == "namespace":
        assert after["objects"].get(ns, []) == [], "row %s created %s" % (r.id, after["objects"][ns])
    elif r.check == "update":
        assert after["objects"][ns] == ["Dataset/keep"], after["objects"][ns]
        assert after["kept"]["metadata"]["resourceVersion"] == table["kept"]["metadata"]["resourceVersion"]
        assert after["kept"]["spec"]["mounts"] == [{"name": "d", "mountPoint": URL}]
    elif r.check == "nodes":
        assert after["nodes"] == before["nodes"], "row %s changed nodes" % r.id
    elif r.check == "absent-namespace":
        assert "bad-absent-" + RUN not in after["namespaces"]
    elif r.check == "fluid-role":
        assert "bad-fluid-" + RUN not in after["namespaces"]
        assert after["crd"] == before["crd"], "the Dataset CRD was rewritten"
    elif r.check == "no-fluid":
        assert after["crd_after_no_fluid"] is None and not after["served_after_no_fluid"], \
            "the row put Fluid's API back (it must only report it missing)"
        assert after["no_fluid_objects"][ns] == []
    else:
        raise AssertionError("unknown check %s" % r.check)
