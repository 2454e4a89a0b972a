"""Tests of the Alluxio CLI simulator (hack/cluster/alluxio_sim).

The simulator's output must parse with Fluid v1.0.8's real parsers.  The
parsers are ported below, line for line; each cites its source in
github.com/fluid-cloudnative/fluid@v1.0.8 (file:line).  The HTTP walker is
tested against Python's http.server on an ephemeral port, serving the
committed fixtures (hack/cluster/fixtures) and hand-made Apache-style pages.
"""

from __future__ import annotations

import functools
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIM_DIR = ROOT / "hack" / "cluster" / "alluxio_sim"
FIXTURES = ROOT / "hack" / "cluster" / "fixtures"
sys.path.insert(0, str(ROOT / "hack" / "cluster"))

from alluxio_sim import formats, simulator  # noqa: E402
from alluxio_sim.cluster import parse_quantity, runtime_tiers  # noqa: E402
from simlib import exec_watcher, kubeapi, ufs_walker  # noqa: E402

GiB = 1024 ** 3


# ---------------------------------------------------------------------------
# Fluid v1.0.8 parsers, ported
# ---------------------------------------------------------------------------

# pkg/utils/byte_size.go:48  sizeRegex = `^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$`
FLUID_SIZE_RE = re.compile(r"^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?\Z")
FLUID_BINARY_MAP = {"k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4, "p": 1024 ** 5, "e": 1024 ** 6}


def fluid_from_human_size(s: str) -> int:
    """pkg/utils/byte_size.go:65-86 FromHumanSize/parseSize (1024 multiplier)."""
    m = FLUID_SIZE_RE.match(s)
    if not m:
        raise ValueError("invalid size: %r" % s)
    size = float(m.group(1))
    prefix = (m.group(3) or "").lower()
    if prefix in FLUID_BINARY_MAP:
        size *= FLUID_BINARY_MAP[prefix]
    return int(size)


def fluid_bytes_size(size: float) -> str:
    """pkg/utils/byte_size.go:57 BytesSize -> go-units CustomSize("%.2f%s", size, 1024, binaryAbbrs)."""
    abbrs = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]
    i = 0
    while size >= 1024.0 and i < len(abbrs) - 1:
        size /= 1024.0
        i += 1
    return "%.2f%s" % (size, abbrs[i])


