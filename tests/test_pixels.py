"""Pixel observations rendered by MuJoCo Warp's ray tracer, here on the CPU (Warp's CPU backend):
images as observations in every autoreset mode, the finished episodes' last images, kept images
left alone, depth, a task written outside the package, images that match MuJoCo's own renderer,
and images that match those the GPU drew (recorded in tests/data/gpu_images.npz by
tests/gpu_images.py; tests/test_gpu.py checks that the GPU still draws them)."""

import gymnasium as gym
import numpy as np
import pytest
import torch

pytest.importorskip("warp", reason="pixel observations need MuJoCo Warp (the 'warp' extra)")

from conftest import EXAMPLE_ENV_ID  # noqa: E402
from gpu_envs.pixel_camera import CAMERA_NAME, add_camera  # noqa: E402
from gpu_images import SCENES, difference_from_recorded  # noqa: E402
from gpu_envs.render import GridScene, OffscreenRenderer, RenderConfig, gl_unavailable  # noqa: E402

N, W, H = 3, 24, 16


@pytest.fixture(scope="module")
def rgb_cartpole():
    env = gym.make_vec("GpuCartpole-v0", num_envs=N, device="cpu", obs_mode="rgb", image_size=(W, H))
    yield env
    env.close()


def _run_until_done(env, action, steps=200):
    """Step with `action` until an env finishes; returns (obs before, that step's outputs)."""
    obs, _ = env.reset(seed=0)
    for _ in range(steps):
        before = obs
        obs, reward, terminated, truncated, infos = env.step(action)
        if (terminated | truncated).any():
            return before, (obs, terminated | truncated, infos)
    pytest.fail(f"no episode ended in {steps} steps")


def test_rgb_observations_are_uint8_images_in_the_observation_space(rgb_cartpole):
    obs, _ = rgb_cartpole.reset(seed=0)
    assert rgb_cartpole.single_observation_space == gym.spaces.Box(0, 255, (H, W, 3), np.uint8)
    assert obs.dtype == torch.uint8 and obs.shape == (N, H, W, 3) and obs.device.type == "cpu"
    assert rgb_cartpole.observation_space.contains(obs.numpy())
    assert obs.float().std() > 10  # a picture: ground, rail and cart, not one colour


def test_the_images_follow_the_state(rgb_cartpole):
    obs, _ = rgb_cartpole.reset(seed=0)
    first = obs.clone()
    for _ in range(5):
        obs, *_ = rgb_cartpole.step(torch.ones(N, 1))
    assert (obs != first).any()


def test_finished_episodes_return_their_last_image_as_final_obs(rgb_cartpole):
    _, (obs, done, infos) = _run_until_done(rgb_cartpole, torch.ones(N, 1))
    final = infos["final_obs"]
    assert final.dtype == torch.uint8 and final.shape == obs.shape
    assert torch.equal(infos["_final_obs"], done)
    assert all((final[i] != obs[i]).any() for i in np.flatnonzero(done.numpy()))  # old episode vs new one
    assert all(torch.equal(final[i], obs[i]) for i in np.flatnonzero(~done.numpy()))


def test_kept_images_are_not_overwritten_by_later_steps(rgb_cartpole):
    obs, _ = rgb_cartpole.reset(seed=0)
    kept, copy = obs, obs.clone()
    for _ in range(3):
        rgb_cartpole.step(torch.ones(N, 1))
    assert torch.equal(kept, copy)


@pytest.mark.parametrize("mode", ["next_step", "disabled"])
def test_the_other_autoreset_modes_return_images_too(mode):
    env = gym.make_vec("GpuCartpole-v0", num_envs=2, device="cpu", obs_mode="rgb", image_size=(W, H),
                       autoreset_mode=mode)
    try:
        env.reset(seed=0)
        obs, _, _, _, infos = env.step(torch.zeros(2, 1))
    finally:
        env.close()
    assert obs.shape == (2, H, W, 3) and obs.dtype == torch.uint8 and "final_obs" not in infos


def test_depth_is_the_distance_along_the_camera_axis_over_its_range():
    env = gym.make_vec("GpuCartpole-v0", num_envs=1, device="cpu", obs_mode="rgbd", image_size=32)
    try:
        obs, _ = env.reset(seed=0)
        depth_range, camera = env.pixel_renderer.depth_range, env.task.camera
    finally:
        env.close()
    assert obs.shape == (1, 32, 32, 4)
    # The middle row looks through the framed point (lookat) down to the ground behind it: along the
    # axis, the camera's distance plus lookat's height over sin(-elevation). Away from the cart and
    # pole the row sees only ground, whose depth along a row without roll is the same.
    metres = depth_range / 2 + camera.lookat[2] / np.sin(np.radians(-camera.elevation))
    ground = obs[0, 15:17, 2:8, 3].float().mean().item()
    assert ground == pytest.approx(255 * metres / depth_range, abs=6)


