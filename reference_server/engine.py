"""Paddle Inference predictors: creation with the CPU recipe that works on Paddle 3.3, and running.

The recipe, measured on Paddle 3.3: `enable_memory_optim()` on a PIR model needs
`enable_new_ir(True)` and `enable_new_executor(True)` too, or `create_predictor` fails. The oneDNN
cache grows with every input shape, so it is capped. A predictor is not shared between threads:
each pipeline instance gets its own `clone()`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ONEDNN_CACHE_CAPACITY = 10


class Predictor:
    """One Paddle Inference predictor with a single input and a single output."""

    def __init__(self, raw) -> None:
        self._raw = raw
        self._input = raw.get_input_handle(raw.get_input_names()[0])
        self._output = raw.get_output_handle(raw.get_output_names()[0])

    @classmethod
    def load(cls, model_json: Path, params: Path, threads: int, onednn: bool) -> "Predictor":
        from paddle import inference

        config = inference.Config(str(model_json), str(params))
        config.disable_gpu()
        if onednn:
            config.enable_onednn()
            config.set_onednn_cache_capacity(ONEDNN_CACHE_CAPACITY)
        else:
            config.disable_onednn()
        config.set_cpu_math_library_num_threads(threads)
        config.enable_new_ir(True)
        config.enable_new_executor(True)
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
