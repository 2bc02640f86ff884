"""Open-model load for `arrival_rate` phases: a dispatcher greenlet per load-generator process.

It walks this process's share of the phase's arrival schedule (sla.scenario.arrivals). At each
arrival's intended time it starts a greenlet for the request (at most `max_in_flight` pending or
running; an arrival beyond that is dropped and counted) and records the scheduling lag (how late
the dispatcher itself was: the generator's health). The request then waits for one of the phase's
`connections` (wrk2's fixed connections) and is sent. Its latency is measured from the actual send
(Locust's response time: `timing=actual`) and from the intended send time (`timing=intended`,
which includes any wait for a connection: the correction for coordinated omission). Locust's
request event counts every request, so Locust's own stats see them as usual.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any

import gevent
from gevent.lock import Semaphore
from gevent.pool import Pool
from locust.contrib.fasthttp import FastHttpSession

from sla.loadgen.user import post_payload
from sla.scenario.arrivals import offsets
from sla.scenario.phases import ArrivalRatePhase


log = logging.getLogger("sla.loadgen")


class Dispatcher:
    def __init__(self, environment: Any) -> None:
        self.environment = environment
        self.greenlets: list[gevent.Greenlet] = []

    def start(self, phase: ArrivalRatePhase, start: float, worker: int, workers: int) -> None:
        self.greenlets = [g for g in self.greenlets if not g.dead]
        greenlet = gevent.spawn(self._run, phase, start, worker, workers)
        greenlet.link_exception(self._crashed)
        self.greenlets.append(greenlet)

    def _crashed(self, greenlet: gevent.Greenlet) -> None:
        log.error("the arrival dispatcher failed: %r; the phase's arrivals were not sent", greenlet.exception)
        self.environment.process_exit_code = 3

    def stop(self) -> None:
        gevent.killall(self.greenlets, block=False)
        self.greenlets = []

    def _run(self, phase: ArrivalRatePhase, start: float, worker: int, workers: int) -> None:
        state = self.environment.sla
        timeout = state.scenario.timeout
        session = FastHttpSession(
            self.environment.host, self.environment.events.request, None, concurrency=phase.connections,
            network_timeout=timeout, connection_timeout=timeout,
        )
        connections = Semaphore(phase.connections)
        rng = random.Random(f"{phase.seed}-{worker}")
        pool = Pool(phase.max_in_flight)
        for offset in offsets(phase.rate, phase.to_rate, phase.duration, phase.poisson, phase.seed, worker, workers):
            intended = start + offset
            wait = intended - time.time()
            if wait > 0:
                gevent.sleep(wait)
            if pool.full():
                state.arrivals.inc((phase.name, "dropped"))
                continue
            state.arrivals.inc((phase.name, "sent"))
            state.lag.observe((phase.name,), max(0.0, time.time() - intended))
            pool.spawn(self._send, session, connections, rng, phase.name, intended)
        pool.join()

    def _send(self, session: FastHttpSession, connections: Semaphore, rng: random.Random, phase: str, intended: float) -> None:
        with connections:
            waited = max(0.0, time.time() - intended)  # scheduling lag + the wait for a connection
            post_payload(session, self.environment.sla, rng, {"phase": phase, "lag": waited})
