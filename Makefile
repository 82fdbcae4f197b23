# Everyday commands. `make plan` needs Python 3.11+ and Node.js 20.19+ with npm (it builds the
# web app it uploads); `make test` also needs PostgreSQL's server binaries and Chromium. Each
# target checks its tools first (scripts/require-tools) and names what to install.
# `make up`, `verify` and `down` need the Pulumi CLI 3.x, AWS credentials and (for `up`) Docker.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
# The state backend is Pulumi.yaml's backend.url (or PULUMI_BACKEND_URL, which the Pulumi CLI
# puts first): set in one place, so raw `pulumi` commands use the same state as make.
OUTPUTS := build/outputs-$(STACK).json

REQUIRE := scripts/require-tools

.PHONY: help venv web plan test lint unit api-test container web-test e2e fmt docs bench dev image up verify down preflight

help:
	@echo "make plan            offline plan of Pulumi.$(STACK).yaml (no AWS, no Pulumi CLI)"
	@echo "make test            lint + every test that runs without AWS"
	@echo "make dev             local PostgreSQL + API + web app with /api proxied; Ctrl-C stops"
	@echo "make image           the API image payments-api:local (local Debian base without Docker Hub)"
	@echo "make migration NAME=add_x  a new SQL migration of the API's schema (app/api/README.md)"
	@echo "make bench           the benchmarks: offline plan, API vs pgbench, API app alone (docs/performance.md)"
	@echo "make up STACK=dev    refresh and preview, stop on a stateful replace/delete, then pulumi up --refresh (Pulumi CLI 3.x + AWS credentials)"
	@echo "  CONFIRM_REPLACE=a,b  let up replace or delete these stateful resources (logical names or URNs)"
	@echo "make verify STACK=dev  live tests against the deployed stack's outputs"
	@echo "make down STACK=dev  pulumi destroy"
	@echo "make operator-policies STACK=dev  IAM policies of the deployer, verifier, key operator (build/iam-<stack>/)"
	@echo "make keep-data STACK=prod KEY_ARN=...  snapshot the database, copied under a KMS key the stack does not own"
	@echo "make preflight STACK=dev  the checks make up runs first (account, zones, state, base image)"
	@echo "Parts of make test: make lint | unit | api-test | container | web-test | e2e"
	@echo "Others: make venv (.venv), web (app/web build), fmt (ruff format), docs (generated blocks), lock (every hash lock: the program's, the dev tools', the API's)"

venv: $(VENV)/.installed

# The rotation function's packages come from its own hash-locked file, in a pip run of its own
# (a hash on any line turns on hash checking for the whole run), reinstalled so that pip checks
# every wheel; the program packs these very files into the function (function_code.py).
ROTATION_LOCK := functions/db_rotation/requirements.txt

# Everything else comes from requirements-dev.txt, the hash lock `make lock` compiles (every
# package `make test` needs, the program's included, pinned, with hashes), in a hash-checking run.
# It leaves out the local servers (app/local_servers, installed editable from this checkout): a
# local path has no hash, and pip refuses an unhashed requirement once hashes are checked. So they
# get a pip run of their own: --no-deps (their dependencies are in the lock), and
# --no-build-isolation (built by the lock's setuptools rather than by one fetched unchecked).
$(VENV)/.installed: requirements.txt requirements-dev.txt app/local_servers/pyproject.toml $(ROTATION_LOCK)
	@PYTHON=$(PYTHON) $(REQUIRE) python
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes \
		--only-binary=:all: -r requirements-dev.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation \
		-e ./app/local_servers
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		--only-binary=:all: --force-reinstall -r $(ROTATION_LOCK)
	touch $@

# The web app's dependencies and build (app/web/dist, which the browser test serves).
WEB_SOURCES := $(shell find app/web/src app/web/public -type f 2>/dev/null) app/web/index.html
web: app/web/dist/index.html

app/web/node_modules/.installed: app/web/package.json app/web/package-lock.json
	@$(REQUIRE) node npm
	cd app/web && npm ci --no-audit --no-fund
	touch $@

app/web/dist/index.html: app/web/node_modules/.installed $(WEB_SOURCES)
	cd app/web && npm run build

plan: venv web
	$(PY) -m payments_infra.offline.plan --stack "$(STACK)"

# The IAM policies an account administrator attaches to the people who deploy, verify and
# issue API keys for the stack, from its recorded graph (offline): docs/deploy.md, "Who may do what".
.PHONY: operator-policies
operator-policies: venv web
	$(PY) -m payments_infra.offline.operator_policies --stack "$(STACK)"

# Everything that runs without AWS: lint, the program under mocks, the API against a real
# PostgreSQL, the API image run as Fargate runs it, the web app's unit tests, and the browser
# test over all of them.
test: lint unit api-test container web-test e2e

lint: venv app/web/node_modules/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	cd app/api && ../../$(VENV)/bin/mypy
	$(VENV)/bin/hadolint app/api/Dockerfile
	$(PY) -m payments_infra.docs.generate --check
	cd app/web && npm run check:types

# The rotation function's tests (tests/functions) start a PostgreSQL server of their own.
unit: venv web
	@$(REQUIRE) postgres
	$(PY) -m pytest --ignore=tests/container

api-test: venv
	@$(REQUIRE) postgres
	cd app/api && ../../$(PY) -m pytest

