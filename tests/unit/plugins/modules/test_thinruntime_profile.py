"""cloudnative.fluid.thinruntime_profile against the in-memory API server (tests/unit/fakes.py)."""
from ansible_collections.cloudnative.fluid.plugins.modules import thinruntime_profile as M

from fakes import FakeCluster, obj

KIND = "ThinRuntimeProfile"
# addons/nfs/runtime-profile.yaml of Fluid v1.0.8, as options
NFS = {"name": "nfs", "file_system_type": "nfs",
       "fuse": {"image": "fluidcloudnative/nfs", "image_tag": "v0.1", "image_pull_policy": "IfNotPresent",
                "command": ["/usr/local/bin/entrypoint.sh"]}}


def item(**kw):
    base = {k: None for k in M.ITEM_SPEC}
    base.update(state="present", where="name=x", prefix="")
    base.update(kw)
    return base


def comp(**kw):
    out = {k: None for k in M.FUSE_SPEC}
    out.update(kw)
    return out


def writes(cluster):
    return [c for c in cluster.calls if c[0] in ("apply", "delete") and not c[-1]]


def test_build_the_nfs_profile():
    body = M.KIND.build(item(name="nfs", file_system_type="nfs", fuse=comp(**NFS["fuse"])))
    assert body == {"apiVersion": "data.fluid.io/v1alpha1", "kind": KIND, "metadata": {"name": "nfs"},
                    "spec": {"fileSystemType": "nfs", "fuse": {
                        "image": "fluidcloudnative/nfs", "imageTag": "v0.1", "imagePullPolicy": "IfNotPresent",
                        "command": ["/usr/local/bin/entrypoint.sh"]}}}


def test_build_every_typed_field():
    spec = M.KIND.build(item(
        name="p", file_system_type="fuse.sshfs", volumes=[{"name": "cache", "hostPath": {"path": "/c"}}],
        image_pull_secrets=["regcred"], node_publish_secret_policy="NotMountNodePublishSecret",
        fuse=comp(image="sshfs", args=["-o", "ro"], options={"reconnect": "", "port": 22}, env={"B": 2, "A": "x"},
                  node_selector={"disk": "ssd"}, resources={"requests": {"cpu": 1}}, network_mode="ContainerNetwork",
                  volume_mounts=[{"name": "cache", "mountPath": "/cache"}]),
        worker=comp(image="w", image_tag="1"), spec={"fuse": {"livenessProbe": {"exec": {"command": ["ls"]}}}}))["spec"]
    assert spec["fileSystemType"] == "fuse.sshfs" and spec["imagePullSecrets"] == [{"name": "regcred"}]
    assert spec["nodePublishSecretPolicy"] == "NotMountNodePublishSecret"
    assert spec["fuse"] == {"image": "sshfs", "args": ["-o", "ro"], "options": {"reconnect": "", "port": "22"},
                            "env": [{"name": "A", "value": "x"}, {"name": "B", "value": "2"}],
                            "nodeSelector": {"disk": "ssd"}, "resources": {"requests": {"cpu": "1"}},
                            "networkMode": "ContainerNetwork", "volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
                            "livenessProbe": {"exec": {"command": ["ls"]}}}
    assert spec["worker"] == {"image": "w", "imageTag": "1"}


def test_validation_names_fields_and_fixes():
    errs = "\n".join(M.KIND.validate_item(item(
        name="Bad_Name", file_system_type=None, volumes=[{"name": "v"}],
        fuse=comp(volume_mounts=[{"name": "w", "mountPath": "rel"}], env={"A B": "1"}),
        image_pull_secrets=["Not A Secret"], spec={"fuse": {"lifecycle": {"postStart": {"exec": {}}}}})))
    for needle in ["name: 'Bad_Name' is not a valid ThinRuntimeProfile name",
                   "file_system_type: is required; give the file system the FUSE program mounts, e.g. nfs",
                   "volumes[0]: needs exactly one volume source besides name",
                   "fuse.volume_mounts[0].name: 'w' is not a volume of volumes (v)",
                   "fuse.volume_mounts[0].mountPath: 'rel' must be an absolute path",
                   "fuse.env: 'A B' is not a valid environment variable name",
                   "image_pull_secrets[0]: 'Not A Secret' is not a valid Secret name",
                   "spec.fuse.lifecycle.postStart: Fluid refuses a postStart hook in a ThinRuntimeProfile"]:
        assert needle in errs, needle
    assert "namespace" not in errs  # cluster-scoped: no namespace to check
    assert "spec.fileSystemType: also set by file_system_type" in "\n".join(M.KIND.validate_item(item(
        name="p", file_system_type="nfs", spec={"fileSystemType": "nfs"})))
    assert M.KIND.validate_item(item(name="gone", state="absent")) == []


