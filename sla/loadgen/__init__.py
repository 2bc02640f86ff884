"""The Locust side of the harness. Locust-importing modules: `user` (the OCR user), `shape` (the
scenario shape), `plugin` (metrics, phases, manifest). `histograms` and `checks` are pure and
import without Locust (importing Locust monkey-patches the process with gevent).
"""
