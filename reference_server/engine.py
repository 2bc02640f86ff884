"""Paddle Inference predictors: creation with the CPU recipe that works on Paddle 3.3, and running.

The recipe, measured on Paddle 3.3: `enable_memory_optim()` on a PIR model needs
`enable_new_ir(True)` and `enable_new_executor(True)` too, or `create_predictor` fails. The oneDNN
cache grows with every input shape, so it is capped. A predictor is not shared between threads:
each pipeline instance gets its own `clone()`.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

import numpy as np

ONEDNN_CACHE_CAPACITY = 10


def native_thread_env(threads: int) -> dict[str, str]:
    """The environment that holds the native thread pools to `threads` cores' worth of work.

    Measured here with `--threads 1` under concurrent load (per-thread CPU time from /proc):
    149 % CPU in all, of which ~40 % on one more thread: Paddle's bundled Intel OpenMP (libiomp5)
    ran parallel regions on a second thread (`set_cpu_math_library_num_threads` sets the
    predictor's math threads, not the default team of other kernels) and spin-waited after each
    (KMP_BLOCKTIME, 200 ms by default); OpenCV's pool spun in sched_yield between calls. With
    these set the same load took 80 % CPU on one busy thread. Values already in the environment
    are kept (a user's own choice wins)."""
    n = str(threads)
    return {"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "KMP_BLOCKTIME": "0", "OPENCV_FOR_THREADS_NUM": "1"}


def bound_native_threads(threads: int, environ: MutableMapping[str, str] | None = None) -> None:
    """Set `native_thread_env` before Paddle, OpenMP or OpenCV are loaded (they read it once),
    and run OpenCV's own calls on the calling thread (its pool busy-waits between calls)."""
    environ = os.environ if environ is None else environ
    for key, value in native_thread_env(threads).items():
        environ.setdefault(key, value)
    import cv2

    cv2.setNumThreads(1)


def paddle_facts() -> dict[str, str]:
    """What Paddle says of itself here: version and commit, whether oneDNN is compiled in, and the
    ISA its CPU kernels can use on this machine (avx, avx512f, vnni, bf16). For the environment
    info metric; a fact this Paddle cannot tell is "not reported"."""
    import paddle
    from paddle.base import core

    def ask(fn: str) -> bool | None:
        try:
            return bool(getattr(core, fn)())
        except Exception:  # an older or other build without it
            return None

    onednn = ask("is_compiled_with_onednn")
    onednn = ask("is_compiled_with_mkldnn") if onednn is None else onednn
    isa = [name for name, fn in (("avx", "avx_supported"), ("avx512f", "supports_avx512f"), ("vnni", "supports_vnni"),
                                 ("bf16", "supports_bfloat16")) if ask(fn)]
    return {"paddle_version": paddle.__version__, "paddle_commit": getattr(paddle.version, "commit", "")[:12] or "not reported",
            "onednn_compiled": "not reported" if onednn is None else "on" if onednn else "off", "paddle_isa": ",".join(isa) or "none"}


class Predictor:
    """One Paddle Inference predictor with a single input and a single output."""

    def __init__(self, raw) -> None:
        self._raw = raw
        self._input = raw.get_input_handle(raw.get_input_names()[0])
        self._output = raw.get_output_handle(raw.get_output_names()[0])

    @classmethod
    def load(cls, model_json: Path, params: Path, threads: int, onednn: bool, precision: str = "fp32") -> "Predictor":
        from paddle import inference

        config = inference.Config(str(model_json), str(params))
        config.disable_gpu()
        if onednn:
            config.enable_onednn()
            config.set_onednn_cache_capacity(ONEDNN_CACHE_CAPACITY)
            if precision == "bf16":
                config.enable_onednn_bfloat16()
            elif precision == "int8":
                config.enable_onednn_int8()  # the quantize/dequantize pairs of the model become INT8 kernels
        else:
            config.disable_onednn()
        config.set_cpu_math_library_num_threads(threads)
        pir = Path(model_json).suffix == ".json"  # the INT8 models are programs of the old format (quantize.py)
        config.enable_new_ir(pir)  # translated to PIR, their repeat_interleave is refused (output_size's type)
        config.enable_new_executor(pir)
        config.set_optimization_level(3)
        config.enable_memory_optim()
        config.disable_glog_info()
        return cls(inference.create_predictor(config))

    def clone(self) -> "Predictor":
        return Predictor(self._raw.clone())

    def run(self, x: np.ndarray) -> np.ndarray:
        self._input.reshape(list(x.shape))
        self._input.copy_from_cpu(np.ascontiguousarray(x, dtype=np.float32))
        self._raw.run()
        return self._output.copy_to_cpu()
