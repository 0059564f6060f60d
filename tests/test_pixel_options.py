"""Pixel observations' options and the camera they add, checked without the renderer (MuJoCo Warp
need not be installed): bad options fail before anything compiles, with errors that say what is
allowed, and the added camera sees one env as `render()` frames it (MuJoCo's own renderer)."""

import gymnasium as gym
import mujoco
import numpy as np
import pytest

from gpu_envs import pixels
from gpu_envs.render import GridScene, OffscreenRenderer, RenderConfig, gl_unavailable
from gpu_envs.sim import asset_path
from gpu_envs.tasks import task_spec


@pytest.fixture
def no_compile(monkeypatch):
    """Fail the test if an env gets as far as building its task."""
    import gpu_envs.tasks.registry as registry

    monkeypatch.setattr(registry.TaskSpec, "make_task", lambda *a, **k: pytest.fail("built the task"))


@pytest.mark.parametrize("mode", ["pixels", "RGB", None, "rgb+state"])
def test_an_unknown_obs_mode_names_the_modes_before_anything_compiles(no_compile, mode):
    with pytest.raises(ValueError, match=r"obs_mode must be one of \('state', 'rgb', 'depth', 'rgbd'\)"):
        gym.make_vec("GpuCartpole-v0", num_envs=2, device="cpu", obs_mode=mode)


@pytest.mark.parametrize("size", [0, -3, (64, 0), (64,), "64", 64.0, (True, 8), pixels.MAX_SIDE + 1])
def test_an_image_size_that_is_not_one_or_two_sides_in_range_is_refused(size):
    with pytest.raises(ValueError, match=rf"image_size must be an int or a \(width, height\) pair of ints in "
                                         rf"\[1, {pixels.MAX_SIDE}\] \(got"):
        pixels.parse_image_size(size)


def test_an_image_size_is_one_side_or_width_and_height():
    assert pixels.parse_image_size(64) == (64, 64)
    assert pixels.parse_image_size((96, 48)) == (96, 48)
    assert pixels.parse_image_size(np.int64(32)) == (32, 32)


@pytest.mark.parametrize("option", [{"image_size": 64}, {"frame_stack": 3}])
def test_pixel_options_without_a_pixel_mode_are_refused(cartpole, option):
    (name, value), = option.items()
    with pytest.raises(ValueError, match=rf"{name} applies to the pixel obs modes .*obs_mode is 'state' "
                                         rf"\(got {name}={value}\)"):
        type(cartpole)(cartpole.task, 2, **option)


@pytest.mark.parametrize("frame_stack", [0, -1, 2.0, True, "3", pixels.MAX_FRAME_STACK + 1])
def test_a_frame_stack_that_is_not_a_small_positive_int_is_refused(frame_stack):
    with pytest.raises(ValueError, match=rf"frame_stack must be an int in \[1, {pixels.MAX_FRAME_STACK}\] \(got"):
        pixels.check_frame_stack(frame_stack)


def test_images_that_cannot_fit_are_refused_with_the_estimate_before_rendering(cartpole, monkeypatch):
    monkeypatch.setattr(pixels, "require_warp", lambda: pytest.fail("got as far as the renderer"))
    with pytest.raises(MemoryError, match=r"image_size=\(4096, 4096\) with obs_mode='rgb' for 100000 envs needs "
                                          r"about .* GB of images on .* use fewer envs or smaller images"):
        type(cartpole)(cartpole.task, 100_000, obs_mode="rgb", image_size=4096)


def test_without_mujoco_warp_pixels_say_what_to_install(cartpole, monkeypatch):
    monkeypatch.setattr(pixels.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"install the 'warp' extra .* or use obs_mode='state'"):
        type(cartpole)(cartpole.task, 2, obs_mode="rgb", image_size=16)


def test_the_vector_env_keywords_are_reserved_for_task_configs():
    from gpu_envs.tasks.base import RESERVED_CONFIG_NAMES

    assert {"obs_mode", "image_size", "frame_stack"} <= set(RESERVED_CONFIG_NAMES)


