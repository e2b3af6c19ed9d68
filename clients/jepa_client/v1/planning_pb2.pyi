from jepa_client.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Image(_message.Message):
    __slots__ = ("encoded", "frames")
    ENCODED_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    encoded: bytes
    frames: _common_pb2.Frames
    def __init__(self, encoded: _Optional[bytes] = ..., frames: _Optional[_Union[_common_pb2.Frames, _Mapping]] = ...) -> None: ...

class Observation(_message.Message):
    __slots__ = ("image", "state")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    image: Image
    state: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, image: _Optional[_Union[Image, _Mapping]] = ..., state: _Optional[_Iterable[float]] = ...) -> None: ...

class GoalEmbedding(_message.Message):
    __slots__ = ("values", "world_space")
    VALUES_FIELD_NUMBER: _ClassVar[int]
    WORLD_SPACE_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    world_space: str
    def __init__(self, values: _Optional[_Iterable[float]] = ..., world_space: _Optional[str] = ...) -> None: ...

class Goal(_message.Message):
    __slots__ = ("image", "embedding")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    image: Image
    embedding: GoalEmbedding
    def __init__(self, image: _Optional[_Union[Image, _Mapping]] = ..., embedding: _Optional[_Union[GoalEmbedding, _Mapping]] = ...) -> None: ...

class PlanSettings(_message.Message):
    __slots__ = ("horizon", "samples", "iterations", "top_k", "init_std", "momentum_mean", "momentum_std", "seed")
    HORIZON_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    ITERATIONS_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    INIT_STD_FIELD_NUMBER: _ClassVar[int]
    MOMENTUM_MEAN_FIELD_NUMBER: _ClassVar[int]
    MOMENTUM_STD_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    horizon: int
    samples: int
    iterations: int
    top_k: int
    init_std: float
    momentum_mean: float
    momentum_std: float
    seed: int
    def __init__(self, horizon: _Optional[int] = ..., samples: _Optional[int] = ..., iterations: _Optional[int] = ..., top_k: _Optional[int] = ..., init_std: _Optional[float] = ..., momentum_mean: _Optional[float] = ..., momentum_std: _Optional[float] = ..., seed: _Optional[int] = ...) -> None: ...

class PlanRequest(_message.Message):
    __slots__ = ("observation", "goal", "settings", "model")
    OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    GOAL_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    observation: Observation
    goal: Goal
    settings: PlanSettings
    model: str
    def __init__(self, observation: _Optional[_Union[Observation, _Mapping]] = ..., goal: _Optional[_Union[Goal, _Mapping]] = ..., settings: _Optional[_Union[PlanSettings, _Mapping]] = ..., model: _Optional[str] = ...) -> None: ...

class WorldModelInfo(_message.Message):
    __slots__ = ("name", "version", "world_space", "action_dim", "tokens", "token_dim", "max_horizon", "max_action", "rollout")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    WORLD_SPACE_FIELD_NUMBER: _ClassVar[int]
    ACTION_DIM_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOKEN_DIM_FIELD_NUMBER: _ClassVar[int]
    MAX_HORIZON_FIELD_NUMBER: _ClassVar[int]
    MAX_ACTION_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    world_space: str
    action_dim: int
    tokens: int
    token_dim: int
    max_horizon: int
    max_action: _containers.RepeatedScalarFieldContainer[float]
    rollout: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., world_space: _Optional[str] = ..., action_dim: _Optional[int] = ..., tokens: _Optional[int] = ..., token_dim: _Optional[int] = ..., max_horizon: _Optional[int] = ..., max_action: _Optional[_Iterable[float]] = ..., rollout: _Optional[str] = ...) -> None: ...

