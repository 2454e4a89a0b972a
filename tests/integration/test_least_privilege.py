"""The automation accounts (role cloudnative.fluid.automation_account).

The installer account runs site.yml with only its token, given as AWX's Bearer Token credential gives it
(K8S_AUTH_* environment variables, no kubeconfig, a HOME without ~/.kube) and as per-host inventory variables
(k8s_host, k8s_api_key, k8s_ca_cert, no environment): Helm, k8s_cluster_info, the k8s modules and this
collection's modules all reach the cluster through that one connection. The day-to-day account runs the
Datasets, GPU labels, status and a DataLoad, and is refused the install and everything outside its namespaces.
What an account's roles do not grant is refused with an RBAC message naming verb and resource."""
import base64
import json
import os
import re
import shutil

import pytest
import yaml

from conftest import Kube
from observe_env import ROOT, ensure_fluid, remove_workload_and_datasets

ACCOUNT = "fluid-automation"
SUBJECT = "system:serviceaccount:%s:%s" % (ACCOUNT, ACCOUNT)
DAILY = "fluid-daily"
DAILY_SUBJECT = "system:serviceaccount:%s:%s" % (ACCOUNT, DAILY)
MANAGED_SECRET = "lp-managed"  # the only Secret the day-to-day account may manage (in namespace default)


@pytest.fixture(scope="module")
def account_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("account")


@pytest.fixture(scope="module")
def account(cluster, kube, ansible_playbook, account_dir):
    """Create both accounts with the cluster's admin kubeconfig; yield the installer's kubeconfig (the day-to-day
    account's is beside it: daily_kubeconfig). Fluid's CRDs first: RBAC answers for their resources."""
    ensure_fluid(kube, cluster)
    kubeconfig = str(account_dir / "fluid-automation.kubeconfig")
    run = ansible_playbook("playbooks/automation_account.yml", "-e", "automation_account_kubeconfig_file=" + kubeconfig,
                           "-e", "automation_account_daily_kubeconfig_file=" + str(account_dir / "fluid-daily.kubeconfig"),
                           "-e", json.dumps({"automation_account_daily_namespaces": [
                               {"name": "default", "secrets": [MANAGED_SECRET]}]}),
                           inventory="inventories/local")
    assert run.rc == 0, run
    return kubeconfig


@pytest.fixture(scope="module")
def daily_kubeconfig(account, account_dir):
    return str(account_dir / "fluid-daily.kubeconfig")


@pytest.fixture(scope="module")
def tokens(account, kube, cluster, tmp_path_factory):
    """Each account's token and CA file as an AWX user copies them from its token Secret, the API server's URL,
    and a HOME without ~/.kube."""
    folder = tmp_path_factory.mktemp("tokens")
    out = {"server": yaml.safe_load(open(cluster["kubeconfig"]))["clusters"][0]["cluster"]["server"],
           "home": str(folder / "home")}
    os.makedirs(out["home"])
    for who in (ACCOUNT, DAILY):
        data = kube.get("secret", who + "-token", "-n", ACCOUNT)["data"]
        ca = folder / (who + "-ca.crt")
        ca.write_bytes(base64.b64decode(data["ca.crt"]))
        out[who] = {"token": base64.b64decode(data["token"]).decode(), "ca": str(ca)}
    return out


def token_env(tokens, who):
    """What AWX's "OpenShift or Kubernetes API Bearer Token" credential injects, and no kubeconfig anywhere."""
    return {"K8S_AUTH_HOST": tokens["server"], "K8S_AUTH_API_KEY": tokens[who]["token"],
            "K8S_AUTH_SSL_CA_CERT": tokens[who]["ca"], "K8S_AUTH_VERIFY_SSL": "True", "HOME": tokens["home"]}


def token_inventory(folder, cluster, host_vars=None):
    """inventories/local without its k8s_kubeconfig: its group_vars but the embedded cluster's facts written out
    (chart, helm, fixtures; no kubeconfig), and these host variables on localhost."""
    inv = folder / "inventory"
    group_vars = inv / "group_vars" / "all"
    os.makedirs(group_vars)
    local = os.path.join(ROOT, "inventories", "local")
    for name in os.listdir(os.path.join(local, "group_vars", "all")):
        if name != "cluster.yml":
            shutil.copy(os.path.join(local, "group_vars", "all", name), str(group_vars / name))
    facts = {k: cluster[k] for k in ("helm", "fluid-chart", "fluid-version", "fixtures", "kubectl")}
    (group_vars / "cluster.yml").write_text(yaml.safe_dump({"embedded_cluster": facts}))
    host = dict({"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                **(host_vars or {}))
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"fluid_controller": {"hosts": {"localhost": host}}}}}))
    text = open(os.path.join(local, "group_vars", "all", "cluster.yml")).read()
    assert "k8s_kubeconfig" in text  # the one variable this inventory leaves out
    return str(inv)


