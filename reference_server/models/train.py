"""Train the reference OCR networks on the project's synthetic pages, and measure what they read.

    python -m reference_server.models.train --preset base      # or `make models` (both presets)
    python -m reference_server.models.train --preset base --evaluate-only

The pages are those the load generator sends (sla/payloads/synthetic.py: the same renderer, font,
sizes, backgrounds and encodings), drawn from seeds the corpus never uses; the held-out pages are
the corpus's own seeds (0..), so the figures are those of the pages a run sends.

- Detection (DB): each text line's ink box, shrunk by 0.1 of its height on every side, is the
  kernel the network learns to mark (binary cross-entropy plus dice loss, on 256 x 256 crops of
  pages resized as the server resizes them). For a line w long and h high (w >> h) the kernel is
  0.8h high; the probability map above the threshold runs a little wider, and the
  post-processing's unclip (ratio 0.2: area x 0.2 / perimeter, about 0.08h on every side) gives a
  crop that hugs the ink (detection.py has the ratios measured). PaddleOCR shrinks by 0.4 and
  unclips by 1.5; a kernel that thin took this small network far longer to learn.
- Recognition (CRNN/CTC): crops of the lines (and of spans of their words), cut with a random
  margin (what detection leaves), resized and padded as the server does.

The weights are written as float16 state dicts (`weights/<preset>/{det,rec}.pdparams`, a few MB,
committed); the server exports them to Paddle Inference files at its first start (export.py).
Training is seeded, but floating-point sums on several threads are not bit-reproducible: a rerun
gives weights that read as well, not the same bytes.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import math
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFont

from reference_server.charset import CHARACTERS
from reference_server.config import PRECISIONS
from reference_server.models.export import WEIGHTS_DIR, weights_file
from reference_server.models.presets import PRESETS
from reference_server.pipeline.detection import detection_size, preprocess_detection
from reference_server.pipeline.recognition import RecParams, rec_input
from sla.payloads.scoring import Score, score
from sla.payloads.synthetic import BACKGROUNDS, ENCODINGS, SIZES, render_lines

TRAIN_SEED_BASE = 1_000_000  # training pages; the corpus (and the held-out set) uses seeds 0..
DET_CROP = 256
DET_LIMIT_SIDE = 960  # the server's default det_limit_side
SHRINK = 0.1  # of the line height, on every side (see the module docstring)
CHAR_INDEX = {c: i + 1 for i, c in enumerate(CHARACTERS)}


@dataclass(frozen=True)
class Budget:
    det_steps: int
    rec_steps: int
    det_batch: int = 8
    rec_batch: int = 32
    pages: int = 1200  # training pages rendered (each gives its lines to recognition)
    det_lr: float = 1e-3
    rec_lr: float = 2e-3
    short_share: float = 0.3  # the first steps of recognition see spans of one or two words only (CTC learns
    # to align on short sequences first; a whole line from the start keeps it emitting blanks for longer)


BUDGETS = {"tiny": Budget(det_steps=1500, rec_steps=3000), "base": Budget(det_steps=1000, rec_steps=1600, rec_batch=16)}


def random_page(rng: random.Random, seed: int) -> tuple[np.ndarray, list, str]:
    """A training page: any size and background, through PNG or JPEG as the corpus sends it."""
    size = rng.choice(list(SIZES))
    page, lines = render_lines(size, rng.choice(BACKGROUNDS), seed)
    if rng.choice(ENCODINGS) == "jpeg":
        buf = io.BytesIO()
        page.save(buf, format="JPEG", quality=90)
        page = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return np.asarray(page), lines, size


# -- detection data -----------------------------------------------------------------------------
def kernel_map(shape: tuple[int, int], boxes: list[tuple[int, int, int, int]], sx: float, sy: float) -> np.ndarray:
    target = np.zeros(shape, dtype=np.float32)
    for left, top, right, bottom in boxes:
        d = SHRINK * (bottom - top)
        x0, x1 = round((left + d) * sx), round((right - d) * sx)
        y0, y1 = round((top + d) * sy), round((bottom - d) * sy)
        if x1 > x0 and y1 >= y0:
            target[y0 : y1 + 1, x0 : x1 + 1] = 1.0
    return target


def det_sample(image: np.ndarray, lines: list, rng: random.Random) -> tuple[np.ndarray, np.ndarray]:
    """A DET_CROP square of the server's detection input (3xHxW) and its kernel map (HxW)."""
    h, w = image.shape[:2]
    x = preprocess_detection(image, DET_LIMIT_SIDE)[0]
    dh, dw = detection_size(h, w, DET_LIMIT_SIDE)
    target = kernel_map((dh, dw), [line.box for line in lines], dw / w, dh / h)
    pad_h, pad_w = max(0, DET_CROP - dh), max(0, DET_CROP - dw)
    if pad_h or pad_w:
        x = np.pad(x, ((0, 0), (0, pad_h), (0, pad_w)), mode="edge")
        target = np.pad(target, ((0, pad_h), (0, pad_w)))
    if lines and rng.random() < 0.8:  # mostly around a line: a page is mostly margin
        left, top, right, bottom = rng.choice(lines).box
        cy, cx = (top + bottom) / 2 * dh / h, rng.uniform(left, right) * dw / w
        top = int(np.clip(cy + rng.uniform(-0.4, 0.4) * DET_CROP - DET_CROP / 2, 0, x.shape[1] - DET_CROP))
        left = int(np.clip(cx - DET_CROP / 2, 0, x.shape[2] - DET_CROP))
    else:
        top = rng.randint(0, x.shape[1] - DET_CROP)
        left = rng.randint(0, x.shape[2] - DET_CROP)
    return x[:, top : top + DET_CROP, left : left + DET_CROP], target[top : top + DET_CROP, left : left + DET_CROP]


