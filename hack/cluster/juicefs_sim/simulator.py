"""JuiceFS (community edition) simulator: answers what Fluid v1.0.8's juicefsruntime-controller
execs into JuiceFS worker and FUSE pods of the embedded cluster, from real cluster state.

Every command, where Fluid execs it and how Fluid parses the answer, is in ../juicefs_sim/README.md.
The shims in bin/ (cat, df, ls, rm, mkdir, juicefs) run this module when the exec carries the
identity that simlib/exec_watcher.py puts into the pod's KWOK Exec (JUICEFS_SIM_NAMESPACE,
_RUNTIME, _POD, _ROLE, _STATE_DIR); any other exec passes through to the real command.

The volume: JuiceFS keeps files in its own volume (metadata engine + object storage), which does
not exist here. The simulated volume holds the files found below the Dataset's
``mounts[0].options.bucket`` when that is an http(s) URL the embedded cluster's fixtures server
(or any HTTP directory listing) serves, with ``mounts[0].mountPoint``'s sub-directory
(``juicefs:///<subdir>``) below it; otherwise it is empty. Nothing is cached: the block-cache
counters are 0.
"""
from __future__ import annotations

import io
import json
import os
import posixpath
import sys
import time
import traceback
import uuid as uuidlib
from typing import Any, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
from simlib import common, ufs_walker  # noqa: E402
from simlib.common import CliError  # noqa: E402
from simlib.kubeapi import KubeClient, KubeError, NotFound, group_path  # noqa: E402

BIN = os.path.join(os.path.dirname(os.path.realpath(__file__)), "bin")
ENV = "JUICEFS_SIM_"
STATE_VERSION = 1
# what `df` reports as the size of a JuiceFS mount (juicefs reports 1 PiB unless a quota is set)
VOLUME_SIZE = 1 << 50
COUNTERS = ("juicefs_blockcache_bytes", "juicefs_blockcache_hits", "juicefs_blockcache_miss",
            "juicefs_blockcache_hit_bytes", "juicefs_blockcache_miss_bytes")


class Volume:
    """The JuiceFS volume of one runtime, read from its Dataset (same namespace/name)."""

    def __init__(self, namespace: str, runtime: str, client: Optional[KubeClient] = None, walker=None):
        self.namespace, self.name = namespace, runtime
        self.client = client or KubeClient()
        self.walker = walker or ufs_walker.walk
        self._dataset = None

    @property
    def dataset(self) -> Dict[str, Any]:
        if self._dataset is None:
            try:
                self._dataset = self.client.get(group_path("data.fluid.io", "v1alpha1", self.namespace, "datasets",
                                                           self.name))
            except NotFound:
                raise CliError("juicefs: volume of %s/%s not found (no Dataset)" % (self.namespace, self.name))
        return self._dataset

    @property
    def mount(self) -> Dict[str, Any]:
        mounts = (self.dataset.get("spec") or {}).get("mounts") or []
        if not mounts:
            raise CliError("juicefs: Dataset %s/%s has no mount" % (self.namespace, self.name))
        return mounts[0]

    @property
    def volume_name(self) -> str:
        return self.mount.get("name") or self.name

    @property
    def subdir(self) -> str:
        point = self.mount.get("mountPoint") or ""
        return point[len("juicefs://"):].strip("/") if point.startswith("juicefs://") else ""

    def files(self) -> Dict[str, int]:
        """relative path below the mount -> size; {} for a volume with no readable bucket."""
        bucket = ((self.mount.get("options") or {}).get("bucket") or "").strip()
        if not bucket.lower().startswith(("http://", "https://")):
            return {}
        url = bucket.rstrip("/") + "/" + (self.subdir + "/" if self.subdir else "")
        try:
            listing = self.walker(url)
        except ufs_walker.UfsError:
            return {}
        return {path: size for path, (size, _mtime) in listing.files.items()}

    def uuid(self) -> str:
        """The volume's UUID, fixed at `juicefs format`: derived from the Dataset's uid."""
        return str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, "juicefs-sim:" + self.dataset["metadata"].get("uid", "")))


def mount_path(namespace: str, runtime: str) -> str:
    """pkg/ddc/juicefs/utils.go getMountPoint: $MOUNT_ROOT/juicefs/<ns>/<name>/juicefs-fuse."""
    root = os.environ.get("MOUNT_ROOT") or "/runtime-mnt"
    return "%s/juicefs/%s/%s/juicefs-fuse" % (root.rstrip("/"), namespace, runtime)


def under_mount(path: str, mnt: str) -> Optional[str]:
    """Relative path inside the mount, or None when `path` is outside it."""
    p = posixpath.normpath(path)
    if p == mnt:
        return ""
    if p.startswith(mnt + "/"):
        return p[len(mnt) + 1:]
    return None