def release_secrets(kube):
    return kube.get("secret", "-n", "fluid-system", "-l", "owner=helm,name=fluid")["items"]


def one_task(module, **args):
    """A playbook (as text: JSON is YAML) of one task of module with args, on localhost."""
    return json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [{module: args}]}], indent=1)


def test_account_kubeconfig_holds_only_a_token(account, cluster):
    assert oct(os.stat(account).st_mode & 0o777) == "0o600"
    doc = yaml.safe_load(open(account))
    assert list(doc["users"][0]["user"]) == ["token"]
    assert doc["clusters"][0]["cluster"]["server"] == yaml.safe_load(open(cluster["kubeconfig"]))["clusters"][0]["cluster"]["server"]
    sa = Kube(account, cluster["kubectl"])
    assert sa.run("auth", "whoami", "-o", "json").stdout.count(SUBJECT) == 1
    # least privilege: no wildcard, no namespace deletion, no escalate/bind, no pods (Fluid's controllers
    # read Secrets cluster-wide, so the chart's rules the account must hold include that)
    for args in (["*", "*"], ["delete", "namespaces"], ["escalate", "clusterroles"], ["bind", "clusterroles"],
                 ["create", "pods", "-n", "default"], ["delete", "customresourcedefinitions"],
                 ["delete", "deployments", "-n", "fluid-system"]):
        assert sa.run("auth", "can-i", *args, check=False).stdout.strip() == "no", args
    for args in (["patch", "nodes"], ["create", "datasets.data.fluid.io", "-n", "default"],
                 ["create", "secrets", "-n", "fluid-system"], ["create", "customresourcedefinitions"]):
        assert sa.run("auth", "can-i", *args, check=False).stdout.strip() == "yes", args


@pytest.fixture(scope="module")
def site_by_token(account, tokens, cluster, kube, ansible_playbook, tmp_path_factory):
    """site.yml as the installer account with its token ONLY in K8S_AUTH_* (no KUBECONFIG, no k8s_kubeconfig, a HOME
    without ~/.kube). Afterwards the seed's Dataset, runtime and nginx in namespace default go, or later tests find
    pods on a Fluid PVC (the fluid role's purge) and a bigger Dataset in the report."""
    ensure_fluid(kube, cluster)
    folder = tmp_path_factory.mktemp("site-token")
    report = folder / "status.html"
    run = ansible_playbook("playbooks/site.yml", "-e", "status_report_file=%s" % report,
                           inventory=token_inventory(folder, cluster), env=token_env(tokens, ACCOUNT), admin=False)
    yield run, report
    remove_workload_and_datasets(kube, "default", [("default", "cifar10")])


def test_site_yml_with_only_the_installer_token_in_the_environment(site_by_token, kube, tokens):
    run, report = site_by_token
    assert run.rc == 0 and run.stats.get("failed") == 0, run
    assert "forbidden" not in run.stdout.lower()
    assert not os.path.exists(os.path.join(tokens["home"], ".kube", "config"))  # (Helm keeps a discovery cache there)
    ds = kube.get("dataset", "cifar10", "-n", "default")
    assert ds["status"]["phase"] == "Bound"
    # Helm ran as the account: the release is deployed (not "failed": kubernetes.core.helm does not
    # retry a failed release whose values did not change) and the chart's roles exist
    assert kube.get("secret", "-n", "fluid-system", "-l", "owner=helm,name=fluid,status=deployed")["items"]
    assert kube.get("clusterrole", "dataset-controller")["rules"]
    assert "cifar10" in report.read_text()


