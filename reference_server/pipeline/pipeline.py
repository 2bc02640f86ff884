"""The OCR pipeline: decode -> preprocess -> det -> postprocess -> crop -> rec, every stage timed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from reference_server.engine import Predictor
from reference_server.pipeline.decode import decode_image
from reference_server.pipeline.detection import DBParams, db_boxes, preprocess_detection
from reference_server.pipeline.recognition import RecParams, aspect_batches, crop_box, ctc_decode, rec_input

STAGES = ("decode", "preprocess", "det", "postprocess", "crop", "rec")


@dataclass(frozen=True)
class PipelineSettings:
    det_limit_side: int = 960
    max_image_pixels: int = 25_000_000
    db: DBParams = DBParams()
    rec: RecParams = RecParams()


@dataclass
class OcrLine:
    text: str
    score: float
    box: list[list[float]]


@dataclass
class OcrResult:
    lines: list[OcrLine]
    timing_ms: dict[str, float]
    rec_batch_sizes: list[int] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "lines": [{"text": ln.text, "score": round(ln.score, 4), "box": ln.box} for ln in self.lines],
            "timing_ms": {k: round(v, 3) for k, v in self.timing_ms.items()},
        }


class _Timer:
    def __init__(self) -> None:
        self.ms: dict[str, float] = {s: 0.0 for s in STAGES}
        self._t = time.perf_counter()
        self._start = self._t

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.ms[stage] += (now - self._t) * 1e3
        self._t = now

    def total(self) -> dict[str, float]:
        return {**self.ms, "total": (time.perf_counter() - self._start) * 1e3}


class CrossedBatches:
    """A planted bug for the gate's tests (`--fault crossed-batches`), of the kind that only load
    shows: an output buffer shared by the workers' recognition. When two requests are in
    recognition at once, as if they shared one batch, a request gets the rows of the one that
    finished recognition before it: another page's text. One request at a time reads right."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._entered = 0
        self._last: list[tuple[str, float]] | None = None  # the rows of the last request to finish

    def recognise(self, run: Callable[[], list[tuple[str, float]]]) -> list[tuple[str, float]]:
        with self._lock:
            shared, seen = self._active > 0, self._entered
            self._active += 1
            self._entered += 1
        try:
            decoded = run()
        finally:
            with self._lock:
                self._active -= 1
                shared = shared or self._entered > seen + 1
                other, self._last = self._last, decoded
        if shared and other is not None:
            return (other + [("", 0.0)] * len(decoded))[: len(decoded)]
        return decoded


class OcrPipeline:
    """One detector and one recogniser predictor. Not thread-safe: one instance per worker."""

    def __init__(self, det: Predictor, rec: Predictor, settings: PipelineSettings, fault: CrossedBatches | None = None) -> None:
        self.det = det
        self.rec = rec
        self.settings = settings
        self.fault = fault

    def clone(self) -> "OcrPipeline":
        return OcrPipeline(self.det.clone(), self.rec.clone(), self.settings, self.fault)

    def __call__(self, data: bytes) -> OcrResult:
        timer = _Timer()
        image = decode_image(data, self.settings.max_image_pixels)
        timer.lap("decode")
        return self.run_image(image, timer)

    def run_image(self, image: np.ndarray, timer: _Timer | None = None) -> OcrResult:
        timer = timer or _Timer()
        x = preprocess_detection(image, self.settings.det_limit_side)
        timer.lap("preprocess")
        prob = self.det.run(x)[0, 0]
        timer.lap("det")
        boxes = db_boxes(prob, image.shape[0], image.shape[1], self.settings.db)
        timer.lap("postprocess")
        crops = [crop_box(image, b) for b in boxes]
        timer.lap("crop")
        sizes: list[int] = []
        decoded = (self.fault.recognise(lambda: self._recognise(crops, sizes)) if self.fault is not None
                   else self._recognise(crops, sizes))
        timer.lap("rec")
        lines = [
            OcrLine(text, score, box.round(1).tolist())
            for (text, score), box in zip(decoded, boxes)
            if text and score >= self.settings.rec.drop_score
        ]
        return OcrResult(lines, timer.total(), sizes)

    def _recognise(self, crops: list[np.ndarray], sizes: list[int]) -> list[tuple[str, float]]:
        """(text, score) per crop, run in aspect-ratio batches (their sizes appended to `sizes`)."""
        decoded: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        for batch in aspect_batches(crops, self.settings.rec.batch_size):
            probs = self.rec.run(rec_input([crops[i] for i in batch], self.settings.rec))
            for i, result in zip(batch, ctc_decode(probs)):
                decoded[i] = result
            sizes.append(len(batch))
        return decoded
