"""cloudnative.fluid.thinruntime_profile on the embedded cluster (Fluid's CRDs; no controller reads profiles).

Same approach as test_runtime_module.py (whose helpers this file reuses): the real module run by `ansible`,
results checked through the Kubernetes API. ThinRuntimeProfiles are cluster-scoped, so each test names its
profiles uniquely and deletes what it created.
"""
import uuid

import pytest

from test_dataset_module import (  # noqa: F401  (k8s, namespace: fixtures shared with that file)
    GROUP,
    VERSION,
    WAIT,
    k8s,
    namespace,
    our_write,
    run_module,
)

PLURAL = "thinruntimeprofiles"


def get_profile(k8s, name):
    """The cluster-scoped profile, or None."""
    try:
        return k8s.custom.get_cluster_custom_object(GROUP, VERSION, PLURAL, name)
    except k8s.ApiException as e:
        if e.status == 404:
            return None
        raise


@pytest.fixture
def names(k8s):
    """Unique profile names for one test; whatever of them exists afterwards is deleted."""
    made = []

    def new(prefix="nfs"):
        made.append("%s-%s" % (prefix, uuid.uuid4().hex[:8]))
        return made[-1]
    yield new
    for name in made:
        try:
            k8s.custom.delete_cluster_custom_object(GROUP, VERSION, PLURAL, name)
        except k8s.ApiException:
            pass


def nfs_args(name, **extra):
    """The NFS profile of Fluid's ThinRuntime guide (addons/nfs/runtime-profile.yaml)."""
    args = {"name": name, "file_system_type": "nfs", "wait_timeout": WAIT,
            "fuse": {"image": "fluidcloudnative/nfs", "image_tag": "v0.1", "image_pull_policy": "IfNotPresent",
                     "command": ["/usr/local/bin/entrypoint.sh"]}}
    args.update(extra)
    return args


def test_profile_check_mode_create_and_unchanged(cluster, fluid, k8s, names):
    name = names()
    args = nfs_args(name)
    dry = run_module(cluster, "thinruntime_profile", args, check=True, diff=True)
    assert not dry.failed and dry["changed"] is True, dry
    diff = dry["diff"][0] if isinstance(dry["diff"], list) else dry["diff"]
    assert diff["after"]["spec"]["fileSystemType"] == "nfs"
    assert get_profile(k8s, name) is None  # check mode wrote nothing

    created = run_module(cluster, "thinruntime_profile", args)
    assert not created.failed and created["changed"] is True, created
    entry = created["profiles"][0]
    assert entry["exists"] is True and entry["file_system_type"] == "nfs" and "namespace" not in entry
    obj = get_profile(k8s, name)
    assert "namespace" not in obj["metadata"]
    assert obj["spec"]["fileSystemType"] == "nfs"
    assert obj["spec"]["fuse"] == {"image": "fluidcloudnative/nfs", "imageTag": "v0.1",
                                   "imagePullPolicy": "IfNotPresent", "command": ["/usr/local/bin/entrypoint.sh"]}

    # fields the API server defaults (nodePublishSecretPolicy) never count as a change; nothing is written
    written = our_write(obj)
    again = run_module(cluster, "thinruntime_profile", args, diff=True)
    assert not again.failed and again["changed"] is False, again
    assert again.get("diff", []) == []
    assert our_write(get_profile(k8s, name)) == written


def test_profile_update_with_diff(cluster, fluid, k8s, names):
    name = names()
    assert not run_module(cluster, "thinruntime_profile", nfs_args(name)).failed
    written = our_write(get_profile(k8s, name))

    newer = nfs_args(name, fuse=dict(nfs_args(name)["fuse"], image_tag="v0.2", args=["--fuse-args", "ro"]),
                     volumes=[{"name": "cache", "hostPath": {"path": "/var/cache/nfs"}}])
    newer["fuse"]["volume_mounts"] = [{"name": "cache", "mountPath": "/cache"}]
    dry = run_module(cluster, "thinruntime_profile", newer, check=True, diff=True)
    assert not dry.failed and dry["changed"] is True, dry
    diff = dry["diff"][0] if isinstance(dry["diff"], list) else dry["diff"]
    assert diff["before"]["spec"]["fuse"]["imageTag"] == "v0.1"
    assert diff["after"]["spec"]["fuse"]["imageTag"] == "v0.2"
    assert our_write(get_profile(k8s, name)) == written

    real = run_module(cluster, "thinruntime_profile", newer)
    assert not real.failed and real["changed"] is True, real
    obj = get_profile(k8s, name)
    assert obj["spec"]["fuse"]["imageTag"] == "v0.2" and obj["spec"]["fuse"]["args"] == ["--fuse-args", "ro"]
    assert obj["spec"]["volumes"] == [{"name": "cache", "hostPath": {"path": "/var/cache/nfs"}}]
    assert obj["spec"]["fuse"]["volumeMounts"] == [{"name": "cache", "mountPath": "/cache"}]
    assert our_write(obj)[0] == written[0] + 1


def test_profiles_listed_then_absent(cluster, fluid, k8s, names, namespace):
    first, second = names(), names("sshfs")
    items = [{"name": first, "file_system_type": "nfs", "fuse": {"image": "fluidcloudnative/nfs"}},
             {"name": second, "file_system_type": "fuse.sshfs", "fuse": {"image": "example/sshfs"}}]
    created = run_module(cluster, "thinruntime_profile", {"profiles": items, "wait_timeout": WAIT})
    assert not created.failed and created["changed"] is True, created
    assert [p["name"] for p in created["profiles"]] == [first, second]
    assert get_profile(k8s, first) and get_profile(k8s, second)

    # a ThinRuntime naming the first profile (no Thin controller runs here: the object is enough)
    k8s.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "thinruntimes", {
        "apiVersion": GROUP + "/" + VERSION, "kind": "ThinRuntime", "metadata": {"name": "uses-" + first[:20]},
        "spec": {"profileName": first}})
    listed = run_module(cluster, "thinruntime_profile", {"profiles": items, "wait_timeout": WAIT})
    assert not listed.failed and listed["changed"] is False, listed
    assert listed["profiles"][0]["thin_runtimes"] == ["%s/uses-%s" % (namespace, first[:20])]
    assert listed["profiles"][1]["thin_runtimes"] == []

    gone = run_module(cluster, "thinruntime_profile", {"profiles": [{"name": first}, {"name": second}],
                                                        "state": "absent", "wait_timeout": WAIT})
    assert not gone.failed and gone["changed"] is True, gone
    assert get_profile(k8s, first) is None and get_profile(k8s, second) is None
    assert any("still name profile %s" % first in str(w) for w in gone.get("warnings", [])), gone
    again = run_module(cluster, "thinruntime_profile", {"name": first, "state": "absent", "wait_timeout": WAIT})
    assert not again.failed and again["changed"] is False, again


def test_invalid_profile_writes_nothing(cluster, fluid, k8s, names):
    name = names()
    r = run_module(cluster, "thinruntime_profile", {
        "name": name, "fuse": {"image": "x", "volume_mounts": [{"name": "missing", "mountPath": "/m"}]}})
    assert r.failed
    for needle in ("file_system_type: is required", "fuse.volume_mounts[0].name: 'missing' is not a volume of volumes"):
        assert needle in r["msg"], r["msg"]
    assert get_profile(k8s, name) is None
