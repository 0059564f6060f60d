"""GpuAnt-v0's task functions against the reference's definition (single env, JAX on the CPU)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gpu_envs.sim import AssetError, asset_path
from gpu_envs.tasks import quat
from gpu_envs.tasks.ant import AntConfig, AntTask, load_ant


@pytest.fixture(scope="module")
def ant():
    # one physics substep: half the compile time on the CPU; nothing here depends on the count
    task = AntTask(AntConfig(reset_dof_pos_noise=0.0, reset_dof_vel_noise=0.0, substeps=1))
    task.jit_step = jax.jit(task.step)
    task.jit_observe = jax.jit(task.observe)
    task.start = jax.jit(task.reset)(jax.random.PRNGKey(0))
    return task


def _start(ant, **physics):
    """The reset state (the same pytree types as a step's output, so jit_step compiles once)."""
    state = ant.start
    return state._replace(physics=state.physics._replace(**physics))


def _with_root(ant, quaternion=(1.0, 0.0, 0.0, 0.0), height=0.44):
    state = _start(ant)
    qpos = state.physics.qpos.at[2].set(height).at[3:7].set(jnp.asarray(quaternion))
    return state._replace(physics=state.physics._replace(qpos=qpos))


def test_reset_puts_the_torso_at_044_m_upright_with_ankles_at_30_degrees(ant):
    qpos = np.asarray(_start(ant).physics.qpos)
    np.testing.assert_allclose(qpos[:7], [0, 0, 0.44, 1, 0, 0, 0])
    np.testing.assert_allclose(np.degrees(qpos[7:]), [0, 30, 0, -30, 0, -30, 0, 30], atol=1e-4)


def test_standing_still_earns_alive_up_and_heading_less_the_two_ankles_at_their_upper_limit(ant):
    _, obs, reward, terminated, _ = ant.jit_step(_start(ant), jnp.zeros(8))
    # 0.5 alive + 0.1 upright + 0.5 heading - 0.1 x 2 (ankles 2 and 3 start at their upper limit, -30 deg)
    assert float(reward) == pytest.approx(0.9, abs=0.02) and not bool(terminated)
    assert obs.shape == (60,) and obs.dtype == jnp.float32


def test_progress_is_the_speed_toward_the_target(ant):
    state = _start(ant)
    moving = state._replace(physics=state.physics._replace(qvel=state.physics.qvel.at[0].set(2.0)))
    _, _, still_reward, _, _ = ant.jit_step(state, jnp.zeros(8))
    new, _, reward, _, extras = ant.jit_step(moving, jnp.zeros(8))
    assert float(reward - still_reward) == pytest.approx(2.0, abs=0.2)  # m/s toward x = 1000 m
    assert float(extras["forward_speed"]) == pytest.approx(2.0, abs=0.2)
    distance = float(new.physics.qpos[0])
    assert float(extras["episode_forward_speed"]) == pytest.approx(distance / ant.dt, rel=1e-3)


def test_a_torso_below_031_m_ends_the_episode_with_reward_minus_2(ant):
    _, _, reward, terminated, _ = ant.jit_step(_with_root(ant, height=0.2), jnp.zeros(8))
    assert bool(terminated) and float(reward) == -2.0


def test_yaw_is_in_0_to_2pi_and_heading_follows_the_torso(ant):
    quarter_left = quat.about_axis(jnp.float32(np.pi / 2), 2)
    obs = ant.jit_observe(_with_root(ant, quarter_left))
    assert float(obs[7]) == pytest.approx(np.pi / 2, abs=1e-4)  # yaw
    assert float(obs[11]) == pytest.approx(0.0, abs=1e-4)  # heading: facing +y, the target is along +x
    obs = ant.jit_observe(_with_root(ant, quat.about_axis(jnp.float32(-np.pi / 2), 2)))
    assert float(obs[7]) == pytest.approx(3 * np.pi / 2, abs=1e-4)  # not wrapped to [-pi, pi]
    assert float(obs[9]) == pytest.approx(-3 * np.pi / 2, abs=1e-3)  # angle to target = atan2(-z, 1000 - x) - yaw


def test_action_i_drives_joint_i_with_15_n_m_per_unit(ant):
    m = ant.sim.mj_model
    np.testing.assert_array_equal(m.actuator_trnid[:, 0], np.arange(1, 9))  # joint 0 is the free joint
    np.testing.assert_allclose(m.actuator_gear[:, 0], 15.0)
    state, *_ = ant.jit_step(_start(ant), jnp.full(8, 0.5, jnp.float32))
    np.testing.assert_allclose(np.asarray(state.action), 0.5)  # what the next observation shows


def test_foot_forces_carry_the_weight_when_standing(ant):
    state = _start(ant)
    for _ in range(30):
        state, obs, *_ = ant.jit_step(state, jnp.zeros(8))
    forces = np.asarray(obs[28:52]).reshape(4, 6)[:, :3] / 0.1  # N, in each foot's frame
    weight = 0.91 * 9.81
    # the lower legs (0.068 kg each) hang from the ankles: the feet push up about a quarter of the rest
    assert np.linalg.norm(forces, axis=1).sum() == pytest.approx(weight - 4 * 0.068 * 9.81, rel=0.35)


def test_mean_forward_speed_averages_the_finished_episodes(ant):
    metrics = ant.init_metrics()
    done = jnp.array([True, False, True])
    extras = {"episode_forward_speed": jnp.array([3.0, 100.0, 5.0])}
    metrics = ant.update_metrics(metrics, done, extras)
    assert float(metrics["mean_forward_speed"]) == pytest.approx(0.1 * 4.0)
    unchanged = ant.update_metrics(metrics, jnp.zeros(3, bool), extras)
    assert float(unchanged["mean_forward_speed"]) == pytest.approx(0.4)


def test_a_model_whose_motors_are_not_in_joint_order_is_refused(tmp_path):
    text = asset_path("ant.xml").read_text()
    swapped = text.replace('<motor name="hip_1"   joint="hip_1"/>\n    <motor name="ankle_1" joint="ankle_1"/>',
                           '<motor name="ankle_1" joint="ankle_1"/>\n    <motor name="hip_1"   joint="hip_1"/>')
    assert swapped != text
    (tmp_path / "ant.xml").write_text(swapped)
    with pytest.raises(AssetError, match="actuator i on hinge i in joint order"):
        load_ant(tmp_path / "ant.xml")


def test_a_termination_height_above_the_start_height_is_refused():
    with pytest.raises(ValueError, match="termination_height must be below start_height"):
        AntConfig(termination_height=0.5)
