"""Model migration without downtime: re-index the serving collection's videos into a new model's
collection from their stored source URIs while searches go on, mirror what changed meanwhile,
compare the two collections' recall, switch the serving alias (and back, until the old collection
is dropped). The report types are the SDK's (`jepa_client.migration`), which the front end
serialises."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field

from jepa_client.diagnosis import AnalysisProgress
from jepa_client.migration import (
    ComparisonQuery,
    DropPreviousResult,
    MigrateOptions,
    MigrationReport,
    RecallComparison,
    RecallSide,
    ServingState,
)
from jepa_client.results import ModelInfo as ModelRecord

from jepa_server.core.embedding import SamplingRequest
from jepa_server.core.progress import ProgressChannel
from jepa_server.core.registry import ModelInfo, TextModel, VideoModel
from jepa_server.core.retrieval import DEFAULT_TOP_K, SOURCE_URI_KEY, FailedItem, IndexedVideo, IndexItem, Retriever, TextQuery, check_video_id
from jepa_server.core.sources import MediaUri
from jepa_server.errors import FailedPrecondition, InvalidInput, LimitExceeded, NotFound
from jepa_server.index.milvus import CollectionSpec

MAX_LISTED = 1000  # ids of videos not re-indexable, and failures, listed in a report
COPY_BATCH = 512  # videos per indexing call: on Milvus Lite, one flush each
MAX_PASSES = 5  # the copy and its catch-up passes, at most (a source rewritten faster than copied)
# Share of the whole migration each stage ends at (progress).
_LISTED, _COPIED, _CAUGHT_UP, _COMPARED = 0.05, 0.8, 0.85, 0.95
_NO_PREVIOUS = "none to roll back to: searches were never switched, or the old collection was dropped (drop-old)"


@dataclass(frozen=True)
class PassPlan:
    """What one pass over the source finds to do in the target."""

    copy: list[str]  # absent from the target, or written again in the source since copied
    remove: list[str]  # in the target, gone from the source
    up_to_date: int


def plan_pass(source: dict[str, float], target: dict[str, float], skip: set[str], since: float | None = None) -> PassPlan:
    """`source` and `target`: video id -> when last written (NaN: unknown, only presence counts).
    Before the switch the target mirrors the source (`since` None). After it (`since` = when the
    last pass before it read the source) only what reached the source since is copied: the target
    serves, and a video absent from it may have been deleted there."""
    copy = [
        video_id for video_id, written in source.items()
        if video_id not in skip and (since is None or written >= since) and (video_id not in target or written > target[video_id])
    ]
    remove = [video_id for video_id in target if video_id not in source] if since is None else []
    return PassPlan(copy, remove, len(source) - len(copy) - len(skip & source.keys()))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _record(info: ModelInfo | None) -> ModelRecord:
    if info is None:
        return ModelRecord("", "", 0, "")
    return ModelRecord(info.name, info.version, info.dimension, info.embedding_space)


@dataclass
class _Tally:
    """What a migration did so far, across its passes."""

    copied: int = 0
    removed: int = 0
    passes: int = 0
    not_reindexable: list[str] = field(default_factory=list)
    failed: list[FailedItem] = field(default_factory=list)

    def skipped(self) -> set[str]:
        """Videos no further pass of this run tries again."""
        return {*self.not_reindexable, *(item.video_id for item in self.failed)}


@dataclass(frozen=True)
class Migration:
    """The report, and the failures with their errors (their status codes are the front end's)."""

    report: MigrationReport
    failed: list[FailedItem]


@dataclass(frozen=True)
class _Sides:
    source: VideoModel
    target: VideoModel

    @property
    def specs(self) -> tuple[CollectionSpec, CollectionSpec]:
        return Retriever.collection(self.source), Retriever.collection(self.target)


class Migrator:
    """Runs migrations (one at a time per gateway) and the switches of the serving alias."""

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever
        self.index = retriever.index
        self.serving = retriever.serving
        self.settings = retriever.settings
        self._running: str | None = None  # the target of the migration in progress

    # -- the serving collection
    def _default_collection(self) -> str:
        return self.retriever.collection(self.retriever.embedder.registry.video_model("")).name

    async def _serving_collection(self) -> str:
        return await self.serving.collection() or self._default_collection()

    async def state(self) -> ServingState:
        aliased = await self.serving.collection()
        collection = aliased or self._default_collection()
        previous = await self.serving.previous()
        writer = self.retriever.model_writing(collection)
        previous_writer = self.retriever.model_writing(previous) if previous else None
        return ServingState(
            model=_record(writer.info if writer else None), collection=collection, switched=aliased is not None,
            previous_collection=previous or "", previous_model=previous_writer.info.name if previous_writer else "", alias=self.serving.alias,
        )

    async def switch(self, model_name: str) -> ServingState:
        """Point calls that name no model at `model_name`'s collection; the one serving until now is
        kept for a rollback. Switching to the serving model changes nothing."""
        if not model_name:
            raise InvalidInput("model", "name the video model to switch to")
        target = self.retriever.collection(self.retriever.embedder.registry.video_model(model_name)).name
        current = await self._serving_collection()
        if target != current:
            if not await self.index.has_collection(target):
                raise FailedPrecondition("model", f"{model_name} has no collection yet ({target}): migrate to it first (jepa-serve migrate --to {model_name})")
            await self.serving.point(target, current if await self.index.has_collection(current) else None)
        return await self.state()

    async def rollback(self) -> ServingState:
        """Swap the serving and the previous collection."""
        previous = await self.serving.previous()
        if previous is None:
            raise FailedPrecondition("previous_collection", _NO_PREVIOUS)
        if self.retriever.model_writing(previous) is None:
            raise FailedPrecondition("previous_collection", f"{previous}: no served video model writes it; serve its model to roll back to it")
        await self.serving.point(previous, await self._serving_collection())
        return await self.state()

    async def drop_previous(self) -> DropPreviousResult:
        """Drop the collection a rollback would return to: no rollback after this."""
        previous = await self.serving.previous()
        if previous is None:
            raise FailedPrecondition("previous_collection", _NO_PREVIOUS.replace("roll back to", "drop"))
        if previous == await self._serving_collection():
            raise FailedPrecondition("previous_collection", f"{previous} is the serving collection")
        await self.serving.forget_previous()
        await self.index.drop_collection(previous)
        return DropPreviousResult(previous, await self.state())

    # -- migrating
    async def _sides(self, options: MigrateOptions) -> _Sides:
        if not options.to_model:
            raise InvalidInput("to_model", "name the video model to migrate to")
        try:
            target = self.retriever.embedder.registry.video_model(options.to_model)
        except (NotFound, InvalidInput) as error:
            raise error.with_field("to_model") from error
        try:
            source = await self.retriever.video_model(options.from_model)
        except (NotFound, InvalidInput) as error:
            raise error.with_field("from_model") from error
        if options.from_model and source is target:
            raise InvalidInput("from_model", f"{options.from_model} is also to_model")
        if self.retriever.collection(target).name == await self._serving_collection():
            raise InvalidInput("to_model", f"{options.to_model} is the serving model already: migrate to another one, or roll back (jepa-serve migrate --rollback)")
        return _Sides(source, target)

    def _check_queries(self, queries: Sequence[ComparisonQuery], top_k: int) -> None:
        if len(queries) > self.settings.max_texts:
            raise LimitExceeded("queries", f"got {len(queries)}, the limit is {self.settings.max_texts} (max_texts)")
        if top_k > self.settings.max_top_k:
            raise LimitExceeded("top_k", f"got {top_k}, the limit is {self.settings.max_top_k}")
        for position, query in enumerate(queries):
            if not query.text.strip():
                raise InvalidInput(f"queries[{position}].text", "empty text")
            for index, video_id in enumerate(query.relevant_ids):
                check_video_id(video_id, f"queries[{position}].relevant_ids[{index}]")

    def migrate(self, options: MigrateOptions, timeout_s: float | None = None) -> AsyncIterator[AnalysisProgress | Migration]:
        """Progress, then the migration's outcome. Checks the request before the first event."""
        self._check_queries(options.queries, options.top_k)
        channel = ProgressChannel()
        return channel.run(self._run_alone(options, channel, timeout_s))

    async def _run_alone(self, options: MigrateOptions, channel: ProgressChannel, timeout_s: float | None) -> Migration:
        sides = await self._sides(options)
        if self._running is not None:
            raise FailedPrecondition("to_model", f"a migration to {self._running} is running on this gateway; wait for its report")
        self._running = options.to_model
        try:
            return await self._run(sides, options, channel, timeout_s)
        finally:
            self._running = None

    async def _run(self, sides: _Sides, options: MigrateOptions, channel: ProgressChannel, timeout_s: float | None) -> Migration:
        started = time.perf_counter()
        source_spec, target_spec = sides.specs
        tally = _Tally()
        up_to_date = source_videos = 0
        read_at = time.time()
        # The copy, then catch-up passes until one finds nothing to do (videos indexed, written again
        # or deleted in the source meanwhile).
        while tally.passes < MAX_PASSES:
            first = tally.passes == 0
            channel.report("list" if first else "catch-up", 0.0 if first else _COPIED, f"listing {source_spec.name} and {target_spec.name}")
            read_at = time.time()
            source = await self.index.video_versions(source_spec)
            plan = plan_pass(source, await self.index.video_versions(target_spec), tally.skipped())
            source_videos = len(source)
            if first:
                up_to_date = plan.up_to_date
            elif not plan.copy and not plan.remove:
                break
            span = (_LISTED, _COPIED) if first else (_COPIED, _CAUGHT_UP)
            await self._copy(sides, plan.copy, tally, channel, "copy" if first else "catch-up", span, timeout_s)
            await self._remove(target_spec, plan.remove, tally)
            tally.passes += 1
        notes = [] if tally.passes < MAX_PASSES else [f"the source still changed after {MAX_PASSES} passes: run the migration again"]
        channel.report("compare", _CAUGHT_UP, f"{len(options.queries)} queries")
        comparison = await self._compare(sides, options.queries, options.top_k or DEFAULT_TOP_K, timeout_s) if options.queries else None
        switched = False
        if options.switch:
            left_behind = len(tally.failed) + len(tally.not_reindexable)
            if left_behind or tally.passes >= MAX_PASSES:
                notes.append(f"not switched: {left_behind} videos did not make it to the target; index them there and run again, "
                             f"or switch anyway (jepa-serve migrate --switch-to {options.to_model})")
            else:
                channel.report("switch", _COMPARED, f"searches to {target_spec.name}")
                await self.switch(options.to_model)
                switched = True
                await self._settle(sides, read_at, tally, channel, timeout_s)
        notes.append("videos were re-indexed with the server's default sampling for the new model (window_stride and frame rate of the "
                     "original indexing are not stored)")
        report = MigrationReport(
            source_model=_record(sides.source.info), source_collection=source_spec.name, target_model=_record(sides.target.info),
            target_collection=target_spec.name, source_videos=source_videos, copied=tally.copied, up_to_date=up_to_date, removed=tally.removed,
            not_reindexable=len(tally.not_reindexable), not_reindexable_ids=tuple(tally.not_reindexable[:MAX_LISTED]),
            failures=len(tally.failed), failed=(), passes=tally.passes, comparison=comparison, switched=switched, serving=await self.state(),
            seconds=time.perf_counter() - started, notes=tuple(notes),
        )
        return Migration(report, tally.failed[:MAX_LISTED])

    async def _settle(self, sides: _Sides, since: float, tally: _Tally, channel: ProgressChannel, timeout_s: float | None) -> None:
        """After the switch: once every gateway follows it and the writes in flight have landed,
        copy what still reached the old collection since the last pass read it."""
        channel.report("settle", _COMPARED, f"waiting {self.settings.switch_settle_s:g} s for every gateway to follow the switch")
        await asyncio.sleep(self.settings.switch_settle_s)
        source_spec, target_spec = sides.specs
        plan = plan_pass(await self.index.video_versions(source_spec), await self.index.video_versions(target_spec), tally.skipped(), since)
        await self._copy(sides, plan.copy, tally, channel, "settle", (_COMPARED, 1.0), timeout_s)

    async def _copy(
        self, sides: _Sides, video_ids: list[str], tally: _Tally, channel: ProgressChannel, stage: str, span: tuple[float, float],
        timeout_s: float | None,
    ) -> None:
        """Re-index the videos into the target from their source URIs, with their metadata."""
        source_spec = Retriever.collection(sides.source)
        done = 0
        every = max(1, len(video_ids) // 200)

        def finished(outcome: IndexedVideo | FailedItem) -> None:
            nonlocal done
            done += 1
            if isinstance(outcome, FailedItem):
                tally.failed.append(outcome)
            else:
                tally.copied += 1
            if done % every == 0 or done == len(video_ids):
                channel.report(stage, span[0] + (span[1] - span[0]) * done / len(video_ids), f"{done:,} of {len(video_ids):,} videos")

        batch_size = min(COPY_BATCH, self.settings.max_index_items)
        for start in range(0, len(video_ids), batch_size):
            batch = video_ids[start : start + batch_size]
            metadata = await self.index.video_metadata(source_spec, batch)
            items = []
            for video_id in batch:
                fields = metadata.get(video_id)
                if fields is None:  # deleted since the listing: the next pass sees it gone
                    done += 1
                elif not isinstance(uri := fields.get(SOURCE_URI_KEY), str):
                    done += 1
                    tally.not_reindexable.append(video_id)
                else:
                    items.append(IndexItem(video_id, MediaUri(uri), SamplingRequest(), fields, model=sides.target.info.name))
            await self.retriever.index_videos(_each(items), timeout_s, finished)

    async def _remove(self, target_spec: CollectionSpec, video_ids: list[str], tally: _Tally) -> None:
        for start in range(0, len(video_ids), self.settings.max_ids):
            deleted, _ = await self.index.delete_videos(target_spec, video_ids[start : start + self.settings.max_ids])
            tally.removed += len(deleted)

    # -- comparing
    def _text_model_for(self, spec: CollectionSpec) -> TextModel | None:
        """A served text model of the collection's space (the default one first)."""
        registry = self.retriever.embedder.registry
        models = sorted(registry.text.values(), key=lambda model: model.info.name != registry.default_text)
        return next((model for model in models if model.info.embedding_space == spec.embedding_space and model.dimension == spec.dimension), None)

    async def _top(self, model: VideoModel, text_model: TextModel, queries: Iterable[ComparisonQuery], top_k: int, timeout_s: float | None) -> list[list[str]]:
        results = []
        for query in queries:
            found = await self.retriever.search(TextQuery(query.text, text_model.info.name), top_k, model_name=model.info.name, timeout_s=timeout_s)
            results.append([hit.video_id for hit in found.hits])
        return results

    async def _compare(self, sides: _Sides, queries: Sequence[ComparisonQuery], top_k: int, timeout_s: float | None) -> RecallComparison:
        """recall@k of each collection on the labelled queries; overlap@k of their lists on all."""
        labelled = [query for query in queries if query.relevant_ids]
        notes: list[str] = []
        results: list[list[list[str]] | None] = []
        recall_sides = []
        for role, model in (("source", sides.source), ("target", sides.target)):
            spec = Retriever.collection(model)
            text_model = self._text_model_for(spec)
            if text_model is None:
                notes.append(f"{role} {spec.name}: no served text model embeds into its space {spec.embedding_space!r} ({spec.dimension}-d); not measured")
                results.append(None)
                recall_sides.append(RecallSide(_record(model.info), spec.name, "", False, 0.0))
                continue
            top = await self._top(model, text_model, queries, top_k, timeout_s)
            results.append(top)
            recalls = [len(set(found) & set(query.relevant_ids)) / len(set(query.relevant_ids)) for query, found in zip(queries, top) if query.relevant_ids]
            recall_sides.append(RecallSide(_record(model.info), spec.name, text_model.info.name, True, _mean(recalls)))
        source_top, target_top = results
        overlap = 0.0
        if source_top is not None and target_top is not None:
            overlap = _mean([len(set(a) & set(b)) / max(len(a), len(b), 1) for a, b in zip(source_top, target_top)])
        if not labelled:
            notes.append("no labelled queries: recall not measured, only the overlap of the two result lists")
        return RecallComparison(
            top_k=top_k, labelled_queries=len(labelled), unlabelled_queries=len(queries) - len(labelled), source=recall_sides[0],
            target=recall_sides[1], overlap_at_k=overlap, notes=tuple(notes),
        )


async def _each(items: list[IndexItem]) -> AsyncIterator[IndexItem]:
    for item in items:
        yield item

