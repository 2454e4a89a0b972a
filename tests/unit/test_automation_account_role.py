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


def test_daily_rules_are_namespaced_without_secrets_or_exec():
    rules = load("vars", "main.yml")
    namespaced = rules["__automation_account_daily_namespace_rules"]
    for rule in namespaced:
        assert "*" not in rule["verbs"] and "*" not in rule["resources"], rule
        assert not {"escalate", "bind", "impersonate", "deletecollection"} & set(rule["verbs"]), rule
        # Secrets only by name (the Role adds that rule per namespace, with resourceNames); no subresource of pods
        assert "secrets" not in rule["resources"] and not any("/" in r for r in rule["resources"]), rule
        assert "resourceNames" not in rule
    assert not {"create", "patch", "delete"} & set(
        v for r in namespaced if "pods" in r["resources"] for v in r["verbs"])
    # cluster-wide: nodes only (they have no namespace), never create or delete
    cluster = rules["__automation_account_daily_cluster_rules"]
    assert [r["resources"] for r in cluster] == [["nodes"]]
    assert set(cluster[0]["verbs"]) == {"get", "list", "watch", "patch"}
    assert set(rules["__automation_account_daily_secret_verbs"]) <= {"get", "create", "patch", "delete"}


def test_daily_secrets_rule_only_with_names():
    """An empty resourceNames grants every Secret: the Role's Secrets rule exists only when names are listed."""
    import jinja2
    tasks = load("tasks", "daily.yml")
    role = [t for t in tasks if t["name"].startswith("Grant it its Role")][0]
    template = [d for d in role["kubernetes.core.k8s"]["definition"] if d["kind"] == "Role"][0]["rules"]
    own = load("vars", "main.yml")
    env = dict(__automation_account_daily_namespace_rules=own["__automation_account_daily_namespace_rules"],
               __automation_account_daily_secret_verbs=own["__automation_account_daily_secret_verbs"])
    render = jinja2.Environment().from_string(template)

    def rules(item):
        import ast
        return ast.literal_eval(render.render(item=item, **env).strip())
    for item in ({"name": "a"}, {"name": "a", "secrets": []}):
        assert not [r for r in rules(item) if "secrets" in r["resources"]], item
    secret_rules = [r for r in rules({"name": "a", "secrets": ["s3", "s3", "gcs"]}) if "secrets" in r["resources"]]
    assert secret_rules == [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["s3", "gcs"],
                             "verbs": own["__automation_account_daily_secret_verbs"]}]
