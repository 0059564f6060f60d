"""gymnasium's own vector wrappers, with torch outputs and with numpy outputs (gymnasium's
ArrayConversion), in each autoreset mode: each combination works, or is refused as the table in
docs/env_api.md says (the table and this file list the same cases).

What decides a cell is not the task but two properties of its env, each alone deciding one
wrapper: whether its infos hold task-wide scalars (metrics; DictInfoToList) and whether its
observation space is bounded (RescaleObservation). The matrix runs on Cartpole (per-env infos
only, bounded) and Ant (metrics, unbounded), which take both values of each, and a test checks
every registered env against them."""

import re
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.wrappers import vector as V

from conftest import AUTORESET_MODES, CONTRACT_ENV_IDS, CONTRACT_EPISODE_STEPS

WRAPPERS = {
    "ClipAction": V.ClipAction,
    "RescaleAction": lambda e: V.RescaleAction(e, -2.0, 2.0),
    "TransformAction": lambda e: V.TransformAction(e, lambda a: a * 0.5),
    "VectorizeTransformAction": lambda e: V.VectorizeTransformAction(e, gym.wrappers.ClipAction),
    "ClipReward": lambda e: V.ClipReward(e, -1.0, 0.5),
    "TransformReward": lambda e: V.TransformReward(e, lambda r: r * 2),
    "VectorizeTransformReward": lambda e: V.VectorizeTransformReward(e, gym.wrappers.TransformReward,
                                                                      func=lambda r: r * 2),
    "NormalizeReward": V.NormalizeReward,
    "DtypeObservation": lambda e: V.DtypeObservation(e, np.float64),
    "FlattenObservation": V.FlattenObservation,
    "RescaleObservation": lambda e: V.RescaleObservation(e, -1.0, 1.0),
    "ReshapeObservation": lambda e: V.ReshapeObservation(e, (e.single_observation_space.shape[0], 1)),
    "TransformObservation": lambda e: V.TransformObservation(e, lambda o: o * 2),
    "NormalizeObservation": V.NormalizeObservation,
    "RecordEpisodeStatistics": V.RecordEpisodeStatistics,
    "RecordEpisodeStatistics(stats_key)": lambda e: V.RecordEpisodeStatistics(e, stats_key="stats"),
    "DictInfoToList": V.DictInfoToList,
}
OBSERVATION_TRANSFORMS = {"DtypeObservation", "FlattenObservation", "RescaleObservation", "ReshapeObservation",
                          "TransformObservation", "NormalizeObservation"}
NUMPY_ONLY = {"NormalizeReward", "FlattenObservation", "RescaleObservation", "NormalizeObservation",
              "RecordEpisodeStatistics", "RecordEpisodeStatistics(stats_key)", "DictInfoToList"}


def refusals(name: str, outputs: str, mode: str, scalar_infos: bool, bounded: bool = True) -> list[str]:
    """Every reason (name, outputs, mode) does not work, as docs/env_api.md says; [] where it works.
    scalar_infos: the env reports task-wide scalars in its infos; bounded: its observation
    space has finite bounds."""
    reasons = []
    if outputs == "torch" and name in NUMPY_ONLY:
        reasons.append("gymnasium computes with numpy on the outputs")
    if name in OBSERVATION_TRANSFORMS and mode == "same_step":
        reasons.append("gymnasium refuses SAME_STEP")
    if name == "NormalizeObservation" and mode == "disabled":
        reasons.append("gymnasium needs NEXT_STEP")
    if name == "RecordEpisodeStatistics":
        reasons.append("the env's own infos['episode'] is there: pass stats_key")
    if name == "DictInfoToList" and scalar_infos:
        reasons.append("gymnasium needs every info value per env")
    if name == "RescaleObservation" and not bounded:
        reasons.append("gymnasium needs finite observation bounds")
    return reasons


SHORT_REASONS = {"gymnasium computes with numpy on the outputs": "numpy",
                 "gymnasium refuses SAME_STEP": "NEXT_STEP", "gymnasium needs NEXT_STEP": "NEXT_STEP",
                 "the env's own infos['episode'] is there: pass stats_key": "stats_key"}


