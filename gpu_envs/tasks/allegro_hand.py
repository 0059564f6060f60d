"""AllegroHand, as in IsaacGymEnvs: turn a cube in the palm of a 16-DoF hand to a goal orientation.

Action (16, in [-1, 1]): joint position targets. "absolute" control (default) maps the action
onto each joint's range and blends it with the previous target by `actions_moving_average`;
"relative" control adds `dof_speed_scale * (1/60 s) * action` to the previous target (the
reference's sim dt, whatever the scene's timestep). Targets are clamped to the joint ranges and
held by the position actuators (kp 3, kv 0.1, |torque| <= 0.5 N m) for `substeps` physics steps
of `timestep` (by default 2 of 1/60 s: control at 30 Hz; the reference steps PhysX at 1/120 s,
4 per action, which `timestep=1/120, substeps=4, solver_iterations=8` reproduces:
docs/envs/allegro_hand.md, "Physics rate").

Observations (float32, clipped to +-5; quaternions are MuJoCo's (w, x, y, z)):
  full_no_vel (50): joint positions scaled to [-1, 1] (16), object position (3) and
    quaternion (4), goal position (3) and quaternion (4), object * conj(goal) (4), last action (16)
  full (72): joint positions (16), 0.2 * joint velocities (16), object pose (7), object linear
    velocity (3, world), 0.2 * object angular velocity (3, world), goal pose (7), relative
    quaternion (4), last action (16)
  full_state (88, default): as full, with 10 * joint torques (16: the position actuators'
    torques, MuJoCo's qfrc_actuator) after the joint velocities.
Reward: -10 |object - goal position| + 1 / (rotation distance + 0.1) - 0.0002 |action|^2,
plus 250 on success (rotation distance <= 0.1 rad: a new goal orientation is drawn and the
episode goes on); a fall (object >= 0.24 m from the goal position) ends the episode.
Episodes are truncated after 600 steps.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import mujoco
import numpy as np

from ..camera import CameraDefaults
from ..sim import PhysicsState, resolve_asset
from . import quat
from .base import Task, TaskStep, average_over_finished
from .config import TaskConfig, param
from .hand_model import load_hand_scene
from .registry import register_task
from .urdf_hand import VENDOR_JOINTS, VENDOR_TIPS, scene_spec_from_urdf

RELATIVE_CONTROL_DT = 1.0 / 60.0  # s: IsaacGymEnvs' sim dt, which its relative control scales actions by
_OBS_NOISE_STREAM = 1  # observation noise is drawn from the state's key folded with this
OBS_DIMS = {"full_no_vel": 50, "full": 72, "full_state": 88}
CONTROLS = ("absolute", "relative")


@dataclasses.dataclass(frozen=True)
class AllegroHandConfig(TaskConfig):
    """GpuAllegroHand-v0's parameters (defaults reproduce IsaacGymEnvs' AllegroHand)."""

    obs_type: str = param("full_state", tuple(OBS_DIMS))  # "full_no_vel" (50), "full" (72) or "full_state" (88)
    control: str = param("absolute", CONTROLS)  # or "relative"
    actions_moving_average: float = param(1.0, "(0, 1]")  # absolute control: weight of the new target
    dof_speed_scale: float = param(20.0, "[0, inf)")  # relative control: rad/s per unit action
    max_episode_steps: int = param(600, "[1, inf)")
    clip_observations: float = param(5.0, "(0, inf)")
    substeps: int = param(2, "[1, inf)")  # physics steps of `timestep` per env step
    timestep: float | None = param(None, "(0, inf)")  # s, one physics step (None: the scene's, 1/60 s in the shipped one)
    solver_iterations: int | None = param(None, "[1, inf)")  # MuJoCo's opt.iterations (None: the scene's, 4 in the shipped one)
    dist_reward_scale: float = param(-10.0)
    rot_reward_scale: float = param(1.0)
    rot_eps: float = param(0.1, "(0, inf)")
    action_penalty_scale: float = param(-0.0002)
    success_tolerance: float = param(0.1, "(0, inf)")  # rad
    reach_goal_bonus: float = param(250.0)
    fall_dist: float = param(0.24, "(0, inf)")  # m from the goal position
    fall_penalty: float = param(0.0)
    reset_position_noise: float = param(0.01, "[0, inf)")  # m, object position, per axis
    reset_dof_pos_noise: float = param(0.2, "[0, 1]")  # fraction of the way to a random point of each joint range
    reset_dof_vel_noise: float = param(0.0, "[0, inf)")  # rad/s
    consecutive_successes_average: float = param(0.1, "(0, 1]")  # weight of the newest finished episodes
    hand_model: str = param("allegro_hand.xml")  # a shipped scene's name, or a path to your MJCF scene or URDF hand
    urdf_joint_names: tuple[str, ...] | None = param(None)  # URDF hand: its 16 joints in our order (None: the vendor's names)
    urdf_tip_links: tuple[str, ...] | None = param(None)  # URDF hand: index, middle, ring, thumb tip links (None: the vendor's)
    # Domain randomization (the reference's set; off by default). Physical parameters are drawn
    # per env at every reset; noise is drawn every step.
    randomize: bool = param(False)
    obs_noise_std: float = param(0.002, "[0, inf)")  # Gaussian noise added to observations
    action_noise_std: float = param(0.05, "[0, inf)")  # Gaussian noise added to actions before they become targets
    gravity_noise_std: float = param(0.4, "[0, inf)")  # m/s^2, Gaussian offset per axis
    damping_scale: tuple[float, float] = param((0.3, 3.0), "(0, inf)")  # log-uniform factor on the actuators' kv
    stiffness_scale: tuple[float, float] = param((0.75, 1.5), "(0, inf)")  # log-uniform factor on the actuators' kp
    object_mass_scale: tuple[float, float] = param((0.5, 1.5), "(0, inf)")  # uniform factor on the cube's mass and inertia
    friction_scale: tuple[float, float] = param((0.7, 1.3), "[0, inf)")  # uniform factor on every geom's sliding friction
    object_scale: tuple[float, float] = param((0.95, 1.05), "(0, inf)")  # uniform factor on the cube's size (its collision geometry)


def _set_solver(mj_model, timestep: float | None, iterations: int | None) -> None:
    """Override the scene's physics timestep [s] and solver iterations where given (not None)."""
    if timestep is not None:
        mj_model.opt.timestep = timestep
    if iterations is not None:
        mj_model.opt.iterations = iterations


