"""The index adapter's scan for diagnostics, on a real Milvus Lite file: the rows it returns, the
bounded uniform sample past `max_rows`, ingestion timestamps on new rows, and collections created
before rows carried them."""

from __future__ import annotations

import time

import numpy as np
import pytest
from pymilvus import DataType, MilvusClient

from jepa_server.index.milvus import JSON_FIELD, CollectionSpec, MilvusIndex, WindowRow

SPEC = CollectionSpec(model="scan", version="1", dimension=4, embedding_space="scan-test")


def windows(video: int, count: int) -> list[WindowRow]:
    rng = np.random.default_rng(video)
    return [WindowRow(index, float(index), float(index + 1), rng.normal(size=4).astype(np.float32)) for index in range(count)]


async def test_scan_reads_every_row_with_its_ingestion_time(tmp_path) -> None:
    index = MilvusIndex(str(tmp_path / "index.db"))
    before = time.time()
    for video in range(5):
        await index.replace_video(SPEC, f"v{video}", windows(video, 3), {})
    progress: list[tuple[int, int]] = []
    scanned = await index.scan(SPEC, "", max_rows=100, seed=0, progress=lambda read, total: progress.append((read, total)))
    await index.close()
    assert scanned.total_rows == len(scanned.video_ids) == 15 and not scanned.sampled and scanned.has_timestamps
    assert sorted(set(scanned.video_ids)) == [f"v{video}" for video in range(5)]
    assert np.all((scanned.indexed_at >= before) & (scanned.indexed_at <= time.time()))
    stored = {(video_id, int(window)): vector for video_id, window, vector in zip(scanned.video_ids, scanned.window_index, scanned.vectors)}
    assert np.allclose(stored[("v3", 2)], windows(3, 3)[2].embedding)
    assert progress[-1] == (15, 15)


async def test_past_max_rows_the_scan_keeps_a_uniform_sample_of_exactly_that_many(tmp_path) -> None:
    index = MilvusIndex(str(tmp_path / "index.db"))
    for video in range(40):
        await index.replace_video(SPEC, f"v{video:02d}", windows(video, 5), {})
    scanned = await index.scan(SPEC, "window_index < 4", max_rows=50, seed=3, progress=lambda read, total: None)
    again = await index.scan(SPEC, "window_index < 4", max_rows=50, seed=3, progress=lambda read, total: None)
    await index.close()
    assert scanned.total_rows == 160 and len(scanned.video_ids) == 50 and scanned.sampled
    assert np.all(scanned.window_index < 4) and len(set(scanned.video_ids)) > 20  # spread over the collection, not its first rows
    assert scanned.video_ids == again.video_ids  # the seed fixes the sample


@pytest.mark.parametrize("rows", [0, 2])
async def test_a_collection_from_before_timestamps_is_written_and_scanned_without_them(tmp_path, rows: int) -> None:
    path = str(tmp_path / "old.db")
    client = MilvusClient(path)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("video_id", DataType.VARCHAR, max_length=64)
    schema.add_field("window_index", DataType.INT32)
    schema.add_field("start_seconds", DataType.DOUBLE)
    schema.add_field("end_seconds", DataType.DOUBLE)
    schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=4)
    schema.add_field(JSON_FIELD, DataType.JSON)
    params = client.prepare_index_params()
    params.add_index("embedding", index_type="FLAT", metric_type="COSINE")
    client.create_collection(SPEC.name, schema=schema, index_params=params)
    client.close()
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(path)
    index = MilvusIndex(path)
    for video in range(rows):
        await index.replace_video(SPEC, f"v{video}", windows(video, 2), {})
    scanned = await index.scan(SPEC, "", max_rows=100, seed=0, progress=lambda read, total: None)
    await index.close()
    assert not scanned.has_timestamps and len(scanned.video_ids) == 2 * rows and np.isnan(scanned.indexed_at).all()
