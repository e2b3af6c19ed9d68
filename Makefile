# `make run` and `make test` work on a fresh clone: they create the environment first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml clients/pyproject.toml | sha1sum | cut -c1-10)
ARTIFACTS ?= artifacts
# The VL-JEPA checkpoint this project trained on synthetic captioned clips (models/vljepa-demo/README.md).
DEMO_CHECKPOINT ?= models/vljepa-demo
REPOSITORY := $(ARTIFACTS)/repository/cpu
DEMO_MEDIA := $(ARTIFACTS)/demo-media

.PHONY: install run serve lint test bench export proto clean

# The client distribution (clients/) and the server + export one (.), with every extra.
$(STAMP): pyproject.toml clients/pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -e ./clients -e '.[export,server,dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

$(ARTIFACTS)/export_report.json: $(STAMP) $(DEMO_CHECKPOINT)/model.safetensors $(DEMO_CHECKPOINT)/config.json
	$(VENV)/bin/jepa-export --vljepa $(DEMO_CHECKPOINT) --out $(ARTIFACTS) --target cpu --no-fp16 --no-tensorrt

export: $(ARTIFACTS)/export_report.json

# The demo's videos as files a user would send, and their ground truth (demo.json).
$(DEMO_MEDIA)/demo.json: $(STAMP) $(DEMO_CHECKPOINT)/config.json
	$(VENV)/bin/jepa-export demo-media --checkpoint $(DEMO_CHECKPOINT) --out $(DEMO_MEDIA)

# The main job: start Triton and the gateway, index the held-out demo gallery and multi-event videos,
# search by text (ranked videos, scores, moments, held-out R@1), caption multi-event videos.
run: export $(DEMO_MEDIA)/demo.json
	$(VENV)/bin/jepa-serve --log-level WARNING demo --repository $(REPOSITORY) --media $(DEMO_MEDIA) --results $(ARTIFACTS)/demo.json

# The demo, then its search page and APIs stay up (http://127.0.0.1:8080/) until Ctrl-C.
serve: export $(DEMO_MEDIA)/demo.json
	$(VENV)/bin/jepa-serve --log-level WARNING demo --serve --repository $(REPOSITORY) --media $(DEMO_MEDIA)

# ruff, then mypy over export, server, clients, media and benchmarks (pyproject.toml): one finding fails `make test`.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: install lint
	$(PY) -m pytest -q

# Every study (a few minutes each), then benchmarks/RESULTS.md; e.g. `make bench STUDIES="batching gateway"`.
STUDIES ?= all
bench: install
	$(PY) -m benchmarks run $(STUDIES)

proto: install
	$(PY) protos/generate.py

clean:
	rm -rf $(ARTIFACTS) data
