"""The base class of every task, ours or a user's: what a task writes and what it is given.

A task is a set of pure, single-env JAX functions over a state pytree; the vector env vmaps and
jits them and adds truncation, autoreset, the NaN guard, episode statistics, rendering and the
torch boundary. A task writes three functions and a config; `Task` supplies the rest:

    reset(key) -> state            a fresh episode's state drawn with `key`
    observe(state) -> obs          float32 (obs_dim,); its size is read from this function
    step(state, action) -> TaskStep

The state is a `PhysicsState` or a NamedTuple (or other pytree) with a `physics` field holding
one (override `physics()` otherwise). See docs/writing_a_task.md for a complete example.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import mujoco

from .._checks import is_positive_int
from ..camera import CameraDefaults
from ..sim import PhysicsState, Simulation, load_model, resolve_asset
from .config import TaskConfig

# Fields every task config has: the shell reads them (`asset` only where `load_model` is not overridden).
REQUIRED_CONFIG_FIELDS = ("max_episode_steps", "substeps")
# The vector env's own keyword arguments (registry.make_vector_env's), and with gymnasium.make_vec's
# the names a config field may not have: a field of one of these names could never be set
VECTOR_ENV_KEYWORDS = ("num_envs", "device", "backend", "output", "render_mode", "render_config", "autoreset_mode",
                       "obs_mode", "image_size", "frame_stack", "compile_ahead")
RESERVED_CONFIG_NAMES = ("id", *VECTOR_ENV_KEYWORDS, "vectorization_mode", "vector_kwargs", "wrappers")


class TaskStep(NamedTuple):
    """What one env's control step produces.

    state: the task's new state pytree (carried to the next step; donated, never shown to users).
    obs: float32 (obs_dim,), the observation of `state`.
    reward: float32 scalar.
    terminated: bool scalar, a true end of the MDP episode (failure or goal).
    extras: dict of per-env scalars the task reports in `infos` (may be empty).
    """

    state: Any
    obs: jax.Array
    reward: jax.Array
    terminated: jax.Array
    extras: dict


class Task:
    """Base class of a task: subclass it, set `Config`, write `reset`, `observe` and `step`.

    Class attributes a subclass sets:
        Config: its `TaskConfig` subclass; it has `max_episode_steps` (episodes are truncated
            after this many env steps) and `substeps` (physics steps per env step), and `asset`
            (the MJCF file: a path, or a shipped model's name) unless `load_model` is overridden.
            `clip_observations`, where the config has it, bounds the observation space.
        camera: how `render()` frames one env (default: the whole model, from MuJoCo's statistics).
        metric_units: the units training progress lines show after the metrics (default: none).
        contacts_per_env: on MuJoCo Warp, the contacts and constraint rows reserved per env
            (`gpu_envs.sim.warp_buffer_sizes`). None (the default) reserves every contact the
            scene can make, so none is ever dropped; a task whose envs touch far fewer at once
            (measure it) sets a budget and its step gets faster. A step that needs more than the
            budget drops contacts and MuJoCo Warp prints an overflow warning.

    Supplied here (override where a task needs otherwise): `sim` (the `Simulation`), `config`,
    `obs_dim` (from `observe`'s output shape), `action_dim` (the model's actuator count), `dt`,
    `max_episode_steps`, `obs_bound`, `physics`, `state_is_finite`, and the metric hooks
    `init_metrics` / `update_metrics` (none by default).
    """

    Config: ClassVar[type[TaskConfig]] = TaskConfig
    camera: ClassVar[CameraDefaults | None] = None
    metric_units: ClassVar[dict[str, str]] = {}  # display units of the metrics, e.g. {"mean_forward_speed": "m/s"}
    contacts_per_env: ClassVar[int | None] = None

    def __init__(self, config: TaskConfig | None = None, *, backend: str = "jax", device=None):
        if config is None:
            config = self.Config()
        if not isinstance(config, self.Config):
            raise TypeError(f"{type(self).__name__} takes a {self.Config.__name__} as config "
                            f"(got {type(config).__name__})")
        self.config = config
        self.sim = Simulation(self.load_model(), config.substeps, backend=backend, device=device,
                              contacts_per_env=type(self).contacts_per_env)
        if type(self).camera is None:
            self.camera = CameraDefaults.framing(self.sim.mj_model)

    @classmethod
    def check_definition(cls) -> None:
        """Raise `TypeError` naming what is missing when the class is not a usable task
        (registration calls this, so a mistake shows when the task is defined)."""
        if not (isinstance(cls.Config, type) and issubclass(cls.Config, TaskConfig)):
            raise TypeError(f"{cls.__name__}.Config must be a dataclass deriving from gpu_envs.tasks.TaskConfig "
                            f"(got {cls.Config!r})")
        if "__dataclass_fields__" not in vars(cls.Config):
            raise TypeError(f"{cls.Config.__name__} (the config of {cls.__name__}) is not a dataclass of its own: "
                            "decorate it with @dataclasses.dataclass(frozen=True)")
        fields = {f.name for f in dataclasses.fields(cls.Config)}
        needed = [name for name in REQUIRED_CONFIG_FIELDS if name not in fields]
        if "asset" not in fields and cls.load_model is Task.load_model:
            needed.append("asset")
        if needed:
            raise TypeError(f"{cls.Config.__name__} (the config of {cls.__name__}) needs the field(s) {needed}")
        clashes = sorted(fields & set(RESERVED_CONFIG_NAMES))
        if clashes:
            raise TypeError(f"{cls.Config.__name__} (the config of {cls.__name__}) has field(s) {clashes}, which "
                            f"make_vec takes itself; rename them (reserved: {list(RESERVED_CONFIG_NAMES)})")
        try:  # the defaults are checked as a user's values are, but the error is the task author's
            cls.Config()
        except (TypeError, ValueError) as err:
            raise TypeError(f"{cls.Config.__name__} (the config of {cls.__name__}) has a default its own field "
                            f"declaration refuses: {err}") from None
        missing = [name for name in ("reset", "observe", "step") if getattr(cls, name) is getattr(Task, name)]
        if missing:
            raise TypeError(f"{cls.__name__} must define {missing}")
        if cls.contacts_per_env is not None and not is_positive_int(cls.contacts_per_env):
            raise TypeError(f"{cls.__name__}.contacts_per_env must be a positive int, or None to reserve every "
                            f"contact the scene can make (got {cls.contacts_per_env!r})")

    # -- written by each task ----------------------------------------------------------------

    def load_model(self) -> mujoco.MjModel:
        """The model to simulate. Default: the MJCF file `config.asset` names (a path first, then
        a shipped model's name). Override to validate the model or build it in code."""
        return load_model(resolve_asset(self.config.asset))

    def model_spec(self) -> mujoco.MjSpec:
        """The simulated model as an editable `mujoco.MjSpec`, for pixel observations (the renderer
        adds its camera to it). Default: the MJCF file `config.asset` names. A task whose
        `load_model` builds another model overrides this to return that model's spec."""
        asset = getattr(self.config, "asset", None)
        if asset is None:
            raise TypeError(f"{type(self).__name__} builds its model in load_model() (its config has no asset): "
                            "override model_spec() to return that model as a mujoco.MjSpec, for pixel observations")
        return mujoco.MjSpec.from_file(str(resolve_asset(asset)))

    def reset(self, key: jax.Array) -> Any:
        """A fresh single-env state drawn with `key` (the start of an episode)."""
        raise NotImplementedError

    def observe(self, state: Any) -> jax.Array:
        """The observation of `state`: float32 (obs_dim,)."""
        raise NotImplementedError

    def step(self, state: Any, action: jax.Array) -> TaskStep:
        """Advance one env by one control step with `action` (action_dim,) in [-1, 1]."""
        raise NotImplementedError

    # -- supplied ------------------------------------------------------------------------------

    @functools.cached_property
    def obs_dim(self) -> int:
        """Length of `observe`'s output, read from its shape (`jax.eval_shape`, nothing runs)."""
        key = jax.ShapeDtypeStruct((2,), jnp.uint32)
        obs = jax.eval_shape(lambda k: self.observe(self.reset(k)), key)
        if obs.ndim != 1 or obs.dtype != jnp.float32:
            raise TypeError(f"{type(self).__name__}.observe must return a float32 vector (obs_dim,); "
                            f"it returns {obs.dtype} of shape {obs.shape}")
        return int(obs.shape[0])

    @property
    def action_dim(self) -> int:
        """Actions per env: one per actuator of the model."""
        return int(self.sim.mj_model.nu)

    @property
    def dt(self) -> float:
        """Simulated seconds per env step."""
        return self.sim.dt

    @property
    def max_episode_steps(self) -> int:
        return int(self.config.max_episode_steps)

    @property
    def obs_bound(self) -> float:
        """Observations lie in [-obs_bound, obs_bound]: `config.clip_observations` or unbounded."""
        return float(getattr(self.config, "clip_observations", math.inf))

    def physics(self, state: Any) -> PhysicsState:
        """The MuJoCo state inside the task's state (what rendering draws and the guard checks)."""
        if isinstance(state, PhysicsState):
            return state
        try:
            return state.physics
        except AttributeError:
            raise TypeError(f"{type(self).__name__}'s state ({type(state).__name__}) is neither a PhysicsState nor "
                            "has a `physics` field: name the field holding the PhysicsState `physics`, or "
                            "override physics(state)") from None

    def state_is_finite(self, state: Any) -> jax.Array:
        """Scalar bool: the physics state holds no NaN/inf (otherwise the shell resets the env)."""
        physics = self.physics(state)
        return jnp.all(jnp.isfinite(physics.qpos)) & jnp.all(jnp.isfinite(physics.qvel))

    def init_metrics(self) -> dict:
        """Scalars over all envs that the task keeps across steps (reported in every step's infos)."""
        return {}

    def update_metrics(self, metrics: dict, done: jax.Array, extras: dict) -> dict:
        """The metrics after a step: `done` (N,) marks envs whose episode ended this step (not
        those ended because their physics went non-finite), `extras` holds the step's per-env
        extras (N,). Default: unchanged."""
        return metrics


def average_over_finished(old: jax.Array, done: jax.Array, values: jax.Array, weight: float) -> jax.Array:
    """A running average of `values` (N,) over finished episodes, for `update_metrics`.

    The mean of `values` where `done` (N,) is True moves the average `old` (scalar) by `weight`
    (in (0, 1]; 1 keeps only the newest); a step where nothing finished leaves it unchanged. An
    `old` of NaN (nothing finished yet, where the task starts it so) takes the first mean as it is.
    """
    finished = jnp.sum(done)
    mean = jnp.sum(jnp.where(done, values, 0.0)) / jnp.maximum(finished, 1)
    blended = jnp.where(jnp.isnan(old), mean, weight * mean + (1 - weight) * old)
    return jnp.where(finished > 0, blended, old)
