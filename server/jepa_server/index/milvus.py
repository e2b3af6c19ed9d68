"""Milvus adapter: one collection of video windows per video model and embedding space.

`pymilvus.MilvusClient(uri)`: a path ending in `.db` is a Milvus Lite file (run inside this
process), `http(s)://host:port[/database]` a Milvus standalone or cluster (the database, created on
first use, keeps deployments or tenants apart on one server); the calls are the same. pymilvus is
synchronous and Milvus Lite lets one process hold a file, so the gateway keeps one client and runs
every call on one dedicated thread. That thread also orders the writes: re-indexing a video is an
upsert of its windows and a delete of the keys it no longer has, with nothing in between.

Consistency: reads are Session-consistent (READ_CONSISTENCY): a gateway reads its own writes.

Durability: an insert returns once Milvus logged it (Milvus Lite writes its WAL through to the OS
before answering; a server acknowledges once its log broker has the write), so an acknowledged row
survives the gateway being killed; no per-write flush (which seals tiny segments) is needed.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import re
import threading
import time
import traceback
import urllib.parse
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel
from pymilvus import DataType, MilvusClient, MilvusException
from pymilvus.orm.iterator import QueryIterator

from jepa_server.errors import BackendUnavailable, InvalidInput
from jepa_server.index.filters import FieldKind, parse_filter, string_literal

ResultT = TypeVar("ResultT")

MAX_VIDEO_ID_CHARS = 1024
_VIDEO_ID_BYTES = MAX_VIDEO_ID_CHARS * 4  # Milvus counts VARCHAR lengths in UTF-8 bytes
JSON_FIELD = "metadata"
# When the row was written (Unix seconds): drift compares the rows of two ingestion time ranges.
# Collections created before it existed lack it; their rows are written and read without it.
INGESTED_FIELD = "indexed_at"
# The scalar fields of a row that filters may use, and what they hold.
FILTER_FIELDS = {
    "video_id": FieldKind.STRING,
    "window_index": FieldKind.INTEGER,
    "start_seconds": FieldKind.NUMBER,
    "end_seconds": FieldKind.NUMBER,
    INGESTED_FIELD: FieldKind.NUMBER,
}
_OUTPUT_FIELDS = ["video_id", "window_index", "start_seconds", "end_seconds", JSON_FIELD]
_NAME_UNSAFE = re.compile(r"[^0-9A-Za-z_]")
_DATABASE_NAME = re.compile(r"[A-Za-z_][0-9A-Za-z_]{0,254}")
_SERVER_SCHEMES = ("http://", "https://", "tcp://")
_MAX_QUERY_ROWS = 16384
_SCAN_BATCH = 2048
_MAX_DELETE_KEYS = 2048
_MAX_INSERT_ROWS = 4096  # rows of one insert call: ~7 MB at 384-d, well under gRPC's 64 MB
# Reads see this gateway's own acknowledged writes (Session), and another gateway's within a time
# tick (200 ms by default). Strong, the collections' level, makes every read on a Milvus server
# wait for the next time tick.
READ_CONSISTENCY = "Session"
_COLLECTION_NOT_LOADED = 101  # Milvus error code: "collection ... is in state 'released'"
# Build parameters Milvus needs for each index type when the settings give none (Milvus 2.3 has no
# defaults for HNSW); search parameters likewise (HNSW's ef is raised to the limit per search).
_DEFAULT_BUILD = {"HNSW": {"M": 16, "efConstruction": 200}}
_DEFAULT_SEARCH = {"HNSW": {"ef": 64}, "IVF_FLAT": {"nprobe": 32}}


def ivf_lists(rows: int) -> int:
    """IVF_FLAT's nlist for `rows` rows: 4·√rows, Milvus' rule of thumb."""
    return max(16, int(4 * rows**0.5))


class _LiteUnimplementedTimestamp(logging.Filter):
    """pymilvus asks Milvus Lite's in-process gRPC server for AllocTimestamp, which Lite does not
    implement; pymilvus goes on without it, but the gRPC server logs an error with a traceback
    each time. Drops exactly those records."""

    def filter(self, record: logging.LogRecord) -> bool:
        trace = record.exc_info[2] if record.exc_info else None
        return trace is None or traceback.extract_tb(trace)[-1].name != "AllocTimestamp"


_LITE_NOISE = _LiteUnimplementedTimestamp()
log = logging.getLogger("jepa_server.index")


def _lite_iterator_timestamp(record: logging.LogRecord) -> bool:
    """Milvus Lite has no MVCC timestamp for a query iterator; pymilvus warns on each scan and
    takes the client's time, which on one process is the same thing."""
    return "failed to get mvccTs" not in record.getMessage()


