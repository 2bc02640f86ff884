"""`python -m reference_server [--host 127.0.0.1] [--port 8866] [knobs]`: run the OCR server."""

from __future__ import annotations

import logging
import sys

from reference_server.config import parse_config


def main(argv: list[str] | None = None) -> int:
    config = parse_config(argv)
    from reference_server.engine import bound_native_threads

    bound_native_threads(config.threads)  # before Paddle is imported: --threads N is N cores' worth
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    import uvicorn

    from reference_server.app import create_app

    logging.getLogger("reference_server").info(
        "serving on http://%s:%d (preset %s, threads %d, onednn %s, instances %d, rec_batch %d, warmup %s)",
        config.host, config.port, config.preset, config.threads, config.onednn, config.instances,
        config.rec_batch, config.warmup,
    )
    uvicorn.run(create_app(config), host=config.host, port=config.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
