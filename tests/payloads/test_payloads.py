import pytest

from sla.payloads import all_classes, load_corpus, make_payload, parse_class


def test_corpus_is_deterministic_and_cached(tmp_path):
    first = load_corpus(["small-noisy-jpeg"], variants=2, cache_dir=tmp_path)
    again = load_corpus(["small-noisy-jpeg"], variants=2, cache_dir=tmp_path)
    fresh = make_payload("small-noisy-jpeg", seed=1)
    assert [p.data for p in first["small-noisy-jpeg"]] == [p.data for p in again["small-noisy-jpeg"]]
    assert first["small-noisy-jpeg"][1].data == fresh.data
    assert first["small-noisy-jpeg"][0].data != fresh.data  # variants differ
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small-noisy-jpeg-0.jpeg", "small-noisy-jpeg-1.jpeg"]


def test_every_class_has_its_content_type():
    assert len(all_classes()) == 16
    assert make_payload("small-plain-png").content_type == "image/png"
    assert make_payload("small-plain-jpeg").data[:2] == b"\xff\xd8"


@pytest.mark.parametrize("bad", ["tiny-plain-png", "small-plain-gif", "small-png"])
def test_unknown_class_names_say_what_is_accepted(bad):
    with pytest.raises(ValueError, match="SIZE-BACKGROUND-ENCODING"):
        parse_class(bad)
