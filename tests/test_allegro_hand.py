"""GpuAllegroHand-v0: spaces, observation layout, reward terms, goals, falls, timeouts, stability.

Every env-level test shares one 2-env compile (the `hand` fixture; MJX contact scenes compile
slowly on the CPU). Reward terms are checked on the task's pure reward function directly.
"""

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from gpu_envs.tasks import quat
from gpu_envs.tasks.allegro_hand import AllegroHandConfig, AllegroHandTask

N = 2
IDENTITY = np.array([1.0, 0.0, 0.0, 0.0], np.float32)


@pytest.fixture(scope="module")
def task():
    return AllegroHandTask(AllegroHandConfig())


def _set_task_state(env, **fields):
    """Overwrite fields of the envs' task state (white-box: crafts situations to test)."""
    state = env._state
    env._state = state._replace(task=state.task._replace(**fields))


def _set_object(env, pos=None, quat_=None):
    physics = env._state.task.physics
    qpos = physics.qpos
    if pos is not None:
        qpos = qpos.at[:, 16:19].set(jnp.asarray(pos, qpos.dtype))
    if quat_ is not None:
        qpos = qpos.at[:, 19:23].set(jnp.asarray(quat_, qpos.dtype))
    _set_task_state(env, physics=physics._replace(qpos=qpos, qvel=jnp.zeros_like(physics.qvel)))


def test_spaces(hand):
    assert hand.single_action_space == gym.spaces.Box(-1.0, 1.0, (16,), np.float32)
    assert hand.single_observation_space == gym.spaces.Box(-5.0, 5.0, (88,), np.float32)
    assert hand.observation_space.shape == (N, 88)


def test_full_state_observation_slices_hold_what_the_docs_say(hand):
    obs, _ = hand.reset(seed=1)
    state = hand._state.task
    qpos = np.asarray(state.physics.qpos)
    lower, upper = hand.task.lower, hand.task.upper
    np.testing.assert_allclose(obs[:, :16], (2 * qpos[:, :16] - upper - lower) / (upper - lower), atol=1e-5)
    assert torch.all(obs[:, 16:48] == 0)  # joint velocities and torques are zero at reset
    np.testing.assert_allclose(obs[:, 48:51], qpos[:, 16:19], atol=1e-6)  # object position
    np.testing.assert_allclose(obs[:, 51:55], qpos[:, 19:23], atol=1e-6)  # object quaternion
    np.testing.assert_allclose(obs[:, 61:64], np.tile(hand.task.goal_pos, (N, 1)), atol=1e-6)
    np.testing.assert_allclose(obs[:, 64:68], state.goal_quat, atol=1e-6)
    rel = jax.vmap(lambda a, b: quat.mul(a, quat.conj(b)))(qpos[:, 19:23], state.goal_quat)
    np.testing.assert_allclose(obs[:, 68:72], rel, atol=1e-5)
    action = torch.linspace(-0.5, 0.5, 16).repeat(N, 1)
    obs, *_ = hand.step(action)
    np.testing.assert_allclose(obs[:, 72:88], action, atol=1e-6)  # last action
    assert torch.any(obs[:, 32:48] != 0)  # actuator torques once the fingers move


def test_reward_terms_match_hand_computed_values(task):
    goal_pos = np.asarray(task.goal_pos)
    action = np.full(16, 0.5, np.float32)
    angle = 0.5
    obj_quat = np.array([np.cos(angle / 2), np.sin(angle / 2), 0, 0], np.float32)  # 0.5 rad about x
    reward, success, fell = task.reward(goal_pos + [0.03, 0, 0], obj_quat, IDENTITY, action)
    expected = -10 * 0.03 + 1 / (0.5 + 0.1) - 0.0002 * 16 * 0.25
    assert float(reward) == pytest.approx(expected, rel=1e-5)
    assert not success and not fell


def test_success_adds_the_bonus(task):
    small = 0.05  # rad, within the 0.1 tolerance
    obj_quat = np.array([np.cos(small / 2), 0, np.sin(small / 2), 0], np.float32)
    reward, success, _ = task.reward(np.asarray(task.goal_pos), obj_quat, IDENTITY, np.zeros(16, np.float32))
    assert success and float(reward) == pytest.approx(1 / (small + 0.1) + 250, rel=1e-5)


def test_fall_is_flagged_beyond_fall_dist(task):
    _, _, fell = task.reward(np.asarray(task.goal_pos) - [0, 0, 0.25], IDENTITY, IDENTITY, np.zeros(16, np.float32))
    assert fell


@pytest.mark.parametrize("timestep", [None, 1 / 120])
def test_relative_control_moves_targets_by_speed_times_dt(timestep):
    """The reference's increment (dof_speed_scale x its sim dt of 1/60 s) whatever the physics timestep."""
    task = AllegroHandTask(AllegroHandConfig(control="relative", timestep=timestep, substeps=2 if timestep is None else 4))
    assert task.sim.mj_model.opt.timestep == pytest.approx(timestep or 1 / 60)
    state = task.reset(jax.random.PRNGKey(0))
    targets = task.targets_for(state, jnp.full(16, 0.5))
    expected = np.clip(state.targets + 20.0 * (1 / 60) * 0.5, task.lower, task.upper)
    np.testing.assert_allclose(targets, expected, atol=1e-6)


