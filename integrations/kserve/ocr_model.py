"""This project's OCR pipeline served by KServe's own ModelServer (Open Inference Protocol V2).

    .venvs/kserve/bin/python integrations/kserve/ocr_model.py --http_port 8080 --preset tiny

`POST /v2/models/ocr/infer` takes images as a BYTES input (base64 in JSON, or raw through the
binary tensor data extension) and answers the OCR result as
JSON in a BYTES output; an image it cannot read is a 400 (KServe's InvalidInput). Ready
(`/v2/health/ready`) once the models are loaded. Server metrics: KServe's `request_predict_seconds`
histogram on /metrics (sla/targets/metrics.py, mapping `kserve`). Made by `make kserve`.
"""

import argparse
import base64
import binascii
import json
import sys
from pathlib import Path

import kserve
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer
from kserve.errors import InvalidInput
from kserve.protocol.rest import server as rest_server

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from reference_server.config import ServerConfig  # noqa: E402
from reference_server.errors import RequestError  # noqa: E402
from reference_server.workers import load_pipeline  # noqa: E402


class OcrModel(Model):
    def __init__(self, name: str, config: ServerConfig) -> None:
        super().__init__(name)
        self.config = config

    def load(self) -> bool:
        self.pipeline = load_pipeline(self.config)
        self.ready = True
        return True

    def predict(self, payload: InferRequest, headers=None) -> InferResponse:
        answers = []
        for item in payload.inputs[0].data:  # base64 text in JSON, raw bytes with the binary extension
            try:
                result = self.pipeline(item if isinstance(item, bytes) else base64.b64decode(item, validate=True))
            except (binascii.Error, ValueError, RequestError) as exc:
                raise InvalidInput(f"not an image: {exc}") from None
            answers.append(json.dumps(result.to_json()))
        output = InferOutput("output", [len(answers)], "BYTES", answers)
        return InferResponse(payload.id or "", self.name, [output])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(parents=[kserve.model_server.parser])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--threads", type=int, default=1)
    args, _ = parser.parse_known_args()
    # KServe binds uvicorn to 0.0.0.0; keep this test target on the address it was given.
    config_class = rest_server.uvicorn.Config
    rest_server.uvicorn.Config = lambda app, **kw: config_class(app, **{**kw, "host": args.host})
    model = OcrModel(args.model_name, ServerConfig(preset=args.preset, threads=args.threads, model_dir=Path("models")))
    model.load()
    ModelServer(enable_grpc=False).start([model])