def go_units_ram_in_bytes(s: str) -> int:
    """github.com/docker/go-units@v0.5.0 size.go:91-152 parseSize with binaryMap (RAMInBytes)."""
    sep = max(s.rfind(c) for c in "01234567890. ")
    if sep == -1:
        raise ValueError(s)
    if s[sep] != " ":
        num, sfx = s[:sep + 1], s[sep + 1:]
    else:
        num, sfx = s[:sep], s[sep + 1:]
    size = float(num)
    if not sfx:
        return int(size)
    sfx = sfx.lower()
    if len(sfx) > 3:
        raise ValueError(sfx)
    if sfx[0] == "b":
        if len(sfx) > 1:
            raise ValueError(sfx)
        return int(size)
    size *= {"k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4, "p": 1024 ** 5}[sfx[0]]
    if (len(sfx) == 2 and sfx[1] != "b") or (len(sfx) == 3 and sfx[1:] != "ib"):
        raise ValueError(sfx)
    return int(size)


def go_trim(stdout: str) -> str:
    """pkg/utils/kubeclient/exec.go:156 strings.TrimSpace(stdout) (PreserveWhitespace=false)."""
    return stdout.strip()


def fluid_parse_report_summary(s: str) -> dict:
    """pkg/ddc/alluxio/report.go:37-59 parseReportSummary; prefixes from
    pkg/ddc/types/constants.go:20,22 ("Total Capacity: ", "Used Capacity: ")."""
    states = {}
    for line in s.split("\n"):
        line = line.strip()
        if line.startswith("Total Capacity: "):
            total = fluid_from_human_size(line[len("Total Capacity: "):])
            states["cacheCapacity"] = fluid_bytes_size(float(total))
        if line.startswith("Used Capacity: "):
            used = fluid_from_human_size(line[len("Used Capacity: "):])
            states["cached"] = fluid_bytes_size(float(used))
    return states


def fluid_patch_cached_percentage(cached: str, ufs_total: str) -> str:
    """pkg/ddc/alluxio/cache.go:91-96 patchDatasetStatus (cachedPercentageFormat "%.1f%%")."""
    used = fluid_from_human_size(cached)
    total = fluid_from_human_size(ufs_total)
    return "%.1f%%" % (float(used) / float(total) * 100.0)


def fluid_parse_report_metric(metrics: str) -> dict:
    """pkg/ddc/alluxio/report.go:69-105 ParseReportMetric; prefixes pkg/ddc/alluxio/const.go:26-36.
    FindStringSubmatch(str)[1] panics (IndexError here) when a prefixed line does not match."""
    counter = re.compile(r"\(Type:\sCOUNTER,\sValue:\s(.*)\)")
    gauge = re.compile(r"\(Type:\sGAUGE,\sValue:\s(.*)/MIN\)")
    out = {}
    for line in metrics.split("\n"):
        line = line.strip()
        for prefix, pattern in (
            ("Cluster.BytesReadLocal ", counter), ("Cluster.BytesReadRemote ", counter),
            ("Cluster.BytesReadUfsAll ", counter), ("Cluster.BytesReadLocalThroughput ", gauge),
            ("Cluster.BytesReadRemoteThroughput ", gauge), ("Cluster.BytesReadUfsThroughput ", gauge),
        ):
            if line.startswith(prefix):
                m = pattern.search(line)
                out[prefix.strip()] = fluid_from_human_size(m.group(1))  # m None -> AttributeError (Go: panic)
                break
    return out


def fluid_count(stdout: str):
    """pkg/ddc/alluxio/operations/base.go:348-382 Count: exactly 2 lines, 3 integer fields."""
    lines = go_trim(stdout).split("\n")
    assert len(lines) == 2, "failed to parse %s in Count method" % lines
    data = lines[1].split()
    assert len(data) == 3, "failed to parse %s in Count method" % data
    files, folders, total = (int(x) for x in data)
    assert files >= 0 and folders >= 0 and total >= 0
    return files, folders, total


def fluid_get_file_count(grep_output: str) -> int:
    """pkg/ddc/alluxio/operations/base.go:401-409 GetFileCount: drop commas, first \\d+."""
    no_comma = go_trim(grep_output).replace(",", "")
    return int(re.search(r"\d+", no_comma).group(0))


def fluid_mounted_paths(stdout: str):
    """pkg/ddc/alluxio/operations/base.go:314-319 GetMountedAlluxioPaths (and IsMounted, :287-296):
    every line's fields[2]; a line with < 3 fields panics in Go (IndexError here)."""
    return [line.split()[2] for line in go_trim(stdout).split("\n")]


def fluid_master_pod_name(stdout: str) -> str:
    """pkg/ddc/alluxio/operations/base.go:425-438 MasterPodName."""
    lines = go_trim(stdout).split("\n")
    data = lines[1].split()
    assert len(data) >= 2
    return data[2].split(":")[0]


def fluid_cached_state(stdout: str) -> int:
    """pkg/ddc/alluxio/operations/cached.go:40-60 CachedState: last field of 'Used Capacity:' via units.RAMInBytes."""
    found = None
    for line in go_trim(stdout).split("\n"):
        if "Used Capacity:" in line:
            found = go_units_ram_in_bytes(line.split()[-1])
    assert found is not None, "failed to find the cache in output"
    return found


def fluid_worker_used_capacity(report: str) -> dict:
    """pkg/ddc/alluxio/utils.go:303-326 GetWorkerUsedCapacity."""
    lines = go_trim(report).split("\n")
    start = -1
    for i, line in enumerate(lines):
        if line.startswith("Worker Name"):
            start = i + 1
            break
    if start == -1:
        raise ValueError("can't parse result form alluxio fsadmin report capacity")
    out = {}
    for idx in range(start, len(lines), 2):
        fields = lines[idx].split() + lines[idx + 1].split()  # lines[idx+1] IndexError == Go panic
        out[fields[0]] = fluid_from_human_size(fields[5])
    return out


def fluid_du(stdout: str):
    """pkg/ddc/alluxio/operations/base.go:498-523 Du: 2 lines, 4 fields."""
    lines = go_trim(stdout).split("\n")
    assert len(lines) == 2
    data = lines[1].split()
    assert len(data) == 4
    return int(data[0]), int(data[1]), data[2].lstrip("(").rstrip(")")


def mount_sh_mounted_dst(stdout: str):
    """charts/alluxio/templates/config/alluxio-mount-conf.yaml (mount.script):
    `alluxio fs mount | sed "s/\\s\\+/ /g" | cut -d " " -f 3 | grep -x -v "/"`."""
    out = []
    for line in stdout.rstrip("\n").split("\n"):
        squeezed = re.sub(r"\s+", " ", line)
        parts = squeezed.split(" ")
        field = parts[2] if len(parts) > 2 else ""
        if field != "/":
            out.append(field)
    return out


# ---------------------------------------------------------------------------
# Helpers: http.server on an ephemeral port, fake cluster, fake kube API
# ---------------------------------------------------------------------------

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def http_root(tmp_path_factory):
    """Serve a copy of the fixtures plus an Apache-style listing on 127.0.0.1:<ephemeral>."""
    root = tmp_path_factory.mktemp("www")
    for name in ("hadoop", "spark", "hbase"):
        shutil.copytree(FIXTURES / name, root / name)
    apache = root / "apache"
    (apache / "sub").mkdir(parents=True)
    (apache / "a.txt").write_bytes(b"x" * 1234)
    (apache / "sub" / "b.bin").write_bytes(b"y" * 4321)
    (apache / "index.html").write_text(
        "<html><head><title>Index of /apache</title></head><body><h1>Index of /apache</h1>"
        '<a href="?C=N;O=D">Name</a> <a href="?C=S;O=A">Size</a>'
        '<a href="/">Parent Directory</a> <a href="http://example.invalid/x/">elsewhere</a>'
        '<a href="a.txt">a.txt</a> <a href="sub/">sub/</a> <a href="a.txt#frag">dup</a>'
        "</body></html>")
    (root / "notalisting").mkdir()
    (root / "notalisting" / "index.html").write_text("<html><title>Welcome</title><a href='a'>a</a></html>")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def fixture_totals(name):
    files = [p for p in (FIXTURES / name).rglob("*") if p.is_file()]
    dirs = [p for p in (FIXTURES / name).rglob("*") if p.is_dir()]
    return len(files), len(dirs), sum(p.stat().st_size for p in files)


def _pod(name, ready=True, host="127.0.0.1", uid=None, labels=None):
    return {
        "metadata": {"name": name, "namespace": "default", "uid": uid or "uid-" + name, "labels": labels or {}},
        "spec": {"nodeName": "node-" + name},
        "status": {"hostIP": host, "startTime": "2024-05-01T10:00:00Z",
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def _runtime(uid="rt-uid-1", levels=None):
    return {
        "metadata": {"name": "cifar10", "namespace": "default", "uid": uid},
        "spec": {"replicas": 2, "tieredstore": {"levels": levels if levels is not None else [
            {"mediumtype": "MEM", "path": "/dev/shm", "quota": "2Gi", "high": "0.95", "low": "0.7"},
            {"mediumtype": "SSD", "path": "/var/lib/ssd", "quota": "10Gi", "high": "0.95", "low": "0.7"},
        ]}},
    }


def _mount_info(base):
    return "".join("/%s %s/%s/ --readonly\n" % (n, base, n) for n in ("hadoop", "spark", "hbase"))


class FakeCluster:
    """Same interface as alluxio_sim.cluster.ApiCluster, from plain dicts."""

    def __init__(self, base_url, workers=(True, False), mount_info="auto", runtime=None, dataloads=None,
                 java_opts=None):
        self.namespace, self.name, self.pod = "default", "cifar10", "cifar10-master-0"
        self._runtime = runtime if runtime is not None else _runtime()
        self.workers = [_pod("cifar10-worker-%d" % i, ready=r, host="192.168.0.%d" % (10 + i))
                        for i, r in enumerate(workers)]
        self._mount_info = _mount_info(base_url) if mount_info == "auto" else mount_info
        self.dataload_list = dataloads or []
        self.java_opts = java_opts if java_opts is not None else (
            "-Dalluxio.master.hostname=cifar10-master-0.default -Dalluxio.master.journal.type=UFS "
            "-Dalluxio.master.mount.table.root.ufs=/underFSStorage -Dalluxio.master.rpc.port=20000 "
            "-Dalluxio.master.web.port=20001 ")
        self.master_uid = "master-uid-1"

    def runtime(self):
        return self._runtime

    def worker_pods(self):
        return self.workers

    def alluxio_config(self):
        return {"ALLUXIO_JAVA_OPTS": self.java_opts,
                "ALLUXIO_MASTER_JAVA_OPTS": "-Dalluxio.master.hostname=${ALLUXIO_MASTER_HOSTNAME} "}

    def mount_info(self):
        return self._mount_info

    def master_pod(self):
        return _pod(self.pod, uid=self.master_uid)

    def master_pod_uid(self):
        return self.master_uid

    def dataloads(self):
        return self.dataload_list


def run_sim(cluster, state_dir, *argv):
    out, err = io.StringIO(), io.StringIO()
    code = simulator.run(list(argv), cluster, str(state_dir), out, err)
    return code, out.getvalue(), err.getvalue()


# ---------------------------------------------------------------------------
# Formats
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("n,expected", [
    (0, "0B"), (5120, "5120B"), (5121, "5.00KB"), (2 * GiB, "2048.00MB"), (12 * GiB, "12.00GB"),
    (24 * GiB, "24.00GB"), (6 * 1024 ** 4, "6.00TB"),
])
def test_alluxio_size_matches_formatutils(n, expected):
    assert formats.alluxio_size(n) == expected
    # and Fluid reads it back (binary units), e.g. 12.00GB -> 12GiB -> "12.00GiB"
    assert abs(fluid_from_human_size(expected) - n) <= 0.005 * n


@pytest.mark.parametrize("q,expected", [("2Gi", 2 * GiB), ("10Gi", 10 * GiB), ("500Mi", 500 * 2 ** 20),
                                        ("1G", 10 ** 9), ("1.5Gi", int(1.5 * GiB)), ("1073741824", GiB)])
def test_parse_quantity(q, expected):
    assert parse_quantity(q) == expected


def test_tiers_from_quota_and_quota_list():
    rt = _runtime(levels=[{"mediumtype": "SSD", "quotaList": "1Gi,3Gi"}, {"mediumtype": "MEM", "quota": "2Gi"}])
    assert runtime_tiers(rt) == [("MEM", 2 * GiB), ("SSD", 4 * GiB)]


# ---------------------------------------------------------------------------
# The status story against Fluid's parsers
# ---------------------------------------------------------------------------

def test_summary_capacity_follows_ready_workers(http_root, tmp_path):
    cluster = FakeCluster(http_root, workers=(True, False))
    code, out, err = run_sim(cluster, tmp_path, "fsadmin", "report", "summary")
    assert code == 0, err
    states = fluid_parse_report_summary(go_trim(out))
    assert states == {"cacheCapacity": "12.00GiB", "cached": "0.00B"}
    assert "    Live Workers: 1\n" in out
    assert "        Tier: MEM  Size: 2048.00MB\n" in out and "        Tier: SSD  Size: 10.00GB\n" in out
    # `alluxio fsadmin report` (Ready(), CachedState(), MasterPodName()) prints the same summary
    code, out2, _ = run_sim(cluster, tmp_path, "fsadmin", "report")
    assert code == 0
    assert fluid_cached_state(out2) == 0
    assert fluid_master_pod_name(out2) == "cifar10-master-0.default"

    cluster.workers[1]["status"]["conditions"][0]["status"] = "True"
    code, out, _ = run_sim(cluster, tmp_path, "fsadmin", "report", "summary")
    assert fluid_parse_report_summary(go_trim(out))["cacheCapacity"] == "24.00GiB"

    cluster.workers = []
    code, out, _ = run_sim(cluster, tmp_path, "fsadmin", "report", "summary")
    assert code == 0
    assert fluid_parse_report_summary(go_trim(out)) == {"cacheCapacity": "0.00B", "cached": "0.00B"}


def test_startup_mount_and_mount_table_parse(http_root, tmp_path):
    cluster = FakeCluster(http_root)
    code, out, err = run_sim(cluster, tmp_path, "fs", "mount")
    assert code == 0, err
    assert sorted(fluid_mounted_paths(out)) == ["/", "/hadoop", "/hbase", "/spark"]
    assert sorted(mount_sh_mounted_dst(out)) == ["/hadoop", "/hbase", "/spark"]
    assert "%s/hadoop/  on  /hadoop  (web, capacity=-1B, used=-1B, read-only, not shared" % http_root in out
    assert "/underFSStorage" in out
    # mount.sh reconciles with mount.info (Dataset.spec.mounts edited: hbase removed)
    cluster._mount_info = "".join(ln + "\n" for ln in _mount_info(http_root).splitlines() if "hbase" not in ln)
    assert run_sim(cluster, tmp_path, "__mount.sh__")[0] == 0
    code, out, _ = run_sim(cluster, tmp_path, "fs", "mount")
    assert sorted(fluid_mounted_paths(out)) == ["/", "/hadoop", "/spark"]


def test_mount_commands_without_configmap(http_root, tmp_path):
    cluster = FakeCluster(http_root, mount_info=None)
    code, out, _ = run_sim(cluster, tmp_path, "fs", "mount")
    assert fluid_mounted_paths(out) == ["/"]
    code, out, err = run_sim(cluster, tmp_path, "fs", "mount", "--readonly", "--option", "a=b",
                             "/spark", http_root + "/spark/")
    assert code == 0, err
    code, out, _ = run_sim(cluster, tmp_path, "fs", "mount")
    assert sorted(fluid_mounted_paths(out)) == ["/", "/spark"]
    assert "properties={a=b}" in out
    code, _, err = run_sim(cluster, tmp_path, "fs", "mount", "/spark", http_root + "/spark/")
    assert code == 1 and "already exists" in err
    code, _, err = run_sim(cluster, tmp_path, "fs", "mount", "/nope", http_root + "/does-not-exist/")
    assert code == 1 and "does not exist" in err
    assert run_sim(cluster, tmp_path, "fs", "unmount", "/spark")[0] == 0
    assert fluid_mounted_paths(run_sim(cluster, tmp_path, "fs", "mount")[1]) == ["/"]


def test_metadata_sync_gives_the_real_ufs_total(http_root, tmp_path):
    cluster = FakeCluster(http_root)
    # SyncMetadata order: pkg/ddc/alluxio/metadata.go:300 loadMetadata, :312 Count("/"), :319 metrics|grep
    code, _, err = run_sim(cluster, tmp_path, "fs", "loadMetadata", "-R", "/")
    assert code == 0, err
    code, out, err = run_sim(cluster, tmp_path, "fs", "count", "/")
    assert code == 0, err
    files, folders, total = fluid_count(out)
    want = [fixture_totals(n) for n in ("hadoop", "spark", "hbase")]
    assert total == sum(t for _, _, t in want)
    assert files == sum(f for f, _, _ in want)
    assert folders == 1 + 3 + sum(d for _, d, _ in want)  # "/", the 3 mount points, their subdirs
    assert fluid_bytes_size(float(total)) == "%.2fKiB" % (total / 1024.0)

    code, out, _ = run_sim(cluster, tmp_path, "fsadmin", "report", "metrics")
    grep = "\n".join(ln for ln in out.splitlines() if "Master.FilesCompleted" in ln)
    assert fluid_get_file_count(grep) == files
    parsed = fluid_parse_report_metric(out)
    assert parsed == {"Cluster.BytesReadLocal": 0, "Cluster.BytesReadRemote": 0, "Cluster.BytesReadUfsAll": 0,
                      "Cluster.BytesReadLocalThroughput": 0, "Cluster.BytesReadRemoteThroughput": 0,
                      "Cluster.BytesReadUfsThroughput": 0}

    code, out, _ = run_sim(cluster, tmp_path, "fs", "count", "/spark")
    assert fluid_count(out)[2] == fixture_totals("spark")[2]
    code, out, _ = run_sim(cluster, tmp_path, "fs", "du", "-s", "/")
    assert fluid_du(out) == (total, 0, "0%")
    code, out, err = run_sim(cluster, tmp_path, "fs", "-Dalluxio.user.file.metadata.sync.interval=0", "ls", "-R",
                             "/hbase")
    assert code == 0 and "/hbase/stable/release notes 2.5.8.txt" in out
    code, out, err = run_sim(cluster, tmp_path, "fs", "ls", "/nope")
    assert code != 0 and "does not exist" in (out + err).splitlines()[-1]


def test_getconf(http_root, tmp_path):
    cluster = FakeCluster(http_root)
    code, out, _ = run_sim(cluster, tmp_path, "getConf", "alluxio.underfs.version")
    # pkg/ddc/alluxio/hcfs.go:82 -> HCFSStatus.UnderlayerFileSystemVersion = TrimSpace(stdout)
    assert code == 0 and go_trim(out) == "3.3.1"
    assert go_trim(run_sim(cluster, tmp_path, "getConf", "alluxio.master.rpc.port")[1]) == "20000"
    code, _, err = run_sim(cluster, tmp_path, "getConf", "alluxio.no.such.key")
    assert code == 1 and "not a valid configuration key" in err


def test_dataload_moves_used_capacity_and_free_clears_it(http_root, tmp_path):
    spark_bytes = fixture_totals("spark")[2]
    cluster = FakeCluster(http_root, workers=(True, True))
    run_sim(cluster, tmp_path, "fs", "loadMetadata", "-R", "/")
    total = fluid_count(run_sim(cluster, tmp_path, "fs", "count", "/")[1])[2]
    ufs_total = fluid_bytes_size(float(total))
    dl = {"metadata": {"name": "spark-load", "namespace": "default", "uid": "dl-1"},
          "spec": {"dataset": {"name": "cifar10", "namespace": "default"},
                   "target": [{"path": "/spark", "replicas": 1}]},
          "status": {"phase": "Executing"}}
    cluster.dataload_list = [dl]
    out = run_sim(cluster, tmp_path, "fsadmin", "report", "summary")[1]
    assert fluid_parse_report_summary(go_trim(out))["cached"] == "0.00B"
    dl["status"]["phase"] = "Complete"
    out = run_sim(cluster, tmp_path, "fsadmin", "report", "summary")[1]
    states = fluid_parse_report_summary(go_trim(out))
    assert abs(fluid_from_human_size(states["cached"]) - spark_bytes) < 0.01 * spark_bytes
    pct = fluid_patch_cached_percentage(states["cached"], ufs_total)
    assert 0 < float(pct.rstrip("%")) < 100
    # Applied once: a second report does not double it
    out2 = run_sim(cluster, tmp_path, "fsadmin", "report", "summary")[1]
    assert fluid_parse_report_summary(go_trim(out2))["cached"] == states["cached"]
    metrics = fluid_parse_report_metric(run_sim(cluster, tmp_path, "fsadmin", "report", "metrics")[1])
    assert metrics["Cluster.BytesReadUfsAll"] > 0 and metrics["Cluster.BytesReadLocal"] == 0
    # per-worker capacity report parses (single line pairs after "Worker Name")
    cap = run_sim(cluster, tmp_path, "fsadmin", "report", "capacity")[1]
    assert set(fluid_worker_used_capacity(cap)) == {"192.168.0.10", "192.168.0.11"}
    du = fluid_du(run_sim(cluster, tmp_path, "fs", "du", "-s", "/spark")[1])
    assert du == (spark_bytes, spark_bytes, "100%")
    # Shutdown: pkg/ddc/alluxio/cache.go:215-220 `timeout <N> alluxio fs free -f /`, then re-check
    code, out, _ = run_sim(cluster, tmp_path, "fs", "free", "-f", "/")
    assert code == 0
    out = run_sim(cluster, tmp_path, "fsadmin", "report", "summary")[1]
    assert fluid_parse_report_summary(go_trim(out))["cached"] == "0.00B"


def test_replicas_and_capacity_cap(http_root, tmp_path):
    runtime = _runtime(levels=[{"mediumtype": "MEM", "quota": "100Ki"}])
    cluster = FakeCluster(http_root, workers=(True, True), runtime=runtime)
    code, out, err = run_sim(cluster, tmp_path, "fs", "distributedLoad", "--replication", "2", "/hbase")
    assert code == 0, err
    hbase = fixture_totals("hbase")[2]
    out = run_sim(cluster, tmp_path, "fsadmin", "report", "summary")[1]
    used = fluid_from_human_size(fluid_parse_report_summary(go_trim(out))["cached"])
    assert abs(used - 2 * hbase) <= 1024  # 2 replicas on 2 workers, < 200KiB capacity
    simulator_loaded = run_sim(cluster, tmp_path, "fs", "load", "/")[0]
    assert simulator_loaded == 0
    out = run_sim(cluster, tmp_path, "fsadmin", "report", "summary")[1]
    states = fluid_parse_report_summary(go_trim(out))
    assert states["cached"] == states["cacheCapacity"] == "200.00KiB"  # capped at capacity
    cap = run_sim(cluster, tmp_path, "fsadmin", "report", "capacity")[1]
    assert fluid_worker_used_capacity(cap) == {"192.168.0.10": 100 * 1024, "192.168.0.11": 100 * 1024}


def test_multi_tier_capacity_report_keeps_line_pairs(http_root, tmp_path):
    cluster = FakeCluster(http_root, workers=(True, True, False))
    cap = run_sim(cluster, tmp_path, "fsadmin", "report", "capacity")[1]
    lines = go_trim(cap).split("\n")
    header = [i for i, ln in enumerate(lines) if ln.startswith("Worker Name")][0]
    assert lines[header].split()[:6] == ["Worker", "Name", "Last", "Heartbeat", "Storage", "Total"]
    assert (len(lines) - header - 1) == 2 * 2
    fluid_worker_used_capacity(cap)  # must not raise (Go would panic on an odd tail)


def test_state_resets_when_runtime_is_recreated(http_root, tmp_path):
    cluster = FakeCluster(http_root, workers=(True,))
    run_sim(cluster, tmp_path, "fs", "load", "/spark")
    used = fluid_parse_report_summary(go_trim(run_sim(cluster, tmp_path, "fsadmin", "report")[1]))["cached"]
    assert used != "0.00B"
    cluster._runtime = _runtime(uid="rt-uid-2")
    used = fluid_parse_report_summary(go_trim(run_sim(cluster, tmp_path, "fsadmin", "report")[1]))["cached"]
    assert used == "0.00B"


def test_unlistable_ufs_fails_loudly(http_root, tmp_path):
    cluster = FakeCluster(http_root, mount_info="/gone %s/not-there/\n" % http_root)
    code, _, err = run_sim(cluster, tmp_path, "fs", "count", "/")
    assert code == 0  # startup mount.sh failed (reported), the namespace is just "/"
    assert "mount.sh (startup)" in err


# ---------------------------------------------------------------------------
# HTTP walker
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["hadoop", "spark", "hbase"])
def test_walker_matches_fixture_tree(http_root, name):
    listing = ufs_walker.walk("%s/%s" % (http_root, name))  # no trailing slash: follows the 301
    files, dirs, total = fixture_totals(name)
    assert listing.is_dir and len(listing.files) == files and len(listing.dirs) == dirs
    assert listing.total_bytes == total
    for rel, (size, _) in listing.files.items():
        assert (FIXTURES / name / rel).stat().st_size == size


def test_walker_unquotes_names(http_root):
    listing = ufs_walker.walk(http_root + "/hbase/")
    assert "stable/release notes 2.5.8.txt" in listing.files


def test_walker_ignores_sort_parent_and_foreign_links(http_root):
    listing = ufs_walker.walk(http_root + "/apache/")
    assert listing.files == {"a.txt": (1234, listing.files["a.txt"][1]),
                             "sub/b.bin": (4321, listing.files["sub/b.bin"][1])}
    assert listing.dirs == ["sub"]


def test_walker_single_file_and_errors(http_root):
    listing = ufs_walker.walk(http_root + "/hadoop/README.txt")
    assert not listing.is_dir and listing.files[""][0] == (FIXTURES / "hadoop" / "README.txt").stat().st_size
    # An HTML page that is not a directory index counts as a file, like Alluxio's web UFS
    assert not ufs_walker.walk(http_root + "/notalisting/").is_dir
    with pytest.raises(ufs_walker.UfsError):
        ufs_walker.walk(http_root + "/missing/")
    with pytest.raises(ufs_walker.UfsError):
        ufs_walker.walk("s3://bucket/path")


def test_http_server_head_has_content_length(http_root):
    import urllib.request
    req = urllib.request.Request(http_root + "/spark/README.md", method="HEAD")
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert int(resp.headers["Content-Length"]) == (FIXTURES / "spark" / "README.md").stat().st_size


def test_fixtures_are_small_and_reproducible(tmp_path):
    total = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
    assert total < 2 * 1024 * 1024
    for name in ("hadoop", "spark", "hbase"):
        assert not list((FIXTURES / name).rglob("index.html")), "index.html would hide the listing"
    copy = tmp_path / "fx"
    copy.mkdir()
    shutil.copy(FIXTURES / "make_fixtures.py", copy)
    subprocess.run([sys.executable, str(copy / "make_fixtures.py")], check=True)
    for name in ("hadoop", "spark", "hbase"):
        for p in (FIXTURES / name).rglob("*"):
            if p.is_file():
                assert (copy / p.relative_to(FIXTURES)).read_bytes() == p.read_bytes(), p


# ---------------------------------------------------------------------------
# kubeconfig reader
# ---------------------------------------------------------------------------

KUBECONFIG_YAML = """\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: QUJD
    server: https://127.0.0.1:6443
  name: embedded
contexts:
- context:
    cluster: embedded
    namespace: fluid-system
    user: admin
  name: embedded
current-context: embedded
kind: Config
preferences: {}
users:
- name: admin
  user:
    client-certificate: certs/admin.crt  # relative to the kubeconfig
    client-key: "/abs/admin.key"
    token: 'it''s'
"""


def test_block_yaml_reader_matches_yaml():
    parsed = kubeapi.parse_block_yaml(KUBECONFIG_YAML)
    assert parsed["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert parsed["users"][0]["user"] == {
        "client-certificate": "certs/admin.crt", "client-key": "/abs/admin.key", "token": "it's"}
    assert parsed["preferences"] == {}
    yaml = pytest.importorskip("yaml")
    assert parsed == yaml.safe_load(KUBECONFIG_YAML)


def test_kubeconfig_paths(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG_YAML)
    cfg = kubeapi.KubeConfig(str(path))
    assert cfg.server == "https://127.0.0.1:6443" and cfg.namespace == "fluid-system"
    assert cfg.cert_file == str(tmp_path / "certs" / "admin.crt") and cfg.key_file == "/abs/admin.key"


# ---------------------------------------------------------------------------
# End to end: bin/alluxio and the exec watcher against a fake API server
# ---------------------------------------------------------------------------

class FakeApi:
    """In-memory kube API (plain HTTP): GET/list (labelSelector), POST, PUT, DELETE."""

    def __init__(self):
        self.objects = {}
        self.lock = threading.Lock()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, code, obj):
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(n)) if n else None

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(url.query)
                with api.lock:
                    if url.path in api.objects:
                        return self._send(200, api.objects[url.path])
                    items = api.list(url.path, (q.get("labelSelector") or [""])[0])
                if items is None:
                    return self._send(404, {"kind": "Status", "code": 404})
                return self._send(200, {"kind": "List", "items": items})

            def do_POST(self):
                obj = self._body()
                with api.lock:
                    api.objects[self.path + "/" + obj["metadata"]["name"]] = obj
                self._send(201, obj)

            def do_PUT(self):
                obj = self._body()
                with api.lock:
                    api.objects[self.path] = obj
                self._send(200, obj)

            def do_DELETE(self):
                with api.lock:
                    found = api.objects.pop(self.path, None)
                self._send(200 if found else 404, {"kind": "Status"})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def list(self, path, selector):
        """Collection GET: namespaced (/.../namespaces/ns/res) or cluster-wide (/.../res)."""
        want = dict(kv.split("=", 1) for kv in selector.split(",") if kv)
        out, known = [], False
        for key, obj in self.objects.items():
            parent, _, _ = key.rpartition("/")
            m = re.match(r"^(.*)/namespaces/[^/]+/([^/]+)$", parent)
            cluster_wide = m and (m.group(1) + "/" + m.group(2)) == path
            if parent == path or cluster_wide:
                known = True
                labels = obj["metadata"].get("labels") or {}
                if all(labels.get(k) == v for k, v in want.items()):
                    out.append(obj)
        if not known and not path.endswith(("/pods", "/execs", "/dataloads")):
            return None
        return out

    def put(self, path, obj):
        self.objects[path] = obj

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_api(tmp_path, http_root):
    api = FakeApi()
    ns = "/api/v1/namespaces/default"
    api.put("/apis/data.fluid.io/v1alpha1/namespaces/default/alluxioruntimes/cifar10", _runtime())
    api.put(ns + "/pods/cifar10-master-0",
            _pod("cifar10-master-0", uid="m-uid", labels={"role": "alluxio-master", "release": "cifar10"}))
    for i in range(2):
        api.put(ns + "/pods/cifar10-worker-%d" % i,
                _pod("cifar10-worker-%d" % i, host="10.0.0.%d" % i,
                     labels={"role": "alluxio-worker", "release": "cifar10", "app": "alluxio"}))
    api.put(ns + "/configmaps/cifar10-config", {"metadata": {"name": "cifar10-config"}, "data": {
        "ALLUXIO_JAVA_OPTS": "-Dalluxio.master.hostname=cifar10-master-0.default -Dalluxio.master.rpc.port=20000"}})
    api.put(ns + "/configmaps/cifar10-mount-config", {"metadata": {"name": "cifar10-mount-config"},
                                                      "data": {"mount.info": _mount_info(http_root)}})
    kubeconfig = tmp_path / "kubeconfig.json"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": api.url}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "t"}}]}))
    yield api, str(kubeconfig)
    api.close()


