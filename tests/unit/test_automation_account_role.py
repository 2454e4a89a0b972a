"""roles/automation_account (defaults against argument specs: test_role_specs.py): its own rules never use wildcards or
the escalate/bind verbs (the chart's roles' rules are added at run time, see tasks/chart_rules.yml)."""
import os

import yaml

ROLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                    "roles", "automation_account")


def load(*parts):
    with open(os.path.join(ROLE, *parts)) as fh:
        return yaml.safe_load(fh)


def test_own_rules_are_explicit_and_never_escalate():
    rules = load("vars", "main.yml")
    for key in ("__automation_account_cluster_rules", "__automation_account_release_rules"):
        for rule in rules[key]:
            assert "*" not in rule["verbs"] and "*" not in rule["resources"], rule
            assert not {"escalate", "bind", "impersonate", "delete"} & set(rule["verbs"]) or \
                rule["resources"] == ["secrets"], rule  # Helm prunes old release Secrets in its namespace
            assert "deletecollection" not in rule["verbs"]


def test_cluster_rules_cover_what_site_yml_writes():
    rules = load("vars", "main.yml")["__automation_account_cluster_rules"]

    def allowed(group, resource, verb):
        return any(group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"] for r in rules)
    # server-side apply of CRDs, Datasets and runtimes needs create as well as patch
    for group, resource in (("apiextensions.k8s.io", "customresourcedefinitions"), ("data.fluid.io", "datasets"),
                            ("data.fluid.io", "alluxioruntimes")):
        assert allowed(group, resource, "create") and allowed(group, resource, "patch"), resource
    assert allowed("", "nodes", "patch") and not allowed("", "nodes", "create")
    assert allowed("data.fluid.io", "datasets", "watch")
    assert not allowed("", "namespaces", "delete")
