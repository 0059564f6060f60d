"""What IsaacGymEnvs' locomotion tasks (Ant, Humanoid) share, for tasks of robots that run toward
a target: the torso quantities their observations and rewards read, the forward-speed info values,
and (`LocomotionTask`) the progress potential, reward assembly and forward-speed metric. Part of
the public task API (`gpu_envs.tasks`).

Conventions: a free joint first in `qpos`/`qvel` (MuJoCo's: world position, (w, x, y, z)
orientation; world linear velocity, body-frame angular velocity); the target in each env's own
frame, +x far ahead.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import mujoco
import numpy as np

from ..sim import AssetError, PhysicsState, load_model
from . import quat
from .base import Task, average_over_finished
from .config import TaskConfig, param

TARGET = (1000.0, 0.0, 0.0)  # m, in each env's own frame: the reference's target, 1 km along +x
METRIC_UNITS = {"mean_forward_speed": "m/s"}


@dataclasses.dataclass(frozen=True)
class LocomotionConfig(TaskConfig):
    """The parameters IsaacGymEnvs' locomotion tasks share, with their common defaults; a task's
    config derives from it and redeclares the fields whose defaults differ (`param`)."""

    max_episode_steps: int = param(1000, "[1, inf)")
    substeps: int = param(2, "[1, inf)")  # physics steps of the asset's timestep (0.0083 s) per env step
    power_scale: float = param(1.0, "[0, 1]")  # fraction of the motors' torque per unit action
    heading_weight: float = param(0.5)
    up_weight: float = param(0.1)
    alive_reward: float = param(0.5)
    actions_cost: float = param(0.005)  # per unit of squared action
    energy_cost: float = param(0.05)  # per unit of |action * scaled joint velocity| (times a task's weights)
    joints_at_limit_cost: float = param(0.1)  # per joint at a limit (as a task measures it)
    death_cost: float = param(-2.0)  # the reward of the step the torso falls
    termination_height: float = param(0.31, "[0, inf)")  # m
    start_height: float = param(0.44, "(0, inf)")  # m, the torso at reset
    reset_dof_pos_noise: float = param(0.2, "[0, inf)")  # rad, uniform, added to the start pose (then clamped)
    reset_dof_vel_noise: float = param(0.1, "[0, inf)")  # rad/s, uniform
    forward_speed_average: float = param(0.1, "(0, 1]")  # weight of the newest finished episodes in mean_forward_speed

    def __post_init__(self):
        super().__post_init__()
        if self.termination_height >= self.start_height:
            raise ValueError(f"parameter termination_height must be below start_height ({self.start_height}); got "
                             f"{self.termination_height}: every episode would end at its first step")


def load_robot(path, kind: str, hinges: int | tuple[str, ...], feet: int) -> mujoco.MjModel:
    """The model at `path`; `AssetError` naming what it lacks unless it has what such a task reads
    and drives: a free joint on a body "torso", then `hinges` hinge joints (a count, or their names
    in order), actuator i on hinge i, and a force then a torque sensor for each of `feet` feet.
    `kind` names the robot in the error ("an ant")."""
    model = load_model(path)
    J, S = mujoco.mjtJoint, mujoco.mjtSensor
    count = hinges if isinstance(hinges, int) else len(hinges)
    names = tuple(model.joint(i).name for i in range(1, model.njnt))
    problems = []
    if not (model.njnt == count + 1 and model.jnt_type[0] == J.mjJNT_FREE
            and all(t == J.mjJNT_HINGE for t in model.jnt_type[1:]) and (isinstance(hinges, int) or names == hinges)):
        wanted = f"{count} hinge joints" if isinstance(hinges, int) else f"the hinges {', '.join(hinges)}, in that order"
        problems.append(f"a free joint then {wanted} (it has {model.njnt} joint(s))")
    elif mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "torso") != model.jnt_bodyid[0]:
        problems.append("the free joint on a body named 'torso'")
    if model.nu != count or not np.array_equal(model.actuator_trnid[:, 0], np.arange(1, count + 1)):
        problems.append(f"{count} actuators, actuator i on hinge i in joint order (it has {model.nu} actuator(s))")
    if list(model.sensor_type) != [S.mjSENS_FORCE, S.mjSENS_TORQUE] * feet:
        problems.append(f"a force then a torque sensor for each of the {feet} feet (it has {model.nsensor} sensor(s))")
    if problems:
        raise AssetError(f"{path} is not {kind} model: it needs " + "; ".join(problems))
    return model


class LocomotionTask(Task):
    """A base for such tasks (its `Config` a `LocomotionConfig`): a model whose free joint is
    followed by hinges, each with limits. Gives `lower`, `upper` (J,) [rad], the start pose
    `start_dof` (each hinge at 0, or at its nearest limit), `reset_physics`, and the
    forward-speed metric (`init_metrics`, `update_metrics`, `metric_units`)."""

    metric_units = METRIC_UNITS

    def __init__(self, config: LocomotionConfig | None = None, *, backend: str = "jax", device=None):
        super().__init__(config, backend=backend, device=device)
        lower, upper = self.sim.mj_model.jnt_range[1:].T.astype(np.float32)  # the hinges after the free joint
        self.lower, self.upper = jnp.asarray(lower), jnp.asarray(upper)
        self.start_dof = jnp.asarray(np.clip(0.0, lower, upper))
        self._initial = self.sim.initial_state()

    def reset_physics(self, key: jax.Array) -> PhysicsState:
        """The physics of a reset (`reset_pose`)."""
        qpos, qvel = reset_pose(key, self.config, self.start_dof, self.lower, self.upper, self._initial.qpos.dtype)
        return self._initial._replace(qpos=qpos, qvel=qvel)

    def reward_and_fall(self, before: jax.Array, after: jax.Array, parts: dict, action: jax.Array,
                        energy: jax.Array, at_limit: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(reward, fell) of a step: progress (the change from potential `before` to `after`) +
        `alive_reward` + `heading_and_up_reward` - `actions_cost` |action|^2 - `energy_cost` *
        `energy` - `joints_at_limit_cost` * `at_limit` (the task measures those two), replaced by
        `death_cost` where the torso fell below `termination_height`; float32."""
        c = self.config
        reward = (after - before + c.alive_reward + heading_and_up_reward(parts, c) - c.actions_cost * jnp.sum(action**2)
                  - c.energy_cost * energy - c.joints_at_limit_cost * at_limit)
        fell = parts["height"] < c.termination_height
        return jnp.where(fell, c.death_cost, reward).astype(jnp.float32), fell

    def potential(self, qpos: jax.Array) -> jax.Array:
        """-(horizontal distance to the target) / dt: its change over a step is the speed toward it [m/s]."""
        return -jnp.linalg.norm(jnp.asarray(TARGET[:2]) - qpos[:2]) / self.dt

    def init_metrics(self) -> dict:
        """"mean_forward_speed" [m/s] before any episode finished: 0."""
        return {"mean_forward_speed": jnp.zeros((), jnp.float32)}

    def update_metrics(self, metrics: dict, done: jax.Array, extras: dict) -> dict:
        """"mean_forward_speed": a running average over finished episodes of each one's mean forward
        speed (`extras["episode_forward_speed"]`), the newest finished ones weighing
        `forward_speed_average`."""
        return {"mean_forward_speed": average_over_finished(metrics["mean_forward_speed"], done,
                                                             extras["episode_forward_speed"],
                                                             self.config.forward_speed_average)}


