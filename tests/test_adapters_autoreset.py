"""The RL-library adapters read the finished episode's last obs from the same step: they refuse
an env in another autoreset mode instead of training on wrong bootstrap values."""

import importlib

import pytest


@pytest.mark.parametrize("module, adapter", [("sb3", "Sb3VecEnv"), ("skrl", "SkrlVecEnv"),
                                             ("rl_games", "RlGamesVecEnv")])
@pytest.mark.parametrize("mode", ["next_step", "disabled"])
def test_an_adapter_refuses_an_env_without_same_step_autoreset(shared_env, module, adapter, mode):
    cls = getattr(importlib.import_module(f"gpu_envs.wrappers.{module}"), adapter)
    with pytest.raises(ValueError, match=f"{adapter} needs an env with autoreset_mode='same_step'"):
        cls(shared_env("GpuCartpole-v0", mode))
