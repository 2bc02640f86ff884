"""The load generator's Prometheus endpoint, without stalling the arrival clock.

Rendering the exposition costs tens of milliseconds (thousands of histogram samples). Done on
Locust's gevent loop, every scrape blocked the arrival dispatcher for that long, which showed as
scheduling lag (P99 ~40 ms at 10 arrivals/s). So a scrape copies the state on the loop (well
under a millisecond) and renders the copy in a native thread of gevent's threadpool, where the
interpreter hands the loop the GIL back every few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gevent import get_hub
from gevent.pywsgi import WSGIServer
from locust.runners import MasterRunner
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.utils import floatToGoString

from sla.loadgen.histograms import CounterSet, HistogramSet, header, label_text
from sla.loadgen.state import running_state

REQUEST_LABELS = ("phase", "name", "outcome", "timing")


@dataclass
class Snapshot:
    """A copy of what the master exposes, taken at scrape time on the event loop."""

    run_id: str
    phases: list[str]
    phase: str
    hist: HistogramSet
    lag: HistogramSet
    arrivals: CounterSet
    answers: CounterSet
    cpu: float
    users: int
    workers: int
    first_request: tuple[float, float] | None


def snapshot(environment: Any) -> Snapshot:
    state = running_state(environment)
    runner = environment.runner
    master = isinstance(runner, MasterRunner)
    return Snapshot(
        run_id=state.run_id, phases=[p.name for p in state.scenario.phases], phase=state.phase,
        hist=state.hist.copy(), lag=state.lag.copy(), arrivals=state.arrivals.copy(), answers=state.answers.copy(),
        cpu=max((c.cpu_usage for c in runner.clients.values()), default=0.0) if master else runner.current_cpu_usage,
        users=runner.user_count if runner else 0, workers=runner.worker_count if master else 1,
        first_request=state.first_request,
    )


def _gauge(name: str, documentation: str, value: float, labels: str = "") -> str:
    return f"{header(name, documentation, 'gauge')}{name}{'{' + labels + '}' if labels else ''} {floatToGoString(value)}\n"


def render(snap: Snapshot) -> bytes:
    """The exposition of a snapshot, in Prometheus' text format (written directly: see HistogramSet.text)."""
    s = snap
    parts = [
        s.hist.text("loadgen_request_duration_seconds", "Request duration as the load generator saw it "
                    "(timing=actual: from the send; timing=intended: from the arrival clock).", s.run_id, REQUEST_LABELS),
        s.lag.text("loadgen_schedule_lag_seconds", "Actual minus intended send time of arrival-rate requests.", s.run_id, ("phase",)),
        s.arrivals.text("loadgen_arrivals", "Arrivals of arrival-rate phases: sent, or dropped at the in-flight limit.", s.run_id, ("phase", "result")),
        s.answers.text("loadgen_answers", "Scored answers to payloads with an expected text: answers, lines and characters "
                       "expected, exact lines, character errors (measure).", s.run_id, ("phase", "name", "measure")),
        _gauge("loadgen_cpu_percent", "CPU of the busiest load-generator process (100 = one core).", s.cpu),
        _gauge("loadgen_users", "Users running now.", s.users),
        _gauge("loadgen_workers", "Load-generator processes sending requests.", s.workers),
        header("loadgen_phase", "1 for the phase running now.", "gauge") + "".join(
            f"loadgen_phase{{{label_text(('run_id', 'phase'), (s.run_id, name))}}} {1.0 if name == s.phase else 0.0}\n"
            for name in s.phases),
    ]
    duration, ended = (s.first_request[1], s.first_request[0]) if s.first_request else (0.0, 0.0)
    parts.append(_gauge("loadgen_first_request_duration_seconds", "The run's first request (0 before).", duration))
    parts.append(_gauge("loadgen_first_request_timestamp_seconds", "When the first request ended (0 before).", ended))
    return "".join(parts).encode()


def exposition(environment: Any) -> bytes:
    """The exposition now, rendered off the event loop."""
    return get_hub().threadpool.apply(render, (snapshot(environment),))


class MetricsServer:
    """`GET /metrics` on a loopback port; counts its scrapes (`scrapes`)."""

    def __init__(self, environment: Any, port: int, host: str = "127.0.0.1") -> None:
        self.environment = environment
        self.scrapes = 0
        self.server = WSGIServer((host, port), self._app, log=None, error_log=None)

    def start(self) -> None:
        self.server.start()  # binds now: OSError when the port is taken

    def stop(self) -> None:
        self.server.stop(timeout=2)

    def _app(self, environ: dict, start_response: Any) -> list[bytes]:
        if environ.get("PATH_INFO", "/") not in ("/", "/metrics"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found: GET /metrics\n"]
        self.scrapes += 1
        body = exposition(self.environment)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
        return [body]
