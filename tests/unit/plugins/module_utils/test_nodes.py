"""module_utils/nodes.py: GPU detection, label plans and the parallel patcher."""
import threading
import time

import pytest

from ansible_collections.cloudnative.fluid.plugins.module_utils import nodes as N
from ansible_collections.cloudnative.fluid.plugins.module_utils.client import ApiError

from fakes import GPU, V100, node

DEFAULT = {"resources": list(N.DEFAULT_GPU_RESOURCES), "labels": dict(N.DEFAULT_GPU_LABELS)}


# ---------------------------------------------------------------- keys and GPU detection

@pytest.mark.parametrize("key,fluid", [
    ("fluid.io/s-default-cifar10", True),
    ("fluid.io/dataset-num", True),
    ("node.fluid.io/x", True),
    ("fluid_exclusive", True),
    ("data.fluid.io/x", True),
    ("aliyun.accelerator/nvidia_name", False),
    ("notfluid.io/x", False),
    ("fluid.io.example.com/x", False),
    ("fluid", False),
])
def test_fluid_keys(key, fluid):
    assert N.is_fluid_key(key) is fluid


@pytest.mark.parametrize("n,expected", [
    (node("a", allocatable={"nvidia.com/gpu": "1"}), "allocatable nvidia.com/gpu=1"),
    (node("b", allocatable={"amd.com/gpu": "2"}), "allocatable amd.com/gpu=2"),
    (node("c", allocatable={"nvidia.com/gpu": "0"}), None),
    (node("d", labels={"nvidia.com/gpu.present": "true"}), "label nvidia.com/gpu.present=true"),
    (node("e", labels={"nvidia.com/gpu.present": "false"}), None),
    (node("f", labels={"feature.node.kubernetes.io/pci-10de.present": "true"}),
     "label feature.node.kubernetes.io/pci-10de.present=true"),
    (node("g", labels={GPU: V100}), None),  # the label we set is not itself evidence of a GPU
    (node("h", allocatable={"cpu": "32"}), None),
    ({"metadata": {"name": "bare"}}, None),
])
def test_gpu_detection_defaults(n, expected):
    assert N.gpu_reason(n, DEFAULT) == expected


def test_gpu_detection_custom_rules():
    det = {"resources": ["example.com/tpu"], "labels": {"example.com/accel": None}}
    assert N.gpu_reason(node("a", allocatable={"example.com/tpu": "4"}), det)
    assert N.gpu_reason(node("b", labels={"example.com/accel": "anything"}), det)
    assert N.gpu_reason(node("c", allocatable={"nvidia.com/gpu": "1"}), det) is None
    # a value in the rule must match exactly; booleans from YAML compare as Kubernetes strings
    assert N.gpu_reason(node("d", labels={"x.io/gpu": "true"}), {"labels": {"x.io/gpu": True}})
    assert N.gpu_reason(node("e", allocatable={"nvidia.com/gpu": "bogus"}), DEFAULT) is None


# ---------------------------------------------------------------- validation

def test_validate_labels_names_field_and_fix():
    errors = N.validate_labels({"bad key!": "x", "ok.io/k": "bad value!", "fluid.io/s-x": "true"}, "present", False)
    text = "\n".join(errors)
    assert "labels[bad key!]: 'bad key!' is not a valid label key" in text
    assert "labels[ok.io/k]: 'bad value!' is not a valid label value" in text
    assert "labels[fluid.io/s-x]: fluid.io/s-x is a label Fluid manages itself" in text and "force: true" in text
    assert N.validate_labels({"fluid.io/s-x": "true"}, "present", True) == []


def test_validate_labels_absent_ignores_values_and_present_needs_them():
    assert N.validate_labels({"a.io/b": None}, "absent", False) == []
    assert "use state: absent" in N.validate_labels({"a.io/b": None}, "present", False)[0]
    assert N.validate_labels({}, "present", False)[0].startswith("labels: give at least one label")
    assert N.validate_labels({"a.io/b": True, "c": 16}, "present", False) == []
    too_long = "x" * 64
    assert "not a valid label value" in N.validate_labels({"a": too_long}, "present", False)[0]


def test_validate_values_from():
    assert N.validate_labels({GPU: V100}, "present", False, {GPU: "nvidia.com/gpu.product"}) == []
    errors = N.validate_labels({GPU: V100}, "present", False, {"other.io/x": "nvidia.com/gpu.product"})
    assert errors and errors[0].startswith("values_from[other.io/x]: other.io/x is not in labels")
    errors = N.validate_labels({GPU: None}, "absent", False, {GPU: "nvidia.com/gpu.product"})
    assert any("only used with state: present" in e for e in errors)


def test_validate_detection():
    assert N.validate_detection(DEFAULT) == []
    assert "has neither resources nor labels" in N.validate_detection({"resources": [], "labels": {}})[0]
    assert "gpu_detection.resources[0]" in N.validate_detection({"resources": ["not a name"]})[0]


# ---------------------------------------------------------------- plans

def test_plan_present_absent_and_unchanged():
    a = node("a", labels={GPU: V100, "keep": "me"})
    b = node("b", labels={"keep": "me"})
    changes, warnings = N.plan([a, b], {GPU: V100}, "present")
    assert warnings == []
    assert [c.changed for c in changes] == [False, True]
    assert changes[1].patch == {GPU: V100} and changes[1].before == {GPU: None}
    changes, dummy = N.plan([a, b], {GPU: None}, "absent")
    assert [c.changed for c in changes] == [True, False]
    assert changes[0].patch == {GPU: None}  # merge patch: null deletes the key, nothing else is sent
    after = N.apply_plan(a, changes[0])
    assert after["metadata"]["labels"] == {"keep": "me"} and a["metadata"]["labels"][GPU] == V100


