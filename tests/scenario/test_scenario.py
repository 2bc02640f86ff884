from pathlib import Path

import pytest

from sla.scenario import load_scenario, users_over_time
from sla.validation import FileProblems

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def users_at(plan, t):
    return dict(plan)[t]


# Users over time (1 s steps) at chosen instants, for every shipped scenario.
PLANS = {  # an arrival_rate phase plans one dispatcher ("1 user")
    "smoke.yaml": (30, {0: 0, 1: 2, 4: 2, 5: 1, 29: 1, 30: 1}),
    "cold_start.yaml": (65, {0: 0, 1: 1, 4: 1, 5: 1, 64: 1}),
    "ramp_up.yaml": (180, {0: 1, 60: 1, 179: 1, 180: 1}),
    "sustained.yaml": (620, {0: 0, 1: 1, 2: 2, 19: 2, 20: 1, 619: 1}),
    "spike.yaml": (175, {0: 1, 60: 1, 174: 1}),
    "soak.yaml": (1830, {0: 0, 1: 1, 3: 3, 29: 3, 30: 1, 1829: 1}),
    "release.yaml": (145, {0: 0, 1: 1, 5: 1, 144: 1}),
    "paddlex.yaml": (160, {0: 0, 1: 1, 9: 1, 10: 1, 159: 1}),
    "kserve.yaml": (160, {0: 0, 1: 1, 9: 1, 10: 1, 159: 1}),
    "precision.yaml": (65, {0: 0, 1: 1, 4: 1, 5: 1, 64: 1}),
    **{f"{stack}.yaml": (34, {0: 0, 1: 1, 2: 1, 3: 0, 4: 1, 33: 1}) for stack in ("triton", "mlserver", "bentoml", "ray_serve")},
}


@pytest.mark.parametrize("name", sorted(PLANS))
def test_every_shipped_scenario_plans_its_users_over_time(name):
    scenario = load_scenario(SCENARIOS / name)
    total, expected = PLANS[name]
    assert scenario.duration == total
    plan = users_over_time(scenario.phases)
    assert plan[-1][0] == total
    for t, users in expected.items():
        assert users_at(plan, t) == pytest.approx(users), f"{name} at {t}s"


def test_every_shipped_scenario_file_is_covered():
    assert sorted(p.name for p in SCENARIOS.glob("*.yaml")) == sorted(PLANS)


def test_cold_start_scenario_asks_for_a_fresh_server_and_healthz():
    target = load_scenario(SCENARIOS / "cold_start.yaml").target
    assert target.fresh and target.start_when == "healthz"


def write(tmp_path, text):
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


BAD = """
name: bad
colour: blue
payloads:
  mix: {small-plain-png: 1, huge-plain-png: 2}
request: {timeout: fast}
phases:
  - {name: a, kind: users, duration: -5s, users: 2}
  - {name: b, kind: teleport, duration: 5s}
  - {name: c, kind: users, duration: 5s, users: two, speed: 3}
  - {kind: users, duration: 5s, users: 1}
  - {name: a, kind: users, duration: 1m, users: 1}
"""


