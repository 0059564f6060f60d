"""render_mode="rgb_array" frames, the grid, video clips and the play CLI (CPU, EGL or OSMesa)."""

import os
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch

from gpu_envs.render import RenderConfig, gl_unavailable, grid_shape
from gpu_envs.video import RecordVideo, VideoWriter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED_POLICY = os.path.join(ROOT, "examples", "checkpoints", "Cartpole_policy.pt")


GL_MISSING = gl_unavailable()
needs_gl = pytest.mark.skipif(GL_MISSING is not None, reason=f"no OpenGL context here: {GL_MISSING}")


@pytest.fixture(scope="module")
def rendered_cartpole():
    """GpuCartpole-v0, 4 envs, rgb_array, 160x120 frames of all 4 envs."""
    env = gym.make_vec("GpuCartpole-v0", num_envs=4, render_mode="rgb_array",
                       render_config={"num_envs": 4, "width": 160, "height": 120})
    env.reset(seed=0)
    yield env
    env.close()


@needs_gl
def test_rgb_array_frame_has_the_configured_size_and_is_not_blank(rendered_cartpole):
    frame = rendered_cartpole.render()
    assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8
    assert frame.std() > 10  # sky, floor and carts, not one flat colour


@needs_gl
def test_frames_differ_after_the_state_changes(rendered_cartpole):
    before = rendered_cartpole.render()
    for _ in range(20):
        rendered_cartpole.step(torch.ones(4, 1))
    after = rendered_cartpole.render()
    assert np.abs(after.astype(int) - before.astype(int)).sum() > 1000


@needs_gl
def test_scene_holds_one_copy_of_each_env_asked_for(rendered_cartpole):
    rendered_cartpole.render()
    grid = rendered_cartpole._renderer.grid
    per_env = grid.model.ngeom - 1  # every geom but the floor, which is drawn once
    assert grid.scene.ngeom == 1 + 4 * per_env
    cells = {tuple(np.round(o, 3)) for o in grid.offsets}
    assert len(cells) == 4  # four distinct grid cells


def test_a_frame_needs_one_small_copy_of_the_shown_envs_only(rendered_cartpole):
    import jax

    shown = rendered_cartpole._shown_fn(rendered_cartpole._state)
    assert isinstance(shown, jax.Array) and shown.shape == (4, 2)  # one array: 4 envs x (nq 2 + 0 mocap)
    qpos, mocap_pos, mocap_quat = rendered_cartpole._shown_on_host()
    assert qpos.shape == (4, 2) and mocap_pos.shape == (4, 0, 3) and mocap_quat.shape == (4, 0, 4)


def test_grid_shape_fits_the_frame_and_holds_every_env():
    assert grid_shape(16, (1.0, 1.0), 1.0) == (4, 4)
    rows, cols = grid_shape(16, (9.0, 1.5), 4 / 3)  # long rails: fewer columns than rows
    assert rows * cols >= 16 and cols < rows
    assert grid_shape(1, (1.0, 1.0)) == (1, 1)


@needs_gl
def test_shown_envs_are_capped_at_the_env_count():
    env = gym.make_vec("GpuCartpole-v0", num_envs=2, render_mode="rgb_array",
                       render_config={"num_envs": 16, "width": 64, "height": 48})
    env.reset(seed=0)
    assert env.render().shape == (48, 64, 3)
    assert len(env._renderer.grid.offsets) == 2
    env.close()


@pytest.mark.parametrize("config, message", [
    ({"num_env": 4}, "unknown render_config key"),
    ({"width": 0}, "width must be a positive int"),
    ({"spacing": -1.0}, "spacing must be > 0"),
    ({"lookat": (0, 0)}, "lookat must be"),
])
def test_bad_render_config_is_refused_with_the_field_named(config, message):
    with pytest.raises((TypeError, ValueError), match=message):
        RenderConfig.build(config)


def test_unknown_render_mode_is_refused():
    with pytest.raises(ValueError, match="render_mode 'rgb' is not supported"):
        gym.make_vec("GpuCartpole-v0", num_envs=1, render_mode="rgb")


def test_render_without_render_mode_returns_none_and_builds_nothing(cartpole):
    cartpole.reset(seed=0)
    assert cartpole.render() is None
    assert cartpole._renderer is None


