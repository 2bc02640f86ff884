"""PromReader.growth on a real Prometheus (series backfilled with promtool): a server's counters read
over exactly a phase's window, whichever moment of each second Prometheus scrapes it, as `sla
explain` needs to split a request's time between the client (its phase-labelled series: exactly
the phase's requests) and the server (no phase label: the requests that ended in the window)."""

from __future__ import annotations

import subprocess
import time

import pytest

from sla.analysis import promql
from sla.prometheus.client import PromReader
from sla.prometheus.server import start_prometheus

pytestmark = pytest.mark.e2e

BASE = float(int(time.time()) - 3600)
START, END = BASE + 22.88, BASE + 34.89  # a phase's executed edges, as in a run
RATE = 30  # requests ended per second, on both sides


def latency(t: float) -> float:
    """Warm-up at 100 ms; the phase at 66 ms, and 36 ms in its last second (a neighbour freed a core)."""
    return 0.100 if t < START else 0.036 if END - 1 <= t < END else 0.066


ENDED = [BASE + 18 + i / RATE for i in range(RATE * 20)]  # from 18 s to 38 s


def samples(job: str, offset: float) -> list[str]:
    """The cumulative sum and count of the requests ended by each scrape, one scrape a second at `offset`."""
    lines = []
    for k in range(18, 39):
        t = BASE + k + offset
        ended = [e for e in ENDED if e <= t]
        lines.append(f'latency_seconds_sum{{job="{job}"}} {sum(latency(e) for e in ended):.6f} {t:.3f}')
        lines.append(f'latency_seconds_count{{job="{job}"}} {len(ended)} {t:.3f}')
    return lines


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    root = tmp_path_factory.mktemp("growth")
    lines = sorted(samples("loadgen", 0.81) + samples("server", 0.97), key=lambda line: line.split()[0])
    (root / "series.om").write_text("# TYPE latency_seconds_sum unknown\n" + "\n".join(l for l in lines if "_sum" in l) + "\n"
                                    "# TYPE latency_seconds_count unknown\n" + "\n".join(l for l in lines if "_count" in l) + "\n# EOF\n")
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(root / "series.om"), str(root / "data")],
                   check=True, capture_output=True, timeout=120)
    process, url = start_prometheus(root / "prom", data_dir=root / "data")
    try:
        prom = PromReader(url)
        prom.check_ready()
        yield prom
    finally:
        process.stop()


def mean_at_last_scrapes(reader: PromReader, job: str) -> float:
    seconds = reader.scalar(promql.server_delta(f'latency_seconds_sum{{job="{job}"}}', None, START, END))
    count = reader.scalar(promql.server_delta(f'latency_seconds_count{{job="{job}"}}', None, START, END))
    return seconds / count


def mean_by_growth(reader: PromReader, job: str) -> float:
    [seconds] = reader.growth(f'latency_seconds_sum{{job="{job}"}}', None, START, END).values()
    [count] = reader.growth(f'latency_seconds_count{{job="{job}"}}', None, START, END).values()
    return seconds / count


def test_a_servers_mean_over_a_phase_is_that_of_the_requests_that_ended_in_it_whenever_it_is_scraped(reader):
    truth = sum(latency(e) for e in ENDED if START < e <= END) / sum(START < e <= END for e in ENDED)  # 63.6 ms
    for job in ("server", "loadgen"):  # scraped at .97 and at .81 past each second
        assert mean_by_growth(reader, job) == pytest.approx(truth, abs=0.0005), job  # the edges' seconds: 100 -> 66, 36 -> 66 ms
    # read at its last scrape before each edge, the server's window takes 0.9 s of warm-up and misses the fast last 0.9 s
    assert mean_at_last_scrapes(reader, "server") - truth > 0.002
def test_growth_sums_by_a_label_and_counts_a_series_born_inside_the_window_from_zero(reader):
    grown = reader.growth('{__name__="latency_seconds_count"}', "job", START, END)
    assert set(grown) == {"loadgen", "server"} and grown["server"] == pytest.approx(RATE * (END - START), abs=2)
    # the server's series is first scraped at 18.97 s, holding 30 requests: from 0 at 10 s to 30.9 at 19 s (30 a second)
    assert reader.growth('latency_seconds_count{job="server"}', None, BASE + 10, BASE + 19) == {"": pytest.approx(30.9)}
    assert reader.growth('latency_seconds_count{job="nobody"}', None, START, END) == {}
