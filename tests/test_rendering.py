"""render_mode="rgb_array" frames (per env and the grid), video clips and the play CLI (CPU, EGL or OSMesa)."""

import os
import subprocess
import sys
from collections.abc import Sequence

import gymnasium as gym
import mujoco
import numpy as np
import pytest
import torch

from gpu_envs.render import EnvFrames, GridScene, RenderConfig, gl_unavailable, grid_shape, render_grid
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


def _differ(a, b) -> int:
    """Summed absolute pixel difference of two frames."""
    return int(np.abs(a.astype(int) - b.astype(int)).sum())


@needs_gl
def test_grid_frame_has_the_configured_size_and_is_not_blank(rendered_cartpole):
    frame = rendered_cartpole.render_grid()
    assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8
    assert frame.std() > 10  # sky, floor and carts, not one flat colour


@needs_gl
def test_grid_frames_differ_after_the_state_changes(rendered_cartpole):
    before = rendered_cartpole.render_grid()
    for _ in range(20):
        rendered_cartpole.step(torch.ones(4, 1))
    after = rendered_cartpole.render_grid()
    assert _differ(after, before) > 1000


@needs_gl
def test_scene_holds_one_copy_of_each_env_asked_for(rendered_cartpole):
    rendered_cartpole.render_grid()
    grid = rendered_cartpole._renderer.grid
    per_env = grid.model.ngeom - 1  # every geom but the floor, which is drawn once
    assert grid.scene.ngeom == 1 + 4 * per_env
    cells = {tuple(np.round(o, 3)) for o in grid.offsets}
    assert len(cells) == 4  # four distinct grid cells


def test_a_grid_frame_copies_one_small_array_of_the_shown_envs_only(rendered_cartpole, monkeypatch):
    copied = []
    compute = rendered_cartpole._shown_fn
    monkeypatch.setattr(rendered_cartpole, "_shown_fn", lambda state: copied.append(compute(state)) or copied[-1])
    rendered_cartpole.render_grid()
    (shown,) = copied  # one device array reaches the host per frame
    assert shown.shape == (4, 2) and shown.nbytes == 4 * 2 * 4  # 4 shown envs x (nq 2 + 7 x 0 mocap) float32


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
    assert env.render_grid().shape == (48, 64, 3)
    assert len(env._renderer.grid.offsets) == 2
    env.close()


# -- render(): one frame per env, drawn when read ----------------------------------------


@needs_gl
def test_render_returns_one_frame_per_env_of_the_configured_size(rendered_cartpole):
    frames = rendered_cartpole.render()
    assert isinstance(frames, Sequence) and len(frames) == 4
    assert all(frame.shape == (120, 160, 3) and frame.dtype == np.uint8 for frame in frames)


@needs_gl
def test_render_draws_only_the_frames_read(rendered_cartpole):
    frames = rendered_cartpole.render()
    assert frames.drawn == 0
    frames[2]
    assert frames.drawn == 1


def test_render_before_reset_raises():
    env = gym.make_vec("GpuCartpole-v0", num_envs=1, render_mode="rgb_array")
    with pytest.raises(RuntimeError, match="call reset"):
        env.render()
    env.close()


@needs_gl
def test_a_read_frame_is_kept_and_read_only(rendered_cartpole):
    frames = rendered_cartpole.render()
    frame = frames[1]
    assert frames[1] is frame and frames[-3] is frame
    with pytest.raises(ValueError, match="read-only"):
        frame[0, 0, 0] = 0


@needs_gl
def test_slices_share_the_snapshot_and_asarray_stacks_them(rendered_cartpole):
    frames = rendered_cartpole.render()
    tail = frames[2:]
    assert isinstance(tail, EnvFrames) and len(tail) == 2 and tail.drawn == 0
    stacked = np.asarray(tail)
    assert stacked.shape == (2, 120, 160, 3) and stacked.dtype == np.uint8
    assert frames[3] is tail[1] and np.array_equal(stacked[1], frames[3])


def test_reading_past_the_last_env_raises_index_error(rendered_cartpole):
    frames = rendered_cartpole.render()
    with pytest.raises(IndexError):
        frames[4]