def server_address(uri: str) -> tuple[str, str]:
    """(the server's URI, the database) of `http(s)://host:port[/database]`."""
    parts = urllib.parse.urlsplit(uri)
    database = parts.path.strip("/") or "default"
    if not _DATABASE_NAME.fullmatch(database):
        raise ValueError(f"index_uri: database {database!r} in {uri!r}: need letters, digits and underscores, not starting with a digit")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "", "", "")), database


def collection_name(model: str, version: str, dimension: int, embedding_space: str) -> str:
    """`jepa_<model>_v<version>_<dimension>d_<space>` within Milvus' rules (letters, digits and
    underscores, at most 255); a hash of the original keeps sanitised names apart."""
    raw = f"jepa_{model}_v{version}_{dimension}d_{embedding_space}"
    name = _NAME_UNSAFE.sub("_", raw)
    if name != raw or len(name) > 255:
        name = f"{name[:230]}_{hashlib.sha256(raw.encode()).hexdigest()[:16]}"
    return name


class CollectionSpec(BaseModel, frozen=True):
    """The collection of one video model: vectors are comparable only within one space."""

    model: str
    version: str
    dimension: int
    embedding_space: str

    @property
    def name(self) -> str:
        return collection_name(self.model, self.version, self.dimension, self.embedding_space)


@dataclass(frozen=True)
class WindowRow:
    window_index: int
    start_seconds: float
    end_seconds: float
    embedding: np.ndarray  # (D,)


@dataclass(frozen=True)
class _PendingWrite:
    video_id: str
    rows: list[dict[str, Any]]
    done: asyncio.Future[None]


@dataclass(frozen=True)
class VideoHit:
    """A video and its best-matching window."""

    video_id: str
    score: float
    window_index: int
    start_seconds: float
    end_seconds: float
    metadata: dict[str, Any]


@dataclass(frozen=True, eq=False)
class ScannedWindows:
    """Windows read for analysis, one entry per row: a uniform sample when `total_rows` exceeded
    the bound. `indexed_at` is NaN for rows of collections without ingestion timestamps."""

    video_ids: list[str]
    window_index: np.ndarray  # (N,) int
    start_seconds: np.ndarray  # (N,)
    end_seconds: np.ndarray  # (N,)
    indexed_at: np.ndarray  # (N,) Unix seconds
    vectors: np.ndarray  # (N, D) float32
    total_rows: int
    has_timestamps: bool

    @property
    def sampled(self) -> bool:
        return len(self.video_ids) < self.total_rows


@dataclass(frozen=True)
class CollectionStats:
    rows: int
    videos: int
    indexed_ids: list[str]
    index_type: str


def row_filter(text: str, max_chars: int) -> str:
    """A client's filter over the rows, checked and rendered canonically (see `filters`)."""
    return parse_filter(text, FILTER_FIELDS, JSON_FIELD, max_chars)


def _row_key(video_id: str, window_index: int) -> str:
    return f"{video_id}#{window_index}"


def _in_expression(field: str, values: Sequence[str]) -> str:
    return f"{field} in [{', '.join(string_literal(value) for value in values)}]"


def _ids_expression(video_ids: Sequence[str]) -> str:
    return _in_expression("video_id", video_ids)


