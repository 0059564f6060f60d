"""The batched, jitted core shared by every task: one XLA program per env step.

`BatchedEnv` vmaps a task's single-env functions over N envs and adds what every env needs:
action sanitising (NaN/inf -> 0, clip to [-1, 1]), truncation, SAME_STEP autoreset, episode
statistics and recovery from non-finite physics. It is pure JAX: no torch, no gymnasium,
nothing read back to the host.

Buffer rules (they keep zero-copy safe): the `EnvState` is donated to every step and never
handed to users; each `StepOutput` array is a fresh output of the step, never donated later,
so a tensor a user keeps from one step is not overwritten by the next.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .tasks.base import Task


class EnvState(NamedTuple):
    """The carried state of N envs (leading axis N on every leaf)."""

    task: Any  # the task's state pytree
    key: jax.Array  # (N, 2) uint32: each env's random key
    episode_return: jax.Array  # (N,) float32: reward summed over the running episode
    episode_length: jax.Array  # (N,) int32: env steps in the running episode
    metrics: dict  # scalars over all envs that the task keeps (e.g. consecutive_successes)


class StepOutput(NamedTuple):
    """What one batched step returns to the user (N envs; fresh buffers every step)."""

    obs: jax.Array  # (N, obs_dim) float32; first obs of the new episode where done
    reward: jax.Array  # (N,) float32
    terminated: jax.Array  # (N,) bool
    truncated: jax.Array  # (N,) bool
    final_obs: jax.Array  # (N, obs_dim) float32; last obs of the finished episode where done
    done: jax.Array  # (N,) bool: terminated | truncated (gymnasium's `_final_obs` mask)
    episode_return: jax.Array  # (N,) float32: the finished episode's return where done, else 0
    episode_length: jax.Array  # (N,) int32: the finished episode's length where done, else 0
    nonfinite_action: jax.Array  # (N,) bool: the action held NaN/inf (replaced by 0)
    sim_unstable: jax.Array  # (N,) bool: physics went non-finite; the env was reset
    extras: dict  # task-specific values (see the task's docs): per env, or metric scalars


def _select(mask: jax.Array, on_true, on_false):
    """Per-env `where` over two pytrees whose leaves have leading axis N."""

    def pick(a, b):
        return jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b)

    return jax.tree.map(pick, on_true, on_false)


class BatchedEnv:
    """Pure batched functions of one task over `num_envs` envs (jit them; donate the state)."""

    def __init__(self, task: Task, num_envs: int):
        self.task = task
        self.num_envs = int(num_envs)

    def reset(self, key: jax.Array) -> tuple[EnvState, jax.Array]:
        """All envs reset from one key: (state, obs (N, obs_dim))."""
        keys = jax.random.split(key, self.num_envs)
        split = jax.vmap(jax.random.split)(keys)  # (N, 2, 2): carried key, reset key
        task_state = jax.vmap(self.task.reset)(split[:, 1])
        state = EnvState(
            task=task_state,
            key=split[:, 0],
            episode_return=jnp.zeros(self.num_envs, jnp.float32),
            episode_length=jnp.zeros(self.num_envs, jnp.int32),
            metrics=self.task.init_metrics() if hasattr(self.task, "init_metrics") else {},
        )
        return state, jax.vmap(self.task.observe)(task_state)

    def reset_where(self, state: EnvState, mask: jax.Array) -> tuple[EnvState, jax.Array]:
        """Reset only the envs where `mask` (N,) is True; the others keep their episode."""
        split = jax.vmap(jax.random.split)(state.key)
        fresh = jax.vmap(self.task.reset)(split[:, 1])
        task_state = _select(mask, fresh, state.task)
        state = EnvState(
            task=task_state,
            key=split[:, 0],
            episode_return=jnp.where(mask, 0.0, state.episode_return),
            episode_length=jnp.where(mask, 0, state.episode_length),
            metrics=state.metrics,
        )
        return state, jax.vmap(self.task.observe)(task_state)

    def step(self, state: EnvState, action: jax.Array) -> tuple[EnvState, StepOutput]:
        """One control step of every env with `action` (N, action_dim), then autoreset."""
        task = self.task
        action = jnp.asarray(action, jnp.float32)
        finite_action = jnp.isfinite(action)
        nonfinite_action = ~jnp.all(finite_action, axis=-1)
        action = jnp.clip(jnp.where(finite_action, action, 0.0), -1.0, 1.0)

        result = jax.vmap(task.step)(state.task, action)
        stable = (jax.vmap(task.state_is_finite)(result.state)
                  & jnp.all(jnp.isfinite(result.obs), axis=-1) & jnp.isfinite(result.reward))
        unstable = ~stable
        reward = jnp.where(stable, result.reward, 0.0)
        final_obs = jnp.where(stable[:, None], result.obs, 0.0)

        length = state.episode_length + 1
        ep_return = state.episode_return + reward
        terminated = result.terminated & stable
        truncated = (length >= task.max_episode_steps) & ~terminated | unstable
        done = terminated | truncated

        split = jax.vmap(jax.random.split)(state.key)
        fresh = jax.vmap(task.reset)(split[:, 1])
        task_state = _select(done, fresh, result.state)
        obs = jnp.where(done[:, None], jax.vmap(task.observe)(fresh), final_obs)

        metrics = state.metrics
        if hasattr(task, "update_metrics"):
            metrics = task.update_metrics(metrics, done, result.extras)
        new_state = EnvState(
            task=task_state,
            key=split[:, 0],
            episode_return=jnp.where(done, 0.0, ep_return),
            episode_length=jnp.where(done, 0, length),
            metrics=metrics,
        )
        out = StepOutput(
            obs=obs,
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            final_obs=final_obs,
            done=done,
            episode_return=jnp.where(done, ep_return, 0.0),
            episode_length=jnp.where(done, length, 0),
            nonfinite_action=nonfinite_action,
            sim_unstable=unstable,
            extras={**result.extras, **metrics},
        )
        return new_state, out
