"""`sla alerts`: the SLA file as production alerts, and their replay over a gated run.

command.py   the verb: generate (rules, cases, dashboard, promtool) or replay.
model.py     the options, a rule with its cases, the set from one SLA file.
rules.py     the rules and their PromQL, built by the objective kinds (`Kind.production`).
cases.py     the promtool test cases of each alert; promtool.py writes and runs them.
dashboard.py a Grafana dashboard of the rules' recordings and the service's series.
replay.py    every alert evaluated over a run's kept Prometheus data.
"""
