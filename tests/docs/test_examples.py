"""Every YAML example in README.md and docs/ is loaded by the harness's own loaders (or checked
against what `sla alerts` writes), as its marker says (tests/docs/examples.py): an example that
rots fails here, naming its file and line."""

from __future__ import annotations

import re

import pytest

from tests.docs.examples import ROOT, Example, check, examples, pages

ALL = [e for page in pages() for e in examples(page)]


def test_the_examples_are_found_in_the_readme_and_the_docs():
    assert len(ALL) >= 12 and {e.path.name for e in ALL} >= {"README.md", "scenarios.md", "sla-files.md", "own-service.md"}
    for page in pages():
        odd = [f"{page.name}:{i}" for i, line in enumerate(page.read_text().splitlines(), 1)
               if re.match(r"^```\s*(yml|YAML|Yaml)\b|^```\s+yaml", line)]
        assert not odd, f"YAML fenced otherwise than ```yaml is not checked: {odd}"


@pytest.mark.parametrize("example", ALL, ids=lambda e: e.where)
def test_each_yaml_example_is_what_its_marker_says(example: Example, tmp_path):
    check(example, tmp_path)


BROKEN = """# A page

<!-- example: sla part -->
```yaml
phases:
  steady:
    latency: {p99: 1.5s}
```

<!-- example: scenario part -->
```yaml
phases:
  - {name: steady, kind: arrival_rate, duration: 30s, rate: fast}
```

```yaml
name: unmarked
```

<!-- example: refused sla part: no such objective -->
```yaml
phases:
  steady:
    latency: {p99: 1.5s}
```
"""


def test_a_broken_example_fails_naming_its_file_and_line(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(BROKEN)
    good, bad_rate, unmarked, wrongly_refused = examples(page)
    check(good, tmp_path)
    with pytest.raises(AssertionError, match=rf"(?s){re.escape(str(page))}:11: the scenario part example is refused: .*'fast' is not a rate"):
        check(bad_rate, tmp_path)
    with pytest.raises(AssertionError, match=rf"{re.escape(str(page))}:16: a ```yaml block needs a marker"):
        check(unmarked, tmp_path)
    with pytest.raises(AssertionError, match=rf"{re.escape(str(page))}:21: marked refused \('no such objective'\), but the sla part example loads"):
        check(wrongly_refused, tmp_path)
    assert ROOT / "README.md" in pages()
