"""The recogniser's alphabet: CTC blank first, then digits, Latin letters, punctuation, space."""

from __future__ import annotations

import string

BLANK = 0
CHARACTERS: str = string.digits + string.ascii_letters + string.punctuation + " "
# Class 0 is the CTC blank; class i (i >= 1) is CHARACTERS[i - 1].
NUM_CLASSES: int = len(CHARACTERS) + 1
