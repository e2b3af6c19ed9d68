# `make run` and `make test` work on a fresh clone: they create the environment first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-10)
ARTIFACTS ?= artifacts
# The VL-JEPA checkpoint this project trained on synthetic captioned clips (models/vljepa-demo/README.md).
DEMO_CHECKPOINT ?= models/vljepa-demo
REPOSITORY := $(ARTIFACTS)/repository/cpu

.PHONY: install run test bench export proto clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -e '.[export,server,dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

$(ARTIFACTS)/export_report.json: $(STAMP) $(DEMO_CHECKPOINT)/model.safetensors $(DEMO_CHECKPOINT)/config.json
	$(VENV)/bin/jepa-serve export --vljepa $(DEMO_CHECKPOINT) --out $(ARTIFACTS) --target cpu --no-fp16 --no-tensorrt

export: $(ARTIFACTS)/export_report.json

# The main job: index the held-out demo gallery and multi-event videos through the gateway, search by
# text (ranked videos, scores, moments, held-out R@1), then caption multi-event videos (selective decoding).
run: export
	$(PY) -m benchmarks.retrieval_served --repository $(REPOSITORY) --checkpoint $(DEMO_CHECKPOINT) --results $(ARTIFACTS)/retrieval_served.json
	$(PY) -m benchmarks.describe_eval --repository $(REPOSITORY) --checkpoint $(DEMO_CHECKPOINT) --videos 4 --results $(ARTIFACTS)/describe.json

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