# -- recognition data ---------------------------------------------------------------------------
def span_box(line, words: tuple[int, int], font_size: int) -> tuple[tuple[int, int, int, int], str]:
    """The ink box and text of words [a, b) of a rendered line (font metrics locate the words)."""
    font = ImageFont.load_default(size=font_size)
    parts = line.text.split(" ")
    a, b = words
    prefix, span = " ".join(parts[:a]) + (" " if a else ""), " ".join(parts[a:b])
    origin = line.box[0] - font.getbbox(line.text)[0]
    offset = origin + font.getlength(prefix)
    left, _, right, _ = font.getbbox(span)
    return (int(offset + left), line.box[1], int(math.ceil(offset + right)), line.box[3]), span


def line_crop(image: np.ndarray, box: tuple[int, int, int, int], rng: random.Random) -> np.ndarray:
    """The box cut with a margin of 0 to 0.4 of its height on each side (detection leaves about
    0.2h, see the module docstring); never into the ink, so the label stays what the crop shows."""
    left, top, right, bottom = box
    h = bottom - top
    margin = lambda: rng.uniform(0.0, 0.4) * h  # noqa: E731
    x0 = int(np.clip(left - margin(), 0, image.shape[1] - 2))
    x1 = int(np.clip(right + margin(), x0 + 2, image.shape[1]))
    y0 = int(np.clip(top - margin(), 0, image.shape[0] - 2))
    y1 = int(np.clip(bottom + margin(), y0 + 2, image.shape[0]))
    return image[y0:y1, x0:x1]


def rec_batches(pages: list, batch: int, rng: random.Random, short_batches: int = 0):
    """Endless batches of line crops, padded as the server pads: the first `short_batches` of
    spans of one or two words, then half whole lines and half spans of one to three words
    (cheaper to train on, and as many word boundaries)."""
    lines = [(image, line, size) for image, lines, size in pages for line in lines]
    params = RecParams()
    made = 0
    while True:
        short = made < short_batches
        whole = not short and rng.random() < 0.5
        made += 1
        crops, texts = [], []
        for image, line, size in rng.sample(lines, batch):
            box, text = line.box, line.text
            words = len(text.split(" "))
            if not whole and words > 1:
                a = rng.randrange(words)
                box, text = span_box(line, (a, min(words, a + rng.randint(1, 2 if short else 3))), SIZES[size][2])
            crops.append(line_crop(image, box, rng))
            texts.append(text)
        yield rec_input(crops, params), [[CHAR_INDEX[c] for c in t] for t in texts]


# -- training -----------------------------------------------------------------------------------
def _dice(prob, target):
    import paddle

    inter = paddle.sum(prob * target)
    return 1.0 - 2.0 * inter / (paddle.sum(prob) + paddle.sum(target) + 1e-6)