def test_every_problem_is_reported_at_once_with_file_and_key_path(tmp_path):
    path = write(tmp_path, BAD)
    with pytest.raises(FileProblems) as exc:
        load_scenario(path)
    message = str(exc.value)
    assert str(path) in message
    expected = [
        "colour: unknown key",
        "payloads.mix.huge-plain-png: unknown payload class",
        "request.timeout: 'fast' is not a duration",
        "phases[0].duration: '-5s' must be positive",
        "phases[1].kind: 'teleport' is not a phase kind; accepted kinds: users",
        "phases[2].users: got str 'two', not a whole number",
        "phases[2].speed: unknown key; accepted keys here: name, kind, duration, users, spawn_rate",
        "phases[3].name: missing",
        "phases[4].name: 'a' is used by an earlier phase",
    ]
    for fragment in expected:
        assert fragment in message
    assert len(exc.value.problems) == len(expected)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "the file is empty"),
        ("name: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
        ("name: x\npayloads: {mix: {small-plain-png: 1}}\n", "phases: missing or empty"),
        ("name: x\nphases: [{name: a, kind: users, duration: 5s, users: 1}]\n", "payloads.mix: missing"),
        ("name: x\ntarget: {fresh: maybe}\npayloads: {mix: {small-plain-png: 1}}\nphases: [{name: a, kind: users, duration: 5s, users: 1}]\n", "target.fresh"),
        ("name: x\ntarget: {server: {threds: 2}}\npayloads: {mix: {small-plain-png: 1}}\nphases: [{name: a, kind: users, duration: 5s, users: 1}]\n", "target.server.threds: unknown key"),
    ],
)
def test_malformed_files_are_rejected_with_what_is_accepted(tmp_path, text, fragment):
    with pytest.raises(FileProblems) as exc:
        load_scenario(write(tmp_path, text))
    assert fragment in str(exc.value)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileProblems, match="cannot read the scenario file"):
        load_scenario(tmp_path / "nope.yaml")


def test_arrival_rate_phases_parse_with_their_defaults(tmp_path):
    path = write(tmp_path, "name: o\npayloads: {mix: {small-plain-png: 1}}\nphases:\n"
                 "  - {name: a, kind: arrival_rate, duration: 10s, rate: 5/s}\n"
                 "  - {name: b, kind: arrival_rate, duration: 10s, rate: 5/s, to: 600/m, arrivals: poisson, seed: 3, connections: 8}\n")
    a, b = load_scenario(path).phases
    assert (a.rate, a.to_rate, a.poisson, a.max_in_flight, a.connections, a.asked_rate) == (5, 5, False, 256, 32, 5)
    assert (b.to_rate, b.poisson, b.seed, b.connections, b.asked_rate) == (10, True, 3, 8, 7.5)


def test_arrival_rate_problems_name_the_field(tmp_path):
    path = write(tmp_path, "name: o\npayloads: {mix: {small-plain-png: 1}}\nphases:\n"
                 "  - {name: a, kind: arrival_rate, duration: 10s, rate: 0/s, arrivals: bursty, connections: 0}\n")
    with pytest.raises(FileProblems) as exc:
        load_scenario(path)
    text = str(exc.value)
    assert "phases[0].rate: '0/s' must be positive" in text
    assert "phases[0].arrivals: got 'bursty'; expected even or poisson" in text
    assert "phases[0].connections" in text


def test_a_derived_scenario_written_elsewhere_keeps_finding_the_users_files_and_command_directory(tmp_path):
    """A capacity step's scenario is derived from the user's (other phases) and written into its run
    directory for Locust: relative payload files and the command's cwd still point at the user's."""
    from PIL import Image

    user = tmp_path / "user"
    (user / "img").mkdir(parents=True)
    Image.new("RGB", (64, 32), "white").save(user / "img" / "page.png")
    (user / "s.yaml").write_text("name: mine\ntarget: {api: http, options: {path: /ocr}, command: [srv, '{port}'], cwd: ..}\n"
                                 "payloads: {files: img/*.png}\nphases:\n  - {name: steady, kind: users, duration: 5s, users: 1}\n")
    scenario = load_scenario(user / "s.yaml")
    step = scenario.derive("mine-capacity", [{"name": "step", "kind": "arrival_rate", "duration": "20s", "rate": "5/s"}])
    assert step.derived and step.name == "mine-capacity" and [p.name for p in step.phases] == ["step"]
    (tmp_path / "run").mkdir()
    written = step.written(tmp_path / "run" / "scenario.yaml")
    again = load_scenario(written.path)
    assert not written.derived and again.phases == step.phases and again.target.command == ("srv", "{port}")
    assert again.target.cwd == tmp_path and [f.path for f in again.payloads.files] == [user / "img" / "page.png"]
    with pytest.raises(FileProblems, match=r"rate"):  # validated as a file is
        scenario.derive("mine-capacity", [{"name": "step", "kind": "arrival_rate", "duration": "20s", "rate": "lots"}])
