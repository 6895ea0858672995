# Court enforcement funds: the two commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
API_PORT ?= 8000
MOTO_PORT ?= 5000
STRIPE_PORT ?= 8420
STAGE ?= prod

.PHONY: run test lint format bench package system-deps clean simulate fuzz

$(STAMP): requirements.txt requirements-dev.txt requirements-face.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet 'pip>=23,<26.3'  # chalice 1.34 needs pip below 26.3
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	# the auditors' command, courtfunds: the project on the venv's path and a launcher for it
	echo "$(CURDIR)" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/courtfunds.pth"
	printf '#!/bin/sh\nexec "%s" -m courtfunds "$$@"\n' "$(CURDIR)/$(PY)" > $(VENV)/bin/courtfunds
	chmod +x $(VENV)/bin/courtfunds
	touch $(STAMP)

# Debian packages the pages, receipts and browser tests need: Chromium for the end-to-end
# tests and a CJK font for the Chinese text of PDF receipts.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing="$$missing fonts-wqy-microhei"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

run: $(STAMP) system-deps
	$(PY) -m infra.localstack --api-port $(API_PORT) --moto-port $(MOTO_PORT) --stripe-port $(STRIPE_PORT) $(if $(FRESH),--fresh,)

# The suite runs on every core (TEST_WORKERS=auto; TEST_WORKERS=0 runs it in one process). Each
# worker has its own in-process moto, free ports and temporary folders, so tests share nothing;
# work stealing keeps both cores busy to the end, as a few tests (the simulation, the ledger's
# state machine) take a minute each.
TEST_WORKERS ?= auto
test: $(STAMP) system-deps
	env -u AWS_PROFILE AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 \
	  $(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# The seeded simulation with faults, longer than in `make test`: SEEDS seeds of STEPS operations
# each, the auditors' whole-ledger check after each run; SEED=n replays one seed.
SEEDS ?= 500
STEPS ?= 30
simulate: $(STAMP)
	env -u AWS_PROFILE AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 \
	  STAGE=local CASES_TABLE=courtfunds-sim-cases PAYOUTS_TABLE=courtfunds-sim-payouts \
	  LEDGER_TABLE=courtfunds-sim-ledger COLLECTION_TABLE=courtfunds-sim-collection \
	  IDENTITY_TABLE=courtfunds-sim-identity APPROVALS_TABLE=courtfunds-sim-approvals \
	  REFUNDS_TABLE=courtfunds-sim-refunds OVERSIGHT_TABLE=courtfunds-sim-oversight \
	  REFERENCE_PHOTOS_BUCKET=courtfunds-sim-reference-photos \
	  $(PY) -m tests.simulation --steps $(STEPS) $(if $(SEED),--seed $(SEED),--seeds $(SEEDS))

# Schemathesis over every route with a larger budget than `make test` (FUZZ_EXAMPLES per route,
# FUZZ_SCENARIOS linked scenarios of the stateful run).
FUZZ_EXAMPLES ?= 60
FUZZ_SCENARIOS ?= 60
fuzz: $(STAMP)
	env -u AWS_PROFILE AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 \
	  FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SCENARIOS=$(FUZZ_SCENARIOS) $(PY) -m pytest tests/test_api_contract_fuzz.py -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	env AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 \
	  $(PY) -m bench

# The stage's deployment package (build/$(STAGE)/: sam.json, deployment.zip), tables merged
# from infra/, checked by cfn-lint at zero errors and zero warnings (.ci/run installs cfn-lint).
package: $(STAMP)
	$(PY) -m infra.package $(STAGE)
	$(VENV)/bin/cfn-lint build/$(STAGE)/sam.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .local
