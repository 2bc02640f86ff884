"""Right answers, not only fast ones, from the answers the load generator scored against what each
payload says it reads (sla/payloads/scoring.py: synthetic pages know their text, a manifest gives
`expected_text`):

    accuracy: {exact_lines: 95%, cer: 3%}      # at least 95 % of the lines read exactly; at most 3 % of characters wrong
    accuracy: {exact_lines: 95%, sample: 20%}  # score a fifth of the answers (the load generator's CPU)
    accuracy_drop: {vs: warmup, max: 1%}       # exact lines at most 1 point under those of the quiet phase `warmup`

A claim needs enough lines (or characters), as a latency claim needs requests; an answer whose
text cannot be read counts as read wrong, and is a failed request. Read from the load generator
only: no server knows what its answers should have said.
"""

from __future__ import annotations

from typing import Any

from sla.analysis.sources import Answers
from sla.analysis.stats import min_samples
from sla.analysis.verdict import FAIL, INCONCLUSIVE, PASS, Measurement, ObjectiveResult
from sla.objectives.base import Kind, Objective, ParseContext, Run, fraction, result

ACCURACY_KEYS = {
    "exact_lines": "minimum share of the expected lines read exactly, e.g. 95%",
    "cer": "maximum character error rate (edits over expected characters), e.g. 3%",
    "sample": "share of the answers scored, above 0% and at most 100% (default 100%: every answer)",
}
DROP_KEYS = {"vs": "the quiet phase to compare with (a phase name)", "max": "largest drop of the exact-line share, e.g. 1%"}
NOT_IN_PRODUCTION = "production answers carry no expected text to score them against: judge accuracy in the gate"
SCORED_BY = "the load generator scores the answers (loadgen_answers_total)"


def _sample(reader, doc: dict, path: str) -> float | None:
    def share(value) -> float:
        got = fraction(value)
        if got <= 0:
            raise ValueError(f"{value!r} scores no answer")
        return got

    return reader.get(doc, path, "sample", share, "a share above 0% and at most 100%, such as 20%", 1.0)


def _measured(answers: Answers | None) -> Measurement:
    if answers is None:
        return Measurement("", count=0.0)
    return Measurement(answers.promql, count=answers.lines, failures=answers.lines - answers.exact_lines,
                       figures={"answers": answers.answers, "chars": answers.chars, "char_errors": answers.char_errors})


def _nothing_scored(o: Objective, m: Measurement) -> ObjectiveResult:
    return result(o, m, INCONCLUSIVE, None, "no scored answer in the phase (no successful answer to a payload with an expected text)",
                  "check the error rate: accuracy is scored on successful answers only", samples=0)


def _sampled(o: Objective, m: Measurement) -> str:
    answers = (m.figures or {}).get("answers") or 0.0
    return f"{answers:.0f} answers" + (f", a sample of {o.sample * 100:g}%" if o.sample is not None and o.sample < 1 else "")


class _Scored(Kind):
    """What the accuracy kinds share: their section of the SLA, read from the load generator only,
    no production rule, and a FAIL that stands whatever load was delivered."""

    unit = "fraction"

    def read_section(self, ctx: ParseContext, accepted: dict[str, str]) -> tuple[Any, str, dict]:
        """(reader, path, the key's mapping checked against `accepted`); a scenario whose answers
        cannot be scored is reported here."""
        reader, path = ctx.reader, f"{ctx.path}.{self.key}"
        doc = reader.mapping(ctx.doc[self.key], path, accepted)
        if ctx.accuracy_problem:
            reader.problem(path, f"accuracy cannot be judged on this scenario: {ctx.accuracy_problem}")
        return reader, path, doc

    def server_problem(self, o: Objective, mapping) -> str | None:
        return SCORED_BY

    def production(self, o: Objective, rules) -> str | None:
        return NOT_IN_PRODUCTION

    def stands_despite_shortfall(self, o: Objective, m: Measurement, judged: ObjectiveResult) -> bool:
        """A wrong answer is wrong whatever the load delivered."""
        return True


class ExactLines(_Scored):
    """Parses the whole `accuracy` mapping: its own `exact_lines` and its sibling's `cer`."""

    names = ("accuracy_exact_lines",)
    key = "accuracy"
    description = "how right the answers are, e.g. {exact_lines: 95%, cer: 3%, sample: 20%}"
    direction = "min"

    def parse(self, ctx: ParseContext) -> list[Objective]:
        if self.key not in ctx.doc:
            return []
        reader, path, doc = self.read_section(ctx, ACCURACY_KEYS)
        if isinstance(doc, dict) and set(doc) <= set(ACCURACY_KEYS) and not {"exact_lines", "cer"} & set(doc):
            reader.problem(path, "give exact_lines, cer or both, e.g. {exact_lines: 95%}")
        sample = _sample(reader, doc, path) if "sample" in doc else None
        out = []
        for key, kind in (("exact_lines", "accuracy_exact_lines"), ("cer", "accuracy_cer")):
            if key in doc and (limit := reader.get(doc, path, key, fraction, "a percentage such as 95%")) is not None:
                out.append(Objective(f"{ctx.phase}.accuracy.{key}", kind, ctx.phase, "loadgen", limit, sample=sample, where=f"{path}.{key}"))
        return out

    def measure(self, o: Objective, run: Run, w) -> Measurement:
        return _measured(run.loadgen.answers(w))

    def judge(self, o: Objective, m: Measurement) -> ObjectiveResult:
        lines, missed = m.count or 0.0, m.failures or 0.0
        if lines <= 0:
            return _nothing_scored(o, m)
        got = (lines - missed) / lines
        detail = f"{lines - missed:.0f} of {lines:.0f} lines read exactly = {got * 100:.2f}% ({_sampled(o, m)})"
        if got < o.limit:
            return result(o, m, FAIL, got, f"{detail}, under {o.limit * 100:g}%",
                          "compare with a quiet run (accuracy_drop): wrong only under load is a batching or concurrency fault; "
                          "wrong at any load is the model or its pre-processing", samples=lines)
        need = min_samples(o.limit, int(missed)) if o.limit < 1 else 0
        if lines < need:
            return result(o, m, INCONCLUSIVE, got, f"{detail}: a >= {o.limit * 100:g}% claim needs at least {need} lines",
                          f"run the phase longer, or score more answers: {need - lines:.0f} more lines", samples=lines)
        return result(o, m, PASS, got, detail, samples=lines)

    def answer_sample(self, o: Objective) -> float | None:
        return o.sample if o.sample is not None else 1.0

    def needs(self, o: Objective) -> int:
        """Lines (an answer holds at least one)."""
        return min_samples(o.limit, 0) if 0 < o.limit < 1 else 0