def test_absolute_control_maps_actions_onto_joint_ranges(task):
    state = task.reset(jax.random.PRNGKey(0))
    np.testing.assert_allclose(task.targets_for(state, -jnp.ones(16)), task.lower, atol=1e-6)
    np.testing.assert_allclose(task.targets_for(state, jnp.ones(16)), task.upper, atol=1e-6)


def test_success_resamples_the_goal_and_the_episode_goes_on(hand):
    hand.reset(seed=2)
    obj_quat = hand._state.task.physics.qpos[:, 19:23]
    _set_task_state(hand, goal_quat=obj_quat.astype(jnp.float32))  # the object is at its goal
    old_goal = np.asarray(obj_quat)
    obs, reward, terminated, truncated, infos = hand.step(torch.zeros(N, 16))
    assert infos["goal_reached"].all() and not (terminated | truncated).any()
    assert torch.all(reward > 250)
    assert torch.all(infos["successes"] == 1)
    assert not np.allclose(np.asarray(hand._state.task.goal_quat), old_goal, atol=1e-3)
    np.testing.assert_allclose(obs[:, 64:68], hand._state.task.goal_quat, atol=1e-6)


def test_fall_terminates_the_episode(hand):
    hand.reset(seed=3)
    _set_object(hand, pos=np.asarray(hand.task.goal_pos) - [0, 0, 0.3])
    _, _, terminated, truncated, infos = hand.step(torch.zeros(N, 16))
    assert terminated.all() and not truncated.any()
    assert infos["_final_obs"].all()
    assert torch.all(infos["final_obs"][:, 50] < 0.3)  # final obs: the object's height after the fall


def test_cube_rests_in_the_palm_for_a_full_episode_then_times_out(hand):
    obs, _ = hand.reset(seed=4)
    start_height = obs[:, 50].clone()
    actions = torch.zeros(N, 16)  # absolute control: every joint to the middle of its range
    for t in range(599):
        obs, reward, terminated, truncated, infos = hand.step(actions)
        assert not (terminated | truncated).any(), f"episode ended at step {t + 1}"
    height = obs[:, 50]
    assert torch.all(height > start_height - 0.05) and torch.all(height < start_height)  # settled, not sunk
    _, _, terminated, truncated, _ = hand.step(actions)
    assert truncated.all() and not terminated.any()


def test_consecutive_successes_average_finished_episodes(hand):
    hand.reset(seed=5)
    _set_task_state(hand, successes=jnp.array([2.0, 4.0]))
    _set_object(hand, pos=np.asarray(hand.task.goal_pos) - [0, 0, 0.3])  # both fall this step
    hand._state = hand._state._replace(metrics={"consecutive_successes": jnp.zeros((), jnp.float32)})
    _, _, terminated, _, infos = hand.step(torch.zeros(N, 16))
    assert terminated.all()
    assert float(infos["consecutive_successes"]) == pytest.approx(0.1 * 3.0)


@pytest.mark.parametrize("obs_type, dim, action_slice", [("full_no_vel", 50, slice(34, 50)), ("full", 72, slice(56, 72))])
def test_other_observation_types_have_the_reference_sizes(obs_type, dim, action_slice):
    task = AllegroHandTask(AllegroHandConfig(obs_type=obs_type))
    state = task.reset(jax.random.PRNGKey(0))._replace(action=jnp.full(16, 0.25, jnp.float32))
    obs = task.observe(state)
    assert obs.shape == (dim,) and task.obs_dim == dim
    np.testing.assert_allclose(obs[action_slice], 0.25)  # the last action closes every layout
    np.testing.assert_allclose(obs[16 if obs_type == "full_no_vel" else 32:][:3], state.physics.qpos[16:19], atol=1e-6)


def _curl_ring_finger_under_a_resting_cube(hand) -> np.ndarray:
    """Rest the cube in the flat hand for 1 s, curl the ring finger for 1 s; the cube's turn [deg] per env."""
    hand.reset(seed=6)
    task = hand.task
    flat = task.default_qpos
    physics = hand._state.task.physics
    qpos = physics.qpos.at[:, :16].set(flat).at[:, 16:19].set(task.object_start - jnp.array([0, 0, 0.026]))
    qpos = qpos.at[:, 19:23].set(jnp.asarray(IDENTITY))
    _set_task_state(hand, physics=physics._replace(qpos=qpos, qvel=jnp.zeros_like(physics.qvel)),
                    targets=jnp.tile(flat, (N, 1)))
    flat_action = torch.as_tensor(np.asarray(2 * (flat - task.lower) / (task.upper - task.lower) - 1)).repeat(N, 1)
    curled = flat_action.clone()
    curled[:, 8:12] = 1.0  # ring finger joints to the top of their ranges
    for action in (flat_action, curled):  # settle, then curl the ring finger under the cube
        for _ in range(30):  # 1 s
            obs, _, terminated, truncated, _ = hand.step(action)
            assert not (terminated | truncated).any()
    turned = np.degrees(np.asarray(jax.vmap(quat.angle_between)(hand._state.task.physics.qpos[:, 19:23],
                                                                 jnp.tile(jnp.asarray(IDENTITY), (N, 1)))))
    return turned


