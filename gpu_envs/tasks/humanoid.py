"""Humanoid, as in IsaacGymEnvs: a 21-joint humanoid learns to run toward a target 1 km away along +x.

Written on the public task API alone (`gpu_envs.tasks`), as a task of one's own would be.

Observation (108, float32, not clipped; quaternion conventions as in the reference):
  0 torso height [m]; 1-3 torso linear velocity in the torso frame [m/s]; 4-6 0.25 * torso
  angular velocity in the torso frame [rad/s]; 7 yaw, 8 roll and 9 angle to the target [rad],
  each wrapped to [-pi, pi) (the angle is the reference's atan2(target z - z, target x - x) - yaw,
  about -yaw); 10 up projection (torso z axis . world z); 11 heading projection (torso x axis .
  direction to the target); 12-32 joint positions scaled to [-1, 1]; 33-53 0.1 * joint velocities
  [rad/s]; 54-74 0.01 * the force each joint's motor and its constraints (limit, contacts through
  the chain) apply to it [N m] (MuJoCo's qfrc_actuator + qfrc_constraint: the proxy for the
  reference's DOF force sensors); 75-86 0.01 * the force (3) and torque (3) each foot exerts
  through its ankle, in the foot's frame (right, left; MuJoCo force/torque sensors, computed at
  the start of the step's last physics substep); 87-107 this step's action. Forces are 0 in an
  episode's first observation.
Action (21, in [-1, 1]): joint torques = action * gear (the model's actuator gears: 22.5 to 135
N m), in the model's joint order (abdomen_z, abdomen_y, abdomen_x, right hip x/z/y, right knee,
right ankle y/x, the left leg the same, right shoulder 1/2, right elbow, the left arm the same).
Reward: progress toward the target [m/s] + 2 alive + 0.1 if upright (up projection > 0.93)
+ 0.5 * min(heading projection / 0.8, 1) - 0.01 |action|^2 - 0.05 sum|action * 0.1 joint
velocity| * gear / 135 - 0.25 sum over joints beyond 98% of a limit of (|scaled position| -
0.98) / 0.02 * gear / 135; replaced by -1 when the torso falls below 0.8 m, which terminates the
episode. Truncation at 1000 steps (16.6 s).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import mujoco
import numpy as np

from gpu_envs.tasks import (CameraDefaults, PhysicsState, TaskStep, locomotion, param,
                            register_task, resolve_asset)

HINGES = ("abdomen_z", "abdomen_y", "abdomen_x", "right_hip_x", "right_hip_z", "right_hip_y", "right_knee",
          "right_ankle_y", "right_ankle_x", "left_hip_x", "left_hip_z", "left_hip_y", "left_knee", "left_ankle_y",
          "left_ankle_x", "right_shoulder1", "right_shoulder2", "right_elbow", "left_shoulder1", "left_shoulder2",
          "left_elbow")


@dataclasses.dataclass(frozen=True)
class HumanoidConfig(locomotion.LocomotionConfig):
    """GpuHumanoid-v0's parameters (defaults reproduce IsaacGymEnvs' Humanoid): the shared
    locomotion ones (`locomotion.LocomotionConfig`) and these."""

    asset: str = param("humanoid.xml")  # a path to an MJCF file, or the name of a shipped one
    angular_velocity_scale: float = param(0.25, "[0, inf)")  # torso angular velocity's factor in the observation
    dof_vel_scale: float = param(0.1, "[0, inf)")  # joint velocities' factor in the observation
    contact_force_scale: float = param(0.01, "[0, inf)")  # joint and foot forces' factor in the observation
    alive_reward: float = param(2.0)
    actions_cost: float = param(0.01)  # per unit of squared action
    joints_at_limit_cost: float = param(0.25)  # per joint and unit of (|scaled position| - 0.98) / 0.02, * gear / max gear
    death_cost: float = param(-1.0)  # the reward of the step the torso falls
    termination_height: float = param(0.8, "[0, inf)")  # m
    start_height: float = param(1.34, "(0, inf)")  # m, the torso at reset


def load_humanoid(path) -> mujoco.MjModel:
    """The humanoid model at `path`; `AssetError` unless it has what the task reads and drives: a
    free joint (on a body "torso") then the 21 hinges of `HINGES` in that order, actuator i on
    hinge i, and a force and a torque sensor on each of the 2 feet (12 values)."""
    return locomotion.load_robot(path, "a humanoid", HINGES, feet=2)


class HumanoidState(NamedTuple):
    """One env's task state."""

    physics: PhysicsState
    potential: jax.Array  # () -distance to the target / dt, for the progress reward
    action: jax.Array  # (21,) this step's action
    dof_forces: jax.Array  # (21,) the joints' motor + constraint forces of the step's last physics substep [N m]
    foot_forces: jax.Array  # (12,) the foot force/torque sensors of the step's last physics substep