def test_a_task_written_outside_the_package_gets_pixels_without_new_code():
    env = gym.make_vec(EXAMPLE_ENV_ID, num_envs=2, device="cpu", obs_mode="depth", image_size=20)
    try:
        obs, _ = env.reset(seed=0)
        obs, *_ = env.step(torch.zeros(env.action_space.shape))
    finally:
        env.close()
    assert obs.shape == (2, 20, 20, 1) and obs.dtype == torch.uint8 and obs.float().std() > 1


GL_MISSING = gl_unavailable()


@pytest.mark.parametrize("env_id", SCENES)
def test_cpu_images_match_the_images_the_gpu_drew(env_id):
    """The same states drawn by Warp's CPU backend and, recorded, by the GPU: at most 0.5 grey
    levels apart on average, and hardly a pixel (0.1 %) more than 16 apart (float rounding moves
    an edge by a pixel at most)."""
    mean, far = difference_from_recorded(env_id, "cpu", "jax")
    assert mean < 0.5 and far < 0.001


@pytest.mark.skipif(GL_MISSING is not None, reason=f"no OpenGL context here: {GL_MISSING}")
def test_the_images_match_mujocos_own_renderer_better_than_a_wrong_pose_does():
    """Ray tracer against MuJoCo's OpenGL renderer from the same camera, for the Ant (its camera
    follows the torso, "track" mode): the scene is the same and the shading differs (OpenGL adds
    shadows, reflections and a skybox), so the images differ a little, and a torso turned by 90
    degrees differs clearly more (about twice as much)."""
    width, height = 96, 64
    env = gym.make_vec("GpuAnt-v0", num_envs=1, device="cpu", obs_mode="rgb", image_size=(width, height))
    try:
        obs, _ = env.reset(seed=0)
        qpos = np.asarray(env.task.physics(env.unwrapped._state.task).qpos)
        spec = env.task.model_spec()
        add_camera(spec, env.task.camera, width, height, spec.visual.global_.fovy)
    finally:
        env.close()
    model = spec.compile()
    grid = GridScene(model, 1, RenderConfig(width=width, height=height), env.task.camera, max_width=width,
                     max_height=height)
    grid.camera.type, grid.camera.fixedcamid = 2, model.camera(CAMERA_NAME).id  # mjCAMERA_FIXED
    renderer = OffscreenRenderer(grid, width, height)
    turned = qpos.copy()
    turned[0, 3:7] = [np.cos(np.pi / 4), 0.0, 0.0, np.sin(np.pi / 4)]
    try:
        same, other = (renderer.draw(grid, q, np.zeros((1, 0, 3)), np.zeros((1, 0, 4))).astype(int)
                       for q in (qpos, turned))
    finally:
        renderer.close()
    image = obs[0].numpy().astype(int)
    assert np.abs(image - same).mean() < 0.6 * np.abs(image - other).mean()


def test_sb3_trains_a_cnn_policy_on_the_images():
    """SB3's CnnPolicy (NatureCNN, images of at least 36 pixels a side) takes the channels-last
    uint8 images through the adapter; SB3 transposes them itself (VecTransposeImage)."""
    sb3 = pytest.importorskip("stable_baselines3")
    from gpu_envs.wrappers.sb3 import Sb3VecEnv

    env = gym.make_vec("GpuCartpole-v0", num_envs=2, device="cpu", obs_mode="rgb", image_size=40)
    try:
        model = sb3.PPO("CnnPolicy", Sb3VecEnv(env), n_steps=8, batch_size=16, n_epochs=1, seed=0, device="cpu")
        model.learn(16)
        assert model.observation_space.shape == (3, 40, 40)  # channels first after SB3's transpose
        action, _ = model.predict(env.reset(seed=1)[0].numpy())
    finally:
        env.close()
    assert action.shape == (2, 1)


