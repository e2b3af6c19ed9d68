"""RetrievalService through a real gateway, real Triton and a real Milvus Lite file.

The session repository's video model (`vjepa2_encoder`, 64-d) and text model (`text_encoder`,
384-d MiniLM) live in different embedding spaces, so these tests search by video and by raw
embedding; text search there must refuse with FAILED_PRECONDITION.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from jepa_client import (
    AsyncClient,
    FailedPreconditionError,
    IndexItem,
    InvalidArgumentError,
    ResourceExhaustedError,
)
from support.media import moving_bar_frames, write_video
from support.prometheus_text import sample_value


def unique(prefix: str) -> str:
    return f"{prefix}/{uuid.uuid4().hex[:8]}"


def test_a_window_embedding_finds_its_video_and_that_window_as_the_moment(client, tmp_path):
    videos = {unique("bars"): moving_bar_frames(24, seed=seed) for seed in (11, 12, 13)}
    report = client.index_videos(IndexItem(video_id, frames, frames_fps=8, metadata={"seed": index}) for index, (video_id, frames) in enumerate(videos.items()))
    assert [item.ok for item in report.items] == [True, True, True]
    assert [item.num_windows for item in report.items] == [3, 3, 3]
    target = list(videos)[1]
    windows = client.embed_video(videos[target], frames_fps=8, return_windows=True).windows
    for window in windows:
        best = client.search(embedding=window.embedding, top_k=3).hits[0]
        assert best.video_id == target
        assert best.window_index == window.index
        assert (best.start_seconds, best.end_seconds) == pytest.approx((window.start_seconds, window.end_seconds))
        assert best.score == pytest.approx(1.0, abs=1e-4)
        assert best.metadata == {"seed": 1}


def test_search_by_video_ranks_the_same_video_first_with_one_hit_per_video(client, tmp_path):
    ids = [unique("byvideo") for _ in range(3)]
    files = [write_video(tmp_path / f"{index}.mp4", moving_bar_frames(24, seed=30 + index)) for index in range(3)]
    assert all(item.ok for item in client.index_videos(IndexItem(video_id, path) for video_id, path in zip(ids, files)).items)
    results = client.search(video=files[2], top_k=50)
    video_ids = [hit.video_id for hit in results.hits]
    assert video_ids[0] == ids[2]
    assert len(video_ids) == len(set(video_ids))
    assert results.model.name == "vjepa2_encoder" and results.collection.startswith("jepa_vjepa2_encoder_v1_64d_")


def test_text_search_across_embedding_spaces_is_failed_precondition_naming_model(client):
    with pytest.raises(FailedPreconditionError) as raised:
        client.search("a red bar moving right")
    assert raised.value.details.startswith("model: text model text_encoder")
    assert "vjepa2_encoder" in raised.value.details


def test_reindexing_an_id_leaves_only_the_new_rows(client):
    video_id = unique("reindex")
    before = client.index_stats()
    client.index_videos([IndexItem(video_id, moving_bar_frames(32, seed=40), frames_fps=8, metadata={"version": 1})])
    client.index_videos([IndexItem(video_id, moving_bar_frames(16, seed=41), frames_fps=8, metadata={"version": 2})])
    after = client.index_stats(ids=[video_id])
    assert (after.rows - before.rows, after.videos - before.videos) == (2, 1)
    assert after.indexed_ids == (video_id,)
    hits = client.search(embedding=np.ones(64, np.float32), filter=f'video_id == "{video_id}"').hits
    assert [(hit.video_id, hit.metadata) for hit in hits] == [(video_id, {"version": 2})]


def test_delete_removes_every_window_of_the_video(client):
    kept, removed = unique("kept"), unique("removed")
    client.index_videos([IndexItem(kept, moving_bar_frames(24, seed=50), frames_fps=8), IndexItem(removed, moving_bar_frames(24, seed=51), frames_fps=8)])
    before = client.index_stats()
    result = client.delete_videos([removed, "never-indexed"])
    after = client.index_stats(ids=[kept, removed])
    assert result.deleted_ids == (removed,) and result.rows_deleted == 3
    assert (before.rows - after.rows, before.videos - after.videos) == (3, 1)
    assert after.indexed_ids == (kept,)
    assert client.search(embedding=np.ones(64, np.float32), filter=f'video_id == "{removed}"').hits == ()


def test_one_bad_item_fails_alone_and_the_others_are_indexed(client):
    good = [unique("good"), unique("good")]
    items = [
        IndexItem(good[0], moving_bar_frames(16, seed=60), frames_fps=8),
        IndexItem(unique("corrupt"), b"not a video at all"),
        IndexItem("", moving_bar_frames(16, seed=61)),
        IndexItem(unique("outside"), uri="../../etc/passwd"),
        IndexItem(good[1], moving_bar_frames(16, seed=62), frames_fps=8, metadata={"tag": "x"}),
    ]
    report = client.index_videos(items)
    codes = [item.code.name for item in report.items]
    assert codes == ["OK", "INVALID_ARGUMENT", "INVALID_ARGUMENT", "INVALID_ARGUMENT", "OK"]
    assert report.items[1].error.startswith("video.encoded: not a decodable video container")
    assert report.items[2].error == "id: empty id"
    assert client.index_stats(ids=good).indexed_ids == tuple(good)


def test_metadata_that_is_not_a_json_object_fails_the_item(client):
    from jepa_client import rpc
    from jepa_client.v1 import retrieval_pb2

    frames = moving_bar_frames(8, seed=63)
    video = retrieval_pb2.IndexVideosRequest(id=unique("meta")).video
    video.frames.data, video.frames.num_frames, video.frames.height, video.frames.width = frames.tobytes(), 8, 96, 128
    requests = [retrieval_pb2.IndexVideosRequest(id=unique("meta"), video=video, metadata_json=text) for text in ('["a"]', "{oops", '{"x": NaN}')]
    report = client.invoke(rpc.INDEX_VIDEOS, iter(requests))
    assert [item.code.name for item in report.items] == ["INVALID_ARGUMENT"] * 3
    assert report.items[0].error == "metadata_json: must be a JSON object, got list"
    assert all(item.error.startswith("metadata_json: ") for item in report.items)


def test_filter_on_metadata_and_window_index_selects_the_rows(client):
    tag = uuid.uuid4().hex
    red, blue = unique("red"), unique("blue")
    client.index_videos(
        [
            IndexItem(red, moving_bar_frames(24, seed=70), frames_fps=8, metadata={"tag": tag, "colour": "red"}),
            IndexItem(blue, moving_bar_frames(24, seed=71), frames_fps=8, metadata={"tag": tag, "colour": "blue"}),
        ]
    )
    query = np.ones(64, np.float32)
    both = client.search(embedding=query, filter=f'metadata["tag"] == "{tag}"').hits
    assert sorted(hit.video_id for hit in both) == sorted([red, blue])
    only_red = client.search(embedding=query, filter=f'metadata["tag"] == "{tag}" and metadata["colour"] in ["red"] and window_index >= 2').hits
    assert [(hit.video_id, hit.window_index) for hit in only_red] == [(red, 2)]


@pytest.mark.parametrize(
    "malformed",
    [
        'metadata["tag"] == ',
        'video_id == "a" or 1 == 1',
        'video_id == "a") or (video_id != "a"',
        'video_id == "a"; delete from x',
        'window_index == "3"',
        "embedding != 0",
        'array_length(metadata["x"]) > 0',
        'video_id == "a\\x"',
        "(" * 40 + 'video_id == "a"' + ")" * 40,
    ],
)
def test_malformed_or_injected_filter_is_invalid_argument_and_changes_nothing(client, malformed):
    video_id = unique("filtered")
    client.index_videos([IndexItem(video_id, moving_bar_frames(16, seed=80), frames_fps=8)])
    before = client.index_stats(ids=[video_id])
    with pytest.raises(InvalidArgumentError) as raised:
        client.search(embedding=np.ones(64, np.float32), filter=malformed)
    assert raised.value.details.startswith("filter: ")
    after = client.index_stats(ids=[video_id])
    assert (after.rows, after.videos, after.indexed_ids) == (before.rows, before.videos, (video_id,))


def test_window_stride_makes_overlapping_windows(client):
    report = client.index_videos([IndexItem(unique("stride"), moving_bar_frames(24, seed=90), frames_fps=8)], window_stride=4)
    # Windows of 8 frames start at 0, 4, 8, 12, 16; the 4-frame tail from 20 is half a window, padded.
    assert report.items[0].num_windows == 6


def test_embedding_of_the_wrong_dimension_is_invalid_argument(client):
    with pytest.raises(InvalidArgumentError, match="embedding: got 3 values, collection jepa_vjepa2_encoder_v1_64d_.* has dimension 64"):
        client.search(embedding=[1.0, 0.0, 0.0])


def test_top_k_over_the_limit_is_resource_exhausted(client, gateway):
    with pytest.raises(ResourceExhaustedError, match=f"top_k: got 100000, the limit is {gateway.settings.max_top_k}"):
        client.search(embedding=np.ones(64, np.float32), top_k=100_000)


def test_index_rows_gauge_follows_the_collection(client, gateway):
    video_id = unique("gauge")
    client.index_videos([IndexItem(video_id, moving_bar_frames(24, seed=95), frames_fps=8)])
    stats = client.index_stats()
    assert sample_value(gateway.metrics_text(), "jepa_index_rows", collection=stats.collection) == stats.rows
    client.delete_videos(video_id)
    assert sample_value(gateway.metrics_text(), "jepa_index_rows", collection=stats.collection) == stats.rows - 3


async def test_async_client_indexes_searches_and_deletes(gateway):
    video_id = unique("async")
    frames = moving_bar_frames(16, seed=99)
    async with AsyncClient(gateway.address) as client:
        report = await client.index_videos([IndexItem(video_id, frames, frames_fps=8, metadata={"via": "aio"})])
        assert report.items[0].ok and report.items[0].num_windows == 2
        hits = (await client.search(video=frames, top_k=1, filter='metadata["via"] == "aio"')).hits
        assert [hit.video_id for hit in hits] == [video_id]
        assert (await client.delete_videos([video_id])).rows_deleted == 2
        assert (await client.index_stats(ids=[video_id])).indexed_ids == ()


def test_a_video_with_many_close_windows_does_not_crowd_out_the_others(client):
    # The session model is random: a grey screen is far from every moving bar, and 40 grey
    # windows outnumber the 10 x top_k windows Milvus Lite groups by itself.
    grey = unique("grey")
    bars = [unique("bars") for _ in range(3)]
    tag = uuid.uuid4().hex
    items = [IndexItem(grey, np.full((320, 96, 128, 3), 128, np.uint8), frames_fps=8, metadata={"tag": tag})]
    items += [IndexItem(video_id, moving_bar_frames(16, seed=110 + index), frames_fps=8, metadata={"tag": tag}) for index, video_id in enumerate(bars)]
    assert [item.num_windows for item in client.index_videos(items).items] == [40, 2, 2, 2]
    query = client.embed_video(np.full((8, 96, 128, 3), 128, np.uint8)).embedding
    hits = client.search(embedding=query, top_k=3, filter=f'metadata["tag"] == "{tag}"').hits
    assert hits[0].video_id == grey
    assert len(hits) == 3 and len({hit.video_id for hit in hits}) == 3


def test_a_video_under_a_media_root_is_indexed_by_uri(client, gateway):
    name = f"{uuid.uuid4().hex[:8]}.mp4"
    write_video(gateway.settings.media_roots[0] / name, moving_bar_frames(16, seed=120))
    report = client.index_videos([IndexItem(unique("uri"), uri=name)])
    assert (report.items[0].ok, report.items[0].num_windows) == (True, 2)
