"""Docs that cannot drift from what they describe: each is checked against the code, the
configuration or the results file it speaks of."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from jepa_server.settings import Settings

CHECKOUT = Path(__file__).resolve().parents[1]
REPOSITORY_FORMAT = (CHECKOUT / "docs" / "repository-format.md").read_text()
OPERATING = (CHECKOUT / "docs" / "operating.md").read_text()
README = (CHECKOUT / "README.md").read_text()


def section(text: str, heading: str) -> str:
    """The text under a markdown heading, up to the next heading of any level."""
    start = text.index(heading) + len(heading)
    following = re.search(r"^#+ ", text[start:], re.MULTILINE)
    return text[start : start + following.start()] if following else text[start:]


def parameters_the_gateway_reads() -> set[str]:
    """Every `jepa.*` key the registry asks a served model for, from its source."""
    source = (CHECKOUT / "server" / "jepa_server" / "core" / "registry.py").read_text()
    return set(re.findall(r'"(jepa\.[a-z_]+)"', source))


def test_the_repository_format_lists_every_parameter_the_gateway_reads():
    documented = section(REPOSITORY_FORMAT, "## What the gateway reads, all of it required")
    read = parameters_the_gateway_reads()
    assert {"jepa.bos_id", "jepa.image_mean", "jepa.tubelet_size", "jepa.max_tokens"} <= read
    assert sorted(key for key in read | {"jepa.role"} if f"`{key}`" not in documented) == []


def test_the_repository_format_does_not_claim_fixed_model_names():
    assert "names* are fixed" not in REPOSITORY_FORMAT and "by their\n`jepa.role`" in REPOSITORY_FORMAT


def test_the_stage_latency_panel_lists_exactly_the_stages_the_gateway_emits():
    emitted = {
        stage
        for source in (CHECKOUT / "server" / "jepa_server").rglob("*.py")
        for stage in re.findall(r'\.stage\("([a-z_]+)"\)', source.read_text())
    }
    listed = re.findall(r"^- `([a-z_]+)`", section(OPERATING, "**Stage latency (p50, p95).**"), re.MULTILINE)
    listed += re.findall(r"`([a-z_]+)` and `([a-z_]+)`: Milvus", OPERATING)[0]
    assert emitted and set(listed) == emitted


def test_every_alert_rule_is_explained_in_the_alerts_table():
    rules = yaml.safe_load((CHECKOUT / "deploy" / "prometheus" / "alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule}
    table = section(OPERATING, "## Alerts (`deploy/prometheus/alerts.yml`)")
    assert alerts == set(re.findall(r"^\| `(Jepa\w+)` \|", table, re.MULTILINE))


@pytest.mark.parametrize("variable", ["JEPA_LOG_LEVEL", "JEPA_ADDRESS"])
def test_the_readme_documents_the_environment_of_every_command(variable):
    assert variable in section(README, "## Configuration")


def test_every_gateway_variable_the_readme_names_is_a_setting():
    named = set(re.findall(r"\bJEPA_([A-Z_]+)", section(README, "## Configuration")))
    client_side = {"ADDRESS"}
    assert sorted(name for name in named - client_side if name.lower() not in Settings.model_fields) == []


def test_no_text_cites_a_path_outside_the_repository():
    texts = [path for path in CHECKOUT.rglob("*.md") if not {".venv", "artifacts", "node_modules"} & set(path.parts)]
    assert [str(path.relative_to(CHECKOUT)) for path in texts if re.search(r"/work/|/shared/FACTS", path.read_text())] == []


def test_the_demo_model_readme_quotes_its_evaluation():
    evaluation = json.loads((CHECKOUT / "benchmarks" / "results" / "vljepa_eval.json").read_text())["backends"]["torch"]
    readme = (CHECKOUT / "models" / "vljepa-demo" / "README.md").read_text()
    lines = section(readme, "## Held-out metrics").splitlines()
    row = lines[next(position for position, line in enumerate(lines) if line.startswith("|---")) + 1]
    cells = [cell.strip() for cell in row.strip("| ").split("|")]
    keys = ["template_r_at_1", "template_r_at_5", "template_map", "paraphrase_r_at_1", "classification_accuracy"]
    assert cells[: len(keys)] == [f"{evaluation[key]:.3f}" for key in keys]
    assert cells[5] == " / ".join(f"{evaluation[key]:.3f}" for key in ("shape_accuracy", "colour_accuracy", "direction_accuracy"))
    assert cells[6] == f"{evaluation['event_window_caption_accuracy']:.3f}"
