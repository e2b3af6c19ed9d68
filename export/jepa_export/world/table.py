"""The demo tabletop: an end effector (a disc) moves by 2-D displacements and pushes a block (a
larger disc), rendered as soft-edged blobs at the frozen encoder's crop size.

Coordinates are fractions of the table, [0, 1] on each axis. The push is kinematic: whenever the
effector overlaps the block, the block is moved out of it along the line between their centres,
so a block only moves the way it is pushed. The state the planner sees is the effector's position
(upstream's proprioception); the block is only in the image. Soft edges and a large block make
the latent energy fall smoothly as the block nears its goal, which planning needs.

Episodes are drawn from seeds: `TRAINING_SEEDS` and `HELDOUT_SEEDS` are disjoint ranges, so an
evaluation never sees a start or goal that training did.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

# Seeds of random-action training trajectories and of held-out evaluation episodes: disjoint ranges.
TRAINING_SEEDS = range(0, 1_000_000)
HELDOUT_SEEDS = range(1_000_000, 2_000_000)


class TableSettings(BaseModel):
    """Geometry, dynamics, rendering and episode distribution of the tabletop world."""

    image_size: int = Field(default=64, ge=16, description="rendered frames are image_size x image_size RGB (the encoder's crop)")
    effector_radius: float = Field(default=0.06, gt=0)
    block_radius: float = Field(default=0.13, gt=0)
    # Width of the soft edge, as a fraction of the table: the blobs fade over about two of these.
    edge_softness: float = Field(default=0.025, gt=0)
    max_action: float = Field(default=0.08, gt=0, description="largest displacement per coordinate and step")
    # Sub-steps per action: the push is resolved along the way, so a fast effector cannot skip through.
    substeps: int = Field(default=4, ge=1)
    # Episodes: the effector starts this far from the block's centre (beyond contact) ...
    start_gap: tuple[float, float] = (0.02, 0.08)
    # ... and the goal is the block pushed this far, by the scripted expert.
    goal_distance: tuple[float, float] = (0.15, 0.3)
    # Degrees between the goal direction and the side of the block the effector starts on. Below
    # about 45 the goal lies past the effector: reaching behind the block is a detour of 6+ steps
    # during which the block, and so the energy, does not move, which no few-step horizon sees.
    min_goal_angle: float = Field(default=45.0, ge=0, le=180)
    success_tolerance: float = Field(default=0.05, gt=0, description="block centre within this of the goal block centre")
    max_steps: int = Field(default=25, ge=1, description="actions per episode, for every policy alike")
    # A wide faint glow around the block (its shadow on the table): the energy keeps falling from afar.
    halo_sigma: float = Field(default=0.25, ge=0)
    halo_strength: float = Field(default=0.6, ge=0, le=1)
    background_rgb: tuple[int, int, int] = (214, 206, 190)
    block_rgb: tuple[int, int, int] = (200, 40, 40)
    effector_rgb: tuple[int, int, int] = (40, 70, 200)

    @property
    def state_low(self) -> list[float]:
        return [self.effector_radius] * 2

    @property
    def state_high(self) -> list[float]:
        return [1.0 - self.effector_radius] * 2


class TableState(BaseModel):
    """The world's true configuration: what success is measured on."""

    effector: tuple[float, float]
    block: tuple[float, float]


class Episode(BaseModel):
    """A held-out task: the start, and the goal configuration whose image the planner is given."""

    seed: int
    start: TableState
    goal: TableState


