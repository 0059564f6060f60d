"""Compiling an env's step on a background thread while the caller sets up its learner.

A step's first call traces and compiles it (seconds: a GPU Cartpole about 4 s with an empty
compilation cache), which would otherwise start only once the caller has built its networks and
reset the env. The step's arguments are known from the env's shapes before any reset, so the
vector env hands `CompileAhead` a function that lowers and compiles the step for abstract
arguments (`step_arguments`); jit keeps the result, and the first `step()` waits for the thread
and then finds the program compiled.

The thread is only an early start: if it fails, the first `step()` warns, does the same work
itself and raises whatever error that work raises, where the caller sees it. JAX's context
managers hold per thread: the caller's default device and matmul precision at construction are
set again on the thread; under other JAX context managers (e.g. `jax.numpy_dtype_promotion`)
around the steps, the first step compiles again for them. The thread is not a daemon: a process
that exits while it compiles waits for it (seconds), rather than tearing XLA down under it.
"""

from __future__ import annotations

import threading
from typing import Callable

import jax
import jax.numpy as jnp
from jax.sharding import SingleDeviceSharding


def check_choice(compile_ahead) -> None:
    """ValueError unless `compile_ahead` is True, False or None."""
    if compile_ahead is not None and not isinstance(compile_ahead, bool):
        raise ValueError(f"compile_ahead must be True, False or None (got {compile_ahead!r})")


class CompileAhead:
    """Runs `compile_step()` on a (non-daemon) thread of its own from construction, under the
    constructing thread's JAX default device and matmul precision; `wait()` joins it."""

    def __init__(self, compile_step: Callable[[], None]):
        self.error: Exception | None = None  # what the thread raised, without its traceback
        context = (jax.config.jax_default_device, jax.config.jax_default_matmul_precision)
        self._thread = threading.Thread(target=self._run, args=(compile_step, *context),
                                        name="gpu_envs compile ahead")
        self._thread.start()

    def _run(self, compile_step: Callable[[], None], device, precision) -> None:
        try:
            with jax.default_device(device), jax.default_matmul_precision(precision):
                compile_step()
        except Exception as err:  # noqa: BLE001 (the first step redoes the work and raises)
            self.error = err.with_traceback(None)  # a traceback would keep the env's frames alive

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