class PlanIteration(_message.Message):
    __slots__ = ("index", "best_energy", "elite_mean_energy", "rollouts")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    BEST_ENERGY_FIELD_NUMBER: _ClassVar[int]
    ELITE_MEAN_ENERGY_FIELD_NUMBER: _ClassVar[int]
    ROLLOUTS_FIELD_NUMBER: _ClassVar[int]
    index: int
    best_energy: float
    elite_mean_energy: float
    rollouts: int
    def __init__(self, index: _Optional[int] = ..., best_energy: _Optional[float] = ..., elite_mean_energy: _Optional[float] = ..., rollouts: _Optional[int] = ...) -> None: ...

class PlanResult(_message.Message):
    __slots__ = ("actions", "horizon", "action_dim", "energies", "goal_embedding", "model", "planning_ms", "rollouts", "settings")
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    HORIZON_FIELD_NUMBER: _ClassVar[int]
    ACTION_DIM_FIELD_NUMBER: _ClassVar[int]
    ENERGIES_FIELD_NUMBER: _ClassVar[int]
    GOAL_EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PLANNING_MS_FIELD_NUMBER: _ClassVar[int]
    ROLLOUTS_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedScalarFieldContainer[float]
    horizon: int
    action_dim: int
    energies: _containers.RepeatedScalarFieldContainer[float]
    goal_embedding: GoalEmbedding
    model: WorldModelInfo
    planning_ms: float
    rollouts: int
    settings: PlanSettings
    def __init__(self, actions: _Optional[_Iterable[float]] = ..., horizon: _Optional[int] = ..., action_dim: _Optional[int] = ..., energies: _Optional[_Iterable[float]] = ..., goal_embedding: _Optional[_Union[GoalEmbedding, _Mapping]] = ..., model: _Optional[_Union[WorldModelInfo, _Mapping]] = ..., planning_ms: _Optional[float] = ..., rollouts: _Optional[int] = ..., settings: _Optional[_Union[PlanSettings, _Mapping]] = ...) -> None: ...

class PlanEvent(_message.Message):
    __slots__ = ("iteration", "result")
    ITERATION_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    iteration: PlanIteration
    result: PlanResult
    def __init__(self, iteration: _Optional[_Union[PlanIteration, _Mapping]] = ..., result: _Optional[_Union[PlanResult, _Mapping]] = ...) -> None: ...

class PlanStreamRequest(_message.Message):
    __slots__ = ("goal", "settings", "model", "observation")
    GOAL_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    goal: Goal
    settings: PlanSettings
    model: str
    observation: Observation
    def __init__(self, goal: _Optional[_Union[Goal, _Mapping]] = ..., settings: _Optional[_Union[PlanSettings, _Mapping]] = ..., model: _Optional[str] = ..., observation: _Optional[_Union[Observation, _Mapping]] = ...) -> None: ...

class PlanStreamResponse(_message.Message):
    __slots__ = ("step", "action", "plan", "energies", "iteration_best_energies", "rollouts", "planning_ms", "model", "goal_embedding")
    STEP_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    ENERGIES_FIELD_NUMBER: _ClassVar[int]
    ITERATION_BEST_ENERGIES_FIELD_NUMBER: _ClassVar[int]
    ROLLOUTS_FIELD_NUMBER: _ClassVar[int]
    PLANNING_MS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    GOAL_EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    step: int
    action: _containers.RepeatedScalarFieldContainer[float]
    plan: _containers.RepeatedScalarFieldContainer[float]
    energies: _containers.RepeatedScalarFieldContainer[float]
    iteration_best_energies: _containers.RepeatedScalarFieldContainer[float]
    rollouts: int
    planning_ms: float
    model: WorldModelInfo
    goal_embedding: GoalEmbedding
    def __init__(self, step: _Optional[int] = ..., action: _Optional[_Iterable[float]] = ..., plan: _Optional[_Iterable[float]] = ..., energies: _Optional[_Iterable[float]] = ..., iteration_best_energies: _Optional[_Iterable[float]] = ..., rollouts: _Optional[int] = ..., planning_ms: _Optional[float] = ..., model: _Optional[_Union[WorldModelInfo, _Mapping]] = ..., goal_embedding: _Optional[_Union[GoalEmbedding, _Mapping]] = ...) -> None: ...