class HandState(NamedTuple):
    """One env's task state."""

    physics: PhysicsState
    targets: jax.Array  # (16,) joint position targets [rad]
    action: jax.Array  # (16,) last action
    joint_torque: jax.Array  # (16,) actuator torques of the last physics step [N m]
    goal_quat: jax.Array  # (4,)
    successes: jax.Array  # () float32: goals reached this episode
    key: jax.Array  # for goal resampling and noise inside step
    params: dict  # this episode's randomized physical parameters (empty without randomize)


@register_task("GpuAllegroHand-v0", backend="auto", docs="docs/envs/allegro_hand.md")
class AllegroHandTask(Task):
    """IsaacGymEnvs AllegroHand: turn a cube in a 16-DoF hand to goal orientations."""

    Config = AllegroHandConfig
    camera = CameraDefaults(spacing=(0.4, 0.4), lookat=(-0.06, -0.05, 0.5), distance=0.6, azimuth=90.0, elevation=-45.0)

    def __init__(self, config: AllegroHandConfig | None = None, *, backend: str = "jax", device=None):
        config = AllegroHandConfig() if config is None else config
        self._randomize_mass = (isinstance(config, AllegroHandConfig) and config.randomize
                                and tuple(config.object_mass_scale) != (1.0, 1.0))
        if self._randomize_mass and backend == "auto":
            backend = "jax"  # the only backend that randomizes the cube's mass correctly
        if self._randomize_mass and backend == "warp":
            raise ValueError("randomize=True with backend='warp' needs object_mass_scale=(1.0, 1.0): MuJoCo Warp "
                             "mishandles per-env body masses (resting cubes fall; docs/envs/allegro_hand.md). "
                             "Use backend='jax' to randomize the mass")
        super().__init__(config, backend=backend, device=device)
        mj_model = self.sim.mj_model

        lower, upper = mj_model.jnt_range[:16].T.astype(np.float32)
        self.lower, self.upper = jnp.asarray(lower), jnp.asarray(upper)
        self.default_qpos = jnp.asarray(np.clip(0.0, lower, upper), jnp.float32)  # the flat hand
        obj = mj_model.body("object")
        self._object_body = obj.id
        self._object_geoms = np.flatnonzero(mj_model.geom_bodyid == obj.id)
        self.object_start = jnp.asarray(mj_model.body_pos[obj.id], jnp.float32)
        self.goal_pos = self.object_start - jnp.array([0.0, 0.0, 0.04], jnp.float32)
        self._initial = self.sim.initial_state()

    def load_model(self):
        c = self.config
        mj_model = load_hand_scene(resolve_asset(c.hand_model), c.urdf_joint_names, c.urdf_tip_links)
        _set_solver(mj_model, c.timestep, c.solver_iterations)
        return mj_model

    def model_spec(self) -> mujoco.MjSpec:
        c = self.config
        path = resolve_asset(c.hand_model)
        if str(path).lower().endswith(".urdf"):
            joints = VENDOR_JOINTS if c.urdf_joint_names is None else c.urdf_joint_names
            tips = VENDOR_TIPS if c.urdf_tip_links is None else c.urdf_tip_links
            return scene_spec_from_urdf(path, joints, tips)
        return mujoco.MjSpec.from_file(str(path))

    # -- reset ---------------------------------------------------------------------------

    def reset(self, key: jax.Array) -> HandState:
        c = self.config
        k_dof, k_vel, k_pos, k_rot, k_goal, k_next, k_params = jax.random.split(key, 7)
        # the reference's noise: move each joint a fraction of the way to a random point of its range
        toward = jax.random.uniform(k_dof, (16,), minval=self.lower, maxval=self.upper)
        hand_q = jnp.clip(self.default_qpos + c.reset_dof_pos_noise * (toward - self.default_qpos),
                          self.lower, self.upper)
        hand_v = c.reset_dof_vel_noise * jax.random.uniform(k_vel, (16,), minval=-1.0, maxval=1.0)
        obj_pos = self.object_start + c.reset_position_noise * jax.random.uniform(k_pos, (3,), minval=-1.0, maxval=1.0)
        qpos = jnp.concatenate([hand_q, obj_pos, quat.random_xy(k_rot)])
        qvel = jnp.concatenate([hand_v, jnp.zeros(6)])
        goal_quat = quat.random_xy(k_goal)
        physics = self._initial._replace(
            qpos=qpos.astype(self._initial.qpos.dtype),
            qvel=qvel.astype(self._initial.qvel.dtype),
            qacc_warmstart=jnp.zeros_like(self._initial.qacc_warmstart),
            mocap_quat=self._initial.mocap_quat.at[0].set(goal_quat),
        )
        zeros = jnp.zeros(16, jnp.float32)
        params = self._draw_params(k_params) if c.randomize else {}
        return HandState(physics, hand_q.astype(jnp.float32), zeros, zeros, goal_quat.astype(jnp.float32),
                         jnp.zeros((), jnp.float32), k_next, params)

    def _draw_params(self, key: jax.Array) -> dict:
        """One episode's physical parameters, drawn from the configured ranges."""
        c = self.config
        k_kp, k_kv, k_mass, k_fric, k_grav, k_scale = jax.random.split(key, 6)
        m = self.sim.mj_model

        def log_uniform(k, bounds, shape=()):
            lo, hi = np.log(bounds[0]), np.log(bounds[1])
            return jnp.exp(jax.random.uniform(k, shape, minval=lo, maxval=hi))

        return {
            "kp": jnp.asarray(m.actuator_gainprm[:, 0], jnp.float32) * log_uniform(k_kp, c.stiffness_scale, (16,)),
            "kv": jnp.asarray(-m.actuator_biasprm[:, 2], jnp.float32) * log_uniform(k_kv, c.damping_scale, (16,)),
            "mass_scale": jax.random.uniform(k_mass, (), minval=c.object_mass_scale[0], maxval=c.object_mass_scale[1]),
            "friction_scale": jax.random.uniform(k_fric, (), minval=c.friction_scale[0], maxval=c.friction_scale[1]),
            "gravity": jnp.asarray(m.opt.gravity, jnp.float32) + c.gravity_noise_std * jax.random.normal(k_grav, (3,)),
            "object_scale": jax.random.uniform(k_scale, (), minval=c.object_scale[0], maxval=c.object_scale[1]),
        }

    def _model_for(self, params: dict):
        """The MJX model with one env's randomized parameters (traced per env under vmap)."""
        m = self.sim.model
        obj, geoms = self._object_body, self._object_geoms
        scale = params["object_scale"]
        fields = {
            "actuator_gainprm": m.actuator_gainprm.at[:, 0].set(params["kp"]),
            "actuator_biasprm": m.actuator_biasprm.at[:, 1].set(-params["kp"]).at[:, 2].set(-params["kv"]),
            # inertia ~ mass * size^2: the cube's mass is randomized on its own (mass_scale)
            "body_inertia": m.body_inertia.at[obj].multiply(params["mass_scale"] * scale**2),
            "geom_size": m.geom_size.at[geoms].multiply(scale),
            "geom_rbound": m.geom_rbound.at[geoms].multiply(scale),
            "geom_aabb": m.geom_aabb.at[geoms].multiply(scale),
            "geom_friction": m.geom_friction.at[:, 0].multiply(params["friction_scale"]),
            "opt.gravity": params["gravity"],
        }
        if self._randomize_mass:  # a per-env body_mass at all breaks MuJoCo Warp (see __init__)
            fields["body_mass"] = m.body_mass.at[obj].multiply(params["mass_scale"])
        return m.tree_replace(fields)

    # -- observation ---------------------------------------------------------------------

    def observe(self, state: HandState) -> jax.Array:
        qpos, qvel = state.physics.qpos, state.physics.qvel
        hand_q = (2.0 * qpos[:16] - self.upper - self.lower) / (self.upper - self.lower)
        obj_pos, obj_quat = qpos[16:19], qpos[19:23]
        goal = jnp.concatenate([self.goal_pos, state.goal_quat])
        relative = quat.mul(obj_quat, quat.conj(state.goal_quat))
        if self.config.obs_type == "full_no_vel":
            parts = [hand_q, obj_pos, obj_quat, goal, relative, state.action]
        else:
            lin_vel = qvel[16:19]
            ang_vel = quat.rotate(obj_quat, qvel[19:22])  # free joint: body-frame -> world
            joint = [hand_q, 0.2 * qvel[:16]]
            if self.config.obs_type == "full_state":
                joint.append(10.0 * state.joint_torque)
            parts = joint + [obj_pos, obj_quat, lin_vel, 0.2 * ang_vel, goal, relative, state.action]
        obs = jnp.concatenate([p.astype(jnp.float32) for p in parts])
        if self.config.randomize:  # every observation, the first of an episode too
            noise_key = jax.random.fold_in(state.key, _OBS_NOISE_STREAM)
            obs = obs + self.config.obs_noise_std * jax.random.normal(noise_key, obs.shape)
        return jnp.clip(obs, -self.obs_bound, self.obs_bound)

    # -- step ----------------------------------------------------------------------------

    def targets_for(self, state: HandState, action: jax.Array) -> jax.Array:
        """Joint position targets (16,) for `action` under the configured control mode."""
        c = self.config
        if c.control == "absolute":
            scaled = self.lower + 0.5 * (action + 1.0) * (self.upper - self.lower)
            targets = c.actions_moving_average * scaled + (1.0 - c.actions_moving_average) * state.targets
        else:
            targets = state.targets + c.dof_speed_scale * RELATIVE_CONTROL_DT * action
        return jnp.clip(targets, self.lower, self.upper)

    def reward(self, obj_pos, obj_quat, goal_quat, action):
        """The reference's reward for one env -> (reward, success, fell).

        obj_pos (3,) m, obj_quat/goal_quat (4,) wxyz, action (16,). success: the object is
        within `success_tolerance` rad of the goal orientation (bonus added); fell: it is
        `fall_dist` m or more from the goal position (penalty added; the episode ends).
        """
        c = self.config
        goal_dist = jnp.linalg.norm(obj_pos - self.goal_pos)
        rot_dist = quat.angle_between(obj_quat, goal_quat)
        success = rot_dist <= c.success_tolerance
        fell = goal_dist >= c.fall_dist
        reward = (c.dist_reward_scale * goal_dist + c.rot_reward_scale / (rot_dist + c.rot_eps)
                  + c.action_penalty_scale * jnp.sum(action**2))
        reward = reward + jnp.where(success, c.reach_goal_bonus, 0.0) + jnp.where(fell, c.fall_penalty, 0.0)
        return reward.astype(jnp.float32), success, fell

    def step(self, state: HandState, action: jax.Array) -> TaskStep:
        c = self.config
        k_goal, k_next, k_act, _ = jax.random.split(state.key, 4)
        if c.randomize:
            targets = self.targets_for(state, action + c.action_noise_std * jax.random.normal(k_act, action.shape))
            physics, data = self.sim.step(state.physics, targets, model=self._model_for(state.params))
        else:
            targets = self.targets_for(state, action)
            physics, data = self.sim.step(state.physics, targets)
        reward, success, fell = self.reward(physics.qpos[16:19], physics.qpos[19:23], state.goal_quat, action)

        goal_quat = jnp.where(success, quat.random_xy(k_goal), state.goal_quat)
        physics = physics._replace(mocap_quat=physics.mocap_quat.at[0].set(goal_quat.astype(physics.mocap_quat.dtype)))
        successes = state.successes + success.astype(jnp.float32)
        new = HandState(physics, targets, action, data.qfrc_actuator[:16].astype(jnp.float32),
                        goal_quat, successes, k_next, state.params)
        obs = self.observe(new)
        extras = {"successes": successes, "goal_reached": success}
        return TaskStep(new, obs, reward, fell, extras)

    # -- metrics over all envs -----------------------------------------------------------

    def init_metrics(self) -> dict:
        return {"consecutive_successes": jnp.zeros((), jnp.float32)}

    def update_metrics(self, metrics: dict, done: jax.Array, extras: dict) -> dict:
        """The reference's running average of goals reached per finished episode."""
        successes = average_over_finished(metrics["consecutive_successes"], done, extras["successes"],
                                          self.config.consecutive_successes_average)
        return {"consecutive_successes": successes}
