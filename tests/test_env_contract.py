"""The contract every registered env keeps, run over `gpu_envs.ENV_IDS` and a task defined
outside the package (a new env is covered without new test code; see MODE_ENV_IDS for the modes): spaces and dtypes, gymnasium's three autoreset modes, determinism,
finite outputs, kept outputs unchanged, and the bad-input table of docs/env_api.md."""

import copy
import pickle

import gymnasium as gym
import numpy as np
import pytest
import torch

import gpu_envs
from conftest import AUTORESET_MODES, CONTRACT_ENV_IDS, CONTRACT_EPISODE_STEPS as K, CONTRACT_NUM_ENVS as N

ids = pytest.mark.parametrize("env_id", CONTRACT_ENV_IDS)
# The autoreset modes are the shell's (gpu_envs/batched.py), the same code for every task: the
# non-default modes run on every env but the hand and the Ant, whose CPU compiles cost most;
# Cartpole and the example task written outside the package keep them covered for a task with and
# without task-wide infos (and tests/test_gymnasium_wrappers.py steps the Ant in every mode). The
# default, SAME_STEP, runs everywhere.
MODE_ENV_IDS = tuple(env_id for env_id in CONTRACT_ENV_IDS if env_id not in ("GpuAllegroHand-v0", "GpuAnt-v0"))
env_modes = pytest.mark.parametrize("env_id, mode", [(env_id, mode) for env_id in CONTRACT_ENV_IDS
                                                     for mode in AUTORESET_MODES
                                                     if mode == "same_step" or env_id in MODE_ENV_IDS])
mode_ids = pytest.mark.parametrize("env_id", MODE_ENV_IDS)


def _zeros(env):
    return torch.zeros(env.action_space.shape)


def _random_actions(env, steps, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.rand(env.action_space.shape, generator=gen) * 2 - 1 for _ in range(steps)]


@ids
def test_spaces_and_outputs_have_the_documented_types(shared_env, env_id):
    env = shared_env(env_id, "same_step")
    obs, infos = env.reset(seed=0)
    obs_dim, act_dim = env.single_observation_space.shape[0], env.single_action_space.shape[0]
    assert env.single_observation_space.dtype == np.float32 and env.single_action_space.dtype == np.float32
    assert env.observation_space.shape == (N, obs_dim) and env.action_space.shape == (N, act_dim)
    assert obs.dtype == torch.float32 and obs.shape == (N, obs_dim) and isinstance(infos, dict)
    assert env.observation_space.contains(obs.numpy())
    obs, reward, terminated, truncated, infos = env.step(_zeros(env))
    assert reward.dtype == torch.float32 and reward.shape == (N,)
    assert terminated.dtype == torch.bool and truncated.dtype == torch.bool and terminated.shape == (N,)
    assert env.observation_space.contains(obs.numpy())


@env_modes
def test_metadata_names_the_autoreset_mode(shared_env, env_id, mode):
    env = shared_env(env_id, mode)
    assert env.metadata["autoreset_mode"] == gpu_envs.vector_env.parse_autoreset_mode(mode)


def _first_episode(env):
    """reset(seed=1), then K zero-action steps (to the truncation); the last step's outputs."""
    env.reset(seed=1)
    for _ in range(K):
        result = env.step(_zeros(env))
    return result


@ids
def test_same_step_resets_inside_the_finishing_step(shared_env, env_id):
    env = shared_env(env_id, "same_step")
    obs, reward, terminated, truncated, infos = _first_episode(env)
    assert truncated.all() and infos["_final_obs"].all() and (infos["episode"]["l"] == K).all()
    assert not torch.equal(obs, infos["final_obs"])  # obs is the new episode's first
    obs, reward, terminated, truncated, infos = env.step(_zeros(env))
    assert not truncated.any()


@mode_ids
def test_next_step_returns_the_last_obs_then_resets_on_the_next_call(shared_env, env_id):
    env = shared_env(env_id, "next_step")
    last, reward, terminated, truncated, infos = _first_episode(env)
    assert truncated.all() and (infos["episode"]["l"] == K).all() and "final_obs" not in infos
    first, reward, terminated, truncated, infos = env.step(torch.ones(env.action_space.shape))
    assert (reward == 0).all() and not (terminated | truncated).any()
    assert not torch.equal(first, last)
    for _ in range(K - 1):
        *_, truncated, infos = env.step(_zeros(env))
    assert not truncated.any()  # the reset step did not count towards the new episode


