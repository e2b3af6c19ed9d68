"""The JSON bodies of the HTTP front end. `/v1/embeddings` follows OpenAI's embeddings API; the
others mirror the jepa.v1 messages field for field, with JSON objects where gRPC carries JSON text."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from jepa_server.core.planning import RequestedSettings


class Body(BaseModel):
    """A request body: unknown fields are refused, so a typo is an error and not a silent default."""

    model_config = ConfigDict(extra="forbid")


class EmbeddingsRequest(BaseModel):
    """OpenAI's embeddings request (its `user` field is accepted and ignored)."""

    input: str | list[str] = Field(description="A text, or a list of texts embedded in one batch")
    model: str = Field("", description="A served text model; empty = the default one")
    encoding_format: Literal["float", "base64"] = Field("float", description="base64: little-endian float32 bytes, as OpenAI sends them")
    dimensions: int | None = Field(None, description="Truncate and renormalise to this many dimensions (models that allow it)")
    user: str | None = None


class EmbeddingData(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingsResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[EmbeddingData]
    model: str
    usage: Usage


class Sampling(Body):
    """How frames are taken from a video; zeros mean the model's or server's default."""

    frames_per_clip: int = Field(0, ge=0)
    frame_step: int = Field(0, ge=0)
    fps: float = 0.0
    window_stride: int = Field(0, ge=0)
    max_windows: int = Field(0, ge=0)


class Frames(Body):
    """Raw uint8 RGB frames, num_frames x height x width x 3, base64-encoded."""

    data: str
    num_frames: int
    height: int
    width: int
    fps: float = 0.0


class VideoInput(Body):
    """Exactly one source: a path or file:// URI under the server's media roots, an encoded file
    (base64), or raw frames. Multipart requests send the file as a `file` part instead."""

    uri: str | None = None
    encoded: str | None = None
    frames: Frames | None = None
    sampling: Sampling = Field(default_factory=Sampling)


class VideoEmbeddingsRequest(Body):
    video: VideoInput
    model: str = ""
    return_windows: bool = False


class WindowEmbedding(BaseModel):
    index: int
    start_seconds: float
    end_seconds: float
    embedding: list[float]


class ModelCard(BaseModel):
    """A served model, in OpenAI's model-list shape with what an embedding or planning caller needs."""

    id: str
    object: Literal["model"] = "model"
    owned_by: str = "jepa-serve"
    kind: Literal["video", "text", "world"]
    role: str = Field(description="jepa.role: video_pipeline, video_encoder, text_encoder, world_encoder, world_rollout, world_predictor")
    version: str
    dimension: int = Field(description="Embedding size; for a world model's part, the width of its tokens")
    embedding_space: str = Field(description="Empty for a world model's part")
    world_space: str = Field("", description="The world model a world part belongs to (what /v1/plan's `model` may name)")
    dimensions: list[int] = Field(default_factory=list, description="Sizes `dimensions` may truncate to")


class VideoEmbeddingsResponse(BaseModel):
    model: ModelCard
    embedding: list[float]
    frames_decoded: int
    num_windows: int
    duration_seconds: float
    windows: list[WindowEmbedding] = Field(default_factory=list)


class SearchRequest(Body):
    """Exactly one query: text, a video, or an embedding (multipart: a `file` part is the video)."""

    text: str | None = None
    video: VideoInput | None = None
    embedding: list[float] | None = None
    top_k: int = Field(10, ge=0)
    filter: str = ""
    model: str = Field("", description="The video model whose collection is searched")
    text_model: str = ""
    moments: bool = False


class SearchHit(BaseModel):
    video_id: str
    score: float
    window_index: int
    start_seconds: float
    end_seconds: float
    metadata: dict[str, Any]
    moment_start_seconds: float | None = None
    moment_end_seconds: float | None = None


class SearchResponse(BaseModel):
    model: ModelCard
    collection: str
    hits: list[SearchHit]


class IndexItem(Body):
    id: str
    video: VideoInput
    metadata: dict[str, Any] = Field(default_factory=dict)


class IndexRequest(Body):
    """JSON indexing (videos by URI or base64); multipart sends `file` parts with optional `id`
    and `metadata` (JSON) parts in the same order."""

    items: list[IndexItem]
    model: str = ""


class ErrorDetail(BaseModel):
    message: str
    type: str
    code: str | None = None
    param: str | None = None


class IndexedItem(BaseModel):
    """One item's own outcome: `status` 200 with its windows, or its HTTP status and error."""

    id: str
    status: int
    num_windows: int = 0
    duration_seconds: float = 0.0
    collection: str = ""
    error: ErrorDetail | None = None


class IndexResponse(BaseModel):
    items: list[IndexedItem]


class DeleteResponse(BaseModel):
    id: str
    deleted: bool
    rows_deleted: int


class TimeRangeBody(Body):
    start_unix_s: float = 0.0
    end_unix_s: float = Field(0.0, description="0 = now")


class DriftRanges(Body):
    reference: TimeRangeBody
    current: TimeRangeBody


class AnalyzeRequest(Body):
    """AnalyzeIndex's options (docs/diagnostics.md); 0 / "" take the server's defaults."""

    model: str = ""
    filter: str = ""
    max_rows: int = Field(0, ge=0)
    duplicate_threshold: float = 0.0
    outlier_neighbours: int = Field(0, ge=0)
    min_cluster_size: int = Field(0, ge=0)
    captions: bool = True
    gap_threshold: float = 0.0
    drift: DriftRanges | None = None
    top_outliers: int = Field(0, ge=0)
    map_points: int = Field(0, ge=0)
    seed: int = Field(0, ge=0)


class IndexStatsResponse(BaseModel):
    model: ModelCard
    collection: str
    rows: int
    videos: int
    indexed_ids: list[str]
    backend: str
    index_type: str


class PlanObservation(Body):
    image: str = Field(description="base64 of an encoded still image (PNG, JPEG, anything FFmpeg decodes)")
    state: list[float] = Field(description="The end effector's position: the world model's action_dim values")


class PlanGoal(Body):
    """Exactly one: an image, or the tokens of an earlier plan's `goal_embedding` with their world_space."""

    image: str | None = Field(None, description="base64 of an encoded still image")
    embedding: list[float] | None = Field(None, description="N x D token values, row-major")
    world_space: str = Field("", description="With `embedding`: the world space its tokens came from")


class PlanSettings(RequestedSettings):
    """PlanSettings of planning.proto; omitted or null takes the model's recommendation, then the
    server's default (the core validates the values, so both front ends refuse them alike)."""

    model_config = ConfigDict(extra="forbid")


class PlanRequest(Body):
    observation: PlanObservation
    goal: PlanGoal
    settings: PlanSettings = Field(default_factory=PlanSettings)
    model: str = Field("", description="A world_space or a world_encoder's name; empty = the one served")


class PlanIteration(BaseModel):
    index: int = Field(description="1-based")
    best_energy: float
    elite_mean_energy: float
    rollouts: int = Field(description="Action sequences rolled out in this plan so far")


class GoalEmbedding(BaseModel):
    values: list[float] = Field(description="N x D token values, row-major: send them back as goal.embedding")
    world_space: str


class WorldModelCard(BaseModel):
    """WorldModelInfo of planning.proto: the world model that planned."""

    name: str
    version: str
    world_space: str
    action_dim: int
    tokens: int
    token_dim: int
    max_horizon: int
    max_action: list[float]
    rollout: Literal["triton", "gateway"]


class PlanResponse(BaseModel):
    """Plan's stream in one answer: every CEM iteration, then the result."""

    actions: list[list[float]] = Field(description="H x A: the plan, each within +-max_action")
    energies: list[float] = Field(description="H energies of the plan, one per step; the last is what CEM minimised")
    iterations: list[PlanIteration]
    goal_embedding: GoalEmbedding | None = Field(description="The goal's tokens when the goal was an image")
    model: WorldModelCard
    planning_ms: float
    rollouts: int = Field(description="Action sequences rolled out, the plan's own rollout included")
    settings: PlanSettings = Field(description="The settings used, defaults filled in (init_std null: the action bound; seed null: random)")


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class Readiness(BaseModel):
    ready: bool
    services: dict[str, bool]
