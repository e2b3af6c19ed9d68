"""The JSON routes. Each is named after the jepa.v1 operation it shares with gRPC (the name its
scope, metrics and admission use) and calls the same core method; this module only translates."""

from __future__ import annotations

import base64
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from jepa_client.diagnosis import AnalyzeOptions, IndexDiagnosis, TimeRange, diagnosis_json

from jepa_server.core.embedding import TextEmbeddingResult, VideoEmbeddingResult
from jepa_server.core.planning import IterationEvent, PlanResult
from jepa_server.core.registry import ModelInfo
from jepa_server.core.retrieval import FailedItem, IndexedVideo, IndexItem, SearchResult, TextQuery, VectorQuery, VideoQuery, check_metadata
from jepa_server.core.sources import RequestVideo, media_file
from jepa_server.errors import GatewayError, InvalidInput, NotFound
from jepa_server.http import bodies, schemas
from jepa_server.http.context import ApiContext
from jepa_server.http.errors import status_of, unauthenticated
from jepa_server.tokens import SCOPES, grant_for

router = APIRouter()


def context(request: Request) -> ApiContext:
    return request.app.state.context


def model_card(info: ModelInfo) -> schemas.ModelCard:
    return schemas.ModelCard(
        id=info.name, kind=info.kind, role=info.role, version=info.version, dimension=info.dimension, embedding_space=info.embedding_space,
        world_space=info.world_space, dimensions=list(info.truncatable_dimensions),
    )


def _vector(values: np.ndarray) -> list[float]:
    return np.asarray(values, dtype=np.float32).ravel().tolist()


def _openai_embeddings(result: TextEmbeddingResult, encoding_format: str) -> schemas.EmbeddingsResponse:
    vectors = np.asarray(result.embeddings, dtype="<f4")
    data = [
        schemas.EmbeddingData(index=index, embedding=base64.b64encode(vector.tobytes()).decode() if encoding_format == "base64" else vector.tolist())
        for index, vector in enumerate(vectors)
    ]
    tokens = sum(result.token_counts)
    return schemas.EmbeddingsResponse(data=data, model=result.model.info.name, usage=schemas.Usage(prompt_tokens=tokens, total_tokens=tokens))


@router.post("/v1/embeddings", name="EmbedText", response_model=schemas.EmbeddingsResponse, tags=["embeddings"])
async def embed_text(request: Request) -> schemas.EmbeddingsResponse:
    """OpenAI-compatible text embeddings (`openai.OpenAI(base_url=".../v1").embeddings.create`)."""
    body = await bodies.json_body(request, schemas.EmbeddingsRequest)
    texts = [body.input] if isinstance(body.input, str) else body.input
    try:
        result = await context(request).embedder.embed_text(texts, body.model, dimensions=body.dimensions)
    except GatewayError as error:  # the core says texts[i]; OpenAI callers wrote input[i]
        raise error.with_field(error.field.replace("texts", "input", 1)) from None
    return _openai_embeddings(result, body.encoding_format)


def _video_response(result: VideoEmbeddingResult, return_windows: bool) -> schemas.VideoEmbeddingsResponse:
    windows = [
        schemas.WindowEmbedding(index=span.index, start_seconds=span.start_seconds, end_seconds=span.end_seconds, embedding=_vector(vector))
        for span, vector in zip(result.window_spans, result.window_embeddings)
    ]
    return schemas.VideoEmbeddingsResponse(
        model=model_card(result.model.info), embedding=_vector(result.embedding), frames_decoded=result.frames_decoded,
        num_windows=len(result.window_spans), duration_seconds=result.duration_seconds, windows=windows if return_windows else [],
    )


async def _video_request(request: Request) -> schemas.VideoEmbeddingsRequest | tuple[bytes, schemas.VideoEmbeddingsRequest]:
    if not bodies.is_multipart(request):
        return await bodies.json_body(request, schemas.VideoEmbeddingsRequest)
    form = await request.form()
    files = bodies.uploads(form)
    if len(files) != 1:
        raise InvalidInput("file", f"send exactly one video file part, got {len(files)}")
    sampling = bodies.validated(schemas.Sampling, bodies.form_json(form, "sampling", {}), "sampling")
    options = schemas.VideoEmbeddingsRequest(
        video=schemas.VideoInput(sampling=sampling), model=bodies.form_text(form, "model"), return_windows=bodies.form_flag(form, "return_windows")
    )
    return await bodies.upload_source(files[0]), options