# The hash locks (every package of the tree, pinned, with the sha256 of its wheels), each compiled
# from hand-edited top-level pins by the same pinned uv (UV_VERSION of the API's script, which
# installs it): the API image's, app/api/requirements.txt from app/api/requirements.in; the
# program's, requirements.txt from requirements.in (Pulumi installs it when it creates .venv:
# Pulumi.yaml); and what `make venv` installs, requirements-dev.txt from requirements-dev.in, held
# to the program's lock. The root's for any platform and Python >= 3.11, wheels only.
# LOCK_ARGS=--upgrade moves transitive pins too.
LOCK_UV = $${LOCK_TOOLS_DIR:-build/lock-tools}/uv-$$(sed -n 's/^UV_VERSION=//p' app/api/scripts/lock-requirements.sh)/bin/uv
ROOT_LOCK = $(LOCK_UV) pip compile --universal --python-version 3.11 --generate-hashes \
	--only-binary :all: --index-url "$${LOCK_INDEX_URL:-https://pypi.org/simple}" \
	--custom-compile-command "make lock" --quiet $(LOCK_ARGS)
.PHONY: lock
lock:
	@PYTHON=$(PYTHON) $(REQUIRE) python
	PYTHON=$(PYTHON) app/api/scripts/lock-requirements.sh $(LOCK_ARGS)
	$(ROOT_LOCK) requirements.in --output-file requirements.txt
	$(ROOT_LOCK) requirements-dev.in --output-file requirements-dev.txt \
		--no-emit-package payments-local-servers

# A new, empty SQL migration of the API's schema: app/api/payments_api/migrations/versions/
# NNNN_$(NAME).py, revising the current head (app/api/README.md, "Migrations").
.PHONY: migration
migration: venv
	@test -n "$(NAME)" || { echo "make migration: name it, e.g. make migration NAME=add_refunds" >&2; exit 2; }
	cd app/api && ../../$(PY) -m scripts.new_migration "$(NAME)"

# The API image the container test runs: FROM python:3.12-slim when it can be pulled, else
# FROM a local Debian base made once with debootstrap (root, an apt mirror), kept by tag.
image:
	@$(REQUIRE) docker
	app/api/docker/build-image.sh

# The image run as the recorded task definition says (tests/container/): user, read-only root,
# Fargate's volume rules, secrets, health check, stop timeout, against PostgreSQL over TLS.
container: venv image
	@$(REQUIRE) postgres docker
	$(PY) -m pytest tests/container

web-test: app/web/node_modules/.installed
	cd app/web && npm run lint && npm test

e2e: venv web
	@$(REQUIRE) postgres chromium
	cd app/e2e && ../../$(PY) -m pytest

fmt: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

docs: venv
	$(PY) -m payments_infra.docs.generate

bench: venv web
	@$(REQUIRE) postgres wrk
	$(PY) bench/plan_bench.py
	$(PY) bench/api_bench.py
	$(PY) bench/api_app_bench.py > /dev/null

# A local stack for working on the web app: PostgreSQL over TLS, the API over HTTPS, and Vite
# with /api proxied to the API (trusting the local CA). Prints the URL; Ctrl-C stops it all.
dev: venv app/web/node_modules/.installed
	@$(REQUIRE) postgres
	$(PY) app/dev/run.py

# Checks before a real deploy (stack file, Pulumi CLI, passphrase, Docker for up, AWS).
PREFLIGHT = $(PY) -m payments_infra.offline.preflight --stack "$(STACK)"

preflight: venv
	@$(PREFLIGHT) --for up

# `make up` previews against the deployed stack first; the gate (offline/preview_gate.py)
# prints the changes and stops before `pulumi up` replaces or deletes a stateful resource that
# CONFIRM_REPLACE does not name (logical names or URNs, comma-separated, for this run only;
# taken as written, `$` in a URN included). docs/deploy.md, "Changing a deployed stack".
PREVIEW := build/preview-$(STACK).json

# The PCI policy pack runs with every `make up`; its production rules are mandatory on a stack
# with payments:protectData (payments_infra/offline/production.py).
POLICY_PACK = $$($(PY) -m payments_infra.offline.production --policy-args --stack "$(STACK)")

# Both refresh first: the origin header's rotation rewrites the listener rule, the WAF rule
# group and the distribution outside Pulumi, and ignore_changes sends the value in the state,
# so an update of either whole resource without a refresh would put the first value back
# (functions/origin_header_rotation/README.md, "What that costs").
up: venv web
	@$(PREFLIGHT) --for up
	pulumi stack select --create "$(STACK)"
	@mkdir -p build
	pulumi preview --refresh --stack "$(STACK)" --json $(POLICY_PACK) > $(PREVIEW); \
	  $(PY) -m payments_infra.offline.preview_gate --stack "$(STACK)" --preview-status $$? \
	    --confirm '$(value CONFIRM_REPLACE)' $(PREVIEW)
	pulumi up --refresh --stack "$(STACK)" $(POLICY_PACK)

verify: venv
	@$(PREFLIGHT) --for verify
	@mkdir -p build
	pulumi stack output --stack "$(STACK)" --json > $(OUTPUTS)
	PAYMENTS_STACK_OUTPUTS=$(OUTPUTS) $(PY) -m pytest tests/integration -m live -rs

down: venv
	@$(PREFLIGHT) --for down
	pulumi destroy --stack "$(STACK)"

# Before destroying a stack whose data matters: a cluster snapshot, copied under KEY_ARN (a KMS
# key of this account the stack does not own), so it outlives the stack's key; prints the copy's
# identifier. docs/deploy.md, "Protecting the data".
.PHONY: keep-data
keep-data: venv
	@$(PY) -m payments_infra.offline.keep_data --stack "$(STACK)" --key-arn "$(KEY_ARN)"
