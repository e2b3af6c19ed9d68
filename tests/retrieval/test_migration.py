"""Model migration without downtime, end to end: a real Triton serving three video models, real
gateways over each index backend (a Milvus Lite file, a Milvus 2.3.5 server), real video files
under the media root.

`pooled_video` serves; `pooled_video_next` is the new model (same text space, another collection);
`pooled_video_other` lives in a space no text model serves."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import grpc
import pytest

from jepa_client import AnalysisProgress, AsyncClient, Client, ComparisonQuery, IndexItem, MigrateOptions, MigrationReport
from jepa_client.errors import JepaError
from jepa_server.settings import Settings
from support.gateway import GatewayThread
from support.media import moving_bar_frames, write_video
from support.repository import copy_model, read_config, write_config

OLD, NEW, OTHER = "pooled_video", "pooled_video_next", "pooled_video_other"
LIBRARY = 210  # videos under the media root: bar-0.mp4 ...
QUERY = "a coloured bar moving over a noisy background"


@pytest.fixture(scope="module")
def migration_repository(shared_space_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    repository = tmp_path_factory.mktemp("migration-repository")
    for name in ("text_encoder", OLD):
        copy_model(shared_space_repository, name, repository)
    for name, space in ((NEW, ""), (OTHER, "pooled-other")):
        shutil.copytree(shared_space_repository / OLD, repository / name)
        config = read_config(repository / name)
        config.name = name
        if space:
            config.parameters["jepa.embedding_space"].string_value = space
        write_config(repository / name, config)
    return repository


@pytest.fixture(scope="module")
def migration_triton(migration_repository: Path) -> Iterator:
    from jepa_server.triton_local import LocalTriton, LocalTritonOptions

    with LocalTriton(LocalTritonOptions(repository=migration_repository, startup_timeout_s=120)) as triton:
        yield triton


@pytest.fixture(scope="module")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny videos (16 frames of 64 x 64: two windows each), one colour of bar per seed."""
    root = tmp_path_factory.mktemp("migration-media")
    for seed in range(LIBRARY):
        write_video(root / f"bar-{seed}.mp4", moving_bar_frames(16, height=64, width=64, seed=seed))
    return root


def gateway_settings(triton, repository: Path, media_root: Path, index_uri: str, alias_ttl_s: float = 0.5) -> Settings:
    """Gateways that follow the serving alias within `alias_ttl_s` and settle 0.2 s after a switch."""
    return Settings(
        port=0, metrics_port=0, triton_url=triton.grpc_url, model_repository=repository, decode_workers=1, media_roots=[media_root],
        index_uri=index_uri, default_video_model=OLD, serving_alias_ttl_s=alias_ttl_s, switch_settle_s=0.2,
    )


@pytest.fixture()
def settings(migration_triton, migration_repository: Path, media_root: Path, new_index_uri: Callable[[], str]) -> Settings:
    """A fresh index on the backend under test."""
    return gateway_settings(migration_triton, migration_repository, media_root, new_index_uri())


@pytest.fixture()
def gateway(settings: Settings) -> Iterator[GatewayThread]:
    thread = GatewayThread(settings).start()
    yield thread
    thread.stop()


def index_library(client: Client, seeds: Iterable[int], prefix: str = "v") -> None:
    items = (IndexItem(f"{prefix}/{seed}", uri=f"bar-{seed}.mp4", metadata={"seed": seed}) for seed in seeds)
    report = client.index_videos(items, timeout=600)
    assert all(item.ok for item in report.items), [item for item in report.items if not item.ok][:3]


def migrate(client: Client, options: MigrateOptions) -> tuple[list[AnalysisProgress], MigrationReport]:
    *events, report = client.migrate(options, timeout=600)
    assert isinstance(report, MigrationReport)
    progress = [event for event in events if isinstance(event, AnalysisProgress)]
    assert len(progress) == len(events)
    return progress, report


