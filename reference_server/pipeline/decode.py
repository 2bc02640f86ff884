"""Stage `decode`: bytes to an RGB array, with the size checks that keep a server alive."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image

from reference_server.errors import BadRequest, PayloadTooLarge

ACCEPTED_FORMATS = ("PNG", "JPEG")


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """Decode PNG or JPEG bytes to an HxWx3 uint8 RGB array.

    The header is read first, so a decompression bomb (a small file that claims a huge image)
    is refused with 413 before any pixel is decoded. Truncated and non-image bytes give 400.
    """
    if not data:
        raise BadRequest("empty body: send a PNG or JPEG image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size
            fmt = img.format
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise PayloadTooLarge(f"image too large: {exc}") from None
    except Exception as exc:  # PIL raises several types for bytes that are not an image
        raise BadRequest(f"not a decodable image ({type(exc).__name__}); send PNG or JPEG bytes") from None
    if fmt not in ACCEPTED_FORMATS:
        raise BadRequest(f"image format {fmt} is not accepted; send one of {', '.join(ACCEPTED_FORMATS)}")
    if width * height > max_pixels:
        raise PayloadTooLarge(f"image has {width}x{height} = {width * height} pixels; the limit is {max_pixels}")
    try:
        img.load()
        rgb = img.convert("RGB")
    except Exception as exc:  # truncated or corrupt pixel data
        raise BadRequest(f"image data is corrupt or truncated ({exc})") from None
    return np.asarray(rgb)
