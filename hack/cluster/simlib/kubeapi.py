"""Minimal Kubernetes API client for the Alluxio CLI simulator (stdlib only).

Reads the kubeconfig named by ``$KUBECONFIG`` (or ``~/.kube/config``), picks
its current context and talks HTTPS to the API server with the client
certificate, bearer token or basic auth found there.  The kubeconfig may be
JSON or YAML; YAML is read with PyYAML when importable, otherwise with the
small block-YAML reader below (enough for the kubeconfigs kubectl, kwokctl
and client-go write), and as a last resort through
``kubectl config view --raw -o json``.

One keep-alive connection is reused for all requests of a process, so the
handful of calls a simulated ``alluxio`` command makes cost one TLS handshake.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
from typing import Any, Callable, Dict, List, Optional, Tuple


class KubeError(Exception):
    """An API call failed; ``status`` is the HTTP status (0: no response)."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


class NotFound(KubeError):
    pass


# --------------------------------------------------------------------------
# kubeconfig reading
# --------------------------------------------------------------------------

def _scalar(text: str) -> Any:
    text = text.strip()
    if text == "" or text in ("~", "null", "Null", "NULL"):
        return None
    if text[0] == '"' and text[-1] == '"' and len(text) >= 2:
        return json.loads(text)
    if text[0] == "'" and text[-1] == "'" and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    if text == "{}":
        return {}
    if text == "[]":
        return []
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    try:
        return int(text)
    except ValueError:
        return text


def _strip_comment(line: str) -> str:
    # Only whole-line comments and " #" comments outside quotes.
    out, quote = [], None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            break
        out.append(ch)
    return "".join(out).rstrip()


def parse_block_yaml(text: str) -> Any:
    """Parse the block-style YAML subset used by kubeconfig files.

    Supports nested mappings, ``- `` sequences (of scalars or mappings),
    plain/quoted scalars and empty flow collections (``{}``, ``[]``).
    """
    lines: List[Tuple[int, str]] = []
    for raw in text.splitlines():
        if raw.strip() in ("---", "..."):
            continue
        stripped = _strip_comment(raw)
        if not stripped.strip():
            continue
        indent = len(stripped) - len(stripped.lstrip(" "))
        lines.append((indent, stripped.strip()))

    pos = 0

    def split_key(item: str) -> Tuple[str, str]:
        quote = None
        for i, ch in enumerate(item):
            if quote:
                if ch == quote:
                    quote = None
            elif ch in ("'", '"'):
                quote = ch
            elif ch == ":" and (i + 1 == len(item) or item[i + 1] == " "):
                return str(_scalar(item[:i])), item[i + 1:].strip()
        raise ValueError("not a mapping entry: %r" % item)

    def parse_node(indent: int) -> Any:
        if pos >= len(lines):
            return None
        ind, content = lines[pos]
        if content.startswith("- ") or content == "-":
            return parse_seq(ind)
        return parse_map(ind)

    def parse_map(indent: int, first: Optional[Tuple[str, str]] = None) -> Dict[str, Any]:
        nonlocal pos
        result: Dict[str, Any] = {}
        if first is not None:
            key, rest = first
            result[key] = parse_value(rest, indent)
        while pos < len(lines):
            ind, content = lines[pos]
            if ind != indent or content.startswith("- "):
                break
            pos += 1
            key, rest = split_key(content)
            result[key] = parse_value(rest, indent)
        return result

    def parse_value(rest: str, indent: int) -> Any:
        if rest != "":
            return _scalar(rest)
        if pos < len(lines):
            ind, content = lines[pos]
            if ind > indent:
                return parse_node(ind)
            if ind == indent and (content.startswith("- ") or content == "-"):
                return parse_seq(ind)
        return None

    def parse_seq(indent: int) -> List[Any]:
        nonlocal pos
        result: List[Any] = []
        while pos < len(lines):
            ind, content = lines[pos]
            if ind != indent or not (content.startswith("- ") or content == "-"):
                break
            pos += 1
            item = content[1:].strip()
            if item == "":
                result.append(parse_node(lines[pos][0]) if pos < len(lines) and lines[pos][0] > indent else None)
                continue
            try:
                key, rest = split_key(item)
            except ValueError:
                result.append(_scalar(item))
                continue
            # A mapping whose first entry sits on the "- " line; the other
            # entries are indented to the column after "- ".
            column = indent + 1 + (len(content) - 1 - len(content[1:].lstrip()))
            result.append(parse_map(column, (key, rest)))
        return result

    if not lines:
        return None
    return parse_node(lines[0][0])


