"""The cross-entropy method over action sequences (upstream `notebooks/utils/mpc_utils.py::cem`).

numpy only, no I/O: the gateway's planner and the offline evaluation run the same code, so what
is measured offline is what is served. Samples are drawn from a Gaussian per step and action
coordinate, clipped to the world's action bound; the `top_k` lowest-energy samples become the next
mean and standard deviation, smoothed by momentum as upstream does.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field


class CEMSettings(BaseModel):
    """One plan's search: `samples` rollouts of `horizon` steps, `iterations` times."""

    horizon: int = Field(default=3, ge=1)
    samples: int = Field(default=128, ge=1)
    iterations: int = Field(default=5, ge=1)
    top_k: int = Field(default=12, ge=1)
    # The first iteration's spread; None starts at the action bound (upstream `maxnorm`).
    init_std: float | None = Field(default=None, gt=0)
    # Weight of the previous mean / std in each update (upstream momentum_mean, momentum_std).
    momentum_mean: float = Field(default=0.15, ge=0, lt=1)
    momentum_std: float = Field(default=0.15, ge=0, lt=1)
    seed: int | None = None


class IterationResult(BaseModel):
    iteration: int
    best_energy: float
    elite_mean_energy: float


class CrossEntropyMethod:
    """The search state of one plan: sample, score elsewhere, update; repeat."""

    def __init__(self, settings: CEMSettings, max_action: np.ndarray, initial_mean: np.ndarray | None = None) -> None:
        self.settings = settings
        self.max_action = np.asarray(max_action, dtype=np.float32).reshape(-1)
        shape = (settings.horizon, self.max_action.size)
        self.mean = np.zeros(shape, np.float32) if initial_mean is None else np.asarray(initial_mean, np.float32).reshape(shape).copy()
        init_std = self.max_action if settings.init_std is None else np.full_like(self.max_action, settings.init_std)
        self.std = np.broadcast_to(init_std, shape).astype(np.float32)
        self.iteration = 0
        self._rng = np.random.default_rng(settings.seed)

    def sample(self) -> np.ndarray:
        """(samples, horizon, action_dim) float32 action sequences within the action bound."""
        noise = self._rng.standard_normal((self.settings.samples, *self.mean.shape), dtype=np.float32)
        return np.clip(self.mean + noise * self.std, -self.max_action, self.max_action)

    def update(self, actions: np.ndarray, objective: np.ndarray) -> IterationResult:
        """Refit the distribution to the `top_k` samples with the lowest objective (energy)."""
        objective = np.asarray(objective, dtype=np.float64).reshape(-1)
        if objective.size != len(actions):
            raise ValueError(f"objective: got {objective.size} values for {len(actions)} samples")
        top_k = min(self.settings.top_k, objective.size)
        elite_index = np.argpartition(objective, top_k - 1)[:top_k]
        elites = actions[elite_index]
        momentum_mean, momentum_std = self.settings.momentum_mean, self.settings.momentum_std
        self.mean = (elites.mean(axis=0) * (1.0 - momentum_mean) + self.mean * momentum_mean).astype(np.float32)
        elite_std = elites.std(axis=0, ddof=1) if top_k > 1 else np.zeros_like(self.std)
        self.std = (elite_std * (1.0 - momentum_std) + self.std * momentum_std).astype(np.float32)
        self.iteration += 1
        return IterationResult(iteration=self.iteration, best_energy=float(objective.min()), elite_mean_energy=float(objective[elite_index].mean()))

    def plan(self) -> np.ndarray:
        """(horizon, action_dim): the action sequence the search settled on (the mean)."""
        return np.clip(self.mean, -self.max_action, self.max_action)

    def warm_start(self) -> np.ndarray:
        """The plan shifted by the step just executed, for the next decision of closed-loop MPC."""
        shifted = np.zeros_like(self.mean)
        shifted[:-1] = self.plan()[1:]
        return shifted