def reset_pose(key: jax.Array, config: LocomotionConfig, start_dof: jax.Array, lower: jax.Array, upper: jax.Array,
               dtype) -> tuple[jax.Array, jax.Array]:
    """(qpos, qvel) of a reset: the torso at (0, 0, `start_height`), upright and at rest; the hinges
    at `start_dof` plus uniform +-`reset_dof_pos_noise` clamped to [`lower`, `upper`], their
    velocities uniform +-`reset_dof_vel_noise`; in `dtype`."""
    k_pos, k_vel = jax.random.split(key)
    n = start_dof.shape[0]
    dof = start_dof + jax.random.uniform(k_pos, (n,), minval=-config.reset_dof_pos_noise,
                                         maxval=config.reset_dof_pos_noise)
    dof = jnp.clip(dof, lower, upper)
    root = jnp.array([0.0, 0.0, config.start_height, 1.0, 0.0, 0.0, 0.0])
    dof_vel = jax.random.uniform(k_vel, (n,), minval=-config.reset_dof_vel_noise, maxval=config.reset_dof_vel_noise)
    return jnp.concatenate([root, dof]).astype(dtype), jnp.concatenate([jnp.zeros(6), dof_vel]).astype(dtype)


def heading_and_up_reward(parts: dict, config: LocomotionConfig) -> jax.Array:
    """The reference's heading reward (`heading_weight` * min(heading projection / 0.8, 1)) plus
    its upright reward (`up_weight` while the up projection exceeds 0.93), from `torso_parts`."""
    heading = config.heading_weight * jnp.minimum(parts["heading_proj"] / 0.8, 1.0)
    return heading + jnp.where(parts["up_proj"] > 0.93, config.up_weight, 0.0)


