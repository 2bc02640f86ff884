"""Export the trained networks to Paddle Inference files, once per set of weights.

The trained weights are committed (`weights/<preset>/{det,rec}.pdparams`, float16; train.py makes
them). Files: `<model_dir>/<preset>/det/inference.json|.pdiparams` and `.../rec/...` (PIR format),
with `weights.sha256`, the digest of the weights they came from: weights that changed (a new
training) are exported again. The export writes into a temporary directory and renames it into
place, so two servers started at once never read a half-written model.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

MODEL_NAMES = ("det", "rec")
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
INT8_DIR = Path(__file__).resolve().parent / "int8"  # quantize.py's models (old program format), committed
STAMP = "weights.sha256"


def weights_file(preset: str, name: str) -> Path:
    return WEIGHTS_DIR / preset / f"{name}.pdparams"


def model_files(model_dir: Path, preset: str, name: str) -> tuple[Path, Path]:
    base = Path(model_dir) / preset / name
    return base / "inference.json", base / "inference.pdiparams"


def weights_digest(preset: str) -> str:
    digest = hashlib.sha256()
    for name in MODEL_NAMES:
        path = weights_file(preset, name)
        if not path.is_file():
            raise FileNotFoundError(f"no trained weights for preset {preset!r} ({path} is missing): "
                                    f"run `python -m reference_server.models.train --preset {preset}`")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _present(model_dir: Path, preset: str, digest: str) -> bool:
    stamp = Path(model_dir) / preset / STAMP
    return (all(p.is_file() for name in MODEL_NAMES for p in model_files(model_dir, preset, name))
            and stamp.is_file() and stamp.read_text().strip() == digest)


def load_trained(net, preset: str, name: str) -> None:
    """The committed float16 weights into `net`, as float32."""
    import paddle

    state = paddle.load(str(weights_file(preset, name)))
    net.set_state_dict({k: v.astype("float32") if v.dtype == paddle.float16 else v for k, v in state.items()})


def export_models(model_dir: Path, preset_name: str, digest: str) -> None:
    import paddle
    from paddle.static import InputSpec

    from reference_server.models.networks import CRNNRecognizer, DBDetector
    from reference_server.models.presets import PRESETS

    preset = PRESETS[preset_name]
    target = Path(model_dir) / preset_name
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{preset_name}-", dir=target.parent))
    stale = target.parent / f".{preset_name}-stale-{os.getpid()}"
    try:
        nets = {
            "det": (DBDetector(preset), InputSpec([None, 3, None, None], "float32", "x")),
            "rec": (CRNNRecognizer(preset), InputSpec([None, 3, 48, None], "float32", "x")),
        }
        for name, (net, spec) in nets.items():
            load_trained(net, preset_name, name)
            net.eval()
            paddle.jit.save(net, str(tmp / name / "inference"), input_spec=[spec])
        (tmp / STAMP).write_text(digest + "\n")
        if target.exists() and not _present(model_dir, preset_name, digest):
            os.rename(target, stale)  # an export of other weights: replaced
        try:
            os.rename(tmp, target)
        except OSError:
            if not _present(model_dir, preset_name, digest):  # lost a race to a complete export: fine
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(stale, ignore_errors=True)


def int8_files(preset: str, name: str) -> tuple[Path, Path]:
    """The INT8 model of `preset` (quantize.py), after checking it was quantised from the weights in use."""
    base = INT8_DIR / preset
    files = (base / name / "inference.pdmodel", base / name / "inference.pdiparams")
    stamp = base / STAMP
    if not all(p.is_file() for p in files) or not stamp.is_file():
        raise FileNotFoundError(f"no INT8 models for preset {preset!r} in {base}: run `make models`")
    if stamp.read_text().strip() != weights_digest(preset):
        raise FileNotFoundError(f"the INT8 models in {base} were quantised from other weights than "
                                f"{WEIGHTS_DIR / preset}: run `make models`")
    return files


def ensure_models(model_dir: Path, preset: str) -> bool:
    """Export the preset's trained models unless present. Returns True when it exported them."""
    digest = weights_digest(preset)
    if _present(model_dir, preset, digest):
        return False
    export_models(model_dir, preset, digest)
    return True
