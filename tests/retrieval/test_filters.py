"""The allow-list filter grammar and collection names, as text (test_filters_on_milvus_lite.py runs
every form on Milvus Lite)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jepa_server.errors import InvalidInput, LimitExceeded
from jepa_server.index.milvus import collection_name, row_filter


def canonical(text: str) -> str:
    return row_filter(text, 4096)


@pytest.mark.parametrize(
    ("given_filter", "expected"),
    [
        ('metadata["tag"] == "x" and window_index < 3', 'metadata["tag"] == "x" and window_index < 3'),
        ("video_id like 'clips/%'", 'video_id like "clips/%"'),
        ("!(window_index == 0) || start_seconds >= 1.5e1", "(not (window_index == 0)) or start_seconds >= 15.0"),
        ('metadata["tag"] in ["a", "b"]', '(metadata["tag"] == "a" or metadata["tag"] == "b")'),
        ('json_contains_any(metadata["tags"], ["red", 2, true])', 'json_contains_any(metadata["tags"], ["red", 2, true])'),
        ('metadata["a"][0]["b"] != -2', 'metadata["a"][0]["b"] != -2'),
        ('video_id == "say \\"hi\\""', 'video_id == "say \\"hi\\""'),
        ("   ", ""),
    ],
)
def test_allowed_filters_are_rendered_canonically(given_filter, expected):
    assert canonical(given_filter) == expected


@pytest.mark.parametrize(
    ("malformed", "problem"),
    [
        ('video_id == "a" or 1 == 1', "expected a field at column 20"),
        ("id == 1", "unknown field 'id'"),
        ("embedding != 0", "unknown field 'embedding'"),
        ('window_index == "1"', "expected an integer"),
        ("window_index < 1.5", "expected an integer"),
        ("video_id == 3", "expected a string"),
        ('video_id == "a"; drop collection', "unexpected character ';'"),
        ("metadata == 1", 'expected a key after metadata, as in metadata["key"]'),
        ('metadata["x"] == 1e999', "number out of range"),
        ('video_id == "\\u0041"', "unknown escape"),
        ('video_id == "a', "unterminated string"),
        ("video_id in []", "expected a string"),
        ('exists metadata["x"]', "unknown field 'exists'"),
        ('metadata["x"] is null', "expected a comparison"),
        ('video_id == "a\x00"', "control characters"),
        ("(" * 40 + "window_index == 1" + ")" * 40, "nested deeper than 32 levels"),
    ],
)
def test_anything_outside_the_grammar_is_invalid_input_naming_filter(malformed, problem):
    with pytest.raises(InvalidInput) as raised:
        canonical(malformed)
    assert str(raised.value).startswith("filter: ")
    assert problem in str(raised.value)


def test_a_filter_over_the_length_limit_is_a_limit_naming_filter():
    with pytest.raises(LimitExceeded, match="filter: 5000 characters, the limit is 4096"):
        canonical("x" * 5000)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('metadata["tag"]video_idwindow_index==!<>()[],"\' andornotinlike0123.-_%')), max_size=60))
def test_any_text_is_rejected_or_becomes_a_canonical_fixed_point(text):
    try:
        rendered = canonical(text)
    except InvalidInput as error:
        assert str(error).startswith("filter: ")
        return
    assert canonical(rendered) == rendered


@pytest.mark.parametrize(
    ("model", "version", "space"),
    [("vjepa2_encoder", "1", "vjepa2-vitl"), ("vljepa_video", "12", "vljepa/demo v2"), ("m" * 300, "1", "s")],
)
def test_collection_names_follow_milvus_rules_and_keep_sanitised_names_apart(model, version, space):
    name = collection_name(model, version, 64, space)
    assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,254}", name)
    assert name != collection_name(model, version, 64, space.replace("-", "_").replace("/", "_").replace(" ", "_") + "x")
    assert collection_name(model, version, 64, space) != collection_name(model, version, 128, space)
