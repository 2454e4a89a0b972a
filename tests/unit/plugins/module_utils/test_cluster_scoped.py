"""A cluster-scoped kind (ThinRuntimeProfile) through the driver, the client's paths, the diagnosis and progress."""
from ansible_collections.cloudnative.fluid.plugins.module_utils import driver, progress
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import FluidClient
from ansible_collections.cloudnative.fluid.plugins.module_utils.diagnose import diagnose
from ansible_collections.cloudnative.fluid.plugins.module_utils.waiter import Target

from fakes import FakeCluster

KIND = "ThinRuntimeProfile"


class Profile(driver.Kind):
    kind = noun = KIND
    namespaced = False
    item_spec = driver.cluster_item_spec(file_system_type=dict(type="str"))


def test_items_objects_and_entries_have_no_namespace():
    assert "namespace" not in driver.cluster_item_spec() and "namespace" in driver.item_spec()
    item = {"name": "nfs", "state": "present", "prefix": "", "labels": None, "annotations": None, "spec": None,
            "file_system_type": "nfs"}
    assert Profile().validate_item(item) == []  # no namespace to check
    assert driver.fluid_object(KIND, item, {"fileSystemType": "nfs"})["metadata"] == {"name": "nfs"}
    unit = driver.Unit(KIND, None, "nfs")
    assert unit.ref == "ThinRuntimeProfile nfs" and unit.path == "nfs"
    assert "namespace" not in unit.entry()
    assert driver.Unit("Dataset", "default", "d").ref == "Dataset default/d"
    assert driver.Unit("Dataset", "default", "d").entry()["namespace"] == "default"


class _Api(object):
    client = None


def test_client_paths():
    c = FluidClient(_Api())
    assert c.path(KIND, None, "nfs") == "/apis/data.fluid.io/v1alpha1/thinruntimeprofiles/nfs"
    assert c.path(KIND, "default", "nfs") == "/apis/data.fluid.io/v1alpha1/thinruntimeprofiles/nfs"  # never one
    assert c.path("ThinRuntime", "default", "x") == "/apis/data.fluid.io/v1alpha1/namespaces/default/thinruntimes/x"


def test_diagnosis_and_progress_lines():
    c = FakeCluster()
    assert diagnose(c, KIND, None, "nfs", want="absent") == "ThinRuntimeProfile nfs is gone."
    c.put({"apiVersion": "data.fluid.io/v1alpha1", "kind": KIND, "metadata": {"name": "nfs"}, "spec": {}})
    assert diagnose(c, KIND, None, "nfs", want="absent") == "ThinRuntimeProfile nfs exists; finalizers: none."
    unit = driver.Unit(KIND, None, "nfs", want="present")
    unit.targets = [Target(KIND, None, "nfs", lambda o: o is not None)]
    now = progress.snapshot(unit, {(KIND, None, "nfs"): c.objects[(KIND, None, "nfs")]})
    assert now == ("present", ())
    assert progress.line(unit, None, now, 0, True) == "nfs present, already present"
