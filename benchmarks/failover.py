"""Failover under load (issue 16, "Replicas"): two gateways (`jepa-serve serve` processes) share one
Milvus server and two Triton replicas; SDK clients given both gateways send a mix of EmbedVideo,
EmbedText, Search and IndexVideos while one gateway is SIGKILLed (at ~20 s of 60) and then one Triton
(at ~35 s). Afterwards, through the surviving gateway and in Milvus itself: did any idempotent call
fail after the SDK's retries, is every row of every acknowledged IndexVideos item there, is any
row there twice?

    python -m benchmarks.failover                      # artifacts/repository/cpu, a Milvus 2.3.5 of its own
    python -m benchmarks.failover --repository R --milvus-uri http://127.0.0.1:19530/failover
    python -m benchmarks.failover --render benchmarks/results/failover.json   # only RESULTS.md's section

Writes benchmarks/results/failover.json and the "Failover" section of benchmarks/RESULTS.md; exit
status 1 when a check fails. tests/reliability/test_failover_under_load.py runs the same scenario.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, Field, model_validator
from pymilvus import MilvusClient
from tqdm import tqdm

from benchmarks.foreign_load import ForeignLoad, ForeignLoadMeter
from benchmarks.milvus_server import MilvusStandalone
from benchmarks.processes import free_ports, gateway_serving
from benchmarks.results import Machine, load_average
from benchmarks.results_markdown import RESULTS_MD, update_section
from benchmarks.soak import sample_video
from benchmarks.triton_metrics import inference_counts
from jepa_client import Client, ClientOptions, FailedPreconditionError, IndexItem, JepaError, rpc
from jepa_client.v1 import retrieval_pb2
from jepa_server.index.milvus import server_address
from jepa_server.triton_local import LocalTriton, LocalTritonOptions

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "failover.json"
RETRIEVAL_SERVICE = retrieval_pb2.DESCRIPTOR.services_by_name["RetrievalService"].full_name
# The calls of the mix and the SDK method each one is: whether the SDK may resend it is its own.
CALLS: dict[str, rpc.Rpc[Any]] = {"embed_video": rpc.EMBED_VIDEO, "embed_text": rpc.EMBED_TEXT, "search": rpc.SEARCH, "index": rpc.INDEX_VIDEOS}
PHASES = ("before the gateway kill", "after the gateway kill", "after the Triton kill")
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_IDS_PER_STATS_CALL = 500  # under the gateway's max_ids
_ORPHAN_WAIT_S = 3.0


class FailoverPlan(BaseModel):
    """What the scenario does and when. Times count from the start of the load."""

    duration_s: float = Field(60.0, gt=0)
    gateway_kill_at_s: float = Field(20.0, gt=0)
    triton_kill_at_s: float = Field(35.0, gt=0)
    # Threads of load, each with its own SDK client (its own channel, round-robin over both gateways).
    clients: int = Field(6, ge=1)
    # Deadline of one SDK call, its retries included; the retry policy is the SDK's default.
    call_timeout_s: float = Field(30.0, gt=0)
    items_per_index_call: int = Field(2, ge=1)
    # Frames of the indexed videos (8 fps), several windows each whatever the model's clip length.
    index_video_frames: list[int] = Field(default_factory=lambda: [16, 32, 48])
    gateway_startup_timeout_s: float = Field(120.0, gt=0)

    @model_validator(mode="after")
    def _kills_inside_the_load(self) -> FailoverPlan:
        if not self.gateway_kill_at_s < self.triton_kill_at_s < self.duration_s:
            raise ValueError(
                f"kill times: need gateway_kill_at_s < triton_kill_at_s < duration_s, got {self.gateway_kill_at_s}, "
                f"{self.triton_kill_at_s}, {self.duration_s}"
            )
        return self


class Kill(BaseModel):
    target: str
    pid: int
    at_s: float


class CallSummary(BaseModel):
    """The calls of one kind: `failed` ones raised after the SDK's retries, or (IndexVideos)
    reported an item not indexed."""

    idempotent: bool
    calls: int
    ok: int
    failed: int
    errors: dict[str, int]
    ok_by_phase: dict[str, int]
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None


class GatewayProcess:
    """`jepa-serve serve` in a child process on free ports, killed with this process however it ends."""

    def __init__(self, name: str, repository: Path, triton_urls: Sequence[str], index_uri: str, log_dir: Path) -> None:
        self.name = name
        self.port, self.metrics_port = free_ports(2)
        self.address = f"127.0.0.1:{self.port}"
        self.metrics_url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        self.log_path = log_dir / f"{name}.log"
        self._command = [
            sys.executable, "-m", "jepa_server.die_with_parent", str(os.getpid()), "--",
            sys.executable, "-m", "jepa_server.cli", "serve", "--triton-url", ",".join(triton_urls), "--port", str(self.port),
            "--metrics-port", str(self.metrics_port), "--model-repository", str(repository),
        ]
        self._environment = {
            **os.environ, "JEPA_INDEX_URI": index_uri, "JEPA_DECODE_WORKERS": "1", "JEPA_HTTP_PORT": "0", "JEPA_SHUTDOWN_GRACE_S": "1",
            "JEPA_LOG_LEVEL": "WARNING",
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "start the gateway first"
        return self.process.pid

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self._command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=self._environment)

    def serving(self) -> bool:
        """Serving retrieval too (its index answers), or raises if the process is gone."""
        if self.process is None or self.process.poll() is not None:
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:]) if self.log_path.exists() else ""
            raise RuntimeError(f"{self.name} exited during start-up:\n{tail}")
        return gateway_serving(self.address, RETRIEVAL_SERVICE)

    def calls_answered(self) -> float:
        """Calls this gateway has answered OK, from its own metrics."""
        with _NO_PROXY.open(self.metrics_url, timeout=5) as response:
            text = response.read().decode()
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "jepa_requests_total" and sample.labels.get("code") == "OK"
        )

    def sigkill(self) -> int:
        """SIGKILL the gateway alone, as a crash would; returns how many of its children (decode
        workers) outlived it by `_ORPHAN_WAIT_S` (they are killed then)."""
        children = _children(self.pid)
        os.kill(self.pid, signal.SIGKILL)
        assert self.process is not None
        self.process.wait()
        _, survivors = psutil.wait_procs(children, timeout=_ORPHAN_WAIT_S)
        _kill_all(survivors)
        return len(survivors)

    def stop(self) -> None:
        """SIGTERM (the gateway drains), SIGKILL after a grace; no child is left behind."""
        if self.process is None or self.process.poll() is not None:
            return
        children = _children(self.pid)
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        _kill_all([child for child in children if child.is_running()])


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _kill_all(processes: list[psutil.Process]) -> None:
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(processes, timeout=5)


@dataclass
class Outcome:
    kind: str
    started_s: float
    latency_s: float
    error: str | None  # None: OK; else the gRPC status name (or exception type) after retries


@dataclass
class WorkerRecord:
    outcomes: list[Outcome] = field(default_factory=list)
    # Every item an IndexVideos call reported OK: id -> windows written.
    acknowledged: dict[str, int] = field(default_factory=dict)
    attempted_ids: list[str] = field(default_factory=list)
    retries: int = 0


@dataclass(frozen=True)
class Mix:
    """What the load sends: a video to embed, the query vector, videos to index, and whether
    searching by text works on this repository (a text model in the video model's space)."""

    video: bytes
    query: np.ndarray
    index_videos: list[bytes]
    text_search: bool


def _load(number: int, options: ClientOptions, mix: Mix, plan: FailoverPlan, started: float, stop: threading.Event, record: WorkerRecord) -> None:
    """One client's loop over the four calls, each worker starting at a different one."""
    kinds = list(CALLS)
    with Client(options) as client:
        sequence = 0
        while not stop.is_set():
            kind = kinds[(number + sequence) % len(kinds)]
            begun = time.monotonic()
            error: str | None = None
            try:
                if kind == "embed_video":
                    client.embed_video(mix.video)
                elif kind == "embed_text":
                    client.embed_text([f"client {number} sentence {sequence}"])
                elif kind == "search" and mix.text_search and sequence % 2:
                    client.search(f"client {number} query {sequence}", top_k=5)
                elif kind == "search":
                    client.search(embedding=mix.query, top_k=5)
                else:
                    items = [
                        IndexItem(f"failover-{number}-{sequence}-{part}", mix.index_videos[(sequence + part) % len(mix.index_videos)], metadata={"client": number})
                        for part in range(plan.items_per_index_call)
                    ]
                    record.attempted_ids += [item.id for item in items]
                    report = client.index_videos(items)
                    record.acknowledged.update({item.id: item.num_windows for item in report.items if item.ok})
                    if report.failed:
                        error = f"item {report.failed[0].code.name}"
            except JepaError as failure:
                error = failure.code.name
            except Exception as failure:  # noqa: BLE001 - any other failure is one failed call too
                error = type(failure).__name__
            record.outcomes.append(Outcome(kind, begun - started, time.monotonic() - begun, error))
            sequence += 1
        record.retries = client.retries


def _phase(started_s: float, kills: list[Kill]) -> str:
    passed = sum(started_s >= kill.at_s for kill in kills)
    return PHASES[passed]


def _summaries(outcomes: list[Outcome], kills: list[Kill]) -> dict[str, CallSummary]:
    summaries = {}
    for kind, method in CALLS.items():
        mine = [outcome for outcome in outcomes if outcome.kind == kind]
        latencies_ms = np.array([outcome.latency_s * 1000 for outcome in mine if outcome.error is None])
        ok_by_phase = Counter(_phase(outcome.started_s, kills) for outcome in mine if outcome.error is None)

        def quantile(q: float, values: np.ndarray = latencies_ms) -> float | None:
            return round(float(np.percentile(values, q)), 1) if len(values) else None

        summaries[kind] = CallSummary(
            idempotent=method.idempotent,
            calls=len(mine),
            ok=sum(outcome.error is None for outcome in mine),
            failed=sum(outcome.error is not None for outcome in mine),
            errors=dict(Counter(outcome.error for outcome in mine if outcome.error is not None)),
            ok_by_phase={phase: ok_by_phase.get(phase, 0) for phase in PHASES},
            p50_ms=quantile(50),
            p99_ms=quantile(99),
            max_ms=quantile(100),
        )
    return summaries


@dataclass(frozen=True)
class MilvusRows:
    """What the collection holds, read with pymilvus: rows per primary key (`<video_id>#<window>`)
    as a scan returns them, and Milvus' own count of rows (it counts a primary key written twice twice)."""

    per_key: Counter[str]
    video_of_key: dict[str, str]
    counted: int

    @property
    def duplicates(self) -> int:
        distinct = len(self.per_key)
        return max(self.counted - distinct, sum(self.per_key.values()) - distinct)


def read_rows(index_uri: str, collection: str) -> MilvusRows:
    """Every row of `collection` in the database of `index_uri`, straight from Milvus."""
    address, database = server_address(index_uri)
    client = MilvusClient(address, db_name=database)
    try:
        counted = client.query(collection, filter="", output_fields=["count(*)"], consistency_level="Strong")
        iterator = client.query_iterator(collection, batch_size=1000, filter="", output_fields=["id", "video_id"])
        per_key: Counter[str] = Counter()
        video_of_key: dict[str, str] = {}
        while batch := iterator.next():
            for row in batch:
                per_key[row["id"]] += 1
                video_of_key[row["id"]] = row["video_id"]
        iterator.close()
    finally:
        client.close()
    return MilvusRows(per_key, video_of_key, int(counted[0]["count(*)"]) if counted else 0)


def _prepare_mix(options: ClientOptions, plan: FailoverPlan) -> Mix:
    video = sample_video(num_frames=16)
    with Client(options) as client:
        query = client.embed_video(video).embedding
        try:
            client.search("a probe of text search", top_k=1)
            text_search = True
        except FailedPreconditionError:  # the text model embeds in another space than the video model
            text_search = False
    return Mix(video, query, [sample_video(num_frames=frames) for frames in plan.index_video_frames], text_search)


def _inferences(triton: LocalTriton) -> float:
    """Inferences the replica has run, all models together, from its own metrics."""
    return sum(count for count, _ in inference_counts(triton.metrics_url).values())


def _wait_serving(gateways: list[GatewayProcess], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    waiting = list(gateways)
    while waiting:
        waiting = [gateway for gateway in waiting if not gateway.serving()]
        if waiting and time.monotonic() > deadline:
            raise RuntimeError(f"{[gateway.name for gateway in waiting]} not serving after {timeout_s:g} s")
        time.sleep(0.2)


class LoadEvents(BaseModel):
    """The kills during the load, and what the killed parts had done."""

    kills: list[Kill]
    # From the start of the load: calls each gateway answered OK until the gateway kill, inferences
    # each Triton ran until the Triton kill.
    gateway_calls_before_kill: dict[str, float]
    triton_inferences_before_kill: dict[str, float]
    # Processes of the killed gateway (its decode workers) still alive 3 s after it died.
    orphans_after_gateway_kill: int
    load_seconds: float
    load: ForeignLoad | None = None


def _drive_load(
    gateways: list[GatewayProcess], tritons: Sequence[LocalTriton], options: ClientOptions, mix: Mix, plan: FailoverPlan, progress: bool
) -> tuple[list[WorkerRecord], LoadEvents]:
    """`plan.clients` threads of load for `plan.duration_s`; the first gateway and the second Triton
    are SIGKILLed on time. Every thread has stopped when this returns, whatever happens."""
    victim_gateway, victim_triton = gateways[0], tritons[1]
    kills: list[Kill] = []
    orphans = 0
    gateway_calls = {gateway.address: -gateway.calls_answered() for gateway in gateways}
    triton_inferences = {triton.grpc_url: -_inferences(triton) for triton in tritons}
    meter = ForeignLoadMeter()
    stop = threading.Event()
    records = [WorkerRecord() for _ in range(plan.clients)]
    started = time.monotonic()
    workers = [
        threading.Thread(target=_load, args=(number, options, mix, plan, started, stop, record), name=f"failover-client-{number}", daemon=True)
        for number, record in enumerate(records)
    ]
    try:
        for worker in workers:
            worker.start()
        with tqdm(total=round(plan.duration_s), unit="s", desc="failover", mininterval=1.0, disable=not progress) as bar:
            while (elapsed := time.monotonic() - started) < plan.duration_s:
                if not kills and elapsed >= plan.gateway_kill_at_s:
                    gateway_calls = {gateway.address: gateway_calls[gateway.address] + gateway.calls_answered() for gateway in gateways}
                    kills.append(Kill(target=f"gateway {victim_gateway.address}", pid=victim_gateway.pid, at_s=round(time.monotonic() - started, 2)))
                    orphans = victim_gateway.sigkill()
                elif len(kills) == 1 and elapsed >= plan.triton_kill_at_s:
                    triton_inferences = {triton.grpc_url: triton_inferences[triton.grpc_url] + _inferences(triton) for triton in tritons}
                    assert victim_triton.pid is not None
                    kills.append(Kill(target=f"triton {victim_triton.grpc_url}", pid=victim_triton.pid, at_s=round(time.monotonic() - started, 2)))
                    os.kill(victim_triton.pid, signal.SIGKILL)
                done = [outcome for record in records for outcome in record.outcomes]
                bar.set_postfix(calls=len(done), failed=sum(outcome.error is not None for outcome in done), kills=len(kills), refresh=False)
                bar.update(min(int(elapsed), bar.total) - bar.n)
                time.sleep(0.2)
    finally:
        stop.set()
        for worker in workers:
            if worker.is_alive():
                worker.join(plan.call_timeout_s + 10)
    return records, LoadEvents(
        kills=kills, gateway_calls_before_kill=gateway_calls, triton_inferences_before_kill=triton_inferences, orphans_after_gateway_kill=orphans,
        load_seconds=round(time.monotonic() - started, 1), load=meter.read(),
    )


class RowCheck(BaseModel):
    """The acknowledged rows against the index: through the surviving gateway (GetIndexStats) and
    in Milvus itself."""

    acknowledged_rows: int
    rows_found: int
    duplicate_rows: int
    acknowledged_videos: int
    videos_found: int
    missing_videos: list[str]
    # id -> [rows acknowledged, rows in Milvus], for every id where they differ.
    wrong_row_counts: dict[str, list[int]]
    # Rows of ids whose call failed (a call may fail after writing); not counted above.
    unacknowledged_rows: int
    rows_through_gateway: int


class FailoverResult(RowCheck, LoadEvents):
    """The issue's four numbers (`failed_idempotent_calls` and RowCheck's `acknowledged_rows`,
    `rows_found`, `duplicate_rows`), what they come from, and what happened during the load."""

    created_at: str = Field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    command: str
    machine: Machine
    repository: str
    index_uri: str
    plan: FailoverPlan
    failed_idempotent_calls: int
    calls: dict[str, CallSummary]
    retries: int
    text_search: bool
    gateways: list[str]
    tritons: list[str]
    seconds: float
    load_average_start: tuple[float, float, float]
    load_average_end: tuple[float, float, float]

    @property
    def passed(self) -> bool:
        return self.failed_idempotent_calls == 0 and self.rows_found == self.acknowledged_rows and self.duplicate_rows == 0 and not self.wrong_row_counts


def check_rows(gateway: str, index_uri: str, acknowledged: dict[str, int], attempted: set[str], timeout_s: float) -> RowCheck:
    """Is every window of every acknowledged video (id -> windows) there, once?"""
    ids = sorted(acknowledged)
    with Client(ClientOptions(address=gateway, timeout=timeout_s)) as survivor:
        indexed = {
            video_id for start in range(0, len(ids), _IDS_PER_STATS_CALL) for video_id in survivor.index_stats(ids=ids[start : start + _IDS_PER_STATS_CALL]).indexed_ids
        }
        stats = survivor.index_stats()
    rows = read_rows(index_uri, stats.collection)
    rows_per_video = Counter(rows.video_of_key[key] for key in rows.per_key.elements())
    missing = sorted(video_id for video_id in ids if video_id not in indexed or not rows_per_video[video_id])
    return RowCheck(
        acknowledged_rows=sum(acknowledged.values()),
        rows_found=sum(f"{video_id}#{window}" in rows.per_key for video_id, windows in acknowledged.items() for window in range(windows)),
        duplicate_rows=rows.duplicates,
        acknowledged_videos=len(ids),
        videos_found=len(ids) - len(missing),
        missing_videos=missing,
        wrong_row_counts={video_id: [acknowledged[video_id], rows_per_video[video_id]] for video_id in ids if rows_per_video[video_id] != acknowledged[video_id]},
        unacknowledged_rows=sum(count for video_id, count in rows_per_video.items() if video_id in attempted - acknowledged.keys()),
        rows_through_gateway=stats.rows,
    )


def run_failover(
    repository: Path,
    tritons: Sequence[LocalTriton],
    index_uri: str,
    plan: FailoverPlan,
    log_dir: Path,
    *,
    command: str,
    progress: bool = False,
) -> FailoverResult:
    """The scenario on two running Triton replicas of `repository` (the second is SIGKILLed) and the
    Milvus database `index_uri`. The two gateways are started here and stopped before it returns,
    whatever happens."""
    if len(tritons) != 2:
        raise ValueError(f"tritons: got {len(tritons)}, need 2 (the second is killed)")
    began = time.monotonic()
    load_average_start = load_average()
    triton_urls = [triton.grpc_url for triton in tritons]
    gateways = [GatewayProcess(f"gateway-{number}", repository, triton_urls, index_uri, log_dir) for number in (1, 2)]
    try:
        for gateway in gateways:
            gateway.start()
        _wait_serving(gateways, plan.gateway_startup_timeout_s)
        options = ClientOptions(address=",".join(gateway.address for gateway in gateways), timeout=plan.call_timeout_s)
        mix = _prepare_mix(options, plan)
        records, events = _drive_load(gateways, tritons, options, mix, plan, progress)
        acknowledged = {video_id: windows for record in records for video_id, windows in record.acknowledged.items()}
        attempted = {video_id for record in records for video_id in record.attempted_ids}
        rows = check_rows(gateways[1].address, index_uri, acknowledged, attempted, plan.call_timeout_s)
    finally:
        for gateway in gateways:
            gateway.stop()
    calls = _summaries([outcome for record in records for outcome in record.outcomes], events.kills)
    return FailoverResult(
        **rows.model_dump(),
        **events.model_dump(),
        command=command,
        machine=Machine.describe(),
        repository=str(repository),
        index_uri=index_uri,
        plan=plan,
        failed_idempotent_calls=sum(summary.failed for summary in calls.values() if summary.idempotent),
        calls=calls,
        retries=sum(record.retries for record in records),
        text_search=mix.text_search,
        gateways=[gateway.address for gateway in gateways],
        tritons=triton_urls,
        seconds=round(time.monotonic() - began, 1),
        load_average_start=load_average_start,
        load_average_end=load_average(),
    )


def render_markdown(result: FailoverResult) -> str:
    """The "Failover" section of RESULTS.md, generated from a result."""
    plan = result.plan
    load = f"; foreign load {result.load.foreign_load:.2f} cores (machine {result.load.machine_cores:.2f}, ours {result.load.our_cores:.2f})" if result.load else ""
    lines = [
        "## Failover", "",
        f"Two gateways (`jepa-serve serve`) sharing one Milvus server and two Triton replicas; {plan.clients} SDK clients given both "
        f"gateways send EmbedVideo, EmbedText, Search ({'by text and ' if result.text_search else ''}by embedding) and IndexVideos of fresh ids "
        f"({plan.items_per_index_call} videos a call) for {plan.duration_s:g} s. One gateway is SIGKILLed at {result.kills[0].at_s:.1f} s, one Triton "
        f"at {result.kills[1].at_s:.1f} s; the SDK's default retries. Afterwards the surviving gateway and Milvus itself (pymilvus) are asked for "
        "every acknowledged row.", "",
        f"- date: {result.created_at}, {result.seconds:.0f} s; command: `{result.command}`",
        f"- machine: {result.machine.summary()}",
        f"- load average (1/5/15 min) at start {result.load_average_start}, at end {result.load_average_end}{load}",
        f"- **failed idempotent calls: {result.failed_idempotent_calls}**; SDK retries: {result.retries}",
        f"- **acknowledged rows: {result.acknowledged_rows}** ({result.acknowledged_videos} videos); **rows found: {result.rows_found}**; "
        f"**duplicate rows: {result.duplicate_rows}**; rows of calls that failed: {result.unacknowledged_rows}",
        "- served before the kills: " + ", ".join(f"gateway {address} {calls:.0f} calls" for address, calls in result.gateway_calls_before_kill.items())
        + "; " + ", ".join(f"Triton {url} {count:.0f} inferences" for url, count in result.triton_inferences_before_kill.items()),
        "", "| call | idempotent | calls | OK | failed | " + " | ".join(f"OK {phase}" for phase in PHASES) + " | p50 (ms) | p99 (ms) | max (ms) |",
        "|" + "---|" * (8 + len(PHASES)),
    ]
    for kind, summary in result.calls.items():
        phases = " | ".join(str(summary.ok_by_phase.get(phase, 0)) for phase in PHASES)
        lines.append(
            f"| {kind} | {'yes' if summary.idempotent else 'no'} | {summary.calls} | {summary.ok} | {summary.failed} | {phases} | "
            f"{summary.p50_ms} | {summary.p99_ms} | {summary.max_ms} |"
        )
    return "\n".join(lines) + "\n"


def write_result(result: FailoverResult, path: Path) -> Path:
    """The result as JSON, the issue's four numbers first."""
    fields = result.model_dump(mode="json")
    headline = {key: fields.pop(key) for key in ("failed_idempotent_calls", "acknowledged_rows", "rows_found", "duplicate_rows")}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(headline | fields, indent=1) + "\n")
    return path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repository", type=Path, default=Path("artifacts/repository/cpu"), help="exported repository (default: `make export`'s)")
    parser.add_argument("--milvus-uri", help="http://host:port/database of a Milvus server (default: start Milvus 2.3.5 here)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--gateway-kill-at", type=float, default=20.0, help="second of the load at which a gateway is SIGKILLed")
    parser.add_argument("--triton-kill-at", type=float, default=35.0, help="second of the load at which a Triton is SIGKILLed")
    parser.add_argument("--clients", type=int, default=6, help="client threads (default 6)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"result file (default {DEFAULT_OUT})")
    parser.add_argument("--results-md", type=Path, default=RESULTS_MD, help="RESULTS.md whose 'Failover' section is rewritten")
    parser.add_argument("--render", type=Path, metavar="RESULT", help="no load: only write the section of an existing result")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render is not None:
        update_section(args.results_md, "failover", render_markdown(FailoverResult.model_validate_json(args.render.read_text())))
        return 0
    if not args.repository.is_dir():
        print(f"repository: {args.repository} is not a folder; run `make export` or pass --repository", file=sys.stderr)
        return 2
    plan = FailoverPlan(duration_s=args.duration, gateway_kill_at_s=args.gateway_kill_at, triton_kill_at_s=args.triton_kill_at, clients=args.clients)
    with tempfile.TemporaryDirectory(prefix="jepa-failover-") as workdir, contextlib.ExitStack() as stack:
        index_uri = args.milvus_uri or stack.enter_context(MilvusStandalone(Path(workdir) / "milvus")).new_database_uri("failover")
        tritons = [stack.enter_context(LocalTriton(LocalTritonOptions(repository=args.repository))) for _ in range(2)]
        command = shlex.join(["python", "-m", "benchmarks.failover", *(sys.argv[1:] if argv is None else argv)])
        result = run_failover(args.repository, tritons, index_uri, plan, Path(workdir) / "logs", command=command, progress=True)
    write_result(result, args.out)
    section = render_markdown(result)
    update_section(args.results_md, "failover", section)
    print(section)
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
