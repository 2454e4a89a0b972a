import pytest

from ansible_collections.cloudnative.fluid.plugins.module_utils import secrets
from ansible_collections.cloudnative.fluid.plugins.module_utils import validate as V


@pytest.mark.parametrize("name", ["cifar10", "a", "imagenet-2012", "x" * 63])
def test_resource_names_ok(name):
    assert V.resource_name("name", name) == []


@pytest.mark.parametrize("name", ["20-hbase", "Cifar10", "cifar_10", "cifar10-", "x" * 64, "", None, "a.b"])
def test_resource_names_rejected_with_field_and_fix(name):
    errors = V.resource_name("datasets[1].name", name, "Dataset")
    assert len(errors) == 1
    assert errors[0].startswith("datasets[1].name: ")
    if name:
        assert "DNS-1035" in errors[0] and "e.g. cifar10" in errors[0]


@pytest.mark.parametrize("url", [
    "https://downloads.apache.org/hbase/2.2.5/", "http://x/y", "s3://bucket/p", "oss://b/", "hdfs://nn:8020/data",
    "pvc://my-claim/sub", "local:///mnt/data", "juicefs:///", "dataset://ns/name",
    # NFS exports as Fluid's ThinRuntime NFS profile mounts them
    "192.168.1.2:/export", "nfs-server.example.com:/data/set1"])
def test_mount_points_ok(url):
    assert V.mount_point("mounts[0].mount_point", url) == []


@pytest.mark.parametrize("url,needle", [
    ("ftp://host/x", "scheme ftp://"),
    ("downloads.apache.org/hbase", "not a URL"),
    ("https:/downloads.apache.org/hbase", "not a URL"),
    ("https://", "names no location"),
    ("pvc://Bad_Claim/x", "PVC name"),
    ("local://mnt/data", "absolute host path"),
])
def test_mount_points_rejected(url, needle):
    errors = V.mount_point("mounts[2].mount_point", url)
    assert len(errors) == 1 and needle in errors[0] and errors[0].startswith("mounts[2].mount_point: ")


def test_label_keys_and_values():
    assert V.labels("node_selector", {"aliyun.accelerator/nvidia_name": "Tesla-V100-SXM2-16GB"}) == []
    assert V.labels("labels", {"app": ""}) == []
    errs = V.labels("node_selector", {"Bad_Prefix/x": "v", "ok": "bad value!"})
    assert any("node_selector[Bad_Prefix/x]" in e and "prefix" in e for e in errs)
    assert any("node_selector[ok]" in e and "label value" in e for e in errs)
    assert V.labels("annotations", {"a/b": "any value at all!"}, values=False) == []


def test_node_selector_terms():
    good = {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "aliyun.accelerator/nvidia_name", "operator": "In", "values": ["Tesla-V100-SXM2-16GB"]}]}]}
    assert V.node_selector_terms("node_affinity", good) == []
    assert "nodeSelectorTerms" in V.node_selector_terms("node_affinity", {"required": {}})[0]
    assert V.node_selector_terms("na", {"nodeSelectorTerms": []})
    bad = {"nodeSelectorTerms": [{"matchExpressions": [{"key": "k", "operator": "Equals", "values": ["v"]},
                                                       {"key": "k", "operator": "In"},
                                                       {"key": "k", "operator": "Exists", "values": ["v"]},
                                                       {"key": "k", "operator": "Gt", "values": ["x"]}]}, {}]}
    errs = V.node_selector_terms("node_affinity", bad)
    assert any("matchExpressions[0].operator" in e for e in errs)
    assert any("matchExpressions[1].values" in e and "at least one" in e for e in errs)
    assert any("matchExpressions[2].values" in e and "no values" in e for e in errs)
    assert any("matchExpressions[3].values" in e and "integer" in e for e in errs)
    assert any("nodeSelectorTerms[1]" in e and "matches no node" in e for e in errs)


def test_tolerations():
    assert V.tolerations("tolerations", [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]) == []
    errs = V.tolerations("tolerations", [{"key": "gpu", "operator": "Is"}, {"operator": "Exists", "value": "x"},
                                         {"key": "a", "effect": "Never"}, {"value": "x"}])
    assert len(errs) == 4


def test_positive_and_secrets():
    assert V.positive("wait_timeout", 0) and V.positive("wait_timeout", -1)
    assert V.positive("wait_timeout", 5) == []
    assert secrets.secretish_values({"fs.oss.accessKeySecret": "s3cr3t", "fs.oss.endpoint": "e",
                                     "aws.secret.key": "k", "password": ""}) == ["s3cr3t", "k"]


def test_credential_locations_are_not_secrets():
    options = {"fs.gcs.credential.path": "/var/secrets/gcs.json", "fs.oss.credential.file": "creds.json",
               "token_dir": "tokens", "gcs.credential": "/etc/gcs/key.json", "fs.oss.accessKeySecret": "s3cr3t",
               "password": "/not-normal//path"}
    assert sorted(secrets.secretish_values(options)) == ["/not-normal//path", "s3cr3t"]
