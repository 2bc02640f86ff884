"""Request bodies: a synthetic corpus of document images, or the user's own files."""

from sla.payloads.files import PayloadFile, from_glob, from_manifest, load_files
from sla.payloads.mix import PayloadMix
from sla.payloads.model import Payload
from sla.payloads.synthetic import CONTENT_TYPES, all_classes, class_name, load_corpus, make_payload, parse_class, render_page

__all__ = [
    "CONTENT_TYPES", "Payload", "PayloadFile", "PayloadMix", "all_classes", "class_name", "from_glob", "from_manifest",
    "load_corpus", "load_files", "make_payload", "parse_class", "render_page",
]