def test_plan_values_from_uses_node_label_or_fallback():
    a100 = node("a", labels={"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"})
    plain = node("b")
    weird = node("c", labels={"nvidia.com/gpu.product": "has spaces in it"})
    changes, warnings = N.plan([a100, plain, weird], {GPU: V100}, "present", {GPU: "nvidia.com/gpu.product"})
    assert [c.after[GPU] for c in changes] == ["NVIDIA-A100-SXM4-80GB", V100, V100]
    assert len(warnings) == 1 and "node c" in warnings[0] and "not a valid label value" in warnings[0]


# ---------------------------------------------------------------- parallel patches

class StubClient(object):
    """merge_patch/get like FluidClient; scripted failures per node name (a list of statuses)."""

    def __init__(self, nodes, failures=None, delay=0.0):
        self.nodes = dict((n["metadata"]["name"], n) for n in nodes)
        self.failures = dict(failures or {})
        self.delay = delay
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.patches = []
        self.gets = []

    def get(self, kind, namespace, name):
        self.gets.append(name)
        return self.nodes.get(name)

    def merge_patch(self, kind, namespace, name, body, dry_run=False):
        assert kind == "Node" and not dry_run
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(self.delay)
            with self.lock:
                todo = self.failures.get(name) or []
                if todo:
                    status = todo.pop(0)
                    raise ApiError("status %s" % status, status=status)
                self.patches.append((name, body))
                labels = self.nodes[name]["metadata"].setdefault("labels", {})
                for k, v in body["metadata"]["labels"].items():
                    if v is None:
                        labels.pop(k, None)
                    else:
                        labels[k] = v
                return self.nodes[name]
        finally:
            with self.lock:
                self.active -= 1


def test_patch_all_is_bounded_and_patches_only_changes():
    nodes = [node("n%03d" % i, labels={GPU: V100} if i % 5 == 0 else {}) for i in range(60)]
    client = StubClient(nodes, delay=0.005)
    changes, dummy = N.plan(nodes, {GPU: V100}, "present")
    out = N.patch_all(client, changes, 4, sleep=lambda s: None)
    assert len(out.done) == 48 and not out.failed and not out.not_attempted
    assert client.max_active <= 4 and client.max_active >= 2
    assert all(body == {"metadata": {"labels": {GPU: V100}}} for dummy, body in client.patches)
    assert all(c.node["metadata"]["labels"][GPU] == V100 for c in out.done)


def test_patch_all_retries_conflicts_and_transient_errors():
    nodes = [node("a"), node("b"), node("c")]
    client = StubClient(nodes, failures={"a": [409], "b": [503, 429], "c": [None]})
    # c: a connection failure (ApiError without status)
    changes, dummy = N.plan(nodes, {GPU: V100}, "present")
    slept = []
    out = N.patch_all(client, changes, 2, labels={GPU: V100}, sleep=slept.append)
    assert sorted(c.name for c in out.done) == ["a", "b", "c"] and not out.failed
    assert out.retries == 4 and client.gets == ["a"]  # a conflict re-reads the node
    assert slept and max(slept) <= 0.2


def test_patch_all_conflict_that_settles_the_change():
    a = node("a")
    client = StubClient([a], failures={"a": [409]})
    changes, dummy = N.plan([a], {GPU: V100}, "present")
    a["metadata"]["labels"][GPU] = V100  # someone else set it meanwhile
    out = N.patch_all(client, changes, 1, labels={GPU: V100}, sleep=lambda s: None)
    assert [c.name for c in out.done] == ["a"] and not changes[0].changed and client.patches == []


def test_patch_all_stops_on_a_permanent_error_and_reports_404_as_vanished():
    nodes = [node("n%02d" % i) for i in range(30)]
    client = StubClient(nodes, failures={"n00": [403], "n01": [404]})
    changes, dummy = N.plan(nodes, {GPU: V100}, "present")
    out = N.patch_all(client, changes, 1, sleep=lambda s: None)
    assert [c.name for c in out.failed] == ["n00"] and out.failed[0].error.status == 403
    assert len(out.not_attempted) == 29 and not out.done


def test_patch_all_gives_up_after_the_attempts():
    a = node("a")
    client = StubClient([a], failures={"a": [503] * 10})
    changes, dummy = N.plan([a], {GPU: V100}, "present")
    out = N.patch_all(client, changes, 3, sleep=lambda s: None)
    assert out.failed and out.failed[0].attempts == N.PATCH_ATTEMPTS


def test_patch_all_vanished_node():
    a = node("a")
    client = StubClient([a], failures={"a": [404]})
    changes, dummy = N.plan([a], {GPU: V100}, "present")
    out = N.patch_all(client, changes, 3, sleep=lambda s: None)
    assert out.vanished == ["a"] and not out.failed and not out.done


def test_pool_size():
    class Conf(object):
        connection_pool_maxsize = 7

    class Api(object):
        client = type("C", (), {"configuration": Conf()})()

    assert N.pool_size(type("FC", (), {"api": Api()})()) == 7
    assert N.pool_size(object()) == 10
