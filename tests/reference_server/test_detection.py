import cv2
import numpy as np
import pytest

from reference_server.pipeline.detection import (
    DBParams,
    db_boxes,
    detection_size,
    order_points,
    preprocess_detection,
    unclip,
)


@pytest.mark.parametrize(
    ("h", "w", "limit", "expected"),
    [
        (720, 960, 960, (704, 960)),  # within the limit: rounded to multiples of 32 (22.5 rounds to even, as PaddleOCR)
        (1200, 1600, 960, (704, 960)),  # longest side limited to 960, the other scaled with it
        (1600, 1200, 960, (960, 704)),
        (700, 1000, 960, (672, 960)),
        (10, 10, 960, (32, 32)),  # never below 32
        (100, 3000, 640, (32, 640)),
    ],
)
def test_detection_size_limits_longest_side_and_rounds_to_32(h, w, limit, expected):
    out = detection_size(h, w, limit)
    assert out == expected
    assert all(side % 32 == 0 for side in out)


def test_preprocess_normalises_with_imagenet_mean_and_std():
    white = np.full((64, 96, 3), 255, dtype=np.uint8)
    x = preprocess_detection(white, 960)
    assert x.shape == (1, 3, 64, 96) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, :, 0, 0], (1 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225]), rtol=1e-5)


def _prob_map(h, w, rects, value=0.95):
    prob = np.zeros((h, w), dtype=np.float32)
    for x0, y0, x1, y1 in rects:
        prob[y0:y1, x0:x1] = value
    return prob


def test_db_boxes_finds_each_region_in_reading_order_scaled_to_source():
    prob = _prob_map(200, 400, [(220, 20, 380, 40), (20, 20, 200, 40), (20, 120, 300, 150)])
    boxes = db_boxes(prob, src_h=400, src_w=800, params=DBParams())
    assert len(boxes) == 3
    lefts_tops = [(b[0][0], b[0][1]) for b in boxes]
    assert lefts_tops[0][0] < lefts_tops[1][0] and lefts_tops[1][1] < lefts_tops[2][1]  # left-right, then down
    first = boxes[0]
    # Source is twice the map: the region 20..200 x 20..40 lands around 40..400 x 40..80, grown by the unclip.
    assert first[:, 0].min() < 40 and first[:, 0].max() > 400
    assert first[:, 1].min() < 40 and first[:, 1].max() > 80
    assert first[:, 0].max() <= 800 and first[:, 1].min() >= 0


def test_db_boxes_drops_regions_under_box_threshold_and_tiny_blobs():
    prob = _prob_map(100, 100, [(10, 10, 60, 30)], value=0.5)  # above thresh 0.3 but mean under box_thresh 0.6
    prob[70:72, 70:72] = 0.99  # a 2x2 blob: under min_size
    assert db_boxes(prob, 100, 100, DBParams()) == []


def test_db_boxes_stops_at_max_candidates():
    prob = _prob_map(100, 400, [(10 + 40 * i, 10, 40 + 40 * i, 30) for i in range(8)])
    assert len(db_boxes(prob, 100, 400, DBParams(max_candidates=3))) == 3


def test_unclip_grows_each_side_by_area_times_ratio_over_perimeter():
    (_, (w, h), _) = unclip(((50, 50), (100, 20), 0), 1.5)
    d = 100 * 20 * 1.5 / 240
    assert w == pytest.approx(100 + 2 * d) and h == pytest.approx(20 + 2 * d)


def test_order_points_is_clockwise_from_top_left():
    pts = cv2.boxPoints(((50, 20), (80, 10), 0))
    ordered = order_points(pts)
    assert ordered[0].tolist() == [10, 15] and ordered[2].tolist() == [90, 25]
