"""`sla diff RUN_A RUN_B`: two runs side by side and the gap between them explained (pure over what
each run wrote: run.json, result.json, explain.json). A run directory copied from another machine is
enough: that is the "fast in development, slow in production" case.

What differs (the environment and the server's settings, those that change speed first), each
objective's value in both, and per phase the change in P50 and P99 split into service time (per
stage) and queueing.
"""

from __future__ import annotations

import math
from typing import Any

from sla.units import format_duration

# Settings that change how fast the same model runs, most telling first; the rest follow by name.
SPEED_FIRST = ("target.cpus", "server cpu_limit", "server cpu_model", "server isa", "server paddle_isa", "server threads",
               "server onednn", "server instances", "server rec_batch", "server warmup", "server preset", "server paddle_version",
               "server onednn_compiled", "server affinity", "target.cpuset", "load generator cpu_model", "load generator isa",
               "load generator cpu_limit", "load generator affinity")
IGNORED = {"port", "host", "extra_buckets", "model_dir", "harness", "memory_bytes"}  # differ between any two runs, or say nothing of speed
CHANGED = 1.15  # a ratio beyond this (or under its inverse) is a change worth naming


def _flat(prefix: str, doc: dict[str, Any] | None) -> dict[str, str]:
    return {f"{prefix} {k}": ",".join(map(str, v)) if isinstance(v, list) else str(v)
            for k, v in (doc or {}).items() if k not in IGNORED and v is not None}


def settings(manifest: dict[str, Any]) -> dict[str, str]:
    """A run's environment and server settings, flat: "server threads" -> "1"."""
    env = manifest.get("environment") or {}
    out = _flat("load generator", env.get("loadgen"))
    info = ((env.get("target") or {}).get("info")) or {}
    for labels in info.values():
        out.update(_flat("server", labels[0] if isinstance(labels, list) else labels))
    server = manifest.get("server") or {}
    out.update({k: v for k, v in _flat("server", server.get("options")).items() if k not in out})
    cpu = server.get("cpu") or {}
    if cpu.get("cpus") is not None:
        out["target.cpus"] = f"{cpu['cpus']:g}"
    if cpu.get("cpuset"):
        out["target.cpuset"] = ",".join(map(str, cpu["cpuset"]))
    return out


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(setting, in A, in B) for every setting that differs, those that change speed first."""
    sa, sb = settings(a), settings(b)
    keys = [k for k in sorted(set(sa) | set(sb)) if sa.get(k, "-") != sb.get(k, "-")]
    order = {k: i for i, k in enumerate(SPEED_FIRST)}
    return [(k, sa.get(k, "-"), sb.get(k, "-")) for k in sorted(keys, key=lambda k: (order.get(k, len(order)), k))]


def ratio(a: float | None, b: float | None) -> float | None:
    return b / a if a and b is not None and a > 0 and math.isfinite(a) and math.isfinite(b) else None


def _x(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}x"


def _d(v: float | None) -> str:
    return "-" if v is None or not math.isfinite(v) else format_duration(v)


def _by(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {i[key]: i for i in items}


def phase_rows(ea: dict[str, Any], eb: dict[str, Any], la: dict[str, Any], lb: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(what, A, B, B/A) for one phase: the client's P50/P99, the server's time split into service
    and queueing, each stage, what was served, utilization, throttling."""
    rows: list[tuple[str, str, str, str]] = []

    def dur(name: str, va: float | None, vb: float | None) -> None:
        rows.append((name, _d(va), _d(vb), _x(ratio(va, vb))))

    dur("client P50", ea["client"]["p50"], eb["client"]["p50"])
    dur("client P99", ea["client"]["p99"], eb["client"]["p99"])
    if ea.get("server") and eb.get("server"):
        dur("server mean", ea["server"]["mean"], eb["server"]["mean"])
        dur("service time (mean)", la.get("service_time"), lb.get("service_time"))
        if ea.get("queue") and eb.get("queue"):
            dur("queue wait (mean)", ea["queue"]["mean"], eb["queue"]["mean"])
        sa, sb = _by(ea.get("stages") or [], "name"), _by(eb.get("stages") or [], "name")
        for stage in [s for s in sa if s in sb]:
            dur(f"  {stage} (mean)", sa[stage]["mean"], sb[stage]["mean"])
    for name, key, fmt in (("served/s", "served", "{:.3g}"), ("utilization", "utilization", "{:.2f}"), ("capacity/s", "capacity", "{:.3g}")):
        va, vb = la.get(key), lb.get(key)
        rows.append((name, "-" if va is None else fmt.format(va), "-" if vb is None else fmt.format(vb), _x(ratio(va, vb))))
    ta, tb = ea.get("throttled"), eb.get("throttled")
    if ta is not None or tb is not None:
        rows.append(("throttled periods", "-" if ta is None else f"{ta:.0%}", "-" if tb is None else f"{tb:.0%}", ""))
    return rows


