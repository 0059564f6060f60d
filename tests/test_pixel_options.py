"""Pixel observations' options and the camera they add, checked without the renderer (MuJoCo Warp
need not be installed): bad options fail before anything compiles, with errors that say what is
allowed, and the added camera sees one env as `render()` frames it (MuJoCo's own renderer)."""

import gymnasium as gym
import mujoco
import numpy as np
import pytest

from gpu_envs import pixel_camera, pixels
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
    with pytest.raises(ValueError, match=r"obs_mode must be one of \('state', 'rgb', 'depth', 'rgbd', 'state\+rgb', "
                                         r"'state\+depth', 'state\+rgbd'\) \(got"):
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


def test_a_warp_without_its_cpu_backend_is_named_for_pixels_on_the_cpu(cartpole, monkeypatch):
    warp = pytest.importorskip("warp")
    monkeypatch.setattr(warp, "is_cpu_available", lambda: False)
    with pytest.raises(RuntimeError, match=r"Warp's CPU backend, which this warp-lang build lacks \(no LLVM\)"):
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
    pixel_camera.add_camera(spec, task.camera, width, height, spec.visual.global_.fovy)
    model = spec.compile()
    qpos = model.qpos0.copy() if move is None else move(model.qpos0.copy())
    grid = GridScene(model, 1, RenderConfig(width=width, height=height), task.camera, max_width=width,
                     max_height=height)
    renderer = OffscreenRenderer(grid, width, height)
    try:
        args = (qpos[None], np.zeros((1, model.nmocap, 3)), np.tile(np.array([1.0, 0, 0, 0]), (1, model.nmocap, 1)))
        free = renderer.draw(grid, *args).astype(int)
        grid.camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
        grid.camera.fixedcamid = model.camera(pixel_camera.CAMERA_NAME).id
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
    position, xyaxes, distance = pixel_camera.camera_pose(defaults, 45.0, 1.0)
    assert distance == pytest.approx(defaults.distance)
    forward = np.asarray(defaults.lookat) - position  # the camera looks along -z: z = x cross y
    assert np.cross(xyaxes[:3], xyaxes[3:]) @ forward == pytest.approx(-distance)
    assert forward[2] < 0  # from above (negative elevation)


def test_a_model_without_cameras_gets_one_for_pixels():
    assert mujoco.MjModel.from_xml_path(str(asset_path("cartpole.xml"))).ncam == 0
    task = task_spec("GpuCartpole-v0").make_task({}, backend="jax", device="cpu")
    spec = task.model_spec()
    depth_range = pixel_camera.add_camera(spec, task.camera, 64, 64, 45.0)
    assert spec.compile().camera(pixel_camera.CAMERA_NAME).id == 0
    assert depth_range > 9.0  # twice the distance that frames the 9 m track


def test_a_model_spec_that_is_not_the_simulated_model_is_refused(cartpole, monkeypatch):
    monkeypatch.setattr(pixels, "require_warp", lambda: None)  # the check comes before any Warp work
    monkeypatch.setattr(cartpole.task, "model_spec", lambda: mujoco.MjSpec.from_file(str(asset_path("ant.xml"))))
    with pytest.raises(ValueError, match=r"CartpoleTask.model_spec\(\) is not the model it simulates \(nq 15 != 2"):
        type(cartpole)(cartpole.task, 2, obs_mode="rgb", image_size=8)


