"""Server settings: CLI flags, each with an environment variable as an alternative.

Precedence: flag, then environment variable, then default. `OCR_THREADS=2` equals `--threads 2`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from reference_server.models.presets import PRESETS

ENV_PREFIX = "OCR_"


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8866
    preset: str = "base"
    model_dir: Path = Path("models")
    threads: int = 2  # CPU math threads per predictor
    onednn: bool = True
    precision: str = "fp32"  # fp32, int8 or bf16 (PRECISIONS)
    instances: int = 1  # predictor instances (pipeline workers), each a clone
    rec_batch: int = 6  # recognition batch size; 1 = serial
    warmup: bool = True
    max_queue: int = 16  # requests waiting beyond those being served; more are shed with 503
    max_body_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 25_000_000
    det_limit_side: int = 960
    extra_buckets: tuple[float, ...] = field(default_factory=tuple)  # seconds
    fault: str = ""  # test-only: a planted bug (FAULTS), never set in use

    def info_labels(self) -> dict[str, str]:
        """The configuration as string labels for the info metric."""
        d = asdict(self)
        d["extra_buckets"] = ",".join(f"{b:g}" for b in self.extra_buckets)
        return {k: ("on" if v is True else "off" if v is False else str(v)) for k, v in d.items()}


def _bool(text: str) -> bool:
    t = text.strip().lower()
    if t in ("1", "on", "true", "yes"):
        return True
    if t in ("0", "off", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not on/off (accepted: on, off, true, false, 1, 0)")


def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} must be at least {minimum}")
        return value

    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def _buckets(text: str) -> tuple[float, ...]:
    from sla.buckets import latency_buckets

    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
        latency_buckets(values)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: comma-separated seconds expected, such as 0.15,1.5 ({exc})") from None
    return values


# int8: the models quantised after training (reference_server/models/quantize.py) on oneDNN's INT8
# kernels (fastest with AVX-512 VNNI or AMX). bf16: oneDNN runs the ops it has bfloat16 kernels for
# in bfloat16 (AVX-512 BF16 or AMX; emulated, slower, without them).
PRECISIONS = ("fp32", "int8", "bf16")


def _precision(text: str) -> str:
    if text not in PRECISIONS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a precision (accepted: {', '.join(PRECISIONS)})")
    return text


# Test-only faults, hidden from --help: bugs the gate's tests must catch.
# crossed-batches: answers come back one line off when two requests are in recognition at once.
FAULTS = ("", "crossed-batches")


def _fault(text: str) -> str:
    if text not in FAULTS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fault (accepted: {', '.join(f for f in FAULTS if f)})")
    return text


# name, type, help. Defaults come from ServerConfig.
_OPTIONS: list[tuple[str, object, str]] = [
    ("host", str, "address to bind (loopback by default)"),
    ("port", _positive_int, "port to bind"),
    ("preset", str, f"model preset: {', '.join(PRESETS)}"),
    ("model_dir", Path, "where models are exported and loaded from (exported on first start)"),
    ("threads", _positive_int, "CPU math threads per predictor; OpenMP and OpenBLAS pools are held to this many and "
     "OpenCV runs on the calling thread, so the server takes about threads x instances cores; Paddle's own few "
     "garbage-collection threads (a few %% of a core) are not bounded"),
    ("onednn", _bool, "oneDNN on/off (cache capped)"),
    ("precision", _precision, "fp32; int8: the models quantised after training (make models), on oneDNN's INT8 "
     "kernels; bf16: oneDNN's bfloat16 kernels. int8 and bf16 need --onednn on"),
    ("instances", _positive_int, "predictor instances (cloned, one per worker thread)"),
    ("rec_batch", _positive_int, "recognition batch size (1 = serial)"),
    ("warmup", _bool, "run representative pages before /readyz turns ready (on/off)"),
    ("max_queue", _non_negative_int, "requests that may wait for a worker; more get 503 + Retry-After"),
    ("max_body_bytes", _positive_int, "largest request body; larger gets 413"),
    ("max_image_pixels", _positive_int, "largest decoded image (width x height); larger gets 413"),
    ("det_limit_side", _positive_int, "longest side of the detection input"),
    ("extra_buckets", _buckets, "extra histogram boundaries in seconds, comma-separated (SLA thresholds)"),
    ("fault", _fault, argparse.SUPPRESS),
]


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    defaults = ServerConfig()
    parser = argparse.ArgumentParser(
        prog="python -m reference_server",
        description="Reference OCR inference server on Paddle Inference (detection + batched recognition).",
        epilog=f"Every option can also be set by an environment variable: {ENV_PREFIX}<OPTION>, e.g. {ENV_PREFIX}THREADS=2.",
    )
    for name, kind, help_text in _OPTIONS:
        env = ENV_PREFIX + name.upper()
        default = getattr(defaults, name)
        if env in environ:
            try:
                default = kind(environ[env])  # type: ignore[operator]
            except (argparse.ArgumentTypeError, ValueError) as exc:
                parser.error(f"environment variable {env}: {exc}")
        shown = help_text if help_text == argparse.SUPPRESS else f"{help_text} [env {env}]"
        parser.add_argument("--" + name.replace("_", "-"), type=kind, default=default, help=shown)
    return parser


def parse_config(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> ServerConfig:
    environ = os.environ if environ is None else environ
    parser = build_parser(environ)
    ns = parser.parse_args(argv)
    if ns.preset not in PRESETS:
        parser.error(f"--preset {ns.preset!r} is not one of {', '.join(PRESETS)}")
    if ns.precision != "fp32" and not ns.onednn:
        parser.error(f"--precision {ns.precision} runs on oneDNN's kernels: it needs --onednn on")
    return ServerConfig(**vars(ns))
