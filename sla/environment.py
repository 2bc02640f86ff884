"""The environment a run ran in, recorded in run.json (`environment`): the load generator's host, and
what the target says of itself. It is what tells two runs, or two machines, apart: the same model
is 2-3x slower on a CPU without AVX-512, under a CPU limit, or with other thread settings.

The host is read here (CPU model, cores, this process's affinity and CPU limit, the ISA flags that
inference libraries dispatch on, memory, kernel, versions). The target is read from its own
metrics, never guessed: the info metrics its mapping names (the reference server's configuration
and environment), and `python_info` where a Python stack exposes it; otherwise "not reported".
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from sla.analysis import promql
from sla.limits import cpu_list_text, own_cpu_quota

ROOT = Path(__file__).resolve().parent.parent
# The CPU flags inference libraries (oneDNN, OpenBLAS, Paddle's kernels) choose their code paths by.
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16")
NOT_REPORTED = "not reported"


def read_cpuinfo(text: str) -> tuple[str | None, list[str]]:
    """The CPU's model name and which of ISA_FLAGS it has, from /proc/cpuinfo's text (x86: "model
    name" and "flags"; elsewhere the model may be missing and the flags are "Features")."""
    model: str | None = None
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model is None:
            model = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = set(value.split())
    return model, [f for f in ISA_FLAGS if f in flags]


def _memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.cache
def harness_version() -> str:
    """The harness's version, and the commit when it runs from a git checkout."""
    version = _version("paddle-sla-gate") or "unknown"
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5)
        if commit.returncode == 0 and commit.stdout.strip():
            version += f" (commit {commit.stdout.strip()})"
    except (OSError, subprocess.SubprocessError):
        pass
    return version


def cpu_facts() -> dict[str, Any]:
    """This process's CPU: model, the machine's cores, the cores it may run on, its CPU limit (a
    CFS quota in cores; None: none) and ISA flags. Shared by the load generator and the reference
    server, which reports the same facts of itself."""
    try:
        model, isa = read_cpuinfo(Path("/proc/cpuinfo").read_text())
    except OSError:
        model, isa = None, []
    return {"cpu_model": model or platform.processor() or None, "cores": os.cpu_count(),
            "affinity": cpu_list_text(sorted(os.sched_getaffinity(0))), "cpu_limit": own_cpu_quota(), "isa": isa}


def environment_labels(facts: dict[str, Any]) -> dict[str, str]:
    """Facts as an info metric's string labels (lists as comma-separated, None as "none")."""
    return {k: "none" if v is None else ",".join(map(str, v)) if isinstance(v, list) else f"{v:g}" if isinstance(v, float) else str(v)
            for k, v in facts.items()}


def host_environment() -> dict[str, Any]:
    """The load generator's host, as run.json's `environment.loadgen` keeps it."""
    return {**cpu_facts(), "memory_bytes": _memory_bytes(), "kernel": platform.release(), "python": platform.python_version(),
            "locust": _version("locust"), "harness": harness_version()}


PROCESS_METRICS = ("process_resident_memory_bytes", "process_max_fds")  # prometheus_client's process collector


def target_environment(info: dict[str, list[dict[str, str]]], python: str | None, why_not: str = "",
                       process: dict[str, float] | None = None) -> dict[str, Any]:
    """What the target reported of itself: the labels of each info metric it exposes (by metric
    name; one label set, or one per distinct replica), the Python it runs on (`python_info`) and
    its process metrics (resident memory, file descriptor limit), or "not reported" (and why)
    when it says nothing."""
    if not any(info.values()) and not python and not process:
        return {"reported": False, "note": f"{NOT_REPORTED}: {why_not or 'its metrics carry no info metric, no python_info and no process metrics'}"}
    return {"reported": True, "info": {k: v[0] if len(v) == 1 else v for k, v in info.items() if v}, "python": python or NOT_REPORTED,
            "process": process or NOT_REPORTED}


def read_target_environment(reader: Any, mapping: Any, at: float) -> dict[str, Any]:
    """`target_environment` from the run's Prometheus (`reader`, a PromReader) at `at`: the info
    metrics of the target's mapping (sla/targets/metrics.py) and `python_info`."""
    if mapping is None:
        return target_environment({}, None, "the target has no server metrics mapping")

    def label_sets(name: str) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for row in reader.query(promql.server_info(name, at)):
            labels = {k: v for k, v in row["metric"].items() if k not in ("__name__", "job", "instance")}
            if labels not in out:
                out.append(labels)
        return out

    info = {name: label_sets(name) for name in mapping.info_metrics}
    python = sorted({s.get("version", "") for s in label_sets("python_info")} - {""})
    process = {name: float(rows[0]["value"][1]) for name in PROCESS_METRICS if (rows := reader.query(promql.server_info(name, at)))}
    return target_environment(info, ", ".join(python) or None, process=process)


def describe_cpu(env: dict[str, Any]) -> str:
    """One line for a host or a target: "AMD EPYC, 2 cores (affinity 1), limit 0.5 cores, avx2 avx512f"."""
    parts: list[str] = [env.get("cpu_model") or "CPU model " + NOT_REPORTED]
    if env.get("cores"):
        parts.append(f"{env['cores']} cores" + (f" (affinity {env['affinity']})" if env.get("affinity") else ""))
    if env.get("cpu_limit") not in (None, "", "none"):
        parts.append(f"limit {float(env['cpu_limit']):g} cores")
    isa = env.get("isa")
    if isa:
        parts.append(" ".join(isa) if isinstance(isa, list) else str(isa).replace(",", " "))
    return ", ".join(parts)


CPU_KEYS = ("cpu_model", "cores", "affinity", "cpu_limit", "isa")


def environment_lines(environment: dict[str, Any]) -> list[tuple[str, str]]:
    """run.json's `environment` as (who, what) lines for the reports: the load generator's host,
    then what the target reported, one line per info metric (its CPU first, as for the host)."""
    lines: list[tuple[str, str]] = []
    host = environment.get("loadgen")
    if host:
        memory = f"{host['memory_bytes'] / 2**30:.0f} GiB" if host.get("memory_bytes") else None
        rest: list[str | None] = [memory, host.get("kernel") and f"Linux {host['kernel']}", host.get("python") and f"Python {host['python']}",
                host.get("locust") and f"Locust {host['locust']}", host.get("harness") and f"harness {host['harness']}"]
        lines.append(("load generator", ", ".join([describe_cpu(host), *filter(None, rest)])))
    target = environment.get("target")
    if not target:
        lines.append(("target", NOT_REPORTED))
    elif not target.get("reported"):
        lines.append(("target", target.get("note", NOT_REPORTED)))
    else:
        for name, labels in target.get("info", {}).items():
            for one in labels if isinstance(labels, list) else [labels]:
                cpu = [describe_cpu(one)] if "cpu_model" in one else []
                settings = [f"{k}={v}" for k, v in one.items() if k not in CPU_KEYS]
                lines.append((f"target ({name})", ", ".join(cpu + settings)))
        if target.get("python") not in (None, NOT_REPORTED):
            lines.append(("target (python_info)", f"Python {target['python']}"))
        process = target.get("process")
        if isinstance(process, dict) and process:
            shown = [f"resident memory {process['process_resident_memory_bytes'] / 2**20:.0f} MiB" if "process_resident_memory_bytes" in process else "",
                     f"max fds {process['process_max_fds']:.0f}" if "process_max_fds" in process else ""]
            lines.append(("target (process metrics)", ", ".join(filter(None, shown))))
    return lines
