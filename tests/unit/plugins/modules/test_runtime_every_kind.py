"""cloudnative.fluid.runtime: every Fluid runtime kind and the typed options of each (api/v1alpha1 of Fluid v1.0.8)."""
import copy

import pytest

from ansible_collections.cloudnative.fluid.plugins.module_utils import fluid as F
from ansible_collections.cloudnative.fluid.plugins.modules import runtime as M

from fakes import FakeCluster, obj


def item(**kw):
    base = {k: None for k in M.ITEM_SPEC}
    base.update(namespace="default", state="present", kind="AlluxioRuntime", where="name=x", prefix="")
    base.update(kw)
    return base


def comp(**kw):
    out = {k: None for k in M.COMPONENT_SPEC}
    out.update(kw)
    return out


def level(**kw):
    out = {k: None for k in M.LEVEL_SPEC}
    out.update(kw)
    return out


def errors_of(**kw):
    return "\n".join(M.KIND.validate_item(item(name="x", **kw), {}))


# ---------------------------------------------------------------- building

def test_typed_spec_options_are_written_with_fluids_names():
    body = M.KIND.build(item(
        name="x", data={"replicas": 2}, run_as={"uid": 1000, "gid": 1000, "user": "fluid", "group": "fluid"},
        volumes=[{"name": "cache", "hostPath": {"path": "/mnt/cache"}}], api_gateway={"enabled": True},
        management={"metadata_sync_policy": {"auto_sync": False},
                    "clean_cache_policy": {"grace_period_seconds": 30, "max_retry_attempts": None}},
        master=comp(volume_mounts=[{"name": "cache", "mountPath": "/cache"}], network_mode="ContainerNetwork"),
        fuse=comp(args=["fuse", "--fuse-opts=kernel_cache"], clean_policy="OnDemand", network_mode="HostNetwork")))
    spec = body["spec"]
    assert spec["data"] == {"replicas": 2}
    assert spec["runAs"] == {"uid": 1000, "gid": 1000, "user": "fluid", "group": "fluid"}
    assert spec["volumes"] == [{"name": "cache", "hostPath": {"path": "/mnt/cache"}}]
    assert spec["apiGateway"] == {"enabled": True}
    assert spec["management"] == {"metadataSyncPolicy": {"autoSync": False},
                                  "cleanCachePolicy": {"gracePeriodSeconds": 30}}
    assert spec["master"] == {"volumeMounts": [{"name": "cache", "mountPath": "/cache"}],
                              "networkMode": "ContainerNetwork"}
    assert spec["fuse"] == {"args": ["fuse", "--fuse-opts=kernel_cache"], "cleanPolicy": "OnDemand",
                            "networkMode": "HostNetwork"}
    # api_gateway disabled is still written (false is a value)
    assert M.KIND.build(item(name="x", api_gateway={"enabled": False}))["spec"]["apiGateway"] == {"enabled": False}


def test_kind_specific_fields():
    juice = M.KIND.build(item(name="j", kind="JuiceFSRuntime", configs=["trash-days=0"],
                              fuse=comp(options={"writeback": "", "cache-size": 1024}),
                              worker=comp(options={"free-space-ratio": 0.1})))["spec"]
    assert juice["configs"] == ["trash-days=0"]
    assert juice["fuse"] == {"options": {"writeback": "", "cache-size": "1024"}}
    assert juice["worker"] == {"options": {"free-space-ratio": "0.1"}}
    jindo = M.KIND.build(item(name="j", kind="JindoRuntime", network_mode="ContainerNetwork"))["spec"]
    assert jindo == {"networkmode": "ContainerNetwork"}  # jindoruntime_types.go:209, lowercase m
    efc = M.KIND.build(item(name="e", kind="EFCRuntime", master=comp(image="efc/master", image_tag="v1"),
                            fuse=comp(image_tag="v2", properties={"a": 1})))["spec"]
    assert efc["master"] == {"version": {"image": "efc/master", "imageTag": "v1"}}
    assert efc["fuse"] == {"version": {"imageTag": "v2"}, "properties": {"a": "1"}}
    vine = M.KIND.build(item(name="v", kind="VineyardRuntime", replicas=2,
                             tiered_store=[level(medium="MEM", quota="4Gi")],
                             fuse=comp(image="v6d/fuse", env={"A": 1}, options={"size": "0"})))["spec"]
    assert vine["tieredstore"] == {"levels": [{"mediumtype": "MEM", "quota": "4Gi"}]}
    assert vine["fuse"] == {"image": "v6d/fuse", "env": {"A": "1"}, "options": {"size": "0"}}
    thin = M.KIND.build(item(name="t", kind="ThinRuntime", fuse=comp(command=["/entry.sh"], args=["-o", "ro"])))
    assert thin["spec"]["fuse"] == {"command": ["/entry.sh"], "args": ["-o", "ro"]}
    goose = M.KIND.build(item(name="g", kind="GooseFSRuntime", image="goosefs", image_tag="v1.2",
                              tiered_store=[level(medium="HDD", path="/a,/b", quota_list="100Gi,50Gi")]))["spec"]
    assert goose["goosefsVersion"] == {"image": "goosefs", "imageTag": "v1.2"}
    assert goose["tieredstore"] == {"levels": [{"mediumtype": "HDD", "path": "/a,/b", "quotaList": "100Gi,50Gi"}]}


