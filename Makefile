# Two commands for a new user (see README.md): `make run` and `make test`.
# Both set up first; setup is idempotent (Debian packages once, the virtualenv when pyproject changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup compiled system-packages run test bench models paddlex kserve stacks triton mlserver bentoml ray_serve
setup: system-packages $(VENV)/.installed

# prometheus (and promtool): the metrics store the gate reads; chromium: the HTML report's browser test;
# haproxy: the load balancer in front of replicas (target.replicas, scale_to); python3-venv and
# libpython3.11: Debian's Python for PyTriton's virtualenv (its Python backend stub links libpython);
# postgresql: the history store's server in its tests (each test starts its own on a free port).
system-packages:
	@{ command -v prometheus && command -v chromium && command -v haproxy && /usr/bin/python3 -c "import ensurepip" \
		&& ls /usr/lib/*/libpython3.11.so.1.0 && ls /usr/lib/postgresql/*/bin/initdb; } >/dev/null 2>&1 || { \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus chromium haproxy \
			python3-venv libpython3.11 postgresql; }

# uv installs the same wheels as pip (from PyPI), in seconds where pip takes minutes: each
# virtualenv below is made with it. It comes from PyPI itself, into the harness's virtualenv, which is
# made again when this Makefile changes (a virtualenv from an older one may lack uv).
# Bytecode: uv, unlike pip, leaves the .pyc files to the first import, and where
# PYTHONDONTWRITEBYTECODE is set (CI machines) no import writes them: every process would then compile
# what it imports, 7 s of a Paddle server's start and 3 s of each `sla run` on the slower CPU. So
# make's commands write them (unexport), each module once, at its first import; the setup's imports
# below write the most used (compiling every installed package instead took 1:40 more of setup).
unexport PYTHONDONTWRITEBYTECODE
UV := $(BIN)/uv
UV_INSTALL = $(UV) pip install --quiet
$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet 'uv>=0.13,<0.14'
	$(UV_INSTALL) --python $(BIN)/python -e '.[dev]'
	touch $@

# What the gate, Locust and the reference server import, imported once (locust first: it patches the
# standard library), so that their bytecode is written before the tests start many of them at once.
compiled: $(VENV)/.installed
	$(BIN)/python -W ignore::UserWarning -c 'import locust, sla.loadgen.api, sla.cli, sla.gate, reference_server.app, reference_server.workers, paddle, cv2'

# $(call venv,DIR,PYTHON,REQUIREMENTS): a fresh virtualenv at DIR (with pip, as `python -m venv` makes it)
define venv
	rm -rf $(1)
	$(UV) venv --quiet --seed --python $(2) $(1)
	$(UV_INSTALL) --python $(1)/bin/python -r $(3)
endef

run: setup compiled
	$(BIN)/sla run scenarios/release.yaml

# The virtualenvs install side by side (-j; -O keeps each one's output together). Then four parts,
# one after the other, as they cannot share the machine: the tests marked `waits` (minutes of gate
# runs against the timer-only synthetic server, mostly waiting; beside busy test workers their
# load generators lag and steps go UNSTABLE) five at a time; the rest (unit tests, the harness's
# logic against the synthetic server) three at a time, a test file per worker; the `cpu_bound`
# tests (Paddle-backed and third-party servers, mostly waiting on cold starts and phases) two at a
# time; the `alone` tests (what a server does with the cores it is given, and Ray Serve's shipped
# scenario, whose dozen processes starve the load generator beside another test) by themselves.
test:
	$(MAKE) -j7 -O setup compiled paddlex kserve stacks
	$(BIN)/pytest -n 5 --dist loadfile --no-loadscope-reorder -m waits --durations=10
	$(BIN)/pytest -n 3 --dist loadfile --no-loadscope-reorder -m "not waits and not cpu_bound and not alone" --durations=10
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder -m "cpu_bound and not alone" --durations=10
	$(BIN)/pytest -m alone --durations=10