def test_a_namespace_is_refused(run_module):
    r = run_module(M, dict(NFS, namespace="default"), FakeCluster())
    assert r.failed and "namespace" in r["msg"]


def test_create_unchanged_check_diff_update_absent(run_module):
    c = FakeCluster()
    dry = run_module(M, NFS, c, check=True, diff=True)
    assert not dry.failed and dry["changed"] is True and writes(c) == []
    assert dry["diff"][0]["after"]["spec"]["fileSystemType"] == "nfs"
    assert dry["diff"][0]["after_header"] == "ThinRuntimeProfile nfs"

    r = run_module(M, NFS, c)
    assert not r.failed, r.get("msg")
    entry = r["profiles"][0]
    assert r["changed"] is True and entry["exists"] is True and entry["file_system_type"] == "nfs"
    assert "namespace" not in entry and entry["thin_runtimes"] == []
    stored = c.objects[(KIND, None, "nfs")]
    assert "namespace" not in stored["metadata"]
    assert list(writes(c)) == [("apply", KIND, None, "nfs", False)]

    again = run_module(M, NFS, c, diff=True)
    assert not again.failed and again["changed"] is False and again["diff"] == []
    assert len(writes(c)) == 1

    newer = dict(NFS, fuse=dict(NFS["fuse"], image_tag="v0.2"))
    dry = run_module(M, newer, c, check=True, diff=True)
    assert dry["changed"] is True and c.objects[(KIND, None, "nfs")]["spec"]["fuse"]["imageTag"] == "v0.1"
    assert dry["diff"][0]["before"]["spec"]["fuse"]["imageTag"] == "v0.1"
    assert dry["diff"][0]["after"]["spec"]["fuse"]["imageTag"] == "v0.2"
    r = run_module(M, newer, c)
    assert r["changed"] is True and c.objects[(KIND, None, "nfs")]["spec"]["fuse"]["imageTag"] == "v0.2"

    gone = run_module(M, {"name": "nfs", "state": "absent"}, c)
    assert not gone.failed and gone["changed"] is True and gone["profiles"][0]["exists"] is False
    assert (KIND, None, "nfs") not in c.objects
    again = run_module(M, {"name": "nfs", "state": "absent"}, c)
    assert again["changed"] is False


def test_a_list_of_profiles_in_one_task(run_module):
    c = FakeCluster()
    profiles = [NFS, {"name": "sshfs", "file_system_type": "fuse.sshfs",
                      "volumes": [{"name": "cache", "emptyDir": {}}],
                      "fuse": {"image": "sshfs", "volume_mounts": [{"name": "cache", "mountPath": "/cache"}]}},
                {"name": "nfs", "file_system_type": "nfs", "fuse": {"image": "x"}}]
    r = run_module(M, {"profiles": profiles}, c)
    assert r.failed and "profiles[2].name: ThinRuntimeProfile nfs is already profiles[0]" in r["msg"]
    assert writes(c) == []
    r = run_module(M, {"profiles": profiles[:2]}, c)
    assert not r.failed and [p["name"] for p in r["profiles"]] == ["nfs", "sshfs"]
    assert sorted(k[2] for k in c.objects if k[0] == KIND) == ["nfs", "sshfs"]
    r = run_module(M, {"profiles": [{"name": "nfs"}, {"name": "sshfs"}], "state": "absent"}, c)
    assert r["changed"] is True and not [k for k in c.objects if k[0] == KIND]


def test_thin_runtimes_using_a_profile(run_module):
    c = FakeCluster()
    run_module(M, NFS, c)
    c.put(obj("ThinRuntime", "default", "nfs-demo", spec={"profileName": "nfs"}))
    c.put(obj("ThinRuntime", "team-a", "share", spec={"profileName": "nfs"}))
    c.put(obj("ThinRuntime", "team-a", "other", spec={"profileName": "sshfs"}))
    r = run_module(M, NFS, c)
    assert r["profiles"][0]["thin_runtimes"] == ["default/nfs-demo", "team-a/share"]
    r = run_module(M, {"name": "nfs", "state": "absent"}, c)
    assert not r.failed and r["changed"] is True
    [w] = [str(w) for w in r.get("warnings", []) if "still name profile nfs" in str(w)]
    assert "default/nfs-demo, team-a/share" in w and "Fluid cannot reconcile them" in w


def test_no_fuse_image_warns(run_module):
    r = run_module(M, {"name": "bare", "file_system_type": "nfs", "wait": False}, FakeCluster())
    assert not r.failed
    assert any("fuse.image: not set, so every ThinRuntime on this profile must set its own fuse.image" in str(w)
               for w in r.get("warnings", []))


def test_fluid_not_installed(run_module):
    r = run_module(M, NFS, FakeCluster(fluid_installed=False))
    assert r.failed and "Install Fluid first with the role cloudnative.fluid.fluid" in r["msg"]
