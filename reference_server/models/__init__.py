"""The OCR networks (paddle.nn), their presets, and their export to Paddle Inference files."""

from reference_server.models.export import ensure_models, model_files
from reference_server.models.presets import PRESETS, Preset

__all__ = ["PRESETS", "Preset", "ensure_models", "model_files"]