def _progress(name: str, step: int, steps: int, loss: float, started: float) -> None:
    if step % 50 == 0 or step == steps:
        elapsed = time.time() - started
        print(f"  {name} step {step}/{steps}  loss {loss:.4f}  {elapsed:.0f} s (about {elapsed / step * (steps - step):.0f} s left)",
              flush=True)


def _optimizer(net, lr: float, steps: int):
    """Adam with a linear warm-up over the first 5 % of the steps, then a cosine decay."""
    import paddle

    warmup = max(1, steps // 20)
    cosine = paddle.optimizer.lr.CosineAnnealingDecay(learning_rate=lr, T_max=steps - warmup)
    schedule = paddle.optimizer.lr.LinearWarmup(cosine, warmup_steps=warmup, start_lr=lr / 20, end_lr=lr)
    return paddle.optimizer.Adam(learning_rate=schedule, parameters=net.parameters()), schedule


def train_detector(preset: str, pages: list, budget: Budget, rng: random.Random):
    import paddle
    import paddle.nn.functional as F

    from reference_server.models.networks import DBDetector

    net = DBDetector(PRESETS[preset])
    net.train()
    opt, schedule = _optimizer(net, budget.det_lr, budget.det_steps)
    started = time.time()
    for step in range(1, budget.det_steps + 1):
        samples = [det_sample(*rng.choice(pages)[:2], rng) for _ in range(budget.det_batch)]
        x = paddle.to_tensor(np.stack([s[0] for s in samples]))
        target = paddle.to_tensor(np.stack([s[1] for s in samples])[:, np.newaxis])
        logits = net.logits(x)
        positive = float(target.mean().item())
        weight = paddle.where(target > 0, paddle.full_like(target, min(10.0, (1 - positive) / max(positive, 1e-3))),
                              paddle.ones_like(target))
        loss = F.binary_cross_entropy_with_logits(logits, target, weight=weight) + _dice(F.sigmoid(logits), target)
        loss.backward()
        opt.step()
        opt.clear_grad()
        schedule.step()
        _progress("det", step, budget.det_steps, float(loss.item()), started)
    net.eval()
    return net


def train_recognizer(preset: str, pages: list, budget: Budget, rng: random.Random):
    import paddle
    import paddle.nn.functional as F

    from reference_server.models.networks import CRNNRecognizer

    net = CRNNRecognizer(PRESETS[preset])
    net.train()
    opt, schedule = _optimizer(net, budget.rec_lr, budget.rec_steps)
    batches = rec_batches(pages, budget.rec_batch, rng, int(budget.short_share * budget.rec_steps))
    held_out = next(rec_batches([random_page(random.Random(1), i) for i in range(16)], 48, random.Random(2)))
    started = time.time()
    for step in range(1, budget.rec_steps + 1):
        x, labels = next(batches)
        logits = net.logits(paddle.to_tensor(x))  # [N, T, C]
        n, t = logits.shape[0], logits.shape[1]
        longest = max(len(lab) for lab in labels)
        padded = np.zeros((n, longest), dtype=np.int32)
        for i, lab in enumerate(labels):
            padded[i, : len(lab)] = lab
        loss = F.ctc_loss(paddle.transpose(logits, [1, 0, 2]), paddle.to_tensor(padded),
                          paddle.to_tensor(np.full(n, t, dtype=np.int64)),
                          paddle.to_tensor(np.array([len(lab) for lab in labels], dtype=np.int64)),
                          blank=0, reduction="mean")
        loss.backward()
        opt.step()
        opt.clear_grad()
        schedule.step()
        _progress("rec", step, budget.rec_steps, float(loss.item()), started)
        if step % 250 == 0 or step == budget.rec_steps:
            print(f"  rec step {step}: {_read_right(net, held_out)} of 48 held-out crops read exactly", flush=True)
    net.eval()
    return net


def _read_right(net, batch) -> int:
    """Crops of held-out pages (the corpus's seeds) that the network reads exactly now."""
    import paddle
    import paddle.nn.functional as F

    from reference_server.pipeline.recognition import ctc_decode

    x, labels = batch
    net.eval()
    with paddle.no_grad():
        probs = F.softmax(net.logits(paddle.to_tensor(x)), axis=-1).numpy()
    net.train()
    return sum(text == "".join(CHARACTERS[i - 1] for i in label) for (text, _), label in zip(ctc_decode(probs), labels))


def save_weights(net, path: Path) -> None:
    import paddle

    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: (v.astype("float16") if v.dtype == paddle.float32 else v) for k, v in net.state_dict().items()}
    paddle.save(state, str(path))