bench: setup
	$(BIN)/python benchmarks/bench_server.py

# Train the reference networks again (about 30 min for tiny and 60 for base on 2 cores; the weights
# are committed, so nobody needs this to run anything), quantise them to INT8 under Paddle 2.6 (its
# own virtualenv: Paddle 3.3 cannot; reference_server/models/quantize.py), then measure what each
# precision reads on held-out pages.
QUANT_VENV := .venvs/quant
models: setup $(QUANT_VENV)/.ready
	$(BIN)/python -m reference_server.models.train
	$(QUANT_VENV)/bin/python -m reference_server.models.quantize
	$(BIN)/python -m reference_server.models.train --evaluate-only --precision fp32 --precision int8 --precision bf16

$(QUANT_VENV)/.ready: reference_server/models/quantize.requirements.txt | $(VENV)/.installed
	$(call venv,$(QUANT_VENV),$(PYTHON),$<)
	$(QUANT_VENV)/bin/python -c "import paddle, cv2"
	touch $@

# PaddleX serving as a test target (scenarios/paddlex.yaml): its own virtualenv (its OpenCV pin
# clashes with ours), the project's models exported and laid out for PaddleX, all offline.
PADDLEX_VENV := .venvs/paddlex
paddlex: $(VENV)/.installed $(PADDLEX_VENV)/bin/paddlex
	$(BIN)/python integrations/paddlex/prepare.py

# The stamp is the installed command itself: a half-made or damaged virtualenv is made again.
$(PADDLEX_VENV)/bin/paddlex: integrations/paddlex/requirements.txt | $(VENV)/.installed
	$(call venv,$(PADDLEX_VENV),$(PYTHON),$<)
	touch $@

# KServe's model server serving this project's OCR pipeline over the Open Inference Protocol V2
# (scenarios/kserve.yaml, integrations/kserve/ocr_model.py): its own virtualenv, offline.
KSERVE_VENV := .venvs/kserve
kserve: $(VENV)/.installed $(KSERVE_VENV)/bin/kserve-ready

$(KSERVE_VENV)/bin/kserve-ready: integrations/kserve/requirements.txt | $(VENV)/.installed
	$(call venv,$(KSERVE_VENV),$(PYTHON),$<)
	$(KSERVE_VENV)/bin/python -c "import kserve, paddle, cv2"
	touch $@

# Triton (through PyTriton), MLServer, BentoML and Ray Serve serving this project's OCR pipeline
# (integrations/<stack>/, scenarios/<stack>.yaml): each in its own virtualenv, made once (the stamp
# .ready is written last, after the stack imports: a half-made virtualenv is made again).
stacks: triton mlserver bentoml ray_serve
STACKS := .venvs
triton: $(VENV)/.installed $(STACKS)/triton/.ready
mlserver: $(VENV)/.installed $(STACKS)/mlserver/.ready
bentoml: $(VENV)/.installed $(STACKS)/bentoml/.ready
ray_serve: $(VENV)/.installed $(STACKS)/ray_serve/.ready

# PyTriton's Python backend stub links Debian's libpython3.11.so: its virtualenv uses /usr/bin/python3.
$(STACKS)/triton/.ready: STACK_PYTHON := /usr/bin/python3
$(STACKS)/triton/.ready: STACK_CHECK := import pytriton, paddle, cv2
$(STACKS)/mlserver/.ready: STACK_CHECK := import mlserver, paddle, cv2
$(STACKS)/bentoml/.ready: STACK_CHECK := import bentoml, paddle, cv2
$(STACKS)/ray_serve/.ready: STACK_CHECK := import ray.serve, ray.dashboard, paddle, cv2
$(STACKS)/%/.ready: integrations/%/requirements.txt | system-packages $(VENV)/.installed
	$(call venv,$(STACKS)/$*,$(or $(STACK_PYTHON),$(PYTHON)),$<)
	$(STACKS)/$*/bin/python -c "$(STACK_CHECK)"
	touch $@
