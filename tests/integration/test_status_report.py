"""playbooks/status.yml on the embedded cluster, and its HTML report in a real browser.

The playbook prints a table per Dataset and writes fluid-status.html. Debian's headless Chromium
then renders the page: the DOM it built (--dump-dom) must show the numbers the API holds, and it
takes a screenshot (kept next to the report for people to look at).
"""
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
from html.parser import HTMLParser

import pytest

from observe_env import ensure_fluid, ROOT, Env, ansible_env, api_snapshot, parse_bytes, run_module, run_playbook, stable

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PLAYBOOK = os.path.join(ROOT, "playbooks", "status.yml")
BAR_W = 440.0  # width of a full capacity bar in the template
PV_AFFINITY = ("didn't match PersistentVolume's node affinity", "volume node affinity conflict")


@pytest.fixture(scope="module")
def env(kube, cluster):
    ensure_fluid(kube, cluster)
    e = Env(kube, cluster, "report").up(nginx=True)
    yield e
    e.down()


@pytest.fixture(scope="module")
def report(env, kube, cluster):
    """Warm /hbase of cifar10 (so the report has cached bytes), then run status.yml until the API did not
    change during the run; (html path, stdout, API snapshot)."""
    r = run_module(cluster, "dataload", {"name": "warm-hbase", "namespace": env.ns_a, "dataset": "cifar10",
                                         "paths": [{"path": "/hbase"}], "wait_timeout": 240})
    assert not r.failed and r["phase"] == "Complete", r
    kube.wait_for(("dataset", "-n", env.ns_a, "cifar10"),
                  lambda d: d["status"]["cacheStates"]["cached"] != "0.00B", timeout=90)
    out_dir = tempfile.mkdtemp(prefix="fluid-status-")
    path = os.path.join(out_dir, "fluid-status.html")
    for _ in range(4):
        before = api_snapshot(kube, [env.ns_a, env.ns_b])
        rc, out = run_playbook(cluster, PLAYBOOK, {"status_report_file": path}, cwd=out_dir)
        assert rc == 0, out[-4000:]
        after = api_snapshot(kube, [env.ns_a, env.ns_b])
        if _status(before) == _status(after):
            break
    yield path, out, after
    shutil.rmtree(out_dir, ignore_errors=True)


def _status(snap):
    return {k: (v["dataset"].get("status"), (v["runtime"] or {}).get("status", {}).get("workerNumberReady"),
                v["cache_nodes"], sorted((p["metadata"]["name"], p["status"]["phase"]) for p in v["pods"]))
            for k, v in snap.items()}


class Page(HTMLParser):
    """The parts of the report the test reads: rows by data-dataset, fields by data-field, SVG bars, nodes, pods."""

    def __init__(self):
        super(Page, self).__init__()
        self.rows = {}
        self.bars = {}
        self.node_cells = []
        self.pods = []
        self.tags = set()
        self.attrs_seen = []
        self._row = None
        self._field = None
        self._bar = None
        self._text = []
        self._pod = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        self.attrs_seen.append((tag, a))
        if tag == "tr" and a.get("class") == "ds":
            self._row = self.rows.setdefault(a["data-dataset"], {})
        elif tag == "td" and self._row is not None and a.get("data-field"):
            self._field = a["data-field"]
            self._row[self._field] = {"attrs": a, "text": ""}
        elif tag == "g" and a.get("class") == "bar":
            self._bar = self.bars.setdefault(a["data-dataset"], {"rects": {}, "text": ""})
        elif tag == "rect" and self._bar is not None and a.get("class"):
            self._bar["rects"][a["class"]] = a
        elif tag == "td" and a.get("class") == "hit":
            self.node_cells.append(a)
        elif tag == "li" and a.get("data-pod"):
            self._pod = {"name": a["data-pod"], "phase": a["data-phase"], "text": ""}
            self.pods.append(self._pod)

    def handle_endtag(self, tag):
        if tag == "td":
            self._field = None
        elif tag == "tr":
            self._row = None
        elif tag == "g":
            self._bar = None
        elif tag == "li":
            self._pod = None

    def handle_data(self, data):
        if self._field is not None and self._row is not None:
            self._row[self._field]["text"] += data
        if self._bar is not None:
            self._bar["text"] += data
        if self._pod is not None:
            self._pod["text"] += data


