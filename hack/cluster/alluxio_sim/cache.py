"""Cache accounting (the master layer above Mounts): capacity is the READY worker pods times
the runtime's per-tier quotas; used bytes are the files marked loaded (``fs load`` /
``fs distributedLoad`` and every DataLoad of the dataset that Fluid marked Complete, applied
once each) times their replicas bounded by the live workers, capped at the capacity and
spread over tiers and workers in order (cache_view); no byte is ever stored."""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from simlib.common import CliError, pod_ready

from .cluster import runtime_tiers
from .formats import is_under, norm_path
from .mounts import Mounts


class Cache(Mounts):
    """Loaded files (state["cached"]: path -> replicas), DataLoads applied, the cache view."""

    def workers(self) -> List[Dict[str, Any]]:
        ready = [p for p in self.cluster.worker_pods() if pod_ready(p)]
        ready.sort(key=lambda p: p["metadata"]["name"])
        return ready

    def cache_view(self) -> Dict[str, Any]:
        tiers = runtime_tiers(self.cluster.runtime())
        workers = self.workers()
        n = len(workers)
        per_worker = sum(q for _, q in tiers)
        capacity = n * per_worker
        files, _ = self.namespace()
        raw_used = 0
        for path, replicas in (self.state.get("cached") or {}).items():
            if path in files:
                raw_used += files[path][0] * min(int(replicas), n)
        used = min(raw_used, capacity)
        tier_total = [(alias, q * n) for alias, q in tiers]
        tier_used = []
        remaining = used
        for alias, total in tier_total:
            take = min(remaining, total)
            tier_used.append((alias, take))
            remaining -= take
        hosts = []
        base, extra = (divmod(used, n) if n else (0, 0))
        for i, pod in enumerate(workers):
            w_used = base + (1 if i < extra else 0)
            w_tiers = []
            rem = w_used
            for alias, quota in tiers:
                take = min(rem, quota)
                w_tiers.append((alias, quota, take))
                rem -= take
            status = pod.get("status") or {}
            host = status.get("hostIP") or (pod.get("spec") or {}).get("nodeName") or pod["metadata"]["name"]
            hosts.append({"host": host, "capacity": per_worker, "used": w_used, "tiers": w_tiers})
        return {
            "tiers": tiers, "workers": n, "capacity": capacity, "used": used, "raw_used": raw_used,
            "tier_total": tier_total, "tier_used": tier_used, "hosts": hosts,
        }

    def in_alluxio(self, path: str, files, view) -> Tuple[int, int]:
        """(bytes under path, of which cached), the cached share scaled like the view's used bytes."""
        cached = self.state.get("cached") or {}
        scale = (view["used"] / view["raw_used"]) if view["raw_used"] else 0.0
        size = in_mem = 0
        for f, (s, _) in files.items():
            if is_under(f, path):
                size += s
                if f in cached:
                    in_mem += s
        return size, int(in_mem * scale)

    def cache_files(self, path: str, replicas: int) -> Tuple[int, int]:
        """Mark every file under path as loaded; returns (files, bytes newly read from the UFS)."""
        path = norm_path(path)
        self.ensure_metadata(path)
        files, dirs = self.namespace()
        self.require_exists(path, files, dirs)
        cached = self.state.setdefault("cached", {})
        count, new_bytes = 0, 0
        for f, (size, _) in files.items():
            if is_under(f, path):
                count += 1
                if f not in cached:
                    new_bytes += size
                cached[f] = max(int(cached.get(f, 0)), max(1, int(replicas or 1)))
        if new_bytes:
            self.counter("Cluster.BytesReadUfsAll", new_bytes)
            reads = self.state.setdefault("ufs_reads", [])
            reads.append([self.now_ms, new_bytes])
        return count, new_bytes

    def sync_dataloads(self) -> None:
        """Apply DataLoads of this dataset that Fluid marked Complete (once each run)."""
        applied = set(self.state.get("applied_dataloads") or [])
        for dl in self.cluster.dataloads():
            spec = dl.get("spec") or {}
            status = dl.get("status") or {}
            target = spec.get("dataset") or {}
            if target.get("name") != self.cluster.name:
                continue
            if target.get("namespace") not in (None, "", self.cluster.namespace):
                continue
            if status.get("phase") != "Complete":
                continue
            key = "%s|%s" % (dl["metadata"].get("uid", dl["metadata"]["name"]), status.get("lastSuccessfulTime") or "")
            if key in applied:
                continue
            # No target: Fluid leaves targetPaths out of the Helm values (pkg/dataload/value.go:50, omitempty) and
            # the chart's default loads / with 1 replica (charts/fluid-dataloader/alluxio/values.yaml:43-48).
            for t in spec.get("target") or [{"path": "/", "replicas": 1}]:
                if spec.get("loadMetadata"):
                    self.ensure_metadata(norm_path(t.get("path", "/")), refresh=True)
                try:
                    self.cache_files(t.get("path", "/"), int(t.get("replicas") or 1))
                except CliError as exc:
                    self.err.write("alluxio-sim: DataLoad %s: %s\n" % (dl["metadata"]["name"], exc))
            applied.add(key)
            self.state.setdefault("applied_dataloads", []).append(key)