class Table:
    """The world's dynamics and renderer; stateless, every call takes and returns a `TableState`."""

    def __init__(self, settings: TableSettings | None = None) -> None:
        self.settings = settings or TableSettings()
        size = self.settings.image_size
        centres = (np.arange(size, dtype=np.float32) + 0.5) / size
        self._ys, self._xs = np.meshgrid(centres, centres, indexing="ij")

    def step(self, state: TableState, action: np.ndarray) -> TableState:
        """Move the effector by `action` (clipped to max_action per coordinate), pushing the block."""
        s = self.settings
        action = np.clip(np.asarray(action, dtype=np.float64).reshape(2), -s.max_action, s.max_action)
        effector, block = np.array(state.effector), np.array(state.block)
        contact = s.effector_radius + s.block_radius
        for _ in range(s.substeps):
            effector = np.clip(effector + action / s.substeps, s.effector_radius, 1.0 - s.effector_radius)
            offset = block - effector
            distance = float(np.linalg.norm(offset))
            if distance < contact:
                normal = offset / distance if distance > 1e-9 else action / (np.linalg.norm(action) + 1e-12)
                block = np.clip(effector + normal * contact, s.block_radius, 1.0 - s.block_radius)
                # A block stopped by the table's edge stops the effector instead.
                offset = effector - block
                distance = float(np.linalg.norm(offset))
                if distance < contact:
                    effector = np.clip(block + offset / max(distance, 1e-9) * contact, s.effector_radius, 1.0 - s.effector_radius)
        return TableState(effector=(float(effector[0]), float(effector[1])), block=(float(block[0]), float(block[1])))

    def render(self, state: TableState) -> np.ndarray:
        """uint8 (S, S, 3): background, the block, then the effector on top, both soft-edged."""
        s = self.settings
        image = np.broadcast_to(np.asarray(s.background_rgb, np.float32), (s.image_size, s.image_size, 3)).copy()
        for (x, y), radius, rgb in ((state.block, s.block_radius, s.block_rgb), (state.effector, s.effector_radius, s.effector_rgb)):
            distance = np.sqrt((self._xs - x) ** 2 + (self._ys - y) ** 2)
            alpha = 1.0 / (1.0 + np.exp((distance - radius) / s.edge_softness))
            if rgb is s.block_rgb and s.halo_sigma > 0:
                alpha = np.maximum(alpha, s.halo_strength * np.exp(-0.5 * (np.maximum(distance - radius, 0) / s.halo_sigma) ** 2))
            image = image * (1.0 - alpha[..., None]) + np.asarray(rgb, np.float32) * alpha[..., None]
        return np.clip(np.rint(image), 0, 255).astype(np.uint8)

    def block_distance(self, state: TableState, goal: TableState) -> float:
        return float(np.hypot(state.block[0] - goal.block[0], state.block[1] - goal.block[1]))

    def success(self, state: TableState, goal: TableState) -> bool:
        return self.block_distance(state, goal) <= self.settings.success_tolerance

    def random_state(self, rng: np.random.Generator) -> TableState:
        """A block anywhere it fits, the effector a small gap away from it in a random direction."""
        s = self.settings
        margin = s.block_radius + 0.02
        block = rng.uniform(margin, 1.0 - margin, size=2)
        for _ in range(100):
            angle = rng.uniform(0, 2 * np.pi)
            reach = s.effector_radius + s.block_radius + rng.uniform(*s.start_gap)
            effector = block + reach * np.array([np.cos(angle), np.sin(angle)])
            if np.all(effector >= s.effector_radius) and np.all(effector <= 1.0 - s.effector_radius):
                break
        else:
            effector = np.clip(effector, s.effector_radius, 1.0 - s.effector_radius)
        return TableState(effector=(float(effector[0]), float(effector[1])), block=(float(block[0]), float(block[1])))

    def expert_push(self, state: TableState, target_block: np.ndarray) -> tuple[TableState, int]:
        """A scripted pusher: go round to behind the block, then push it to `target_block`.
        Returns the final state and the steps it took; it shows the goal is reachable by pushing."""
        s = self.settings
        contact = s.effector_radius + s.block_radius
        steps = 0
        for steps in range(1, 200):  # noqa: B007 - the count is returned
            block, effector = np.array(state.block), np.array(state.effector)
            to_target = target_block - block
            remaining = float(np.linalg.norm(to_target))
            if remaining < 1e-3:
                break
            direction = to_target / remaining
            behind = block - direction * (contact + 0.005)
            if np.linalg.norm(effector - behind) > 0.01:
                # Round the block: aim for the point behind it, stepping out sideways when the block is in the way.
                waypoint = behind
                to_block = block - effector
                if np.dot(behind - effector, to_block) > 0 and np.linalg.norm(to_block) < contact + 0.06:
                    side = np.array([-to_block[1], to_block[0]])
                    side *= np.sign(np.dot(side, behind - block)) or 1.0
                    waypoint = block + side / np.linalg.norm(side) * (contact + 0.04)
                action = waypoint - effector
            else:
                action = direction * (remaining + 0.005)
            scale = max(1.0, float(np.max(np.abs(action))) / s.max_action)
            state = self.step(state, action / scale)
        return state, steps

    def episode(self, seed: int) -> Episode:
        """A start and a goal the expert reaches by pushing the block `goal_distance` away, inside the table."""
        s = self.settings
        rng = np.random.default_rng(seed)
        margin = s.block_radius + 0.02
        for _ in range(1000):
            start = self.random_state(rng)
            angle = rng.uniform(0, 2 * np.pi)
            direction = np.array([np.cos(angle), np.sin(angle)])
            target = np.array(start.block) + rng.uniform(*s.goal_distance) * direction
            side = np.array(start.effector) - np.array(start.block)
            facing = np.degrees(np.arccos(np.clip(side @ direction / np.linalg.norm(side), -1.0, 1.0)))
            if facing >= s.min_goal_angle and np.all(target >= margin) and np.all(target <= 1.0 - margin):
                goal, _ = self.expert_push(start, target)
                if self.block_distance(goal, TableState(effector=goal.effector, block=(float(target[0]), float(target[1])))) < 0.01:
                    return Episode(seed=seed, start=start, goal=goal)
        raise RuntimeError(f"seed {seed}: no reachable goal in 1000 draws")

    def random_trajectory(self, seed: int, steps: int) -> tuple[list[TableState], np.ndarray]:
        """The unlabelled "robot video": `steps` random actions from a random start.
        Actions are smooth-ish (each repeats the previous one with some chance) so the effector
        travels and meets the block often, as a teleoperated arm would. Returns steps+1 states and (steps, 2) actions."""
        s = self.settings
        rng = np.random.default_rng(seed)
        states = [self.random_state(rng)]
        actions = np.zeros((steps, 2), np.float32)
        action = rng.uniform(-s.max_action, s.max_action, size=2)
        for index in range(steps):
            if rng.random() < 0.5:
                action = rng.uniform(-s.max_action, s.max_action, size=2)
            # Now and then, head for the block: random walks rarely push it otherwise.
            if rng.random() < 0.3:
                toward = np.array(states[-1].block) - np.array(states[-1].effector)
                action = np.clip(toward + rng.normal(0, 0.05, size=2), -s.max_action, s.max_action)
            actions[index] = action
            states.append(self.step(states[-1], action))
        return states, actions
