"""The JuiceFS simulator of the embedded cluster (hack/cluster/juicefs_sim): each answer parsed the
way Fluid v1.0.8's juicefsruntime-controller parses it (pkg/ddc/juicefs/operations/base.go,
report.go, shutdown.go), and the shims' pass-through for pods the simulator does not answer for."""
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "hack" / "cluster"))

from juicefs_sim import simulator as S  # noqa: E402
from simlib import exec_watcher, ufs_walker  # noqa: E402

MNT = "/runtime-mnt/juicefs/ns1/jfs/juicefs-fuse"
FILES = {"a.txt": 100, "dir/b.bin": 2048, "dir/sub/c": 7}


class FakeVolume(S.Volume):
    def __init__(self, dataset, files=None, unreadable=False):
        super().__init__("ns1", "jfs", client=object(), walker=self._walk)
        self._dataset, self.urls = dataset, []
        self._files = None if unreadable else dict(FILES if files is None else files)

    def _walk(self, url):
        self.urls.append(url)
        if self._files is None:
            raise ufs_walker.UfsError("unreachable")
        return ufs_walker.Listing(url=url, files={p: (s, 0) for p, s in self._files.items()})


def dataset(mount_point="juicefs:///", bucket="http://127.0.0.1:1/hbase/"):
    return {"metadata": {"uid": "u-1"}, "spec": {"mounts": [
        {"name": "minio", "mountPoint": mount_point, "options": {"storage": "minio", "bucket": bucket}}]}}


def run(prog, argv, vol=None, role="worker", state=None):
    out, err = io.StringIO(), io.StringIO()
    state = {} if state is None else state
    try:
        code = S.run(prog, argv, vol or FakeVolume(dataset()), role, state, out, err)
    except S.CliError as exc:
        return exc.code, out.getvalue(), str(exc)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def mount_root(monkeypatch):
    monkeypatch.setenv("MOUNT_ROOT", "/runtime-mnt")


def test_df_used_space_as_fluid_parses_it():
    code, out, _err = run("df", ["--block-size=1"])
    assert code == 0
    # GetUsedSpace: the first line containing the mount path, exactly 6 fields, Used = fields[2]
    line = next(x for x in out.split("\n") if MNT in x)
    fields = line.split()
    assert len(fields) == 6 and int(fields[2]) == sum(FILES.values())


def test_file_count_through_ls_lr_like_fluids_pipeline():
    code, out, _err = run("ls", ["-lR", MNT])
    assert code == 0
    # GetFileCount: bash -c "ls -lR <path> |grep ^- |wc -l"
    assert sum(1 for line in out.splitlines() if line.startswith("-")) == len(FILES)
    assert out.startswith(MNT + ":")


def test_subdir_of_the_mount_point_is_walked_below_the_bucket():
    vol = FakeVolume(dataset(mount_point="juicefs:///train", bucket="http://h:1/data"))
    run("df", ["--block-size=1"], vol)
    assert vol.urls == ["http://h:1/data/train/"]


def test_volume_without_an_http_bucket_is_empty():
    vol = FakeVolume(dataset(bucket="s3://bucket"))
    line = next(x for x in run("df", ["--block-size=1"], vol)[1].split("\n") if MNT in x)
    assert line.split()[2] == "0" and vol.urls == []
    assert run("ls", ["-lR", MNT], FakeVolume(dataset(), unreadable=True))[1].count("\n-") == 0


def test_stats_only_in_fuse_pods_with_community_keys():
    code, out, _err = run("cat", [MNT + "/.stats"], role="fuse")
    assert code == 0
    # report.go parseMetric: regexp ([^:\s]*):?\s?(.*) per line
    parsed = dict(re.match(r"([^:\s]*):?\s?(.*)", line).groups() for line in out.splitlines())
    assert set(parsed) == set(S.COUNTERS) and all(v == "0" for v in parsed.values())
    assert run("cat", [MNT + "/.stats"], role="worker")[0] == 1
    assert run("cat", ["/etc/passwd"], role="fuse")[0] == 1


def test_status_uuid_and_cache_cleanup():
    code, out, _err = run("juicefs", ["status"])
    # shutdown.go getUUID: regexp "UUID": "(.*)"
    uuid = re.search(r'"UUID": "(.*)"', out).group(1)
    assert code == 0 and uuid == FakeVolume(dataset()).uuid()
    state = {}
    chunks = "/dev/shm/%s/raw/chunks" % uuid
    assert run("rm", ["-rf", chunks], state=state)[0] == 0
    assert state["cleaned_cache_dirs"] == [chunks]
    # only what DeleteCacheDirs sends is accepted: nothing else is ever removed
    assert run("rm", ["-rf", "/"])[0] == 1


def test_paths_outside_the_mount_are_refused():
    assert run("ls", ["-lR", "/etc"])[0] == 2
    assert run("ls", ["-lR", MNT + "/nope"])[0] == 2


def test_shims_pass_through_without_a_juicefs_identity(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUICEFS_SIM_")}
    env["PATH"] = str(ROOT / "hack" / "cluster" / "juicefs_sim" / "bin") + os.pathsep + env["PATH"]
    (tmp_path / "f").write_text("hello\n")
    r = subprocess.run(["cat", str(tmp_path / "f")], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert r.returncode == 0 and r.stdout == "hello\n"
    r = subprocess.run(["bash", "-c", "ls %s | wc -l" % tmp_path], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert r.stdout.strip() == "1"


def test_exec_watcher_targets_juicefs_worker_and_fuse_pods(tmp_path):
    pod = {"metadata": {"name": "jfs-fuse-x2k9q", "namespace": "ns1", "uid": "p-1",
                        "labels": {"role": "juicefs-fuse", "release": "jfs"}}}
    fuse = [t for t in exec_watcher.TARGETS if t.selector == "role=juicefs-fuse"][0]
    ex = exec_watcher.desired_exec(pod, str(tmp_path), "/k", fuse)
    env = {e["name"]: e["value"] for e in ex["spec"]["execs"][0]["local"]["envs"]}
    assert ex["spec"]["execs"][0]["containers"] == ["juicefs-fuse"]
    assert env["JUICEFS_SIM_RUNTIME"] == "jfs" and env["JUICEFS_SIM_ROLE"] == "fuse"
    assert env["JUICEFS_SIM_STATE_DIR"] == str(tmp_path / "juicefs-sim")
    assert env["PATH"].split(os.pathsep)[0].endswith("juicefs_sim/bin")
    del pod["metadata"]["labels"]["release"]
    assert fuse.runtime_of(pod) == "jfs"