def _scanned(rows: list[dict[str, Any]], total: int, dimension: int, timestamped: bool) -> ScannedWindows:
    return ScannedWindows(
        video_ids=[row["video_id"] for row in rows],
        window_index=np.array([row["window_index"] for row in rows], dtype=np.int64),
        start_seconds=np.array([row["start_seconds"] for row in rows], dtype=np.float64),
        end_seconds=np.array([row["end_seconds"] for row in rows], dtype=np.float64),
        indexed_at=np.array([row[INGESTED_FIELD] if timestamped else np.nan for row in rows], dtype=np.float64),
        vectors=np.array([row["embedding"] for row in rows], dtype=np.float32).reshape(len(rows), dimension),
        total_rows=total,
        has_timestamps=timestamped,
    )


def _concatenated(chunks: list[ScannedWindows], total: int, dimension: int, timestamped: bool) -> ScannedWindows:
    if not chunks:
        return _scanned([], total, dimension, timestamped)
    return ScannedWindows(
        video_ids=[video_id for chunk in chunks for video_id in chunk.video_ids],
        window_index=np.concatenate([chunk.window_index for chunk in chunks]),
        start_seconds=np.concatenate([chunk.start_seconds for chunk in chunks]),
        end_seconds=np.concatenate([chunk.end_seconds for chunk in chunks]),
        indexed_at=np.concatenate([chunk.indexed_at for chunk in chunks]),
        vectors=np.concatenate([chunk.vectors for chunk in chunks]),
        total_rows=total,
        has_timestamps=timestamped,
    )


def _count(client: MilvusClient, name: str, expression: str, consistency: str = READ_CONSISTENCY) -> int:
    rows = client.query(name, filter=expression, output_fields=["count(*)"], consistency_level=consistency)
    return int(rows[0]["count(*)"]) if rows else 0


