"""Running a sweep on a Dask cluster (local by default, or an existing scheduler).

The same code path serves both: a `distributed.Client` to a `LocalCluster`
(processes on 127.0.0.1) or to `--scheduler tcp://HOST:PORT`. Each
(point, workload) is one task keyed by its result key; results are stored
as they complete (`Store.append`), so a crash, Ctrl-C or a lost worker
costs only the tasks in flight, and the next run with the same spec runs
only what is missing. Dask itself re-runs a task whose worker died.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tlm.api import workload_digest, workload_object
from tlm.dse.points import Point, check_size, grid, random_points, run_key
from tlm.dse.spec import SweepSpec, point_arch
from tlm.dse.store import Store
from tlm.dse.version import model_version
from tlm.dse.worker import run_task
from tlm.errors import InputError


@dataclass
class Stats:
    points: int = 0    # (point, workload) runs the sweep asked for
    ran: int = 0       # simulated now (ok or failed)
    skipped: int = 0   # already stored
    failed: int = 0    # simulated now and failed (recorded with the error)
    lost: int = 0      # not finished (worker lost too often, interrupted): re-run next time
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, int]:
        return {"points": self.points, "ran": self.ran, "skipped": self.skipped, "failed": self.failed}


def open_client(workers: int | None, scheduler: str | None) -> tuple[Any, Any]:
    """(client, cluster or None): a new LocalCluster, or a client of `scheduler`."""
    import logging

    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    if scheduler:
        try:
            return Client(scheduler, timeout="10s"), None
        except (OSError, TimeoutError, ValueError) as e:
            raise InputError("--scheduler", scheduler, f"cannot connect: {e}") from None
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=logging.ERROR)
    return Client(cluster), cluster


class Sweep:
    """One sweep of `spec` into `out`, its tasks submitted through `client`."""

    def __init__(self, spec: SweepSpec, out: str, connect: Callable[[], tuple[Any, Any]], *,
                 progress: bool = True, max_points: int = 10_000) -> None:
        check_size(spec, max_points)
        self.spec = spec
        self._connect = connect
        self._client: Any = None
        self._cluster: Any = None
        self.store = Store(out)
        self.version = model_version()
        self.objs = [workload_object(s) for s in spec.sources]
        self.digests = [workload_digest(o) for o in self.objs]
        self.done = self.store.done()
        self.stats = Stats()
        self.progress = progress
        self.bar: Any = None

    @property
    def client(self) -> Any:
        """The Dask client, connected (or the local cluster started) on first use."""
        if self._client is None:
            self._client, self._cluster = self._connect()
            self._client.run(_warm_up)  # imports on every worker now, not in the first tasks
        return self._client

    def workers(self) -> int:
        return len(self.client.scheduler_info().get("workers", {})) or 1

    # -- tasks -------------------------------------------------------------
    def task(self, point: Point, w: int) -> dict[str, Any]:
        """The task of (point, workload w); `arch` None when the point's arch is invalid."""
        spec = self.spec
        try:
            arch = point_arch(spec.base, point)
            key = run_key(arch, self.digests[w], self.version, spec.functional)
            arch_d: dict[str, Any] | None = arch.to_dict()
            error = ""
        except InputError as e:
            key = run_key(spec.base, self.digests[w] + json.dumps(point, sort_keys=True),
                          self.version, spec.functional)
            arch_d, error = None, f"error: {e.where}: {e.what}"
        return {"key": key, "point": point, "workload": spec.workloads[w], "obj": self.objs[w],
                "arch": arch_d, "functional": spec.functional, "error": error}

    def run(self, tasks: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Run the tasks not yet stored; returns the row of every task (stored or new)."""
        from distributed import as_completed

        rows: dict[str, dict[str, Any]] = {}
        todo: list[dict[str, Any]] = []
        local: list[dict[str, Any]] = []
        seen: set[str] = set()
        for t in tasks:
            self.stats.points += 1
            if t["key"] in self.done or t["key"] in seen:  # stored, or asked twice in this wave
                self.stats.skipped += 1
                if t["key"] in self.done:
                    rows[t["key"]] = self.done[t["key"]]
                continue
            seen.add(t["key"])
            if t["arch"] is None:
                local.append({"row": {"key": t["key"], "workload": t["workload"], **t["point"],
                                      "status": t["error"], "sim_s": 0.0}, "layers": []})
            else:
                todo.append(t)
        self._bar_total(len(todo) + len(local))
        self._record(local, rows)
        if not todo:
            return rows
        futures = [self.client.submit(run_task, {k: v for k, v in t.items() if k != "error"},
                                      key=f"tlmsim-{t['key']}", pure=False) for t in todo]
        try:
            for batch in as_completed(futures).batches():
                got = []
                for f in batch:
                    try:
                        got.append(f.result())
                    except Exception as e:  # KilledWorker, cancelled: not the point's fault
                        self.stats.lost += 1
                        self.stats.errors.append(f"{type(e).__name__}: {e}")
                self._record(got, rows)
        finally:
            for f in futures:
                if not f.done():
                    f.cancel()
        return rows

    def _record(self, results: list[dict[str, Any]], rows: dict[str, dict[str, Any]]) -> None:
        if not results:
            return
        self.store.append([r["row"] for r in results], [x for r in results for x in r["layers"]])
        for r in results:
            row = r["row"]
            rows[row["key"]] = row
            self.done[row["key"]] = row
            self.stats.ran += 1
            if row["status"] != "ok":
                self.stats.failed += 1
        if self.bar is not None:
            self.bar.update(len(results))

    def _bar_total(self, n: int) -> None:
        if not self.progress or n == 0:
            return
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=n, unit="run", file=sys.stderr, desc="sweep", disable=None)
        else:
            self.bar.total += n
            self.bar.refresh()

    def close(self) -> Any:
        """Stop the progress bar and the cluster; consolidate and return the results."""
        if self.bar is not None:
            self.bar.close()
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        order = list(self.spec.axes) + ["workload"]
        return self.store.consolidate(order)


def _warm_up() -> None:
    import tlm.blocks  # noqa: F401
    import tlm.dse.worker  # noqa: F401
    import tlm.predict.features  # noqa: F401
    import tlm.workload  # noqa: F401


def run_points(sweep: Sweep, points: list[Point]) -> None:
    """Grid/random: every point with every workload."""
    sweep.run(sweep.task(p, w) for p in points for w in range(len(sweep.objs)))


def select_points(spec: SweepSpec) -> list[Point]:
    return grid(spec) if spec.strategy == "grid" else random_points(spec)
