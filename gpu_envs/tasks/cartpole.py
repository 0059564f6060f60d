"""Cartpole, as in IsaacGymEnvs: push a cart on a rail to keep a free pole upright.

Observation (4, float32, clipped to +-5): cart position [m], cart velocity [m/s],
pole angle [rad, 0 = upright], pole angular velocity [rad/s].
Action (1, in [-1, 1]): force on the cart = action * max_effort [N].
Reward: 1 - angle^2 - 0.01 |cart_vel| - 0.005 |pole_vel|, replaced by -2 when the episode fails
(|cart_pos| > reset_dist or |angle| > pi/2), which terminates it. Truncation at 500 steps.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import mujoco

from ..camera import CameraDefaults
from ..sim import AssetError, PhysicsState, load_model, resolve_asset
from .base import Task, TaskStep
from .config import TaskConfig, param
from .registry import register_task


@dataclasses.dataclass(frozen=True)
class CartpoleConfig(TaskConfig):
    """GpuCartpole-v0's parameters (defaults reproduce IsaacGymEnvs' Cartpole)."""

    max_effort: float = param(400.0, "[0, inf)")  # N per unit action
    reset_dist: float = param(3.0, "(0, inf)")  # m; |cart position| beyond this fails the episode
    max_episode_steps: int = param(500, "[1, inf)")
    clip_observations: float = param(5.0, "(0, inf)")
    reset_position_noise: float = param(0.1, "[0, inf)")  # each joint position uniform in +-this at reset
    reset_velocity_noise: float = param(0.25, "[0, inf)")  # each joint velocity uniform in +-this at reset
    substeps: int = param(2, "[1, inf)")  # physics steps of the asset's timestep (1/120 s) per env step
    asset: str = param("cartpole.xml")  # a path to an MJCF file, or the name of a shipped one


def load_cartpole(path) -> mujoco.MjModel:
    """The cartpole model at `path`; `AssetError` unless it is a slide joint (the cart) then a
    hinge joint (the pole) with one actuator, which is what the task reads and drives."""
    model = load_model(path)
    slide, hinge = mujoco.mjtJoint.mjJNT_SLIDE, mujoco.mjtJoint.mjJNT_HINGE
    if model.njnt < 2 or tuple(model.jnt_type[:2]) != (slide, hinge) or model.nu != 1:
        first = [mujoco.mjtJoint(t).name.removeprefix("mjJNT_").lower() for t in model.jnt_type[:2]]
        raise AssetError(f"{path} is not a cartpole model: it needs a slide joint (the cart) then a hinge "
                         f"joint (the pole) and exactly one actuator; it has {model.njnt} joint(s) (first: "
                         f"{', '.join(first) or 'none'}) and {model.nu} actuator(s)")
    return model


@register_task("GpuCartpole-v0", docs="docs/envs/cartpole.md")
class CartpoleTask(Task):
    """IsaacGymEnvs Cartpole: balance a free pole on a cart."""

    Config = CartpoleConfig
    # seen from the front (-y), rails side by side along x, rows along y
    camera = CameraDefaults(spacing=(9.0, 1.5), lookat=(0.0, 0.0, 2.2), distance=0.0, azimuth=90.0, elevation=-20.0)

    def __init__(self, config: CartpoleConfig | None = None, *, backend: str = "jax", device=None):
        super().__init__(config, backend=backend, device=device)
        self._initial = self.sim.initial_state()

    def load_model(self) -> mujoco.MjModel:
        return load_cartpole(resolve_asset(self.config.asset))

    def observe(self, state: PhysicsState) -> jax.Array:
        obs = jnp.stack([state.qpos[0], state.qvel[0], state.qpos[1], state.qvel[1]])
        return jnp.clip(obs, -self.obs_bound, self.obs_bound).astype(jnp.float32)

    def reset(self, key):
        kq, kv = jax.random.split(key)
        c = self.config
        qpos = jax.random.uniform(kq, (2,), minval=-c.reset_position_noise, maxval=c.reset_position_noise)
        qvel = jax.random.uniform(kv, (2,), minval=-c.reset_velocity_noise, maxval=c.reset_velocity_noise)
        return self._initial._replace(qpos=qpos, qvel=qvel)

    def step(self, state: PhysicsState, action) -> TaskStep:
        state, _ = self.sim.step(state, action * self.config.max_effort)
        cart_pos, pole_angle = state.qpos[0], state.qpos[1]
        cart_vel, pole_vel = state.qvel[0], state.qvel[1]
        failed = (jnp.abs(cart_pos) > self.config.reset_dist) | (jnp.abs(pole_angle) > jnp.pi / 2)
        reward = 1.0 - pole_angle**2 - 0.01 * jnp.abs(cart_vel) - 0.005 * jnp.abs(pole_vel)
        reward = jnp.where(failed, -2.0, reward).astype(jnp.float32)
        return TaskStep(state, self.observe(state), reward, failed, {})