# ---------------------------------------------------------------- what a kind lacks: the field, the kind, the fix

@pytest.mark.parametrize("kind,options,needle", [
    ("EFCRuntime", {"fuse": comp(args=["x"])},
     "fuse.args: the fuse of EFCRuntime has no args field; remove it (the fuse of AlluxioRuntime, JindoRuntime, "
     "ThinRuntime, GooseFSRuntime has one)"),
    ("EFCRuntime", {"worker": comp(env={"A": "1"})}, "worker.env: the worker of EFCRuntime has no env field"),
    ("GooseFSRuntime", {"fuse": comp(network_mode="HostNetwork")},
     "fuse.network_mode: the fuse of GooseFSRuntime has no networkMode field"),
    ("JindoRuntime", {"worker": comp(network_mode="HostNetwork")},
     "worker.network_mode: JindoRuntime has one network mode for all its components; set network_mode at the top "
     "level (spec.networkmode)"),
    ("VineyardRuntime", {"fuse": comp(node_selector={"a": "b"})},
     "fuse.node_selector: the fuse of VineyardRuntime has no nodeSelector field"),
    ("JindoRuntime", {"fuse": comp(volume_mounts=[{"name": "v", "mountPath": "/v"}])},
     "fuse.volume_mounts: the fuse of JindoRuntime has no volumeMounts field"),
    ("AlluxioRuntime", {"fuse": comp(options={"a": "b"})}, "fuse.options: the fuse of AlluxioRuntime has no options"),
    ("VineyardRuntime", {"worker": comp(properties={"a": "b"})},
     "worker.properties: VineyardRuntime has no properties; use worker.options for its settings"),
    ("GooseFSRuntime", {"volumes": [{"name": "v", "emptyDir": {}}]},
     "volumes: GooseFSRuntime has no spec.volumes; remove it (AlluxioRuntime, JindoRuntime, JuiceFSRuntime, "
     "ThinRuntime, VineyardRuntime have it)"),
    ("JuiceFSRuntime", {"api_gateway": {"enabled": True}},
     "api_gateway: JuiceFSRuntime has no spec.apiGateway; remove it (AlluxioRuntime, GooseFSRuntime have it)"),
    ("ThinRuntime", {"data": {"replicas": 2}}, "data: ThinRuntime has no spec.data"),
    ("EFCRuntime", {"run_as": {"uid": 0, "gid": 0, "user": "root", "group": "root"}},
     "run_as: EFCRuntime has no spec.runAs"),
    ("JindoRuntime", {"management": {"metadata_sync_policy": {"auto_sync": True}}},
     "management: JindoRuntime has no spec.management"),
    ("AlluxioRuntime", {"configs": ["a=b"]}, "configs: AlluxioRuntime has no spec.configs; remove it (JuiceFSRuntime"),
    ("AlluxioRuntime", {"network_mode": "HostNetwork"},
     "network_mode: AlluxioRuntime has no runtime-wide network mode (only JindoRuntime does); set it per component: "
     "master.network_mode, worker.network_mode, fuse.network_mode"),
    ("EFCRuntime", {"properties": {"a": "b"}}, "properties: EFCRuntime has no spec.properties"),
    ("VineyardRuntime", {"image": "v6d", "tiered_store": [level(medium="MEM", quota="1Gi")]},
     "image: VineyardRuntime has no runtime-wide image; set master.image, worker.image, fuse.image"),
    ("EFCRuntime", {"image_tag": "v1"},
     "image_tag: EFCRuntime has no runtime-wide image; set master.image_tag, worker.image_tag, fuse.image_tag"),
    ("JindoRuntime", {"fuse": comp(jvm_options=["-X"])},
     "fuse.jvm_options: JindoRuntime takes no JVM options (only AlluxioRuntime and GooseFSRuntime do)"),
])
def test_an_option_the_kind_lacks_names_field_and_kind(kind, options, needle):
    assert needle in errors_of(kind=kind, **options)


