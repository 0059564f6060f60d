"""GPU-only behaviour (skipped without a CUDA GPU): zero-copy on CUDA, device placement."""

import gymnasium as gym
import jax
import numpy as np
import pytest
import torch
from compile_events import traced_or_lowered
from gpu_images import SCENES, difference_from_recorded

import gpu_envs.vector_env
from gpu_envs.interop import to_torch
from gpu_envs.sim import Simulation, asset_path, load_model, mjx

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def gpu_cartpole():
    env = gym.make_vec("GpuCartpole-v0", num_envs=1024, device="cuda")
    yield env
    env.close()


def test_outputs_are_cuda_tensors_sharing_the_jax_buffer(gpu_cartpole, monkeypatch):
    gpu_cartpole.reset(seed=0)
    handed = []
    monkeypatch.setattr(gpu_envs.vector_env, "to_torch", lambda array: handed.append(array) or to_torch(array))
    obs, reward, *_ = gpu_cartpole.step(torch.zeros(1024, 1, device="cuda"))
    assert obs.device == torch.device("cuda", 0) and reward.device == obs.device  # on the GPU JAX used
    (buffer,) = handed
    base = buffer.unsafe_buffer_pointer()  # the JAX buffer itself, not a copy of it
    assert base <= obs.data_ptr() < base + buffer.nbytes and base <= reward.data_ptr() < base + buffer.nbytes


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


def test_a_gpu_cartpole_compiles_its_step_before_the_first_step():
    env = gym.make_vec("GpuCartpole-v0", num_envs=512, device="cuda")  # compile_ahead's default
    ahead = env.unwrapped._compile_ahead
    assert ahead is not None
    ahead.wait()
    assert ahead.error is None
    env.reset(seed=0)
    with traced_or_lowered() as seen:
        env.step(torch.zeros(512, 1, device="cuda"))
    assert not [name for name in seen if "step" in name], seen
    env.close()


def test_reset_keys_are_made_on_the_host(gpu_cartpole):
    gpu_cartpole.reset(seed=5)
    assert {device.platform for device in gpu_cartpole.unwrapped._key.devices()} == {"cpu"}
    obs, _ = gpu_cartpole.reset(seed=[1] * 1024)
    assert obs.is_cuda


@pytest.mark.parametrize("asset", ["cartpole.xml", "allegro_hand.xml"])
def test_a_jax_backend_simulation_is_built_on_the_host_as_mjx_builds_it_on_the_gpu(asset, monkeypatch):
    """Simulation has MJX cast and fill its model and data template on the host, then sends them
    over: the arrays that reach the GPU are the ones MJX's put_model and make_data make there."""
    import gpu_envs.sim

    built_on = []
    for name in ("put_model", "make_data"):
        original = getattr(mjx, name)
        monkeypatch.setattr(gpu_envs.sim.mjx, name, lambda *a, _f=original, **k: built_on.append(k["device"]) or _f(*a, **k))
    mj_model = load_model(asset_path(asset))
    sim = Simulation(mj_model, substeps=2, backend="jax", device="cuda")
    monkeypatch.undo()
    assert {device.platform for device in built_on} == {"cpu"} and len(built_on) == 2
    gpu = sim.device
    expected_model = mjx.put_model(mj_model, device=gpu, impl="jax")
    expected_data = mjx.make_data(expected_model, device=gpu, impl="jax")
    for built, expected in ((sim.model, expected_model), (sim._template, expected_data)):
        assert jax.tree.structure(built) == jax.tree.structure(expected)
        for leaf, want in zip(jax.tree.leaves(built), jax.tree.leaves(expected)):
            assert leaf.devices() == {gpu} and (leaf.dtype, leaf.weak_type) == (want.dtype, want.weak_type)
            np.testing.assert_array_equal(np.asarray(leaf), np.asarray(want))


@pytest.mark.parametrize("env_id", SCENES)
def test_gpu_images_match_the_recorded_gpu_images(env_id):
    """The ray tracer on the GPU still draws what tests/data/gpu_images.npz holds (the images the
    CPU path is checked against in test_pixels.py): at most 0.5 grey levels apart on average."""
    pytest.importorskip("warp")
    mean, far = difference_from_recorded(env_id, "cuda", SCENES[env_id])
    assert mean < 0.5 and far < 0.001


def test_a_closed_pixel_env_leaves_the_next_one_working():
    """Closing a pixel env frees its compiled programs at once: left to Python's cycle collector
    (made to run at almost every allocation here), CUDA would refuse to unload them while MuJoCo
    Warp captures the next env's render into a graph, and that env's reset would fail."""
    import gc

    pytest.importorskip("warp")
    first = gym.make_vec("GpuCartpole-v0", num_envs=8, device="cuda", obs_mode="rgb", image_size=16)
    first.reset(seed=0)
    first.step(torch.zeros(8, 1))
    first.close()
    del first
    threshold = gc.get_threshold()
    gc.set_threshold(1)
    try:
        second = gym.make_vec("GpuCartpole-v0", num_envs=8, device="cuda", obs_mode="rgbd", image_size=16)
        obs, _ = second.reset(seed=0)
        obs, *_ = second.step(torch.zeros(8, 1))
        torch.cuda.synchronize()
        second.close()
    finally:
        gc.set_threshold(*threshold)
    assert obs.shape == (8, 16, 16, 4) and obs.float().std() > 1