@pytest.mark.parametrize("mode", ["same_step", "next_step", "disabled"])
@pytest.mark.parametrize("frame_stack", [1, 2])
def test_an_env_whose_physics_went_non_finite_shows_a_blank_image(mode, frame_stack):
    """Env 0's physics turns NaN at the first step (a stand-in renderer draws every env as a
    grey image): its image is blank until a new episode starts, and its SAME_STEP final_obs is
    blank; env 1 keeps its image."""
    import jax
    import jax.numpy as jnp
    from gymnasium.vector import AutoresetMode

    from gpu_envs.batched import BatchedEnv
    from test_task_api import ToyConfig, ToyTask

    class BlowUpTask(ToyTask):
        def step(self, state, action):
            result = super().step(state, action)
            return result._replace(state=result.state._replace(
                qpos=jnp.where(action[0] > 0.5, jnp.nan, result.state.qpos)))

    def grey(*states, differ=None):
        return tuple(jnp.full((2, 2, 3, 1), 100, jnp.uint8) for _ in states)

    env = BatchedEnv(BlowUpTask(ToyConfig()), 2, AutoresetMode[mode.upper()], pixels=grey, frame_stack=frame_stack)
    state, obs = env.reset(jax.random.split(jax.random.PRNGKey(0), 2))
    assert obs.shape == (2, 2, 3, frame_stack) and bool((obs == 100).all())
    _, out = jax.jit(env.step)(state, jnp.array([[1.0], [0.0]]))
    assert bool(out.sim_unstable[0]) and not bool(out.sim_unstable[1])
    assert bool((out.obs[1] == 100).all())
    if mode == "same_step":  # env 0 already started over: its new episode's first image
        assert bool((out.obs[0] == 100).all()) and bool((out.final_obs[0] == 0).all())
        assert bool((out.final_obs[1] == 100).all())
    else:
        assert bool((out.obs[0] == 0).all()) and out.final_obs is None


class _Data:
    """The fields `CameraAndLightPoses.place` reads and writes, as MJX's Warp `Data` holds them."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def replace(self, **fields):
        return _Data(**{**self.__dict__, **fields})


def test_camera_and_light_poses_are_mujocos_for_a_robot_that_moved_and_turned():
    import jax.numpy as jnp

    task = task_spec("GpuAnt-v0").make_task({}, backend="jax", device="cpu")
    spec = task.model_spec()
    light = spec.body("torso").add_light(name="follow", pos=[0.1, 0.2, 1.0], dir=[0.0, 0.3, -1.0])
    light.mode = mujoco.mjtCamLight.mjCAMLIGHT_TRACK  # a tracking light, and the world's fixed one
    pixel_camera.add_camera(spec, task.camera, 64, 64, 45.0)
    model = spec.compile()
    data = mujoco.MjData(model)
    data.qpos[:7] = [1.5, -0.7, 0.8, np.cos(0.4), 0.1, 0.2, np.sin(0.4)]
    data.qpos[:7][3:] /= np.linalg.norm(data.qpos[3:7])
    mujoco.mj_kinematics(model, data)
    mujoco.mj_camlight(model, data)
    camera = model.camera(pixel_camera.CAMERA_NAME).id
    poses = pixel_camera.CameraAndLightPoses(model, camera)
    ours = poses.place(_Data(xpos=jnp.asarray(data.xpos), xmat=jnp.asarray(data.xmat),
                             cam_xpos=jnp.zeros((model.ncam, 3)), cam_xmat=jnp.zeros((model.ncam, 3, 3)),
                             _impl=_Data(light_xpos=jnp.zeros((model.nlight, 3)),
                                         light_xdir=jnp.zeros((model.nlight, 3)))))
    np.testing.assert_allclose(ours.cam_xpos[camera], data.cam_xpos[camera], atol=1e-6)
    np.testing.assert_allclose(np.asarray(ours.cam_xmat[camera]).ravel(), data.cam_xmat[camera], atol=1e-6)
    np.testing.assert_allclose(ours._impl.light_xpos, data.light_xpos, atol=1e-6)
    np.testing.assert_allclose(ours._impl.light_xdir, data.light_xdir, atol=1e-6)


def test_lights_the_renderer_cannot_place_are_named():
    spec = mujoco.MjSpec.from_file(str(asset_path("cartpole.xml")))
    light = spec.body("cart").add_light(name="spot", pos=[0, 0, 1])
    light.mode = mujoco.mjtCamLight.mjCAMLIGHT_TRACKCOM
    camera = spec.worldbody.add_camera(name="c", pos=[0, -4, 2])
    model = spec.compile()
    with pytest.raises(ValueError, match=r"mode fixed or track; the model has \{'light 1': 'mjCAMLIGHT_TRACKCOM'\}"):
        pixel_camera.CameraAndLightPoses(model, model.camera(camera.name).id)