def why(phase: str, ea: dict[str, Any], eb: dict[str, Any], la: dict[str, Any], lb: dict[str, Any],
        diffs: list[tuple[str, str, str]]) -> str:
    """One sentence: how much slower (or faster) B is, how much of it is service time (and which
    stages), how much queueing, and what differs between the runs."""
    parts = []
    for q in ("p99", "p50"):
        r = ratio(ea["client"][q], eb["client"][q])
        if r is not None:
            parts.append(f"{q.upper()} {r:.2g}x")
    service = ratio(la.get("service_time"), lb.get("service_time"))
    if service is not None:
        sa, sb = _by(ea.get("stages") or [], "name"), _by(eb.get("stages") or [], "name")
        stages = sorted(((ratio(sa[s]["mean"], sb[s]["mean"]), s) for s in sa if s in sb), key=lambda t: -abs(math.log(t[0] or 1)))
        named = [f"{s} {r:.2g}x" for r, s in stages[:2] if r is not None and not 1 / CHANGED < r < CHANGED]
        parts.append(f"service time {service:.2g}x" + (f" ({', '.join(named)})" if named else ""))
    ua, ub = la.get("utilization"), lb.get("utilization")
    if ua is not None and ub is not None:
        queue = ""
        if lb.get("saturated") and not la.get("saturated"):
            queue = ", so B's queue grew without bound"
        elif la.get("saturated") and not lb.get("saturated"):
            queue = ", so A's queue grew without bound"
        parts.append(f"utilization {ua:.2f} -> {ub:.2f}{queue}")
    ta, tb = ea.get("throttled"), eb.get("throttled")
    if tb is not None and (ta is None or tb - ta >= 0.1):
        parts.append(f"B throttled in {tb:.0%} of its CFS periods" + (f" (A {ta:.0%})" if ta is not None else ""))
    elif ta is not None and (tb is None or ta - tb >= 0.1):
        parts.append(f"A throttled in {ta:.0%} of its CFS periods" + (f" (B {tb:.0%})" if tb is not None else ""))
    differing = "; ".join(f"{k} {va} -> {vb}" for k, va, vb in diffs[:4]) if diffs else "no setting or environment differs"
    return f"{phase}: " + ", ".join(parts) + f"; what differs: {differing}"


def diff(a: dict[str, Any], b: dict[str, Any], phases: list[str]) -> dict[str, Any]:
    """The comparison of two runs (each {"manifest", "result", "explain"} as they wrote them)."""
    diffs = differences(a["manifest"], b["manifest"])
    oa, ob = _by(a["result"].get("objectives") or [], "id"), _by(b["result"].get("objectives") or [], "id")
    objectives = [{"id": k, "unit": (oa.get(k) or ob[k])["unit"], "a": oa[k]["value"] if k in oa else None,
                   "b": ob[k]["value"] if k in ob else None, "verdict_a": oa.get(k, {}).get("verdict"), "verdict_b": ob.get(k, {}).get("verdict")}
                  for k in list(oa) + [k for k in ob if k not in oa]]
    ea, eb = _by(a["explain"]["evidence"], "phase"), _by(b["explain"]["evidence"], "phase")
    la = {p["phase"]: p["load"] for p in a["explain"]["phases"]}
    lb = {p["phase"]: p["load"] for p in b["explain"]["phases"]}
    rows: dict[str, Any] = {}
    out = {"differences": [{"setting": k, "a": va, "b": vb} for k, va, vb in diffs], "objectives": objectives, "phases": rows}
    for phase in phases:
        loads = la.get(phase, {}), lb.get(phase, {})
        rows[phase] = {"rows": phase_rows(ea[phase], eb[phase], *loads), "why": why(phase, ea[phase], eb[phase], *loads, diffs)}
    return out


def render(doc: dict[str, Any], name_a: str, name_b: str) -> str:
    from sla.units import show

    out = [f"A: {name_a}", f"B: {name_b}", "", "what differs:"]
    out += [f"  {d['setting']:<32} {d['a']:<24} -> {d['b']}" for d in doc["differences"]] or ["  nothing in the environment or the server's settings"]
    out += ["", f"  {'objective':<32} {'A':>10} {'B':>10} {'B/A':>7}"]
    for o in doc["objectives"]:
        out.append(f"  {o['id']:<32} {show(o['a'], o['unit']):>10} {show(o['b'], o['unit']):>10} {_x(ratio(o['a'], o['b'])):>7}"
                   f"  {o['verdict_a'] or '-'} -> {o['verdict_b'] or '-'}")
    for phase, p in doc["phases"].items():
        out += ["", f"phase {phase}:", f"  {'':<32} {'A':>10} {'B':>10} {'B/A':>7}"]
        out += [f"  {what:<32} {va:>10} {vb:>10} {r:>7}" for what, va, vb, r in p["rows"]]
        out.append(f"  why: {p['why']}")
    return "\n".join(out)