def chromium(*args, timeout=90):
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is needed for the browser test: apt-get install -y chromium "
                    "(or set CHROMIUM to its path)", pytrace=False)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage", "--user-data-dir=" + profile] + list(args)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def test_playbook_prints_a_table_per_dataset(report, env):
    path, out, snap = report
    assert os.path.getsize(path) > 0
    for key in ("%s/cifar10" % env.ns_a, "%s/spark" % env.ns_b):
        st = snap[key]["dataset"]["status"]
        assert key + ": Bound" in out
        assert "%s cached of %s" % (st["cacheStates"]["cached"], st["cacheStates"]["cacheCapacity"]) in out
        assert st["ufsTotal"] in out
    assert "worker PartialReady 1/2" in out
    assert snap["%s/cifar10" % env.ns_a]["dataset"]["status"]["cacheStates"]["cached"] != "0.00B"
    assert any(s in out for s in PV_AFFINITY), out[-3000:]


def test_report_lists_the_dataload_of_the_dataset(report, env):
    """The DataLoad that warmed cifar10 (the report fixture's) is listed with the Dataset, in the text and the page."""
    path, out, _ = report
    assert "  operations DataLoad warm-hbase: Complete in " in out, out[-3000:]
    rows = re.findall(r'<tr class="op" data-dataset="([^"]+)" data-operation="([^"]+)">', open(path).read())
    assert [ds for ds, op in rows if op == "DataLoad/warm-hbase" and ds.startswith("report-")] == [
        "%s/cifar10" % env.ns_a]


def test_report_is_self_contained(report):
    html = open(report[0]).read()
    page = Page()
    page.feed(html)
    assert not {"script", "link", "img", "iframe", "object", "embed"} & page.tags
    for tag, attrs in page.attrs_seen:
        for k, v in attrs.items():
            assert not (k in ("src", "href") and v), (tag, attrs)
            assert not k.startswith("on"), (tag, attrs)
    assert "@import" not in html and "url(" not in html
    assert "<svg" in html and "<style>" in html


def test_browser_renders_the_numbers_of_the_api(report, env):
    path, _, snap = report
    r = chromium("--dump-dom", "file://" + path)
    assert r.returncode == 0 and "<html" in r.stdout, r.stderr[-2000:]
    page = Page()
    page.feed(r.stdout)  # the DOM Chromium built, not the file
    keys = ("%s/cifar10" % env.ns_a, "%s/spark" % env.ns_b)
    assert set(keys) <= set(page.rows), sorted(page.rows)

    caps = {}
    for key in keys:
        api = snap[key]
        st = api["dataset"]["status"]
        states = st["cacheStates"]
        rst = api["runtime"]["status"]
        row = page.rows[key]
        assert row["phase"]["text"].strip() == st["phase"] == "Bound"
        for field, text in (("ufs_total", st["ufsTotal"]), ("cached", states["cached"]),
                            ("cache_capacity", states["cacheCapacity"])):
            assert row[field]["text"].strip() == text, (key, field, row[field])
            assert int(row[field]["attrs"]["data-bytes"]) == parse_bytes(text)
        assert row["cached_percentage"]["text"].strip() == states["cachedPercentage"]
        assert float(row["cached_percentage"]["attrs"]["data-percent"]) == float(states["cachedPercentage"].rstrip("%"))
        assert row["file_num"]["text"].strip() == str(st["fileNum"])
        for comp in ("master", "worker", "fuse"):
            shown = " ".join(row[comp]["text"].split())
            want = "%s %d/%d" % (rst[comp + "Phase"], rst.get(comp + "NumberReady", 0),
                                 rst.get("desired%sNumberScheduled" % comp.capitalize(), 0))
            assert shown == want, (key, comp, shown, want)
        # the chart: the same numbers, and bars to scale
        bar = page.bars[key]
        text = " ".join(bar["text"].split())
        assert "%s of %s" % (states["cached"], states["cacheCapacity"]) in text
        assert "%s of %s data" % (states["cachedPercentage"], st["ufsTotal"]) in text
        assert int(bar["rects"]["capacity"]["data-bytes"]) == parse_bytes(states["cacheCapacity"])
        assert int(bar["rects"]["cached"]["data-bytes"]) == parse_bytes(states["cached"])
        caps[key] = (parse_bytes(states["cacheCapacity"]), float(bar["rects"]["capacity"]["width"]))
        pct = float(states["cachedPercentage"].rstrip("%"))
        assert abs(float(bar["rects"]["percent"]["width"]) - pct / 100 * BAR_W) < 0.2
        # nodes holding cache: the cells of this dataset are exactly Fluid's labelled nodes
        cells = [c for c in page.node_cells if c["data-dataset"] == key]
        assert len(cells) == len(api["cache_nodes"]) >= 1
    # one scale for every bar on the page: other tests' Datasets may be listed too
    biggest = max(int(b["rects"][r]["data-bytes"]) for b in page.bars.values() for r in ("capacity", "cached"))
    assert biggest >= max(c for c, _ in caps.values())
    for key, (cap, width) in caps.items():
        assert abs(width - cap * BAR_W / biggest) < 0.2, (key, cap, width)

    node_rows = [a["data-node"] for t, a in page.attrs_seen if t == "tr" and "data-node" in a]
    assert sorted(node_rows) == sorted(set(n for k in keys for n in snap[k]["cache_nodes"]))
    # the pods of cifar10: one Running, one Pending with the scheduler's reason
    api_pods = {p["metadata"]["name"]: p["status"]["phase"] for p in snap[keys[0]]["pods"]}
    shown = {p["name"]: p["phase"] for p in page.pods}
    assert shown == api_pods and sorted(shown.values()) == ["Pending", "Running"]
    pending = [p for p in page.pods if p["phase"] == "Pending"][0]
    assert any(s in pending["text"] for s in PV_AFFINITY), pending