def test_scripted_ring_finger_curl_turns_the_cube_without_dropping_it(hand):
    turned = _curl_ring_finger_under_a_resting_cube(hand)
    assert np.all(turned > 10.0), turned


@pytest.mark.slow
def test_reference_physics_rate_keeps_the_cube_in_the_curl():
    """The training config's physics (1/120 s, 4 per action, 8 solver iterations). With 4
    iterations MJX does not converge at 1/120 s and this curl flings the cube out of the hand."""
    env = gym.make_vec("GpuAllegroHand-v0", num_envs=N, timestep=1 / 120, substeps=4, solver_iterations=8)
    try:
        assert env.task.sim.mj_model.opt.iterations == 8 and env.task.dt == pytest.approx(1 / 30)
        turned = _curl_ring_finger_under_a_resting_cube(env)
    finally:
        env.close()
    assert np.all(turned > 10.0), turned


def test_randomized_parameters_lie_in_the_configured_ranges():
    task = AllegroHandTask(AllegroHandConfig(randomize=True))
    params = jax.vmap(task._draw_params)(jax.random.split(jax.random.PRNGKey(0), 256))
    assert np.all((params["kp"] >= 3 * 0.75 - 1e-5) & (params["kp"] <= 3 * 1.5 + 1e-5))
    assert np.all((params["kv"] >= 0.1 * 0.3 - 1e-6) & (params["kv"] <= 0.1 * 3.0 + 1e-6))
    assert np.all((params["mass_scale"] >= 0.5) & (params["mass_scale"] <= 1.5))
    assert np.all((params["friction_scale"] >= 0.7) & (params["friction_scale"] <= 1.3))
    assert np.all((params["object_scale"] >= 0.95) & (params["object_scale"] <= 1.05))
    assert np.std(params["gravity"][:, 2]) == pytest.approx(0.4, rel=0.25)
    assert np.std(params["kp"]) > 0.1  # really drawn per env


def test_randomized_parameters_reach_the_physics_model():
    task = AllegroHandTask(AllegroHandConfig(randomize=True))
    params = task._draw_params(jax.random.PRNGKey(1))
    model = task._model_for(params)
    obj = task._object_body
    np.testing.assert_allclose(model.actuator_gainprm[:, 0], params["kp"], rtol=1e-6)
    np.testing.assert_allclose(model.actuator_biasprm[:, 2], -params["kv"], rtol=1e-6)
    assert float(model.body_mass[obj]) == pytest.approx(0.11 * float(params["mass_scale"]), rel=0.05)
    np.testing.assert_allclose(model.opt.gravity, params["gravity"], rtol=1e-6)
    cube = task._object_geoms[0]
    assert float(model.geom_size[cube, 0]) == pytest.approx(0.0325 * float(params["object_scale"]), rel=1e-6)
    assert task.reset(jax.random.PRNGKey(2)).params.keys() == params.keys()


def test_fixed_object_mass_keeps_body_mass_out_of_the_per_env_model():
    # what makes randomize=True usable on MuJoCo Warp, which mishandles per-env body masses
    task = AllegroHandTask(AllegroHandConfig(randomize=True, object_mass_scale=(1.0, 1.0)))
    model = task._model_for(task._draw_params(jax.random.PRNGKey(1)))
    assert model.body_mass is task.sim.model.body_mass


def test_object_scale_reaches_the_collision_geometry():
    from mujoco import mjx

    task = AllegroHandTask(AllegroHandConfig(randomize=True))
    state = task.reset(jax.random.PRNGKey(0))
    # the cube 3 cm below its start, unrotated: pressed into the palm whatever its scale
    physics = state.physics._replace(qpos=state.physics.qpos.at[18].add(-0.03).at[19:23].set(jnp.array(IDENTITY)))

    @jax.jit
    def deepest(scale):
        model = task._model_for(dict(state.params, object_scale=jnp.float32(scale)))
        return jnp.min(mjx.forward(model, task.sim.data(physics))._impl.contact.dist)

    normal, larger = float(deepest(1.0)), float(deepest(1.05))
    assert normal < 0.0  # in contact
    assert larger == pytest.approx(normal - 0.05 * 0.0325, abs=5e-4)  # 1.6 mm more overlap


def test_observation_noise_reaches_the_first_observation_of_an_episode():
    noisy_task = AllegroHandTask(AllegroHandConfig(randomize=True, obs_noise_std=0.5))
    state = noisy_task.reset(jax.random.PRNGKey(3))
    clean = AllegroHandTask(AllegroHandConfig()).observe(state)
    difference = np.asarray(noisy_task.observe(state) - clean)
    assert np.std(difference) == pytest.approx(0.5, rel=0.3)
    assert np.all(np.asarray(noisy_task.observe(state)) == np.asarray(noisy_task.observe(state)))  # a function of the state
