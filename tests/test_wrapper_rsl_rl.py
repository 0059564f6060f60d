"""rsl_rl adapter: rsl_rl 5's VecEnv interface (TensorDict observation groups, time_outs, logged
metrics), and its OnPolicyRunner training Cartpole through it."""

import gymnasium as gym
import pytest
import torch

pytest.importorskip("rsl_rl")

from conftest import CONTRACT_EPISODE_STEPS, CONTRACT_NUM_ENVS  # noqa: E402
from gpu_envs.wrappers.rsl_rl import RslRlVecEnv  # noqa: E402


@pytest.fixture
def ant(shared_env):
    """The session's GpuAnt-v0 (CONTRACT_NUM_ENVS envs, CONTRACT_EPISODE_STEPS-step episodes), reset by the adapter."""
    return RslRlVecEnv(shared_env("GpuAnt-v0", "same_step"), seed=0)


def test_the_policy_group_is_the_env_s_observation_tensor(ant):
    obs = ant.get_observations()
    assert list(obs.keys()) == ["policy"] and obs.batch_size == torch.Size([CONTRACT_NUM_ENVS])
    assert obs["policy"].shape == (CONTRACT_NUM_ENVS, 60) and obs["policy"].dtype == torch.float32
    assert (ant.num_envs, ant.num_actions, ant.max_episode_length) == (CONTRACT_NUM_ENVS, 8, CONTRACT_EPISODE_STEPS)


def test_step_gives_dones_time_outs_and_the_task_metric(ant):
    for _ in range(CONTRACT_EPISODE_STEPS):
        obs, rewards, dones, extras = ant.step(torch.zeros(CONTRACT_NUM_ENVS, 8))
    assert obs["policy"].shape == (CONTRACT_NUM_ENVS, 60) and rewards.shape == (CONTRACT_NUM_ENVS,)
    assert dones.dtype == torch.bool and bool(dones.all())
    assert bool(extras["time_outs"].all())  # the episode's step limit: truncated, not failed
    assert set(extras["log"]) == {"/mean_forward_speed"} and extras["log"]["/mean_forward_speed"].shape == ()
    assert torch.equal(ant.episode_length_buf, torch.zeros(CONTRACT_NUM_ENVS, dtype=torch.long))  # all started over


def test_rewards_are_scaled_by_reward_scale():
    envs = [RslRlVecEnv(gym.make_vec("GpuCartpole-v0", num_envs=4, device="cpu"), seed=1, reward_scale=scale)
            for scale in (1.0, 0.25)]
    try:
        rewards = [env.step(torch.ones(4, 1))[1] for env in envs]
    finally:
        for env in envs:
            env.close()
    torch.testing.assert_close(rewards[1], 0.25 * rewards[0])


def test_rsl_rl_refuses_image_observations_naming_the_libraries_that_take_them():
    pytest.importorskip("warp", reason="pixel observations need MuJoCo Warp")
    from omegaconf import OmegaConf

    from gpu_envs.train import rsl_rl_trainer

    env = RslRlVecEnv(gym.make_vec("GpuCartpole-v0", num_envs=1, device="cpu", obs_mode="rgb", image_size=8))
    cfg = OmegaConf.create({"train": {"params": {"config": {}, "network": {}}}})
    try:
        with pytest.raises(SystemExit, match="rsl_rl trains on observation vectors.*rl_games, skrl or sb3"):
            rsl_rl_trainer._runner(env, cfg, None)
    finally:
        env.close()


class Recording(RslRlVecEnv):
    """RslRlVecEnv that keeps every finished episode's return (one host read per step)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.returns = []

    def step(self, actions):
        out = super().step(actions)
        infos = self.last_infos
        self.returns += infos["episode"]["r"][infos["_episode"]].tolist()
        return out


@pytest.mark.slow
def test_on_policy_runner_learns_cartpole():
    """rsl_rl's own runner, through the adapter, with the Cartpole train config's numbers: the
    mean return of the last finished episodes is several times the first ones' (about 15)."""
    from hydra import compose, initialize_config_dir
    from rsl_rl.runners import OnPolicyRunner

    from gpu_envs.train.config import register_resolvers
    from gpu_envs.train.rsl_rl_trainer import runner_cfg
    from test_train_cli import EXAMPLES

    register_resolvers()
    with initialize_config_dir(config_dir=str(EXAMPLES / "cfg"), version_base=None):
        cfg = compose("config", overrides=["task=Cartpole"])
    torch.manual_seed(0)
    env = Recording(gym.make_vec("GpuCartpole-v0", num_envs=256, device="cpu"), seed=0, reward_scale=0.1)
    try:
        OnPolicyRunner(env, runner_cfg(cfg, env.num_envs), log_dir=None, device="cpu").learn(40)
    finally:
        env.close()
    first, last = (sum(part) / len(part) for part in (env.returns[:200], env.returns[-200:]))
    assert last > max(100.0, 5 * first), (first, last)