def test_sb3_trains_a_multi_input_policy_on_the_state_and_the_images():
    """obs_mode "state+rgb" is a Dict space, which SB3's MultiInputPolicy takes through the adapter,
    the finished envs' terminal observations included (dicts too)."""
    sb3 = pytest.importorskip("stable_baselines3")
    from gpu_envs.wrappers.sb3 import Sb3VecEnv

    env = gym.make_vec("GpuCartpole-v0", num_envs=2, device="cpu", obs_mode="state+rgb", image_size=40)
    finals = []
    try:
        vec = Sb3VecEnv(env)
        vec.reset()
        for _ in range(60):
            *_, dones, infos = vec.step(np.ones((2, 1), np.float32))
            finals += [info["terminal_observation"] for info in infos if "terminal_observation" in info]
        model = sb3.PPO("MultiInputPolicy", vec, n_steps=8, batch_size=16, n_epochs=1, seed=0, device="cpu")
        model.learn(16)
    finally:
        env.close()
    assert set(model.observation_space.spaces) == {"state", "pixels"}
    assert finals and finals[0]["state"].shape == (4,) and finals[0]["pixels"].shape == (40, 40, 3)


def test_state_and_image_modes_give_a_dict_of_the_state_observation_and_the_images(mode="same_step"):
    """"state+depth": {"state": the task's observations, as obs_mode "state" gives them, "pixels":
    the depth images}, final_obs too (SAME_STEP; the other modes' dict comes from the same code)."""
    envs = {obs_mode: gym.make_vec("GpuCartpole-v0", num_envs=N, device="cpu", obs_mode=obs_mode, autoreset_mode=mode,
                                   **({} if obs_mode == "state" else {"image_size": (W, H)}))
            for obs_mode in ("state", "state+depth")}
    try:
        both, state = (envs[m].reset(seed=3)[0] for m in ("state+depth", "state"))
        space = envs["state+depth"].single_observation_space
        assert space == gym.spaces.Dict({"state": envs["state"].single_observation_space,
                                         "pixels": gym.spaces.Box(0, 255, (H, W, 1), np.uint8)})
        assert torch.equal(both["state"], state) and both["pixels"].shape == (N, H, W, 1)
        for _ in range(200):
            both, _, terminated, truncated, infos = envs["state+depth"].step(torch.ones(N, 1))
            state, *_ = envs["state"].step(torch.ones(N, 1))
            assert torch.equal(both["state"], state)
            if (terminated | truncated).any():
                break
    finally:
        for env in envs.values():
            env.close()
    assert (terminated | truncated).any()
    if mode == "same_step":
        assert set(infos["final_obs"]) == {"state", "pixels"} and infos["final_obs"]["pixels"].shape == (N, H, W, 1)
    else:
        assert "final_obs" not in infos


@pytest.mark.slow
def test_train_py_trains_the_pixel_cartpole_config_and_exports_an_image_policy(tmp_path):
    """task=CartpolePixels (rl_games, a CNN over 3 stacked rgb images): two iterations on the
    CPU, and the exported TorchScript policy takes the env's uint8 images."""
    from test_train_cli import run_cli

    out = run_cli("max_iterations=2", "train.params.config.minibatch_size=64", "task.env.params.image_size=40",
                  tmp_path=tmp_path, task="CartpolePixels", num_envs=8)
    assert "it     2/2" in out and "conv_name: conv2d" in out
    policy_path, = tmp_path.glob("CartpolePixels_*/nn/CartpolePixels_policy.pt")
    policy = torch.jit.load(str(policy_path))
    actions = policy(torch.randint(0, 256, (5, 40, 40, 9), dtype=torch.uint8))  # 3 rgb frames stacked
    assert actions.shape == (5, 1) and torch.all(actions.abs() <= 1)


def _pixel_train_cfg():
    """examples/cfg's config for task=CartpolePixels, composed in this process."""
    from hydra import compose, initialize_config_dir

    from gpu_envs.train.config import register_resolvers
    from test_train_cli import EXAMPLES

    register_resolvers()
    with initialize_config_dir(config_dir=str(EXAMPLES / "cfg"), version_base=None):
        return compose("config", overrides=["task=CartpolePixels"])


def _pixel_env():
    """The CartpolePixels images (3 stacked RGB frames), at 2 envs and a small size."""
    return gym.make_vec("GpuCartpole-v0", num_envs=2, device="cpu", obs_mode="rgb", image_size=(W, H), frame_stack=3)


def test_skrl_builds_the_pixel_config_s_cnn_over_the_adapter_s_flattened_images():
    """skrl's model instantiators build the config's conv layers over the flattened images the
    adapter hands over (shaped back to (N, H, W, C)), and the policy acts on them."""
    from gpu_envs.train import load_trainer
    from gpu_envs.wrappers.skrl import SkrlVecEnv

    skrl_trainer = load_trainer("skrl")
    env = SkrlVecEnv(_pixel_env(), seed=0)
    try:
        agent, _ = skrl_trainer._agent(env, _pixel_train_cfg(), None)
        obs, _ = env.reset()
        actions = agent.act(obs, None, timestep=0, timesteps=1)[0]
    finally:
        env.close()
    kernels = [value.shape for value in agent.models["policy"].state_dict().values() if value.ndim == 4]
    assert [tuple(k[:2]) for k in kernels] == [(16, 9), (32, 16)]  # the config's convs, on 3 stacked RGB images
    assert actions.shape == (2, 1)


