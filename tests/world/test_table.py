import numpy as np
import pytest

from jepa_export.world.episodes import heldout_episodes, random_policy, run_episode
from jepa_export.world.table import HELDOUT_SEEDS, TRAINING_SEEDS, Table, TableSettings, TableState
from jepa_export.world.train import TrainSettings, trajectory_seeds

TABLE = Table()
CONTACT = TABLE.settings.effector_radius + TABLE.settings.block_radius


def test_an_effector_pushing_into_the_block_moves_it_along_the_push():
    start = TableState(effector=(0.5 - CONTACT - 0.01, 0.5), block=(0.5, 0.5))
    after = TABLE.step(start, np.array([0.06, 0.0]))
    assert after.effector == pytest.approx((0.5 - CONTACT + 0.05, 0.5))
    assert after.block == pytest.approx((0.55, 0.5))
    assert np.hypot(after.block[0] - after.effector[0], after.block[1] - after.effector[1]) >= CONTACT - 1e-9


def test_an_effector_away_from_the_block_leaves_it_where_it_is():
    start = TableState(effector=(0.2, 0.2), block=(0.7, 0.7))
    after = TABLE.step(start, np.array([0.05, -0.03]))
    assert after.block == start.block
    assert after.effector == pytest.approx((0.25, 0.17))


def test_actions_are_clipped_per_coordinate_to_max_action():
    limit = TABLE.settings.max_action
    after = TABLE.step(TableState(effector=(0.5, 0.5), block=(0.85, 0.15)), np.array([1.0, -1.0]))
    assert after.effector == pytest.approx((0.5 + limit, 0.5 - limit))


def test_the_table_edge_stops_the_block_and_then_the_effector():
    settings = TABLE.settings
    start = TableState(effector=(1.0 - 2 * settings.block_radius - settings.effector_radius, 0.5), block=(1.0 - settings.block_radius, 0.5))
    after = TABLE.step(start, np.array([settings.max_action, 0.0]))
    assert after.block[0] == pytest.approx(1.0 - settings.block_radius)
    assert after.effector[0] <= after.block[0] - CONTACT + 1e-6
    cornered = TABLE.step(TableState(effector=(0.03, 0.5), block=(0.8, 0.8)), np.array([-0.08, 0.0]))
    assert cornered.effector[0] == pytest.approx(settings.state_low[0])


def test_render_is_the_encoders_crop_with_the_block_colour_at_the_block():
    image = TABLE.render(TableState(effector=(0.2, 0.2), block=(0.75, 0.5)))
    size = TABLE.settings.image_size
    assert image.shape == (size, size, 3) and image.dtype == np.uint8
    red, green, blue = image[size // 2, int(0.75 * size)].astype(int)
    assert red > 150 and green < 80 and blue < 80
    assert image[int(0.2 * size), int(0.2 * size), 2] > 150


def test_episodes_are_reproducible_from_their_seed_and_differ_between_seeds():
    assert TABLE.episode(HELDOUT_SEEDS[3]) == TABLE.episode(HELDOUT_SEEDS[3])
    assert TABLE.episode(HELDOUT_SEEDS[3]) != TABLE.episode(HELDOUT_SEEDS[4])


def test_an_episodes_goal_is_the_block_pushed_a_moderate_distance():
    low, high = TABLE.settings.goal_distance
    for episode in heldout_episodes(TABLE, 10):
        assert low - 0.01 <= TABLE.block_distance(episode.start, episode.goal) <= high + 0.01
        assert not TABLE.success(episode.start, episode.goal)


def test_goals_never_lie_straight_past_the_effector():
    for episode in heldout_episodes(TABLE, 20):
        side = np.subtract(episode.start.effector, episode.start.block)
        direction = np.subtract(episode.goal.block, episode.start.block)
        angle = np.degrees(np.arccos(side @ direction / np.linalg.norm(side) / np.linalg.norm(direction)))
        assert angle >= TABLE.settings.min_goal_angle - 2  # the expert's push bends the path slightly


def test_heldout_seeds_are_disjoint_from_every_training_trajectory():
    assert set(TRAINING_SEEDS).isdisjoint(HELDOUT_SEEDS)
    for seed in (0, 1, 9):
        training, validation = trajectory_seeds(TrainSettings(seed=seed))
        assert training.start >= TRAINING_SEEDS.start and validation.stop <= TRAINING_SEEDS.stop
        assert set(training).isdisjoint(validation)


def test_success_is_the_block_within_tolerance_of_the_goal_block():
    tolerance = TABLE.settings.success_tolerance
    goal = TableState(effector=(0.1, 0.1), block=(0.5, 0.5))
    assert TABLE.success(TableState(effector=(0.9, 0.9), block=(0.5 + 0.9 * tolerance, 0.5)), goal)
    assert not TABLE.success(TableState(effector=(0.1, 0.1), block=(0.5 + 1.1 * tolerance, 0.5)), goal)


def test_an_episode_runs_to_the_step_budget_unless_it_succeeds():
    table = Table(TableSettings(max_steps=5))
    episode = table.episode(HELDOUT_SEEDS[0])
    result, states = run_episode(table, episode, random_policy(table.settings.max_action))
    assert result.steps == 5 and len(states) == 6 and not result.success
    assert result.final_block_distance == pytest.approx(table.block_distance(states[-1], episode.goal), abs=1e-4)
