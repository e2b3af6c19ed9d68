"""Prints pip requirements for the export image: the base and `export` dependencies of
pyproject.toml, minus torch.

The NGC PyTorch image ships a CUDA/TensorRT-matched torch build; letting pip resolve our torch pin
would replace it with a generic wheel. The Dockerfile pins the image's own torch as a constraint.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

KEPT_BY_IMAGE = {"torch"}


def requirements(pyproject: Path) -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["export"]
    return [
        requirement
        for requirement in wanted
        if re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower() not in KEPT_BY_IMAGE
    ]


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("pyproject.toml")
    print("\n".join(requirements(path)))