class CharErrors(ExactLines):
    """The `cer` of an `accuracy` mapping (parsed with exact_lines)."""

    names = ("accuracy_cer",)
    direction = "max"

    def parse(self, ctx: ParseContext) -> list[Objective]:
        return []

    def judge(self, o: Objective, m: Measurement) -> ObjectiveResult:
        figures = m.figures or {}
        chars, errors = figures.get("chars") or 0.0, figures.get("char_errors") or 0.0
        if chars <= 0:
            return _nothing_scored(o, m)
        cer = errors / chars
        detail = f"{errors:.0f} character errors in {chars:.0f} = CER {cer * 100:.2f}% ({_sampled(o, m)})"
        if cer > o.limit:
            return result(o, m, FAIL, cer, f"{detail}, over {o.limit * 100:g}%",
                          "look at what was read (sla demo prints it beside the page's text)", samples=chars)
        need = min_samples(1.0 - o.limit, int(errors)) if 0 < o.limit < 1 else 0
        if chars < need:
            return result(o, m, INCONCLUSIVE, cer, f"{detail}: a CER <= {o.limit * 100:g}% claim needs at least {need} characters",
                          f"run the phase longer: {need - chars:.0f} more characters", samples=chars)
        return result(o, m, PASS, cer, detail, samples=chars)

    def needs(self, o: Objective) -> int:
        return 0  # characters: a page holds dozens


class AccuracyDrop(_Scored):
    names = ("accuracy_drop",)
    key = "accuracy_drop"
    description = "the exact-line share under load against a quiet phase, e.g. {vs: warmup, max: 1%}"

    def parse(self, ctx: ParseContext) -> list[Objective]:
        if self.key not in ctx.doc:
            return []
        reader, path, doc = self.read_section(ctx, DROP_KEYS)
        vs = doc.get("vs")
        if not isinstance(vs, str) or not vs:
            reader.problem(f"{path}.vs", "name the quiet phase to compare with, e.g. vs: warmup")
            vs = None
        elif vs == ctx.phase:
            reader.problem(f"{path}.vs", f"{vs!r} is this phase itself; name a quiet phase to compare with")
            vs = None
        elif ctx.phases is not None and vs not in ctx.phases:
            reader.problem(f"{path}.vs", f"the scenario has no phase {vs!r}; its phases: {', '.join(ctx.phases)}")
            vs = None
        limit = reader.get(doc, path, "max", fraction, "a percentage such as 1%")
        if vs is None or limit is None:
            return []
        return [Objective(f"{ctx.phase}.accuracy_drop", self.names[0], ctx.phase, "loadgen", limit, vs=vs, where=path)]

    def measure(self, o: Objective, run: Run, w) -> Measurement:
        here = _measured(run.loadgen.answers(w))
        quiet = run.window(o.vs or "")
        base = run.loadgen.answers(quiet) if quiet is not None else None
        if base is None or not base.lines:
            return here
        return Measurement(here.promql + "\n" + base.promql, count=here.count, failures=here.failures, figures=here.figures,
                           baseline=base.exact_lines / base.lines, value=base.lines)

    def judge(self, o: Objective, m: Measurement) -> ObjectiveResult:
        lines, missed = m.count or 0.0, m.failures or 0.0
        if lines <= 0:
            return _nothing_scored(o, m)
        if m.baseline is None:
            return result(o, m, INCONCLUSIVE, None, f"no scored answer in the phase {o.vs!r} to compare with",
                          f"let the phase {o.vs} run long enough to answer", samples=lines)
        got = (lines - missed) / lines
        drop = m.baseline - got
        detail = (f"exact lines {got * 100:.2f}% ({lines:.0f} lines) against {m.baseline * 100:.2f}% in {o.vs} "
                  f"({m.value or 0:.0f} lines): {'a drop' if drop > 0 else 'no drop'} of {max(drop, 0) * 100:.2f} points")
        if drop > o.limit:
            return result(o, m, FAIL, drop, f"{detail}, over {o.limit * 100:g}",
                          "wrong under load only: look for state shared between concurrent requests (batching, buffers, caches)",
                          samples=lines)
        need = min_samples(1.0 - o.limit, 0) if 0 < o.limit < 1 else 0
        if min(lines, m.value or 0.0) < need:
            return result(o, m, INCONCLUSIVE, max(drop, 0.0), f"{detail}: a drop <= {o.limit * 100:g} points claim needs "
                          f"{need} lines in each phase", "run both phases longer", samples=lines)
        return result(o, m, PASS, max(drop, 0.0), detail, samples=lines)

    def needs(self, o: Objective) -> int:
        return min_samples(1.0 - o.limit, 0) if 0 < o.limit < 1 else 0

    def answer_sample(self, o: Objective) -> float | None:
        return 1.0
