"""A deterministic corpus of synthetic document images: text lines rendered on a page.

Classes combine a size (label, small, medium, large), a background (plain, noisy) and an encoding
(png, jpeg); a class name reads `medium-noisy-jpeg`. The same seed gives the same bytes, and a
corpus is cached on disk so load generators do not spend CPU rendering.
"""

from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sla.payloads.model import Payload

SIZES: dict[str, tuple[int, int, int]] = {  # width, height, font size
    "label": (320, 96, 20),  # a label or a receipt's line or two: the cheapest page to read
    "small": (480, 320, 22),
    "medium": (960, 720, 24),
    "large": (1600, 1200, 28),
}
BACKGROUNDS = ("plain", "noisy")
ENCODINGS = ("png", "jpeg")
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg"}
WORDS = (
    "invoice total amount due date order number customer account payment tax net gross item qty "
    "price unit shipping address street city code phone email receipt balance credit debit ref "
    "serial model batch lot weight volume page of the and for with from to paid"
).split()


def class_name(size: str, background: str, encoding: str) -> str:
    return f"{size}-{background}-{encoding}"


def all_classes() -> list[str]:
    return [class_name(s, b, e) for s in SIZES for b in BACKGROUNDS for e in ENCODINGS]


def parse_class(name: str) -> tuple[str, str, str]:
    parts = name.split("-")
    if len(parts) != 3 or parts[0] not in SIZES or parts[1] not in BACKGROUNDS or parts[2] not in ENCODINGS:
        raise ValueError(
            f"unknown payload class {name!r}: expected SIZE-BACKGROUND-ENCODING with SIZE in "
            f"{'/'.join(SIZES)}, BACKGROUND in {'/'.join(BACKGROUNDS)}, ENCODING in {'/'.join(ENCODINGS)}"
        )
    return parts[0], parts[1], parts[2]


def _text_line(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(2, 6))]
    if rng.random() < 0.5:
        words.append(f"{rng.randint(1, 99999)}")
    if rng.random() < 0.3:
        words.append(f"{rng.randint(1, 999)}.{rng.randint(0, 99):02d}")
    return " ".join(words).capitalize()


@dataclass(frozen=True)
class TextLine:
    text: str
    box: tuple[int, int, int, int]  # the ink's bounding box: left, top, right, bottom (pixels)


def render_lines(size: str, background: str, seed: int) -> tuple[Image.Image, list[TextLine]]:
    """A page of dark text lines on a light background (`noisy` adds grain and a tint), and what
    each line says, top to bottom: the text a correct reading returns."""
    width, height, font_size = SIZES[size]
    rng = random.Random(f"{size}-{background}-{seed}")
    if background == "plain":
        page = Image.new("RGB", (width, height), (255, 255, 255))
    else:
        nprng = np.random.default_rng(rng.randrange(2**32))
        tint = np.array([rng.randint(225, 245) for _ in range(3)], dtype=np.float32)
        grain = nprng.normal(0.0, 10.0, size=(height, width, 1)).astype(np.float32)
        page = Image.fromarray(np.clip(tint + grain, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=font_size)
    lines = []
    y = rng.randint(font_size, 2 * font_size)
    while y < height - 2 * font_size:
        x = rng.randint(font_size, width // 4)
        ink = tuple(rng.randint(0, 60) for _ in range(3))
        text = _text_line(rng)
        while x + draw.textlength(text, font=font) > width - font_size and " " in text:
            text = text.rsplit(" ", 1)[0]
        draw.text((x, y), text, fill=ink, font=font)
        left, top, right, bottom = (int(v) for v in draw.textbbox((x, y), text, font=font))
        lines.append(TextLine(text, (left, top, right, bottom)))
        y += int(font_size * rng.uniform(1.8, 3.2))
    return page, lines


def render_page(size: str, background: str, seed: int) -> Image.Image:
    return render_lines(size, background, seed)[0]


def page_text(size: str, background: str, seed: int) -> tuple[str, ...]:
    """What the page of (size, background, seed) says, line by line."""
    return tuple(line.text for line in render_lines(size, background, seed)[1])


def encode(page: Image.Image, encoding: str) -> bytes:
    buf = io.BytesIO()
    if encoding == "png":
        page.save(buf, format="PNG", optimize=False)
    else:
        page.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def make_payload(name: str, seed: int = 0) -> Payload:
    size, background, encoding = parse_class(name)
    page, lines = render_lines(size, background, seed)
    return Payload(name, CONTENT_TYPES[encoding], encode(page, encoding), tuple(line.text for line in lines))


def load_corpus(names: list[str], variants: int = 4, cache_dir: Path | None = None) -> dict[str, list[Payload]]:
    """`variants` payloads per class (seeds 0..variants-1), read from `cache_dir` when present."""
    corpus: dict[str, list[Payload]] = {}
    for name in names:
        parse_class(name)
        items = []
        for seed in range(variants):
            ext = name.rsplit("-", 1)[1]
            path = cache_dir / f"{name}-{seed}.{ext}" if cache_dir else None
            if path is not None and path.is_file():
                size, background, _ = parse_class(name)
                items.append(Payload(name, CONTENT_TYPES[ext], path.read_bytes(), page_text(size, background, seed)))
                continue
            payload = make_payload(name, seed)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".tmp{hashlib.sha1(payload.data).hexdigest()[:8]}")
                tmp.write_bytes(payload.data)
                tmp.replace(path)
            items.append(payload)
        corpus[name] = items
    return corpus
