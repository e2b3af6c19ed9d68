# `make run` and `make test` work on a fresh clone: they create the environment first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-10)
ARTIFACTS ?= artifacts

.PHONY: install run test bench export proto clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -e '.[export,server,dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

$(ARTIFACTS)/export_report.json: $(STAMP)
	$(VENV)/bin/jepa-serve export --random-vjepa2 tiny --out $(ARTIFACTS)

export: $(ARTIFACTS)/export_report.json

run: export
	$(PY) -m jepa_server.demo --repository $(ARTIFACTS)/repository/cpu

test: install
	$(PY) -m pytest -q

# Every study (a few minutes each), then benchmarks/RESULTS.md; e.g. `make bench STUDIES="batching gateway"`.
STUDIES ?= all
bench: install
	$(PY) -m benchmarks run $(STUDIES)

proto: install
	$(PY) protos/generate.py

clean:
	rm -rf $(ARTIFACTS) data
