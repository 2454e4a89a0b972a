"""The Alluxio CLI simulator's command line (the top layer of the simulated master): the
verbs Fluid v1.0.8's alluxioruntime-controller and the master's ``mount.sh`` run (``fs
mount/unmount/loadMetadata/count/du/ls/free/distributedLoad/load/setReplication/mkdir``,
``fsadmin report``, ``getConf``, ``version``), their dispatch, and the entry point that
``bin/alluxio`` and ``bin/mount.sh`` call (main: identity from ``ALLUXIO_SIM_*``, state
locked and saved per command, one line per run in ``invocations.log``). No Alluxio process
exists: every answer is derived from the cluster's objects and the HTTP under-storage; what
each number comes from, and the boundary, are in README.md."""

from __future__ import annotations

import io
import os
import posixpath
import sys
import time
import traceback
from typing import Dict, List, Optional

from simlib.common import CliError, log_invocation
from simlib.kubeapi import KubeError

from .cluster import ALLUXIO_VERSION, ApiCluster
from .formats import alluxio_date, alluxio_size, is_under, norm_path
from .reports import Reports
from .state import StateStore, new_state


class Master(Reports):
    """The simulated master: mounts, cache and reports (the layers below) plus the CLI verbs."""

    # ----- mount.sh (the master's startupProbe) -----------------------------
    def startup_mount(self) -> None:
        """Effect of the master's startupProbe (`mount.sh`), once per master pod."""
        info = self.cluster.mount_info()
        if info is None:
            return  # mountConfigStorage is not "configmap": Fluid mounts with `fs mount`
        uid = self.cluster.master_pod_uid() or "unknown"
        if self.state.get("startup_mount_pod_uid") == uid:
            return
        real_out, self.out = self.out, io.StringIO()  # mount.sh logs to the container, not to us
        try:
            self.run_mount_script(info)
        except CliError as exc:
            # Like a failing startupProbe: report, and try again on the next call.
            self.err.write("mount.sh (startup): %s\n" % exc)
            return
        finally:
            self.out = real_out
        self.state["startup_mount_pod_uid"] = uid

    def run_mount_script(self, info: Optional[str] = None) -> None:
        """mount.sh of charts/alluxio/templates/config/alluxio-mount-conf.yaml."""
        if info is None:
            info = self.cluster.mount_info()
            if info is None:
                raise CliError("/etc/fluid/scripts/mount.info: No such file or directory")
        wanted: Dict[str, List[str]] = {}
        for line in info.splitlines():
            if not line.strip():
                continue
            args = line.split()
            if norm_path(args[0]) == "/":
                continue
            wanted[norm_path(args[0])] = args
        for path in sorted(self.state.get("mounts") or {}):
            if path not in wanted:
                self.unmount(path)
        for path, args in wanted.items():
            if path not in (self.state.get("mounts") or {}):
                self.fs_mount(args)

    # ----- commands ---------------------------------------------------------
    def fs_mount(self, args: List[str]) -> None:
        readonly = shared = False
        options: Dict[str, str] = {}
        positional: List[str] = []
        i = 0
        while i < len(args):
            a = args[i]
            if a == "--readonly":
                readonly = True
            elif a == "--shared":
                shared = True
            elif a == "--option":
                i += 1
                if i >= len(args) or "=" not in args[i]:
                    raise CliError("Invalid --option, expected key=value")
                k, v = args[i].split("=", 1)
                options[k] = v
            elif a.startswith("--option="):
                k, v = a[len("--option="):].split("=", 1)
                options[k] = v
            else:
                positional.append(a)
            i += 1
        if not positional:
            self.print_mount_table()
            return
        if len(positional) != 2:
            raise CliError("Usage: alluxio fs mount [--readonly] [--shared] [--option <key=val>] <alluxioPath> <ufsURI>")
        self.mount(positional[0], positional[1], readonly, shared, options)
        self.out.write("Mounted %s at %s\n" % (positional[1], norm_path(positional[0])))

    def fs_count(self, path: str, human: bool) -> None:
        path = norm_path(path)
        self.ensure_metadata(path)
        files, dirs = self.namespace()
        self.require_exists(path, files, dirs)
        n_files = sum(1 for f in files if is_under(f, path))
        n_dirs = sum(1 for d in dirs if is_under(d, path))
        size = sum(s for f, (s, _) in files.items() if is_under(f, path))
        fmt = "%-25s%-25s%-15s\n"
        self.out.write(fmt % ("File Count", "Folder Count", "Folder Size"))
        self.out.write(fmt % (n_files, n_dirs, alluxio_size(size) if human else size))

    def fs_du(self, path: str, summarize: bool, human: bool) -> None:
        path = norm_path(path)
        self.ensure_metadata(path)
        files, dirs = self.namespace()
        self.require_exists(path, files, dirs)
        view = self.cache_view()
        fmt = "%-13s %-16s %s\n"
        self.out.write(fmt % ("File Size", "In Alluxio", "Path"))
        targets = [path] if summarize or path in files else sorted(f for f in files if is_under(f, path))
        for t in targets:
            size, cached = self.in_alluxio(t, files, view)
            pct = int(cached * 100 // size) if size else 0
            show = alluxio_size if human else str
            self.out.write(fmt % (show(size), "%s (%d%%)" % (show(cached), pct), t))

    def fs_ls(self, path: str, recursive: bool, only_dir: bool, human: bool) -> None:
        path = norm_path(path)
        self.ensure_metadata(path)
        files, dirs = self.namespace()
        if path not in files and path not in dirs:
            raise CliError("%s does not exist" % path)
        view = self.cache_view()
        cached = self.state.get("cached") or {}

        scale = (view["used"] / view["raw_used"]) if view["raw_used"] else 0.0

        def line(p: str) -> str:
            if p in files:
                size, mtime = files[p]
                in_alluxio = "%d%%" % int(100 * scale) if p in cached else "0%"
                return "%-11s%-15s%-15s%15s%16s%24s%5s %-5s\n" % (
                    "-rwxrwxrwx", "root", "root", alluxio_size(size) if human else size, "PERSISTED",
                    alluxio_date(mtime), in_alluxio, p)
            children = sum(1 for q in list(files) + list(dirs) if q != p and posixpath.dirname(q) == p)
            return "%-11s%-15s%-15s%15s%16s%24s%5s %-5s\n" % (
                "drwxrwxrwx", "root", "root", children, "PERSISTED", alluxio_date(dirs[p]), "DIR", p)

        if path in files or only_dir:
            self.out.write(line(path))
            return
        everything = sorted(set(files) | set(dirs))
        for p in everything:
            if p == path or not is_under(p, path):
                continue
            if recursive or posixpath.dirname(p) == path:
                self.out.write(line(p))

    def fs_free(self, path: str) -> None:
        path = norm_path(path)
        files, dirs = self.namespace()
        self.require_exists(path, files, dirs)
        cached = self.state.setdefault("cached", {})
        freed = [f for f in cached if is_under(f, path)]
        for f in freed:
            del cached[f]
        self.counter("Master.FilesFreed", len(freed))
        self.counter("Master.FreeFileOps", 1)
        self.out.write("%s was successfully freed from Alluxio space.\n" % path)

    def getconf(self, args: List[str]) -> None:
        keys: List[str] = []
        i = 0
        while i < len(args):
            if args[i] == "--unit":
                i += 2  # --unit <unit> takes a value
                continue
            if not args[i].startswith("--"):
                keys.append(args[i])
            i += 1
        conf = self.conf()
        if not keys:
            for k in sorted(conf):
                self.out.write("%s=%s\n" % (k, conf[k]))
            return
        key = keys[0]
        if key not in conf:
            raise CliError("%s is not a valid configuration key" % key)
        self.out.write(conf[key] + "\n")


# ---------------------------------------------------------------------------
# Command dispatch
# ---------------------------------------------------------------------------

USAGE = "Usage: alluxio [COMMAND] [-h]\n(Alluxio CLI simulator: fs, fsadmin report, getConf, version)"


def _strip_dash_d(args: List[str]) -> List[str]:
    return [a for a in args if not (a.startswith("-D") and "=" in a)]


def dispatch(master: Master, argv: List[str]) -> None:
    if not argv:
        raise CliError(USAGE)
    cmd, rest = argv[0], _strip_dash_d(argv[1:])
    if cmd == "version":
        master.out.write("%s\n" % ALLUXIO_VERSION)
        return
    if cmd == "__mount.sh__":
        master.run_mount_script()
        return
    master.startup_mount()
    if cmd == "getConf":
        master.getconf(rest)
        return
    if cmd == "fsadmin":
        if not rest or rest[0] != "report":
            raise CliError("alluxio-sim: unsupported fsadmin command: %s" % " ".join(rest))
        what = rest[1] if len(rest) > 1 else "summary"
        master.sync_dataloads()
        if what == "summary":
            master.report_summary()
        elif what == "capacity":
            master.report_capacity()
        elif what == "metrics":
            master.report_metrics()
        elif what == "ufs":
            master.out.write("Alluxio under storage system information:\n")
            master.print_mount_table()
        else:
            raise CliError("Unknown category %s for fsadmin report" % what)
        return
    if cmd != "fs":
        raise CliError("alluxio-sim: unsupported command: %s\n%s" % (cmd, USAGE))
    if not rest:
        raise CliError("Usage: alluxio fs [generic options]")
    sub, args = rest[0], rest[1:]
    flags = {a for a in args if a.startswith("-")}
    paths = [a for a in args if not a.startswith("-")]

    def one_path() -> str:
        if not paths:
            raise CliError("%s: a path is required" % sub)
        return paths[-1]

    if sub == "mount":
        master.fs_mount(args)
    elif sub == "unmount":
        master.unmount(one_path())
        master.out.write("Unmounted %s\n" % norm_path(one_path()))
    elif sub == "loadMetadata":
        master.ensure_metadata(one_path(), refresh=True)
        files, dirs = master.namespace()
        master.require_exists(norm_path(one_path()), files, dirs)
    elif sub == "count":
        master.sync_dataloads()
        master.fs_count(one_path(), "-h" in flags)
    elif sub == "du":
        master.sync_dataloads()
        master.fs_du(one_path(), "-s" in flags, "-h" in flags)
    elif sub == "ls":
        master.sync_dataloads()
        master.fs_ls(one_path(), "-R" in flags, "-d" in flags, "-h" in flags)
    elif sub == "free":
        master.fs_free(one_path())
    elif sub in ("distributedLoad", "load"):
        replicas = 1
        if "--replication" in args:
            idx = args.index("--replication")
            try:
                replicas = int(args[idx + 1])
                paths.remove(args[idx + 1])
            except (IndexError, ValueError):
                raise CliError("--replication needs a number")
        for opt in ("--active-jobs", "--batch-size", "--host-file", "--hosts", "--locality-file", "--localities"):
            if opt in args and args.index(opt) + 1 < len(args) and args[args.index(opt) + 1] in paths:
                paths.remove(args[args.index(opt) + 1])
        count, _ = master.cache_files(one_path(), replicas)
        if sub == "load":
            master.out.write("%s loaded\n" % norm_path(one_path()))
        else:
            master.out.write("Completed count is %d,Failed count is 0.\n" % count)
    elif sub == "setReplication":
        for opt in ("--max", "--min"):
            if opt in args and args.index(opt) + 1 < len(args) and args[args.index(opt) + 1] in paths:
                paths.remove(args[args.index(opt) + 1])
        path = norm_path(one_path())
        master.ensure_metadata(path)
        files, dirs = master.namespace()
        master.require_exists(path, files, dirs)
        master.out.write("Changed the replication level of %s\n" % path)
    elif sub == "mkdir":
        for p in paths:
            p = norm_path(p)
            files, dirs = master.namespace()
            if p in files or p in dirs:
                raise CliError("%s already exists" % p)
            master.state.setdefault("created_dirs", []).append(p)
            master.out.write("Successfully created directory %s\n" % p)
    else:
        raise CliError("alluxio-sim: unsupported fs command: %s" % sub)


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------

def default_state_dir() -> str:
    return os.environ.get("ALLUXIO_SIM_STATE_DIR") or "/tmp/alluxio-sim-%d" % os.getuid()


def run(argv: List[str], cluster, state_dir: str, out, err, walker=None,
        now_ms: Optional[int] = None) -> int:
    """Run one command against a cluster view; returns the exit code."""
    store = StateStore(state_dir, cluster.namespace, cluster.name)
    with store.locked():
        runtime = cluster.runtime()
        uid = ((runtime or {}).get("metadata") or {}).get("uid", "")
        state = store.load()
        if state is None or state.get("runtime_uid") != uid:
            state = new_state(uid)
        master = Master(cluster, state, out, err, now_ms=now_ms, walker=walker)
        try:
            dispatch(master, argv)
            code = 0
        except CliError as exc:
            err.write(str(exc).rstrip("\n") + "\n")
            code = exc.code
        store.save(state)
    return code


def main(argv: List[str], prog: str = "alluxio") -> int:
    state_dir = default_state_dir()
    namespace = os.environ.get("ALLUXIO_SIM_NAMESPACE", "")
    runtime = os.environ.get("ALLUXIO_SIM_RUNTIME", "")
    pod = os.environ.get("ALLUXIO_SIM_POD") or ("%s-master-0" % runtime if runtime else "")
    start = time.time()
    out, err = io.StringIO(), io.StringIO()
    code = 1
    try:
        if argv and argv[0] == "version":
            out.write("%s\n" % ALLUXIO_VERSION)
            code = 0
        elif not namespace or not runtime:
            err.write("alluxio (Alluxio CLI simulator): no pod identity: ALLUXIO_SIM_NAMESPACE and "
                      "ALLUXIO_SIM_RUNTIME are unset. They come from the per-pod KWOK Exec object "
                      "that hack/cluster/simlib/exec_watcher.py creates; is it running?\n")
            code = 2
        else:
            cluster = ApiCluster(namespace, runtime, pod, os.environ.get("ALLUXIO_SIM_POD_UID", ""),
                                 cert_dir=state_dir)
            code = run(argv, cluster, state_dir, out, err)
    except KubeError as exc:
        err.write("alluxio (Alluxio CLI simulator): Kubernetes API error: %s\n" % exc)
        code = 1
    except Exception as exc:  # never hang or print a Python trace at Fluid
        err.write("alluxio (Alluxio CLI simulator): internal error: %s\n" % exc)
        log_invocation(state_dir, {"ts": time.time(), "traceback": traceback.format_exc()})
        code = 1
    sys.stdout.write(out.getvalue())
    sys.stderr.write(err.getvalue())
    sys.stdout.flush()
    sys.stderr.flush()
    log_invocation(state_dir, {
        "ts": round(start, 3), "ms": int((time.time() - start) * 1000), "prog": prog,
        "namespace": namespace, "runtime": runtime, "pod": pod, "argv": argv, "rc": code,
        "stderr": err.getvalue()[-400:],
    })
    return code
