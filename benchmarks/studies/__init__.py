"""One module per study; each exposes `run(context) -> Path` (the JSON it wrote)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from benchmarks.context import StudyContext
from benchmarks.studies import batching, decode, gateway, http, index, model_sizes, precision, search, served

StudyRunner = Callable[[StudyContext], Path]

# In the order `run all` measures them (and RESULTS.md lists them).
STUDIES: dict[str, StudyRunner] = {
    "served": served.run,
    "batching": batching.run,
    "gateway": gateway.run,
    "http": http.run,
    "decode": decode.run,
    "index": index.run,
    "search": search.run,
    "precision": precision.run,
    "model_sizes": model_sizes.run,
}
