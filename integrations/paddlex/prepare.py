"""Prepare PaddleX basic serving of this project's own OCR models, fully offline.

    python integrations/paddlex/prepare.py [--preset tiny base] [--out .cache/paddlex] [--model-dir models]

For each preset it exports the project's models (as the reference server does), copies them into
`<out>/<preset>/{det,rec}/` with the `inference.yml` that PaddleX needs, and writes the pipeline
config `<out>/<preset>/OCR.yaml` with local model directories (PaddleX never downloads). The
virtualenv with PaddleX itself is made by `make paddlex` (its OpenCV pin clashes with ours, so it
never goes into the project's environment). PaddleX 3.7 reads each model
directory's `inference.yml` (model name, pre/post-processing) and refuses a directory without one;
the model names must be ones it knows (PP-OCRv5_mobile_det/rec), or it looks them up online.

Start it (what scenarios/paddlex.yaml does with target.command):
    PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK=True .venvs/paddlex/bin/paddlex --serve \
        --pipeline .cache/paddlex/base/OCR.yaml --device cpu --host 127.0.0.1 --port 8080
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from reference_server.charset import CHARACTERS  # noqa: E402
from reference_server.models.export import ensure_models, model_files  # noqa: E402
from reference_server.pipeline.detection import MEAN, STD, DBParams  # noqa: E402
from reference_server.pipeline.recognition import REC_HEIGHT, RecParams  # noqa: E402

# Names PaddleX registers; inference.yml's Global.model_name must equal the pipeline config's.
DET_MODEL, REC_MODEL = "PP-OCRv5_mobile_det", "PP-OCRv5_mobile_rec"
DET_LIMIT_SIDE = 960


def det_config() -> dict:
    db = DBParams()
    return {
        "Global": {"model_name": DET_MODEL},
        "PreProcess": {"transform_ops": [
            {"DecodeImage": {"channel_first": False, "img_mode": "RGB"}},
            {"DetResizeForTest": {"resize_long": DET_LIMIT_SIDE}},
            {"NormalizeImage": {"mean": MEAN.tolist(), "std": STD.tolist(), "scale": 1 / 255, "order": "hwc"}},
            {"ToCHWImage": None},
        ]},
        "PostProcess": {"name": "DBPostProcess", "thresh": db.thresh, "box_thresh": db.box_thresh,
                        "max_candidates": db.max_candidates, "unclip_ratio": db.unclip_ratio},
    }


def rec_config() -> dict:
    # PaddleX puts the CTC blank first and a space last: our classes are blank, CHARACTERS (ending in a space).
    assert CHARACTERS.endswith(" ")
    return {
        "Global": {"model_name": REC_MODEL},
        "PreProcess": {"transform_ops": [
            {"DecodeImage": {"channel_first": False, "img_mode": "RGB"}},
            {"RecResizeImg": {"image_shape": [3, REC_HEIGHT, RecParams().min_width]}},
        ]},
        "PostProcess": {"name": "CTCLabelDecode", "character_dict": list(CHARACTERS[:-1])},
    }


def pipeline_config(det_dir: Path, rec_dir: Path) -> dict:
    db, rec = DBParams(), RecParams()
    return {
        "pipeline_name": "OCR",
        "text_type": "general",
        "use_doc_preprocessor": False,
        "use_textline_orientation": False,
        "SubModules": {
            "TextDetection": {"module_name": "text_detection", "model_name": DET_MODEL, "model_dir": str(det_dir),
                              "limit_side_len": DET_LIMIT_SIDE, "limit_type": "max", "max_side_limit": 4000,
                              "thresh": db.thresh, "box_thresh": db.box_thresh, "unclip_ratio": db.unclip_ratio},
            "TextRecognition": {"module_name": "text_recognition", "model_name": REC_MODEL, "model_dir": str(rec_dir),
                                "batch_size": rec.batch_size, "score_thresh": rec.drop_score},
        },
        "Serving": {"visualize": False},  # visualisation downloads a font at request time
    }


def prepare(preset: str, out: Path, model_dir: Path) -> Path:
    """Export `preset`, lay it out for PaddleX under `out/preset`; returns the pipeline config path."""
    ensure_models(model_dir, preset)
    target = out / preset
    dirs = {}
    for name, config in (("det", det_config()), ("rec", rec_config())):
        directory = target / name
        directory.mkdir(parents=True, exist_ok=True)
        for source in model_files(model_dir, preset, name):
            shutil.copyfile(source, directory / source.name)
        (directory / "inference.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        dirs[name] = directory.resolve()
    pipeline = target / "OCR.yaml"
    pipeline.write_text(yaml.safe_dump(pipeline_config(dirs["det"], dirs["rec"]), sort_keys=False))
    return pipeline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", nargs="+", default=["tiny", "base"], help="model presets (default: tiny base)")
    parser.add_argument("--out", type=Path, default=ROOT / ".cache" / "paddlex", help="where the PaddleX layout goes")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models", help="where the project's models are exported")
    args = parser.parse_args(argv)
    for preset in args.preset:
        print(f"PaddleX pipeline config for preset {preset}: {prepare(preset, args.out, args.model_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