def test_site_yml_with_the_installer_token_in_inventory_variables(site_by_token, cluster, kube, tokens, ansible_playbook,
                                                                   tmp_path):
    """The same connection as per-host inventory variables and nothing in the environment: a second run, so every
    task (Helm's reads and upgrade check included) reads the cluster through them and changes nothing of Fluid."""
    assert site_by_token[0].rc == 0
    revisions = sorted(s["metadata"]["name"] for s in release_secrets(kube))
    host_vars = {"k8s_host": tokens["server"], "k8s_api_key": tokens[ACCOUNT]["token"], "k8s_ca_cert": tokens[ACCOUNT]["ca"]}
    report = tmp_path / "status.html"
    run = ansible_playbook("playbooks/site.yml", "-e", "status_report_file=%s" % report,
                           inventory=token_inventory(tmp_path, cluster, host_vars), env={"HOME": tokens["home"]}, admin=False)
    assert run.rc == 0 and run.stats.get("failed") == 0, run
    assert "forbidden" not in run.stdout.lower()
    assert tokens[ACCOUNT]["token"] not in run.stdout + run.stderr
    assert sorted(s["metadata"]["name"] for s in release_secrets(kube)) == revisions  # Helm upgraded nothing
    assert kube.get("dataset", "cifar10", "-n", "default")["status"]["phase"] == "Bound"
    assert "cifar10" in report.read_text()


def _refused(run, verb, resource, subject=SUBJECT):
    assert run.rc != 0 and run.stats.get("failed") == 1, run
    text = run.stdout
    assert "forbidden" in text.lower(), text[-3000:]
    assert subject in text
    fatal = [line for line in text.splitlines() if "fatal:" in line]
    assert fatal and re.search(r"\b%s\b" % verb, fatal[0]) and re.search(r"\b%s\b" % resource, fatal[0]), text[-3000:]


def test_actions_outside_the_role_are_refused(account, cluster, kube, ansible_playbook):
    kube.run("create", "namespace", "lp-victim", check=False)
    delete_ns = one_task("kubernetes.core.k8s", kubeconfig=account, state="absent", api_version="v1", kind="Namespace",
                         name="lp-victim")
    _refused(ansible_playbook(delete_ns), "delete", "namespaces")
    assert kube.get("namespace", "lp-victim")["status"]["phase"] == "Active"

    # this collection's own module: the dataset module's `secrets` option applies Secrets server-side,
    # which needs `patch` on secrets, not in site.yml's rules (docs/awx.md: automation_account_extra_rules)
    with_secret = one_task("cloudnative.fluid.dataset", kubeconfig=account, name="lp-secret", namespace="default",
                           wait=False, secrets=[{"name": "lp-secret", "string_data": {"key": "value-not-shown"}}],
                           mounts=[{"name": "d", "mount_point": "s3://bucket/d/", "encrypt_options": [
                               {"name": "aws.secretKey", "secret_name": "lp-secret", "secret_key": "key"}]}])
    run = ansible_playbook(with_secret)
    _refused(run, "patch", "secrets")
    assert "value-not-shown" not in run.stdout + run.stderr
    assert kube.get("dataset", "lp-secret", "-n", "default", check=False) is None
    assert kube.get("secret", "lp-secret", "-n", "default", check=False) is None


