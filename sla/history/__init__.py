"""Release over release: a store of judged runs (store.py), the change of a run against the runs
before it (change.py), and the series of each objective with its change points (series.py, the
`sla history` command)."""
