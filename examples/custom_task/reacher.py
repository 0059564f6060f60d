"""MyReacher-v0: a two-link arm moves its fingertip to a target drawn anew each episode.

Observation (10, float32): cos and sin of the shoulder and elbow angles, 0.1 x their velocities
[rad/s], the target's position and the fingertip-to-target vector in the plane [m].
Action (2, in [-1, 1]): shoulder and elbow torques, x 0.5 N m (the motors' gear).
Reward: -(fingertip-target distance [m]) - control_cost |action|^2; never terminates; truncated
after 200 steps. Infos: `distance` per env; metric `final_distance`, the mean distance at the
end of the episodes that finished last.

A complete gpu_envs task in one file plus its MJCF (reacher.xml beside it): import this module
and `gymnasium.make_vec("MyReacher-v0", num_envs=N)` builds it (docs/writing_a_task.md).
"""

import dataclasses
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp

from gpu_envs.tasks import (PhysicsState, Task, TaskConfig, TaskStep, average_over_finished, param,
                            register_task)


@dataclasses.dataclass(frozen=True)
class ReacherConfig(TaskConfig):
    """MyReacher-v0's parameters."""

    target_radius: float = param(0.2, "(0, 0.24]")  # m; targets are drawn in a disc this wide
    control_cost: float = param(0.1, "[0, inf)")  # reward per unit of squared action
    max_episode_steps: int = param(200, "[1, inf)")
    substeps: int = param(2, "[1, inf)")  # physics steps of 0.01 s per env step
    asset: str = param(str(Path(__file__).with_name("reacher.xml")))


class ReacherState(NamedTuple):
    physics: PhysicsState
    target: jax.Array  # (2,) target position in the plane [m]


@register_task("MyReacher-v0")
class ReacherTask(Task):
    """A two-link arm reaches for a random target in the plane."""

    Config = ReacherConfig

    def __init__(self, config=None, *, backend="jax", device=None):
        super().__init__(config, backend=backend, device=device)
        self.fingertip = self.sim.mj_model.site("fingertip").id

    def reset(self, key):
        k_angle, k_radius, k_joints = jax.random.split(key, 3)
        angle = jax.random.uniform(k_angle, (), minval=-jnp.pi, maxval=jnp.pi)
        radius = self.config.target_radius * jnp.sqrt(jax.random.uniform(k_radius, ()))
        target = radius * jnp.stack([jnp.cos(angle), jnp.sin(angle)])
        physics = self.sim.initial_state()
        qpos = jax.random.uniform(k_joints, (2,), minval=-0.1, maxval=0.1)
        physics = physics._replace(qpos=qpos, mocap_pos=physics.mocap_pos.at[0, :2].set(target))
        return ReacherState(physics, target)

    def observe(self, state):
        q, qd = state.physics.qpos, state.physics.qvel
        to_target = state.target - self.fingertip_xy(state.physics)
        return jnp.concatenate([jnp.cos(q), jnp.sin(q), 0.1 * qd, state.target, to_target]).astype(jnp.float32)

    def fingertip_xy(self, physics):
        return self.sim.kinematics(physics).site_xpos[self.fingertip, :2]

    def step(self, state, action):
        physics, _ = self.sim.step(state.physics, action)
        state = state._replace(physics=physics)
        distance = jnp.linalg.norm(state.target - self.fingertip_xy(physics))
        reward = -distance - self.config.control_cost * jnp.sum(action**2)
        extras = {"distance": distance}
        return TaskStep(state, self.observe(state), reward.astype(jnp.float32), jnp.bool_(False), extras)

    def init_metrics(self):
        return {"final_distance": jnp.float32(jnp.nan)}

    def update_metrics(self, metrics, done, extras):
        """The mean fingertip distance at the end of the episodes that finished this step."""
        return {"final_distance": average_over_finished(metrics["final_distance"], done, extras["distance"], 1.0)}
