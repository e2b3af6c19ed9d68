"""The retrieval limits, each a clear error naming the limit, on a gateway with small limits."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from jepa_client import Client, IndexItem, ResourceExhaustedError
from support.gateway import GatewayThread
from support.media import moving_bar_frames


@pytest.fixture(scope="module")
def small_limits(local_triton, cpu_repository, new_index_uri) -> Iterator[Client]:
    from jepa_server.settings import Settings

    settings = Settings(
        port=0, metrics_port=0, triton_url=local_triton.grpc_url, model_repository=cpu_repository, decode_workers=1,
        index_uri=new_index_uri(),
        max_index_items=2, max_ids=2, max_metadata_bytes=32, max_filter_chars=40, index_concurrency=1,
    )
    gateway = GatewayThread(settings).start()
    with Client(gateway.address) as client:
        yield client
    gateway.stop()


def test_items_beyond_max_index_items_are_refused_and_the_first_ones_indexed(small_limits):
    report = small_limits.index_videos(IndexItem(f"limit/{index}", moving_bar_frames(8, seed=index)) for index in range(3))
    assert [item.code.name for item in report.items] == ["OK", "OK", "RESOURCE_EXHAUSTED"]
    assert report.items[2].error.startswith("max_index_items: more than 2 items in one call")
    assert small_limits.index_stats(ids=["limit/0", "limit/2"]).indexed_ids == ("limit/0",)


def test_metadata_over_max_metadata_bytes_fails_its_item(small_limits):
    report = small_limits.index_videos([IndexItem("limit/meta", moving_bar_frames(8, seed=5), metadata={"note": "x" * 40})])
    assert (report.items[0].code.name, report.items[0].error) == ("RESOURCE_EXHAUSTED", "metadata_json: 52 bytes, the limit is 32")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda client: client.delete_videos(["a", "b", "c"]), "ids: got 3 ids, the limit is 2"),
        (lambda client: client.index_stats(ids=["a", "b", "c"]), "ids: got 3 ids, the limit is 2"),
        (lambda client: client.search(embedding=np.ones(64), filter='video_id == "' + "a" * 40 + '"'), "filter: 54 characters, the limit is 40"),
    ],
)
def test_lists_and_filters_over_their_limits_are_resource_exhausted(small_limits, call, message):
    with pytest.raises(ResourceExhaustedError) as raised:
        call(small_limits)
    assert raised.value.details == message
