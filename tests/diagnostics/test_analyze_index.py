"""AnalyzeIndex over a collection whose trouble is known: the diagnosis finds it, streams progress,
stays bounded, publishes its metrics, and refuses bad requests with the field named."""

from __future__ import annotations

import time

import grpc
import httpx
import pytest

from jepa_client import AnalysisProgress, AnalyzeOptions, Client, IndexDiagnosis, TimeRange
from jepa_client.errors import InvalidArgumentError, NotFoundError, ResourceExhaustedError
from jepa_client.v1 import retrieval_pb2, retrieval_pb2_grpc
from jepa_export.demo.grammar import ALL_CLASSES
from jepa_export.demo.trouble import duplicate_truth


def diagnose(address: str, options: AnalyzeOptions) -> tuple[list[AnalysisProgress], IndexDiagnosis]:
    with Client(address) as client:
        events = list(client.analyze_index(options, timeout=600))
    progress = [event for event in events if isinstance(event, AnalysisProgress)]
    assert isinstance(events[-1], IndexDiagnosis) and len(progress) == len(events) - 1
    return progress, events[-1]


@pytest.fixture(scope="module")
def full_diagnosis(diagnosed_gateway, trouble_index) -> tuple[list[AnalysisProgress], IndexDiagnosis]:
    drift = (TimeRange(0.0, trouble_index.second_ingest_at), TimeRange(trouble_index.second_ingest_at, 0.0))
    return diagnose(diagnosed_gateway.address, AnalyzeOptions(drift=drift, outlier_neighbours=10, top_outliers=24))


def test_progress_streams_through_every_stage_before_the_diagnosis(full_diagnosis, trouble_index) -> None:
    progress, diagnosis = full_diagnosis
    stages = [event.stage for event in progress]
    for stage in ("read", "neighbours", "duplicates", "clusters", "coverage", "drift", "map", "captions"):
        assert stage in stages
    fractions = [event.fraction for event in progress]
    assert fractions == sorted(fractions) and 0 <= fractions[0] < fractions[-1] <= 1
    assert diagnosis.rows_analyzed == diagnosis.rows_total == sum(video.windows for video in trouble_index.manifest.videos)
    assert not diagnosis.sampled and diagnosis.notes == ()


def test_every_copy_is_a_near_duplicate_and_nothing_else_is(full_diagnosis, trouble_index) -> None:
    _, diagnosis = full_diagnosis
    found = {frozenset((first, second)) for group in diagnosis.duplicates for first in group.video_ids for second in group.video_ids if first < second}
    assert found == duplicate_truth(trouble_index.manifest)
    assert all(group.similarity >= diagnosis.duplicate_threshold for group in diagnosis.duplicates)
    # The gateway reads the source files of URI-indexed videos: each member comes with a PNG still.
    assert all(len(group.thumbnails_png) == len(group.video_ids) and group.thumbnails_png[0].startswith(b"\x89PNG") for group in diagnosis.duplicates)


