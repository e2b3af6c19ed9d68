"""The models the studies serve: exported once per geometry into a cache, then assembled into a
repository per study under names of our choosing, with or without Triton's dynamic batching.

Export runs in a child process (torch stays out of the load generator's memory and CPU time).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from google.protobuf import text_format
from pydantic import BaseModel
from tritonclient.grpc import model_config_pb2

from jepa_export.repository import VERSIONS, Precision

_EXPORT_SCRIPT = """
import json, sys
from pathlib import Path
from jepa_export.checkpoints import save_random_vjepa2
from jepa_export.pipeline import run_export
from jepa_export.settings import ExportSettings

spec = json.loads(sys.argv[1])
out = Path(spec["output_dir"])
vjepa2 = None
if spec["preset"]:
    vjepa2 = save_random_vjepa2(out / "checkpoint", spec["preset"], seed=0)
    config_file = vjepa2 / "config.json"
    config = json.loads(config_file.read_text())
    # RoPE positions: the same weights serve any crop size; only the geometry in config.json changes.
    config["crop_size"] = spec["crop_size"]
    config_file.write_text(json.dumps(config, indent=2))
report = run_export(ExportSettings(
    output_dir=out, vjepa2=vjepa2, export_text_encoder=spec["text"], targets=["cpu"], parity_batch_sizes=[1, 2],
    build_precisions=spec["precisions"], tensorrt=False, tune=True,
))
sys.exit(0 if report.passed else 1)
"""


class ExportedModels(BaseModel):
    """One export, as `jepa-export --tune` writes it (graph, runtime, instances and threads measured
    here): a V-JEPA 2 of `preset` at `crop_size` and/or the bundled MiniLM, with the lower
    precisions that pass their gate (MiniLM's int8 does not: benchmarks/RESULTS.md)."""

    preset: str | None
    crop_size: int = 0
    text: bool = False

    @property
    def precisions(self) -> list[str]:
        return ["int8", "bf16"] if self.preset else ["bf16"]

    @property
    def key(self) -> str:
        video = f"{self.preset}-{self.crop_size}px" if self.preset else "novideo"
        return f"{video}{'-text' if self.text else ''}-tuned"

    def checkpoint_dir(self, cache_dir: Path) -> Path:
        return cache_dir / "exports" / self.key / "checkpoint"

    def repository(self, cache_dir: Path) -> Path:
        """Export (once; cached by key) and return the exported cpu repository."""
        output_dir = cache_dir / "exports" / self.key
        if not (output_dir / "export_report.json").is_file():
            shutil.rmtree(output_dir, ignore_errors=True)
            output_dir.mkdir(parents=True)
            spec = {"output_dir": str(output_dir), "preset": self.preset, "crop_size": self.crop_size, "text": self.text, "precisions": self.precisions}
            subprocess.run([sys.executable, "-c", _EXPORT_SCRIPT, json.dumps(spec)], check=True)
        return output_dir / "repository" / "cpu"


class ServedModel(BaseModel):
    """A model folder of an exported repository, served under `name` at `precision`, with the
    instances and threads the export measured for that precision."""

    source: Path
    name: str
    precision: Precision = "fp32"
    dynamic_batching: bool = True
    # `parameters` entries to set (e.g. the embedding space, to pair a video model with a text model).
    parameters: dict[str, str] = {}

    def layout(self) -> tuple[int, int] | None:
        """(instances, threads) of `precision` from the export's report, None when it was not tuned."""
        report = json.loads((self.source.parents[2] / "export_report.json").read_text())
        model = next(entry for entry in report["models"] if entry["name"] == self.source.name)
        chosen = model.get("serving", {}).get(self.precision, {}).get("chosen")
        return None if chosen is None else (chosen["instance_count"], chosen["intra_op_threads"])


def _link_tree(source: Path, destination: Path) -> None:
    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, destination, copy_function=link)


