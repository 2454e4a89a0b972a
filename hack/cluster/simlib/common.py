"""Quantities, pod readiness, the per-runtime state store, the command-failure exception and the
invocation log shared by the CLI simulators."""
from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import re
import shutil
import sys
from typing import Any, Dict, List, Optional

_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_SUFFIX = {
    None: 1, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
}


def parse_quantity(value: Any) -> int:
    """Kubernetes resource.Quantity -> bytes (rounded up, like Quantity.Value()). ValueError if malformed."""
    if value is None or value == "":
        return 0
    if isinstance(value, (int, float)):
        return int(math.ceil(value))
    m = _QUANTITY.match(str(value).strip())
    if not m:
        raise ValueError("cannot parse quantity %r" % value)
    return int(math.ceil(float(m.group(1)) * _SUFFIX[m.group(2)]))


class CliError(Exception):
    """A command failure: message goes to stderr, exit code ``code``."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def log_invocation(state_dir: str, record: Dict[str, Any]) -> None:
    """Append one JSON line to <state_dir>/invocations.log; never fails the command."""
    try:
        os.makedirs(state_dir, exist_ok=True)
        with open(os.path.join(state_dir, "invocations.log"), "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")
    except OSError:
        pass


def pod_ready(pod: Dict[str, Any]) -> bool:
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


class StateStore:
    """<state_dir>/runtimes/<namespace>/<runtime>.json, read and written under an flock."""

    def __init__(self, state_dir: str, namespace: str, runtime: str, version: int):
        self.dir = os.path.join(state_dir, "runtimes", namespace)
        os.makedirs(self.dir, exist_ok=True)
        self.path = os.path.join(self.dir, runtime + ".json")
        self.lock_path = self.path + ".lock"
        self.version = version

    @contextlib.contextmanager
    def locked(self):
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def load(self) -> Optional[Dict[str, Any]]:
        try:
            with open(self.path, "r", encoding="utf-8") as fh:
                data = json.load(fh)
            return data if data.get("version") == self.version else None
        except (OSError, ValueError):
            return None

    def save(self, state: Dict[str, Any]) -> None:
        tmp = self.path + ".tmp.%d" % os.getpid()
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(state, fh, indent=1, sort_keys=True)
        os.replace(tmp, self.path)


def real_binary(name: str, own_dir: str) -> Optional[str]:
    """The first `name` on PATH outside own_dir (a shim's own folder)."""
    own = os.path.realpath(own_dir)
    path = os.pathsep.join(d for d in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
                           if d and os.path.realpath(d) != own)
    return shutil.which(name, path=path)


def pass_through(name: str, argv: List[str], own_dir: str) -> None:
    """Replace this process by the real `name` (a shim called for a pod it does not simulate)."""
    real = real_binary(name, own_dir)
    if not real:
        sys.stderr.write("%s: command not found\n" % name)
        sys.exit(127)
    os.execv(real, [name] + list(argv))