@router.post(
    "/v1/videos/embeddings", name="EmbedVideo", response_model=schemas.VideoEmbeddingsResponse, tags=["embeddings"],
    openapi_extra={"requestBody": {"content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/VideoEmbeddingsRequest"}},
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary"}, "model": {"type": "string"},
            "sampling": {"type": "string", "description": "JSON of Sampling"}, "return_windows": {"type": "boolean"},
        }}},
    }}},
)
async def embed_video(request: Request) -> schemas.VideoEmbeddingsResponse:
    """A video's embedding (and its windows'): a multipart upload, or JSON with a URI under the
    media roots, base64 bytes or raw frames."""
    parsed = await _video_request(request)
    source: RequestVideo
    if isinstance(parsed, tuple):
        source, options = parsed
    else:
        options = parsed
        source = bodies.video_source(options.video)
    sampling = bodies.sampling_request(options.video.sampling)
    result = await context(request).embedder.embed_video(source, sampling, options.model)
    return _video_response(result, options.return_windows)


async def _search_request(request: Request) -> tuple[schemas.SearchRequest, bytes | None]:
    if not bodies.is_multipart(request):
        return await bodies.json_body(request, schemas.SearchRequest), None
    form = await request.form()
    files = bodies.uploads(form)
    if len(files) != 1:
        raise InvalidInput("file", f"send exactly one query video, got {len(files)}")
    fields = {key: form.get(key) for key in ("top_k", "filter", "model", "text_model", "moments") if form.get(key) is not None}
    search = bodies.validated(schemas.SearchRequest, fields)
    return search, await bodies.upload_source(files[0])


def _query(search: schemas.SearchRequest, upload: bytes | None) -> TextQuery | VideoQuery | VectorQuery:
    given = [name for name in ("text", "video", "embedding") if getattr(search, name) is not None] + ["file"] * (upload is not None)
    if len(given) != 1:
        raise InvalidInput("query", "set one of text, video or embedding")
    if search.text is not None:
        return TextQuery(search.text, search.text_model)
    if upload is not None:
        return VideoQuery(upload, bodies.sampling_request(schemas.Sampling()))
    if search.video is not None:
        return VideoQuery(bodies.video_source(search.video), bodies.sampling_request(search.video.sampling))
    return VectorQuery(np.asarray(search.embedding, dtype=np.float32))


def _search_response(result: SearchResult) -> schemas.SearchResponse:
    hits = [
        schemas.SearchHit(
            video_id=hit.video_id, score=hit.score, window_index=hit.window_index, start_seconds=hit.start_seconds, end_seconds=hit.end_seconds,
            metadata=hit.metadata, moment_start_seconds=hit.moment[0] if hit.moment else None, moment_end_seconds=hit.moment[1] if hit.moment else None,
        )
        for hit in result.hits
    ]
    return schemas.SearchResponse(model=model_card(result.model), collection=result.collection, hits=hits)


@router.post("/v1/search", name="Search", response_model=schemas.SearchResponse, tags=["retrieval"])
async def search(request: Request) -> schemas.SearchResponse:
    """Ranked videos for a text, a video (JSON, or a multipart `file`) or an embedding; `filter`
    is a Milvus expression over the metadata; `moments` adds each video's best-matching moment."""
    search, upload = await _search_request(request)
    result = await context(request).retriever.search(_query(search, upload), search.top_k, search.filter, search.model, search.moments)
    return _search_response(result)


def _indexed(outcome: IndexedVideo | FailedItem) -> schemas.IndexedItem:
    if isinstance(outcome, FailedItem):
        status, error_type, message, param = status_of(outcome.error)
        return schemas.IndexedItem(id=outcome.video_id, status=status, error=schemas.ErrorDetail(message=message, type=error_type, param=param))
    return schemas.IndexedItem(
        id=outcome.video_id, status=200, num_windows=outcome.num_windows, duration_seconds=outcome.duration_seconds, collection=outcome.collection
    )