class MilvusIndex:
    """The gateway's one Milvus client; every method runs its calls on the index thread."""

    def __init__(
        self,
        uri: str,
        index_type: str = "",
        build_params: dict[str, int] | None = None,
        search_params: dict[str, int] | None = None,
        max_windows: int = 256,
        ann_threshold_rows: int = 20_000,
    ) -> None:
        """`index_type` "" follows the size: HNSW on a server; on Milvus Lite exact FLAT until a
        collection holds `ann_threshold_rows` rows, then IVF_FLAT (nlist 4·√rows), rebuilt once
        by the seal that crosses it (Lite's FLAT costs 152 ms p50 a search at 100,000 rows, IVF_FLAT
        45 ms: benchmarks/results/index.json)."""
        self.is_lite = not uri.startswith(_SERVER_SCHEMES)
        if self.is_lite and not uri.endswith(".db"):
            raise ValueError(f"index_uri: got {uri!r}; need a Milvus Lite path ending in .db or an http(s):// Milvus URI")
        if self.is_lite:
            logging.getLogger("grpc._server").addFilter(_LITE_NOISE)
            logging.getLogger(QueryIterator.__module__).addFilter(_lite_iterator_timestamp)
        self.uri = uri
        self._address, self.database = ("", "") if self.is_lite else server_address(uri)
        self.backend = "milvus-lite" if self.is_lite else "milvus"
        self.follows_size = not index_type
        self.index_type = index_type or ("FLAT" if self.is_lite else "HNSW")  # what new collections get
        self.build_params = dict(build_params or _DEFAULT_BUILD.get(self.index_type, {}))
        self.search_params = dict(search_params or {})
        self.ann_threshold_rows = ann_threshold_rows
        self._index_types: dict[str, str] = {}  # per open collection, as Milvus describes it
        self._pending: dict[str, list[_PendingWrite]] = {}  # writes waiting for the index thread, by collection
        self._pending_lock = threading.Lock()
        self._writers: set[asyncio.Future[None]] = set()
        self.max_windows = max_windows  # per video, which bounds the rows of one video's read
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="milvus")
        self._client: MilvusClient | None = None
        self._ready: set[str] = set()
        self._timestamped: dict[str, bool] = {}

    # -- running on the index thread
    async def _run(self, job: Callable[..., ResultT], *args: Any) -> ResultT:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, functools.partial(self._guarded, job, *args))

    def _guarded(self, job: Callable[..., ResultT], *args: Any) -> ResultT:
        try:
            try:
                return job(self._connected(), *args)
            except MilvusException as error:
                if error.code != _COLLECTION_NOT_LOADED or not self._ready:
                    raise
                # A restarted server has released every collection: load them again, then retry once.
                self._ready.clear()
                return job(self._connected(), *args)
        except MilvusException as error:
            raise BackendUnavailable("index", f"{self.backend} at {self.uri} failed: {error.message}") from error

    def _connected(self) -> MilvusClient:
        if self._client is None:
            if self.is_lite:
                Path(self.uri).parent.mkdir(parents=True, exist_ok=True)
            self._client = MilvusClient(self.uri) if self.is_lite else self._server_client()
        return self._client

    def _server_client(self) -> MilvusClient:
        if self.database != "default":
            admin = MilvusClient(self._address)
            try:
                if self.database not in admin.list_databases():
                    try:
                        admin.create_database(self.database)
                    except MilvusException:
                        if self.database not in admin.list_databases():  # another gateway may have created it first
                            raise
            finally:
                admin.close()
        return MilvusClient(self._address, db_name=self.database)

    def _open(self, client: MilvusClient, spec: CollectionSpec, create: bool) -> bool:
        """Make the collection searchable (creating it when `create`); False when it does not exist."""
        name = spec.name
        if name in self._ready:
            return True
        if not client.has_collection(name):
            if not create:
                return False
            try:
                index_params = self._index_params(client, self.index_type, self.build_params)
                client.create_collection(name, schema=self._schema(spec), index_params=index_params, consistency_level="Strong")
            except MilvusException:
                if not client.has_collection(name):  # another gateway may have created it first
                    raise
        if not (indexes := client.list_indexes(name)):
            # Servers before Milvus 2.4 take the index out of CreateCollection without building it.
            client.create_index(name, self._index_params(client, self.index_type, self.build_params))
            indexes = client.list_indexes(name)
        self._index_types[name] = client.describe_index(name, indexes[0])["index_type"]
        client.load_collection(name)
        fields = client.describe_collection(name)["fields"]
        self._timestamped[name] = any(field["name"] == INGESTED_FIELD for field in fields)
        self._ready.add(name)
        return True

    @staticmethod
    def _schema(spec: CollectionSpec):
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False, description=f"windows of {spec.model} v{spec.version}")
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=_VIDEO_ID_BYTES + 12)  # "<video_id>#<window>"
        schema.add_field("video_id", DataType.VARCHAR, max_length=_VIDEO_ID_BYTES)
        schema.add_field("window_index", DataType.INT32)
        schema.add_field("start_seconds", DataType.DOUBLE)
        schema.add_field("end_seconds", DataType.DOUBLE)
        schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=spec.dimension)
        schema.add_field(JSON_FIELD, DataType.JSON)
        schema.add_field(INGESTED_FIELD, DataType.DOUBLE)
        return schema

    @staticmethod
    def _index_params(client: MilvusClient, index_type: str, build_params: dict[str, int]):
        params = client.prepare_index_params()
        params.add_index("embedding", index_type=index_type, metric_type="COSINE", params=build_params)
        return params

    def _rebuild_as_ann(self, client: MilvusClient, name: str) -> None:
        """FLAT -> IVF_FLAT in place (release, drop, build, load): searches queued on the index
        thread meanwhile wait for it rather than fail."""
        rows = _count(client, name, "")
        started = time.perf_counter()
        client.release_collection(name)
        for index_name in client.list_indexes(name):
            client.drop_index(name, index_name)
        client.create_index(name, self._index_params(client, "IVF_FLAT", {"nlist": ivf_lists(rows)}))
        client.load_collection(name)
        self._index_types[name] = "IVF_FLAT"
        log.info("collection %s: %d rows, FLAT rebuilt as IVF_FLAT (nlist %d) in %.1f s", name, rows, ivf_lists(rows), time.perf_counter() - started)

    def _search_params(self, name: str, limit: int) -> dict[str, int]:
        index_type = self._index_types.get(name, self.index_type)
        params = dict(self.search_params or _DEFAULT_SEARCH.get(index_type, {}))
        if index_type == "HNSW":
            params["ef"] = max(params.get("ef", 0), limit)  # Milvus refuses ef below the limit
        return params

    # -- the operations
    async def ping(self, timeout_s: float) -> bool:
        """True when the index answers: Milvus Lite opens its file, a server lists its collections in time."""

        def job(client: MilvusClient) -> None:
            client.list_collections(timeout=timeout_s)

        try:
            await self._run(job)
        except Exception as error:  # noqa: BLE001 - any failure means "not answering yet"
            # A Milvus Lite file of 100,000 rows takes seconds to load: its first answers time out
            # (as a gRPC error, not a Milvus one). The next check tries again.
            log.debug("index at %s does not answer: %s", self.uri, error)
            return False
        return True

    async def replace_video(self, spec: CollectionSpec, video_id: str, windows: Sequence[WindowRow], metadata: dict[str, Any]) -> None:
        """Write every window of a video, replacing whatever rows the id had; returns once Milvus
        acknowledged the rows.

        Group commit: writes that arrive while the index thread is busy join one upsert-and-delete
        (a Milvus Lite delete scans the collection whatever it deletes, so it grows with the
        collection). A re-indexed id cut short by a crash may keep its old windows beyond the new
        ones' count until it is written again. A video never has more than `max_windows` windows:
        raise it over an existing index, never lower it, or re-indexing leaves the windows beyond."""
        rows = [
            {
                "id": _row_key(video_id, window.window_index),
                "video_id": video_id,
                "window_index": window.window_index,
                "start_seconds": window.start_seconds,
                "end_seconds": window.end_seconds,
                "embedding": np.asarray(window.embedding, dtype=np.float32).tolist(),
                JSON_FIELD: metadata,
            }
            for window in windows
        ]
        written = asyncio.get_running_loop().create_future()
        with self._pending_lock:
            pending = self._pending.setdefault(spec.name, [])
            pending.append(_PendingWrite(video_id, rows, written))
            first = len(pending) == 1
        if first:
            writer = asyncio.ensure_future(self._write_pending(spec))
            self._writers.add(writer)  # the loop keeps only weak references to tasks
            writer.add_done_callback(self._writers.discard)
        await written

    async def _write_pending(self, spec: CollectionSpec) -> None:
        """One job on the index thread for every write of the collection pending when it starts."""
        taken: list[_PendingWrite] = []

        def job(client: MilvusClient) -> None:
            with self._pending_lock:
                taken.extend(self._pending.pop(spec.name, []))
            self._open(client, spec, create=True)
            latest = {write.video_id: write.rows for write in taken}  # the same id twice: the later wins, as in turn
            if self._timestamped[spec.name]:
                written_at = time.time()
                for rows in latest.values():
                    for row in rows:
                        row[INGESTED_FIELD] = written_at
            # Upsert by primary key (`<video_id>#<window>`), then delete the keys of windows the
            # new version lacks: two gateways rewriting one id at once (a retry beside the first
            # attempt) cannot leave a key twice, and nothing queries first (a delete by video_id
            # makes a Milvus server query at a time tick before it deletes; by key it does not).
            chunk: list[dict[str, Any]] = []
            for rows in latest.values():  # a video's rows never span two upserts
                if chunk and len(chunk) + len(rows) > _MAX_INSERT_ROWS:
                    client.upsert(spec.name, chunk)
                    chunk = []
                chunk += rows
            if chunk:
                client.upsert(spec.name, chunk)
            stale = [
                _row_key(video_id, window)
                for video_id, rows in latest.items()
                for window in sorted(set(range(self.max_windows)) - {row["window_index"] for row in rows})
            ]
            for start in range(0, len(stale), _MAX_DELETE_KEYS):
                client.delete(spec.name, filter=_in_expression("id", stale[start : start + _MAX_DELETE_KEYS]))

        failure: BaseException | None = None
        try:
            await self._run(job)
        except Exception as error:  # noqa: BLE001 - every writer of the batch gets the failure
            failure = error
            if not taken:  # the job did not run (no client): fail what waits for it
                with self._pending_lock:
                    taken.extend(self._pending.pop(spec.name, []))
        for write in taken:
            if write.done.done():  # its caller gave up waiting; the write went on
                continue
            if failure is None:
                write.done.set_result(None)
            else:
                write.done.set_exception(failure)

    async def seal(self, spec: CollectionSpec) -> None:
        """After a batch of writes on Milvus Lite: flush, so that the rows leave the growing segment,
        which Lite searches (and deletes by filter in) by scanning every row: the index study
        measured 31 ms p50 a search over 1,000 unflushed rows against 5 ms after a flush. Once per
        batch, not per write, which would seal tiny segments. A collection that grew past the
        threshold leaves exact FLAT for IVF_FLAT here. A Milvus server seals segments on its
        own schedule, and its flush is a cluster-wide operation: left to it."""
        if not self.is_lite:
            return

        def job(client: MilvusClient) -> None:
            if not self._open(client, spec, create=False):
                return
            client.flush(spec.name)
            if self.follows_size and self._index_types[spec.name] == "FLAT" and _count(client, spec.name, "") >= self.ann_threshold_rows:
                self._rebuild_as_ann(client, spec.name)

        await self._run(job)

    async def delete_videos(self, spec: CollectionSpec, video_ids: Sequence[str]) -> tuple[list[str], int]:
        """Remove every window of the videos; returns the ids that had rows and the rows removed."""

        def job(client: MilvusClient) -> tuple[list[str], int]:
            if not self._open(client, spec, create=False):
                return [], 0
            present = self._present(client, spec.name, video_ids)
            rows = _count(client, spec.name, _ids_expression(video_ids))
            if rows:
                client.delete(spec.name, filter=_ids_expression(video_ids))
                if not self.is_lite:
                    # A server answers a delete by filter without the timestamp Session reads wait
                    # for: one Strong read (a time tick) makes the delete visible to every later read.
                    _count(client, spec.name, _ids_expression(video_ids), consistency="Strong")
            return present, rows

        return await self._run(job)

    async def search(self, spec: CollectionSpec, query: np.ndarray, top_k: int, expression: str = "") -> list[VideoHit]:
        """The `top_k` videos whose best window is closest to `query` (cosine), best first."""

        def job(client: MilvusClient) -> list[dict[str, Any]]:
            if not self._open(client, spec, create=False):
                return []
            def search(limit: int, **grouping: str) -> list[dict[str, Any]]:
                parameters = {"metric_type": "COSINE", "params": self._search_params(spec.name, limit)}
                vector = [np.asarray(query, dtype=np.float32).tolist()]
                return client.search(spec.name, data=vector, filter=expression, output_fields=_OUTPUT_FIELDS, search_params=parameters, limit=limit,
                                     consistency_level=READ_CONSISTENCY, **grouping)[0]

            hits = search(top_k, group_by_field="video_id")
            if len(hits) < top_k or len({hit["entity"]["video_id"] for hit in hits}) < len(hits):
                # Milvus Lite groups only the best 10 x top_k windows, so a few videos with many
                # close windows can crowd out the rest, and servers before 2.4 do not group at
                # all: group every window a full result can need here.
                best: dict[str, dict[str, Any]] = {}
                for hit in search(min(_MAX_QUERY_ROWS, top_k * self.max_windows)):
                    best.setdefault(hit["entity"]["video_id"], hit)
                hits = list(best.values())[:top_k]
            return hits

        if query.shape != (spec.dimension,):
            raise InvalidInput("embedding", f"got {query.size} values, collection {spec.name} has dimension {spec.dimension}")
        return [
            VideoHit(
                video_id=hit["entity"]["video_id"],
                score=float(hit["distance"]),
                window_index=int(hit["entity"]["window_index"]),
                start_seconds=float(hit["entity"]["start_seconds"]),
                end_seconds=float(hit["entity"]["end_seconds"]),
                metadata=hit["entity"][JSON_FIELD] or {},
            )
            for hit in await self._run(job)
        ]

    async def video_windows(self, spec: CollectionSpec, video_ids: Sequence[str], expression: str = "") -> dict[str, list[WindowRow]]:
        """Every window (matching `expression`) of the videos, by video id, in window order."""

        def job(client: MilvusClient) -> list[dict[str, Any]]:
            if not self._open(client, spec, create=False):
                return []
            # Bounded reads: Milvus answers at most 16384 rows per query.
            per_query = max(1, _MAX_QUERY_ROWS // self.max_windows)
            rows: list[dict[str, Any]] = []
            for start in range(0, len(video_ids), per_query):
                condition = _ids_expression(video_ids[start : start + per_query])
                rows += client.query(
                    spec.name, filter=f"({expression}) and {condition}" if expression else condition, consistency_level=READ_CONSISTENCY,
                    output_fields=["video_id", "window_index", "start_seconds", "end_seconds", "embedding"],
                )
            return rows

        windows: dict[str, list[WindowRow]] = {video_id: [] for video_id in video_ids}
        for row in await self._run(job):
            windows[row["video_id"]].append(
                WindowRow(int(row["window_index"]), float(row["start_seconds"]), float(row["end_seconds"]), np.asarray(row["embedding"], dtype=np.float32))
            )
        return {video_id: sorted(rows, key=lambda window: window.window_index) for video_id, rows in windows.items()}

    async def scan(self, spec: CollectionSpec, expression: str, max_rows: int, seed: int, progress: Callable[[int, int], None]) -> ScannedWindows:
        """Every window matching `expression`, or a uniform sample of `max_rows` of them: memory
        stays bounded by `max_rows` whatever the collection's size. Each batch is its own call on
        the index thread, so searches and writes go on between batches of a long scan.
        `progress(read, total)` follows each batch."""

        def begin(client: MilvusClient) -> tuple[Any, int, bool]:
            if not self._open(client, spec, create=False):
                return None, 0, True
            timestamped = self._timestamped[spec.name]
            fields = ["video_id", "window_index", "start_seconds", "end_seconds", "embedding"] + ([INGESTED_FIELD] if timestamped else [])
            total = _count(client, spec.name, expression)
            return client.query_iterator(
                spec.name, batch_size=_SCAN_BATCH, filter=expression, output_fields=fields, consistency_level=READ_CONSISTENCY
            ), total, timestamped

        iterator, total, timestamped = await self._run(begin)
        if iterator is None:
            return _scanned([], 0, spec.dimension, timestamped)
        keep = np.ones(total, dtype=bool)
        if total > max_rows:
            keep[:] = False
            keep[np.random.default_rng(seed).choice(total, size=max_rows, replace=False)] = True
        chunks: list[ScannedWindows] = []
        position = 0
        async for batch in self._batches(iterator):
            # Rows written while the scan runs may go past the count taken first: not in the sample.
            kept = [row for offset, row in enumerate(batch) if position + offset < total and keep[position + offset]]
            chunks.append(_scanned(kept, total, spec.dimension, timestamped))  # arrays now: Python rows are 10x larger
            position += len(batch)
            progress(min(position, total), total)
        return _concatenated(chunks, total, spec.dimension, timestamped)

    async def source_uris(self, spec: CollectionSpec, video_ids: Sequence[str], key: str) -> dict[str, str]:
        """The `metadata[key]` string of each video that has one (where its file came from)."""

        metadata = await self.video_metadata(spec, video_ids)
        return {video_id: value for video_id, fields in metadata.items() if isinstance(value := fields.get(key), str)}

    async def stats(self, spec: CollectionSpec, video_ids: Sequence[str] = ()) -> CollectionStats:
        """Rows and videos of the collection, and which of `video_ids` it holds."""

        def job(client: MilvusClient) -> CollectionStats:
            if not self._open(client, spec, create=False):
                return CollectionStats(0, 0, [], self.index_type)
            present = self._present(client, spec.name, video_ids) if video_ids else []
            # Every indexed video has exactly one window 0.
            rows, videos = _count(client, spec.name, ""), _count(client, spec.name, "window_index == 0")
            return CollectionStats(rows, videos, present, self._index_types[spec.name])

        return await self._run(job)

    @staticmethod
    def _present(client: MilvusClient, name: str, video_ids: Sequence[str]) -> list[str]:
        rows = client.query(name, filter=f"{_ids_expression(video_ids)} and window_index == 0", output_fields=["video_id"], consistency_level=READ_CONSISTENCY)
        found = {row["video_id"] for row in rows}
        return [video_id for video_id in dict.fromkeys(video_ids) if video_id in found]

    async def close(self) -> None:
        """Close the client (and, for Milvus Lite, release the file so another process may open it)."""

        def job() -> None:
            if self._client is None:
                return
            self._client.close()
            self._client = None
            self._ready.clear()
            self._index_types.clear()
            if self.is_lite:
                from milvus_lite.server_manager import server_manager_instance

                server_manager_instance.release_server(self.uri)

        await asyncio.get_running_loop().run_in_executor(self._thread, job)
        self._thread.shutdown(wait=True)

    # -- model migration (docs/operating.md): the serving alias, whole collections
    async def _batches(self, iterator: Any) -> AsyncIterator[list[dict[str, Any]]]:
        """The batches of a query iterator, each read by its own call on the index thread (other
        calls go on in between); the iterator is closed however the loop ends."""
        try:
            while batch := await self._run(lambda client: iterator.next()):
                yield batch
        finally:
            await self._run(lambda client: iterator.close())

    async def video_versions(self, spec: CollectionSpec) -> dict[str, float]:
        """Every video of the collection and when it was last written (its window 0's
        `indexed_at`; NaN in a collection without timestamps)."""

        def begin(client: MilvusClient) -> tuple[Any, bool]:
            if not self._open(client, spec, create=False):
                return None, False
            timestamped = self._timestamped[spec.name]
            fields = ["video_id", *([INGESTED_FIELD] if timestamped else [])]
            iterator = client.query_iterator(
                spec.name, batch_size=_SCAN_BATCH, filter="window_index == 0", output_fields=fields, consistency_level=READ_CONSISTENCY
            )
            return iterator, timestamped

        iterator, timestamped = await self._run(begin)
        versions: dict[str, float] = {}
        if iterator is not None:
            async for batch in self._batches(iterator):
                versions.update((row["video_id"], float(row[INGESTED_FIELD]) if timestamped else float("nan")) for row in batch)
        return versions

    async def video_metadata(self, spec: CollectionSpec, video_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The metadata stored with each of the videos that the collection holds."""

        def job(client: MilvusClient) -> list[dict[str, Any]]:
            if not video_ids or not self._open(client, spec, create=False):
                return []
            return client.query(
                spec.name, filter=f"{_ids_expression(video_ids)} and window_index == 0", output_fields=["video_id", JSON_FIELD], consistency_level=READ_CONSISTENCY
            )

        return {row["video_id"]: row[JSON_FIELD] or {} for row in await self._run(job)}

    async def has_collection(self, name: str) -> bool:
        return await self._run(lambda client: client.has_collection(name))

    async def drop_collection(self, name: str) -> None:
        """Drop a collection and every row in it, for good."""

        def job(client: MilvusClient) -> None:
            client.drop_collection(name)
            self._ready.discard(name)
            self._timestamped.pop(name, None)
            self._index_types.pop(name, None)

        await self._run(job)

    async def resolve_alias(self, alias: str) -> str | None:
        """The collection `alias` points at (None: no such alias), read through DescribeCollection,
        which resolves aliases on Milvus Lite and every server version alike (Milvus 2.3's
        describe_alias fails outside the default database)."""

        def job(client: MilvusClient) -> str | None:
            return client.describe_collection(alias)["collection_name"] if client.has_collection(alias) else None

        return await self._run(job)

    async def point_alias(self, alias: str, collection: str) -> None:
        """Point `alias` at `collection`, creating it: one atomic step for everyone who reads it."""

        def job(client: MilvusClient) -> None:
            if not client.has_collection(alias):
                try:
                    client.create_alias(collection, alias)
                    return
                except MilvusException:
                    if not client.has_collection(alias):  # else another gateway created it meanwhile
                        raise
            client.alter_alias(collection, alias)

        await self._run(job)

    async def drop_alias(self, alias: str) -> None:
        """Remove `alias` (none: nothing to do); the collection it pointed at stays."""

        def job(client: MilvusClient) -> None:
            if client.has_collection(alias):
                client.drop_alias(alias)

        await self._run(job)
