"""AnalyzeIndex: reads a collection's windows (bounded: a uniform sample past `max_rows`), measures
their space (`space`), captions its clusters and coverage gaps with the model's decoder, and
reports progress all along. The report types are the SDK's (`jepa_client.diagnosis`), the one
Python shape of the jepa.v1 messages, which both front ends serialise."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np
from jepa_client.diagnosis import (
    AnalysisProgress,
    AnalyzeOptions,
    Cluster,
    ClusterShare,
    Drift,
    DuplicateGroup,
    IndexDiagnosis,
    MapPoint,
    NeighbourDistances,
    OutlierVideo,
    OutlierWindow,
    QueryCoverage,
    QueryGap,
    Spectrum,
    TimeRange,
    WindowRef,
)
from jepa_client.results import ModelInfo as ModelRecord

from jepa_server.core.describe import CaptionDecoder
from jepa_server.core.progress import ProgressChannel
from jepa_server.core.diagnostics import space
from jepa_server.core.diagnostics.queries import SampledQuery
from jepa_server.core.registry import ModelInfo, VideoModel
from jepa_server.core.retrieval import SOURCE_URI_KEY, Retriever
from jepa_server.core.sources import media_file
from jepa_server.errors import GatewayError, InvalidInput, LimitExceeded
from jepa_server.index.milvus import CollectionSpec, ScannedWindows, row_filter
from jepa_server.media.thumbnail import thumbnail_png

DEFAULT_DUPLICATE_THRESHOLD = 0.97
DEFAULT_OUTLIER_NEIGHBOURS = 20
DEFAULT_TOP_OUTLIERS = 20
DEFAULT_MAP_POINTS = 2000
MAX_LISTED = 1000  # top_outliers at most
MAX_MAP_POINTS = 10_000
MAX_NEIGHBOURS = 1000  # outlier_neighbours and min_cluster_size at most
MAX_CAPTIONS = 100  # clusters and gaps captioned at most, largest first
MAX_THUMBNAILS = 64
_HISTOGRAM_BINS = 20
_QUANTILES = (0, 5, 25, 50, 75, 95, 100)
# Share of the whole analysis each stage ends at (progress).
_READ_DONE, _MEASURED, _CAPTIONED = 0.35, 0.85, 0.95


@dataclass(frozen=True, eq=False)
class DriftFinding:
    test: space.DriftTest
    reference_rows: int
    current_rows: int
    shares: list[ClusterShare]  # largest change first


@dataclass(frozen=True, eq=False)
class Geometry:
    """What the numbers say, before captions and thumbnails."""

    raw: np.ndarray  # unit vectors as stored
    videos: space.VideoWindows
    spectrum: space.SpectrumSummary
    nearest_distance: np.ndarray
    duplicates: list[tuple[list[int], float]]
    window_scores: np.ndarray
    video_scores: np.ndarray
    clusters: space.Clusters
    gaps: space.CoverageGaps | None
    drift: DriftFinding | None
    map_rows: np.ndarray
    map_xy: np.ndarray


@dataclass(frozen=True)
class _Checked:
    max_rows: int
    duplicate_threshold: float
    outlier_neighbours: int
    min_cluster_size: int  # 0 = by the rows read
    top_outliers: int
    map_points: int
    seed: int
    drift: tuple[TimeRange, TimeRange] | None


def _time_mask(indexed_at: np.ndarray, window: TimeRange, now: float) -> np.ndarray:
    return (indexed_at >= window.start_unix_s) & (indexed_at < (window.end_unix_s or now))


class IndexAnalyzer:
    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever
        self.settings = retriever.settings

    def _checked(self, options: AnalyzeOptions) -> _Checked:
        ceiling = self.settings.diagnostics_max_rows
        if options.max_rows > ceiling:
            raise LimitExceeded("max_rows", f"got {options.max_rows}, this server analyses at most {ceiling} rows (diagnostics_max_rows)")
        if not 0.0 <= options.duplicate_threshold <= 1.0:
            raise InvalidInput("duplicate_threshold", f"got {options.duplicate_threshold}, need a cosine similarity in [0, 1]")
        if not -1.0 <= options.gap_threshold <= 1.0:
            raise InvalidInput("gap_threshold", f"got {options.gap_threshold}, need a cosine similarity in [-1, 1]")
        for name, value, limit in (("top_outliers", options.top_outliers, MAX_LISTED), ("map_points", options.map_points, MAX_MAP_POINTS)):
            if value > limit:
                raise LimitExceeded(name, f"got {value}, the limit is {limit}")
        for name, value in (("outlier_neighbours", options.outlier_neighbours), ("min_cluster_size", options.min_cluster_size)):
            if value > MAX_NEIGHBOURS:
                raise LimitExceeded(name, f"got {value}, the limit is {MAX_NEIGHBOURS}")
        if options.drift is not None:
            for name, window in zip(("drift_reference", "drift_current"), options.drift):
                if window.end_unix_s and window.end_unix_s <= window.start_unix_s:
                    raise InvalidInput(name, f"end {window.end_unix_s} is not after start {window.start_unix_s}")
        return _Checked(
            max_rows=options.max_rows or ceiling,
            duplicate_threshold=options.duplicate_threshold or DEFAULT_DUPLICATE_THRESHOLD,
            outlier_neighbours=options.outlier_neighbours or DEFAULT_OUTLIER_NEIGHBOURS,
            min_cluster_size=options.min_cluster_size,
            top_outliers=options.top_outliers or DEFAULT_TOP_OUTLIERS,
            map_points=options.map_points or DEFAULT_MAP_POINTS,
            seed=options.seed,
            drift=options.drift,
        )

    def analyze(
        self, options: AnalyzeOptions, timeout_s: float | None = None, thumbnails: bool = True
    ) -> AsyncIterator[AnalysisProgress | IndexDiagnosis]:
        """Progress, then the diagnosis. Checks the request before the first event. `thumbnails`
        False skips reading the source files (the drift watch, which only sets metrics)."""
        checked = self._checked(options)
        expression = row_filter(options.filter, self.settings.max_filter_chars)
        channel = ProgressChannel()
        return channel.run(self._diagnose(options, checked, expression, channel, timeout_s, thumbnails))

    async def _diagnose(
        self, options: AnalyzeOptions, checked: _Checked, expression: str, channel: ProgressChannel, timeout_s: float | None, with_thumbnails: bool,
    ) -> IndexDiagnosis:
        started = time.perf_counter()
        model = await self.retriever.video_model(options.model)  # "" = the serving one; an unknown model fails before any event
        spec = self.retriever.collection(model)
        channel.report("read", 0.0, f"counting rows of {spec.name}")

        def read_progress(read: int, total: int) -> None:
            channel.report("read", _READ_DONE * read / max(total, 1), f"{read:,} of {total:,} rows")

        scanned = await self.retriever.index.scan(spec, expression, checked.max_rows, checked.seed, read_progress)
        notes = self._scan_notes(scanned, checked)
        queries = self.retriever.queries.of(spec.name)
        geometry = await asyncio.to_thread(self._measure, scanned, queries, checked, options.gap_threshold, channel)
        captions, caption_notes = await self._captions(model, geometry, scanned, queries, options.captions, channel, timeout_s)
        thumbnails: dict[str, bytes] = {}
        if with_thumbnails:
            channel.report("thumbnails", _CAPTIONED, "reading frames of duplicates and outliers")
            thumbnails = await self._thumbnails(spec, geometry, checked.top_outliers)
        self._publish(spec.name, geometry)
        diagnosis = _assemble(
            model.info, spec, scanned, geometry, queries, captions, thumbnails, checked, options.gap_threshold, notes + caption_notes
        )
        return dataclasses.replace(diagnosis, seconds=time.perf_counter() - started)

    @staticmethod
    def _scan_notes(scanned: ScannedWindows, checked: _Checked) -> list[str]:
        notes = []
        if scanned.sampled:
            notes.append(
                f"sampled {len(scanned.video_ids):,} of {scanned.total_rows:,} rows uniformly (max_rows): counts are of the sample, "
                "and videos with unsampled windows are not compared as duplicates"
            )
        if checked.drift is not None and not scanned.has_timestamps:
            notes.append("no drift: this collection was created before rows carried their ingestion time; re-index it to get them")
        return notes

    def _measure(self, scanned: ScannedWindows, queries: list[SampledQuery], checked: _Checked, gap_threshold: float, channel: ProgressChannel) -> Geometry:
        rows = len(scanned.video_ids)
        raw = space.unit(scanned.vectors)
        analysed = space.centred(raw, raw.mean(axis=0)) if rows else raw
        channel.report("spectrum", _READ_DONE, f"{rows:,} rows")
        spectrum = space.spectrum(raw) if rows else space.SpectrumSummary(scanned.vectors.shape[1], 0.0, np.zeros(0), 0)
        channel.report("neighbours", _READ_DONE + 0.05, f"{checked.outlier_neighbours} nearest neighbours of {rows:,} windows")
        neighbours = space.nearest_neighbours(analysed, max(checked.outlier_neighbours, 10))
        videos = space.VideoWindows.group(scanned.video_ids, scanned.window_index)
        channel.report("duplicates", _READ_DONE + 0.2, f"{len(videos.names):,} videos")
        duplicates = space.duplicate_groups(videos, scanned.window_index, analysed, neighbours, checked.duplicate_threshold)
        window_scores = space.outlier_scores(neighbours, checked.outlier_neighbours)
        video_scores = np.array([window_scores[rows_of].mean() for rows_of in videos.rows], dtype=np.float32)
        channel.report("clusters", _READ_DONE + 0.25, "HDBSCAN")
        clusters = space.clusters(analysed, checked.min_cluster_size or space.default_min_cluster_size(rows), checked.seed)
        gaps = None
        if queries and rows:
            channel.report("coverage", _READ_DONE + 0.3, f"{len(queries)} sampled queries")
            gaps = space.coverage_gaps(space.unit(np.stack([query.embedding for query in queries])), raw, gap_threshold)
        drift = None
        if checked.drift is not None and scanned.has_timestamps:
            channel.report("drift", _READ_DONE + 0.32, "kernel two-sample test")
            now = time.time()
            reference, current = (_time_mask(scanned.indexed_at, window, now) for window in checked.drift)
            if reference.sum() >= 2 and current.sum() >= 2:
                test = space.drift_test(analysed[reference], analysed[current], checked.seed)
                drift = DriftFinding(test, int(reference.sum()), int(current.sum()), _shares(clusters.labels, reference, current))
        channel.report("map", _READ_DONE + 0.38, "t-SNE")
        map_rows = self._map_rows(window_scores, checked)
        return Geometry(
            raw=raw, videos=videos, spectrum=spectrum, nearest_distance=1.0 - neighbours.similarities[:, 0] if neighbours.similarities.size else np.zeros(0),
            duplicates=duplicates, window_scores=window_scores, video_scores=video_scores, clusters=clusters, gaps=gaps, drift=drift,
            map_rows=map_rows, map_xy=space.map_2d(analysed[map_rows], checked.seed),
        )

    @staticmethod
    def _map_rows(window_scores: np.ndarray, checked: _Checked) -> np.ndarray:
        """The top outliers always, then a uniform sample up to `map_points`."""
        rows = len(window_scores)
        worst = np.argsort(-window_scores)[: min(checked.top_outliers, rows)]
        rest = np.setdiff1d(np.arange(rows), worst)
        room = max(0, min(checked.map_points, rows) - len(worst))
        sample = np.random.default_rng(checked.seed).choice(rest, size=min(room, len(rest)), replace=False)
        return np.sort(np.concatenate([worst, sample]).astype(np.int64))

    async def _captions(
        self, model: VideoModel, geometry: Geometry, scanned: ScannedWindows, queries: list[SampledQuery], wanted: bool, channel: ProgressChannel, timeout_s: float | None
    ) -> tuple[dict[tuple[str, int], tuple[str, float]], list[str]]:
        """(("cluster" | "gap", number) -> (caption, confidence)), and a note when there are none."""
        if not wanted:
            return {}, []
        registry = self.retriever.embedder.registry
        try:
            decoder = CaptionDecoder(self.retriever.embedder.backend, registry.decoder_for(model), self.retriever.embedder)
        except GatewayError:
            return {}, [f"no captions: no decoder serves the embedding space of {model.info.name}"]
        targets: list[tuple[tuple[str, int], np.ndarray]] = []
        sizes = np.bincount(geometry.clusters.labels[geometry.clusters.labels >= 0], minlength=len(geometry.clusters.centroids))
        for cluster in np.argsort(-sizes)[:MAX_CAPTIONS]:
            targets.append((("cluster", int(cluster)), scanned.vectors[geometry.clusters.labels == cluster].mean(axis=0)))
        for number, region in enumerate((geometry.gaps.regions if geometry.gaps else [])[:MAX_CAPTIONS]):
            targets.append((("gap", number), np.stack([queries[index].embedding for index in region]).mean(axis=0)))
        captions = {}
        for done, (key, embedding) in enumerate(targets):
            channel.report("captions", _MEASURED + (_CAPTIONED - _MEASURED) * done / len(targets), f"{done} of {len(targets)}")
            text, confidence, _ = await decoder.caption(embedding.astype(np.float32), 0, timeout_s)
            captions[key] = (text, confidence)
        return captions, []

    async def _thumbnails(self, spec: CollectionSpec, geometry: Geometry, top_outliers: int) -> dict[str, bytes]:
        """A frame of each duplicate and top outlier video whose source file the gateway can read."""
        names = geometry.videos.names
        wanted = [names[video] for group, _ in geometry.duplicates for video in group]
        wanted += [names[video] for video in np.argsort(-geometry.video_scores)[:top_outliers]]
        wanted = list(dict.fromkeys(wanted))[:MAX_THUMBNAILS]
        roots = self.settings.media_roots
        if not wanted or not roots:
            return {}
        sources = await self.retriever.index.source_uris(spec, wanted, SOURCE_URI_KEY)
        thumbnails = {}
        for video_id, uri in sources.items():
            try:
                thumbnails[video_id] = await asyncio.to_thread(thumbnail_png, media_file(uri, roots, "metadata.source_uri"))
            except (GatewayError, OSError, ValueError):
                continue  # moved or unreadable since it was indexed: the report goes without its frame
        return thumbnails

    def _publish(self, collection: str, geometry: Geometry) -> None:
        metrics = self.retriever.metrics
        metrics.index_effective_rank.labels(collection).set(geometry.spectrum.effective_rank)
        metrics.index_duplicate_groups.labels(collection).set(len(geometry.duplicates))
        if geometry.drift is not None:
            drift = geometry.drift
            metrics.index_drift_mmd.labels(collection).set(drift.test.mmd)
            metrics.index_drift_p_value.labels(collection).set(drift.test.p_value)
            largest_change = max((abs(share.current_share - share.reference_share) for share in drift.shares), default=0.0)
            metrics.index_drift_share_change.labels(collection).set(largest_change)

    async def check_drift(self, model_name: str, window_s: float) -> None:
        """The drift watch: rows of the last `window_s` against all before (metrics only)."""
        now = time.time()
        options = AnalyzeOptions(model=model_name, captions=False, map_points=10, drift=(TimeRange(0.0, now - window_s), TimeRange(now - window_s, 0.0)))
        async for _ in self.analyze(options, thumbnails=False):
            pass


def _shares(labels: np.ndarray, reference: np.ndarray, current: np.ndarray) -> list[ClusterShare]:
    ids = np.unique(labels)
    shares = [ClusterShare(int(cluster), float(np.mean(labels[reference] == cluster)), float(np.mean(labels[current] == cluster))) for cluster in ids]
    return sorted(shares, key=lambda share: -abs(share.current_share - share.reference_share))


def _by_ingestion(group: list[int], videos: space.VideoWindows, indexed_at: np.ndarray) -> list[int]:
    """The videos of a duplicate group, the first indexed first (by id without timestamps): the original."""
    def first_written(video: int) -> float:
        times = indexed_at[videos.rows[video]]
        return float(times.min()) if not np.isnan(times).all() else 0.0

    return sorted(group, key=lambda video: (first_written(video), videos.names[video]))


def _histogram(values: np.ndarray) -> tuple[tuple[float, ...], tuple[int, ...]]:
    if not len(values):
        return (), ()
    counts, edges = np.histogram(values, bins=_HISTOGRAM_BINS)
    return tuple(float(edge) for edge in edges), tuple(int(count) for count in counts)


def _assemble(
    model: ModelInfo, spec: CollectionSpec, scanned: ScannedWindows, geometry: Geometry, queries: list[SampledQuery],
    captions: dict[tuple[str, int], tuple[str, float]], thumbnails: dict[str, bytes], checked: _Checked, gap_threshold: float, notes: list[str],
) -> IndexDiagnosis:
    names = geometry.videos.names
    labels = geometry.clusters.labels
    edges, counts = _histogram(geometry.nearest_distance)
    worst_windows = np.argsort(-geometry.window_scores)[: checked.top_outliers]
    worst_videos = np.argsort(-geometry.video_scores)[: checked.top_outliers]
    outlier_rows = set(worst_windows.tolist())
    clusters = []
    for cluster in range(len(geometry.clusters.centroids)):
        members = np.flatnonzero(labels == cluster)
        member_videos = list(dict.fromkeys(scanned.video_ids[row] for row in members))
        caption, confidence = captions.get(("cluster", cluster), ("", 0.0))
        clusters.append(Cluster(
            id=cluster, windows=len(members), videos=len(member_videos), caption=caption, caption_confidence=confidence,
            radius=float(geometry.clusters.radii[cluster]), example_video_ids=tuple(member_videos[:5]),
        ))
    coverage = QueryCoverage(queries_sampled=len(queries), threshold=0.0, gaps=(), queries_covered=0)
    if geometry.gaps is not None:
        gaps = geometry.gaps
        regions = []
        for number, region in enumerate(gaps.regions):
            centre = space.unit(np.stack([queries[index].embedding for index in region]).mean(axis=0, keepdims=True))[0]
            nearest = int(np.argmax(geometry.clusters.centroids @ centre)) if len(geometry.clusters.centroids) else -1
            regions.append(QueryGap(
                queries=tuple(dict.fromkeys(queries[index].text for index in region)), best_score=float(gaps.best_scores[region].max()),
                nearest_cluster=nearest, caption=captions.get(("gap", number), ("", 0.0))[0],
            ))
        coverage = QueryCoverage(
            queries_sampled=len(queries), threshold=gaps.threshold, gaps=tuple(regions), queries_covered=int(np.sum(gaps.best_scores >= gaps.threshold)),
        )
    drift = None
    if geometry.drift is not None and checked.drift is not None:
        found = geometry.drift
        drift = Drift(
            reference=checked.drift[0], current=checked.drift[1], reference_rows=found.reference_rows, current_rows=found.current_rows,
            mmd=found.test.mmd, p_value=found.test.p_value, permutations=found.test.permutations, drifted=found.test.p_value < space.DRIFT_ALPHA,
            shares=tuple(found.shares),
        )
    return IndexDiagnosis(
        model=ModelRecord(model.name, model.version, model.dimension, model.embedding_space), collection=spec.name,
        rows_total=scanned.total_rows, rows_analyzed=len(scanned.video_ids), sampled=scanned.sampled, videos_analyzed=len(names),
        spectrum=Spectrum(
            dimension=geometry.spectrum.dimension, effective_rank=geometry.spectrum.effective_rank,
            explained_variance=tuple(float(share) for share in geometry.spectrum.explained_variance),
            dimensions_for_90_percent=geometry.spectrum.dimensions_for_90_percent,
        ),
        nearest_neighbours=NeighbourDistances(
            quantiles=tuple(float(value) for value in np.percentile(geometry.nearest_distance, _QUANTILES)) if len(geometry.nearest_distance) else (),
            histogram_edges=edges, histogram_counts=counts,
        ),
        duplicate_threshold=checked.duplicate_threshold,
        duplicates=tuple(
            DuplicateGroup(
                video_ids=tuple(names[video] for video in group), similarity=similarity,
                thumbnails_png=tuple(thumbnails[names[video]] for video in group) if all(names[video] in thumbnails for video in group) else (),
            )
            for group, similarity in ((_by_ingestion(group, geometry.videos, scanned.indexed_at), similarity) for group, similarity in geometry.duplicates)
        ),
        outlier_neighbours=checked.outlier_neighbours,
        outlier_windows=tuple(
            OutlierWindow(
                window=WindowRef(scanned.video_ids[row], int(scanned.window_index[row]), float(scanned.start_seconds[row]), float(scanned.end_seconds[row])),
                score=float(geometry.window_scores[row]),
            )
            for row in worst_windows
        ),
        outlier_videos=tuple(
            OutlierVideo(
                video_id=names[video], score=float(geometry.video_scores[video]), windows=len(geometry.videos.rows[video]),
                thumbnail_png=thumbnails.get(names[video], b""),
            )
            for video in worst_videos
        ),
        clusters=tuple(clusters),
        unclustered_windows=int(np.sum(labels < 0)),
        coverage=coverage,
        drift=drift,
        map=tuple(
            MapPoint(float(x), float(y), int(labels[row]), row in outlier_rows, scanned.video_ids[row], int(scanned.window_index[row]))
            for row, (x, y) in zip(geometry.map_rows.tolist(), geometry.map_xy)
        ),
        seconds=0.0,
        notes=tuple(notes),
    )