def test_every_kind_accepts_its_own_options():
    for kind, caps in F.RUNTIME_SPECS.items():
        opts = {c: comp(**dict((o, None) for o in F.runtime_options(kind, c))) for c in caps["components"]}
        tiers = [level(medium="MEM", quota="1Gi")] if kind == "VineyardRuntime" else None
        assert errors_of(kind=kind, tiered_store=tiers, **opts) == "", kind


# ---------------------------------------------------------------- values

def test_tiers_per_kind():
    assert ("tiered_store: is required for a VineyardRuntime (Fluid refuses one without tiers" in
            errors_of(kind="VineyardRuntime"))
    errs = errors_of(kind="VineyardRuntime", tiered_store=[level(medium="HDD", path="/hdd", quota="1Gi")])
    assert "tiered_store[0].medium: a VineyardRuntime has MEM (vineyardd's shared memory) and SSD" in errs
    assert errors_of(kind="VineyardRuntime", tiered_store=[level(medium="MEM", quota="4Gi")]) == ""
    assert "tiered_store[0].path: is required; give the tier's directory" in errors_of(
        tiered_store=[level(medium="MEM", quota="1Gi")])
    assert "tiered_store[0].quota: is required (or quota_list, one quota per path)" in errors_of(
        tiered_store=[level(medium="MEM", path="/dev/shm")])


@pytest.mark.parametrize("path,quota_list,needle", [
    ("/a,/b", "100Gi,50Gi", None),
    ("/a,/b,/c", "1Gi,2Gi,3", None),  # the last may be bytes (Fluid's pattern)
    ("/a,/b", "100Gi, 50Gi", "is not a quota list Fluid accepts"),
    ("/a", "100Gi", "is not a quota list Fluid accepts"),  # one path: quota
    ("/a,/b", "100,50Gi", "is not a quota list Fluid accepts"),  # a unit on all but the last
    ("/a,/b,/c", "100Gi,50Gi", "2 quotas for 3 path(s)"),
    ("/a,/b", "0Gi,1Gi", "'0Gi' must be more than 0"),
])
def test_quota_lists(path, quota_list, needle):
    errs = errors_of(tiered_store=[level(medium="SSD", path=path, quota_list=quota_list)])
    if needle is None:
        assert errs == ""
    else:
        assert "tiered_store[0].quota_list: " in errs and needle in errs, errs


def test_volumes_and_their_mounts():
    vols = [{"name": "Cache", "hostPath": {"path": "/x"}}, {"name": "a", "emptyDir": {}, "hostPath": {"path": "/y"}},
            {"name": "a", "emptyDir": {}}]
    errs = errors_of(volumes=vols,
                     worker=comp(volume_mounts=[{"name": "b", "mountPath": "/b"}, {"name": "a", "mount_path": "/a"}]))
    assert "volumes[0].name: 'Cache' is not a valid volume name" in errs
    assert "volumes[1]: needs exactly one volume source besides name (hostPath, emptyDir" in errs
    assert "volumes[2].name: a is already volumes[1]; name each volume once" in errs
    assert "worker.volume_mounts[0].name: 'b' is not a volume of volumes (Cache, a); add a volume of that name" in errs
    assert "worker.volume_mounts[1].mountPath: None must be an absolute path in the container" in errs
    # volumes given through spec count too
    assert errors_of(spec={"volumes": [{"name": "b", "emptyDir": {}}]},
                     worker=comp(volume_mounts=[{"name": "b", "mountPath": "/b"}])) == ""


def test_values_of_typed_options():
    errs = errors_of(data={"replicas": 0}, run_as={"uid": -1, "gid": 0, "user": " ", "group": "g"},
                     management={"metadata_sync_policy": None,
                                 "clean_cache_policy": {"grace_period_seconds": -5, "max_retry_attempts": None}})
    assert "data.replicas: 0 must be 1 or more" in errs
    assert "run_as.uid: -1 must be 0 or more" in errs
    assert "run_as.user: must not be empty" in errs
    assert "management.clean_cache_policy.grace_period_seconds: -5 must be 0 or more" in errs
    errs = errors_of(kind="JuiceFSRuntime", configs=["--trash-days=0", "ok=1"])
    assert "configs[0]: '--trash-days=0' must be a juicefs format option without its dashes, e.g. trash-days=0" in errs
    assert "configs[1]" not in errs
    errs = errors_of(kind="ThinRuntime", spec={"profileName": "nfs", "fuse": {"lifecycle": {"postStart": {}}}})
    assert errs == ""  # an empty hook is no hook
    errs = errors_of(kind="ThinRuntime", spec={"fuse": {"lifecycle": {"postStart": {"exec": {"command": ["x"]}}}}})
    assert "spec.fuse.lifecycle.postStart: Fluid refuses a postStart hook on a ThinRuntime's FUSE" in errs