def test_bin_alluxio_end_to_end_through_shell_wrappers(fake_api, tmp_path):
    api, kubeconfig = fake_api
    state = tmp_path / "state"
    env = dict(os.environ, KUBECONFIG=kubeconfig, ALLUXIO_SIM_STATE_DIR=str(state),
               ALLUXIO_SIM_NAMESPACE="default", ALLUXIO_SIM_RUNTIME="cifar10",
               PATH=str(SIM_DIR / "bin") + os.pathsep + os.environ["PATH"])

    def sh(argv):
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)

    r = sh(["alluxio", "fsadmin", "report", "summary"])
    assert r.returncode == 0, r.stderr
    assert fluid_parse_report_summary(go_trim(r.stdout))["cacheCapacity"] == "24.00GiB"
    assert sh(["alluxio", "fs", "loadMetadata", "-R", "/"]).returncode == 0
    total = fluid_count(sh(["alluxio", "fs", "count", "/"]).stdout)[2]
    assert total == sum(fixture_totals(n)[2] for n in ("hadoop", "spark", "hbase"))
    # pkg/ddc/alluxio/operations/base.go:388-390: bash -c "alluxio fsadmin report metrics | grep Master.FilesCompleted"
    r = sh(["bash", "-c", "alluxio fsadmin report metrics | grep Master.FilesCompleted"])
    assert r.returncode == 0 and fluid_get_file_count(r.stdout) == 15
    # pkg/ddc/alluxio/operations/cached.go:67-74: timeout <N> alluxio fs free -f /
    assert sh(["timeout", "60", "alluxio", "fs", "free", "-f", "/"]).returncode == 0
    assert sh(["alluxio", "fs", "bogus"]).returncode == 1
    log = [json.loads(ln) for ln in (state / "invocations.log").read_text().splitlines()]
    assert log[0]["argv"] == ["fsadmin", "report", "summary"] and log[0]["rc"] == 0
    assert log[-1]["rc"] == 1
    # Without identity the simulator refuses, saying why
    env.pop("ALLUXIO_SIM_RUNTIME")
    r = sh(["alluxio", "fsadmin", "report"])
    assert r.returncode == 2 and "exec_watcher" in r.stderr


