"""Why a run measured what it did (sla/explain): the arithmetic over a phase's readings, without a
server. The e2e tests (tests/gate/test_explain_e2e.py) read the same figures from real runs."""

from __future__ import annotations

import pytest

from sla.analysis.stats import Buckets
from sla.explain.evidence import Part, PhaseEvidence
from sla.explain.findings import breakdown, explain, load
from sla.explain.queueing import highest_rate, samples_from, simulated_percentile
from sla.objectives.base import Objective

P99 = Objective("steady.latency.p99", "latency", "steady", "loadgen", 0.6, 99.0)


def hist(*pairs: tuple[float, float]) -> Buckets:
    return Buckets.from_pairs({**dict(pairs), float("inf"): pairs[-1][1]})


def evidence(phase="steady", asked=10.0, served=None, queue=(0.0, 0.0), server_mean=0.12, workers=1, cpu=None, cores=1.0,
             client_mean=0.13, throttled=None, stages=(), completed=None) -> PhaseEvidence:
    duration = 60.0
    served_n = (served if served is not None else asked) * duration
    client = Part("client", client_mean, client_mean, client_mean * 3, hist((client_mean / 2, 0), (client_mean, 50), (client_mean * 4, 100)))
    ev = PhaseEvidence(phase, "arrival_rate", duration, asked, served_n, served_n / duration, 0.0, 0.0, client,
                       server=Part("server", server_mean, server_mean, server_mean * 3, hist((server_mean / 2, 0), (server_mean, 50), (server_mean * 4, 100))),
                       queue=Part("queue wait", (queue[0] + queue[1]) / 2), stages=list(stages), served=served_n,
                       cpu_seconds=cpu * served_n if cpu else None, cores=cores, cores_from="its CPU limit", workers=workers,
                       queue_trend=queue, completed_rate=completed, throttled=throttled)
    return ev


def test_a_server_asked_more_than_its_service_time_allows_is_saturated_with_its_capacity():
    ev = evidence(asked=10.0, served=8.3, queue=(0.05, 2.0), server_mean=1.145, client_mean=1.15)  # 120 ms service, 1 worker
    ld = load(ev)
    assert ld.saturated and ld.capacity == pytest.approx(1 / 0.12, rel=0.01) and ld.utilization == pytest.approx(1.2, rel=0.01)
    assert "queue wait grew from 50ms to 2s" in "; ".join(ld.why)
    [phase], _ = explain([evidence("quiet", asked=1.0), ev], ["steady"], [P99], {}, "s.yaml", "sla.yaml", 0.05, True)
    [saturation] = [f for f in phase.findings if f.kind == "saturation"]
    assert saturation.text.startswith("asked 10/s; this server serves at most ~8.33/s here (mean service 120ms on 1 worker(s))")
    assert "sla capacity s.yaml --sla sla.yaml --phase steady" in saturation.command and "2 replica(s) for 10/s" in saturation.advice
    check = phase.what_if["at_asked_rate"]  # the quiet phase's 120 ms on 1 worker cannot take 10/s
    assert check["predicted"] is None and check["predicted_own_service"] is None and check["from_phase"] == "quiet"


def test_the_cpu_a_request_costs_bounds_the_capacity_when_it_is_the_tighter_limit():
    ld = load(evidence(asked=2.0, queue=(0.001, 0.001), server_mean=0.05, workers=4, cpu=0.1, cores=0.5))
    assert ld.capacity == pytest.approx(5.0) and "100ms of CPU per request on 0.5 core(s)" in ld.capacity_how
    assert not ld.saturated and ld.utilization == pytest.approx(0.4)


def test_without_server_metrics_an_open_phase_that_fell_behind_is_saturated_at_what_it_served():
    ev = evidence(asked=70.0, completed=50.0)
    ev.server = ev.queue = None
    ev.served, ev.workers, ev.queue_trend, ev.client_trend = None, None, None, (0.6, 3.6)
    ev.throughput = 67.0  # requests sent in the phase that ended, over its duration
    ld = load(ev)
    assert ld.saturated and ld.capacity == 50.0 and ld.capacity_how == "what it served while saturated"


def test_a_quiet_phase_is_not_saturated_and_its_dominant_stage_is_named_with_the_command_to_try():
    stages = [Part("det", 0.08), Part("rec", 0.03)]
    [phase], _ = explain([evidence(asked=1.0, queue=(0.001, 0.001), stages=stages)], ["steady"], [P99], {}, "s.yaml", "x.yaml", 0.05, True)
    assert not phase.load.saturated
    [stage] = phase.findings
    assert stage.kind == "stage" and "det takes 67%" in stage.text and stage.command == "sla compare s.yaml --vary onednn=on,off --vary threads=1,2"
    check = phase.what_if["at_asked_rate"]  # 1/s on 119 ms of service: little queueing, the P99 near the service time's
    assert check["rate"] == 1.0 and 0.1 < check["predicted"] < 1.0 and check["measured"] == pytest.approx(0.13 * 4 * 0.99, rel=0.05)


