"""Compiling an env's step on a background thread while the caller sets up its learner.

A step's first call traces and compiles it (seconds: a GPU Cartpole about 4 s with an empty
compilation cache), which would otherwise start only once the caller has built its networks and
reset the env. The step's arguments are known from the env's shapes before any reset, so the
vector env hands `CompileAhead` a function that lowers and compiles the step for abstract
arguments (`step_arguments`); jit keeps the result, and the first `step()` waits for the thread
and then finds the program compiled.

The thread is only an early start: if it fails, the first `step()` does the same work itself and
raises whatever error that work raises, where the caller sees it.
"""

from __future__ import annotations

import threading
from typing import Callable

import jax
import jax.numpy as jnp
from jax.sharding import SingleDeviceSharding


class CompileAhead:
    """Runs `compile_step()` on a thread of its own from construction; `wait()` joins it.

    The thread is not a daemon: an interpreter that exits while it compiles waits for it, rather
    than tearing XLA down under it.
    """

    def __init__(self, compile_step: Callable[[], None]):
        self.error: Exception | None = None
        self._thread = threading.Thread(target=self._run, args=(compile_step,), name="gpu_envs compile ahead")
        self._thread.start()

    def _run(self, compile_step: Callable[[], None]) -> None:
        try:
            compile_step()
        except Exception as err:  # noqa: BLE001 (kept for inspection; the first step redoes the work)
            self.error = err

    def wait(self) -> None:
        """Return once the compile has finished (or failed: see `error`)."""
        self._thread.join()


def step_arguments(reset: Callable, num_envs: int, action_dim: int, device: jax.Device):
    """Abstract (state, action) for a jitted batched step: what `reset`'s output state and a
    float32 (num_envs, action_dim) action on `device` look like, as `jax.ShapeDtypeStruct`s
    placed on `device` (so that a later call with real arrays finds the same compiled program).
    `reset` maps (num_envs, 2) uint32 keys to (state, obs); it is traced, not run."""
    placed = SingleDeviceSharding(device)
    keys = jax.ShapeDtypeStruct((num_envs, 2), jnp.uint32, sharding=placed)
    state, _ = jax.eval_shape(reset, keys)
    state = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, weak_type=x.weak_type, sharding=placed),
                         state)
    return state, jax.ShapeDtypeStruct((num_envs, action_dim), jnp.float32, sharding=placed)
