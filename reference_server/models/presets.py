"""Model sizes. `tiny` is for tests; `base` costs about what a mobile OCR model costs on a CPU."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    det_channels: tuple[int, ...]  # backbone widths at strides 2, 4, 8, 16, 32
    det_fpn: int  # feature-pyramid width
    rec_channels: tuple[int, ...]  # recogniser conv widths (each stage halves the height)
    rec_hidden: int  # sequence-mixer width
    rec_layers: int  # transformer encoder layers
    rec_heads: int


PRESETS: dict[str, Preset] = {
    "tiny": Preset("tiny", (8, 8, 16, 16, 32), 16, (16, 32, 48), 48, 1, 2),
    "base": Preset("base", (16, 24, 48, 64, 128), 64, (48, 96, 192, 256), 192, 2, 4),
}