# -- measuring ----------------------------------------------------------------------------------
def held_out_pages(per_class: int) -> list[tuple[str, str, int]]:
    return [(size, background, seed) for size in SIZES for background in BACKGROUNDS for seed in range(per_class)]


def evaluate(preset: str, model_dir: Path, per_class: int = 8, precision: str = "fp32", out=sys.stdout) -> Score:
    """Exact lines and CER of the server's own pipeline (loaded from `model_dir`) on held-out pages
    of every size and background, PNG and JPEG, read one at a time."""
    from reference_server.config import ServerConfig
    from reference_server.workers import load_pipeline
    from sla.payloads.synthetic import encode

    pipeline = load_pipeline(ServerConfig(preset=preset, model_dir=model_dir, threads=2, precision=precision))
    total = Score(0, 0, 0, 0)
    started = time.time()
    for size, background, seed in held_out_pages(per_class):
        page, lines = render_lines(size, background, seed)
        for encoding in ENCODINGS:
            read = [line.text for line in pipeline(encode(page, encoding)).lines]
            got = score([line.text for line in lines], read)
            total = Score(total.lines + got.lines, total.exact + got.exact, total.chars + got.chars, total.errors + got.errors)
    print(f"{preset} ({precision}): {total.exact}/{total.lines} lines exact ({total.exact_share * 100:.1f} %), "
          f"CER {total.cer * 100:.2f} % over {total.chars} characters; {len(held_out_pages(per_class)) * 2} held-out pages "
          f"({time.time() - started:.0f} s)", file=out, flush=True)
    return total


def train(preset: str, budget: Budget, parts: tuple[str, ...] = ("det", "rec"), threads: int = 0, seed: int = 0) -> None:
    import paddle
    from paddle.base import core

    core.set_num_threads(threads or os.cpu_count() or 1)  # dygraph kernels run on one thread unless told
    paddle.seed(seed)
    rng = random.Random(seed)
    started = time.time()
    pages = [random_page(rng, TRAIN_SEED_BASE + i) for i in range(budget.pages)]
    print(f"{preset}: {len(pages)} training pages rendered ({time.time() - started:.0f} s)", flush=True)
    for part, trainer in (("det", train_detector), ("rec", train_recognizer)):
        if part in parts:
            save_weights(trainer(preset, pages, budget, rng), weights_file(preset, part))
    print(f"{preset}: {' and '.join(parts)} trained in {time.time() - started:.0f} s; weights in {WEIGHTS_DIR / preset}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference_server.models.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=list(PRESETS), action="append", help="preset(s) to train (default: all)")
    parser.add_argument("--evaluate-only", action="store_true", help="measure the committed weights; train nothing")
    parser.add_argument("--det-steps", type=int, help="detection steps (default: the preset's budget)")
    parser.add_argument("--rec-steps", type=int, help="recognition steps (default: the preset's budget)")
    parser.add_argument("--part", choices=("det", "rec"), action="append", help="network(s) to train (default: both)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (default: every core)")
    parser.add_argument("--held-out", type=int, default=8, help="held-out pages per size and background (each as PNG and JPEG)")
    parser.add_argument("--precision", choices=PRECISIONS, action="append", help="precision(s) measured (default: fp32)")
    args = parser.parse_args(argv)
    for preset in args.preset or list(PRESETS):
        if not args.evaluate_only:
            budget = BUDGETS[preset]
            budget = dataclasses.replace(budget, det_steps=args.det_steps or budget.det_steps, rec_steps=args.rec_steps or budget.rec_steps)
            train(preset, budget, tuple(args.part or ("det", "rec")), args.threads)
        with tempfile.TemporaryDirectory(prefix="ocr-eval-") as tmp:
            for precision in args.precision or ["fp32"]:
                evaluate(preset, Path(tmp), args.held_out, precision)
    return 0


if __name__ == "__main__":
    sys.exit(main())
