"""The reports (the master layer above Cache): ``fsadmin report`` summary, capacity (with
CapacityCommand's short and per-tier worker tables) and metrics (the counters kept in the
state and gauges from the cache view, sorted like Alluxio prints them), and the mount-table
listing that ``fs mount`` and ``fsadmin report ufs`` print; Alluxio 2.9's layouts, which
Fluid parses by line prefix and field position."""

from __future__ import annotations

import datetime as _dt
import urllib.parse
from typing import List, Tuple

from .cache import Cache
from .cluster import ALLUXIO_VERSION
from .formats import alluxio_date, alluxio_size, alluxio_uptime, java_grouped


class Reports(Cache):
    """Writes the reports to ``out``."""

    def report_summary(self) -> None:
        conf = self.conf()
        view = self.cache_view()
        pod = self.cluster.master_pod() or {}
        started = self.state.get("started_ms", self.now_ms)
        start_time = (pod.get("status") or {}).get("startTime")
        if start_time:
            try:
                started = int(_dt.datetime.strptime(start_time, "%Y-%m-%dT%H:%M:%SZ")
                              .replace(tzinfo=_dt.timezone.utc).timestamp() * 1000)
            except ValueError:
                pass
        rpc = conf.get("alluxio.master.rpc.port", "19998")
        w = self.out.write
        w("Alluxio cluster summary: \n")
        w("    Master Address: %s:%s\n" % (conf.get("alluxio.master.hostname"), rpc))
        w("    Web Port: %s\n" % conf.get("alluxio.master.web.port", "19999"))
        w("    Rpc Port: %s\n" % rpc)
        w("    Started: %s\n" % alluxio_date(started))
        w("    Uptime: %s\n" % alluxio_uptime(self.now_ms - started))
        w("    Version: %s\n" % ALLUXIO_VERSION)
        w("    Safe Mode: false\n")
        w("    Zookeeper Enabled: %s\n" % conf.get("alluxio.zookeeper.enabled", "false"))
        w("    Live Workers: %d\n" % view["workers"])
        w("    Lost Workers: 0\n")
        w("    Total Capacity: %s\n" % alluxio_size(view["capacity"]))
        for alias, total in view["tier_total"]:
            w("        Tier: %s  Size: %s\n" % (alias, alluxio_size(total)))
        w("    Used Capacity: %s\n" % alluxio_size(view["used"]))
        for alias, used in view["tier_used"]:
            w("        Tier: %s  Size: %s\n" % (alias, alluxio_size(used)))
        w("    Free Capacity: %s\n" % alluxio_size(view["capacity"] - view["used"]))

    def report_capacity(self) -> None:
        view = self.cache_view()
        w = self.out.write
        w("Capacity information for all workers: \n")
        w("    Total Capacity: %s\n" % alluxio_size(view["capacity"]))
        for alias, total in view["tier_total"]:
            w("        Tier: %s  Size: %s\n" % (alias, alluxio_size(total)))
        w("    Used Capacity: %s\n" % alluxio_size(view["used"]))
        for alias, used in view["tier_used"]:
            w("        Tier: %s  Size: %s\n" % (alias, alluxio_size(used)))
        if view["capacity"]:
            pct = int(100 * view["used"] // view["capacity"])
            w("    Used Percentage: %d%%\n" % pct)
            w("    Free Percentage: %d%%\n" % (100 - pct))
        if not view["hosts"] or not view["tiers"]:
            return
        name_w = max(16, max(len(h["host"]) for h in view["hosts"]))
        aliases = [a for a, _ in view["tiers"]]
        if len(aliases) == 1:
            # CapacityCommand.printShortWorkerInfo
            fmt = "%-" + str(name_w) + "s %-16s %-13s %s\n"
            w("\n" + fmt % ("Worker Name", "Last Heartbeat", "Storage", aliases[0]))
            for h in view["hosts"]:
                pct = int(100 * h["used"] // h["capacity"]) if h["capacity"] else 0
                w(fmt % (h["host"], "0", "capacity", alluxio_size(h["capacity"])))
                w(fmt % ("", "", "used", "%s (%d%%)" % (alluxio_size(h["used"]), pct)))
        else:
            # CapacityCommand.printWorkerInfo: a Total column, then one per tier
            fmt = "%-" + str(name_w) + "s %-16s %-13s %-16s %s\n"
            tiers_hdr = "".join("%-14s" % a for a in aliases).rstrip()
            w("\n" + fmt % ("Worker Name", "Last Heartbeat", "Storage", "Total", tiers_hdr))
            for h in view["hosts"]:
                pct = int(100 * h["used"] // h["capacity"]) if h["capacity"] else 0
                cap = "".join("%-14s" % alluxio_size(q) for _, q, _ in h["tiers"]).rstrip()
                used = "".join("%-14s" % alluxio_size(u) for _, _, u in h["tiers"]).rstrip()
                w(fmt % (h["host"], "0", "capacity", alluxio_size(h["capacity"]), cap))
                w(fmt % ("", "", "used", "%s (%d%%)" % (alluxio_size(h["used"]), pct), used))

    def report_metrics(self) -> None:
        view = self.cache_view()
        files, dirs = self.namespace()
        counters = self.state.get("counters") or {}
        minute_ago = self.now_ms - 60000
        reads = [r for r in self.state.get("ufs_reads") or [] if r[0] >= minute_ago]
        self.state["ufs_reads"] = reads
        ufs_rate = sum(b for _, b in reads)
        metrics: List[Tuple[str, str, str]] = []

        def byte_counter(name, value):
            metrics.append((name, "COUNTER", alluxio_size(value)))

        def byte_rate(name, value):
            metrics.append((name, "GAUGE", alluxio_size(value) + "/MIN"))

        def gauge(name, value):
            metrics.append((name, "GAUGE", java_grouped(value)))

        def counter(name, value):
            metrics.append((name, "COUNTER", java_grouped(value)))

        # No client reads through Alluxio here (no FUSE): local/remote reads stay 0.
        for kind in ("Alluxio", "Domain", "Local", "Remote"):
            byte_counter("Cluster.BytesRead%s" % kind, 0)
            byte_rate("Cluster.BytesRead%sThroughput" % kind, 0)
        byte_counter("Cluster.BytesReadUfsAll", counters.get("Cluster.BytesReadUfsAll", 0))
        byte_rate("Cluster.BytesReadUfsThroughput", ufs_rate)
        for kind in ("Alluxio", "Domain", "Local", "UfsAll"):
            byte_counter("Cluster.BytesWritten%s" % kind, 0)
        for kind in ("Alluxio", "Domain", "Local", "Ufs"):
            byte_rate("Cluster.BytesWritten%sThroughput" % kind, 0)
        gauge("Cluster.CapacityTotal", view["capacity"])
        gauge("Cluster.CapacityUsed", view["used"])
        gauge("Cluster.CapacityFree", view["capacity"] - view["used"])
        for (alias, total), (_, used) in zip(view["tier_total"], view["tier_used"]):
            gauge("Cluster.CapacityTotalTier%s" % alias, total)
            gauge("Cluster.CapacityUsedTier%s" % alias, used)
            gauge("Cluster.CapacityFreeTier%s" % alias, total - used)
        gauge("Cluster.Workers", view["workers"])
        counter("Master.FilesCompleted", len(files))
        counter("Master.FilesFreed", counters.get("Master.FilesFreed", 0))
        counter("Master.FreeFileOps", counters.get("Master.FreeFileOps", 0))
        counter("Master.MountOps", counters.get("Master.MountOps", 0))
        counter("Master.PathsMounted", counters.get("Master.PathsMounted", 0))
        counter("Master.PathsUnmounted", counters.get("Master.PathsUnmounted", 0))
        counter("Master.UnmountOps", counters.get("Master.UnmountOps", 0))
        gauge("Master.TotalPaths", len(files) + len(dirs))
        for name, mtype, value in sorted(metrics):
            self.out.write("%s  (Type: %s, Value: %s)\n" % (name, mtype, value))

    def print_mount_table(self) -> None:
        table = self.mount_table()
        rows = []
        for path in sorted(table):
            info = table[path]
            scheme = urllib.parse.urlsplit(info["ufs"]).scheme or "local"
            ufs_type = {"http": "web", "https": "web", "s3a": "s3", "file": "local"}.get(scheme, scheme)
            cap = "capacity=-1B, used=-1B" if ufs_type == "web" else "capacity=0B, used=-1B"
            props = "{" + ", ".join("%s=%s" % kv for kv in sorted(info.get("options", {}).items())) + "}"
            rows.append((info["ufs"], path, "(%s, %s, %sread-only, %sshared, properties=%s)" % (
                ufs_type, cap, "" if info.get("readonly") else "not ",
                "" if info.get("shared") else "not ", props)))
        ufs_w = max(len(r[0]) for r in rows)
        path_w = max(len(r[1]) for r in rows)
        for ufs, path, desc in rows:
            self.out.write("%-*s  on  %-*s  %s\n" % (ufs_w, ufs, path_w, path, desc))
