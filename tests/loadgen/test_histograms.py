import pytest
from prometheus_client.parser import text_string_to_metric_families

from sla.loadgen.histograms import HistogramSet

BUCKETS = (0.1, 0.2, 0.5)
KEY = ("steady", "small-plain-png", "success")


def family(h, *args):
    """The histogram's text, read back by prometheus_client's own parser (what Prometheus reads)."""
    [fam] = text_string_to_metric_families(h.text(*args))
    return fam


def _buckets(family):
    return {s.labels["le"]: s.value for s in family.samples if s.name.endswith("_bucket")}


def test_observations_land_in_cumulative_le_buckets():
    h = HistogramSet(BUCKETS)
    for v in (0.05, 0.1, 0.15, 0.7):
        h.observe(KEY, v)
    fam = family(h, "x_seconds", "doc", "run1", ("phase", "name", "outcome"))
    assert _buckets(fam) == {"0.1": 2, "0.2": 3, "0.5": 3, "+Inf": 4}
    count = next(s for s in fam.samples if s.name == "x_seconds_count")
    assert count.value == 4 and count.labels["run_id"] == "run1" and count.labels["phase"] == "steady"


def test_worker_deltas_merge_into_exactly_the_same_totals():
    master, worker_a, worker_b = HistogramSet(BUCKETS), HistogramSet(BUCKETS), HistogramSet(BUCKETS)
    for v in (0.05, 0.3):
        worker_a.observe(KEY, v)
    worker_b.observe(KEY, 0.15)
    master.merge(worker_a.take())
    master.merge(worker_b.take())
    worker_a.observe(KEY, 0.6)
    master.merge(worker_a.take())  # only the new observation: take() reset the worker
    assert master.count(KEY) == 4
    assert master.series[KEY][1] == pytest.approx(1.1)
    assert worker_a.count() == 0


def test_zero_series_exist_before_any_request():
    h = HistogramSet(BUCKETS)
    h.ensure(("warmup", "small-plain-png", "failure"))
    fam = family(h, "x_seconds", "doc", "r", ("phase", "name", "outcome"))
    assert _buckets(fam)["+Inf"] == 0
    assert h.take() == {}  # nothing to send while empty


def test_mismatched_bucket_layouts_are_refused():
    a, b = HistogramSet(BUCKETS), HistogramSet((0.1,))
    b.observe(KEY, 0.05)
    with pytest.raises(ValueError, match="bucket layout mismatch"):
        a.merge(b.take())


def test_hdr_histograms_merge_across_workers_and_keep_3_significant_digits():
    from sla.loadgen.histograms import HdrSet

    master, a, b = HdrSet(), HdrSet(), HdrSet()
    for i in range(1, 1001):
        (a if i % 2 else b).record(("steady", "intended"), i / 1000)  # 1 ms .. 1 s
    master.merge(a.take())
    master.merge(b.take())
    entry = master.summary()["steady"]["intended"]  # nested as hdr.json is: {phase: {timing: ...}}
    assert entry["count"] == 1000
    assert entry["p50"] == pytest.approx(0.5, rel=1e-3) and entry["p99"] == pytest.approx(0.99, rel=1e-3)


def test_counter_deltas_merge():
    from sla.loadgen.histograms import CounterSet

    master, worker = CounterSet(), CounterSet()
    worker.inc(("steady", "sent"), 3)
    worker.inc(("steady", "dropped"))
    master.merge(worker.take())
    worker.inc(("steady", "sent"))
    master.merge(worker.take())
    assert master.values == {("steady", "sent"): 4, ("steady", "dropped"): 1}


def test_the_text_format_escapes_label_values_and_keeps_the_sum():
    h = HistogramSet(BUCKETS)
    h.observe(("steady", 'a "quoted"\\name\nline', "success"), 0.25)
    fam = family(h, "x_seconds", "doc", "r", ("phase", "name", "outcome"))
    assert fam.type == "histogram"
    [total] = [s for s in fam.samples if s.name == "x_seconds_sum"]
    assert total.value == 0.25 and total.labels["name"] == 'a "quoted"\\name\nline'
    assert _buckets(fam) == {"0.1": 0, "0.2": 0, "0.5": 1, "+Inf": 1}


def test_counters_are_exposed_as_totals():
    from sla.loadgen.histograms import CounterSet

    c = CounterSet()
    c.inc(("steady", "sent"), 3)
    [fam] = text_string_to_metric_families(c.text("loadgen_arrivals", "doc", "r", ("phase", "result")))
    assert fam.type == "counter" and [(s.name, s.labels["result"], s.value) for s in fam.samples] == [("loadgen_arrivals_total", "sent", 3.0)]
