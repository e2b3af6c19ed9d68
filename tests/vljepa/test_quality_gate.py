"""Lower precisions of a VL-JEPA checkpoint pass an end-to-end gate (held-out R@1, caption
accuracy against the fp32 models) before a repository is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from jepa_export.pipeline import run_export
from jepa_export.report import QualityCheck
from jepa_export.settings import ExportSettings, QualityGate
from jepa_export.vljepa.model import save_vljepa


@pytest.fixture(scope="module")
def tiny_checkpoint(tiny_model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_vljepa(tiny_model, tmp_path_factory.mktemp("vljepa") / "tiny")


def _settings(checkpoint: Path, output_dir: Path, gate: QualityGate) -> ExportSettings:
    return ExportSettings(
        output_dir=output_dir, vljepa=checkpoint, targets=["cpu"], tensorrt=False, build_precisions=["int8"], quality_gate=gate,
        parity_batch_sizes=[1], allow_drift=False,
    )


def test_every_lower_precision_is_measured_end_to_end_against_fp32(tiny_checkpoint: Path, tmp_path: Path):
    report = run_export(_settings(tiny_checkpoint, tmp_path, QualityGate(max_r_at_1_loss=1.0, max_caption_accuracy_loss=1.0)))
    (check,) = report.quality
    assert check.precision == "int8"
    assert check.model_precisions == {"vjepa2_encoder": "int8", "vljepa_predictor": "int8", "text_encoder": "int8", "text_decoder": "int8"}
    assert 0.0 <= check.r_at_1 <= 1.0 and 0.0 <= check.reference_r_at_1 <= 1.0
    assert 0.0 <= check.caption_accuracy <= 1.0 and check.passed
    # Static int8 where NNCF reads the graph; the text encoder's ONNX Runtime fusions fall back to
    # dynamic int8, and the report says so.
    skipped = {model.name: model.skipped for model in report.models}
    assert "int8 static" in skipped["text_encoder"] and "dynamic quantization" in skipped["text_encoder"]["int8 static"]
    assert all("int8 static" not in skipped[name] for name in ("vjepa2_encoder", "vljepa_predictor", "text_decoder"))


def test_an_int8_that_loses_quality_beyond_the_gate_is_refused_and_nothing_written(tiny_checkpoint: Path, tmp_path: Path):
    # No precision can gain a whole unit of caption accuracy: this gate refuses whatever int8 does.
    report = run_export(_settings(tiny_checkpoint, tmp_path, QualityGate(max_r_at_1_loss=1.0, max_caption_accuracy_loss=-1.0)))
    assert [check.passed for check in report.quality] == [False]
    assert not report.passed and report.repositories == {}
    assert not (tmp_path / "repository" / "cpu").exists()


def test_the_gate_allows_exactly_its_losses():
    check = QualityCheck(
        precision="int8", model_precisions={}, r_at_1=0.99, reference_r_at_1=1.0, caption_accuracy=0.88, reference_caption_accuracy=0.9,
        max_r_at_1_loss=0.01, max_caption_accuracy_loss=0.02,
    )
    assert check.passed
    assert not check.model_copy(update={"r_at_1": 0.985}).passed
    assert not check.model_copy(update={"caption_accuracy": 0.87}).passed