def test_the_account_cannot_grant_itself_more(account, cluster, kube, ansible_playbook):
    escalate = one_task("kubernetes.core.k8s", kubeconfig=account, definition={
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "lp-escalate"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": ACCOUNT}]})
    run = ansible_playbook(escalate)
    assert run.rc != 0, run
    assert "forbidden" in run.stdout.lower() and "attempting to grant RBAC permissions not currently held" in run.stdout, \
        run.stdout[-3000:]
    assert kube.get("clusterrolebinding", "lp-escalate", check=False) is None


def test_daily_account_runs_datasets_labels_status_and_a_dataload(site_by_token, cluster, kube, tokens, daily_kubeconfig,
                                                                   ansible_playbook, tmp_path):
    """The day-to-day account, its token in K8S_AUTH_* as AWX gives it: site.yml --tags datasets,gpu (the seed's
    second GPU node is labelled again), status.yml for its namespace, a DataLoad and a Dataset with the one Secret
    it manages."""
    assert site_by_token[0].rc == 0
    inventory = token_inventory(tmp_path, cluster)
    env = token_env(tokens, DAILY)
    run = ansible_playbook("playbooks/site.yml", "--tags", "datasets,gpu", "-e", "status_report_file=%s" % (tmp_path / "s.html"),
                           inventory=inventory, env=env, admin=False)
    assert run.rc == 0 and run.stats.get("failed") == 0, run
    assert "forbidden" not in run.stdout.lower()
    assert kube.get("node", "cn-hongkong.172.31.136.194")["metadata"]["labels"].get("aliyun.accelerator/nvidia_name")
    assert kube.get("dataset", "cifar10", "-n", "default")["status"]["phase"] == "Bound"

    report = tmp_path / "status.html"
    run = ansible_playbook("playbooks/status.yml", "-e", "status_namespace=default", "-e", "status_report_file=%s" % report,
                           inventory=inventory, env=env, admin=False)
    assert run.rc == 0 and run.stats.get("failed") == 0, run
    assert "could not read" not in run.stdout, run.stdout[-3000:]  # nodes, pods, PVCs and operations all readable
    assert "cifar10" in report.read_text()

    work = """
- hosts: localhost
  gather_facts: false
  tasks:
    - cloudnative.fluid.dataload:
        name: lp-daily-load
        namespace: default
        dataset: cifar10
        paths: [/hbase]
        ttl_seconds_after_finished: 600
        wait: true
        wait_timeout: 240
      register: load
    - name: The record of the DataLoad on its Dataset (Fluid deletes the DataLoad after its TTL)
      kubernetes.core.k8s_info:
        api_version: data.fluid.io/v1alpha1
        kind: Dataset
        namespace: default
        name: cifar10
      register: dataset
    - ansible.builtin.assert:
        that:
          - load.phase == 'Complete'
          - "'operations.cloudnative.fluid/dataload.lp-daily-load' in dataset.resources[0].metadata.annotations"
    - cloudnative.fluid.dataload:
        name: lp-daily-load
        namespace: default
        state: absent
    - cloudnative.fluid.dataset:
        name: lp-daily-secret
        namespace: default
        wait: false
        secrets: [{name: %s, string_data: {key: value-not-shown}}]
        mounts: [{name: d, mount_point: "s3://bucket/d/",
                  encrypt_options: [{name: aws.secretKey, secret_name: %s, secret_key: key}]}]
""" % (MANAGED_SECRET, MANAGED_SECRET)
    try:
        run = ansible_playbook(work, env=env, admin=False)
        assert run.rc == 0 and run.stats.get("failed") == 0, run
        assert "value-not-shown" not in run.stdout + run.stderr
        assert kube.get("dataload", "lp-daily-load", "-n", "default", check=False) is None  # state: absent
        annotations = kube.get("dataset", "cifar10", "-n", "default")["metadata"].get("annotations") or {}
        assert "operations.cloudnative.fluid/dataload.lp-daily-load" not in annotations  # its record dropped
        assert kube.get("secret", MANAGED_SECRET, "-n", "default")["data"]["key"]
    finally:
        for what in ("dataload/lp-daily-load", "dataset/lp-daily-secret", "secret/" + MANAGED_SECRET):
            kube.run("delete", "-n", "default", what, "--ignore-not-found", "--timeout=60s", check=False)


def test_daily_account_is_refused_the_rest(cluster, kube, tokens, daily_kubeconfig, ansible_playbook, tmp_path):
    """Refused: a Secret it does not manage, exec into a pod, the Helm install/upgrade, writing in a namespace it
    does not manage, creating a ClusterRole."""
    daily = Kube(daily_kubeconfig, cluster["kubectl"])
    assert daily.run("auth", "whoami", "-o", "json").stdout.count(DAILY_SUBJECT) == 1
    kube.run("create", "secret", "generic", "lp-other", "-n", "default", "--from-literal=key=admin-only", check=False)
    for args in (["get", "secret", "lp-other", "-n", "default"], ["get", "secrets", "-n", "default"],
                 ["get", "secret", ACCOUNT + "-token", "-n", ACCOUNT]):
        r = daily.run(*args, check=False)
        assert r.returncode != 0 and "forbidden" in r.stderr.lower() and "admin-only" not in r.stdout, args
    # exec: the API server refuses the pods/exec subresource before it reaches any kubelet
    kube.run("run", "lp-exec-target", "-n", "default", "--image=busybox", "--restart=Never", check=False)
    try:
        r = daily.run("exec", "-n", "default", "lp-exec-target", "--", "true", check=False)
        assert r.returncode != 0 and 'cannot create resource "pods/exec"' in r.stderr, r.stderr
    finally:
        kube.run("delete", "pod", "lp-exec-target", "-n", "default", "--wait=false", check=False)
    for args in (["create", "pods", "--subresource=exec", "-n", "default"], ["get", "pods", "--subresource=log", "-n", "default"],
                 ["create", "clusterroles"], ["create", "datasets.data.fluid.io", "-n", "kube-public"],
                 ["patch", "deployments", "-n", "fluid-system"], ["list", "secrets", "-n", "fluid-system"]):
        assert daily.run("auth", "can-i", *args, check=False).stdout.strip() == "no", args

    # the install job with the day-to-day credential: refused, the release untouched
    revisions = sorted(s["metadata"]["name"] for s in release_secrets(kube))
    run = ansible_playbook("playbooks/site.yml", "--tags", "fluid", inventory=token_inventory(tmp_path, cluster),
                           env=token_env(tokens, DAILY), admin=False)
    assert run.rc != 0 and "forbidden" in run.stdout.lower() and DAILY_SUBJECT in run.stdout, run
    assert sorted(s["metadata"]["name"] for s in release_secrets(kube)) == revisions

    kube.run("create", "namespace", "lp-victim", check=False)
    outside = one_task("cloudnative.fluid.dataset", kubeconfig=daily_kubeconfig, name="lp-outside", namespace="lp-victim",
                       wait=False, mounts=[{"name": "d", "mount_point": "https://example.com/d/"}])
    _refused(ansible_playbook(outside), "get", "datasets", DAILY_SUBJECT)  # the module reads before it writes
    dataset = {"apiVersion": "data.fluid.io/v1alpha1", "kind": "Dataset", "metadata": {"name": "lp-outside"},
               "spec": {"mounts": [{"name": "d", "mountPoint": "https://example.com/d/"}]}}
    r = daily.run("apply", "--server-side", "-n", "lp-victim", "-f", "-", input=json.dumps(dataset), check=False)
    assert r.returncode != 0 and 'cannot patch resource "datasets"' in r.stderr, r.stderr
    assert kube.get("dataset", "lp-outside", "-n", "lp-victim", check=False) is None
    r = daily.run("create", "clusterrole", "lp-daily-role", "--verb=get", "--resource=secrets", check=False)
    assert r.returncode != 0 and 'cannot create resource "clusterroles"' in r.stderr, r.stderr
    assert kube.get("clusterrole", "lp-daily-role", check=False) is None


def test_account_is_idempotent_and_removable(account, cluster, kube, ansible_playbook):
    same = json.dumps({"automation_account_daily_namespaces": [{"name": "default", "secrets": [MANAGED_SECRET]}]})
    again = ansible_playbook("playbooks/automation_account.yml", "-e", same, inventory="inventories/local")
    assert again.rc == 0 and again.stats.get("changed") == 0, again
    # a namespace no longer listed: the account's Role and RoleBinding there are revoked
    moved = ansible_playbook("playbooks/automation_account.yml", "-e",
                             json.dumps({"automation_account_daily_namespaces": [{"name": "lp-daily-two"}]}),
                             inventory="inventories/local")
    assert moved.rc == 0, moved
    assert kube.get("rolebinding", DAILY, "-n", "default", check=False) is None
    assert kube.get("role", DAILY, "-n", "default", check=False) is None
    assert kube.get("rolebinding", DAILY, "-n", "lp-daily-two")["subjects"][0]["name"] == DAILY
    gone = ansible_playbook("playbooks/automation_account.yml", "-e", "automation_account_state=absent",
                            "-e", "automation_account_kubeconfig_file=" + account, inventory="inventories/local")
    assert gone.rc == 0, gone
    assert kube.get("clusterrole", ACCOUNT, check=False) is None
    assert kube.get("serviceaccount", ACCOUNT, "-n", ACCOUNT, check=False) is None
    assert not os.path.exists(account)
    assert kube.get("serviceaccount", DAILY, "-n", ACCOUNT, check=False) is None
    assert kube.get("role", DAILY, "-n", "default", check=False) is None
    assert kube.get("clusterrolebinding", DAILY, check=False) is None
    assert kube.get("role", DAILY, "-n", "lp-daily-two", check=False) is None
    kube.run("delete", "namespace", "lp-daily-two", "--wait=false", check=False)
