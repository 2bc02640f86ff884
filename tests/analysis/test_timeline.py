"""What the report draws, from run.json alone: the asked arrival rate over time, a ramp along its line."""

from sla.analysis.timeline import asked_at
from sla.manifest import PhaseWindow


def test_the_asked_rate_follows_a_ramp_and_is_none_in_a_closed_phase():
    windows = [PhaseWindow("warmup", "users", 0.0, 10.0, 10.0),
               PhaseWindow("ramp", "arrival_rate", 10.0, 30.0, 20.0, asked_rate=6.0, rate_from=2.0, rate_to=10.0),
               PhaseWindow("steady", "arrival_rate", 30.0, 40.0, 10.0, asked_rate=10.0)]
    assert asked_at(windows, 5.0) is None
    assert [asked_at(windows, t) for t in (10.0, 20.0, 29.0)] == [2.0, 6.0, 9.6]
    assert asked_at(windows, 35.0) == 10.0 and asked_at(windows, 45.0) is None
