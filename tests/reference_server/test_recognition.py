import numpy as np
import pytest

from reference_server.charset import CHARACTERS, NUM_CLASSES
from reference_server.pipeline.recognition import (
    RecParams,
    aspect_batches,
    batch_width,
    crop_box,
    ctc_decode,
    rec_input,
)


def _crop(h, w):
    return np.zeros((h, w, 3), dtype=np.uint8)


def test_crops_are_batched_in_order_of_aspect_ratio():
    crops = [_crop(40, 400), _crop(40, 40), _crop(40, 200), _crop(40, 80), _crop(40, 120)]
    assert aspect_batches(crops, 2) == [[1, 3], [4, 2], [0]]


def test_batch_size_one_is_serial():
    crops = [_crop(40, 100)] * 3
    assert [len(b) for b in aspect_batches(crops, 1)] == [1, 1, 1]


def test_batch_width_is_at_least_320_a_multiple_of_32_and_capped():
    params = RecParams()
    assert batch_width([_crop(48, 48)], params) == 320
    assert batch_width([_crop(48, 48), _crop(48, 500)], params) == 512
    assert batch_width([_crop(10, 5000)], params) == params.max_width


def test_rec_input_scales_to_minus_one_one_and_pads_with_zeros():
    white = np.full((24, 48, 3), 255, dtype=np.uint8)
    x = rec_input([white, _crop(48, 700)], RecParams())
    assert x.shape == (2, 3, 48, 704)
    assert x[0, :, :, :96].min() == pytest.approx(1.0)  # white -> 1.0, resized to 96 wide at height 48
    assert np.all(x[0, :, :, 96:] == 0)  # padding
    assert x[1].min() == pytest.approx(-1.0)


def _one_hot(indices, conf=0.9):
    probs = np.full((len(indices), NUM_CLASSES), (1 - conf) / (NUM_CLASSES - 1), dtype=np.float32)
    probs[np.arange(len(indices)), indices] = conf
    return probs


def test_ctc_decode_merges_repeats_and_drops_blanks():
    a, b = CHARACTERS.index("a") + 1, CHARACTERS.index("b") + 1
    probs = _one_hot([0, a, a, 0, a, b, b, 0])
    [(text, score)] = ctc_decode(probs[np.newaxis])
    assert text == "aab"
    assert score == pytest.approx(0.9)


def test_ctc_decode_of_only_blanks_is_empty_with_score_zero():
    assert ctc_decode(_one_hot([0, 0, 0])[np.newaxis]) == [("", 0.0)]


def test_crop_box_rectifies_and_turns_tall_crops_upright():
    image = np.zeros((100, 100, 3), dtype=np.uint8)
    wide = crop_box(image, np.array([[10, 10], [90, 10], [90, 30], [10, 30]], dtype=np.float32))
    assert wide.shape[:2] == (20, 80)
    tall = crop_box(image, np.array([[10, 10], [30, 10], [30, 90], [10, 90]], dtype=np.float32))
    assert tall.shape[:2] == (20, 80)  # 80 high x 20 wide, rotated upright


def test_the_planted_crossed_batches_fault_crosses_answers_only_when_two_requests_overlap():
    import threading

    from reference_server.pipeline.pipeline import CrossedBatches

    fault = CrossedBatches()
    page = {name: [(f"{name} line {i}", 0.9) for i in range(3)] for name in "abcd"}
    assert fault.recognise(lambda: page["a"]) == page["a"]  # alone: read right
    inside, release = threading.Event(), threading.Event()

    def slow() -> list:
        inside.set()
        release.wait(5)
        return page["b"]

    got: dict[str, list] = {}
    first = threading.Thread(target=lambda: got.__setitem__("b", fault.recognise(slow)))
    first.start()
    inside.wait(5)
    got["c"] = fault.recognise(lambda: page["c"])  # while b is in recognition: gets a's rows
    release.set()
    first.join(5)
    assert got == {"c": page["a"], "b": page["c"]}  # each got the page that finished before it
    assert fault.recognise(lambda: page["d"]) == page["d"]  # alone again: right again
