"""Alluxio 2.9's own output formats (sizes, grouped numbers, dates, uptimes) and the
Alluxio-path helpers every part of the simulator uses; pure functions, no state."""

from __future__ import annotations

import datetime as _dt
import posixpath


def alluxio_size(num_bytes: int) -> str:
    """alluxio.util.FormatUtils.getSizeFromBytes: 5x thresholds, binary units
    printed as B/KB/MB/GB/TB/PB, e.g. 2 GiB -> '2048.00MB', 12 GiB -> '12.00GB'."""
    ret = float(num_bytes)
    if ret <= 1024 * 5:
        return "%dB" % num_bytes
    for unit in ("KB", "MB", "GB", "TB"):
        ret /= 1024
        if ret <= 1024 * 5:
            return "%.2f%s" % (ret, unit)
    ret /= 1024
    return "%.2fPB" % ret


def java_grouped(n: int) -> str:
    """Values of non-byte metrics: DecimalFormat('###,###')."""
    return "{:,}".format(int(n))


def alluxio_date(ms: int) -> str:
    """CommonUtils.convertMsToDate: 'MM-dd-yyyy HH:mm:ss:SSS' (local time)."""
    t = _dt.datetime.fromtimestamp(ms / 1000.0)
    return t.strftime("%m-%d-%Y %H:%M:%S:") + "%03d" % (ms % 1000)


def alluxio_uptime(ms: int) -> str:
    secs = max(0, int(ms // 1000))
    days, secs = divmod(secs, 86400)
    hours, secs = divmod(secs, 3600)
    minutes, secs = divmod(secs, 60)
    return "%d day(s), %d hour(s), %d minute(s), and %d second(s)" % (days, hours, minutes, secs)


def norm_path(path: str) -> str:
    if not path:
        return "/"
    path = posixpath.normpath("/" + path.lstrip("/"))
    return "/" if path in ("/", "//") else path


def is_under(path: str, root: str) -> bool:
    return root == "/" or path == root or path.startswith(root.rstrip("/") + "/")
