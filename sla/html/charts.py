"""The report's charts, drawn with matplotlib (its object API, no global pyplot state) as inline
SVG whose text stays text: a page that opens offline, with labels a browser (and a test) can read.
Each chart says the question it answers."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from matplotlib import rc_context, rcParams
from matplotlib.figure import Figure

from sla.units import format_duration

if TYPE_CHECKING:
    from sla.analysis.timeline import Timeline

rcParams["svg.fonttype"] = "none"  # text as <text>, not paths
COLORS = {"p50": "#4c78a8", "p95": "#f58518", "p99": "#e45756", "p99_intended": "#b279a2", "server_p99": "#54a24b",
          "success": "#4c78a8", "failure": "#e45756", "shed": "#f58518", "asked": "#333333", "users": "#72b7b2",
          "lag_p99": "#b279a2", "cpu_percent": "#9d755d"}
WIDTH, HEIGHT = 9.0, 3.4


@dataclass(frozen=True)
class Chart:
    id: str  # the figure's id in the page
    title: str
    answers: str  # the question it answers
    svg: str


def to_svg(fig: Figure, chart_id: str) -> str:
    """The figure as an <svg> element (ids salted per chart so that several sit in one page)."""
    buf = io.StringIO()
    with rc_context({"svg.hashsalt": chart_id}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _figure(height: float = HEIGHT, width: float = WIDTH, rows: int = 1) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(rows, 1, squeeze=True, sharex=rows > 1)


def _seconds(t: "Timeline") -> tuple[float, list[float]]:
    """The x axis: seconds since the first phase started."""
    zero = min((p["start"] for p in t.phases), default=t.start)
    return zero, [x - zero for x in t.times]


def _phase_bands(ax: Any, t: "Timeline", zero: float) -> None:
    for i, p in enumerate(t.phases):
        ax.axvspan(p["start"] - zero, p["end"] - zero, color="#000000", alpha=0.04 if i % 2 else 0.09, lw=0)
        ax.annotate(p["name"], xy=(p["start"] - zero, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -11 - 10 * (i % 2)),
                    textcoords="offset points", fontsize=8, color="#555555")  # alternate rows: short phases' names do not overlap


def _legend(ax: Any, **kw: Any) -> None:
    """A legend, when the axes drew something labelled (an empty one only warns)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kw)


def _line(ax: Any, xs: list[float], ys: list[float | None], label: str, key: str, **kw: Any) -> bool:
    points = [(x, y) for x, y in zip(xs, ys) if y is not None]
    if not points:
        return False
    ax.plot([x for x, y in zip(xs, ys)], [math.nan if y is None else y for y in ys], label=label, color=COLORS.get(key), lw=1.4, **kw)
    return True


