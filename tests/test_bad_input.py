"""Bad input meets a clear error; NaN actions and non-finite physics never spread to other envs."""

import gymnasium as gym
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import gpu_envs.memory
from conftest import NUM_ENVS


@pytest.mark.parametrize("shape", [(NUM_ENVS,), (NUM_ENVS + 1, 1), (NUM_ENVS, 2), (1, NUM_ENVS)])
def test_wrong_action_shape_is_rejected(cartpole, shape):
    cartpole.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(4, 1\)"):
        cartpole.step(torch.zeros(shape))


@pytest.mark.parametrize("action", [torch.zeros(NUM_ENVS, 1, dtype=torch.bool),
                                    torch.zeros(NUM_ENVS, 1, dtype=torch.complex64),
                                    np.array([["a"]] * NUM_ENVS)])
def test_uncastable_action_dtype_is_rejected(cartpole, action):
    cartpole.reset(seed=0)
    with pytest.raises(TypeError, match="cannot be cast"):
        cartpole.step(action)


@pytest.mark.parametrize("action", [np.zeros((NUM_ENVS, 1)), torch.zeros(NUM_ENVS, 1, dtype=torch.float64),
                                    jnp.zeros((NUM_ENVS, 1)), [[0.0]] * NUM_ENVS,
                                    torch.zeros(NUM_ENVS, 1, requires_grad=True)])
def test_castable_actions_are_accepted(cartpole, action):
    cartpole.reset(seed=0)
    obs, *_ = cartpole.step(action)
    assert obs.shape == (NUM_ENVS, 4)


def test_nan_action_is_zeroed_and_reported_without_touching_other_envs(cartpole):
    cartpole.reset(seed=11)
    reference = cartpole.step(torch.tensor([[0.0], [0.3], [-0.3], [1.0]]))[0].clone()
    cartpole.reset(seed=11)
    obs, _, _, _, infos = cartpole.step(torch.tensor([[float("nan")], [0.3], [-0.3], [float("inf")]]))
    assert infos["nonfinite_action"].tolist() == [True, False, False, True]
    assert torch.equal(obs[:3], reference[:3])  # NaN acts as 0; the others are unaffected
    assert torch.isfinite(obs).all()


def test_nonfinite_physics_resets_that_env_only(cartpole):
    cartpole.reset(seed=12)
    cartpole.step(torch.zeros(NUM_ENVS, 1))
    state = cartpole._state
    qvel = state.task.qvel.at[1, 0].set(jnp.nan)
    cartpole._state = state._replace(task=state.task._replace(qvel=qvel))
    obs, reward, terminated, truncated, infos = cartpole.step(torch.zeros(NUM_ENVS, 1))
    assert infos["sim_unstable"].tolist() == [False, True, False, False]
    assert truncated[1] and not terminated[1] and reward[1] == 0.0
    assert torch.isfinite(obs).all() and torch.isfinite(infos["final_obs"]).all()
    assert not truncated[[0, 2, 3]].any()


def test_step_before_reset_and_after_close_raise():
    env = gym.make_vec("GpuCartpole-v0", num_envs=2)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(torch.zeros(2, 1))
    env.close()
    with pytest.raises(RuntimeError, match="closed"):
        env.reset()


@pytest.mark.parametrize("kwargs, error, match", [
    ({"not_a_param": 1}, TypeError, "unknown parameter"),
    ({"device": "tpu:0"}, ValueError, "device must be"),
    ({"device": "cpu:7"}, ValueError, "sees only"),
    ({"backend": "physx"}, ValueError, "backend must be"),
    ({"output": "numpy"}, ValueError, "output must be"),
    ({"render_mode": "ansi"}, ValueError, "not supported"),
    ({"asset": "/nonexistent/cartpole.xml"}, ValueError, "not found"),
])
def test_bad_constructor_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        gym.make_vec("GpuCartpole-v0", num_envs=2, **kwargs)


@pytest.mark.parametrize("num_envs", [0, -3, 2.5])
def test_bad_num_envs_is_rejected(num_envs):
    with pytest.raises(ValueError, match="num_envs"):
        gym.make_vec("GpuCartpole-v0", num_envs=num_envs)


def test_warp_backend_on_a_gpu_without_warp_names_the_extra(monkeypatch):
    import importlib.util
    from types import SimpleNamespace

    from gpu_envs.sim import check_backend

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("warp", "mujoco_warp") else real(name, *a))
    with pytest.raises(ImportError, match=r"pip install -e '\.\[warp\]'"):
        check_backend("warp", SimpleNamespace(platform="gpu"))


def test_warp_backend_on_the_cpu_says_it_needs_a_gpu_not_an_install():
    with pytest.raises(ValueError, match="runs on CUDA GPUs only .*use backend='jax'"):
        gym.make_vec("GpuCartpole-v0", num_envs=2, backend="warp")


@pytest.mark.parametrize("options, error, match", [
    (1, TypeError, "reset options must be a dict"), ("reset_mask", TypeError, "reset options must be a dict"),
    ({"reset_mask": None}, ValueError, "reset_mask must be a bool array"),
])
def test_reset_options_that_are_not_a_dict_with_a_mask_are_refused(cartpole, options, error, match):
    cartpole.reset(seed=0)
    with pytest.raises(error, match=match):
        cartpole.reset(options=options)


def test_finite_float64_actions_beyond_float32_are_clipped_not_zeroed(cartpole):
    cartpole.reset(seed=3)
    expected = cartpole.step(torch.tensor([[1.0], [-1.0], [1.0], [-1.0]]))[0].clone()
    cartpole.reset(seed=3)
    obs, _, _, _, infos = cartpole.step(np.array([[1e300], [-1e39], [5.0], [-1e300]]))
    assert not infos["nonfinite_action"].any()
    assert torch.equal(obs, expected)


def test_bfloat16_actions_from_jax_are_accepted(cartpole):
    cartpole.reset(seed=0)
    obs, *_ = cartpole.step(jnp.zeros((NUM_ENVS, 1), jnp.bfloat16))
    assert obs.shape == (NUM_ENVS, 4)


def test_a_ragged_action_list_names_the_action():
    env = gym.make_vec("GpuCartpole-v0", num_envs=2)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must be an array of shape \(2, 1\)"):
        env.step([[0.5], [0.5, 1.0]])
    env.close()


def test_bad_reset_options_are_rejected(cartpole):
    with pytest.raises(ValueError, match="unknown reset options"):
        cartpole.reset(options={"bogus": 1})
    with pytest.raises(ValueError, match="reset_mask"):
        cartpole.reset(options={"reset_mask": np.ones(NUM_ENVS + 1, bool)})


def test_num_envs_far_beyond_memory_is_refused_before_anything_is_allocated():
    with pytest.raises(MemoryError, match=r"num_envs=2000000000 does not fit: .* GB is free; at most about \d+ envs"):
        gym.make_vec("GpuCartpole-v0", num_envs=2_000_000_000)


def test_a_step_that_cannot_fit_is_refused_with_the_estimate_before_it_runs(monkeypatch):
    env = gym.make_vec("GpuCartpole-v0", num_envs=NUM_ENVS)
    env.reset(seed=0)
    monkeypatch.setattr(gpu_envs.memory, "available_bytes", lambda device: 1000)
    with pytest.raises(MemoryError, match=r"num_envs=4 does not fit: one step needs about .* on cpu"):
        env.step(torch.zeros(NUM_ENVS, 1))
    monkeypatch.undo()
    obs, *_ = env.step(torch.zeros(NUM_ENVS, 1))  # nothing was run or donated by the refused step
    assert torch.isfinite(obs).all()
    env.close()
