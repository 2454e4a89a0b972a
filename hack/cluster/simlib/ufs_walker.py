"""Walk an HTTP(S) under-storage the way Alluxio's web UFS sees it.

Alluxio's ``web`` under file system (used for ``http://`` and ``https://``
mount points) treats a page as a directory when it is HTML whose ``<title>``
contains one of ``alluxio.underfs.web.titles`` (default ``Index of`` and
``Directory listing for``: Apache/nginx autoindex and Python's
``http.server``), lists the ``<a href>`` links of that page, skips the links
named in ``alluxio.underfs.web.parent.names`` (``Parent Directory``, ``..``,
``../``) and takes a file's length from ``Content-Length``.  This module does
the same, with the standard library only:

* a link is followed only when it resolves to a direct child of the listed
  directory (same scheme/host/port, one more path segment), so sort links
  (``?C=N;O=D``), absolute links elsewhere and parent links are ignored and
  the walk cannot loop;
* a child whose link ends in ``/`` is a directory and is listed in turn, any
  other child is a file whose size is ``Content-Length`` of a ``HEAD``
  request (if the server sends none, the body of a ``GET`` is counted);
* the walk is bounded (``max_entries``, ``max_depth``, a per-request timeout).
"""

from __future__ import annotations

import email.utils
import html.parser
import posixpath
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

DEFAULT_TITLES = ("Index of", "Directory listing for")
DEFAULT_PARENT_NAMES = ("Parent Directory", "..", "../")


class UfsError(Exception):
    """The under-storage could not be read."""


@dataclass
class Listing:
    """What one mount point holds: paths are relative, '/'-separated, unquoted."""

    url: str
    is_dir: bool = True
    # relative file path -> (size in bytes, last-modified epoch millis or 0)
    files: Dict[str, Tuple[int, int]] = field(default_factory=dict)
    # relative directory paths below the root ('' is the root itself, not listed)
    dirs: List[str] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(size for size, _ in self.files.values())


class _LinkParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.links: List[Tuple[str, str]] = []
        self._in_title = False
        self._href: Optional[str] = None
        self._text: List[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self._in_title = True
        elif tag == "a":
            href = dict(attrs).get("href")
            if href is not None:
                self._href = href
                self._text = []

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._href is not None:
            self._text.append(data)


def _open(url: str, method: str, timeout: float):
    req = urllib.request.Request(url, method=method, headers={"User-Agent": "alluxio-cli-simulator"})
    try:
        return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 - http(s) only, checked by caller
    except urllib.error.HTTPError as exc:
        raise UfsError("%s %s: HTTP %d" % (method, url, exc.code)) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise UfsError("%s %s: %s" % (method, url, getattr(exc, "reason", exc))) from exc


def _mtime(headers) -> int:
    value = headers.get("Last-Modified")
    if not value:
        return 0
    try:
        return int(email.utils.parsedate_to_datetime(value).timestamp() * 1000)
    except (TypeError, ValueError):
        return 0


def _file_size(url: str, timeout: float) -> Tuple[int, int]:
    with _open(url, "HEAD", timeout) as resp:
        length = resp.headers.get("Content-Length")
        mtime = _mtime(resp.headers)
    if length is not None and length.strip().isdigit():
        return int(length), mtime
    total = 0
    with _open(url, "GET", timeout) as resp:
        while True:
            chunk = resp.read(65536)
            if not chunk:
                break
            total += len(chunk)
    return total, mtime


def _read_listing(url: str, timeout: float, titles) -> Tuple[Optional[_LinkParser], str, object]:
    """GET url; return (parsed page or None when it is not a listing, final url, headers)."""
    with _open(url, "GET", timeout) as resp:
        final = resp.geturl()
        ctype = resp.headers.get("Content-Type", "")
        headers = resp.headers
        if "html" not in ctype.lower():
            return None, final, headers
        body = resp.read(8 * 1024 * 1024)
    charset = "utf-8"
    if "charset=" in ctype:
        charset = ctype.split("charset=", 1)[1].split(";")[0].strip() or "utf-8"
    parser = _LinkParser()
    parser.feed(body.decode(charset, "replace"))
    if not any(t in parser.title for t in titles):
        return None, final, headers
    return parser, final, headers


def _children(base: str, parser: _LinkParser, parent_names) -> List[Tuple[str, str, bool]]:
    """(child name, child url, is_dir) for the direct children a listing links to."""
    base_parts = urllib.parse.urlsplit(base)
    seen = set()
    out = []
    for href, text in parser.links:
        if not href or href.startswith(("?", "#")) or text in parent_names or href in parent_names:
            continue
        target = urllib.parse.urljoin(base, href)
        parts = urllib.parse.urlsplit(target)
        if (parts.scheme, parts.netloc) != (base_parts.scheme, base_parts.netloc) or parts.query:
            continue
        if not parts.path.startswith(base_parts.path) or parts.path == base_parts.path:
            continue
        rest = parts.path[len(base_parts.path):]
        is_dir = rest.endswith("/")
        segment = rest[:-1] if is_dir else rest
        if not segment or "/" in segment:
            continue
        name = urllib.parse.unquote(segment)
        if name in (".", "..") or name in seen:
            continue
        seen.add(name)
        out.append((name, urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), is_dir))
    return out


def walk(url: str, timeout: float = 10.0, max_entries: int = 100000, max_depth: int = 32,
         titles=DEFAULT_TITLES, parent_names=DEFAULT_PARENT_NAMES) -> Listing:
    """List everything below an http(s) URL; raise UfsError when it cannot be read."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise UfsError("%s: only http:// and https:// under-storage can be listed" % url)
    parser, final, headers = _read_listing(url, timeout, titles)
    if parser is None:
        # The mount point is a single file.
        size, mtime = _file_size(final, timeout)
        listing = Listing(url=url, is_dir=False)
        listing.files[""] = (size, mtime)
        return listing
    if not final.endswith("/"):
        final += "/"
    listing = Listing(url=url, is_dir=True)
    stack: List[Tuple[str, str, _LinkParser, int]] = [("", final, parser, 0)]
    count = 0
    while stack:
        rel, base, page, depth = stack.pop()
        for name, child_url, is_dir in _children(base, page, parent_names):
            count += 1
            if count > max_entries:
                raise UfsError("%s: more than %d entries, refusing to walk further" % (url, max_entries))
            child_rel = posixpath.join(rel, name) if rel else name
            if is_dir:
                if depth + 1 > max_depth:
                    raise UfsError("%s: deeper than %d levels" % (url, max_depth))
                sub, sub_final, _ = _read_listing(child_url, timeout, titles)
                if sub is None:
                    # Linked like a directory but not a listing: count it as a file.
                    listing.files[child_rel] = _file_size(sub_final, timeout)
                    continue
                listing.dirs.append(child_rel)
                if not sub_final.endswith("/"):
                    sub_final += "/"
                stack.append((child_rel, sub_final, sub, depth + 1))
            else:
                listing.files[child_rel] = _file_size(child_url, timeout)
    listing.dirs.sort()
    return listing


def exists(url: str, timeout: float = 10.0) -> bool:
    try:
        with _open(url, "HEAD", timeout):
            return True
    except UfsError:
        return False
