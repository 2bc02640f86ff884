# Two commands for a new user (see README.md): `make run` and `make test`.
# Both set up first; setup is idempotent (Debian packages once, the virtualenv when pyproject changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system-packages run test bench paddlex kserve
setup: system-packages $(VENV)/.installed

# prometheus (and promtool): the metrics store the gate reads; chromium: the HTML report's browser test;
# haproxy: the load balancer in front of replicas (target.replicas, scale_to).
system-packages:
	@{ command -v prometheus && command -v chromium && command -v haproxy; } >/dev/null 2>&1 || { \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus chromium haproxy; }

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: setup
	$(BIN)/sla run scenarios/release.yaml

# The three virtualenvs install side by side (-j3; -O keeps each one's output together).
test:
	$(MAKE) -j3 -O setup paddlex kserve
	$(BIN)/pytest --durations=15

bench: setup
	$(BIN)/python benchmarks/bench_server.py

# PaddleX serving as a test target (scenarios/paddlex.yaml): its own virtualenv (its OpenCV pin
# clashes with ours), the project's models exported and laid out for PaddleX, all offline.
PADDLEX_VENV := .venvs/paddlex
paddlex: $(VENV)/.installed $(PADDLEX_VENV)/bin/paddlex
	$(BIN)/python integrations/paddlex/prepare.py

# The stamp is the installed command itself: a half-made or damaged virtualenv is made again.
$(PADDLEX_VENV)/bin/paddlex: integrations/paddlex/requirements.txt
	$(PYTHON) -m venv $(PADDLEX_VENV)
	$(PADDLEX_VENV)/bin/pip install --quiet --upgrade pip
	$(PADDLEX_VENV)/bin/pip install --quiet -r integrations/paddlex/requirements.txt
	touch $@

# KServe's model server serving this project's OCR pipeline over the Open Inference Protocol V2
# (scenarios/kserve.yaml, integrations/kserve/ocr_model.py): its own virtualenv, offline.
KSERVE_VENV := .venvs/kserve
kserve: $(VENV)/.installed $(KSERVE_VENV)/bin/kserve-ready

$(KSERVE_VENV)/bin/kserve-ready: integrations/kserve/requirements.txt
	$(PYTHON) -m venv $(KSERVE_VENV)
	$(KSERVE_VENV)/bin/pip install --quiet --upgrade pip
	$(KSERVE_VENV)/bin/pip install --quiet -r integrations/kserve/requirements.txt
	$(KSERVE_VENV)/bin/python -c "import kserve, paddle, cv2"
	touch $@
