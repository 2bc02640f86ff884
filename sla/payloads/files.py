"""The user's own payload files: a glob, or a JSON-lines manifest.

    payloads:
      files: images/*.png             # relative to the scenario file; every match, weight 1
    payloads:
      manifest: images.jsonl          # relative to the scenario file; one JSON object per line:
      # {"path": "a.png", "name": "invoice", "weight": 3, "expected_text": ["TOTAL 12.50"]}
      # (paths in the manifest are relative to the manifest; name defaults to the file's stem)

Everything is checked before any traffic: an empty glob, a missing or unreadable file, a file that
is not an image when the target API needs one, a bad manifest line (with its line number). The
file contents are read once per load-generator process (`load_files`).
"""

from __future__ import annotations

import glob
import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from sla.payloads.model import Payload
from sla.validation import NAME_RULE, is_safe_name

MANIFEST_KEYS = ("path", "name", "weight", "expected_text")



@dataclass(frozen=True)
class PayloadFile:
    path: Path
    name: str
    weight: float
    content_type: str
    expected_text: tuple[str, ...] | None = None


def sniff(path: Path, needs_image: bool) -> tuple[str | None, str | None]:
    """(content type, problem): reads the file's header only (PIL identifies the format)."""
    try:
        with Image.open(path) as image:
            return Image.MIME.get(image.format or "", f"image/{(image.format or 'unknown').lower()}"), None
    except UnidentifiedImageError:
        if needs_image:
            return None, "not an image (no PNG, JPEG, BMP, TIFF, WebP or GIF header); this target API takes images"
        return mimetypes.guess_type(path.name)[0] or "application/octet-stream", None
    except OSError as exc:
        return None, f"cannot read it: {exc.strerror or exc}"


def _check(path: Path, needs_image: bool) -> tuple[str | None, str | None]:
    if not path.exists():
        return None, "no such file"
    if not path.is_file():
        return None, "not a regular file"
    return sniff(path, needs_image)


def from_glob(pattern: str, base: Path, needs_image: bool) -> tuple[list[PayloadFile], list[str]]:
    """Files matching `pattern` (relative to `base`), and the problems found."""
    full = pattern if Path(pattern).is_absolute() else str(base / pattern)
    matches = sorted(Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file())
    if not matches:
        return [], [f"{pattern!r} matches no file (looked for {full})"]
    files, problems = [], []
    for path in matches:
        content_type, problem = _check(path, needs_image)
        if not problem and not is_safe_name(path.stem):
            problem = f"its name {path.stem!r} is not a safe request name ({NAME_RULE}); rename it or use a manifest with \"name\""
        if problem:
            problems.append(f"{path}: {problem}")
        else:
            files.append(PayloadFile(path, path.stem, 1.0, content_type or "application/octet-stream"))
    return files, problems


def _line(doc: Any, base: Path, needs_image: bool) -> tuple[PayloadFile | None, str | None]:
    if not isinstance(doc, dict):
        return None, f"expected a JSON object with {', '.join(MANIFEST_KEYS)}; got {type(doc).__name__}"
    unknown = [k for k in doc if k not in MANIFEST_KEYS]
    if unknown:
        return None, f"unknown key(s) {', '.join(map(repr, unknown))}; accepted: {', '.join(MANIFEST_KEYS)}"
    raw = doc.get("path")
    if not isinstance(raw, str) or not raw.strip():
        return None, "missing \"path\" (the file to send, relative to the manifest)"
    name = doc.get("name", Path(raw).stem)
    if not isinstance(name, str) or not is_safe_name(name):
        return None, f"\"name\" is {name!r}, not a safe request name ({NAME_RULE}); give one with \"name\""
    weight = doc.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight > 0 or weight == float("inf"):
        return None, f"\"weight\" is {weight!r}, not a positive number"
    expected = doc.get("expected_text")
    if expected is not None and (not isinstance(expected, list) or not all(isinstance(t, str) for t in expected)):
        return None, f"\"expected_text\" is {expected!r}, not a list of strings"
    path = Path(raw) if Path(raw).is_absolute() else base / raw
    content_type, problem = _check(path, needs_image)
    if problem:
        return None, f"{path}: {problem}"
    return PayloadFile(path, name, float(weight), content_type or "application/octet-stream",
                       tuple(expected) if expected is not None else None), None


def from_manifest(manifest: str, base: Path, needs_image: bool) -> tuple[list[PayloadFile], list[str]]:
    """The files a JSON-lines manifest lists (relative to `base`), and the problems, by line number."""
    path = Path(manifest) if Path(manifest).is_absolute() else base / manifest
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [f"{path}: cannot read the manifest: {getattr(exc, 'strerror', None) or exc}"]
    files, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except ValueError as exc:
            problems.append(f"{path} line {number}: not JSON ({exc})")
            continue
        entry, problem = _line(doc, path.parent, needs_image)
        if problem:
            problems.append(f"{path} line {number}: {problem}")
        elif entry is not None:
            files.append(entry)
    if not files and not problems:
        problems.append(f"{path}: the manifest lists no file")
    return files, problems


def load_files(files: tuple[PayloadFile, ...] | list[PayloadFile]) -> list[Payload]:
    """Read every file once (a file that vanished since validation is an OSError for the caller)."""
    return [Payload(f.name, f.content_type, f.path.read_bytes(), f.expected_text) for f in files]
