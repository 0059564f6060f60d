"""Ant, as in IsaacGymEnvs: a four-legged robot learns to run toward a target 1 km away along +x.

Observation (60, float32, not clipped; quaternion conventions as in the reference):
  0 torso height [m]; 1-3 torso linear velocity in the torso frame [m/s]; 4-6 torso angular
  velocity in the torso frame [rad/s]; 7 yaw and 8 roll [rad, in [0, 2 pi)]; 9 angle to the
  target [rad] (the reference's atan2(target z - z, target x - x) - yaw, about -yaw); 10 up
  projection (torso z axis . world z); 11 heading projection (torso x axis . direction to the
  target); 12-19 joint positions scaled to [-1, 1]; 20-27 0.2 * joint velocities [rad/s];
  28-51 0.1 * the force (3) and torque (3) each foot (lower leg) exerts through its ankle, in
  the foot's frame (MuJoCo force/torque sensors, computed at the start of the step's last
  physics substep; 0 in an episode's first observation; front_left, front_right, left_back,
  right_back); 52-59 this step's action.
Action (8, in [-1, 1]): joint torques = action * 15 N m, in the order hip_1, ankle_1, ...,
ankle_4 (legs front_left, front_right, left_back, right_back).
Reward: progress toward the target [m/s] + 0.5 alive + 0.1 if upright (up projection > 0.93)
+ 0.5 * min(heading projection / 0.8, 1) - 0.005 |action|^2 - 0.05 sum|action * 0.2 joint
velocity| - 0.1 per joint beyond 99% of its upper limit; replaced by -2 when the torso falls
below 0.31 m, which terminates the episode. Truncation at 1000 steps (16.6 s).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import mujoco

from ..camera import CameraDefaults
from ..sim import PhysicsState, resolve_asset
from . import locomotion
from .base import TaskStep
from .config import param
from .registry import register_task


@dataclasses.dataclass(frozen=True)
class AntConfig(locomotion.LocomotionConfig):
    """GpuAnt-v0's parameters (defaults reproduce IsaacGymEnvs' Ant): the shared locomotion ones
    (`locomotion.LocomotionConfig`, whose defaults are the Ant's) and these."""

    asset: str = param("ant.xml")  # a path to an MJCF file, or the name of a shipped one
    dof_vel_scale: float = param(0.2, "[0, inf)")  # joint velocities' factor in the observation
    contact_force_scale: float = param(0.1, "[0, inf)")  # foot forces' factor in the observation


def load_ant(path) -> mujoco.MjModel:
    """The ant model at `path`; `AssetError` unless it has what the task reads and drives: a free
    joint (on a body "torso") then 8 hinges, actuator i on hinge i, and a force and a torque
    sensor on each of 4 feet (24 values)."""
    return locomotion.load_robot(path, "an ant", 8, feet=4)


class AntState(NamedTuple):
    """One env's task state."""

    physics: PhysicsState
    potential: jax.Array  # () -distance to the target / dt, for the progress reward
    action: jax.Array  # (8,) this step's action
    foot_forces: jax.Array  # (24,) the foot force/torque sensors of the step's last physics substep (0 at reset)


@register_task("GpuAnt-v0", backend="auto", docs="docs/envs/ant.md")
class AntTask(locomotion.LocomotionTask):
    """IsaacGymEnvs Ant: a four-legged robot runs toward a target along +x."""

    Config = AntConfig
    # seen from the side (-y) and above, following each ant's torso over the ground
    camera = CameraDefaults(spacing=(3.0, 3.0), lookat=(0.0, 0.0, 0.3), distance=3.0, azimuth=90.0, elevation=-25.0,
                            track="torso")

    def load_model(self) -> mujoco.MjModel:
        return load_ant(resolve_asset(self.config.asset))

    def reset(self, key: jax.Array) -> AntState:
        physics = self.reset_physics(key)  # hips 0, ankles at their +-30 deg limits
        return AntState(physics, self.potential(physics.qpos), jnp.zeros(8, jnp.float32), jnp.zeros(24, jnp.float32))

    def _parts(self, state: AntState) -> dict:
        """The named quantities the observation and the reward share (`locomotion.torso_parts`,
        with yaw and roll in [0, 2 pi) as the reference's Ant leaves them)."""
        qpos, qvel = state.physics.qpos, state.physics.qvel
        p = locomotion.torso_parts(qpos, qvel, self.lower, self.upper)
        roll, yaw = jnp.mod(p["roll"], 2 * jnp.pi), jnp.mod(p["yaw"], 2 * jnp.pi)
        return {**p, "roll": roll, "yaw": yaw, "angle_to_target": p["target_angle"] - yaw,
                "dof_vel": self.config.dof_vel_scale * qvel[6:]}

    def observe(self, state: AntState) -> jax.Array:
        return self._observation(state, self._parts(state))

    def _observation(self, state: AntState, p: dict) -> jax.Array:
        """The observation of `state` from its `_parts` `p`."""
        scalars = jnp.stack([p["yaw"], p["roll"], p["angle_to_target"], p["up_proj"], p["heading_proj"]])
        parts = [p["height"][None], p["vel_loc"], p["angvel_loc"], scalars, p["dof_pos"], p["dof_vel"],
                 self.config.contact_force_scale * state.foot_forces, state.action]
        return jnp.concatenate([x.astype(jnp.float32) for x in parts])

    def step(self, state: AntState, action: jax.Array) -> TaskStep:
        c = self.config
        physics, data = self.sim.step(state.physics, action * c.power_scale)
        potential = self.potential(physics.qpos)
        new = AntState(physics, potential, action, data.sensordata.astype(jnp.float32))
        p = self._parts(new)
        energy = jnp.sum(jnp.abs(action * p["dof_vel"]))
        at_limit = jnp.sum(p["dof_pos"] > 0.99)
        reward, fell = self.reward_and_fall(state.potential, potential, p, action, energy, at_limit)
        extras = locomotion.forward_speed_extras(physics.qpos, physics.qvel, physics.time)
        return TaskStep(new, self._observation(new, p), reward, fell, extras)
