"""The CPU fallback that steps envs one after another where jaxlib 0.10's batched LAPACK deadlocks."""

from types import SimpleNamespace

import gymnasium as gym
import jax
import pytest
import torch

import gpu_envs.batched
from gpu_envs import sim
from gpu_envs.sim import load_model, resolve_asset, steps_env_by_env

CPU = jax.devices("cpu")[0]
GPU = SimpleNamespace(platform="gpu")


@pytest.mark.parametrize("asset, expected", [("humanoid.xml", True), ("allegro_hand.xml", True),
                                             ("ant.xml", False), ("cartpole.xml", False)])
def test_only_models_with_implicit_damping_step_env_by_env_under_jaxlib_0_10(monkeypatch, asset, expected):
    model = load_model(resolve_asset(asset))
    monkeypatch.setattr(sim, "_jaxlib_version", lambda: (0, 10))
    assert steps_env_by_env(model, CPU) is expected
    assert steps_env_by_env(model, GPU) is False


def test_jaxlib_0_11_steps_every_model_batched(monkeypatch):
    monkeypatch.setattr(sim, "_jaxlib_version", lambda: (0, 11))
    assert steps_env_by_env(load_model(resolve_asset("humanoid.xml")), CPU) is False


def _trajectory(num_envs: int = 3, steps: int = 40):
    env = gym.make_vec("GpuCartpole-v0", num_envs=num_envs)
    try:
        env.reset(seed=5)
        out = []
        for i in range(steps):
            action = torch.full((num_envs, 1), 0.8 if (i // 5) % 2 else -0.8)
            obs, reward, terminated, truncated, _ = env.step(action)
            out.append((obs.clone(), reward.clone(), terminated.clone(), truncated.clone()))
        return out
    finally:
        env.close()


def test_stepping_env_by_env_gives_the_batched_results(monkeypatch):
    batched = _trajectory()
    monkeypatch.setattr(gpu_envs.batched, "steps_env_by_env", lambda *_: True)
    one_by_one = _trajectory()
    assert any(bool(t.any()) for _, _, t, _ in batched), "the trajectory should include resets"
    for (o1, r1, t1, u1), (o2, r2, t2, u2) in zip(batched, one_by_one):
        torch.testing.assert_close(o2, o1, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(r2, r1, rtol=1e-5, atol=1e-5)
        assert torch.equal(t2, t1) and torch.equal(u2, u1)