def png_size(path):
    with open(path, "rb") as fh:
        head = fh.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


def test_browser_screenshot(report):
    path = report[0]
    shot = os.path.join(os.path.dirname(path), "fluid-status.png")
    r = chromium("--hide-scrollbars", "--window-size=1400,1000", "--screenshot=" + shot, "file://" + path)
    assert r.returncode == 0 and os.path.exists(shot), r.stderr[-2000:]
    assert png_size(shot) == (1400, 1000)
    # a rendered page with a table, bars and text compresses far worse than a blank one (~5 KB)
    assert os.path.getsize(shot) > 40000
    keep = os.environ.get("FLUID_STATUS_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)


def test_status_by_collection_name_keeps_a_summary_as_the_jobs_artifacts(env, kube, cluster, tmp_path):
    """cloudnative.fluid.status from the collection installed from its tarball (as in an execution environment),
    run from an empty folder: its templates are found, the set_stats summary (AWX's job artifacts) holds each
    Dataset as the API has it, and the HTML goes where status_report_file says."""
    bin_dir = os.path.join(ROOT, ".venv", "bin")
    r = subprocess.run([os.path.join(bin_dir, "ansible-galaxy"), "collection", "build", "--force", "--output-path",
                        str(tmp_path), ROOT], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    tarball = [f for f in os.listdir(str(tmp_path)) if f.endswith(".tar.gz")][0]
    r = subprocess.run([os.path.join(bin_dir, "ansible-galaxy"), "collection", "install", "--force", "--no-deps",
                        "--offline", "-p", str(tmp_path / "collections"), str(tmp_path / tarball)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    run_dir, keep = tmp_path / "job", tmp_path / "kept"
    run_dir.mkdir()
    keep.mkdir()
    html = str(keep / "fluid.html")
    e = dict(ansible_env(), ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"),
             ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_SHOW_CUSTOM_STATS="True")
    cmd = [os.path.join(bin_dir, "ansible-playbook"), "-i", os.path.join(ROOT, "tests", "integration", "observe_inventory.yml"),
           "cloudnative.fluid.status", "-e", json.dumps({"k8s_kubeconfig": cluster["kubeconfig"],
                                                          "status_report_file": html})]

    def status():
        p = subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=str(run_dir), timeout=600)
        assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
        return json.loads(p.stdout)

    out, snap = stable(kube, [env.ns_a, env.ns_b], status)
    assert str(tmp_path / "collections") in json.dumps(out["plays"][0]["play"]["path"])
    artifacts = out["global_custom_stats"]["fluid_status"]
    assert artifacts["report_file"] == html and os.path.getsize(html) > 0
    assert os.listdir(str(run_dir)) == []  # nothing left in the job's folder
    got = {"%s/%s" % (d["namespace"], d["name"]): d for d in artifacts["datasets"]}
    for key in ("%s/cifar10" % env.ns_a, "%s/spark" % env.ns_b):
        st = snap[key]["dataset"]["status"]
        d = got[key]
        assert (d["phase"], d["runtime"]) == ("Bound", "AlluxioRuntime/" + key.split("/")[1])
        assert (d["cached"], d["cache_capacity"], d["data"]) == (
            st["cacheStates"]["cached"], st["cacheStates"]["cacheCapacity"], st["ufsTotal"])
        assert d["cached_bytes"] == parse_bytes(st["cacheStates"]["cached"])
        assert d["cache_nodes"] == snap[key]["cache_nodes"]
        assert d["pods"] == len(snap[key]["pods"])
    assert got["%s/cifar10" % env.ns_a]["workers_ready"] == "1/2"
    assert key.split("/")[1] in open(html).read()