def test_human_mode_without_a_display_warns_and_keeps_stepping(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    env = gym.make_vec("GpuCartpole-v0", num_envs=2, render_mode="human")
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="needs a display"):
        obs, *_ = env.step(torch.zeros(2, 1))
    assert obs.shape == (2, 4)
    env.step(torch.zeros(2, 1))  # no second warning, no window, no error
    env.close()


@needs_gl
def test_hand_frame_shows_the_hand_cube_and_goal(hand):
    # `hand` was made without render_mode; switching it here reuses its compile (MJX contact
    # scenes take long to compile on the CPU). Restored below.
    hand.reset(seed=0)
    hand.render_mode = "rgb_array"
    try:
        frame = hand.render()
    finally:
        hand._renderer.close()
        hand._renderer, hand.render_mode = None, None
    assert frame.shape == (480, 640, 3)
    cube_orange = (frame[..., 0] > 150) & (frame[..., 1] < 110) & (frame[..., 2] < 80)
    assert cube_orange.sum() > 200  # the cubes' checker texture is in the picture


def test_video_writer_pads_odd_sizes_and_counts_frames(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    import imageio_ffmpeg

    writer = VideoWriter(tmp_path / "odd.mp4", fps=30)
    for i in range(5):
        writer.add(np.full((21, 31, 3), 40 * i, np.uint8))
    writer.close()
    reader = imageio_ffmpeg.read_frames(str(tmp_path / "odd.mp4"))
    meta = next(reader)
    assert meta["size"] == (32, 22) and sum(1 for _ in reader) == 5


@needs_gl
def test_record_video_saves_clips_of_the_asked_length(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    env = gym.make_vec("GpuCartpole-v0", num_envs=2, render_mode="rgb_array",
                       render_config={"width": 64, "height": 48})
    env = RecordVideo(env, tmp_path, every=10, length=4, name_prefix="clip")
    env.reset(seed=0)
    for _ in range(12):
        env.step(torch.zeros(2, 1))
    env.close()
    assert sorted(os.listdir(tmp_path)) == ["clip-step0.mp4", "clip-step10.mp4"]
    assert [os.path.basename(p) for p in env.saved] == ["clip-step0.mp4", "clip-step10.mp4"]
    assert env.device.type == "cpu"  # attributes the adapters need come from the env


@pytest.mark.parametrize("kwargs, message", [({"every": 0}, "every must be >= 1"), ({"length": 0}, "length must be >= 1")])
def test_record_video_refuses_empty_schedules(rendered_cartpole, tmp_path, kwargs, message):
    pytest.importorskip("imageio_ffmpeg")
    with pytest.raises(ValueError, match=message):
        RecordVideo(rendered_cartpole, tmp_path, **kwargs)


def test_record_video_needs_rgb_array(cartpole, tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    with pytest.raises(ValueError, match="render_mode='rgb_array'"):
        RecordVideo(cartpole, tmp_path)


def _play(*args):
    return subprocess.run([sys.executable, "-m", "gpu_envs.play", "--env", "GpuCartpole-v0", "--device", "cpu", *args],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)


@needs_gl
def test_play_replays_the_shipped_policy_and_saves_a_frame(tmp_path):
    done = _play("--checkpoint", SHIPPED_POLICY, "--num-envs", "8", "--steps", "500", "--frame", str(tmp_path / "f.png"))
    assert done.returncode == 0, done.stderr[-2000:]
    mean = float(done.stdout.split("mean return")[-1].split()[0])
    assert mean > 450 and os.path.getsize(tmp_path / "f.png") > 1000


@needs_gl
def test_play_writes_a_video_of_a_random_policy(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    done = _play("--num-envs", "2", "--steps", "6", "--width", "64", "--height", "48", "--video", str(tmp_path / "v.mp4"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "saved" in done.stdout and os.path.getsize(tmp_path / "v.mp4") > 0


def test_play_names_a_checkpoint_that_is_not_torchscript(tmp_path):
    bad = tmp_path / "model.pth"
    torch.save({"model": {}}, bad)
    done = _play("--checkpoint", str(bad), "--steps", "1", "--frame", str(tmp_path / "f.png"))
    assert done.returncode != 0 and "is not a TorchScript policy" in done.stderr
