"""This project's OCR pipeline served by Triton Inference Server, through NVIDIA PyTriton (Open
Inference Protocol V2, CPU only).

    .venvs/triton/bin/python integrations/triton/ocr_model.py --port 8000 --metrics-port 8002 --preset tiny

Model `ocr`, dynamically batched (`max_batch_size` 4): `POST /v2/models/ocr/infer` takes one image
per request as a BYTES input `image` of shape [1, 1] (batch, element), base64 in JSON or raw through
the binary tensor data extension, and answers the OCR result's JSON in the BYTES output `output`.
An image the pipeline cannot read raises in the model: HTTP 500, counted by Triton as
`nv_inference_request_failure{reason="BACKEND"}`. A request Triton refuses before the model runs
(a wrong shape or input name: 400; an unknown model: 404) is counted in no series.
Ready (`/v2/health/ready`) once the models are loaded; Triton's metrics on --metrics-port.
gRPC is off: the gate drives HTTP. Made by `make triton`.
"""

import argparse
import json
import signal
import sys
from pathlib import Path

import numpy as np
from pytriton.decorators import batch
from pytriton.model_config import ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from reference_server.config import ServerConfig  # noqa: E402
from reference_server.workers import load_pipeline  # noqa: E402


def interrupt(signum, frame):
    # SIGTERM straight to PyTriton's parent once left tritonserver orphaned (FIELD_NOTES.md);
    # as KeyboardInterrupt, `with Triton()` stops tritonserver and its proxies.
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--metrics-port", type=int, default=8002)
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-batch-size", type=int, default=4)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    pipeline = load_pipeline(ServerConfig(preset=args.preset, threads=args.threads, model_dir=Path("models")))

    @batch
    def infer(image: np.ndarray) -> dict[str, np.ndarray]:
        answers = [[json.dumps(pipeline(bytes(row[0])).to_json()).encode()] for row in image]
        return {"output": np.array(answers, dtype=object)}

    config = TritonConfig(http_address=args.host, http_port=args.port, allow_grpc=False,
                          metrics_address=args.host, metrics_port=args.metrics_port, allow_gpu_metrics=False)
    with Triton(config=config) as triton:
        triton.bind(model_name="ocr", infer_func=infer,
                    inputs=[Tensor(name="image", dtype=bytes, shape=(1,))],
                    outputs=[Tensor(name="output", dtype=bytes, shape=(1,))],
                    config=ModelConfig(max_batch_size=args.max_batch_size))
        triton.serve()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