def ls_lr(files: Dict[str, int], rel: str, root: str) -> str:
    """`ls -lR <root>` of the volume below rel: GNU ls layout, a `-` line per file."""
    prefix = rel + "/" if rel else ""
    below = {p[len(prefix):]: s for p, s in files.items() if p.startswith(prefix)}
    dirs: Dict[str, List[str]] = {"": []}
    for path in below:
        parts = path.split("/")
        for i in range(1, len(parts)):
            dirs.setdefault("/".join(parts[:i]), [])
    out = []
    for d in sorted(dirs):
        entries = []
        for sub in sorted(x for x in dirs if x and posixpath.dirname(x) == d):
            entries.append("drwxr-xr-x 2 root root 4096 Jan  1 00:00 %s" % posixpath.basename(sub))
        for path in sorted(p for p in below if posixpath.dirname(p) == d):
            entries.append("-rw-r--r-- 1 root root %d Jan  1 00:00 %s" % (below[path], posixpath.basename(path)))
        out.append("%s:" % (posixpath.join(root, d) if d else root))
        out.append("total %d" % len(entries))
        out.extend(entries)
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def run(prog: str, argv: List[str], volume: Volume, role: str, state: Dict[str, Any], out, err) -> int:
    mnt = mount_path(volume.namespace, volume.name)
    if prog == "df":
        # pkg/ddc/juicefs/operations/base.go GetUsedSpace: `df --block-size=1`, the line holding the mount
        used = sum(volume.files().values())
        out.write("Filesystem 1B-blocks Used Available Use% Mounted on\n")
        out.write("overlay 107374182400 1073741824 106300440576 1% /\n")
        out.write("JuiceFS:%s %d %d %d %d%% %s\n" % (volume.volume_name, VOLUME_SIZE, used, VOLUME_SIZE - used,
                                                   (used * 100 + VOLUME_SIZE - 1) // VOLUME_SIZE, mnt))
        return 0
    if prog == "ls":
        flags = [a for a in argv if a.startswith("-")]
        paths = [a for a in argv if not a.startswith("-")] or ["."]
        rel = under_mount(paths[0], mnt)
        if rel is None:
            raise CliError("ls: cannot access '%s': No such file or directory" % paths[0], 2)
        files = volume.files()
        if rel and rel not in files and not any(p.startswith(rel + "/") for p in files):
            raise CliError("ls: cannot access '%s': No such file or directory" % paths[0], 2)
        if "-lR" in flags or ("-R" in flags and "-l" in flags):
            out.write(ls_lr(files, rel, paths[0]))
        else:
            prefix = rel + "/" if rel else ""
            names = sorted({p[len(prefix):].split("/")[0] for p in files if p.startswith(prefix)})
            out.write("".join(n + "\n" for n in names))
        return 0
    if prog == "cat":
        if len(argv) != 1 or under_mount(argv[0], mnt) != ".stats":
            raise CliError("cat: %s: No such file or directory" % " ".join(argv))
        if role != "fuse":
            raise CliError("cat: %s: No such file or directory (no FUSE mount in a worker pod)" % argv[0])
        # pkg/ddc/juicefs/report.go parseMetric: `<key> <value>` lines, community edition keys
        for key in COUNTERS:
            out.write("%s %d\n" % (key, state.get("counters", {}).get(key, 0)))
        return 0
    if prog == "juicefs":
        if not argv or argv[0] != "status":
            raise CliError("juicefs (simulator): only `juicefs status META-URL` is simulated")
        # pkg/ddc/juicefs/shutdown.go getUUID: regexp `"UUID": "(.*)"` over this output
        out.write(json.dumps({"Setting": {"Name": volume.volume_name, "UUID": volume.uuid(), "Storage": "minio",
                                          "BlockSize": 4096, "Compression": "none", "TrashDays": 1,
                                          "MetaVersion": 1},
                              "Sessions": []}, indent=2) + "\n")
        return 0
    if prog == "rm":
        dirs = [a for a in argv if not a.startswith("-")]
        # pkg/ddc/juicefs/operations/base.go DeleteCacheDirs: only <cacheDir>/<uuid>/raw/chunks
        bad = [d for d in dirs if not d.endswith("raw/chunks")]
        if bad:
            raise CliError("rm (simulator): refusing %s: only JuiceFS cache chunk folders are removed" % bad)
        state.setdefault("cleaned_cache_dirs", []).extend(dirs)
        state.setdefault("counters", {})["juicefs_blockcache_bytes"] = 0
        return 0
    if prog == "mkdir":
        rel = under_mount(argv[-1] if argv else "", mnt)
        if rel is None:
            raise CliError("mkdir: cannot create directory '%s': No such file or directory" % " ".join(argv))
        state.setdefault("created_dirs", []).append(rel)
        return 0
    raise CliError("juicefs simulator: %s is not simulated" % prog)


def main(prog: str, argv: List[str]) -> int:
    """A shim's entry: simulate for a JuiceFS pod, else run the real command."""
    namespace, runtime = os.environ.get(ENV + "NAMESPACE"), os.environ.get(ENV + "RUNTIME")
    if not (namespace and runtime):
        common.pass_through(prog, argv, BIN)  # does not return
    state_dir = os.environ.get(ENV + "STATE_DIR") or "/tmp/juicefs-sim"
    role = os.environ.get(ENV + "ROLE", "worker")
    out, err, start = io.StringIO(), io.StringIO(), time.time()
    try:
        store = common.StateStore(state_dir, namespace, runtime, STATE_VERSION)
        with store.locked():
            state = store.load() or {"version": STATE_VERSION}
            volume = Volume(namespace, runtime, KubeClient(cert_dir=state_dir))
            code = run(prog, argv, volume, role, state, out, err)
            store.save(state)
    except CliError as exc:
        err.write(str(exc) + "\n")
        code = exc.code
    except KubeError as exc:
        err.write("%s (JuiceFS simulator): Kubernetes API error: %s\n" % (prog, exc))
        code = 1
    except Exception as exc:  # never hang or print a Python trace at Fluid
        err.write("%s (JuiceFS simulator): internal error: %s\n" % (prog, exc))
        common.log_invocation(state_dir, {"ts": time.time(), "traceback": traceback.format_exc()})
        code = 1
    sys.stdout.write(out.getvalue())
    sys.stderr.write(err.getvalue())
    sys.stdout.flush()
    sys.stderr.flush()
    common.log_invocation(state_dir, {"ts": round(start, 3), "ms": int((time.time() - start) * 1000), "prog": prog,
                     "namespace": namespace, "runtime": runtime, "pod": os.environ.get(ENV + "POD"), "role": role,
                     "argv": argv, "rc": code, "stderr": err.getvalue()[-400:]})
    return code
