"""The templates of playbooks/status.yml, rendered by Ansible's own Templar with dataset_info's facts.

Edge cases a cluster rarely shows on demand: no Dataset, a Dataset without status or runtime, nodes or
pods that could not be read, text from the API that contains markup.
"""
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest

from ansible_collections.cloudnative.fluid.plugins.module_utils import observe as O

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATES = os.path.join(ROOT, "playbooks", "templates")


# Rendered in a child process: controller-side templating changes process-wide state of ansible-core
# (how module warnings are reported), which would leak into the module tests of the same session.
RENDER = """
import json, sys
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
path, variables = json.load(sys.stdin)
with open(path) as fh:
    src = fh.read()
sys.stdout.write(Templar(loader=DataLoader(), variables=variables).template(trust_as_template(src)))
"""


def render(name, datasets, **extra):
    variables = {"status_info": {"datasets": datasets}, "status_namespace": ""}
    variables.update(extra)
    proc = subprocess.run([sys.executable, "-c", RENDER], input=json.dumps([os.path.join(TEMPLATES, name), variables]),
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def ds_obj(ns, name, capacity="12.00GiB", cached="33.75KiB", pct="13.6%", phase="Bound"):
    return {"metadata": {"name": name, "namespace": ns, "uid": "u"},
            "status": {"phase": phase, "ufsTotal": "247.87KiB", "fileNum": "15",
                       "cacheStates": {"cacheCapacity": capacity, "cached": cached, "cachedPercentage": pct,
                                       "cacheHitRatio": "50.0%", "localHitRatio": "20.0%", "remoteHitRatio": "30.0%"}}}


def runtime_obj(name, ready=1, desired=2):
    return {"metadata": {"name": name}, "spec": {"replicas": desired}, "status": {
        "masterPhase": "Ready", "masterNumberReady": 1, "desiredMasterNumberScheduled": 1,
        "workerPhase": "PartialReady" if ready < desired else "Ready", "workerNumberReady": ready,
        "desiredWorkerNumberScheduled": desired, "fusePhase": "Ready"}}


def node_obj(name, ns, ds, cap):
    return {"metadata": {"name": name, "labels": {"fluid.io/s-%s-%s" % (ns, ds): "true",
                                                  "fluid.io/s-h-alluxio-t-%s-%s" % (ns, ds): cap}}}


def pod_obj(name, phase, message=None, node=None):
    st = {"phase": phase, "conditions": []}
    if message:
        st["conditions"].append({"type": "PodScheduled", "status": "False", "message": message})
    return {"metadata": {"name": name}, "spec": {"nodeName": node, "volumes": [
        {"name": "d", "persistentVolumeClaim": {"claimName": "cifar10"}}]}, "status": st}


def op(kind, name, spec, created, **status):
    return kind, {"metadata": {"name": name, "namespace": "a", "creationTimestamp": created}, "spec": spec,
                  "status": status}


OPERATIONS = [
    op("DataLoad", "warm", {}, "t1", phase="Complete", duration="1m11s",
       conditions=[{"type": "Complete", "status": "True", "reason": "CompletionsReached", "message": "done"}]),
    op("DataProcess", "unpack", {"runAfter": {"kind": "DataLoad", "name": "warm"}}, "t2", phase="Failed",
       duration="2m3s", conditions=[{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                     "message": "Job has reached the <b>backoff</b> limit"}]),
    op("DataLoad", "after", {"runAfter": {"kind": "DataProcess", "name": "unpack"}}, "t3", phase="Pending",
       duration="Unfinished", waitingFor={"operationComplete": True}),
    op("DataLoad", "nightly", {"policy": "Cron", "schedule": "0 1 * * *"}, "t0", phase="Complete", duration="5s",
       lastScheduleTime="2024-05-01T01:00:00Z"),
]
UNREADABLE = [{"kind": "DataBackup", "reason": "not installed (the cluster does not serve DataBackup)"}]


@pytest.fixture
def facts():
    nodes = [node_obj("n196", "a", "cifar10", "24GiB"), node_obj("n194", "b", "spark", "4GiB"),
             node_obj("n194b", "a", "cifar10", "24GiB")]
    pods = [pod_obj("nginx-0", "Running", node="n196"),
            pod_obj("nginx-1", "Pending", "0/2 nodes: <script>alert(1)</script> didn't match PersistentVolume's node affinity")]
    return [
        O.dataset_facts(ds_obj("a", "cifar10", capacity="24.00GiB"), "AlluxioRuntime", runtime_obj("cifar10"),
                        nodes=nodes, pods=pods, operations=OPERATIONS, operations_unreadable=UNREADABLE),
        O.dataset_facts(ds_obj("b", "spark", capacity="12.00GiB", cached="0.00B", pct="0.0%"), "AlluxioRuntime",
                        runtime_obj("spark", 1, 1), nodes=nodes, pods=[], operations=[],
                        operations_unreadable=UNREADABLE),
        O.dataset_facts({"metadata": {"name": "fresh", "namespace": "c"}}, None, None, nodes=None, pods=None),
    ]


class Tags(HTMLParser):
    def __init__(self):
        super(Tags, self).__init__()
        self.tags, self.rects = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "rect":
            self.rects.append(dict(attrs))


def test_html_renders_facts_to_scale_and_escapes_api_text(facts):
    html = render("fluid-status.html.j2", facts)
    page = Tags()
    page.feed(html)
    assert "script" not in page.tags  # the pod's message is text, not markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    caps = [r for r in page.rects if r.get("class") == "capacity"]
    assert [float(r["width"]) for r in caps] == [440.0, 220.0, 0.0]  # 24GiB, 12GiB, unknown: one scale
    cached = [r for r in page.rects if r.get("class") == "cached"]
    assert float(cached[0]["width"]) == 2.0  # 33.75KiB of 24GiB is less than a pixel: still visible
    assert float(cached[1]["width"]) == 0.0
    pct = [r for r in page.rects if r.get("class") == "percent"]
    assert abs(float(pct[0]["width"]) - 0.136 * 440) < 0.1
    assert 'data-dataset="a/cifar10" data-bytes="25769803776">24GiB' in html
    assert html.count('<tr data-node=') == 3
    assert "no status" in html and "not read" in html


def test_html_without_datasets():
    html = render("fluid-status.html.j2", [], status_namespace="ml")
    assert "No Dataset found." in html and "in namespace ml" in html
    assert "<svg" not in html


def test_text_tables(facts):
    overview = render("status-overview.txt.j2", facts).strip().splitlines()
    assert overview[0].split()[:3] == ["NAMESPACE/NAME", "PHASE", "DATA"]
    assert re.match(r"^a/cifar10\s+Bound\s+247\.87KiB\s+33\.75KiB\s+24\.00GiB\s+13\.6%\s+1/2\s+n194b, n196$", overview[1])
    assert overview[3].startswith("c/fresh") and "(unreadable)" in overview[3]
    # columns line up under their headers
    assert overview[1].index("Bound") == overview[2].index("Bound") == overview[0].index("PHASE")
    assert overview[1].index("1/2") + 3 == overview[0].index("WORKERS") + len("WORKERS")
    detail = render("status-dataset.txt.j2", [], status_ds=facts[0]).strip().splitlines()
    assert detail[0] == "a/cifar10: Bound (AlluxioRuntime cifar10)"
    assert "33.75KiB cached of 24.00GiB (13.6% of the data); hit ratio 50.0% (local 20.0%, remote 30.0%)" in detail[2]
    assert detail[3].strip() == "runtime    master Ready 1/1 | worker PartialReady 1/2 | fuse Ready 0/0"
    assert any("nginx-1 Pending: 0/2 nodes" in line for line in detail)
    fresh = render("status-dataset.txt.j2", [], status_ds=facts[2]).strip().splitlines()
    assert fresh[0] == "c/fresh: no status yet (no runtime)"
    assert any("(nodes not readable)" in line for line in fresh)
    empty = render("status-overview.txt.j2", []).strip().splitlines()
    assert empty[-1] == "(no Dataset)"


def test_text_lists_each_datasets_operations(facts):
    detail = render("status-dataset.txt.j2", [], status_ds=facts[0]).strip().splitlines()
    at = [i for i, line in enumerate(detail) if line.startswith("  operations ")][0]
    assert detail[at:] == [
        "  operations DataLoad nightly: Complete in 5s; Cron 0 1 * * *, last run 2024-05-01T01:00:00Z, last success never",
        "             DataLoad warm: Complete in 1m11s (CompletionsReached)",
        "             DataProcess unpack: Failed in 2m3s (BackoffLimitExceeded: Job has reached the <b>backoff</b> limit)"
        "; after DataLoad warm",
        "             DataLoad after: Pending; waiting for DataProcess unpack",
        "             DataBackup not readable: not installed (the cluster does not serve DataBackup)",
    ]
    spark = render("status-dataset.txt.j2", [], status_ds=facts[1]).strip().splitlines()
    assert spark[-2:] == ["  operations none",
                          "             DataBackup not readable: not installed (the cluster does not serve DataBackup)"]
    # not read (include_operations: false): no operations line at all
    assert not [line for line in render("status-dataset.txt.j2", [], status_ds=facts[2]).splitlines()
                if "operations" in line]


def test_html_lists_operations_and_escapes_their_messages(facts):
    html = render("fluid-status.html.j2", facts)
    rows = re.findall(r'<tr class="op" data-dataset="([^"]+)" data-operation="([^"]+)">', html)
    assert rows == [("a/cifar10", "DataLoad/nightly"), ("a/cifar10", "DataLoad/warm"),
                    ("a/cifar10", "DataProcess/unpack"), ("a/cifar10", "DataLoad/after")]
    assert "Job has reached the &lt;b&gt;backoff&lt;/b&gt; limit" in html
    assert 'data-field="duration" data-seconds="123.0">2m3s' in html
    assert '<span class="badge bad">Failed</span>' in html and '<span class="badge warn">waiting</span>' in html
    assert 'data-unreadable="DataBackup"' in html
    none = render("fluid-status.html.j2", facts[1:2])
    assert 'id="no-operations"' in none


def test_job_artifacts_summarise_each_dataset(facts):
    """status.yml's set_stats data (AWX keeps it as the job's artifacts): one entry per Dataset."""
    got = json.loads(render("status-artifacts.json.j2", facts))
    assert [(d["namespace"], d["name"]) for d in got] == [("a", "cifar10"), ("b", "spark"), ("c", "fresh")]
    a = got[0]
    assert a["phase"] == "Bound" and a["runtime"] == "AlluxioRuntime/cifar10" and a["workers_ready"] == "1/2"
    assert (a["cache_capacity"], a["cache_capacity_bytes"]) == ("24.00GiB", 24 * 2 ** 30)
    assert (a["cached"], a["cached_bytes"], a["cached_percent"]) == ("33.75KiB", 34560, 13.6)
    assert (a["data"], a["files"]) == ("247.87KiB", 15)
    assert a["cache_nodes"] == ["n194b", "n196"] and a["pods"] == 2 and a["pods_pending"] == 1
    assert got[1]["cached_bytes"] == 0 and got[1]["pods"] == 0
    # no status, no runtime, nodes and pods not readable: nulls, not errors
    fresh = got[2]
    assert fresh["runtime"] is None and fresh["workers_ready"] is None and fresh["cache_nodes"] is None
    assert fresh["pods"] is None and fresh["pvc"] is None


def test_job_artifacts_without_datasets():
    assert json.loads(render("status-artifacts.json.j2", [])) == []
