"""GPU-only behaviour (skipped without a CUDA GPU): zero-copy on CUDA, device placement."""

import gymnasium as gym
import pytest
import torch

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def gpu_cartpole():
    env = gym.make_vec("GpuCartpole-v0", num_envs=1024, device="cuda")
    yield env
    env.close()


def test_outputs_are_cuda_tensors_sharing_the_jax_buffer(gpu_cartpole):
    gpu_cartpole.reset(seed=0)
    obs, reward, *_ = gpu_cartpole.step(torch.zeros(1024, 1, device="cuda"))
    assert obs.is_cuda and reward.is_cuda
    assert obs.data_ptr() == gpu_cartpole._last_output.unsafe_buffer_pointer()


def test_cuda_actions_cross_without_a_copy(gpu_cartpole):
    from gpu_envs.interop import action_to_jax

    action = torch.zeros(1024, 1, device="cuda")
    assert action_to_jax(action, (1024, 1), gpu_cartpole.jax_device).unsafe_buffer_pointer() == action.data_ptr()


def test_cpu_actions_are_moved_to_the_gpu(gpu_cartpole):
    gpu_cartpole.reset(seed=0)
    obs, *_ = gpu_cartpole.step(torch.zeros(1024, 1))
    assert obs.is_cuda


def test_kept_cuda_tensors_survive_later_steps(gpu_cartpole):
    gpu_cartpole.reset(seed=0)
    kept = gpu_cartpole.step(torch.ones(1024, 1, device="cuda"))[0]
    copy = kept.clone()
    for _ in range(10):
        gpu_cartpole.step(-torch.ones(1024, 1, device="cuda"))
    torch.cuda.synchronize()
    assert torch.equal(kept, copy)
