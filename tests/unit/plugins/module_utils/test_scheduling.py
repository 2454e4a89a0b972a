"""module_utils/scheduling.py: node affinity, worker placement and the workers and cache a runtime can reach."""
from ansible_collections.cloudnative.fluid.plugins.module_utils import scheduling

from fakes import GPU, V100, node


def test_node_selector_matching():
    sel = {"nodeSelectorTerms": [{"matchExpressions": [{"key": GPU, "operator": "In", "values": [V100]}]}]}
    gpu = node("cn-hongkong.172.31.136.196", {GPU: V100})
    plain = node("cn-hongkong.172.31.136.194")
    assert scheduling.node_matches_selector(gpu, sel) and not scheduling.node_matches_selector(plain, sel)
    assert scheduling.node_matches_selector(plain, None)
    ors = {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "Exists"}]},
                                 {"matchFields": [{"key": "metadata.name", "operator": "In",
                                                   "values": ["cn-hongkong.172.31.136.194"]}]}]}
    assert scheduling.node_matches_selector(plain, ors)
    assert not scheduling.node_matches_selector(node("other"), ors)
    nums = {"nodeSelectorTerms": [{"matchExpressions": [{"key": "gpus", "operator": "Gt", "values": ["1"]},
                                                        {"key": "tainted", "operator": "DoesNotExist"}]}]}
    assert scheduling.node_matches_selector(node("n", {"gpus": "2"}), nums)
    assert not scheduling.node_matches_selector(node("n", {"gpus": "1"}), nums)
    assert not scheduling.node_matches_selector(node("n", {"gpus": "4", "tainted": "y"}), nums)
    assert scheduling.node_matches_selector(node("n", {"a": "x"}), {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["y"]}]}]})


# ---------------------------------------------------------------- worker predictions

def seed_dataset(ns="default", name="cifar10", **spec):
    spec.setdefault("nodeAffinity", {"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": GPU, "operator": "In", "values": [V100]}]}]}})
    return {"kind": "Dataset", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def seed_runtime(ready=1, capacity="12.00GiB", replicas=2, **spec):
    spec.update(replicas=replicas, tieredstore={"levels": [
        {"mediumtype": "MEM", "path": "/dev/shm", "quota": "2Gi"},
        {"mediumtype": "SSD", "path": "/var/lib/docker/alluxio", "quota": "10Gi"}]})
    return {"kind": "AlluxioRuntime", "metadata": {"name": "cifar10", "namespace": "default"}, "spec": spec,
            "status": {"workerNumberReady": ready, "workerPhase": "PartialReady",
                       "cacheStates": {"cacheCapacity": capacity} if capacity else {}}}


def test_expected_workers_follow_the_labels():
    ds, rt = seed_dataset(), seed_runtime()
    nodes = [node("196", labels={GPU: V100}), node("194")]
    assert scheduling.expected_workers(nodes, ds, rt) == (1, 1)
    nodes[1]["metadata"]["labels"][GPU] = V100
    assert scheduling.expected_workers(nodes, ds, rt) == (2, 2)
    nodes.append(node("198", labels={GPU: V100}))
    assert scheduling.expected_workers(nodes, ds, rt) == (2, 3)  # never more than spec.replicas


def test_worker_placement_rules():
    ds, rt = seed_dataset(), seed_runtime()
    gpu = {GPU: V100}
    assert not scheduling.worker_can_run(node("a", labels=gpu, unschedulable=True), ds, rt)
    tainted = node("b", labels=gpu, taints=[{"key": "nvidia.com/gpu", "effect": "NoSchedule"}])
    assert not scheduling.worker_can_run(tainted, ds, rt)
    tolerant = seed_dataset(tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])
    assert scheduling.worker_can_run(tainted, tolerant, rt)
    prefer = node("c", labels=gpu, taints=[{"key": "x", "effect": "PreferNoSchedule"}])
    assert scheduling.worker_can_run(prefer, ds, rt)
    held = node("d", labels=dict(gpu, fluid_exclusive="default_other"))
    mine = node("e", labels=dict(gpu, fluid_exclusive="default_cifar10"))
    assert not scheduling.worker_can_run(held, ds, rt) and scheduling.worker_can_run(mine, ds, rt)
    picky = seed_runtime(worker={"nodeSelector": {"disk": "ssd"}})
    assert not scheduling.worker_can_run(node("f", labels=gpu), ds, picky)
    assert scheduling.worker_can_run(node("g", labels=dict(gpu, disk="ssd")), ds, picky)
    anywhere = {"kind": "Dataset", "metadata": {"name": "x", "namespace": "default"}, "spec": {}}
    assert scheduling.worker_can_run(node("h"), anywhere, rt)


def test_exclusive_placement_binds_only_within_a_namespace():
    """Fluid 1.0.8's Exclusive workers repel each other by a pod anti-affinity without a namespaces field: a
    node held by another namespace's Dataset still takes this Dataset's worker."""
    ds, rt = seed_dataset(), seed_runtime()
    other_ns = node("d", labels={GPU: V100, "fluid_exclusive": "team-b_cifar10"})
    same_ns = node("e", labels={GPU: V100, "fluid_exclusive": "default_imagenet"})
    assert not scheduling.exclusive_conflict(other_ns, ds) and scheduling.worker_can_run(other_ns, ds, rt)
    assert scheduling.exclusive_conflict(same_ns, ds) and not scheduling.worker_can_run(same_ns, ds, rt)
    assert scheduling.expected_workers([node("196", labels={GPU: V100}), other_ns], ds, rt) == (2, 2)


def test_capacity_per_worker():
    assert scheduling.per_worker_bytes(seed_runtime()) == 12 * 1024 ** 3  # from the status: 12GiB / 1 ready
    assert scheduling.per_worker_bytes(seed_runtime(ready=0, capacity="")) == 12 * 1024 ** 3  # from the quotas
    odd = seed_runtime(ready=0, capacity="")
    odd["spec"]["tieredstore"]["levels"] = [{"mediumtype": "SSD", "quotaList": "1Gi,3Gi"}]
    assert scheduling.per_worker_bytes(odd) == 4 * 1024 ** 3
    assert scheduling.per_worker_bytes({"spec": {}}) is None


def test_widened_predicates():
    want = 24 * 1024 ** 3
    assert not scheduling.runtime_widened(seed_runtime(ready=1), 2, want)
    assert not scheduling.runtime_widened(seed_runtime(ready=2, capacity="12.00GiB"), 2, want)  # status not synced yet
    assert scheduling.runtime_widened(seed_runtime(ready=2, capacity="24.00GiB"), 2, want)
    assert scheduling.runtime_widened(seed_runtime(ready=2, capacity="23.99GiB"), 2, want)  # two-decimal rounding
    assert scheduling.runtime_widened(seed_runtime(ready=2, capacity=""), 2, None)
    assert not scheduling.runtime_widened(None, 0, None)
    assert scheduling.dataset_widened({"status": {"cacheStates": {"cacheCapacity": "24.00GiB"}}}, want)
    assert not scheduling.dataset_widened({"status": {}}, want)