@register_task("GpuHumanoid-v0", backend="auto", docs="docs/envs/humanoid.md")
class HumanoidTask(locomotion.LocomotionTask):
    """IsaacGymEnvs Humanoid: a humanoid runs toward a target along +x."""

    Config = HumanoidConfig
    # seen from the side (-y) and a little above, following each humanoid's torso over the ground
    camera = CameraDefaults(spacing=(4.0, 4.0), lookat=(0.0, 0.0, 1.0), distance=4.0, azimuth=90.0, elevation=-15.0,
                            track="torso")
    # At most 13 contacts and 44 constraint rows were seen in an env in 300,000 MuJoCo steps of
    # random actions, falls included (2.4 contacts on average), against the 177 the scene could
    # make: 16 per env keeps a margin and speeds the step (docs/envs/humanoid.md, "Speed";
    # tests/test_contact_budget.py repeats a shorter rollout against it).
    contacts_per_env = 16

    def __init__(self, config: HumanoidConfig | None = None, *, backend: str = "jax", device=None):
        super().__init__(config, backend=backend, device=device)
        gear = self.sim.mj_model.actuator_gear[:, 0].astype(np.float32)
        self.effort_ratio = jnp.asarray(gear / gear.max())  # the reference's motor_efforts / max

    def load_model(self) -> mujoco.MjModel:
        return load_humanoid(resolve_asset(self.config.asset))

    def reset(self, key: jax.Array) -> HumanoidState:
        physics = self.reset_physics(key)
        zeros = jnp.zeros(len(HINGES), jnp.float32)
        return HumanoidState(physics, self.potential(physics.qpos), zeros, zeros,
                             jnp.zeros(12, jnp.float32))

    def _parts(self, state: HumanoidState) -> dict:
        """The named quantities the observation and the reward share (`locomotion.torso_parts`,
        with the angles wrapped to [-pi, pi) as the reference's Humanoid observes them)."""
        qpos, qvel = state.physics.qpos, state.physics.qvel
        p = locomotion.torso_parts(qpos, qvel, self.lower, self.upper)
        return {**p, "roll": locomotion.wrap(p["roll"]), "yaw": locomotion.wrap(p["yaw"]),
                "angle_to_target": locomotion.wrap(p["target_angle"] - p["yaw"]),
                "dof_vel": self.config.dof_vel_scale * qvel[6:]}

    def observe(self, state: HumanoidState) -> jax.Array:
        return self._observation(state, self._parts(state))

    def _observation(self, state: HumanoidState, p: dict) -> jax.Array:
        """The observation of `state` from its `_parts` `p`."""
        c = self.config
        scalars = jnp.stack([p["yaw"], p["roll"], p["angle_to_target"], p["up_proj"], p["heading_proj"]])
        parts = [p["height"][None], p["vel_loc"], c.angular_velocity_scale * p["angvel_loc"], scalars, p["dof_pos"],
                 p["dof_vel"], c.contact_force_scale * state.dof_forces, c.contact_force_scale * state.foot_forces,
                 state.action]
        return jnp.concatenate([x.astype(jnp.float32) for x in parts])

    def step(self, state: HumanoidState, action: jax.Array) -> TaskStep:
        c = self.config
        physics, data = self.sim.step(state.physics, action * c.power_scale)
        potential = self.potential(physics.qpos)
        dof_forces = (data.qfrc_actuator[6:] + data.qfrc_constraint[6:]).astype(jnp.float32)
        new = HumanoidState(physics, potential, action, dof_forces, data.sensordata.astype(jnp.float32))
        p = self._parts(new)
        energy = jnp.sum(jnp.abs(action * p["dof_vel"]) * self.effort_ratio)
        beyond = jnp.abs(p["dof_pos"]) - 0.98
        at_limit = jnp.sum(jnp.where(beyond > 0, beyond / 0.02 * self.effort_ratio, 0.0))
        reward, fell = self.reward_and_fall(state.potential, potential, p, action, energy, at_limit)
        extras = locomotion.forward_speed_extras(physics.qpos, physics.qvel, physics.time)
        return TaskStep(new, self._observation(new, p), reward, fell, extras)