async def _multipart_items(request: Request, api: ApiContext) -> list[IndexItem | FailedItem]:
    form = await request.form()
    files = bodies.uploads(form)
    if not files:
        raise InvalidInput("file", "send at least one video file part")
    ids = form.getlist("id")
    metadata = form.getlist("metadata")
    if ids and len(ids) != len(files):
        raise InvalidInput("id", f"got {len(ids)} ids for {len(files)} files; send one per file, or none to use the file names")
    if metadata and len(metadata) != len(files):
        raise InvalidInput("metadata", f"got {len(metadata)} metadata parts for {len(files)} files; send one per file, or none")
    model = bodies.form_text(form, "model")
    items: list[IndexItem | FailedItem] = []
    for position, upload in enumerate(files):
        video_id = str(ids[position]) if ids else upload.filename or f"file-{position}"
        try:
            metadata_of = bodies.json_value(metadata[position], f"metadata[{position}]") if metadata else {}
            items.append(IndexItem(
                video_id=video_id, source=await bodies.upload_source(upload), sampling=bodies.sampling_request(schemas.Sampling()),
                metadata=check_metadata(metadata_of, api.settings.max_metadata_bytes, f"metadata[{position}]"), model=model,
            ))
        except GatewayError as error:
            items.append(FailedItem(video_id, error))
    return items


async def _json_items(request: Request, api: ApiContext) -> list[IndexItem | FailedItem]:
    body = await bodies.json_body(request, schemas.IndexRequest)
    items: list[IndexItem | FailedItem] = []
    for position, item in enumerate(body.items):
        try:
            items.append(IndexItem(
                video_id=item.id, source=bodies.video_source(item.video, f"items[{position}].video"),
                sampling=bodies.sampling_request(item.video.sampling),
                metadata=check_metadata(item.metadata, api.settings.max_metadata_bytes, f"items[{position}].metadata"), model=body.model,
            ))
        except GatewayError as error:
            items.append(FailedItem(item.id, error))
    return items


@router.post(
    "/v1/index", name="IndexVideos", response_model=schemas.IndexResponse, tags=["retrieval"],
    openapi_extra={"requestBody": {"content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/IndexRequest"}},
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
            "id": {"type": "array", "items": {"type": "string"}, "description": "one per file; default: the file names"},
            "metadata": {"type": "array", "items": {"type": "string"}, "description": "one JSON object per file"},
            "model": {"type": "string"},
        }}},
    }}},
)
async def index_videos(request: Request) -> schemas.IndexResponse:
    """Index several videos (replacing an id's earlier rows); each item answers for itself."""
    api = context(request)
    items = await (_multipart_items(request, api) if bodies.is_multipart(request) else _json_items(request, api))

    async def stream():
        for item in items:
            yield item

    outcomes = await api.retriever.index_videos(stream())
    return schemas.IndexResponse(items=[_indexed(outcome) for outcome in outcomes])


@router.delete("/v1/videos/{video_id}", name="DeleteVideos", response_model=schemas.DeleteResponse, tags=["retrieval"])
async def delete_video(request: Request, video_id: str, model: str = "") -> schemas.DeleteResponse:
    """Remove every window of a video; 404 when the index holds none."""
    deleted_ids, rows = await context(request).retriever.delete([video_id], model)
    if not deleted_ids:
        raise NotFound("video_id", f"{video_id!r} is not in the index")
    return schemas.DeleteResponse(id=video_id, deleted=True, rows_deleted=rows)


@router.get("/v1/index/stats", name="GetIndexStats", response_model=schemas.IndexStatsResponse, tags=["retrieval"])
async def index_stats(request: Request, model: str = "", ids: Annotated[list[str] | None, Query()] = None) -> schemas.IndexStatsResponse:
    """Rows and videos in a model's collection; with `ids`, which of them are indexed."""
    result = await context(request).retriever.stats(model, ids or [])
    return schemas.IndexStatsResponse(
        model=model_card(result.model), collection=result.collection, rows=result.rows, videos=result.videos,
        indexed_ids=result.indexed_ids, backend=result.backend, index_type=result.index_type,
    )


@router.post("/v1/index/analyze", name="AnalyzeIndex", tags=["retrieval"])
async def analyze_index(request: Request) -> Response:
    """Index diagnostics (docs/diagnostics.md): the whole diagnosis once it is done, as the gRPC
    stream's last message (thumbnails in base64); `jepa diagnose` shows progress as it runs."""
    body = await bodies.json_body(request, schemas.AnalyzeRequest)
    drift = None
    if body.drift is not None:
        drift = (TimeRange(**body.drift.reference.model_dump()), TimeRange(**body.drift.current.model_dump()))
    options = AnalyzeOptions(**body.model_dump(exclude={"drift"}), drift=drift)
    diagnosis = None
    async for event in context(request).analyzer.analyze(options):
        if isinstance(event, IndexDiagnosis):
            diagnosis = event
    assert diagnosis is not None  # the stream always ends with one
    return Response(diagnosis_json(diagnosis), media_type="application/json")


