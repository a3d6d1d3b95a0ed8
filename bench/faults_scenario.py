"""A fault scenario of `bench/faults.py`: its data dir, simulator, DB observer and driver
processes, how it waits for a run to go live and to end, and how it measures the run."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from faults_metrics import (
    FaultResult,
    one_line,
    repeated_requests,
    requests_after_recording,
)
from faults_observe import Observer, cell_of_request
from faults_process import DriverProcess

TERMINAL = {"completed", "cancelled", "budget-exceeded", "failed"}


@dataclass(frozen=True)
class Options:
    cells: int
    timeout: float
    latency_ms: float
    fraction: float
    outage_s: float
    concurrency: int
    startup_timeout: float = 300.0
    keep_data: bool = False


def poll(check: Callable[[], bool], timeout: float, every: float = 0.2) -> bool:
    """Whether ``check`` held before ``timeout`` (errors such as a locked DB count as no)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return True
        time.sleep(every)
    return False


class Scenario:
    """One fault's data dir, simulator, observer and drivers; `measure` fills the result."""

    def __init__(self, opts: Options, result: FaultResult, data: Path, sim_url: str) -> None:
        self.opts, self.result, self.data, self.sim_url = opts, result, data, sim_url
        self.observer = Observer(data)
        self.drivers: list[DriverProcess] = []
        self.run_id = ""
        self.total = 0
        self.verdict: bool | None = None  # a scenario's own condition, on top of the counts

    def driver(self, *extra: str) -> DriverProcess:
        argv = [
            str(Path(__file__).with_name("faults_driver.py")),
            "--data-dir", str(self.data),
            "--api-base", f"{self.sim_url}/v1",
            "--cases", str(self.opts.cells // 4),
            "--concurrency", str(self.opts.concurrency),
            # outlive the bench's own wait, so "no driver left" means the driver gave up
            "--wait-timeout", str(self.opts.startup_timeout + self.opts.timeout),
            *extra,
        ]  # fmt: skip
        process = DriverProcess(argv, self.data, len(self.drivers))
        self.drivers.append(process)
        return process

    def start_run(self, *extra: str, fraction: float | None = None) -> DriverProcess:
        """A driver with a live run, once ``fraction`` of its cells are recorded."""
        process = self.driver(*extra)
        started = process.wait_event("run", self.opts.startup_timeout)
        if started is None:
            raise RuntimeError(f"driver did not start a run: {process.last_words()}")
        self.run_id, self.total = started["run_id"], int(started["total"])
        wanted = int(self.total * (self.opts.fraction if fraction is None else fraction))

        def reached() -> bool:
            return self.observer.recorded(self.run_id) >= wanted

        if not poll(reached, self.opts.startup_timeout):
            raise RuntimeError(f"run never reached {wanted} recorded cells")
        return process

    def await_end(self, since: float, expected: str = "completed") -> str:
        """Poll until the run ends (or stops with nobody left to work on it); returns status.

        ``--timeout`` counts from now (a second process or a resume may take long to start
        on a loaded machine); the reported time counts from ``since``, the fault.
        """
        deadline = time.monotonic() + self.opts.timeout
        status, error, unread, orphaned = "unknown", None, None, 0
        while True:
            try:
                status, error = self.observer.status(self.run_id)
                unread = None
            except Exception as exc:  # e.g. the file locked by the outage itself
                unread = one_line(exc)
            if status in TERMINAL or status == expected or time.monotonic() >= deadline:
                break
            orphaned = 0 if any(d.alive() for d in self.drivers) else orphaned + 1
            if orphaned > 10:  # nobody is left to move the run on: no need to wait it out
                break
            time.sleep(0.2)
        r = self.result
        if unread:
            r.extra["db_read_error"] = unread
        r.final_status = status
        if status in TERMINAL:
            r.seconds_to_end = round(time.monotonic() - since, 1)
            r.outcome = f"{status} in {r.seconds_to_end} s"
        else:
            why = "no driver left" if not any(d.alive() for d in self.drivers) else "timeout"
            r.outcome = f"stuck (status={status}, {why})"
        if error:
            r.extra["run_error"] = one_line(error)
        return status

    def measure(self) -> None:
        """Cell counts and provider requests of the run, from the DB and the simulator."""
        r, obs = self.result, self.observer
        r.cells = obs.cells(self.run_id, self.total)
        keys = cell_of_request(obs.spec(self.run_id), self.opts.cells // 4)
        with urllib.request.urlopen(f"{self.sim_url}/stats/requests", timeout=10) as reply:
            log = json.loads(reply.read())["chat"]
        requests = [(e["at"], keys.get(e["key"])) for e in log]
        r.provider_requests = len(requests)
        r.after_recorded_requests = requests_after_recording(requests, obs.recorded_at(self.run_id))
        r.repeated_requests = repeated_requests(k for _, k in requests if k is not None)
        for d in self.drivers:
            if d.error:
                r.extra[f"driver{d.index}_error"] = d.error
        clean = r.cells.duplicated == 0 and r.after_recorded_requests == 0
        complete = r.expected_status != "completed" or r.cells.missing == 0
        ended_as_expected = r.final_status == r.expected_status and clean and complete
        r.ok = ended_as_expected and self.verdict is not False

    def close(self) -> None:
        try:
            for process in self.drivers:
                process.stop()
        finally:
            for process in self.drivers:
                process.tree.reap(grace_s=1.0)
            self.observer.close()
