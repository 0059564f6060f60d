"""What the RL-library adapters accept: a gpu_envs env in SAME_STEP autoreset (the libraries read
the finished episode's last obs from the same step); anything else fails at once, saying why."""

import importlib

import pytest
from gymnasium.wrappers.vector import ClipAction

ADAPTERS = [("sb3", "Sb3VecEnv"), ("skrl", "SkrlVecEnv"), ("rl_games", "RlGamesVecEnv")]


def _adapter(module, name):
    return getattr(importlib.import_module(f"gpu_envs.wrappers.{module}"), name)


@pytest.mark.parametrize("module, adapter", ADAPTERS)
@pytest.mark.parametrize("mode", ["next_step", "disabled"])
def test_an_adapter_refuses_an_env_without_same_step_autoreset(shared_env, module, adapter, mode):
    with pytest.raises(ValueError, match=f"{adapter} needs an env with autoreset_mode='same_step'"):
        _adapter(module, adapter)(shared_env("GpuCartpole-v0", mode))


@pytest.mark.parametrize("module, adapter", ADAPTERS)
def test_an_adapter_refuses_something_that_is_not_a_gpu_envs_env(module, adapter):
    with pytest.raises(TypeError, match=f"{adapter} wraps a gpu_envs env from gymnasium.make_vec"):
        _adapter(module, adapter)(5)


def test_sb3_refuses_a_gymnasium_wrapper_that_hides_step_numpy(shared_env):
    with pytest.raises(TypeError, match="Sb3VecEnv needs the env's step_numpy"):
        _adapter("sb3", "Sb3VecEnv")(ClipAction(shared_env("GpuCartpole-v0", "same_step")))


def test_sb3_env_indices_out_of_range_raise_index_error(shared_env):
    venv = _adapter("sb3", "Sb3VecEnv")(shared_env("GpuCartpole-v0", "same_step"))
    assert venv.get_attr("num_envs", indices=[1]) == [2]
    with pytest.raises(IndexError, match="env index 7 out of range for 2 envs"):
        venv.get_attr("num_envs", indices=[7])


@pytest.mark.parametrize("module, adapter", [("skrl", "SkrlVecEnv"), ("rl_games", "RlGamesVecEnv")])
def test_skrl_and_rl_games_refuse_dict_observations_and_name_the_way_out(module, adapter):
    pytest.importorskip("warp", reason="pixel observations need MuJoCo Warp")
    import gymnasium as gym

    env = gym.make_vec("GpuCartpole-v0", num_envs=1, device="cpu", obs_mode="state+rgb", image_size=8)
    try:
        with pytest.raises(ValueError, match=f"{adapter} takes array observations .* not the dict of obs_mode "
                                             "'state\\+rgb'.*MultiInputPolicy"):
            _adapter(module, adapter)(env)
    finally:
        env.close()
