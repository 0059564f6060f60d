"""Outputs share memory with the simulator's output buffer, and never change afterwards."""

import torch

from conftest import NUM_ENVS


def test_outputs_share_the_step_output_buffer(cartpole):
    cartpole.reset(seed=0)
    obs, reward, terminated, truncated, infos = cartpole.step(torch.zeros(NUM_ENVS, 1))
    base = cartpole._last_output.unsafe_buffer_pointer()
    end = base + cartpole._last_output.nbytes
    for tensor in (obs, reward, terminated, truncated, infos["final_obs"], infos["episode"]["r"]):
        assert base <= tensor.data_ptr() < end
    assert obs.data_ptr() == base  # obs is the first field of the buffer


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
