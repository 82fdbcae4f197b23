# Everyday commands. `make plan` and `make test` need nothing but Python 3.11+ and this repo;
# `make up`, `verify` and `down` need the Pulumi CLI 3.x and AWS credentials.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
# State stays on this machine, inside the repo (git-ignored), unless a team backend is set,
# e.g. PULUMI_BACKEND_URL=s3://my-state-bucket.
export PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi-state
OUTPUTS := build/outputs-$(STACK).json

.PHONY: help venv plan test lint unit fmt docs bench up verify down preflight

help:
	@echo "make plan            offline plan of Pulumi.$(STACK).yaml (no AWS, no Pulumi CLI)"
	@echo "make test            lint + every test that runs without AWS"
	@echo "make bench           time the offline plan (figure goes into the README)"
	@echo "make up STACK=dev    pulumi up (Pulumi CLI 3.x + AWS credentials)"
	@echo "make verify STACK=dev  live tests against the deployed stack's outputs"
	@echo "make down STACK=dev  pulumi destroy"

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

plan: venv
	$(PY) -m payments_infra.plan --stack $(STACK)

test: lint unit

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m payments_infra.docs --check

unit: venv
	$(PY) -m pytest

fmt: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

docs: venv
	$(PY) -m payments_infra.docs

bench: venv
	$(PY) bench/plan_bench.py

preflight: venv
	@$(PY) -m payments_infra.preflight

up: preflight
	pulumi stack select --create $(STACK)
	pulumi up --stack $(STACK)

verify: preflight
	@mkdir -p build
	pulumi stack output --stack $(STACK) --json > $(OUTPUTS)
	PAYMENTS_STACK_OUTPUTS=$(OUTPUTS) $(PY) -m pytest tests/integration -m live -rs

down: preflight
	pulumi destroy --stack $(STACK)
