"""This project's OCR pipeline as a BentoML service, over BentoML's HTTP API.

    cd integrations/bentoml && OCR_PRESET=tiny ../../.venvs/bentoml/bin/bentoml serve service:OCR \
        --host 127.0.0.1 --port 3000

`POST /ocr` with `{"image": "<base64>"}` answers `{"lines": [{"text", "score", "box"}, ...]}`; an
image the pipeline cannot read is a 400 (BentoML's InvalidArgument). Ready (`/readyz`) once the
models are loaded. Server metrics on the serving port's /metrics: `bentoml_service_request_*`,
labelled by endpoint and http_response_code (mapping `bentoml`, sla/targets/metrics.py). One
worker with one math thread (OCR_PRESET, OCR_THREADS). Made by `make bentoml`.
"""

import base64
import binascii
import os
import sys
from pathlib import Path

import bentoml
from bentoml.exceptions import InvalidArgument

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from reference_server.config import ServerConfig  # noqa: E402
from reference_server.errors import RequestError  # noqa: E402
from reference_server.workers import load_pipeline  # noqa: E402


@bentoml.service(workers=1, traffic={"timeout": 30})
class OCR:
    def __init__(self) -> None:
        config = ServerConfig(preset=os.environ.get("OCR_PRESET", "tiny"), threads=int(os.environ.get("OCR_THREADS", "1")),
                              model_dir=ROOT / "models")
        self.pipeline = load_pipeline(config)

    @bentoml.api
    def ocr(self, image: str) -> dict:
        try:
            return self.pipeline(base64.b64decode(image, validate=True)).to_json()
        except (binascii.Error, ValueError, RequestError) as exc:
            raise InvalidArgument(f"not an image: {exc}") from None
