# Everything runs from the repository root; `make test` works on a fresh
# Debian machine (it installs and starts what is missing, see scripts/setup.sh).
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV := .venv
PYTHON := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: help setup run test unit lint audit fuzz migrate bench chaos deploy-check clean distclean

help: ## List the targets
	@echo "Targets:"
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 20
	@echo
	@echo "  PYTEST_ARGS='-k tickets -x' make test   passes arguments to pytest"

setup: ## Install and start everything (venv, RabbitMQ + management, PostgreSQL)
	bash scripts/setup.sh all

run: ## Start all services locally with one combined log (Ctrl-C stops them)
	bash scripts/setup.sh run
	$(PYTHON) scripts/run.py

test: ## Set up what is missing, audit the dependencies, then run the test suite (PYTEST_ARGS=...)
	bash scripts/setup.sh all
	$(PYTHON) scripts/dependency_audit.py
	$(VENV)/bin/pytest $(PYTEST_ARGS)

unit: ## Pure-rule tests only: no RabbitMQ, database server or browser needed (seconds)
	bash scripts/setup.sh python
	PROPERTY_EXAMPLES=$${PROPERTY_EXAMPLES:-50} $(VENV)/bin/pytest tests/unit -q

lint: ## ruff check
	bash scripts/setup.sh python
	$(VENV)/bin/ruff check .

audit: ## Known vulnerabilities in the pinned dependencies (pip-audit; policy in README, "Dependency audit")
	bash scripts/setup.sh python
	$(PYTHON) scripts/dependency_audit.py

fuzz: ## Fuzz every JSON API from its OpenAPI description, longer than make test does (FUZZ_EXAMPLES=500)
	bash scripts/setup.sh all
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} $(VENV)/bin/pytest tests/integration/common/test_fuzz_apis.py -q $(PYTEST_ARGS)

migrate: ## Apply every service's database migrations (each service also does it at start)
	bash scripts/setup.sh python
	services=$$($(PYTHON) -m services.common.registry with-migrations) || exit 1; \
	for service in $$services; do $(PYTHON) -m services.$$service migrate || exit 1; done

bench: ## Benchmarks: routing decisions, email intake, end to end through the real intakes (prints figures)
	bash scripts/setup.sh all
	$(PYTHON) bench/router_bench.py
	$(PYTHON) bench/email_bench.py
	$(PYTHON) -m loadtest.e2e_bench $(E2E_ARGS)

chaos: ## Fault injection: crash every service, RabbitMQ and PostgreSQL while complaints flow (as root)
	bash scripts/setup.sh all
	$(PYTHON) -m loadtest.chaos $(CHAOS_ARGS)

deploy-check: ## Offline checks of deploy/: compose, Kubernetes schemas, probes, limits, dashboard metrics
	bash scripts/setup.sh python peers
	$(PYTHON) deploy/validate.py

clean: ## Remove var/ and caches (keeps .venv)
	rm -rf var .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV)
