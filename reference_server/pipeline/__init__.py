"""The OCR pipeline stages, each a pure function over arrays except the predictor calls."""

from reference_server.pipeline.pipeline import STAGES, OcrLine, OcrPipeline, OcrResult, PipelineSettings

__all__ = ["STAGES", "OcrLine", "OcrPipeline", "OcrResult", "PipelineSettings"]