def expected_cell(name: str, outputs: str, mode: str) -> str:
    """The docs table's cell: "yes", "yes*" (not where infos hold task-wide scalars), "yes**"
    (not where the observation space is unbounded) or "no: <every remedy needed>", e.g.
    "no: numpy + NEXT_STEP"."""
    reasons = refusals(name, outputs, mode, scalar_infos=False)
    if reasons:
        return "no: " + " + ".join(SHORT_REASONS[r] for r in reasons)
    if refusals(name, outputs, mode, scalar_infos=True):
        return "yes*"
    return "yes**" if refusals(name, outputs, mode, scalar_infos=False, bounded=False) else "yes"


def _is_bounded(env) -> bool:
    space = env.single_observation_space
    return bool(np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high)))


def _has_scalar_infos(env) -> bool:
    env.reset(seed=0)
    *_, infos = env.step(torch.zeros(env.action_space.shape))
    return any(getattr(v, "ndim", 1) == 0 for v in infos.values())


def _wrap(env, outputs: str):
    return V.ArrayConversion(env, env_xp=torch, target_xp=np) if outputs == "numpy" else env


def _drive(wrapped, steps: int) -> None:
    """reset, then `steps` random steps; finished envs are reset where the mode needs it."""
    wrapped.reset(seed=0)
    for _ in range(steps):
        action = wrapped.action_space.sample()
        obs, reward, terminated, truncated, infos = wrapped.step(action)
        done = np.asarray(terminated) | np.asarray(truncated)
        if wrapped.metadata["autoreset_mode"] == gym.vector.AutoresetMode.DISABLED and done.any():
            wrapped.reset(options={"reset_mask": done})
    assert np.all(np.isfinite(np.asarray(reward, dtype=np.float64)))


MATRIX_ENV_IDS = ("GpuCartpole-v0", "GpuAnt-v0")


@pytest.mark.parametrize("env_id", CONTRACT_ENV_IDS)
@pytest.mark.parametrize("has_property", [_has_scalar_infos, _is_bounded])
def test_every_registered_env_has_properties_the_matrix_runs_with(shared_env, env_id, has_property):
    ran = {has_property(shared_env(matrix_id, "same_step")) for matrix_id in MATRIX_ENV_IDS}
    assert ran == {True, False} and has_property(shared_env(env_id, "same_step")) in ran


@pytest.mark.parametrize("env_id", MATRIX_ENV_IDS)
@pytest.mark.parametrize("mode", AUTORESET_MODES)
@pytest.mark.parametrize("outputs", ["torch", "numpy"])
@pytest.mark.parametrize("name", list(WRAPPERS))
def test_wrapper_works_or_is_refused_as_documented(shared_env, env_id, mode, outputs, name):
    base = shared_env(env_id, mode)
    reasons = refusals(name, outputs, mode, _has_scalar_infos(base), _is_bounded(base))
    env = _wrap(base, outputs)
    steps = CONTRACT_EPISODE_STEPS + 2  # across an episode boundary
    if not reasons:
        _drive(WRAPPERS[name](env), steps)
    else:
        with pytest.raises(Exception):  # noqa: B017 - any of gymnasium's errors
            _drive(WRAPPERS[name](env), steps)


def test_record_episode_statistics_matches_the_env_own_statistics(shared_env):
    env = V.RecordEpisodeStatistics(_wrap(shared_env("GpuCartpole-v0", "same_step"), "numpy"), stats_key="stats")
    env.reset(seed=0)
    for _ in range(CONTRACT_EPISODE_STEPS):
        *_, infos = env.step(np.zeros(env.action_space.shape, np.float32))
    np.testing.assert_allclose(infos["stats"]["r"], infos["episode"]["r"], rtol=1e-5)
    np.testing.assert_array_equal(infos["stats"]["l"], infos["episode"]["l"])


def test_normalize_observation_normalizes_with_next_step(shared_env):
    env = V.NormalizeObservation(_wrap(shared_env("GpuCartpole-v0", "next_step"), "numpy"))
    env.reset(seed=0)
    for _ in range(3):
        obs, *_ = env.step(np.zeros(env.action_space.shape, np.float32))
    assert env.obs_rms.count > 1 and np.all(np.abs(obs) < 10)


def test_the_docs_table_lists_each_wrapper_as_this_file_does():
    text = (Path(__file__).resolve().parent.parent / "docs" / "env_api.md").read_text()
    for name in WRAPPERS:
        row = re.search(rf"^\| `{re.escape(name)}` \|(.*)\|$", text, re.M)
        assert row is not None, f"docs/env_api.md has no row for {name}"
        cells = [c.strip() for c in row.group(1).split("|")]
        assert cells == [expected_cell(name, o, m) for o in ("torch", "numpy") for m in AUTORESET_MODES], name
