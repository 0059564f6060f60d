"""The batched, jitted core shared by every task: one XLA program per env step.

`BatchedEnv` vmaps a task's single-env functions over N envs and adds what every env needs:
action sanitising (NaN/inf -> 0, clip to [-1, 1]), truncation, gymnasium's autoreset modes,
episode statistics and recovery from non-finite physics. It is pure JAX (gymnasium only for the
names of its autoreset modes, no torch): nothing is read back to the host.

Buffer rules (they keep zero-copy safe): the `EnvState` is donated to every step and never
handed to users; each `StepOutput` array is a fresh output of the step, never donated later,
so a tensor a user keeps from one step is not overwritten by the next.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from gymnasium.vector import AutoresetMode

from .pixels import FrameStack
from .sim import steps_env_by_env
from .tasks.base import Task


class EnvState(NamedTuple):
    """The carried state of N envs (leading axis N on every leaf)."""

    task: Any  # the task's state pytree
    key: jax.Array  # (N, 2) uint32: each env's random key
    episode_return: jax.Array  # (N,) float32: reward summed over the running episode
    episode_length: jax.Array  # (N,) int32: env steps in the running episode
    needs_reset: jax.Array  # (N,) bool: NEXT_STEP autoreset resets these envs at the next step
    metrics: dict  # scalars over all envs that the task keeps (e.g. consecutive_successes)
    frames: Any = None  # stacked pixel observations: the last observation (N, H, W, k * C); else None


class StepOutput(NamedTuple):
    """What one batched step returns to the user (N envs; fresh buffers every step)."""

    obs: jax.Array | dict  # (N, obs_dim) float32, (N, H, W, C) uint8 images, or {"state", "pixels"} of both; SAME_STEP: first obs of the new episode where done
    reward: jax.Array  # (N,) float32
    terminated: jax.Array  # (N,) bool
    truncated: jax.Array  # (N,) bool
    final_obs: jax.Array | dict | None  # SAME_STEP: (N, ...) last obs of the finished episode where done; else None
    done: jax.Array  # (N,) bool: terminated | truncated (gymnasium's `_final_obs` / `_episode` mask)
    episode_return: jax.Array  # (N,) float32: the finished episode's return where done, else 0
    episode_length: jax.Array  # (N,) int32: the finished episode's length where done, else 0
    nonfinite_action: jax.Array  # (N,) bool: the action held NaN/inf (replaced by 0)
    sim_unstable: jax.Array  # (N,) bool: physics went non-finite (see the autoreset modes)
    extras: dict  # task-specific values (see the task's docs): per env, or metric scalars


# info keys the vector env itself writes (gymnasium's, and the adapters' "time_outs"); a task's
# extras and metrics must not take them
RESERVED_INFO_KEYS = frozenset({"final_obs", "_final_obs", "episode", "_episode", "nonfinite_action", "sim_unstable",
                                "time_outs"})


def check_info_names(task, extras: dict, metrics: dict) -> None:
    """Raise `ValueError` naming the task when its extras or metrics take a reserved info key or
    one another's names (either would silently replace a value in `infos`)."""
    taken = sorted((set(extras) | set(metrics)) & RESERVED_INFO_KEYS)
    shared = sorted(set(extras) & set(metrics))
    if taken or shared:
        what = (f"uses the reserved info key(s) {taken}" if taken else
                f"has extras and metrics of the same name(s) {shared}")
        raise ValueError(f"{type(task).__name__} {what}: rename them (reserved: {sorted(RESERVED_INFO_KEYS)})")


def check_task_step(task, state, result, num_envs: int) -> None:
    """Raise `ValueError` naming the task and the output when one env's `TaskStep` is not what
    the contract says (checked on the traced, vmapped shapes: nothing runs)."""
    name = f"{type(task).__name__}.step"
    wanted = {"obs": ((num_envs, task.obs_dim), jnp.float32, f"float32 ({task.obs_dim},), as observe returns"),
              "reward": ((num_envs,), jnp.float32, "a float32 scalar"),
              "terminated": ((num_envs,), jnp.bool_, "a bool scalar")}
    for field, (shape, dtype, said) in wanted.items():
        value = getattr(result, field)
        if value.shape != shape or value.dtype != dtype:
            raise ValueError(f"{name} must return {field} as {said}; it returns {value.dtype} of shape {value.shape[1:]}")
    for key, value in result.extras.items():
        if getattr(value, "shape", None) != (num_envs,):
            raise ValueError(f"{name} must return extras of scalars; extras[{key!r}] has shape "
                             f"{getattr(value, 'shape', (num_envs, '?'))[1:]}")
    before = jax.tree.map(lambda x: (x.shape, x.dtype), state)
    after = jax.tree.map(lambda x: (x.shape, x.dtype), result.state)
    if jax.tree.structure(state) != jax.tree.structure(result.state) or before != after:
        raise ValueError(f"{name} must return a state of the same structure, shapes and dtypes as reset's; "
                         f"reset gives {before}, step gives {after}")


