"""Replicas of the service under test behind HAProxy (`target.replicas`, phases with `scale_to`).

The gate starts the first `target.replicas` instances on ports of their own, HAProxy in front of
them (sla/balancer.py), and writes each running replica into the file from which Prometheus'
`server` job takes its targets. At the start of a phase with `scale_to: M` it starts the missing
replicas fresh and enables their balancer slots (routing decides when traffic reaches them), or
drains the surplus ones and stops them once their requests have finished. Each event is kept, with
each new replica's start and the moment its own readiness endpoint answered, for run.json.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from sla.balancer import Balancer, slot_name, start_balancer
from sla.probe import ReadyWatch
from sla.processes import LOOPBACK, ManagedProcess, free_port

DRAIN_TIMEOUT_S = 30.0


class ReplicaSet:
    def __init__(self, count: int, slots: int, start_replica: Callable[[int, int], ManagedProcess], run_dir: Path,
                 probe_path: str | None, routing: str, slowstart_s: float, ready_timeout_s: float, out: TextIO) -> None:
        self.count, self.start_replica, self.run_dir, self.out = count, start_replica, run_dir, out
        self.probe_path, self.routing, self.slowstart_s, self.ready_timeout_s = probe_path, routing, slowstart_s, ready_timeout_s
        self.ports = [free_port() for _ in range(slots)]
        self.port, self.metrics_port = free_port(), free_port()  # HAProxy's front and its exporter
        self.procs: dict[int, ManagedProcess] = {}  # running now
        self.started: dict[int, ManagedProcess] = {}  # every replica started, stopped ones too
        self.watches: dict[int, ReadyWatch] = {}
        self.starts: dict[int, float] = {}
        self.events: list[dict[str, Any]] = []
        self.targets_file = run_dir / "prometheus" / "server_targets.json"
        self.balancer: Balancer | None = None
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.write_targets()

    # -- the replicas -------------------------------------------------------------------------
    def _start(self, index: int) -> None:
        proc = self.start_replica(index, self.ports[index])
        self.procs[index] = self.started[index] = proc
        self.starts[index] = proc.started_at
        self.watches[index] = ReadyWatch(f"http://{LOOPBACK}:{self.ports[index]}", self.probe_path, proc.alive, self.ready_timeout_s).start()

    def start_balancer(self) -> Balancer:
        """HAProxy first, with every slot down (nothing listens yet): Prometheus scrapes its counters
        before the first request goes through it, so each phase's answers per replica are exact."""
        self.balancer = start_balancer(self.run_dir, self.ports, self.count, self.probe_path, self.routing, self.slowstart_s,
                                       self.port, self.metrics_port)
        print(f"HAProxy on {self.balancer.url} in front of {self.count} replica(s) (routing {self.routing}); "
              f"config {self.run_dir / 'haproxy.cfg'}", file=self.out, flush=True)
        return self.balancer

    def start_replicas(self) -> None:
        for i in range(self.count):
            self._start(i)
        self.write_targets()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def first(self) -> ManagedProcess:
        return self.procs[0]

    def write_targets(self) -> None:
        """Prometheus' file_sd targets: the running replicas, each labelled with its balancer slot."""
        self.targets_file.parent.mkdir(parents=True, exist_ok=True)
        doc = [{"targets": [f"{LOOPBACK}:{self.ports[i]}"], "labels": {"replica": slot_name(i)}} for i in sorted(self.procs)]
        tmp = self.targets_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc))
        tmp.replace(self.targets_file)

    # -- scale events -----------------------------------------------------------------------------
    def scale_to(self, phase: str, to: int) -> None:
        """At the start of `phase`: to `to` replicas. New ones start here, on the caller's (main)
        thread: a child's PR_SET_PDEATHSIG fires when the thread that started it ends. Surplus ones
        drain in the background and stop once their requests have finished."""
        assert self.balancer is not None
        with self._lock:
            running = sorted(self.procs)
            event: dict[str, Any] = {"phase": phase, "at": time.time(), "from": len(running), "to": to, "routing": self.routing,
                                     "added": [], "removed": []}
            self.events.append(event)
            for index in range(len(running), to):
                self._start(index)
                self.balancer.enable(index)
                event["added"].append({"replica": slot_name(index), "port": self.ports[index], "start": self.starts[index]})
            self.write_targets()
        surplus = running[to:][::-1]
        if surplus:
            thread = threading.Thread(target=self._drain, args=(event, surplus), name=f"drain-{phase}", daemon=True)
            thread.start()
            self._threads.append(thread)
        print(f"phase {phase}: scaling from {event['from']} to {to} replica(s)"
              + (f", draining {', '.join(slot_name(i) for i in surplus)}" if surplus else ""), file=self.out, flush=True)

    def _drain(self, event: dict[str, Any], surplus: list[int]) -> None:
        assert self.balancer is not None
        for index in surplus:
            self.balancer.drain(index)
            drained = self.balancer.wait_drained(index, DRAIN_TIMEOUT_S)
            self.balancer.retire(index)
            with self._lock:
                proc = self.procs.pop(index)
                self.write_targets()
            proc.stop()
            event["removed"].append({"replica": slot_name(index), "port": self.ports[index], "drained": drained, "stopped": time.time()})

    # -- the end ----------------------------------------------------------------------------------
    def describe(self, cpu: Callable[[ManagedProcess], dict[str, Any] | None] = lambda p: None) -> dict[str, Any]:
        """What run.json keeps: each replica's slot, port, start and ready times (and its CPU limit,
        described by `cpu`); the scale events."""
        for t in self._threads:
            t.join(DRAIN_TIMEOUT_S + 10)
        replicas = [{"replica": slot_name(i), "port": self.ports[i], "start": self.starts[i],
                     "ready": self.watches[i].ready_at if i in self.watches else None,
                     **({"cpu": described} if (described := cpu(self.started[i])) else {})} for i in sorted(self.starts)]
        for event in self.events:
            for added in event["added"]:
                added["ready"] = next(r["ready"] for r in replicas if r["replica"] == added["replica"])
        return {"count": self.count, "routing": self.routing, "balancer": self.balancer.url if self.balancer else None,
                "replicas": replicas, "scale_events": self.events}

    def stop(self) -> None:
        for watch in self.watches.values():
            watch.stop()
        for proc in self.procs.values():
            proc.stop()
        if self.balancer is not None:
            self.balancer.process.stop()
