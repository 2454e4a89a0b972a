"""The mount table and the namespace it spans (the master layer above MasterBase): the root
mount from the configuration and the mounts kept in the state, mount and unmount with
Alluxio's checks, and each mount's metadata, walked from its http(s) under-storage
(``ufs_walker``; any other scheme reads as an empty directory) and merged into one view of
files (size, mtime) and directories (namespace)."""

from __future__ import annotations

import posixpath
import urllib.parse
from typing import Any, Dict, List, Tuple

from simlib import ufs_walker
from simlib.common import CliError

from .formats import is_under, norm_path
from .state import MasterBase


class Mounts(MasterBase):
    """The mount table (state["mounts"] over the root) and the namespace (state["metadata"])."""

    # ----- mount table ----------------------------------------------------
    def root_mount(self) -> Dict[str, Any]:
        conf = self.conf()
        prefix = "alluxio.master.mount.table.root.option."
        return {
            "ufs": conf.get("alluxio.master.mount.table.root.ufs", "/underFSStorage"),
            "readonly": conf.get("alluxio.master.mount.table.root.readonly", "false") == "true",
            "shared": conf.get("alluxio.master.mount.table.root.shared", "true") == "true",
            "options": {k[len(prefix):]: v for k, v in conf.items() if k.startswith(prefix)},
        }

    def mount_table(self) -> Dict[str, Dict[str, Any]]:
        table = {"/": self.root_mount()}
        table.update(self.state.get("mounts") or {})
        return table

    def mount(self, path: str, ufs: str, readonly: bool, shared: bool, options: Dict[str, str]) -> None:
        path = norm_path(path)
        table = self.mount_table()
        if path in table:
            raise CliError("Mount point %s already exists" % path)
        for existing, info in table.items():
            if existing != "/" and is_under(path, existing):
                raise CliError("Mount point %s is a prefix of %s" % (existing, path))
        if urllib.parse.urlsplit(ufs).scheme in ("http", "https") and not ufs_walker.exists(ufs):
            raise CliError("Ufs path %s does not exist" % ufs)
        self.state.setdefault("mounts", {})[path] = {
            "ufs": ufs, "readonly": readonly, "shared": shared, "options": options,
            "mounted_ms": self.now_ms,
        }
        self.counter("Master.MountOps", 1)
        self.counter("Master.PathsMounted", 1)

    def unmount(self, path: str) -> None:
        path = norm_path(path)
        if path not in (self.state.get("mounts") or {}):
            raise CliError("Failed to unmount %s: path is not a mount point" % path)
        del self.state["mounts"][path]
        self.state.get("metadata", {}).pop(path, None)
        for f in [f for f in self.state.get("cached", {}) if is_under(f, path)]:
            del self.state["cached"][f]
        self.counter("Master.UnmountOps", 1)
        self.counter("Master.PathsUnmounted", 1)

    # ----- metadata (the namespace) ----------------------------------------
    def load_mount_metadata(self, mount_path: str, info: Dict[str, Any]) -> None:
        ufs = info["ufs"]
        record = {"ufs": ufs, "loaded_ms": self.now_ms, "is_dir": True, "files": {}, "dirs": []}
        if urllib.parse.urlsplit(ufs).scheme in ("http", "https"):
            try:
                listing = self.walk(ufs)
            except ufs_walker.UfsError as exc:
                raise CliError("Failed to load metadata of %s (%s): %s" % (mount_path, ufs, exc))
            record["is_dir"] = listing.is_dir
            record["files"] = {rel: [size, mtime] for rel, (size, mtime) in listing.files.items()}
            record["dirs"] = list(listing.dirs)
        else:
            record["unlistable"] = True
        self.state.setdefault("metadata", {})[mount_path] = record

    def mounts_touching(self, path: str) -> List[Tuple[str, Dict[str, Any]]]:
        """Mounts whose subtree intersects path (the mount holding path and all below it)."""
        path = norm_path(path)
        table = self.mount_table()
        hits = []
        owner = max((m for m in table if is_under(path, m)), key=len)
        for m, info in table.items():
            if m == owner or is_under(m, path):
                hits.append((m, info))
        return hits

    def ensure_metadata(self, path: str, refresh: bool = False) -> None:
        meta = self.state.setdefault("metadata", {})
        for m, info in self.mounts_touching(path):
            rec = meta.get(m)
            if refresh or rec is None or rec.get("ufs") != info["ufs"]:
                self.load_mount_metadata(m, info)

    def namespace(self) -> Tuple[Dict[str, Tuple[int, int]], Dict[str, int]]:
        """(files: path -> (size, mtime), dirs: path -> mtime) of everything known."""
        files: Dict[str, Tuple[int, int]] = {}
        dirs: Dict[str, int] = {"/": self.state.get("started_ms", 0)}
        table = self.mount_table()
        meta = self.state.get("metadata") or {}
        for m, info in table.items():
            parent = posixpath.dirname(m)
            while parent and parent != "/":
                dirs.setdefault(parent, info.get("mounted_ms", 0))
                parent = posixpath.dirname(parent)
            rec = meta.get(m)
            if rec is not None and not rec.get("is_dir", True):
                size, mtime = rec["files"].get("", [0, 0])
                files[m] = (size, mtime)
                continue
            dirs.setdefault(m, info.get("mounted_ms", 0) or self.state.get("started_ms", 0))
            if rec is None:
                continue
            for d in rec.get("dirs") or []:
                dirs[posixpath.join(m, d)] = rec.get("loaded_ms", 0)
            for rel, (size, mtime) in (rec.get("files") or {}).items():
                files[posixpath.join(m, rel)] = (size, mtime)
        for d in self.state.get("created_dirs") or []:
            dirs.setdefault(d, 0)
        return files, dirs

    def require_exists(self, path: str, files, dirs) -> None:
        if path not in files and path not in dirs:
            raise CliError("Path \"%s\" does not exist." % path)
