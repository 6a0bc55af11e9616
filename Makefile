# The two set-up commands of the README: `make demo` (main job) and `make test` (test suite).
# Both install everything first (.ci/install: Debian Fashion-MNIST, ./.venv, CPU torch, the package).
VENV ?= .venv

.PHONY: install demo test test-all bench
install:
	bash .ci/install

demo: install
	$(VENV)/bin/qlsa-sim demo

test: install
	$(VENV)/bin/python -m pytest

test-all: install
	$(VENV)/bin/python -m pytest -m "slow or not slow"

bench: install
	for b in bench/bench_*.py; do echo "== $$b"; $(VENV)/bin/python $$b || exit 1; done