def _load_kubeconfig(path: str) -> Dict[str, Any]:
    with open(path, "r", encoding="utf-8") as fh:
        text = fh.read()
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return json.loads(text)
    try:
        import yaml  # type: ignore

        return yaml.safe_load(text)
    except ImportError:
        pass
    try:
        return parse_block_yaml(text)
    except Exception:  # pragma: no cover - exotic YAML
        kubectl = shutil.which("kubectl")
        if not kubectl:
            raise
        out = subprocess.run(
            [kubectl, "config", "view", "--raw", "-o", "json", "--kubeconfig", path],
            check=True, capture_output=True, text=True, timeout=30,
        ).stdout
        return json.loads(out)


def _named(items: Optional[List[Dict[str, Any]]], name: str, field: str) -> Dict[str, Any]:
    for item in items or []:
        if item.get("name") == name:
            return item.get(field) or {}
    raise KubeError("kubeconfig has no %s named %r" % (field, name))


class KubeConfig:
    """The parts of one kubeconfig context the simulator needs."""

    def __init__(self, path: Optional[str] = None, cert_dir: Optional[str] = None):
        path = path or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
        # KUBECONFIG may be a list; like kubectl, the first file that exists wins here.
        for candidate in path.split(os.pathsep):
            if candidate and os.path.exists(candidate):
                path = candidate
                break
        self.path = path
        cfg = _load_kubeconfig(path)
        ctx_name = cfg.get("current-context")
        if not ctx_name:
            contexts = cfg.get("contexts") or []
            if not contexts:
                raise KubeError("kubeconfig %s has no contexts" % path)
            ctx_name = contexts[0]["name"]
        ctx = _named(cfg.get("contexts"), ctx_name, "context")
        cluster = _named(cfg.get("clusters"), ctx["cluster"], "cluster")
        user = _named(cfg.get("users"), ctx.get("user", ""), "user") if ctx.get("user") else {}
        self.server = cluster["server"].rstrip("/")
        self.namespace = ctx.get("namespace") or "default"
        self.insecure = bool(cluster.get("insecure-skip-tls-verify"))
        base = os.path.dirname(os.path.abspath(path))

        def rel(p: Optional[str]) -> Optional[str]:
            if not p:
                return None
            return p if os.path.isabs(p) else os.path.join(base, p)

        self.ca_file = rel(cluster.get("certificate-authority"))
        self.ca_data = cluster.get("certificate-authority-data")
        self.token = user.get("token")
        if not self.token and user.get("tokenFile"):
            with open(rel(user["tokenFile"]), "r", encoding="utf-8") as fh:
                self.token = fh.read().strip()
        self.basic = None
        if user.get("username") and user.get("password"):
            self.basic = base64.b64encode(("%s:%s" % (user["username"], user["password"])).encode()).decode()
        self.cert_file = rel(user.get("client-certificate"))
        self.key_file = rel(user.get("client-key"))
        if user.get("client-certificate-data") and user.get("client-key-data"):
            self.cert_file, self.key_file = self._materialise(
                user["client-certificate-data"], user["client-key-data"], cert_dir)

    @staticmethod
    def _materialise(cert_b64: str, key_b64: str, cert_dir: Optional[str]) -> Tuple[str, str]:
        """ssl needs files for a client cert: write them once, mode 0600."""
        digest = hashlib.sha256((cert_b64 + key_b64).encode()).hexdigest()[:16]
        directory = cert_dir or os.path.join(tempfile.gettempdir(), "alluxio-sim-%d" % os.getuid())
        os.makedirs(directory, mode=0o700, exist_ok=True)
        paths = []
        for suffix, data in (("crt", cert_b64), ("key", key_b64)):
            target = os.path.join(directory, ".kubeclient-%s.%s" % (digest, suffix))
            if not os.path.exists(target):
                tmp = target + ".%d" % os.getpid()
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(base64.b64decode(data))
                os.replace(tmp, target)
            paths.append(target)
        return paths[0], paths[1]

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif self.ca_data:
            ctx = ssl.create_default_context(cadata=base64.b64decode(self.ca_data).decode())
        elif self.ca_file:
            ctx = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file and self.key_file:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