# -- the camera -----------------------------------------------------------------------------

GL_MISSING = gl_unavailable()


def _free_and_fixed_frames(env_id, width, height, move=None):
    """One env at its reference pose (moved by `move`, a function of qpos), drawn by MuJoCo's
    renderer from render()'s free camera and from the fixed camera `add_camera` adds."""
    task = task_spec(env_id).make_task({}, backend="jax", device="cpu")
    spec = task.model_spec()
    pixels.add_camera(spec, task.camera, width, height, spec.visual.global_.fovy)
    model = spec.compile()
    qpos = model.qpos0.copy() if move is None else move(model.qpos0.copy())
    grid = GridScene(model, 1, RenderConfig(width=width, height=height), task.camera, max_width=width,
                     max_height=height)
    renderer = OffscreenRenderer(grid, width, height)
    try:
        args = (qpos[None], np.zeros((1, model.nmocap, 3)), np.tile(np.array([1.0, 0, 0, 0]), (1, model.nmocap, 1)))
        free = renderer.draw(grid, *args).astype(int)
        grid.camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
        grid.camera.fixedcamid = model.camera(pixels.CAMERA_NAME).id
        fixed = renderer.draw(grid, *args).astype(int)
    finally:
        renderer.close()
    return free, fixed


@pytest.mark.skipif(GL_MISSING is not None, reason=f"no OpenGL context here: {GL_MISSING}")
@pytest.mark.parametrize("env_id", ["GpuCartpole-v0", "GpuAnt-v0"])
def test_the_added_camera_sees_one_env_as_render_frames_it(env_id):
    free, fixed = _free_and_fixed_frames(env_id, 96, 64)
    assert np.abs(free - fixed).mean() < 0.5
    assert free.std() > 10  # a picture, not an empty frame


@pytest.mark.skipif(GL_MISSING is not None, reason=f"no OpenGL context here: {GL_MISSING}")
def test_the_added_camera_follows_a_walking_robot():
    def walk(qpos):
        qpos[:2] += (1.5, -0.7)  # the Ant's torso moved over the ground
        return qpos

    free, fixed = _free_and_fixed_frames("GpuAnt-v0", 96, 64, move=walk)
    assert np.abs(free - fixed).mean() < 0.5


def test_camera_pose_looks_at_its_target_from_the_given_angles():
    defaults = task_spec("GpuAnt-v0").make_task({}, backend="jax", device="cpu").camera
    position, xyaxes, distance = pixels.camera_pose(defaults, 45.0, 1.0)
    assert distance == pytest.approx(defaults.distance)
    forward = np.asarray(defaults.lookat) - position  # the camera looks along -z: z = x cross y
    assert np.cross(xyaxes[:3], xyaxes[3:]) @ forward == pytest.approx(-distance)
    assert forward[2] < 0  # from above (negative elevation)


def test_a_model_without_cameras_gets_one_for_pixels():
    assert mujoco.MjModel.from_xml_path(str(asset_path("cartpole.xml"))).ncam == 0
    task = task_spec("GpuCartpole-v0").make_task({}, backend="jax", device="cpu")
    spec = task.model_spec()
    depth_range = pixels.add_camera(spec, task.camera, 64, 64, 45.0)
    assert spec.compile().camera(pixels.CAMERA_NAME).id == 0
    assert depth_range > 9.0  # twice the distance that frames the 9 m track


def test_a_model_spec_that_is_not_the_simulated_model_is_refused(cartpole, monkeypatch):
    monkeypatch.setattr(pixels, "require_warp", lambda: None)  # the check comes before any Warp work
    monkeypatch.setattr(cartpole.task, "model_spec", lambda: mujoco.MjSpec.from_file(str(asset_path("ant.xml"))))
    with pytest.raises(ValueError, match=r"CartpoleTask.model_spec\(\) is not the model it simulates \(nq 15 != 2"):
        type(cartpole)(cartpole.task, 2, obs_mode="rgb", image_size=8)
