"""This project's OCR pipeline as an MLServer custom runtime (Open Inference Protocol V2).

    MLSERVER_HOST=127.0.0.1 MLSERVER_HTTP_PORT=8080 MLSERVER_METRICS_PORT=8082 \
        .venvs/mlserver/bin/mlserver start integrations/mlserver

MLServer finds the model `ocr` in integrations/mlserver/ocr/model-settings.json, whose
`implementation` is this module's `OcrRuntime` (the preset and threads are its `parameters.extra`,
or OCR_PRESET and OCR_THREADS).
`POST /v2/models/ocr/infer` takes images base64 in a BYTES input (MLServer reads no binary tensor
data) and answers each one's OCR result as JSON in the BYTES output `output`. An image the
pipeline cannot read is an InferenceError: HTTP 400, counted by MLServer's
`model_infer_request_failure_total` and by starlette_exporter's `rest_server_requests_total`.
Ready (`/v2/models/ocr/ready`) once the models are loaded. settings.json runs the model in the
server's own process (`parallel_workers: 0`): MLServer 1.7.1's inference worker processes die at
start with uvloop 0.23 ("RuntimeError: There is no current event loop"), and the model never
loads. Made by `make mlserver`.
"""

import base64
import binascii
import json
import os
import sys
from pathlib import Path

from mlserver import MLModel
from mlserver.errors import InferenceError
from mlserver.types import InferenceRequest, InferenceResponse, ResponseOutput

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from reference_server.config import ServerConfig  # noqa: E402
from reference_server.errors import RequestError  # noqa: E402
from reference_server.workers import load_pipeline  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


class OcrRuntime(MLModel):
    async def load(self) -> bool:
        extra = (self.settings.parameters.extra if self.settings.parameters else None) or {}  # OCR_* override it
        config = ServerConfig(preset=os.environ.get("OCR_PRESET", extra.get("preset", "tiny")),
                              threads=int(os.environ.get("OCR_THREADS", extra.get("threads", 1))), model_dir=ROOT / "models")
        self.pipeline = load_pipeline(config)
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        answers = []
        for item in payload.inputs[0].data.root:  # base64 text (MLServer keeps JSON BYTES as strings)
            try:
                image = base64.b64decode(item, validate=True)
                answers.append(json.dumps(self.pipeline(image).to_json()))
            except (binascii.Error, ValueError, RequestError) as exc:
                raise InferenceError(f"not an image: {exc}") from None
        output = ResponseOutput(name="output", shape=[len(answers)], datatype="BYTES", data=answers)
        return InferenceResponse(model_name=self.name, id=payload.id, outputs=[output])