def test_exec_watcher_creates_updates_and_deletes(fake_api, tmp_path):
    api, kubeconfig = fake_api
    client = kubeapi.KubeClient(kubeapi.KubeConfig(kubeconfig))
    logs = []
    exec_watcher.reconcile(client, str(tmp_path), kubeconfig, log=logs.append)
    path = "/apis/kwok.x-k8s.io/v1alpha1/namespaces/default/execs/cifar10-master-0"
    ex = api.objects[path]
    target = ex["spec"]["execs"][0]
    env = {e["name"]: e["value"] for e in target["local"]["envs"]}
    assert target["containers"] == ["alluxio-master", "alluxio-job-master"]
    assert env["ALLUXIO_SIM_NAMESPACE"] == "default" and env["ALLUXIO_SIM_RUNTIME"] == "cifar10"
    assert env["ALLUXIO_SIM_POD_UID"] == "m-uid" and env["KUBECONFIG"] == kubeconfig
    assert env["PATH"].split(os.pathsep)[0] == str(SIM_DIR / "bin")
    assert ex["metadata"]["ownerReferences"][0]["uid"] == "m-uid"
    # Pod recreated under the same name: the Exec follows the new UID
    api.objects["/api/v1/namespaces/default/pods/cifar10-master-0"]["metadata"]["uid"] = "m-uid-2"
    api.objects[path]["metadata"]["resourceVersion"] = "7"
    exec_watcher.reconcile(client, str(tmp_path), kubeconfig, log=logs.append)
    assert api.objects[path]["metadata"]["ownerReferences"][0]["uid"] == "m-uid-2"
    # Pod gone: the managed Exec goes too
    del api.objects["/api/v1/namespaces/default/pods/cifar10-master-0"]
    exec_watcher.reconcile(client, str(tmp_path), kubeconfig, log=logs.append)
    assert path not in api.objects
    assert [msg.split()[0] for msg in logs] == ["created", "updated", "deleted"]
