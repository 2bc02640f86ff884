"""Build the networks from a fixed seed and export them with paddle.jit.save.

Files: `<model_dir>/<preset>/det/inference.json|.pdiparams` and `.../rec/...` (PIR format).
The export writes into a temporary directory and renames it into place, so two servers started
at once never read a half-written model.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

SEED = 20261125
MODEL_NAMES = ("det", "rec")


def model_files(model_dir: Path, preset: str, name: str) -> tuple[Path, Path]:
    base = Path(model_dir) / preset / name
    return base / "inference.json", base / "inference.pdiparams"


def _present(model_dir: Path, preset: str) -> bool:
    return all(p.is_file() for name in MODEL_NAMES for p in model_files(model_dir, preset, name))


def export_models(model_dir: Path, preset_name: str) -> None:
    import paddle
    from paddle.static import InputSpec

    from reference_server.models.networks import CRNNRecognizer, DBDetector
    from reference_server.models.presets import PRESETS

    preset = PRESETS[preset_name]
    target = Path(model_dir) / preset_name
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{preset_name}-", dir=target.parent))
    try:
        paddle.seed(SEED)
        nets = {
            "det": (DBDetector(preset), InputSpec([None, 3, None, None], "float32", "x")),
            "rec": (CRNNRecognizer(preset), InputSpec([None, 3, 48, None], "float32", "x")),
        }
        for name, (net, spec) in nets.items():
            net.eval()
            paddle.jit.save(net, str(tmp / name / "inference"), input_spec=[spec])
        try:
            os.rename(tmp, target)
        except OSError:
            if not _present(model_dir, preset_name):  # lost a race to a complete export: fine
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ensure_models(model_dir: Path, preset: str) -> bool:
    """Export the preset's models unless present. Returns True when it exported them."""
    if _present(model_dir, preset):
        return False
    export_models(model_dir, preset)
    return True