def test_sb3_trains_a_cnn_policy_built_from_the_pixel_config(tmp_path):
    """The same config through SB3: a CnnPolicy whose features extractor is the config's CNN (SB3's
    own NatureCNN needs images of 36 pixels a side; CartpolePixels' are 32 high); one update runs."""
    from gpu_envs.train import load_trainer

    sb3_trainer = load_trainer("sb3")
    cfg = _pixel_train_cfg()
    env = _pixel_env()
    try:
        venv = sb3_trainer._venv(env, cfg, training=True)
        model = sb3_trainer._model(venv, cfg, "cpu", str(tmp_path))
        model.learn(2 * int(cfg.train.params.config.horizon_length))
    finally:
        env.close()
    kernels = [value.shape for value in model.policy.state_dict().values() if value.ndim == 4]
    assert [tuple(k[:2]) for k in kernels[:2]] == [(16, 9), (32, 16)]
    assert model.num_timesteps == 2 * int(cfg.train.params.config.horizon_length)


@pytest.mark.parametrize("mode", ["same_step", "next_step", "disabled"])
def test_stacked_frames_shift_by_one_image_per_step_and_start_over_with_each_episode(mode):
    env = gym.make_vec("GpuCartpole-v0", num_envs=N, device="cpu", obs_mode="rgb", image_size=(W, H), frame_stack=3,
                       autoreset_mode=mode)
    try:
        obs, _ = env.reset(seed=0)
        assert obs.shape == (N, H, W, 9) and env.single_observation_space.shape == (H, W, 9)
        assert torch.equal(obs[..., 0:3], obs[..., 3:6]) and torch.equal(obs[..., 3:6], obs[..., 6:9])
        before, (obs, done, infos) = _run_until_done(env, torch.ones(N, 1))
        running = np.flatnonzero(~done.numpy())
        assert torch.equal(obs[running, ..., :6], before[running, ..., 3:])  # shifted by one image
        if mode == "same_step":
            finished = np.flatnonzero(done.numpy())
            assert torch.equal(infos["final_obs"][finished, ..., :6], before[finished, ..., 3:])
            assert torch.equal(obs[finished, ..., 0:3], obs[finished, ..., 6:9])  # a new episode's first image
        if mode == "disabled":  # a masked reset starts those envs over and shows the others' stacks again
            mask = torch.zeros(N, dtype=torch.bool)
            mask[0] = True
            again, _ = env.reset(options={"reset_mask": mask})
            assert torch.equal(again[0, ..., 0:3], again[0, ..., 6:9]) and torch.equal(again[1:], obs[1:])
    finally:
        env.close()



@pytest.mark.parametrize("finished", [[3, 11], [0, 2, 5, 9, 15]], ids=["few: redrawn alone", "many: all redrawn"])
def test_redrawing_only_the_finished_envs_gives_the_images_of_drawing_all(finished):
    """After a step, the envs that finished are drawn again in a smaller context (an eighth of the
    envs: 2 of 16), or, when more finished than it holds, all envs are drawn again; either way
    the images are those of drawing both states for every env."""
    import jax
    import jax.numpy as jnp

    env = gym.make_vec("GpuCartpole-v0", num_envs=16, device="cpu", obs_mode="rgb", image_size=(W, H))
    try:
        env.reset(seed=0)
        renderer, task = env.unwrapped.pixel_renderer, env.unwrapped.task
        now = task.physics(env.unwrapped._state.task)
        differ = jnp.zeros(16, bool).at[jnp.array(finished)].set(True)
        moved = now._replace(qpos=jnp.where(differ[:, None], now.qpos + jnp.array([1.5, 0.8]), now.qpos))
        expected = renderer.render(now, moved)
        got = jax.jit(lambda a, b, d: renderer.render(a, b, differ=d))(now, moved, differ)
    finally:
        env.close()
    assert renderer.few_envs == 2
    assert not np.array_equal(expected[0], expected[1])  # the moved envs look different
    for want, have in zip(expected, got, strict=True):
        np.testing.assert_array_equal(np.asarray(have), np.asarray(want))