def roll_yaw(q: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(roll, yaw) [rad, in (-pi, pi]] of a (w, x, y, z) quaternion: its x-y-z Euler angles' first
    and last, as the reference computes them (before it takes them modulo 2 pi)."""
    w, x, y, z = q
    roll = jnp.arctan2(2.0 * (w * x + y * z), w * w - x * x - y * y + z * z)
    yaw = jnp.arctan2(2.0 * (w * z + x * y), w * w + x * x - y * y - z * z)
    return roll, yaw


def wrap(angle: jax.Array) -> jax.Array:
    """`angle` [rad] wrapped to [-pi, pi)."""
    return jnp.mod(angle + jnp.pi, 2 * jnp.pi) - jnp.pi


def torso_parts(qpos: jax.Array, qvel: jax.Array, lower: jax.Array, upper: jax.Array,
                target=TARGET) -> dict:
    """The torso and joint quantities of one env (free joint first, then the hinges with limits
    `lower`, `upper` (J,) [rad]): "height" [m]; "vel_loc", "angvel_loc" (3,) [m/s, rad/s] in the
    torso frame; "roll", "yaw" [rad, (-pi, pi]]; "target_angle" [rad], the reference's
    atan2(target z - z, target x - x) (z, not y: a quirk kept), from which a task subtracts its
    yaw; "up_proj" (torso z axis . world z); "heading_proj" (torso x axis . horizontal direction to
    the target); "dof_pos" (J,) the hinges scaled to [-1, 1] over their ranges."""
    torso = qpos[3:7]
    target = jnp.asarray(target)
    to_target = (target - qpos[:3]).at[2].set(0.0)
    roll, yaw = roll_yaw(torso)
    return {
        "height": qpos[2],
        "vel_loc": quat.rotate(quat.conj(torso), qvel[:3]),
        "angvel_loc": qvel[3:6],  # MuJoCo's free joint: already in the body frame
        "roll": roll,
        "yaw": yaw,
        "target_angle": jnp.arctan2(target[2] - qpos[2], target[0] - qpos[0]),
        "up_proj": quat.rotate(torso, jnp.array([0.0, 0.0, 1.0]))[2],
        "heading_proj": quat.rotate(torso, jnp.array([1.0, 0.0, 0.0])) @ (to_target / jnp.linalg.norm(to_target)),
        "dof_pos": (2.0 * qpos[7:] - upper - lower) / (upper - lower),
    }


def forward_speed_extras(qpos: jax.Array, qvel: jax.Array, time: jax.Array) -> dict:
    """The per-env info values "forward_speed" (the torso's world x velocity [m/s]) and
    "episode_forward_speed" (x travelled over the episode's `time` [m/s]), float32."""
    return {
        "forward_speed": qvel[0].astype(jnp.float32),
        "episode_forward_speed": (qpos[0] / jnp.maximum(time, 1e-6)).astype(jnp.float32),
    }
