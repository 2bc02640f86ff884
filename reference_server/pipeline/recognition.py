"""Stages `crop` and `rec`: rectified crops, aspect-ratio batching, recogniser input, CTC decode.

Follows PaddleOCR: crops are sorted by aspect ratio and run in batches; each batch is resized to
height 48 and padded to 48 x (largest aspect ratio in the batch), at least 320 wide; pixels are
scaled to [-1, 1]; the output is decoded greedily (repeats merged, blanks dropped).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from reference_server.charset import BLANK, CHARACTERS

REC_HEIGHT = 48


@dataclass(frozen=True)
class RecParams:
    batch_size: int = 6
    min_width: int = 320
    max_width: int = 1600
    width_multiple: int = 32  # widths are rounded up to this, so few distinct shapes reach oneDNN
    drop_score: float = 0.5


def crop_box(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Perspective-rectify the quadrilateral `box` (tl, tr, br, bl); tall crops are turned upright."""
    width = int(max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[2] - box[3])))
    height = int(max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2])))
    width, height = max(width, 1), max(height, 1)
    dst = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(box.astype(np.float32), dst)
    crop = cv2.warpPerspective(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)
    if height / width >= 1.5:
        crop = np.rot90(crop)
    return crop


def aspect_batches(crops: list[np.ndarray], batch_size: int) -> list[list[int]]:
    """Indices of crops, sorted by width/height, cut into batches of `batch_size` (1 = serial)."""
    order = sorted(range(len(crops)), key=lambda i: crops[i].shape[1] / crops[i].shape[0])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def batch_width(crops: list[np.ndarray], params: RecParams) -> int:
    ratio = max(c.shape[1] / c.shape[0] for c in crops)
    width = max(params.min_width, math.ceil(REC_HEIGHT * ratio))
    width = math.ceil(width / params.width_multiple) * params.width_multiple
    return min(width, params.max_width)


def rec_input(crops: list[np.ndarray], params: RecParams) -> np.ndarray:
    """Crops -> Nx3x48xW float32 in [-1, 1], right-padded with zeros to the batch width."""
    width = batch_width(crops, params)
    batch = np.zeros((len(crops), 3, REC_HEIGHT, width), dtype=np.float32)
    for n, crop in enumerate(crops):
        w = min(width, math.ceil(REC_HEIGHT * crop.shape[1] / crop.shape[0]))
        resized = cv2.resize(crop, (w, REC_HEIGHT), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        batch[n, :, :, :w] = (resized / 255.0 - 0.5).transpose(2, 0, 1) / 0.5
    return batch


def ctc_decode(probs: np.ndarray) -> list[tuple[str, float]]:
    """Greedy CTC over NxTxC probabilities: argmax, merge repeats, drop blanks.

    The score is the mean probability of the kept characters (0 for an empty line), as PaddleOCR.
    """
    results = []
    for seq in probs:
        idx = seq.argmax(axis=1)
        conf = seq.max(axis=1)
        keep = np.ones(len(idx), dtype=bool)
        keep[1:] = idx[1:] != idx[:-1]
        keep &= idx != BLANK
        text = "".join(CHARACTERS[i - 1] for i in idx[keep])
        results.append((text, float(conf[keep].mean()) if keep.any() else 0.0))
    return results
