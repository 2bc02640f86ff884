"""INT8 models by post-training quantisation, calibrated on synthetic pages.

    .venvs/quant/bin/python -m reference_server.models.quantize [--preset tiny base]   # or `make models`

Paddle 3.3 cannot quantise these networks after training: its static PostTrainingQuantization
needs a program in the old format, which 3.3 no longer exports from `paddle.nn` code, and the
PTQ of `paddle.quantization` exports through PIR with a buffer shaped like its input, which fails
on a dynamic batch or width (docs/reference-server.md, "Reduced precision"). Paddle 2.6 still does both, and Paddle
3.3's inference runs the result through oneDNN's INT8 kernels. So this script runs under Paddle 2.6,
in a virtualenv of its own (`.venvs/quant`, made by `make models`; never a dependency of the
server), and writes `int8/<preset>/{det,rec}/inference.pdmodel|.pdiparams` beside the weights,
committed, with the digest of the weights they came from (`weights.sha256`): a server started
with `--precision int8` refuses models quantised from other weights.

What is quantised: the convolutions (weights per channel, activations per tensor; their ranges
the largest seen, `abs_max`, over 64 inputs like the server's: detection inputs of pages of every
size, recognition crops of their lines, from seeds neither training nor the corpus use). Not the
transposed convolutions (no INT8 kernel of Paddle 3.3 runs them), nor the recogniser's matrix
products (its transformer), which cost 10 points of exact lines more. Measured with tiny on the
held-out pages (`train.py --evaluate-only --precision ...`): quantising the detector alone costs
nothing; the recogniser's convolutions cost about 14 points of exact lines, whatever the
calibration tried (avg, hist, KL, mse, abs_max; 32 or 64 inputs).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from reference_server.models.export import INT8_DIR, MODEL_NAMES, STAMP, load_trained, weights_digest
from reference_server.models.presets import PRESETS

CALIBRATION_SAMPLES = 64
ALGO = "abs_max"
QUANTIZED_OPS = ["conv2d", "depthwise_conv2d"]  # see the module docstring


def calibration(name: str, count: int, seed: int = 0) -> list[np.ndarray]:
    """Inputs like those the server feeds each network: detection inputs of training pages, or
    recognition crops (one per sample, widths as the server pads them)."""
    from reference_server.models.train import TRAIN_SEED_BASE, DET_LIMIT_SIDE, line_crop, random_page
    from reference_server.pipeline.detection import preprocess_detection
    from reference_server.pipeline.recognition import RecParams, rec_input

    rng = random.Random(seed)
    out: list[np.ndarray] = []
    while len(out) < count:
        image, lines, _ = random_page(rng, TRAIN_SEED_BASE + 500_000 + len(out))
        if name == "det":
            out.append(preprocess_detection(image, DET_LIMIT_SIDE)[0])
        else:
            out += [rec_input([line_crop(image, line.box, rng)], RecParams())[0] for line in lines][: count - len(out)]
    return out


def quantize(preset: str, name: str, target: Path, samples: int, algo: str = "avg", quantized: bool = True) -> None:
    """Write `name`'s model in the old program format under `target`: quantised, or as it is."""
    import paddle
    from paddle.static import InputSpec
    from paddle.static.quantization import PostTrainingQuantization

    from reference_server.models.networks import CRNNRecognizer, DBDetector

    with tempfile.TemporaryDirectory(prefix="ocr-quant-") as tmp:
        paddle.disable_static()
        net = (DBDetector if name == "det" else CRNNRecognizer)(PRESETS[preset])
        load_trained(net, preset, name)
        net.eval()
        spec = InputSpec([None, 3, None, None] if name == "det" else [None, 3, 48, None], "float32", "x")
        paddle.jit.save(net, f"{tmp}/inference", input_spec=[spec])
        if not quantized:
            shutil.copytree(tmp, target / name)
            return
        inputs = calibration(name, samples)

        class Calibration(paddle.io.Dataset):
            def __len__(self) -> int:
                return len(inputs)

            def __getitem__(self, i: int) -> np.ndarray:
                return inputs[i]

        paddle.enable_static()
        x = paddle.static.data("x", [None, 3, None, None], "float32")
        loader = paddle.io.DataLoader(Calibration(), feed_list=[x], batch_size=1, return_list=False, places=paddle.CPUPlace())
        ptq = PostTrainingQuantization(executor=paddle.static.Executor(paddle.CPUPlace()), model_dir=tmp,
                                       model_filename="inference.pdmodel", params_filename="inference.pdiparams",
                                       data_loader=loader, batch_nums=len(inputs), algo=algo,
                                       quantizable_op_type=QUANTIZED_OPS, onnx_format=True)
        ptq.quantize()
        ptq.save_quantized_model(str(target / name), model_filename="inference.pdmodel", params_filename="inference.pdiparams")
        paddle.disable_static()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference_server.models.quantize", description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    parser.add_argument("--samples", type=int, default=CALIBRATION_SAMPLES, help="calibration inputs per network")
    parser.add_argument("--networks", nargs="+", default=list(MODEL_NAMES), choices=MODEL_NAMES,
                        help="the networks quantised (the others are written in FP32, in the same format)")
    parser.add_argument("--algo", default=ALGO, choices=("avg", "abs_max", "hist", "mse", "KL"), help="how activation ranges are set")
    args = parser.parse_args(argv)
    for preset in args.preset:
        digest = weights_digest(preset)
        target = INT8_DIR / preset
        staging = Path(tempfile.mkdtemp(prefix=f".{preset}-", dir=INT8_DIR.parent))
        try:
            for name in MODEL_NAMES:
                quantize(preset, name, staging, args.samples, args.algo, name in args.networks)
            (staging / STAMP).write_text(digest + "\n")
            shutil.rmtree(target, ignore_errors=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        print(f"{preset}: INT8 models in {target}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