@mode_ids
def test_disabled_never_resets_until_asked(shared_env, env_id):
    env = shared_env(env_id, "disabled")
    last, reward, terminated, truncated, infos = _first_episode(env)
    assert truncated.all() and "final_obs" not in infos
    mask = np.zeros(N, bool)
    mask[0] = True
    obs, _ = env.reset(options={"reset_mask": mask})
    *_, truncated, _ = env.step(_zeros(env))
    assert not truncated[0]


@env_modes
def test_same_seed_and_actions_reproduce_the_trajectory(shared_env, env_id, mode):
    env = shared_env(env_id, mode)

    def rollout():
        trace = [env.reset(seed=5)[0].clone()]
        for action in _random_actions(env, 2 * K):
            obs, reward, *_ = env.step(action)
            trace += [obs.clone(), reward.clone()]
        return trace

    assert all(torch.equal(a, b) for a, b in zip(rollout(), rollout()))


@ids
def test_outputs_stay_finite_under_extreme_actions(shared_env, env_id):
    env = shared_env(env_id, "same_step")
    env.reset(seed=2)
    shape = env.action_space.shape
    for action in (torch.full(shape, 1e6), torch.full(shape, -1e6), torch.full(shape, float("nan"))):
        obs, reward, terminated, truncated, infos = env.step(action)
        assert torch.isfinite(obs).all() and torch.isfinite(reward).all()
    assert infos["nonfinite_action"].all()


@ids
def test_kept_outputs_are_not_changed_by_later_steps(shared_env, env_id):
    env = shared_env(env_id, "same_step")
    obs, _ = env.reset(seed=3)
    kept = env.step(_zeros(env))
    snapshot = [x.clone() for x in kept[:4]]
    for action in _random_actions(env, K + 1):
        env.step(action)
    assert all(torch.equal(a, b) for a, b in zip(kept[:4], snapshot))


@ids
@pytest.mark.parametrize("bad, error, match", [
    (lambda n, a: torch.zeros(n), ValueError, "shape"),
    (lambda n, a: torch.zeros(n + 1, a), ValueError, "shape"),
    (lambda n, a: torch.zeros(n, a, dtype=torch.bool), TypeError, "cannot be cast"),
    (lambda n, a: np.full((n, a), "x"), TypeError, "cannot be cast"),
])
def test_bad_actions_are_refused_by_name(shared_env, env_id, bad, error, match):
    env = shared_env(env_id, "same_step")
    env.reset(seed=0)
    with pytest.raises(error, match=match):
        env.step(bad(N, env.single_action_space.shape[0]))


@ids
@pytest.mark.parametrize("seed, error", [(-1, ValueError), (1.5, TypeError), ("0", TypeError), (True, TypeError),
                                         ([0], ValueError), ([0, -2], ValueError)])
def test_bad_seeds_are_refused(shared_env, env_id, seed, error):
    with pytest.raises(error, match="seed"):
        shared_env(env_id, "same_step").reset(seed=seed)


@ids
@pytest.mark.parametrize("options, match", [({"bogus": 1}, "unknown reset options"),
                                            ({"reset_mask": np.ones(N + 1, bool)}, "reset_mask")])
def test_bad_reset_options_are_refused(shared_env, env_id, options, match):
    with pytest.raises(ValueError, match=match):
        shared_env(env_id, "same_step").reset(options=options)


@ids
@pytest.mark.parametrize("copier", [copy.copy, copy.deepcopy, pickle.dumps])
def test_copying_or_pickling_an_env_is_refused(shared_env, env_id, copier):
    env = shared_env(env_id, "same_step")
    with pytest.raises(TypeError, match="cannot be"):
        copier(env)


@ids
@pytest.mark.parametrize("kwargs, error, match", [
    ({"num_envs": 0}, ValueError, "num_envs"),
    ({"num_envs": 2, "not_a_param": 1}, TypeError, "unknown parameter"),
    ({"num_envs": 2, "max_episode_steps": 0}, ValueError, r"max_episode_steps .*\[1, inf\).*got 0"),
    ({"num_envs": 2, "substeps": 2.5}, TypeError, "substeps"),
    ({"num_envs": 2, "autoreset_mode": "sometimes"}, ValueError, "autoreset_mode"),
])
def test_bad_constructor_arguments_are_refused_by_name(env_id, kwargs, error, match):
    with pytest.raises(error, match=match):
        gym.make_vec(env_id, **kwargs)


@ids
def test_single_env_make_points_to_make_vec(env_id):
    with pytest.raises(TypeError, match="make_vec"):
        gym.make(env_id)