@needs_gl
def test_frames_of_envs_in_different_states_differ(rendered_cartpole):
    rendered_cartpole.reset(seed=0)
    for _ in range(15):  # env 0 pushed right, env 1 left
        rendered_cartpole.step(torch.tensor([[1.0], [-1.0], [0.0], [0.0]]))
    frames = rendered_cartpole.render()
    assert _differ(frames[0], frames[1]) > 1000


@needs_gl
def test_frame_i_is_env_i_rendered_alone(rendered_cartpole):
    # a one-env env reset with env 2's seed holds env 2's state: its grid of one env is env 2 alone
    rendered_cartpole.reset(seed=[10, 11, 12, 13])
    frames = rendered_cartpole.render()
    alone = gym.make_vec("GpuCartpole-v0", num_envs=1, render_mode="rgb_array",
                         render_config={"num_envs": 1, "width": 160, "height": 120})
    alone.reset(seed=[12])
    try:
        expected = alone.render_grid()
    finally:
        alone.close()
    assert np.array_equal(frames[2], expected)
    assert not np.array_equal(frames[1], expected)  # the reset states differ enough to tell apart


@needs_gl
def test_render_snapshots_the_state_at_the_call(rendered_cartpole):
    rendered_cartpole.reset(seed=0)
    at_call = rendered_cartpole.render()[0]
    frames = rendered_cartpole.render()
    for _ in range(15):
        rendered_cartpole.step(torch.ones(4, 1))
    assert np.array_equal(frames[0], at_call)  # read after the steps: still the state at render()
    assert _differ(rendered_cartpole.render()[0], at_call) > 1000


def test_render_copies_every_env_in_one_array(rendered_cartpole):
    import jax

    snapshot = rendered_cartpole._snapshot_fn(rendered_cartpole._state)
    assert isinstance(snapshot, jax.Array) and snapshot.shape == (4, 2)  # 4 envs x (nq 2 + 0 mocap)


@needs_gl
def test_reading_a_frame_after_close_raises():
    env = gym.make_vec("GpuCartpole-v0", num_envs=1, render_mode="rgb_array",
                       render_config={"width": 32, "height": 24})
    env.reset(seed=0)
    frames = env.render()
    env.close()
    with pytest.raises(RuntimeError, match="closed"):
        frames[0]


@needs_gl
def test_one_cartpole_fills_its_frame_with_its_rail(rendered_cartpole):
    # Cartpole's camera distance is 0 (its grids add theirs): one env alone is framed by its cell
    frame = rendered_cartpole.render()[0]
    rail = (frame.min(axis=2) > 200).any(axis=0)  # columns holding the white rail (or sky line)
    assert frame.std() > 10 and rail.mean() > 0.7


@needs_gl
def test_hand_frame_of_one_env_shows_its_cube(hand):
    hand.reset(seed=0)
    hand.render_mode = "rgb_array"  # see test_hand_frame_shows_the_hand_cube_and_goal
    try:
        frame = hand.render()[1]
    finally:
        hand._renderer.close()
        hand._renderer, hand._one_env, hand.render_mode = None, None, None
    assert frame.shape == (480, 640, 3)
    cube_orange = (frame[..., 0] > 150) & (frame[..., 1] < 110) & (frame[..., 2] < 80)
    assert cube_orange.sum() > 1000  # one hand alone: its cube is large in the picture


@needs_gl
def test_gymnasium_vector_record_video_writes_an_mp4_of_env_0(rendered_cartpole, tmp_path):
    pytest.importorskip("moviepy")
    import imageio_ffmpeg
    from gymnasium.wrappers.vector import RecordVideo as GymRecordVideo

    recorder = GymRecordVideo(rendered_cartpole, str(tmp_path / "videos"), episode_trigger=lambda i: True,
                              video_length=5, record_first_only=True)
    recorder.reset(seed=0)
    for _ in range(5):  # the 6th frame ends the clip (gymnasium saves it then, no close needed)
        recorder.step(torch.zeros(4, 1))
    assert not recorder.recording
    assert os.listdir(tmp_path / "videos") == ["rl-video-episode-0.mp4"]
    reader = imageio_ffmpeg.read_frames(str(tmp_path / "videos" / "rl-video-episode-0.mp4"))
    assert next(reader)["size"] == (160, 120)  # env 0's frame alone, not 4 side by side
    assert sum(1 for _ in reader) in (5, 6)  # 6 recorded; moviepy 2.1's writer leaves out the last


