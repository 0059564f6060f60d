"""Outputs share memory with the simulator's output buffer, and never change afterwards."""

import torch

import gpu_envs.vector_env
from conftest import NUM_ENVS
from gpu_envs.interop import to_torch


def _spy_on_to_torch(monkeypatch) -> list:
    """Record every JAX array the env hands to torch (the step's packed output buffer)."""
    handed = []

    def spy(array):
        handed.append(array)
        return to_torch(array)

    monkeypatch.setattr(gpu_envs.vector_env, "to_torch", spy)
    return handed


def test_outputs_are_views_of_the_step_output_buffer_itself(cartpole, monkeypatch):
    cartpole.reset(seed=0)
    handed = _spy_on_to_torch(monkeypatch)
    obs, reward, terminated, truncated, infos = cartpole.step(torch.zeros(NUM_ENVS, 1))
    (buffer,) = handed
    base, end = buffer.unsafe_buffer_pointer(), buffer.unsafe_buffer_pointer() + buffer.nbytes
    for tensor in (obs, reward, terminated, truncated, infos["final_obs"], infos["episode"]["r"]):
        assert base <= tensor.data_ptr() < end


def test_kept_tensors_are_not_overwritten_by_later_steps(cartpole):
    cartpole.reset(seed=0)
    kept = cartpole.step(torch.full((NUM_ENVS, 1), 0.5))
    copies = [kept[0].clone(), kept[1].clone(), kept[4]["final_obs"].clone()]
    for _ in range(5):
        cartpole.step(torch.full((NUM_ENVS, 1), -0.5))
    assert torch.equal(kept[0], copies[0])
    assert torch.equal(kept[1], copies[1])
    assert torch.equal(kept[4]["final_obs"], copies[2])


def test_float32_torch_actions_cross_without_a_copy(cartpole):
    from gpu_envs.interop import action_to_jax

    action = torch.zeros(NUM_ENVS, 1)
    converted = action_to_jax(action, (NUM_ENVS, 1), cartpole.jax_device)
    assert converted.unsafe_buffer_pointer() == action.data_ptr()


def test_the_public_dlpack_path_gives_the_same_zero_copy_array(cartpole, monkeypatch):
    from gpu_envs import interop

    monkeypatch.setattr(interop, "_private_importer", lambda device: None)
    monkeypatch.setattr(interop, "_importers", {})
    action = torch.arange(NUM_ENVS, dtype=torch.float32).reshape(NUM_ENVS, 1)
    converted = interop.action_to_jax(action, (NUM_ENVS, 1), cartpole.jax_device)
    assert interop._importers[cartpole.jax_device].fast is None
    assert converted.unsafe_buffer_pointer() == action.data_ptr()


def test_a_failing_private_dlpack_path_falls_back_to_the_public_one(cartpole, monkeypatch, caplog):
    from gpu_envs import interop

    def broken(tensor):
        raise RuntimeError("jaxlib changed")

    monkeypatch.setattr(interop, "_private_importer", lambda device: broken)
    monkeypatch.setattr(interop, "_importers", {})
    action = torch.ones(NUM_ENVS, 1)
    with caplog.at_level("DEBUG", logger="gpu_envs.interop"):
        converted = interop.action_to_jax(action, (NUM_ENVS, 1), cartpole.jax_device)
    assert converted.unsafe_buffer_pointer() == action.data_ptr()
    assert interop._importers[cartpole.jax_device].fast is None
    assert "using jax.dlpack.from_dlpack" in caplog.text


def test_the_private_dlpack_path_is_used_where_jaxlib_has_it(cartpole, monkeypatch):
    from gpu_envs import interop

    monkeypatch.setattr(interop, "_importers", {})
    interop.action_to_jax(torch.zeros(NUM_ENVS, 1), (NUM_ENVS, 1), cartpole.jax_device)
    assert interop._importers[cartpole.jax_device].fast is not None