class KubeClient:
    """Tiny REST client: get/list/create/update/delete on any API path."""

    def __init__(self, config: Optional[KubeConfig] = None, timeout: float = 20.0,
                 cert_dir: Optional[str] = None):
        self.config = config or KubeConfig(cert_dir=cert_dir)
        self.timeout = timeout
        self._conn: Optional[http.client.HTTPConnection] = None
        url = urllib.parse.urlsplit(self.config.server)
        self._scheme = url.scheme
        self._host = url.hostname
        self._port = url.port
        self._prefix = url.path.rstrip("/")

    def _connect(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._scheme == "https":
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self.timeout, context=self.config.ssl_context())
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body: Any = None,
                query: Optional[Dict[str, str]] = None,
                content_type: str = "application/json") -> Any:
        if query:
            path = path + "?" + urllib.parse.urlencode(query)
        headers = {"Accept": "application/json", "User-Agent": "alluxio-cli-simulator"}
        if self.config.token:
            headers["Authorization"] = "Bearer " + self.config.token
        elif self.config.basic:
            headers["Authorization"] = "Basic " + self.config.basic
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        for attempt in (0, 1):
            conn = self._connect()
            try:
                conn.request(method, self._prefix + path, body=payload, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, OSError) as exc:
                self.close()
                if attempt:
                    raise KubeError("%s %s: %s" % (method, path, exc)) from exc
        if resp.status == 404:
            raise NotFound("%s %s: not found" % (method, path), 404)
        if resp.status >= 400:
            raise KubeError("%s %s: HTTP %d %s" % (method, path, resp.status, data[:300].decode("utf-8", "replace")),
                            resp.status)
        return json.loads(data) if data else None

    # Convenience wrappers --------------------------------------------------
    def get(self, path: str, query: Optional[Dict[str, str]] = None) -> Any:
        return self.request("GET", path, query=query)

    def get_or_none(self, path: str) -> Any:
        try:
            return self.get(path)
        except NotFound:
            return None

    def list(self, path: str, label_selector: Optional[str] = None) -> List[Dict[str, Any]]:
        query = {"labelSelector": label_selector} if label_selector else None
        return (self.get(path, query) or {}).get("items") or []


def core_path(namespace: Optional[str], resource: str, name: Optional[str] = None) -> str:
    path = "/api/v1"
    if namespace:
        path += "/namespaces/" + namespace
    path += "/" + resource
    if name:
        path += "/" + name
    return path


def group_path(group: str, version: str, namespace: Optional[str], resource: str,
               name: Optional[str] = None) -> str:
    path = "/apis/%s/%s" % (group, version)
    if namespace:
        path += "/namespaces/" + namespace
    path += "/" + resource
    if name:
        path += "/" + name
    return path


def stderr_logger(tag: str) -> Callable[[str], None]:
    """A log function writing `HH:MM:SS <tag>: <msg>` lines to stderr (the supervisor's log file)."""
    def log(msg: str) -> None:
        sys.stderr.write("%s %s: %s\n" % (time.strftime("%H:%M:%S"), tag, msg))
        sys.stderr.flush()
    return log


def run_forever(step: Callable[[], None], log: Callable[[str], None], interval: float = 1.0, once: bool = False,
                errors: Tuple[type, ...] = (KubeError,)) -> int:
    """The loop of the cluster's watchers: step() every `interval` seconds until SIGTERM or SIGINT.

    An error in `errors` (the API server restarting, say) is logged once while it repeats and retried,
    never fatal; with `once`, one pass and its outcome as the exit code."""
    stop = {"now": False}

    def on_signal(signum, frame):
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    last_error = ""
    while True:
        try:
            step()
            last_error = ""
        except errors as exc:
            text = "%s: %s" % (type(exc).__name__, exc)
            if text != last_error:  # do not flood the log while the API is down
                log("error (retrying): %s" % text)
                last_error = text
            if once:
                return 1
        if once or stop["now"]:
            return 0
        deadline = time.time() + interval
        while time.time() < deadline and not stop["now"]:
            time.sleep(min(0.2, interval))
        if stop["now"]:
            return 0
