import io

import numpy as np
import pytest
from PIL import Image

from reference_server.errors import BadRequest, PayloadTooLarge
from reference_server.pipeline.decode import decode_image
from sla.payloads import make_payload

LIMIT = 25_000_000


@pytest.mark.parametrize("name", ["small-plain-png", "small-noisy-jpeg"])
def test_png_and_jpeg_decode_to_rgb(name):
    img = decode_image(make_payload(name).data, LIMIT)
    assert img.dtype == np.uint8 and img.shape == (320, 480, 3)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"definitely not an image", "not a decodable image"),
        (make_payload("small-plain-png").data[:3000], "corrupt or truncated"),
    ],
)
def test_bad_bytes_are_bad_requests(data, message):
    with pytest.raises(BadRequest, match=message):
        decode_image(data, LIMIT)


def test_formats_other_than_png_and_jpeg_are_refused():
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, format="GIF")
    with pytest.raises(BadRequest, match="GIF is not accepted"):
        decode_image(buf.getvalue(), LIMIT)


def test_decompression_bomb_is_refused_before_decoding():
    buf = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buf, format="PNG")  # 144 MP in a few hundred KiB
    assert len(buf.getvalue()) < 1_000_000
    with pytest.raises(PayloadTooLarge):
        decode_image(buf.getvalue(), LIMIT)


def test_image_over_the_pixel_limit_is_too_large():
    with pytest.raises(PayloadTooLarge, match="480x320"):
        decode_image(make_payload("small-plain-png").data, max_pixels=100_000)
