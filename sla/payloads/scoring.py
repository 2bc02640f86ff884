"""How right an answer is: the lines it read against the lines the payload says (pure, fast).

- exact lines: expected lines read exactly (as a multiset: order does not matter, a line read
  twice counts once);
- character errors: the edit distance (insertions, deletions, substitutions) between the expected
  lines and the lines read, each expected line paired in reading order with a line read that was
  not an exact match; an expected line with no partner counts all its characters, a line read with
  no partner all of its. Over the characters expected this is the character error rate (CER).

Pairing lines instead of comparing the whole page keeps the cost at a few line-sized edit
distances per answer, so a load generator can score every answer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Score:
    lines: int  # expected lines
    exact: int  # of which read exactly
    chars: int  # expected characters
    errors: int  # character edits from what was read to what was expected

    @property
    def exact_share(self) -> float:
        return self.exact / self.lines if self.lines else 1.0

    @property
    def cer(self) -> float:
        return self.errors / self.chars if self.chars else 0.0


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (unit costs)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def score(expected: Sequence[str], read: Sequence[str]) -> Score:
    unmatched_read = Counter(read)
    exact = 0
    missed: list[str] = []
    for line in expected:
        if unmatched_read[line] > 0:
            unmatched_read[line] -= 1
            exact += 1
        else:
            missed.append(line)
    leftover = []  # lines read that matched nothing exactly, in reading order
    for line in read:
        if unmatched_read[line] > 0:
            unmatched_read[line] -= 1
            leftover.append(line)
    errors = sum(edit_distance(e, r) for e, r in zip(missed, leftover))
    errors += sum(len(e) for e in missed[len(leftover):]) + sum(len(r) for r in leftover[len(missed):])
    return Score(len(expected), exact, sum(len(e) for e in expected), errors)


def unreadable(expected: Sequence[str]) -> Score:
    """The score of an answer whose text could not be found: nothing read right."""
    chars = sum(len(e) for e in expected)
    return Score(len(expected), 0, chars, chars)
