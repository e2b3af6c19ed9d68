"""Every filter form of the grammar, rendered and then run by Milvus (Lite and a server) over real
rows: the canonical text must not only parse, it must select exactly the rows it says."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest

from jepa_server.index.milvus import CollectionSpec, MilvusIndex, WindowRow, row_filter

SPEC = CollectionSpec(model="filters", version="1", dimension=4, embedding_space="filters-test")
METADATA = {
    "clips/a": {"tags": ["red", "round"], "n": -2, "title": 'say "hi"', "ok": True, "nested": {"k": [{"b": -2}]}},
    "clips/b": {"tags": ["blue"], "n": 3, "title": "plain", "ok": False, "nested": {"k": [{"b": 5}]}},
    "other/c": {"tags": ["red", "blue"], "n": -7.5, "title": "back\\slash", "ok": True, "nested": {"k": [{"b": 0}]}},
}
QUERY = np.array([1.0, 0.5, 0.25, 0.125], np.float32)


@pytest.fixture(scope="module")
async def index(new_index_uri) -> AsyncIterator[MilvusIndex]:
    """Three videos of two windows each (window 1 starts at 2 s), all close to QUERY."""
    milvus = MilvusIndex(new_index_uri())
    for position, (video_id, metadata) in enumerate(METADATA.items()):
        windows = [WindowRow(index, 2.0 * index, 2.0 * index + 2.0, QUERY + 0.01 * (position + index)) for index in range(2)]
        await milvus.replace_video(SPEC, video_id, windows, metadata)
    yield milvus
    await milvus.close()


@pytest.mark.parametrize(
    ("given_filter", "selected"),
    [
        ('json_contains(metadata["tags"], "red")', {"clips/a", "other/c"}),
        ('json_contains_any(metadata["tags"], ["blue", "green"])', {"clips/b", "other/c"}),
        ('json_contains_all(metadata["tags"], ["red", "blue"])', {"other/c"}),
        ('metadata["n"] != 3', {"clips/a", "other/c"}),
        ('metadata["n"] == -2', {"clips/a"}),
        ('metadata["n"] < -2.5', {"other/c"}),
        ('metadata["nested"]["k"][0]["b"] != -2', {"clips/b", "other/c"}),
        ('not (video_id like "clips/%")', {"other/c"}),
        ('!(metadata["ok"] == true)', {"clips/b"}),
        ('video_id == "clips/a" or metadata["n"] > 0', {"clips/a", "clips/b"}),
        ('video_id == "clips/a" || video_id == "other/c" && metadata["ok"] == false', {"clips/a"}),
        ('metadata["title"] == "say \\"hi\\""', {"clips/a"}),
        ("metadata[\"title\"] == 'back\\\\slash'", {"other/c"}),
        ('metadata["title"] in ["plain", "say \\"hi\\""]', {"clips/a", "clips/b"}),
        ('metadata["title"] not in ["plain", "say \\"hi\\""]', {"other/c"}),
        ('video_id not in ["clips/a"]', {"clips/b", "other/c"}),
        ("window_index == 1 and start_seconds >= 2.0 and end_seconds < 1e1", {"clips/a", "clips/b", "other/c"}),
        ("window_index > 1", set()),
    ],
)
async def test_each_filter_form_selects_exactly_its_rows_on_milvus(index: MilvusIndex, given_filter: str, selected: set[str]) -> None:
    hits = await index.search(SPEC, QUERY, top_k=10, expression=row_filter(given_filter, 4096))
    assert {hit.video_id for hit in hits} == selected


async def test_a_filter_that_limits_windows_also_limits_the_best_window(index: MilvusIndex) -> None:
    hits = await index.search(SPEC, QUERY, top_k=10, expression=row_filter("start_seconds >= 2", 4096))
    assert {hit.window_index for hit in hits} == {1}