def test_spec_must_not_repeat_a_typed_option():
    errs = errors_of(kind="JindoRuntime", network_mode="HostNetwork", spec={"networkmode": "ContainerNetwork"})
    assert "spec.networkmode: also set by network_mode; set it in one place only" in errs
    assert "spec.runAs: also set by run_as" in errors_of(run_as={"uid": 0, "gid": 0, "user": "u", "group": "g"},
                                                         spec={"runAs": {}})


def test_warnings():
    juice = item(name="j", kind="JuiceFSRuntime", run_as={"uid": 0, "gid": 0, "user": "u", "group": "g"})
    assert any("run_as: Fluid v1.0.8's JuiceFSRuntime engine does not read spec.runAs" in w
               for w in M.KIND.warnings(juice))
    efc = item(name="e", kind="EFCRuntime", tiered_store=[level(medium="MEM", path="/dev/shm,/mnt/shm", quota="1Gi")])
    assert any("an EFCRuntime's workers use only the first path of the fastest tier" in w for w in M.KIND.warnings(efc))
    assert M.KIND.warnings(item(name="v", kind="VineyardRuntime",
                                tiered_store=[level(medium="MEM", quota_list=None, quota="4Gi")])) == []


# ---------------------------------------------------------------- the module with each new kind

def controller_for(kind, status):
    """A stand-in for the kind's controller: writes the given status on every write, the Dataset Bound."""
    def controller(cluster, o):
        if o["kind"] != kind or o["metadata"].get("deletionTimestamp"):
            return
        ns, name = o["metadata"]["namespace"], o["metadata"]["name"]
        cluster.set_status(kind, ns, name, copy.deepcopy(status))
        cluster.set_status("Dataset", ns, name, {"phase": "Bound", "conditions": []})
    return controller


def test_new_kinds_wait_create_idempotent_and_check_mode(run_module):
    from runtime_samples import EFC_BOUND, GOOSEFS_BOUND, VINEYARD_BOUND
    cases = [("GooseFSRuntime", {"replicas": 2, "data": {"replicas": 2}, "api_gateway": {"enabled": True},
                                 "tiered_store": [{"medium": "MEM", "path": "/dev/shm", "quota": "10Gi"}]},
              GOOSEFS_BOUND),
             ("EFCRuntime", {"replicas": 1, "fuse": {"clean_policy": "OnDemand"},
                             "tiered_store": [{"medium": "MEM", "path": "/dev/shm", "quota": "15Gi"}]}, EFC_BOUND),
             ("VineyardRuntime", {"replicas": 2, "tiered_store": [{"medium": "MEM", "quota": "4Gi"}],
                                  "fuse": {"options": {"size": "0"}}}, VINEYARD_BOUND)]
    for kind, args, status in cases:
        c = FakeCluster()
        c.put(obj("Dataset", "default", "demo", spec={}, status={"phase": "NotBound"}))
        c.controller = controller_for(kind, status)
        args = dict(args, name="demo", kind=kind, wait_for="bound", wait_timeout=5)
        dry = run_module(M, args, c, check=True, diff=True)
        assert not dry.failed and dry["changed"] is True, (kind, dry.get("msg"))
        assert c.objects.get((kind, "default", "demo")) is None
        r = run_module(M, args, c)
        assert not r.failed, (kind, r.get("msg"))
        rt = r["runtimes"][0]
        assert rt["changed"] is True and rt["ready"] is True and rt["kind"] == kind and rt["dataset_phase"] == "Bound"
        again = run_module(M, args, c, diff=True)
        assert not again.failed and again["changed"] is False and again["diff"] == [], kind
        gone = run_module(M, {"name": "demo", "kind": kind, "state": "absent", "wait_timeout": 5}, c)
        assert not gone.failed and gone["changed"] is True and c.objects.get((kind, "default", "demo")) is None


def test_a_kind_option_mismatch_fails_before_anything_is_written(run_module):
    c = FakeCluster()
    r = run_module(M, {"name": "x", "kind": "EFCRuntime", "fuse": {"args": ["-o", "ro"]},
                       "volumes": [{"name": "v", "emptyDir": {}}]}, c)
    assert r.failed and r["msg"].startswith("Invalid options (nothing was changed)")
    assert "fuse.args: the fuse of EFCRuntime has no args field" in r["msg"]
    assert "volumes: EFCRuntime has no spec.volumes" in r["msg"]
    assert c.calls == []
