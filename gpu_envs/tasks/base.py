"""The contract between a task and the vector env shell.

A task is a set of pure, single-env JAX functions over a state pytree; the shell vmaps and jits
them, adds truncation, autoreset and episode statistics, and converts at the torch boundary.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import jax

from ..render import CameraDefaults
from ..sim import PhysicsState


class TaskStep(NamedTuple):
    """What one env's control step produces.

    state: the task's new state pytree (carried to the next step; donated, never shown to users).
    obs: float32 (obs_dim,), already clipped to the observation bounds.
    reward: float32 scalar.
    terminated: bool scalar, a true end of the MDP episode (failure or goal).
    extras: dict of per-env scalars the task reports in `infos` (may be empty).
    """

    state: Any
    obs: jax.Array
    reward: jax.Array
    terminated: jax.Array
    extras: dict


class Task(Protocol):
    """What the vector env shell needs from a task."""

    obs_dim: int
    action_dim: int
    obs_bound: float  # observations lie in [-obs_bound, obs_bound]
    max_episode_steps: int  # episodes are truncated after this many env steps
    dt: float  # seconds of simulated time per env step
    camera: CameraDefaults  # how render() frames one env and spaces the grid

    def reset(self, key: jax.Array) -> Any:
        """A fresh single-env state drawn with `key` (the start of an episode)."""

    def observe(self, state: Any) -> jax.Array:
        """The observation of `state`: float32 (obs_dim,), clipped to +-obs_bound."""

    def step(self, state: Any, action: jax.Array) -> TaskStep:
        """Advance one env by one control step with `action` (action_dim,) in [-1, 1]."""

    def state_is_finite(self, state: Any) -> jax.Array:
        """Scalar bool: the physics state holds no NaN/inf (otherwise the shell resets the env)."""

    def physics(self, state: Any) -> PhysicsState:
        """The MuJoCo state inside the task's state (what rendering draws)."""

    # Optional: metrics over all envs, reported in every step's infos as scalars.
    #   init_metrics() -> dict of scalars
    #   update_metrics(metrics, done (N,), extras of the finished step) -> dict of scalars