def assemble_repository(destination: Path, models: list[ServedModel]) -> Path:
    """A repository holding each model under its new name; `dynamic_batching=False` removes the
    `dynamic_batching` block (Triton then runs every request on its own), everything else equal."""
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    for model in models:
        target = destination / model.name
        _link_tree(model.source, target)
        config_file = target / "config.pbtxt"
        config = text_format.Parse(config_file.read_text(), model_config_pb2.ModelConfig())
        config.name = model.name
        config.version_policy.specific.ClearField("versions")
        config.version_policy.specific.versions.append(VERSIONS[model.precision])
        if (layout := model.layout()) is not None:
            config.instance_group[0].count, config.parameters["jepa.intra_op_threads"].string_value = layout[0], str(layout[1])
        if not model.dynamic_batching:
            config.ClearField("dynamic_batching")
        for key, value in model.parameters.items():
            config.parameters[key].string_value = value
        config_file.unlink()  # a hard link to the cached export: replace, never write through
        config_file.write_text(text_format.MessageToString(config))
    return destination


def text_encoder_repository(cache_dir: Path, destination: Path) -> Path:
    """A repository serving the exported MiniLM alone, as `text_encoder` (the overhead studies)."""
    text = ExportedModels(preset=None, text=True).repository(cache_dir)
    return assemble_repository(destination, [ServedModel(source=text / "text_encoder", name="text_encoder")])


def model_parameters(model_dir: Path) -> dict[str, str]:
    """The `jepa.*` parameters of a model folder's config.pbtxt (docs/repository-format.md)."""
    config = text_format.Parse((model_dir / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())
    return {key: value.string_value for key, value in config.parameters.items()}


def client_frames(model_dir: Path, seed: int = 0):
    """One window of uint8 frames at the model's resize size: what a client that already decoded
    its video sends (the gateway still resizes, crops and normalises)."""
    from benchmarks.workloads import synthetic_frames

    parameters = model_parameters(model_dir)
    side = int(parameters["jepa.resize_short_side"])
    return synthetic_frames(int(parameters["jepa.frames_per_clip"]), side, side, seed)


def model_tokenizer(model_dir: Path):
    """The tokenizer the gateway builds for a text model folder (same file, limit and bucket)."""
    from jepa_server.settings import Settings
    from jepa_server.text.tokenizer import TextTokenizer

    return TextTokenizer(model_dir / "tokenizer.json", int(model_parameters(model_dir)["jepa.max_tokens"]), Settings().token_bucket)


def output_dimension(model_dir: Path, output: str) -> int:
    """The last dimension of one output of a model folder's config.pbtxt."""
    config = text_format.Parse((model_dir / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())
    return int(next(tensor.dims[-1] for tensor in config.output if tensor.name == output))


def served_version_dir(model_dir: Path) -> Path:
    """The version folder config.pbtxt's version policy serves."""
    config = text_format.Parse((model_dir / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())
    return model_dir / str(config.version_policy.specific.versions[0])


def served_layout(model_dir: Path) -> tuple[int, int]:
    """(instances, intra-op threads per instance) a model folder's config.pbtxt serves with."""
    config = text_format.Parse((model_dir / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())
    threads = int(config.parameters["jepa.intra_op_threads"].string_value or 0) if "jepa.intra_op_threads" in config.parameters else 0
    return config.instance_group[0].count or 1, threads or (os.cpu_count() or 1)


def encoder_gflops(config: dict) -> float:
    """Multiply-adds x 2 of one clip through the encoder: the linear layers per token, attention
    scores and values per token pair, and the tubelet embedding."""
    hidden, layers = config["hidden_size"], config["num_hidden_layers"]
    tokens = (config["frames_per_clip"] // config["tubelet_size"]) * (config["crop_size"] // config["patch_size"]) ** 2
    mlp = int(hidden * config.get("mlp_ratio", 4.0))
    per_layer = tokens * (4 * hidden * hidden + 2 * hidden * mlp) + 2 * tokens * tokens * hidden
    embedding = tokens * 3 * config["tubelet_size"] * config["patch_size"] ** 2 * hidden
    return 2 * (layers * per_layer + embedding) / 1e9
