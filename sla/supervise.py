"""Supervising the processes of a run while it runs: holding the start until Prometheus scrapes the
load generator, progress until Locust ends, and what to do when a part exits early (the service
under test: stop the load and judge what was measured; the gate's own Prometheus or Locust: stop
the run, exit 3; a port lost to a race: start again)."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import TextIO

import requests

from sla.prometheus.client import PromReader
from sla.analysis.promql import LOADGEN_JOB
from sla.errors import SlaError
from sla.probe import ReadyWatch
from sla.processes import ManagedProcess, PortClash
from sla.progress import Progress, current_phase
from sla.scenario import Scenario

SCRAPE_WAIT_S = 60.0
PROGRESS_EVERY_S = 2.0
PHASE_POLL_S = 0.3  # with scale events: how often the phase is read


def wait_until_scraped(reader: PromReader, process: ManagedProcess, target: str, clash_retried: bool, job: str = LOADGEN_JOB,
                        what: str = "the load generator") -> None:
    """Hold the run (Locust holds the first request itself) until Prometheus scrapes the load
    generator (and HAProxy, before the replicas start behind it). PortClash when the process lost a
    port the gate picked."""
    deadline = time.monotonic() + SCRAPE_WAIT_S
    while time.monotonic() < deadline:
        if not process.alive():
            error = PortClash if clash_retried and process.lost_its_port() else SlaError
            raise error(f"{process.name} exited before the run started; {process.log_path} ends:\n{process.log_tail()}")
        if reader.scalar(f'max(up{{job="{job}",instance="{target}"}})') == 1:
            return
        time.sleep(0.2)
    raise SlaError(f"Prometheus at {reader.url} did not scrape {what} ({target}, job {job!r}) "
                   f"within {SCRAPE_WAIT_S:.0f} s; with --prometheus, add the scrape config printed above")


def exit_info(process: ManagedProcess, started: float) -> dict:
    """How and when a child exited: code or signal, seconds into the run, and its log tail."""
    code = process.proc.returncode if process.proc else None
    how = f"killed by signal {-code} ({signal.Signals(-code).name})" if code is not None and code < 0 else f"exit code {code}"
    return {"how": how, "code": code, "at": time.time(), "after_s": round(time.time() - started, 1), "log_tail": process.log_tail()}


def watch(locust: ManagedProcess, server: ManagedProcess | None, ready: ReadyWatch | None, prom: ManagedProcess | None,
           scenario: Scenario, metrics_url: str, out: TextIO, expect_workers: int = 0,
           on_phase: Callable[[str], None] | None = None) -> dict | None:
    """Progress until Locust ends. A service under test that dies ends the run early (the verdict is
    FAIL, on what was measured until then): returns how it died. The gate's own Prometheus or
    Locust dying stops the run at once (exit 3): without them nothing can be judged. A service that
    exits before it was ever ready because its port was taken is a PortClash, not a FAIL."""
    progress = Progress(scenario, out, expect_workers)
    started = time.time()
    seen_phase = ""
    while locust.alive():
        if prom is not None and not prom.alive():
            info = exit_info(prom, started)
            raise SlaError(f"the gate's Prometheus ({prom.pid}) exited {info['after_s']} s into the run ({info['how']}): "
                           f"the run cannot be judged; {prom.log_path} ends:\n{info['log_tail']}")
        if server is not None and not server.alive():
            if ready is not None and ready.ready_at is None and server.lost_its_port():
                raise PortClash(f"the {server.name} could not listen on its port; {server.log_path} ends:\n{server.log_tail()}")
            died = exit_info(server, started)
            print(f"the {server.name} exited {died['after_s']} s into the run ({died['how']}); stopping the load and "
                  "judging what was measured", file=out)
            locust.stop()  # on SIGINT Locust closes the phase windows and writes run.json
            progress.done()
            return died
        try:
            text = requests.get(metrics_url, timeout=2).text
            if on_phase is None or progress.due():
                progress.update(text)
            if on_phase is not None and (phase := current_phase(text)) and phase != seen_phase:
                seen_phase = phase
                on_phase(phase)  # a scale event: within PHASE_POLL_S of the phase's start
        except requests.RequestException:
            pass  # not up yet, or lingering after the run
        for _ in range(int((PHASE_POLL_S if on_phase else PROGRESS_EVERY_S) / 0.1)):
            if not locust.alive():
                break
            time.sleep(0.1)
    progress.done()
    return None