def latency_chart(t: "Timeline") -> Chart:
    zero, xs = _seconds(t)
    fig, ax = _figure()
    _phase_bands(ax, t, zero)
    highest = 0.0
    for key, label in (("p50", "P50"), ("p95", "P95"), ("p99", "P99"), ("p99_intended", "P99 from the intended send time"),
                       ("server_p99", f"P99 the server saw ({t.server_name})")):
        values = [None if v is None else v * 1e3 for v in t.series.get(key, [])]
        if _line(ax, xs, values, label, key, ls="--" if key in ("p99_intended", "server_p99") else "-"):
            highest = max(highest, *(v for v in values if v is not None))
    # limits far above the curves would flatten them: those are marked at the top edge instead
    top = max((lim["seconds"] * 1e3 for lim in t.limits if lim["seconds"] * 1e3 <= 3 * highest), default=0.0)
    top = max(top, highest) * 1.15 or 1.0
    above = 0
    for lim in t.limits:
        phase = next((p for p in t.phases if p["name"] == lim["phase"]), None)
        if phase is None:
            continue
        y = lim["seconds"] * 1e3
        text = f"P{lim['percentile']:g} limit {format_duration(lim['seconds'])}" + (" (server)" if lim["source"] == "server" else "")
        if y > top:
            above += 1
            ax.annotate(f"{text}, above ↑", xy=(phase["end"] - zero, top), xytext=(-4, -12 * above), textcoords="offset points",
                        ha="right", fontsize=8)
            continue
        ax.hlines(y, phase["start"] - zero, phase["end"] - zero, colors="#222222", linestyles="dotted", lw=1.2)
        ax.annotate(text, xy=(phase["end"] - zero, y), xytext=(-4, 3), textcoords="offset points", ha="right", fontsize=8)
    ax.set_xlabel("seconds since the first phase started")
    ax.set_ylabel("latency (ms)")
    ax.set_title("Latency over time (successful requests, 5 s windows)", fontsize=10)
    _legend(ax, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_ylim(0, top)
    return Chart("chart-latency", "Latency over time", "Did latency stay under the SLA limits in every phase, and when did it not?",
                 to_svg(fig, "latency"))


def throughput_chart(t: "Timeline") -> Chart:
    zero, xs = _seconds(t)
    fig, ax = _figure()
    _phase_bands(ax, t, zero)
    for outcome, label in (("success", "successful/s"), ("failure", "failed/s"), ("shed", "shed/s (503/429)")):
        _line(ax, xs, t.series.get(f"rate:{outcome}", []), label, outcome)
    _line(ax, xs, t.series.get("asked", []), "asked arrivals/s", "asked", ls="--", drawstyle="steps-post")
    ax.set_xlabel("seconds since the first phase started")
    ax.set_ylabel("requests/s")
    ax.set_ylim(bottom=0)
    users = t.series.get("users", [])
    if any(u for u in users):
        right = ax.twinx()
        _line(right, xs, users, "users", "users", drawstyle="steps-post", alpha=0.7)
        right.set_ylabel("users")
        right.set_ylim(bottom=0)
        _legend(right, fontsize=8, loc="lower left", bbox_to_anchor=(1.06, 0.0))
    ax.set_title("Throughput over time: achieved against asked, failures and shedding", fontsize=10)
    _legend(ax, fontsize=8, loc="upper left", bbox_to_anchor=(1.06, 1.0))
    return Chart("chart-throughput", "Throughput over time", "Did the service take the load that was asked of it, and what did it refuse or fail?",
                 to_svg(fig, "throughput"))


def cold_start_chart(t: "Timeline") -> Chart | None:
    e = t.cold_start
    start, ready = e.get("process_start"), e.get("ready")
    first_end, first_s = e.get("first_request_end"), e.get("first_request_seconds")
    if start is not None:
        origin = start
    elif first_end is not None:
        origin = first_end - (first_s or 0)
    else:
        return None
    bars: list[tuple[str, float, float, str]] = []  # label, from, to (seconds since process start), color
    if start is not None and ready is not None:
        load, warm = e.get("models_load_seconds"), e.get("warmup_seconds")
        cursor = ready - origin
        if warm:
            bars.append((f"warm-up {format_duration(warm)}", cursor - warm, cursor, "#f58518"))
            cursor -= warm
        if load:
            bars.append((f"models loaded {format_duration(load)}", cursor - load, cursor, "#4c78a8"))
            cursor -= load
        bars.append((f"process start to ready {format_duration(ready - origin)}", 0.0, ready - origin, "#bab0ac"))
    if first_end is not None and first_s is not None:
        bars.append((f"first request {format_duration(first_s)}", first_end - first_s - origin, first_end - origin, "#e45756"))
    fig, ax = _figure(height=1.0 + 0.45 * len(bars))
    for i, (label, a, b, color) in enumerate(reversed(bars)):
        ax.barh(i, max(b - a, 1e-3), left=a, color=color, height=0.6)
        ax.annotate(label, xy=(b, i), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)
    if ready is not None and start is not None:
        ax.axvline(ready - origin, color="#222222", ls="dotted", lw=1)
        ax.annotate("ready", xy=(ready - origin, len(bars) - 0.4), fontsize=8, ha="center")
    ax.set_yticks([])
    ax.set_xlabel("seconds since the server process started" if start is not None else "seconds")
    who = "the server's own gauges" if t.cold_start_from == "server" else "the gate's readiness probe and the client"
    ax.set_title(f"Cold start (from {who})", fontsize=10)
    ax.set_xlim(left=min(0.0, *(a for _, a, _, _ in bars)), right=max(b for _, _, b, _ in bars) * 1.35 + 0.1)
    return Chart("chart-cold-start", "Cold start", "How long from process start until the service served its first request, and where did the time go?",
                 to_svg(fig, "cold-start"))


def stages_chart(t: "Timeline") -> Chart | None:
    if not t.stages:
        return None
    phases = list(t.stages)
    stages = list(next(iter(t.stages.values())))
    fig, ax = _figure(height=1.2 + 0.35 * len(stages) * len(phases))
    rows = []
    for phase in phases:
        for stage in stages:
            got = t.stages[phase].get(stage, {})
            rows.append((f"{phase}: {stage}", got.get("p50"), got.get("p99")))
    ys = list(range(len(rows)))[::-1]
    ax.barh([y + 0.2 for y in ys], [(r[2] or 0) * 1e3 for r in rows], height=0.4, color=COLORS["p99"], label="P99")
    ax.barh([y - 0.2 for y in ys], [(r[1] or 0) * 1e3 for r in rows], height=0.4, color=COLORS["p50"], label="P50")
    ax.set_yticks(ys, [r[0] for r in rows], fontsize=8)
    ax.set_xlabel("latency (ms), from the server's stage histogram")
    ax.set_title("Where the time goes: the server's pipeline stages", fontsize=10)
    _legend(ax, fontsize=8, loc="lower right")
    return Chart("chart-stages", "Stage breakdown", "Which stage of the pipeline (decode, preprocess, det, postprocess, crop, rec) takes the time?",
                 to_svg(fig, "stages"))


def distribution_chart(t: "Timeline") -> Chart | None:
    if not t.curves:
        return None
    fig, ax = _figure(height=HEIGHT + 0.4)
    for phase, timings in t.curves.items():
        for timing, points in timings.items():
            pts = [(p, s) for p, s in points if p < 100]
            if not pts:
                continue
            label = f"{phase}" + (" (intended send time)" if timing == "intended" else " (actual send time)" if "intended" in timings else "")
            ax.plot([1 / (1 - p / 100) for p, _ in pts], [s * 1e3 for _, s in pts], marker=".", lw=1.2,
                    ls="--" if timing == "actual" and "intended" in timings else "-", label=label)
    if t.locust:
        pts = [(p, s) for p, s in t.locust if p < 100]
        ax.plot([1 / (1 - p / 100) for p, _ in pts], [s * 1e3 for _, s in pts], "kx", label="Locust's own (whole run, rounded)")
    ax.set_xscale("log")
    ticks = [50, 90, 99, 99.9, 99.99]
    ax.set_xticks([1 / (1 - p / 100) for p in ticks], [f"P{p:g}" for p in ticks])
    ax.set_xlabel("percentile (HdrHistogram, 3 significant digits)")
    ax.set_ylabel("latency (ms)")
    ax.set_title("Latency distribution per phase: what coordinated omission hides", fontsize=10)
    _legend(ax, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return Chart("chart-distribution", "Latency distribution",
                 "How bad is the tail, and how much worse did users wait than the requests' own time (intended vs actual send)?",
                 to_svg(fig, "distribution"))


def generator_chart(t: "Timeline") -> Chart:
    zero, xs = _seconds(t)
    fig, (top, bottom) = _figure(height=HEIGHT + 0.6, rows=2)
    for ax in (top, bottom):
        _phase_bands(ax, t, zero)
    if _line(top, xs, [None if v is None else v * 1e3 for v in t.series.get("lag_p99", [])], "scheduling lag P99 (ms)", "lag_p99"):
        _legend(top, fontsize=8, loc="upper right")
    else:
        top.annotate("no arrival-rate phase: no arrival clock to lag behind", xy=(0.5, 0.5), xycoords="axes fraction", ha="center", fontsize=8)
    top.set_ylabel("lag (ms)")
    top.set_ylim(bottom=0)
    cpu = _line(bottom, xs, t.series.get("cpu_percent", []), "CPU of the busiest load-generator process (%)", "cpu_percent")
    workers = t.series.get("workers", [])
    bottom.set_ylabel("CPU %")
    bottom.set_ylim(0, 110)
    bottom.set_xlabel("seconds since the first phase started")
    shown = sorted({int(w) for w in workers if w is not None})
    top.set_title(f"Load generator health (workers: {', '.join(map(str, shown)) or '-'})", fontsize=10)
    if cpu:
        _legend(bottom, fontsize=8, loc="upper right")
    return Chart("chart-generator", "Load generator health",
                 "Could the load generator keep its schedule (lag), and was it short of CPU? If so, the load was not delivered.",
                 to_svg(fig, "generator"))


def run_charts(t: "Timeline") -> list[Chart]:
    charts = [latency_chart(t), throughput_chart(t), cold_start_chart(t), stages_chart(t), distribution_chart(t), generator_chart(t)]
    return [c for c in charts if c is not None]


def capacity_chart(steps: list[Any], capacity: float | None, knee: float | None, limits: list[tuple[str, float]],
                   replicas: int | None, peak: float | None) -> Chart:
    """P99 and achieved rate against the asked rate, per capacity step."""
    ordered = sorted(steps, key=lambda s: s.asked)
    asked = [s.asked for s in ordered]
    fig, left = _figure(height=HEIGHT + 0.8)
    left.plot(asked, [(s.p99 or math.nan) * 1e3 for s in ordered], "o-", color=COLORS["p99"], label="P99 (intended send time)")
    for label, seconds in limits:
        left.axhline(seconds * 1e3, color="#222222", ls="dotted", lw=1.2, label=f"SLA: {label} <= {format_duration(seconds)}")
    for s in ordered:
        left.annotate(s.verdict, xy=(s.asked, (s.p99 or 0) * 1e3), xytext=(0, 6), textcoords="offset points", ha="center", fontsize=7,
                      color="#2e7d32" if s.verdict == "PASS" else "#c62828")
    left.set_xlabel("asked rate (requests/s)")
    p99s = [s.p99 for s in ordered if s.p99]
    if p99s and max(p99s) > 20 * min(p99s):  # an overloaded step would flatten the others
        left.set_yscale("log")
        left.set_ylabel("P99 (ms, log scale)")
    else:
        left.set_ylabel("P99 (ms)")
        left.set_ylim(bottom=0)
    right = left.twinx()
    right.plot(asked, [s.achieved if s.achieved is not None else math.nan for s in ordered], "s--", color=COLORS["success"], label="achieved rate")
    right.plot(asked, asked, ":", color="#999999", label="achieved = asked")
    right.set_ylabel("achieved rate (requests/s)")
    right.set_ylim(bottom=0)
    if capacity:
        left.axvline(capacity, color="#2e7d32", lw=1.5, label=f"capacity {capacity:.3g}/s")
    if knee:
        left.axvline(knee, color="#f58518", lw=1.2, ls="--", label=f"knee {knee:.3g}/s")
    title = "Capacity of one replica"
    if replicas is not None and peak:
        title += f": {replicas} replica(s) for a peak of {peak:g}/s"
    left.set_title(title, fontsize=10)
    _legend(left, fontsize=8, loc="upper left")
    _legend(right, fontsize=8, loc="lower right")
    return Chart("chart-capacity", "P99 and achieved rate against asked rate",
                 "Up to what rate does one replica meet the SLA, where does latency bend (the knee), and how many replicas does the peak need?",
                 to_svg(fig, "capacity"))


def small_multiples(t: "Timeline", key: str) -> tuple[str, str]:
    """Two small charts of one configuration's run: latency over time and throughput over time."""
    zero, xs = _seconds(t)
    out = []
    for which in ("latency", "throughput"):
        fig, ax = _figure(height=1.9, width=4.6)
        _phase_bands(ax, t, zero)
        if which == "latency":
            for k, label in (("p50", "P50"), ("p99", "P99")):
                _line(ax, xs, [None if v is None else v * 1e3 for v in t.series.get(k, [])], label, k)
            for lim in t.limits:
                ax.axhline(lim["seconds"] * 1e3, color="#222222", ls="dotted", lw=1)
            ax.set_ylabel("ms")
            ax.set_title("latency", fontsize=9)
        else:
            _line(ax, xs, t.series.get("rate:success", []), "successful/s", "success")
            _line(ax, xs, t.series.get("rate:failure", []), "failed/s", "failure")
            ax.set_ylabel("requests/s")
            ax.set_title("throughput", fontsize=9)
        ax.set_ylim(bottom=0)
        ax.tick_params(labelsize=7)
        _legend(ax, fontsize=7, loc="upper right")
        out.append(to_svg(fig, f"{key}-{which}"))
    return out[0], out[1]


def history_chart(objective: str, unit: str, points: list[dict[str, Any]], changes: list[tuple[int, str]], chart_id: str) -> Chart:
    """One objective across stored runs: its value per run (coloured by verdict), its limit, and
    the change points found in it."""
    scale, label = (1e3, "ms") if unit == "s" else (100.0, "%") if unit == "fraction" else (1.0, unit)
    xs = list(range(1, len(points) + 1))
    fig, ax = _figure()
    ax.plot(xs, [(p["value"] if p["value"] is not None else math.nan) * scale for p in points], "-", color="#999999", lw=1)
    for verdict, color in (("PASS", "#2e7d32"), ("FAIL", "#c62828"), ("INCONCLUSIVE", "#b26a00")):
        mine = [(x, p["value"] * scale) for x, p in zip(xs, points) if p["verdict"] == verdict and p["value"] is not None]
        if mine:
            ax.plot(*zip(*mine), "o", color=color, ms=4, label=verdict)
    limits = [(p["limit"] * scale if p["limit"] is not None else math.nan) for p in points]
    if any(math.isfinite(v) for v in limits):
        ax.step(xs, limits, where="mid", color="#222222", ls="dotted", lw=1.2, label="limit")
    for i, run_id in changes:
        ax.axvline(i + 0.5, color="#e45756", lw=1.5, ls="--")
        ax.annotate(f"change: {run_id}", xy=(i + 0.5, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -11),
                    textcoords="offset points", fontsize=8, color="#e45756")
    ax.set_xlabel("run (oldest first)")
    ax.set_ylabel(f"{objective} ({label})")
    _legend(ax, fontsize=8, loc="lower right")
    return Chart(f"chart-{chart_id}", objective, "How did this objective move from run to run, and where did it change?",
                 to_svg(fig, chart_id))