def test_the_breakdown_splits_the_client_time_into_outside_queue_stages_and_the_rest_whose_means_add_up():
    ev = evidence(asked=1.0, queue=(0.002, 0.002), server_mean=0.1, client_mean=0.104, stages=[Part("det", 0.06), Part("rec", 0.03)])
    rows = {r["part"]: r for r in breakdown(ev)}
    assert rows["outside the server"]["mean"] == pytest.approx(0.004)
    parts = [rows[k]["mean"] for k in ("outside the server", "queue wait", "det", "rec", "other (server less queue and stages)")]
    assert sum(parts) == pytest.approx(rows["client"]["mean"])


def test_throttling_is_a_finding_and_explains_a_slow_first_request_right_after_start():
    [phase], run = explain([evidence(asked=1.0, queue=(0.001, 0.001), throttled=0.48, cores=0.5)], ["steady"], [P99],
                           {"first_request": 2.0}, "s.yaml", "x.yaml", 0.05, True, "on")
    assert any(f.kind == "throttling" and "48% of its CFS periods" in f.text for f in phase.findings)
    [slow] = run
    assert slow.kind == "warmup" and "15x the steady P50" in slow.text and "throttled in 48%" in slow.text and "CPU limit" in slow.advice


@pytest.mark.parametrize("warmup, advice, command", [
    ("off", "warm the models up before reporting ready", "sla compare s.yaml --vary warmup=on,off"),
    ("on", "warm up with the shapes real requests have", ""),
    (None, "warm the models up before reporting ready", ""),  # a target that does not say: no option to vary
])
def test_a_slow_first_request_points_at_warm_up_as_the_target_has_it(warmup, advice, command):
    _, [slow] = explain([evidence(asked=1.0, queue=(0.001, 0.001))], ["steady"], [P99], {"first_request": 2.0}, "s.yaml", "x.yaml",
                        0.05, True, warmup)
    assert slow.advice.startswith(advice) and slow.command == command


def test_the_simulated_queue_agrees_with_md1_and_the_what_if_stays_under_the_capacity():
    service = [0.02] * 100  # M/D/1, 20 ms: mean wait rho*S / (2 (1 - rho)); at rho 0.5, 10 ms
    waits = simulated_percentile(25.0, service, 1, 50.0)
    assert 0.02 <= waits <= 0.04  # the median sojourn: service plus a short wait
    rate = highest_rate(service, 1, 99.0, 0.1)
    assert rate is not None and 25 < rate < 50  # a 100 ms P99 needs a queue shorter than capacity allows
    assert highest_rate(service, 1, 99.0, 0.01) is None  # a limit under the service time is never met
    assert highest_rate(service, 2, 99.0, 0.1) > rate  # two workers take more


def test_service_samples_follow_the_histogram_and_its_mean():
    values = samples_from(hist((0.01, 0), (0.02, 90), (0.1, 100)), mean=0.05)
    assert len(values) == 2000 and sum(values) / len(values) == pytest.approx(0.05)
    assert sorted(values)[len(values) // 2] < 0.05  # most in the low bucket: the median under the mean


def test_the_text_shows_each_part_the_load_the_findings_and_one_what_if_line():
    from sla.explain import Explanation, render

    quiet, busy = evidence("quiet", asked=1.0, queue=(0.001, 0.001)), evidence(asked=10.0, served=8.3, queue=(0.05, 2.0), server_mean=1.145)
    phases, run = explain([quiet, busy], ["quiet", "steady"], [P99, Objective("quiet.latency.p99", "latency", "quiet", "loadgen", 0.6, 99.0)],
                          {}, "s.yaml", "x.yaml", 0.05, True)
    text = render(Explanation(phases, run, [quiet, busy], [("load generator", "AMD EPYC, 2 cores")]))
    assert text.startswith("load generator: AMD EPYC, 2 cores\nphase quiet:")
    assert "queue wait 50ms in its first third, 2s in its last" in text and "; SATURATED" in text
    assert text.count("what-if: quiet.latency.p99") == 1 and text.count("what-if: steady.latency.p99") == 1
    assert "model check: at the asked 10/s (poisson arrivals), phase quiet's service times alone give P99 unbounded" in text


def test_latency_that_grows_through_a_ramp_is_no_sign_of_saturation():
    ev = evidence(asked=3.0, queue=(0.005, 0.05))  # the queue grew tenfold while the rate rose
    assert load(ev).saturated
    ev.ramp = True
    assert not load(ev).saturated and load(ev).why == []
