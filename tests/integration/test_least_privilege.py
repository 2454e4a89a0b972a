"""The automation account (role cloudnative.fluid.automation_account): site.yml runs with only its
token, and what its ClusterRole does not grant is refused with an RBAC message naming verb and resource."""
import os
import re

import pytest
import yaml

from conftest import Kube
from observe_env import remove_workload_and_datasets

ACCOUNT = "fluid-automation"
SUBJECT = "system:serviceaccount:%s:%s" % (ACCOUNT, ACCOUNT)


@pytest.fixture(scope="module")
def account(cluster, ansible_playbook, tmp_path_factory):
    """Create the account with the cluster's admin kubeconfig; yield the kubeconfig written for it."""
    kubeconfig = str(tmp_path_factory.mktemp("account") / "fluid-automation.kubeconfig")
    run = ansible_playbook("playbooks/automation_account.yml", "-e", "automation_account_kubeconfig_file=" + kubeconfig,
                           inventory="inventories/local")
    assert run.rc == 0, run
    return kubeconfig


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


@pytest.fixture
def site_demo_removed(kube):
    """site.yml puts the seed's Dataset, runtime and nginx in namespace default: remove them afterwards,
    or later tests find pods on a Fluid PVC (the fluid role's purge) and a bigger Dataset in the report."""
    yield
    remove_workload_and_datasets(kube, "default", [("default", "cifar10")])


def test_site_yml_passes_with_the_account(account, cluster, kube, fluid, ansible_playbook, tmp_path, site_demo_removed):
    run = ansible_playbook("playbooks/site.yml", "-e", "k8s_kubeconfig=" + account,
                           "-e", "status_report_file=%s" % (tmp_path / "status.html"), inventory="inventories/local")
    assert run.rc == 0 and run.stats.get("failed") == 0, run
    assert "forbidden" not in run.stdout.lower()
    ds = kube.get("dataset", "cifar10", "-n", "default")
    assert ds["status"]["phase"] == "Bound"
    # Helm ran as the account: the release is deployed (not "failed": kubernetes.core.helm does not
    # retry a failed release whose values did not change) and the chart's roles exist
    assert kube.get("secret", "-n", "fluid-system", "-l", "owner=helm,name=fluid,status=deployed")["items"]
    assert kube.get("clusterrole", "dataset-controller")["rules"]


def _refused(run, verb, resource):
    assert run.rc != 0 and run.stats.get("failed") == 1, run
    text = run.stdout
    assert "forbidden" in text.lower(), text[-3000:]
    assert SUBJECT in text
    fatal = [line for line in text.splitlines() if "fatal:" in line]
    assert fatal and re.search(r"\b%s\b" % verb, fatal[0]) and re.search(r"\b%s\b" % resource, fatal[0]), text[-3000:]


def test_actions_outside_the_role_are_refused(account, cluster, kube, ansible_playbook):
    kube.run("create", "namespace", "lp-victim", check=False)
    delete_ns = """
- hosts: localhost
  gather_facts: false
  tasks:
    - kubernetes.core.k8s:
        kubeconfig: %s
        state: absent
        api_version: v1
        kind: Namespace
        name: lp-victim
""" % account
    _refused(ansible_playbook(delete_ns), "delete", "namespaces")
    assert kube.get("namespace", "lp-victim")["status"]["phase"] == "Active"

    # this collection's own module: the dataset module's `secrets` option applies Secrets server-side,
    # which needs `patch` on secrets, not in site.yml's rules (docs/awx.md: automation_account_extra_rules)
    with_secret = """
- hosts: localhost
  gather_facts: false
  tasks:
    - cloudnative.fluid.dataset:
        kubeconfig: %s
        name: lp-secret
        namespace: default
        wait: false
        secrets: [{name: lp-secret, string_data: {key: value-not-shown}}]
        mounts: [{name: d, mount_point: "s3://bucket/d/",
                  encrypt_options: [{name: aws.secretKey, secret_name: lp-secret, secret_key: key}]}]
""" % account
    run = ansible_playbook(with_secret)
    _refused(run, "patch", "secrets")
    assert "value-not-shown" not in run.stdout + run.stderr
    assert kube.get("dataset", "lp-secret", "-n", "default", check=False) is None
    assert kube.get("secret", "lp-secret", "-n", "default", check=False) is None


def test_the_account_cannot_grant_itself_more(account, cluster, kube, ansible_playbook):
    escalate = """
- hosts: localhost
  gather_facts: false
  tasks:
    - kubernetes.core.k8s:
        kubeconfig: %s
        definition:
          apiVersion: rbac.authorization.k8s.io/v1
          kind: ClusterRoleBinding
          metadata: {name: lp-escalate}
          roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
          subjects: [{kind: ServiceAccount, name: %s, namespace: %s}]
""" % (account, ACCOUNT, ACCOUNT)
    run = ansible_playbook(escalate)
    assert run.rc != 0, run
    assert "forbidden" in run.stdout.lower() and "attempting to grant RBAC permissions not currently held" in run.stdout, \
        run.stdout[-3000:]
    assert kube.get("clusterrolebinding", "lp-escalate", check=False) is None


def test_account_is_idempotent_and_removable(account, cluster, kube, ansible_playbook):
    again = ansible_playbook("playbooks/automation_account.yml", inventory="inventories/local")
    assert again.rc == 0 and again.stats.get("changed") == 0, again
    gone = ansible_playbook("playbooks/automation_account.yml", "-e", "automation_account_state=absent",
                            "-e", "automation_account_kubeconfig_file=" + account, inventory="inventories/local")
    assert gone.rc == 0, gone
    assert kube.get("clusterrole", ACCOUNT, check=False) is None
    assert kube.get("serviceaccount", ACCOUNT, "-n", ACCOUNT, check=False) is None
    assert not os.path.exists(account)