@needs_gl
def test_render_grid_of_a_gymnasium_wrapper_is_the_env_grid(rendered_cartpole):
    wrapped = gym.vector.VectorWrapper(rendered_cartpole)  # passes no attribute through
    assert np.array_equal(render_grid(wrapped), rendered_cartpole.render_grid())


@pytest.mark.parametrize("config, message", [
    ({"num_env": 4}, "unknown render_config key"),
    ({"width": 0}, r"width must be an int in \[1, 16384\]"),
    ({"width": 100000}, r"width must be an int in \[1, 16384\]"),
    ({"spacing": -1.0}, "spacing must be one number > 0"),
    ({"spacing": float("nan")}, "spacing must be one number > 0"),
    ({"spacing": "abc"}, "spacing must be one number > 0"),
    ({"lookat": (0, 0)}, "lookat must be"),
    ({"lookat": 5}, "lookat must be"),
    ({"distance": -1.0}, "distance must be a number >= 0"),
    ({"distance": "far"}, "distance must be a number >= 0"),
    ({"azimuth": float("inf")}, "azimuth must be a number"),
])
def test_bad_render_config_is_refused_with_the_field_named(config, message):
    with pytest.raises((TypeError, ValueError), match=message):
        RenderConfig.build(config)


def test_unknown_render_mode_is_refused():
    with pytest.raises(ValueError, match="render_mode 'rgb' is not supported"):
        gym.make_vec("GpuCartpole-v0", num_envs=1, render_mode="rgb")


def test_render_without_render_mode_returns_none_and_builds_nothing(cartpole):
    cartpole.reset(seed=0)
    assert cartpole.render() is None and cartpole.render_grid() is None
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
        frame = hand.render_grid()
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


@pytest.mark.parametrize("kwargs, message", [
    ({"every": 0}, "every must be a positive int"), ({"length": 0}, "length must be a positive int"),
    ({"every": "a"}, "every must be a positive int"), ({"every": 2.5}, "every must be a positive int"),
])
def test_record_video_refuses_schedules_that_are_not_positive_ints(rendered_cartpole, tmp_path, kwargs, message):
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


def _scene_geom_xy(scene) -> np.ndarray:
    return np.array([scene.geoms[i].pos[:2] for i in range(scene.ngeom)
                     if scene.geoms[i].type != mujoco.mjtGeom.mjGEOM_PLANE])


def test_a_tracked_body_keeps_each_walking_robot_in_its_grid_cell():
    from gpu_envs.sim import asset_path
    from gpu_envs.tasks.ant import AntTask, load_ant

    model = load_ant(asset_path("ant.xml"))
    grid = GridScene(model, 2, RenderConfig(width=64, height=48), AntTask.camera)
    qpos = np.tile(model.qpos0, (2, 1))
    qpos[:, 2] = 0.44
    qpos[1, :2] = (50.0, -20.0)  # env 1 has walked far from its cell
    grid.update(qpos, np.zeros((2, 0, 3)), np.zeros((2, 0, 4)))
    xy = _scene_geom_xy(grid.scene)
    cell = np.abs(xy - grid.offsets[1][:2]).max(axis=1) < 1.0  # within one ant's reach of cell 1's centre
    home = np.abs(xy).max(axis=1) < 1.0
    assert np.all(cell | home) and cell.sum() == home.sum() > 0


def test_a_tracked_body_the_model_lacks_is_named_in_the_error():
    from gpu_envs.camera import CameraDefaults
    from gpu_envs.sim import asset_path, load_model

    camera = CameraDefaults(spacing=(1, 1), lookat=(0, 0, 0), distance=1.0, azimuth=90, elevation=-20, track="torso")
    with pytest.raises(ValueError, match="the camera tracks body 'torso', which the model does not have"):
        GridScene(load_model(asset_path("cartpole.xml")), 2, RenderConfig(width=64, height=48), camera)