def test_black_noise_and_corrupt_videos_top_the_outliers(full_diagnosis, trouble_index) -> None:
    _, diagnosis = full_diagnosis
    injected = {video.file for video in trouble_index.manifest.videos if video.outlier}
    ranked = [outlier.video_id for outlier in diagnosis.outlier_videos]
    # Within the top 10% of the videos (this small collection has ~8 windows per class).
    assert injected <= set(ranked[: diagnosis.videos_analyzed // 10])
    scores = [outlier.score for outlier in diagnosis.outlier_windows]
    assert scores == sorted(scores, reverse=True)


def test_the_class_never_indexed_is_a_coverage_gap_with_a_caption(full_diagnosis, trouble_index) -> None:
    _, diagnosis = full_diagnosis
    missing = ALL_CLASSES[trouble_index.manifest.missing_class]
    assert diagnosis.coverage.queries_sampled >= len(ALL_CLASSES)
    gap_queries = {query for gap in diagnosis.coverage.gaps for query in gap.queries}
    assert missing.caption() in gap_queries
    # Queries of indexed classes are answered: at most a few near misses besides the real gap.
    assert len(gap_queries) <= 3
    gap = next(gap for gap in diagnosis.coverage.gaps if missing.caption() in gap.queries)
    assert gap.best_score < diagnosis.coverage.threshold and gap.caption


def test_the_second_ingest_drifted_and_its_shift_shows_in_the_cluster_shares(full_diagnosis, diagnosed_gateway) -> None:
    _, diagnosis = full_diagnosis
    assert diagnosis.drift is not None and diagnosis.drift.drifted and diagnosis.drift.p_value < 0.01
    assert diagnosis.drift.reference_rows + diagnosis.drift.current_rows == diagnosis.rows_analyzed
    shares = diagnosis.drift.shares
    assert abs(sum(share.reference_share for share in shares) - 1) < 1e-6 and abs(sum(share.current_share for share in shares) - 1) < 1e-6
    metrics = diagnosed_gateway.metrics_text()
    p_value_line = next(line for line in metrics.splitlines() if line.startswith("jepa_index_drift_p_value{"))
    assert float(p_value_line.split()[-1]) == pytest.approx(diagnosis.drift.p_value)


def test_clusters_are_captioned_by_the_decoder_in_the_model_language(full_diagnosis) -> None:
    _, diagnosis = full_diagnosis
    assert len(diagnosis.clusters) >= 5
    words = {word for attributes in ALL_CLASSES for word in attributes.caption().split()}
    assert all(cluster.caption and set(cluster.caption.split()) <= words for cluster in diagnosis.clusters)
    assert sum(cluster.windows for cluster in diagnosis.clusters) + diagnosis.unclustered_windows == diagnosis.rows_analyzed
    assert 1 < diagnosis.spectrum.effective_rank < diagnosis.spectrum.dimension
    assert {point.cluster for point in diagnosis.map} - {-1} <= {cluster.id for cluster in diagnosis.clusters}


def test_past_max_rows_a_uniform_sample_is_analysed_and_said(diagnosed_gateway, trouble_index) -> None:
    _, diagnosis = diagnose(diagnosed_gateway.address, AnalyzeOptions(max_rows=120, captions=False))
    assert diagnosis.sampled and diagnosis.rows_analyzed == 120 < diagnosis.rows_total
    assert any("sampled 120" in note for note in diagnosis.notes)
    assert all(cluster.caption == "" for cluster in diagnosis.clusters)


def test_a_filter_narrows_the_rows(diagnosed_gateway, trouble_index) -> None:
    _, diagnosis = diagnose(diagnosed_gateway.address, AnalyzeOptions(filter='video_id like "second/%"', captions=False))
    second = [video for video in trouble_index.manifest.videos if video.ingest == 2]
    assert diagnosis.rows_total == sum(video.windows for video in second)
    assert diagnosis.videos_analyzed == len(second) and diagnosis.duplicates == ()


@pytest.mark.parametrize(
    ("options", "error", "field"),
    [
        (AnalyzeOptions(max_rows=10**9), ResourceExhaustedError, "max_rows"),
        (AnalyzeOptions(duplicate_threshold=1.5), InvalidArgumentError, "duplicate_threshold"),
        (AnalyzeOptions(drift=(TimeRange(10.0, 5.0), TimeRange(0.0, 0.0))), InvalidArgumentError, "drift_reference"),
        (AnalyzeOptions(model="no_such_model"), NotFoundError, "model"),
        (AnalyzeOptions(filter="video_id =="), InvalidArgumentError, "filter"),
    ],
)
def test_bad_requests_name_their_field(diagnosed_gateway, options: AnalyzeOptions, error: type[Exception], field: str) -> None:
    with Client(diagnosed_gateway.address) as client, pytest.raises(error, match=field):
        list(client.analyze_index(options, timeout=60))


def test_a_drift_request_needs_both_ranges(diagnosed_gateway) -> None:
    with grpc.insecure_channel(diagnosed_gateway.address) as channel:
        stub = retrieval_pb2_grpc.RetrievalServiceStub(channel)
        request = retrieval_pb2.AnalyzeIndexRequest(drift_reference=retrieval_pb2.TimeRange(start_unix_s=0, end_unix_s=time.time()))
        with pytest.raises(grpc.RpcError) as raised:
            list(stub.AnalyzeIndex(request, timeout=60))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "drift_current" in raised.value.details()


def test_the_drift_watch_compares_the_last_window_with_everything_before(diagnosed_gateway, trouble_index) -> None:
    gateway = diagnosed_gateway.gateway
    collection = gateway.retriever.collection(gateway.embedder.registry.video_model(""))
    gauge = gateway.metrics.index_drift_p_value.labels(collection.name)
    gauge.set(2.0)  # not a p-value: the watch must overwrite it
    window_s = time.time() - trouble_index.second_ingest_at  # the last window holds exactly the second ingest
    diagnosed_gateway.run(gateway.analyzer.check_drift("", window_s), timeout=300)
    lines = diagnosed_gateway.metrics_text().splitlines()
    value = {line.split("{")[0]: float(line.split()[-1]) for line in lines if line.startswith("jepa_index_drift") and collection.name in line}
    assert value["jepa_index_drift_p_value"] < 0.01 and value["jepa_index_drift_mmd"] > 0 and value["jepa_index_drift_share_change"] > 0


def test_over_http_the_diagnosis_comes_back_whole_as_json(diagnosed_gateway, trouble_index) -> None:
    response = httpx.post(f"{diagnosed_gateway.http_url}/v1/index/analyze", json={"max_rows": 150, "captions": False, "top_outliers": 5}, timeout=300)
    assert response.status_code == 200, response.text
    diagnosis = response.json()
    assert diagnosis["sampled"] and diagnosis["rows_analyzed"] == 150 and len(diagnosis["outlier_videos"]) == 5
    assert diagnosis["drift"] is None and diagnosis["spectrum"]["dimension"] == diagnosis["model"]["dimension"]


def test_over_http_a_bad_option_is_a_400_naming_it(diagnosed_gateway) -> None:
    response = httpx.post(f"{diagnosed_gateway.http_url}/v1/index/analyze", json={"duplicate_threshold": 2}, timeout=60)
    assert response.status_code == 400 and response.json()["error"]["param"] == "duplicate_threshold"
