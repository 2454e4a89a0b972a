"""The dataset module's `secrets` option on the embedded cluster: the Secret is created before the
Dataset, read by its encryptOptions, and its value never reaches Ansible's output (-vvv, --diff, --check)."""
import base64
import uuid

import pytest

NS = "default"
NAME = "sec-data"
SECRET = "sec-data-cred"

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Dataset with a declared Secret
      cloudnative.fluid.dataset:
        kubeconfig: "{{ k8s_kubeconfig }}"
        name: %(name)s
        namespace: %(ns)s
        state: "{{ ds_state | default('present') }}"
        wait: false
        secrets:
          - name: %(secret)s
            string_data:
              access-key: AKIA-not-secret
              secret-key: "{{ secret_value }}"
        mounts:
          - name: data
            mount_point: s3://bucket/data/
            options: {aws.region: eu-west-1}
            encrypt_options:
              - {name: aws.accessKeyId, secret_name: %(secret)s, secret_key: access-key}
              - {name: aws.secretKey, secret_name: %(secret)s, secret_key: secret-key}
      register: out
    - name: Show what the module returned
      ansible.builtin.debug:
        var: out
""" % {"name": NAME, "ns": NS, "secret": SECRET}


def _b64(text):
    return base64.b64encode(text.encode()).decode()


def _clean(run, *values):
    for v in values:
        for text in (run.stdout, run.stderr):
            assert v not in text, "a secret value reached the output"
            assert _b64(v) not in text, "a base64 secret value reached the output"


def _secret_value(kube, key):
    obj = kube.get("secret", SECRET, "-n", NS)
    return base64.b64decode(obj["data"][key]).decode()


@pytest.fixture
def cleanup(kube):
    yield
    kube.run("delete", "dataset", NAME, "-n", NS, "--ignore-not-found", "--wait=false")
    kube.run("delete", "secret", SECRET, "-n", NS, "--ignore-not-found")


def test_secret_created_applied_and_never_shown(kube, fluid, ansible_playbook, cleanup):
    value = "S3cr3t-%s" % uuid.uuid4()
    first = ansible_playbook(PLAYBOOK, "-vvv", "-e", "secret_value=" + value)
    assert first.rc == 0 and first.stats["changed"] == 1, first
    _clean(first, value)
    assert "secret-key" in first.stdout  # key names are reported, values are not
    # the module's arguments are echoed (invocation) with the value replaced: the check above can fail
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in first.stdout

    # in the API: the Secret holds the value, the Dataset refers to it
    assert _secret_value(kube, "secret-key") == value
    secret = kube.get("secret", SECRET, "-n", NS)
    assert secret["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "cloudnative.fluid"
    ds = kube.get("dataset", NAME, "-n", NS)
    refs = [e["valueFrom"]["secretKeyRef"] for e in ds["spec"]["mounts"][0]["encryptOptions"]]
    assert refs == [{"name": SECRET, "key": "access-key"}, {"name": SECRET, "key": "secret-key"}]

    # idempotent
    again = ansible_playbook(PLAYBOOK, "-vvv", "--diff", "-e", "secret_value=" + value)
    assert again.rc == 0 and again.stats["changed"] == 0, again
    _clean(again, value)

    # a new value: check mode reports it, writes nothing, shows only masks
    new = "N3w-S3cr3t-%s" % uuid.uuid4()
    check = ansible_playbook(PLAYBOOK, "-vvv", "--check", "--diff", "-e", "secret_value=" + new)
    assert check.rc == 0 and check.stats["changed"] == 1, check
    _clean(check, value, new)
    assert "******** (changed)" in check.stdout
    assert _secret_value(kube, "secret-key") == value

    # --diff run applies it, still masked
    diff = ansible_playbook(PLAYBOOK, "-vvv", "--diff", "-e", "secret_value=" + new)
    assert diff.rc == 0 and diff.stats["changed"] == 1, diff
    _clean(diff, value, new)
    assert "******** (changed)" in diff.stdout
    assert _secret_value(kube, "secret-key") == new
    assert _secret_value(kube, "access-key") == "AKIA-not-secret"

    # state=absent deletes the Dataset and the Secret the module created
    gone = ansible_playbook(PLAYBOOK, "-vvv", "-e", "secret_value=" + new, "-e", "ds_state=absent")
    assert gone.rc == 0 and gone.stats["changed"] == 1, gone
    _clean(gone, new)
    kube.wait_for(["datasets", "-n", NS], lambda o: all(i["metadata"]["name"] != NAME for i in o["items"]), timeout=120)
    assert kube.get("secret", SECRET, "-n", NS, check=False) is None


def test_missing_secret_fails_before_writing(kube, fluid, ansible_playbook, cleanup):
    playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - cloudnative.fluid.dataset:
        kubeconfig: "{{ k8s_kubeconfig }}"
        name: %s
        namespace: %s
        wait: false
        mounts:
          - name: data
            mount_point: s3://bucket/data/
            encrypt_options: [{name: aws.secretKey, secret_name: %s, secret_key: secret-key}]
""" % (NAME, NS, SECRET)
    run = ansible_playbook(playbook)
    assert run.rc != 0, run
    assert ("mounts[0].encrypt_options[0].secret_name: Secret %s does not exist in namespace %s" % (SECRET, NS)) in run.stdout
    assert kube.get("dataset", NAME, "-n", NS, check=False) is None


ROLE_PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/cloudnative.fluid.fluid:
      kubeconfig: "{{ k8s_kubeconfig }}"
  tasks:
    - ansible.builtin.import_role:
        name: cloudnative.fluid.datasets
      vars:
        datasets_state: "{{ ds_state | default('present') }}"
        datasets_wait: false
        datasets_list:
          - name: %(name)s
            namespace: %(ns)s
            runtime: false
            secrets:
              - name: %(secret)s
                string_data: {secret-key: "{{ secret_value }}"}
            mounts:
              - name: data
                mount_point: s3://bucket/data/
                encrypt_options: [{name: aws.secretKey, secret_name: %(secret)s, secret_key: secret-key}]
""" % {"name": NAME, "ns": NS, "secret": SECRET}


def test_datasets_role_passes_secrets_through(kube, fluid, ansible_playbook, cleanup):
    value = "R0le-S3cr3t-%s" % uuid.uuid4()
    run = ansible_playbook(ROLE_PLAYBOOK, "-vvv", "-e", "secret_value=" + value)
    assert run.rc == 0, run
    _clean(run, value)
    assert _secret_value(kube, "secret-key") == value
    refs = kube.get("dataset", NAME, "-n", NS)["spec"]["mounts"][0]["encryptOptions"]
    assert refs[0]["valueFrom"]["secretKeyRef"] == {"name": SECRET, "key": "secret-key"}
    gone = ansible_playbook(ROLE_PLAYBOOK, "-vvv", "-e", "secret_value=" + value, "-e", "ds_state=absent")
    assert gone.rc == 0, gone
    _clean(gone, value)
    kube.wait_for(["datasets", "-n", NS], lambda o: all(i["metadata"]["name"] != NAME for i in o["items"]), timeout=120)
    assert kube.get("secret", SECRET, "-n", NS, check=False) is None
