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
from typing import Any, cast

import gevent
from gevent.local import local
from gevent.lock import Semaphore
from gevent.pool import Pool
from locust.contrib.fasthttp import FastHttpSession

from sla.errors import SlaError
from sla.loadgen.user import SlaUser
from sla.scenario.arrivals import offsets
from sla.scenario.phases import ArrivalRatePhase


log = logging.getLogger("sla.loadgen")


class ArrivalContext:
    """The `user` of the dispatcher's FastHttpSession: Locust merges `user.context()` into every
    request's context, so each request carries the phase and lag of its own arrival (greenlet-local),
    whatever the locustfile's `send` passes."""

    def __init__(self) -> None:
        self.local = local()

    def context(self) -> dict[str, Any]:
        return getattr(self.local, "context", {})


def sender_class(environment: Any) -> type[SlaUser]:
    """The locustfile's user class whose `send` the dispatcher calls."""
    for cls in environment.user_classes:
        if issubclass(cls, SlaUser):
            if cls.host is None:  # as Locust's runner does when it spawns users (none spawn in arrival-only runs)
                cls.host = environment.host
            return cls
    raise SlaError("arrival_rate phases need a user class derived from sla.loadgen.user.SlaUser in the locustfile "
                   "(its send(client, payload) makes each request)")


class Dispatcher:
    def __init__(self, environment: Any, state: Any) -> None:
        self.environment = environment
        self.state = state  # the process's LoadgenState
        self.greenlets: list[gevent.Greenlet] = []
        self.pools: list[Pool] = []

    def start(self, phase: ArrivalRatePhase, start: float, worker: int, workers: int) -> None:
        self.greenlets = [g for g in self.greenlets if not g.dead]
        greenlet = gevent.spawn(self._run, phase, start, worker, workers)
        greenlet.link_exception(self._crashed)
        self.greenlets.append(greenlet)

    def _crashed(self, greenlet: gevent.Greenlet) -> None:
        log.error("the arrival dispatcher failed: %r; the phase's arrivals were not sent", greenlet.exception)
        self.environment.process_exit_code = 3

    def stop(self, drain_s: float = 0.0) -> None:
        """Stop sending arrivals; let the requests already sent finish (up to `drain_s`), so the
        last ones of a run are counted instead of cut off."""
        gevent.killall(self.greenlets, block=True, timeout=1)
        self.greenlets = []
        deadline = time.monotonic() + drain_s
        for pool in self.pools:
            pool.join(timeout=max(0.0, deadline - time.monotonic()))
            pool.kill(block=False)
        self.pools = []

    def _run(self, phase: ArrivalRatePhase, start: float, worker: int, workers: int) -> None:
        state = self.state
        timeout = state.scenario.timeout
        tag = ArrivalContext()
        session = FastHttpSession(  # Locust asks its `user` only for context(): ArrivalContext stands in
            self.environment.host, self.environment.events.request, cast(Any, tag), concurrency=phase.connections,
            network_timeout=timeout, connection_timeout=timeout,
        )
        sender = sender_class(self.environment)(self.environment)
        connections = Semaphore(phase.connections)
        rng = random.Random(f"{phase.seed}-{worker}")
        pool = Pool(phase.max_in_flight)
        self.pools.append(pool)
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
            payload = rng.choices(state.corpus, weights=state.weights)[0]
            pool.spawn(self._send, sender, session, tag, connections, payload, phase.name, intended)
        pool.join()

    def _send(self, sender: SlaUser, session: FastHttpSession, tag: ArrivalContext, connections: Semaphore,
              payload: Any, phase: str, intended: float) -> None:
        with connections:
            tag.local.context = {"phase": phase, "lag": max(0.0, time.time() - intended)}  # lag + the wait for a connection
            sender.send(session, payload)
