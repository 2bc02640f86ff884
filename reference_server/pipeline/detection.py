"""Stages `preprocess` and `postprocess`: detection resize and normalisation, DB box extraction.

Follows PaddleOCR's DB pipeline: the longest side is limited, each side is rounded to a multiple
of 32, ImageNet mean/std; boxes come from the thresholded probability map as minimum-area
rectangles, scored by the mean probability inside, then expanded ("unclipped") and scaled back.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


@dataclass(frozen=True)
class DBParams:
    thresh: float = 0.3
    box_thresh: float = 0.6
    # The trained detector's kernel is a line's ink box shrunk by 0.1 of its height, and the probability
    # map's edge runs a little outside it: 0.2 gives crops that hug the ink, which the recogniser
    # reads best (train.py's held-out pages: 0.1 96.2 %, 0.2 96.8 %, 0.3 96.4 %, 0.5 89.0 %, 1.0 8.4 %
    # of lines exact with tiny).
    unclip_ratio: float = 0.2
    max_candidates: int = 1000
    min_size: float = 3.0


def detection_size(height: int, width: int, limit_side: int) -> tuple[int, int]:
    """The network input size: longest side at most `limit_side`, each side a multiple of 32 (>= 32)."""
    ratio = min(1.0, limit_side / max(height, width))
    return (max(32, int(round(height * ratio / 32)) * 32), max(32, int(round(width * ratio / 32)) * 32))


def preprocess_detection(image: np.ndarray, limit_side: int) -> np.ndarray:
    """HxWx3 uint8 RGB -> 1x3xH'xW' float32, resized and normalised."""
    h, w = detection_size(image.shape[0], image.shape[1], limit_side)
    resized = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
    x = (resized.astype(np.float32) / 255.0 - MEAN) / STD
    return x.transpose(2, 0, 1)[np.newaxis]


def order_points(points: np.ndarray) -> np.ndarray:
    """Four corners ordered top-left, top-right, bottom-right, bottom-left (PaddleOCR's rule)."""
    pts = sorted(points.tolist(), key=lambda p: p[0])
    left, right = sorted(pts[:2], key=lambda p: p[1]), sorted(pts[2:], key=lambda p: p[1])
    return np.array([left[0], right[0], right[1], left[1]], dtype=np.float32)


def _box_score(prob: np.ndarray, box: np.ndarray) -> float:
    """Mean probability inside the polygon (over its bounding rectangle, masked)."""
    h, w = prob.shape
    xmin = int(np.clip(np.floor(box[:, 0].min()), 0, w - 1))
    xmax = int(np.clip(np.ceil(box[:, 0].max()), 0, w - 1))
    ymin = int(np.clip(np.floor(box[:, 1].min()), 0, h - 1))
    ymax = int(np.clip(np.ceil(box[:, 1].max()), 0, h - 1))
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), dtype=np.uint8)
    shifted = box - np.array([xmin, ymin], dtype=np.float32)
    cv2.fillPoly(mask, [shifted.astype(np.int32)], 1)
    return float(cv2.mean(prob[ymin : ymax + 1, xmin : xmax + 1], mask)[0])


def unclip(rect: tuple, ratio: float) -> tuple:
    """Expand a rotated rectangle by DB's offset D = area * ratio / perimeter on every side.

    For a rectangle this equals the minimum-area rectangle of pyclipper's rounded offset polygon.
    """
    (cx, cy), (w, h), angle = rect
    d = (w * h * ratio) / (2 * (w + h)) if w + h > 0 else 0.0
    return ((cx, cy), (w + 2 * d, h + 2 * d), angle)


def db_boxes(prob: np.ndarray, src_h: int, src_w: int, params: DBParams) -> list[np.ndarray]:
    """Boxes (4x2 float32, in source-image pixels) from a HxW probability map."""
    bitmap = (prob > params.thresh).astype(np.uint8) * 255
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    map_h, map_w = prob.shape
    boxes = []
    for contour in contours[: params.max_candidates]:
        rect = cv2.minAreaRect(contour)
        if min(rect[1]) < params.min_size:
            continue
        if _box_score(prob, order_points(cv2.boxPoints(rect))) < params.box_thresh:
            continue
        grown = unclip(rect, params.unclip_ratio)
        if min(grown[1]) < params.min_size + 2:
            continue
        box = order_points(cv2.boxPoints(grown))
        box[:, 0] = np.clip(np.round(box[:, 0] / map_w * src_w), 0, src_w)
        box[:, 1] = np.clip(np.round(box[:, 1] / map_h * src_h), 0, src_h)
        boxes.append(box)
    return sort_reading_order(boxes)


def sort_reading_order(boxes: list[np.ndarray], line_tolerance: float = 10.0) -> list[np.ndarray]:
    """Top to bottom, then left to right within a line (boxes whose tops differ by < tolerance)."""
    ordered = sorted(boxes, key=lambda b: (b[0][1], b[0][0]))
    lines: list[list[np.ndarray]] = []
    for box in ordered:
        if lines and abs(box[0][1] - lines[-1][0][0][1]) < line_tolerance:
            lines[-1].append(box)
        else:
            lines.append([box])
    return [b for line in lines for b in sorted(line, key=lambda b: b[0][0])]