def _select(mask: jax.Array, on_true, on_false):
    """Per-env `where` over two pytrees whose leaves have leading axis N."""

    def pick(a, b):
        return jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b)

    return jax.tree.map(pick, on_true, on_false)


class BatchedEnv:
    """Pure batched functions of one task over `num_envs` envs (jit them; donate the state).

    autoreset_mode: gymnasium's `AutoresetMode` that `step` follows.
        SAME_STEP: a finished env is reset inside the same step; `obs` is its new episode's
            first observation and `final_obs` the finished episode's last one.
        NEXT_STEP: a finished env returns its last observation; the next step ignores its
            action, resets it and returns the first observation with reward 0 and no flags.
        DISABLED: nothing is reset by `step`; reset finished envs with `reset_where`.
    In every mode an env whose physics goes non-finite is reported `truncated` and
    `sim_unstable`, with reward 0, a zero observation and zero extras in place of the
    non-finite ones; the task's metrics do not count it.

    pixels: None (observations are the task's `observe`), or a function from one or more
    `PhysicsState`s of the N envs to a tuple of their images (N, H, W, C) uint8, one per state,
    which then replace the observations (`gpu_envs.pixels.PixelRenderer.render`). SAME_STEP
    also passes `differ=done` with its two states (the envs whose two states differ).
    frame_stack: with pixels, observations of the last `frame_stack` images (`pixels.FrameStack`).
    with_state: with pixels, observations are dicts of the task's observations ("state") and
        the images ("pixels").
    """

    def __init__(self, task: Task, num_envs: int, autoreset_mode: AutoresetMode = AutoresetMode.SAME_STEP,
                 pixels=None, frame_stack: int = 1, with_state: bool = False):
        self.task = task
        self.num_envs = int(num_envs)
        self.autoreset_mode = AutoresetMode(autoreset_mode)
        self.pixels = pixels
        self.stack = FrameStack(frame_stack) if pixels is not None and frame_stack > 1 else None
        self.with_state = bool(with_state) and pixels is not None

    def _observe(self, task_state) -> jax.Array:
        """The envs' images with pixels, else the task's observations."""
        if self.pixels is None:
            return jax.vmap(self.task.observe)(task_state)
        return self.pixels(self.task.physics(task_state))[0]

    def _with_state(self, images, task_state):
        """The observation: `images`, or with `with_state` a dict of them and the task's."""
        if not self.with_state:
            return images
        return {"state": jax.vmap(self.task.observe)(task_state), "pixels": images}

    def reset(self, keys: jax.Array) -> tuple[EnvState, jax.Array]:
        """Every env reset from its own key in `keys` (N, 2): (state, obs (N, ...), as `step`'s)."""
        split = jax.vmap(jax.random.split)(keys)  # (N, 2, 2): carried key, reset key
        task_state = jax.vmap(self.task.reset)(split[:, 1])
        state = EnvState(
            task=task_state,
            key=split[:, 0],
            episode_return=jnp.zeros(self.num_envs, jnp.float32),
            episode_length=jnp.zeros(self.num_envs, jnp.int32),
            needs_reset=jnp.zeros(self.num_envs, bool),
            metrics=self.task.init_metrics(),
        )
        obs = self._observe(task_state)
        if self.stack is not None:
            obs = self.stack.first(obs)
            state = state._replace(frames=obs)
        return state, self._with_state(obs, task_state)

    def reset_where(self, state: EnvState, mask: jax.Array, keys: jax.Array) -> tuple[EnvState, jax.Array]:
        """Reset the envs where `mask` (N,) is True from their rows of `keys` (N, 2); the
        others keep their episode and their random stream."""
        split = jax.vmap(jax.random.split)(keys)
        fresh = jax.vmap(self.task.reset)(split[:, 1])
        task_state = _select(mask, fresh, state.task)
        state = EnvState(
            task=task_state,
            key=jnp.where(mask[:, None], split[:, 0], state.key),
            episode_return=jnp.where(mask, 0.0, state.episode_return),
            episode_length=jnp.where(mask, 0, state.episode_length),
            needs_reset=state.needs_reset & ~mask,
            metrics=state.metrics,
            frames=state.frames,
        )
        obs = self._observe(task_state)
        if self.stack is not None:  # the reset envs start a stack; the others show theirs again
            obs = _select(mask, self.stack.first(obs), state.frames)
            state = state._replace(frames=obs)
        return state, self._with_state(obs, task_state)

    def step(self, state: EnvState, action: jax.Array) -> tuple[EnvState, StepOutput]:
        """One control step of every env with `action` (N, action_dim), then the autoreset mode's resets."""
        task = self.task
        mode = self.autoreset_mode
        action = jnp.asarray(action, jnp.float32)
        finite_action = jnp.isfinite(action)
        nonfinite_action = ~jnp.all(finite_action, axis=-1)
        action = jnp.clip(jnp.where(finite_action, action, 0.0), -1.0, 1.0)

        if steps_env_by_env(task.sim.mj_model, task.sim.device):
            result = jax.lax.map(lambda args: task.step(*args), (state.task, action))
        else:
            result = jax.vmap(task.step)(state.task, action)
        check_task_step(task, state.task, result, self.num_envs)  # at trace time: no cost per step
        stable = (jax.vmap(task.state_is_finite)(result.state)
                  & jnp.all(jnp.isfinite(result.obs), axis=-1) & jnp.isfinite(result.reward))
        unstable = ~stable
        reward = jnp.where(stable, result.reward, 0.0)
        last_obs = jnp.where(stable[:, None], result.obs, 0.0)
        extras = _select(unstable, jax.tree.map(jnp.zeros_like, result.extras), result.extras)  # per env (N,)

        length = state.episode_length + 1
        ep_return = state.episode_return + reward
        terminated = result.terminated & stable
        truncated = (length >= task.max_episode_steps) & ~terminated | unstable
        skipped = state.needs_reset  # NEXT_STEP: these envs reset now instead of stepping
        if mode == AutoresetMode.NEXT_STEP:
            terminated, truncated, unstable = terminated & ~skipped, truncated & ~skipped, unstable & ~skipped
            reward = jnp.where(skipped, 0.0, reward)
            extras = _select(skipped, jax.tree.map(jnp.zeros_like, extras), extras)
        done = terminated | truncated

        if mode == AutoresetMode.DISABLED:
            key, task_state, obs, restart = state.key, result.state, last_obs, jnp.zeros_like(done)
        else:
            restart = done if mode == AutoresetMode.SAME_STEP else skipped
            split = jax.vmap(jax.random.split)(state.key)
            key = split[:, 0]
            fresh = jax.vmap(task.reset)(split[:, 1])
            task_state = _select(restart, fresh, result.state)
            obs = jnp.where(restart[:, None], jax.vmap(task.observe)(fresh), last_obs)
        frames = state.frames
        if self.pixels is not None:  # images of the envs as they now are; the finished ones' last ones
            if mode == AutoresetMode.SAME_STEP:
                images, last_images = self.pixels(task.physics(task_state), task.physics(result.state), differ=done)
            else:
                (images,), last_images = self.pixels(task.physics(task_state)), None
            if self.stack is not None:
                images = self.stack.push(frames, images, restart)
                last_images = None if last_images is None else self.stack.end(frames, last_images)
            images = _select(unstable & ~restart, jnp.zeros_like(images), images)
            last_images = None if last_images is None else _select(unstable, jnp.zeros_like(last_images), last_images)
            frames = images if self.stack is not None else frames
            if self.with_state:
                obs, last_obs = {"state": obs, "pixels": images}, {"state": last_obs, "pixels": last_images}
            else:
                obs, last_obs = images, last_images

        # envs whose physics went non-finite end their episode but hold no values to average
        metrics = task.update_metrics(state.metrics, done & ~unstable, extras)
        check_info_names(task, extras, metrics)  # at trace time: no cost per step
        new_state = EnvState(
            task=task_state,
            key=key,
            episode_return=jnp.where(restart | done, 0.0, ep_return),
            episode_length=jnp.where(restart | done, 0, length),
            needs_reset=done if mode == AutoresetMode.NEXT_STEP else state.needs_reset,
            metrics=metrics,
            frames=frames,
        )
        out = StepOutput(
            obs=obs,
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            final_obs=last_obs if mode == AutoresetMode.SAME_STEP else None,
            done=done,
            episode_return=jnp.where(done, ep_return, 0.0),
            episode_length=jnp.where(done, length, 0),
            nonfinite_action=nonfinite_action,
            sim_unstable=unstable,
            extras={**extras, **metrics},
        )
        return new_state, out