class SearchLoop:
    """Searches by text without naming a model, as fast as the gateway answers, on its own thread:
    every answer's collection, and every error."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.collections: list[str] = []
        self.errors: list[JepaError] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with Client(self.address) as client:
            while not self._stop.is_set():
                try:
                    self.collections.append(client.search(QUERY, top_k=5).collection)
                except JepaError as error:
                    self.errors.append(error)

    def __enter__(self) -> SearchLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def test_a_pass_mirrors_the_source_before_the_switch_and_copies_only_later_writes_after_it():
    from jepa_server.core.migration import plan_pass

    source = {"same": 1.0, "rewritten": 5.0, "new": 6.0, "no-time": float("nan"), "failed": 2.0}
    target = {"same": 3.0, "rewritten": 3.0, "deleted": 3.0, "no-time": 3.0}
    before = plan_pass(source, target, skip={"failed"})
    assert (before.copy, before.remove, before.up_to_date) == (["rewritten", "new"], ["deleted"], 2)
    after = plan_pass(source, target, skip={"failed"}, since=5.5)
    assert (after.copy, after.remove) == (["new"], [])  # "deleted" may have been deleted in the serving target


def test_searches_answer_without_error_while_200_videos_migrate_then_find_the_new_models_results(gateway, index_backend: str):
    # The same on the Milvus 2.3.5 server, with 20 videos: it writes a few videos a second on this machine.
    videos = 200 if index_backend == "milvus-lite" else 20
    with Client(gateway.address) as client:
        index_library(client, range(videos))
        old_collection = client.search(QUERY).collection
        changed = False
        with SearchLoop(gateway.address) as loop:
            events = []
            for event in client.migrate(MigrateOptions(NEW, switch=True), timeout=600):
                events.append(event)
                if isinstance(event, AnalysisProgress) and event.stage == "copy" and not changed:
                    # While the copy runs, the old collection still serves writes: the catch-up mirrors them.
                    index_library(client, [videos], prefix="late")
                    assert client.delete_videos("v/0").deleted_ids == ("v/0",)
                    changed = True
            searched_while_migrating = len(loop.collections)
        report = events[-1]
        assert isinstance(report, MigrationReport)

        assert loop.errors == [] and searched_while_migrating >= 10
        assert report.switched and report.passes >= 2 and report.failures == 0 and report.not_reindexable == 0
        assert report.source_videos == videos and report.copied in (videos, videos + 1)
        assert report.serving.collection == report.target_collection != old_collection
        assert report.serving.previous_collection == old_collection
        assert {loop.collections[0], loop.collections[-1]} == {old_collection, report.target_collection}
        stats = client.index_stats(model=NEW, ids=[f"late/{videos}", "v/0", f"v/{videos - 1}"])
        assert (stats.videos, stats.indexed_ids) == (videos, (f"late/{videos}", f"v/{videos - 1}"))

        found = client.search(QUERY, top_k=5)
        assert (found.model.name, found.collection) == (NEW, report.target_collection)
        assert [hit.video_id for hit in found.hits] == [hit.video_id for hit in client.search(QUERY, top_k=5, model=NEW).hits]
        seed = found.hits[0].metadata["seed"]
        assert found.hits[0].metadata == {"seed": seed, "source_uri": f"bar-{seed}.mp4"}  # the metadata is kept


def test_migration_streams_progress_events_then_one_report(gateway):
    with Client(gateway.address) as client:
        index_library(client, range(6))

    async def events() -> list:
        async with AsyncClient(gateway.address) as client:
            return [event async for event in client.migrate(MigrateOptions(NEW))]

    *progress, report = asyncio.run(events())
    assert isinstance(report, MigrationReport) and (report.copied, report.switched) == (6, False)
    stages = [event.stage for event in progress]
    assert stages[0] == "list" and stages.count("copy") == 6 and stages[-1] == "compare"
    assert all(0.0 <= event.fraction <= 1.0 for event in progress)
    assert progress[stages.index("copy") + 5].detail == "6 of 6 videos"


def test_videos_indexed_from_frames_are_reported_not_reindexable_until_sent_again(gateway):
    frames = {f"frames/{seed}": moving_bar_frames(16, height=64, width=64, seed=300 + seed) for seed in range(2)}
    with Client(gateway.address) as client:
        index_library(client, range(4))
        assert all(item.ok for item in client.index_videos(IndexItem(video_id, video, frames_fps=8) for video_id, video in frames.items()).items)

        _, report = migrate(client, MigrateOptions(NEW, switch=True))
        assert (report.copied, report.not_reindexable, sorted(report.not_reindexable_ids)) == (4, 2, sorted(frames))
        assert not report.switched and any("not switched: 2 videos" in note for note in report.notes)
        assert client.serving().collection == report.source_collection

        # The client sends them again, to the new model; running the migration again resumes.
        assert all(item.ok for item in client.index_videos(IndexItem(video_id, video, frames_fps=8, model=NEW) for video_id, video in frames.items()).items)
        _, again = migrate(client, MigrateOptions(NEW, switch=True))
        assert (again.copied, again.up_to_date, again.not_reindexable, again.switched) == (0, 6, 0, True)


def test_rollback_restores_the_old_results_until_drop_old_makes_it_impossible(gateway):
    with Client(gateway.address) as client:
        index_library(client, range(8))
        before = client.search(QUERY, top_k=8)
        _, report = migrate(client, MigrateOptions(NEW, switch=True))
        assert client.search(QUERY).collection == report.target_collection

        state = client.rollback_serving()
        assert (state.collection, state.previous_collection, state.model.name) == (before.collection, report.target_collection, OLD)
        after = client.search(QUERY, top_k=8)
        assert (after.collection, [hit.video_id for hit in after.hits]) == (before.collection, [hit.video_id for hit in before.hits])

        assert client.switch_serving(NEW).collection == report.target_collection
        dropped = client.drop_previous()
        assert dropped.dropped_collection == before.collection and dropped.serving.previous_collection == ""
        with pytest.raises(JepaError) as refused:
            client.rollback_serving()
        assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION and refused.value.details.startswith("previous_collection:")
        assert client.index_stats(model=OLD).videos == 0
        assert client.search(QUERY).collection == report.target_collection


def test_recall_comparison_measures_each_side_that_has_a_text_model(gateway):
    with Client(gateway.address) as client:
        index_library(client, range(12))
        top = [hit.video_id for hit in client.search(QUERY, top_k=3).hits]
        queries = (ComparisonQuery(QUERY, tuple(top)), ComparisonQuery("a blue bar"))

        _, report = migrate(client, MigrateOptions(NEW, queries=queries, top_k=3))
        comparison = report.comparison
        assert comparison is not None and (comparison.top_k, comparison.labelled_queries, comparison.unlabelled_queries) == (3, 1, 1)
        assert comparison.source.measured and comparison.target.measured and comparison.source.text_model == "text_encoder"
        assert comparison.source.recall_at_k == 1.0  # its relevant ids are the source's own top 3
        assert comparison.target.recall_at_k == 1.0 and comparison.overlap_at_k == 1.0  # same weights, another collection

        _, other = migrate(client, MigrateOptions(OTHER, queries=queries))
        assert other.comparison is not None and other.comparison.source.measured and not other.comparison.target.measured
        assert any("no served text model" in note and "pooled-other" in note for note in other.comparison.notes)


def test_bad_migration_requests_get_a_status_naming_the_field(gateway):
    with Client(gateway.address) as client:
        index_library(client, range(2))
        expected = [
            (lambda: list(client.migrate(MigrateOptions("nope"))), grpc.StatusCode.NOT_FOUND, "to_model:"),
            (lambda: list(client.migrate(MigrateOptions(""))), grpc.StatusCode.INVALID_ARGUMENT, "to_model:"),
            (lambda: list(client.migrate(MigrateOptions(OLD))), grpc.StatusCode.INVALID_ARGUMENT, "to_model:"),
            (lambda: list(client.migrate(MigrateOptions(NEW, from_model="nope"))), grpc.StatusCode.NOT_FOUND, "from_model:"),
            (lambda: list(client.migrate(MigrateOptions(NEW, queries=(ComparisonQuery(" "),)))), grpc.StatusCode.INVALID_ARGUMENT, "queries[0].text:"),
            (lambda: list(client.migrate(MigrateOptions(NEW, queries=(ComparisonQuery("x"),) * 257))), grpc.StatusCode.RESOURCE_EXHAUSTED, "queries:"),
            (lambda: client.switch_serving("nope"), grpc.StatusCode.NOT_FOUND, "model:"),
            (lambda: client.switch_serving(OTHER), grpc.StatusCode.FAILED_PRECONDITION, "model:"),
            (lambda: client.rollback_serving(), grpc.StatusCode.FAILED_PRECONDITION, "previous_collection:"),
            (lambda: client.drop_previous(), grpc.StatusCode.FAILED_PRECONDITION, "previous_collection:"),
        ]
        for call, code, field in expected:
            with pytest.raises(JepaError) as refused:
                call()
            assert (refused.value.code, refused.value.details[: len(field)]) == (code, field), refused.value
        assert client.index_stats(model=NEW).videos == 0  # nothing started


def test_a_second_gateway_over_the_same_index_follows_a_switch_within_its_alias_ttl(
    migration_triton, migration_repository: Path, media_root: Path, milvus_standalone
):
    """Milvus Lite lets one process hold a file: the two gateways share a Milvus server."""
    shared = gateway_settings(migration_triton, migration_repository, media_root, milvus_standalone.new_database_uri(), alias_ttl_s=1.0)
    first, second = GatewayThread(shared).start(), GatewayThread(shared).start()
    try:
        with Client(first.address) as one, Client(second.address) as two:
            index_library(one, range(5))
            assert two.search(QUERY).collection == one.search(QUERY).collection
            _, report = migrate(one, MigrateOptions(NEW, switch=True))
            assert report.switched and one.search(QUERY).collection == report.target_collection
            deadline = time.monotonic() + shared.serving_alias_ttl_s + 2
            while two.search(QUERY).collection != report.target_collection:
                assert time.monotonic() < deadline, "the second gateway did not follow the switch"
            assert two.serving().previous_collection == report.source_collection
    finally:
        first.stop()
        second.stop()


def test_jepa_serve_migrate_runs_compares_switches_rolls_back_and_drops(gateway, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from jepa_server.cli import main

    with Client(gateway.address) as client:
        index_library(client, range(4))
    queries = tmp_path / "queries.jsonl"
    queries.write_text(f'{{"text": "{QUERY}", "relevant_ids": ["v/1"]}}\n{{"text": "a blue bar"}}\n')
    address = ["--address", gateway.address]

    assert main(["migrate", "--to", NEW, "--queries", str(queries), "-k", "2", "--switch", *address]) == 0
    out = capsys.readouterr()
    assert "[copy]" in out.err and "4 re-indexed, 0 already up to date" in out.out and "switched   yes" in out.out
    assert "recall@2" in out.out and "(1 labelled and 1 unlabelled queries)" in out.out

    assert main(["migrate", "--rollback", *address]) == 0
    assert f"(model {OLD} v1; alias jepa_serving)" in capsys.readouterr().out
    assert main(["migrate", "--switch-to", NEW, "--json", *address]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["name"] == NEW
    assert main(["migrate", "--drop-old", *address]) == 0
    assert "dropped    jepa_pooled_video_v1" in capsys.readouterr().out
    assert main(["migrate", "--rollback", *address]) == 1
    assert "FAILED_PRECONDITION: previous_collection:" in capsys.readouterr().err


def test_jepa_serve_migrate_refuses_options_of_another_action_before_any_call(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    from jepa_server.cli import main

    with pytest.raises(SystemExit) as usage:
        main(["migrate", "--rollback", "--switch", "--address", "127.0.0.1:1"])
    assert usage.value.code == 2 and "--switch: only with --to" in capsys.readouterr().err
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"relevant_ids": ["a"]}\n')
    with pytest.raises(SystemExit) as usage:
        main(["migrate", "--to", NEW, "--queries", str(queries), "--address", "127.0.0.1:1"])
    assert usage.value.code == 2 and "line 1" in capsys.readouterr().err
