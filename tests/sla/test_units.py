import pytest

from sla.units import parse_duration, parse_percent, parse_rate


@pytest.mark.parametrize(("text", "seconds"), [("150ms", 0.15), ("1.5s", 1.5), ("2m", 120), ("1h", 3600), (30, 30), ("0.5 s", 0.5)])
def test_durations_as_people_write_them(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("text", "fraction"), [("0.1%", 0.001), ("5%", 0.05), ("100 %", 1.0)])
def test_percentages_become_fractions(text, fraction):
    assert parse_percent(text) == pytest.approx(fraction)


@pytest.mark.parametrize(("text", "per_s"), [("120/s", 120), ("600/m", 10), (2, 2), ("0.2/s", 0.2)])
def test_rates_are_per_second(text, per_s):
    assert parse_rate(text) == pytest.approx(per_s)


@pytest.mark.parametrize(("parse", "bad"), [(parse_duration, "fast"), (parse_duration, "10 seconds"), (parse_duration, True),
                                             (parse_percent, "0.1"), (parse_rate, "120 per second")])
def test_unreadable_quantities_say_how_to_write_them(parse, bad):
    with pytest.raises(ValueError, match="write it like"):
        parse(bad)