@router.get("/v1/models", name="ListModels", response_model=schemas.ModelList, tags=["models"])
async def list_models(request: Request) -> schemas.ModelList:
    """Every served video and text model, then each world model's parts (`kind` "world", with their `world_space`)."""
    return schemas.ModelList(data=[model_card(info) for info in context(request).embedder.registry.models()])


def _plan_response(result: PlanResult, iterations: list[IterationEvent]) -> schemas.PlanResponse:
    world, goal = result.world, result.returned_goal
    return schemas.PlanResponse(
        actions=result.actions.tolist(), energies=result.energies.tolist(),
        iterations=[
            schemas.PlanIteration(index=event.iteration, best_energy=event.best_energy, elite_mean_energy=event.elite_mean_energy, rollouts=event.rollouts)
            for event in iterations
        ],
        goal_embedding=None if goal is None else schemas.GoalEmbedding(values=_vector(goal.values), world_space=goal.world_space),
        model=schemas.WorldModelCard(
            name=world.encoder.name, version=world.encoder.version, world_space=world.world_space, action_dim=world.action_dim, tokens=world.tokens,
            token_dim=world.token_dim, max_horizon=world.max_horizon, max_action=world.max_action.tolist(), rollout=result.rollout,
        ),
        planning_ms=result.planning_ms, rollouts=result.rollouts, settings=schemas.PlanSettings.model_validate(result.settings.model_dump()),
    )


@router.post("/v1/plan", name="Plan", response_model=schemas.PlanResponse, tags=["planning"])
async def plan(request: Request) -> schemas.PlanResponse:
    """One plan from one observation (PlanService.Plan): its CEM iterations and the result in one
    answer, as /v1/index/analyze answers AnalyzeIndex; gRPC streams the iterations as they run."""
    body = await bodies.json_body(request, schemas.PlanRequest)
    observation, goal = bodies.plan_observation(body.observation), bodies.plan_goal(body.goal)
    iterations: list[IterationEvent] = []
    result = None
    async for event in context(request).planner.plan(observation, goal, body.settings, body.model):
        if isinstance(event, PlanResult):
            result = event
        else:
            iterations.append(event)
    assert result is not None  # the stream always ends with one
    return _plan_response(result, iterations)


@router.get("/v1/embedding-health", name="GetEmbeddingHealth", tags=["retrieval"])
async def embedding_health(request: Request) -> dict[str, dict[str, float]]:
    """Per model: the mean norm, mean pairwise cosine and effective rank of recent embeddings
    (the `jepa_embedding_*` gauges; a collapsing model drifts towards rank 1 and cosine 1)."""
    return context(request).metrics.embedding_health.snapshot()


@router.get("/v1/media", name="GetMedia", tags=["retrieval"])
async def media(request: Request, uri: str) -> FileResponse:
    """A video file under the media roots, with HTTP range requests (the search page's player)."""
    path = media_file(uri, context(request).settings.media_roots, "uri")
    return FileResponse(path, media_type="video/mp4" if str(path).endswith(".mp4") else None)


@router.get("/v1/scopes", tags=["auth"])
async def scopes(request: Request) -> JSONResponse:
    """Whether this server wants a token, and the scopes the presented one holds (the search page
    shows the upload form only to a token with `index`)."""
    api = context(request)
    if not api.grants:
        return JSONResponse({"authentication": False, "scopes": sorted(SCOPES)})
    grant = grant_for(api.grants, request.headers.get("authorization"))
    if grant is None:
        return unauthenticated()
    return JSONResponse({"authentication": True, "scopes": sorted(grant.scopes if grant.scopes is not None else SCOPES)})


@router.get("/health", tags=["health"])
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready", response_model=schemas.Readiness, tags=["health"])
async def ready(request: Request) -> JSONResponse:
    """Readiness, as gRPC health reports it: 200 when every model answered, 503 otherwise."""
    services = context(request).readiness()
    readiness = schemas.Readiness(ready=services.get("", False), services=services)
    return JSONResponse(readiness.model_dump(), status_code=200 if readiness.ready else 503)
