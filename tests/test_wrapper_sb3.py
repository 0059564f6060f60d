"""Stable-Baselines3 adapter: the VecEnv API, SB3's info conventions, and PPO learning Cartpole."""

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.vec_env import VecMonitor  # noqa: E402

from gpu_envs.wrappers.sb3 import Sb3VecEnv  # noqa: E402


@pytest.fixture(scope="module")
def short_venv():
    venv = Sb3VecEnv(gym.make_vec("GpuCartpole-v0", num_envs=4, max_episode_steps=20))
    yield venv
    venv.close()


def test_outputs_have_sb3_types_and_shapes(short_venv):
    short_venv.seed(0)
    obs = short_venv.reset()
    assert isinstance(obs, np.ndarray) and obs.shape == (4, 4) and obs.dtype == np.float32
    obs, reward, done, infos = short_venv.step(np.zeros((4, 1), np.float32))
    assert obs.shape == (4, 4) and reward.dtype == np.float32 and done.dtype == np.bool_
    assert isinstance(infos, list) and len(infos) == 4 and infos[0] == {}


def test_finished_envs_report_terminal_observation_and_timeout(short_venv):
    short_venv.reset()
    for _ in range(20):
        obs, reward, done, infos = short_venv.step(np.zeros((4, 1), np.float32))
    assert done.all()
    for info in infos:
        assert info["TimeLimit.truncated"] is True
        assert info["terminal_observation"].shape == (4,)
        assert info["episode"]["l"] == 20
        assert not np.array_equal(info["terminal_observation"], obs[0])


def test_vec_env_methods(short_venv):
    assert short_venv.get_attr("num_envs") == [4] * 4
    assert short_venv.env_is_wrapped(gym.Wrapper) == [False] * 4
    assert short_venv.env_is_wrapped(type(short_venv.env)) == [True] * 4  # the env itself counts, as in SB3
    assert short_venv.env_method("__repr__", indices=[0, 1]) == [repr(short_venv.env)] * 2


def test_seeded_resets_repeat(short_venv):
    short_venv.seed(3)
    a = short_venv.reset()
    short_venv.seed(3)
    assert np.array_equal(a, short_venv.reset())


def _stepped(venv, seed=0, steps=5):
    """Reset `venv` with `seed`, take `steps` steps pushing right; returns the last obs."""
    venv.seed(seed)
    venv.reset()
    for _ in range(steps):
        obs, *_ = venv.step(np.ones((venv.num_envs, 1), np.float32))
    return obs


def test_reset_with_a_reset_mask_option_resets_only_the_masked_envs(short_venv):
    before = _stepped(short_venv)
    mask = np.array([True, False, True, False])
    short_venv.set_options({"reset_mask": mask})
    after = short_venv.reset()
    assert np.array_equal(after[~mask], before[~mask])
    assert (after[mask] != before[mask]).any(axis=1).all()


def test_seed_and_options_go_to_one_env_reset_as_in_dummy_vec_env(short_venv):
    mask = np.array([False, True, True, False])
    _stepped(short_venv)
    short_venv.seed(5)
    short_venv.set_options({"reset_mask": mask})
    via_sb3 = short_venv.reset()
    _stepped(short_venv)
    direct, _ = short_venv.env.reset(seed=5, options={"reset_mask": mask})
    assert np.array_equal(via_sb3, direct.numpy())


def test_reset_rejects_per_env_options_that_differ(short_venv):
    short_venv.set_options([{"reset_mask": np.arange(4) == i} for i in range(4)])
    with pytest.raises(ValueError, match="one options dict"):
        short_venv.reset()
    short_venv.set_options(None)


def test_each_step_returns_new_info_dicts(short_venv):
    short_venv.reset()
    _, _, _, first = short_venv.step(np.zeros((4, 1), np.float32))
    first[0]["written_by_user"] = True
    _, _, _, second = short_venv.step(np.zeros((4, 1), np.float32))
    assert not any(a is b for a, b in zip(first, second))
    assert second[0] == {}


def _random_policy_mean_return(num_envs=16, steps=300):
    venv = Sb3VecEnv(gym.make_vec("GpuCartpole-v0", num_envs=num_envs))
    venv.seed(1)
    venv.reset()
    rng, returns = np.random.default_rng(0), []
    for _ in range(steps):
        _, _, _, infos = venv.step(rng.uniform(-1, 1, (num_envs, 1)).astype(np.float32))
        returns += [info["episode"]["r"] for info in infos if "episode" in info]
    venv.close()
    return float(np.mean(returns))


@pytest.mark.slow
def test_ppo_learns_cartpole_clearly_above_random():
    venv = Sb3VecEnv(gym.make_vec("GpuCartpole-v0", num_envs=16))
    model = PPO("MlpPolicy", venv, n_steps=64, batch_size=256, seed=0, verbose=0)
    model.learn(40_000)
    trained = np.mean([ep["r"] for ep in list(model.ep_info_buffer)[-20:]])
    venv.close()
    random_return = _random_policy_mean_return()  # about 4: random 400 N pushes fail fast
    assert trained > max(50.0, 10 * random_return)


def test_ppo_trains_through_vec_monitor_which_records_the_episodes():
    """SB3's VecMonitor over the adapter (whose own `episode` entries it replaces): PPO runs, and
    VecMonitor records the finished episodes."""
    venv = VecMonitor(Sb3VecEnv(gym.make_vec("GpuCartpole-v0", num_envs=16)))
    model = PPO("MlpPolicy", venv, n_steps=64, batch_size=256, n_epochs=1, seed=0, verbose=0)
    model.learn(2048)
    venv.close()
    episodes = list(model.ep_info_buffer)
    assert len(episodes) >= 20 and all(ep["l"] >= 1 and np.isfinite(ep["r"]) for ep in episodes)


def test_render_returns_the_grid_frame_and_none_without_a_render_mode(short_venv):
    from gpu_envs.render import gl_unavailable

    assert short_venv.get_images() == [None]
    if gl_unavailable():
        pytest.skip("no OpenGL context for rendering here")
    venv = Sb3VecEnv(gym.make_vec("GpuCartpole-v0", num_envs=2, render_mode="rgb_array",
                                  render_config={"width": 64, "height": 48}))
    venv.reset()
    assert venv.render().shape == (48, 64, 3)  # SB3's tiling of our single grid frame
    venv.close()
