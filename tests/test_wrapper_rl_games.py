"""rl_games adapter: IVecEnv interface, registration, time_outs, and a Runner training Cartpole."""

import gymnasium as gym
import numpy as np
import pytest
import torch

pytest.importorskip("rl_games")

from rl_games.common import env_configurations, vecenv  # noqa: E402
from rl_games.common.algo_observer import AlgoObserver  # noqa: E402
from rl_games.torch_runner import Runner  # noqa: E402

from gpu_envs.wrappers import rl_games as gpu_rl_games  # noqa: E402


@pytest.fixture(scope="module")
def rlg_env():
    gpu_rl_games.register()
    env = vecenv.create_vec_env("GpuCartpole-v0", 4, max_episode_steps=20, seed=0)
    yield env
    env.close()


def test_register_adds_every_env_id():
    names = gpu_rl_games.register()
    assert "GpuCartpole-v0" in names
    assert env_configurations.configurations["GpuCartpole-v0"]["vecenv_type"] == gpu_rl_games.VECENV_TYPE


def test_register_rejects_unknown_ids():
    with pytest.raises(ValueError, match="unknown env id"):
        gpu_rl_games.register(("Nope-v0",))


def test_env_info_passes_spaces_through(rlg_env):
    info = rlg_env.get_env_info()
    assert info["observation_space"] == gym.spaces.Box(-5.0, 5.0, (4,), np.float32)
    assert info["action_space"] == gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    assert info["agents"] == 1 and info["value_size"] == 1 and rlg_env.num_envs == 4


def test_step_outputs_are_views_of_one_output_buffer(rlg_env):
    obs = rlg_env.reset()
    assert isinstance(obs, torch.Tensor) and obs.shape == (4, 4)
    obs, reward, dones, infos = rlg_env.step(torch.zeros(4, 1))
    assert reward.shape == dones.shape == infos["time_outs"].shape == (4,) and dones.dtype == torch.bool
    storage = obs.untyped_storage().data_ptr()
    assert all(t.untyped_storage().data_ptr() == storage for t in (reward, dones, infos["time_outs"]))


def test_timeouts_are_done_and_marked_time_outs(rlg_env):
    rlg_env.reset()
    for _ in range(20):
        _, _, dones, infos = rlg_env.step(torch.zeros(4, 1))
    assert dones.all() and infos["time_outs"].all()


def test_num_envs_must_agree_with_num_actors():
    gpu_rl_games.register()
    with pytest.raises(ValueError, match="num_actors"):
        vecenv.create_vec_env("GpuCartpole-v0", 4, num_envs=8)


def test_registered_instance_hands_rl_games_that_env_while_open(rlg_env):
    with gpu_rl_games.registered_instance("GpuCartpole-v0", rlg_env) as name:
        assert env_configurations.configurations[name]["vecenv_type"] == gpu_rl_games.VECENV_TYPE
        assert vecenv.create_vec_env(name, 4, seed=3) is rlg_env  # the trainer's path (rl_games adds its seed)
        assert env_configurations.configurations[name]["env_creator"]() is rlg_env  # the player's path
        with pytest.raises(ValueError, match="num_actors=8"):
            vecenv.create_vec_env(name, 8)


def test_registered_instance_puts_the_previous_registration_back(rlg_env):
    gpu_rl_games.register()
    before = env_configurations.configurations["GpuCartpole-v0"]
    with gpu_rl_games.registered_instance("GpuCartpole-v0", rlg_env):
        pass
    with gpu_rl_games.registered_instance("NotRegistered-v0", rlg_env):
        pass
    assert env_configurations.configurations["GpuCartpole-v0"] is before
    assert "NotRegistered-v0" not in env_configurations.configurations


class MeanReturns(AlgoObserver):
    """Records rl_games' mean game return after every epoch."""

    def __init__(self):
        super().__init__()
        self.means = []

    def after_init(self, algo):
        self.algo = algo

    def process_infos(self, infos, done_indices):
        pass

    def after_print_stats(self, frame, epoch_num, total_time):
        self.means.append(float(self.algo.game_rewards.get_mean()[0]))


def cartpole_train_config(train_dir, max_epochs):
    """IsaacGymEnvs' CartpolePPO settings, scaled down to 16 envs on the CPU."""
    network = {
        "name": "actor_critic",
        "separate": False,
        "space": {"continuous": {"mu_activation": "None", "sigma_activation": "None", "mu_init": {"name": "default"},
                                 "sigma_init": {"name": "const_initializer", "val": 0}, "fixed_sigma": True}},
        "mlp": {"units": [32, 32], "activation": "elu", "initializer": {"name": "default"}, "regularizer": {"name": "None"}},
    }
    config = {
        "name": "Cartpole", "env_name": "GpuCartpole-v0", "env_config": {}, "device": "cpu", "device_name": "cpu",
        "multi_gpu": False, "ppo": True, "mixed_precision": False, "normalize_input": True, "normalize_value": True,
        "value_bootstrap": True, "num_actors": 16, "reward_shaper": {"scale_value": 0.1}, "normalize_advantage": True,
        "gamma": 0.99, "tau": 0.95, "learning_rate": 3e-4, "lr_schedule": "adaptive", "kl_threshold": 0.008,
        "score_to_win": 20000, "max_epochs": max_epochs, "save_best_after": 10_000, "save_frequency": 0,
        "grad_norm": 1.0, "entropy_coef": 0.0, "truncate_grads": True, "e_clip": 0.2, "horizon_length": 32,
        "minibatch_size": 256, "mini_epochs": 8, "critic_coef": 4, "clip_value": True, "seq_length": 4,
        "bounds_loss_coef": 0.0001, "train_dir": str(train_dir),
    }
    return {"params": {"seed": 0, "algo": {"name": "a2c_continuous"}, "model": {"name": "continuous_a2c_logstd"},
                       "network": network, "config": config}}


@pytest.mark.slow
def test_runner_trains_cartpole(tmp_path):
    gpu_rl_games.register()
    observer = MeanReturns()
    runner = Runner(algo_observer=observer)
    runner.load(cartpole_train_config(tmp_path, max_epochs=40))
    runner.run({"train": True, "play": False})
    assert len(observer.means) == 40
    assert observer.means[-1] > max(50.0, 10 * observer.means[0])
