"""The task registry: one decorator makes a `Task` a gymnasium id for `gymnasium.make_vec`.

    @register_task("MyReacher-v0")
    class ReacherTask(Task):
        ...

    envs = gymnasium.make_vec("MyReacher-v0", num_envs=4096, device="cuda", target_radius=0.2)

Keyword arguments of `make_vec` other than the vector env's own (`device`, `backend`, `output`,
`render_mode`, `render_config`, `autoreset_mode`, `obs_mode`, `image_size`, `frame_stack`,
`compile_ahead`) set fields of the task's config.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import re

import gymnasium as gym
from gymnasium.vector import AutoresetMode

from .base import VECTOR_ENV_KEYWORDS, Task

_BACKENDS = ("jax", "warp", "auto")
_ENV_ID = re.compile(r"^(?:[\w:.-]+/)?[\w:.-]+-v\d+$")


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """One registered task.

    env_id: its gymnasium id. task_cls: the `Task` subclass. backend: the MJX backend used when
    the caller gives none ("auto" = MuJoCo Warp on a CUDA GPU where installed, else JAX).
    summary: one line for tables (the first line of the class docstring). docs: the page of its
    parameters, spaces and info keys, relative to the repository root (or None).
    """

    env_id: str
    task_cls: type
    backend: str
    summary: str
    docs: str | None

    def make_task(self, params: dict, *, backend: str | None = None, device=None) -> Task:
        """The task with the config fields in `params` set; unknown names raise `TypeError`."""
        config_cls = self.task_cls.Config
        names = [f.name for f in dataclasses.fields(config_cls)]
        unknown = sorted(set(params) - set(names))
        if unknown:
            close = {name: difflib.get_close_matches(name, names + list(VECTOR_ENV_KEYWORDS), n=1) for name in unknown}
            hints = "".join(f"; {name!r}: did you mean {match[0]!r}?" for name, match in close.items() if match)
            raise TypeError(f"unknown parameter(s) {unknown} for {self.env_id}; its parameters: {sorted(names)}, "
                            f"and the vector env's: {list(VECTOR_ENV_KEYWORDS)}{hints}")
        return self.task_cls(config_cls(**params), backend=self.backend if backend is None else backend,
                             device=device)


_SPECS: dict[str, TaskSpec] = {}


def register_task(env_id: str, *, backend: str = "jax", docs: str | None = None):
    """Class decorator: check a `Task` subclass and register it as `env_id` for `gymnasium.make_vec`.

    backend: the default MJX backend ("jax", "warp" or "auto"); callers override it with
    `backend=`. docs: the path of the task's doc page, shown in the env table.
    Raises `TypeError` when the class is not a usable task (see `Task.check_definition`) and
    `ValueError` for a malformed id, an unknown backend, or an id another class holds.
    """
    if not isinstance(env_id, str) or not _ENV_ID.match(env_id):
        raise ValueError(f"env_id must look like 'Name-v0' (gymnasium's form; got {env_id!r})")
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS} (got {backend!r})")

    def register(task_cls: type) -> type:
        if not (isinstance(task_cls, type) and issubclass(task_cls, Task)):
            raise TypeError(f"register_task({env_id!r}) decorates a subclass of gpu_envs.tasks.Task (got {task_cls!r})")
        task_cls.check_definition()
        held = _SPECS.get(env_id)
        if held is None and env_id in gym.registry:
            raise ValueError(f"{env_id} is a gymnasium id of another package ({gym.registry[env_id].entry_point}); "
                             "choose another id")
        if held is not None and "__main__" in (held.task_cls.__module__, task_cls.__module__) \
                and held.task_cls.__qualname__ == task_cls.__qualname__:
            raise ValueError(f"{env_id} is registered by {_qualified_name(held.task_cls)} and again by "
                             f"{_qualified_name(task_cls)}: the same file ran as a script and was imported. Import "
                             "the module that defines the task (python -c / another script), do not run it")
        if held is not None and _qualified_name(held.task_cls) != _qualified_name(task_cls):
            raise ValueError(f"{env_id} is already registered by {_qualified_name(held.task_cls)}; "
                             "choose another id (or another version, e.g. -v1)")
        summary = (inspect.getdoc(task_cls) or task_cls.__name__).splitlines()[0].rstrip(".")
        spec = TaskSpec(env_id, task_cls, backend, summary, docs)
        _SPECS[env_id] = spec
        _register_with_gymnasium(spec, replace=True)
        return task_cls

    return register


def _qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _register_with_gymnasium(spec: TaskSpec, *, replace: bool) -> None:
    if spec.env_id in gym.registry:
        if not replace:
            return
        del gym.registry[spec.env_id]
    gym.register(spec.env_id, entry_point=single_env_unsupported,
                 vector_entry_point=functools.partial(make_vector_env, spec.env_id))


def register_with_gymnasium() -> None:
    """Register every task of the registry with gymnasium where its id is missing there (idempotent)."""
    for spec in _SPECS.values():
        _register_with_gymnasium(spec, replace=False)


def unregister_task(env_id: str) -> None:
    """Remove `env_id` from the registry and from gymnasium's (e.g. after a test, or to define
    the task again under the same id with another class); `KeyError` if it is not registered."""
    task_spec(env_id)
    del _SPECS[env_id]
    gym.registry.pop(env_id, None)


def task_spec(env_id: str) -> TaskSpec:
    """The registered task `env_id`; `KeyError` listing the registered ids otherwise."""
    try:
        return _SPECS[env_id]
    except KeyError:
        raise KeyError(f"no gpu_envs task is registered as {env_id!r}; registered: {env_ids()}") from None


def env_ids() -> tuple[str, ...]:
    """Every registered task's id, in registration order (gpu_envs' own first, then users')."""
    return tuple(_SPECS)


def make_vector_env(env_id: str, num_envs: int = 1, *, device=None, backend: str | None = None,
                    output: str = "torch", render_mode=None, render_config=None,
                    autoreset_mode=AutoresetMode.SAME_STEP, obs_mode: str = "state", image_size=None,
                    frame_stack: int = 1, compile_ahead: bool | None = None, **params):
    """The vector env of the registered task `env_id` (what `gymnasium.make_vec` calls):
    `num_envs` envs on `device`, the task's config fields set from `params`."""
    from ..compile_ahead import check_choice
    from ..pixels import check_pixel_options, require_warp
    from ..vector_env import GpuVectorEnv

    image, _ = check_pixel_options(obs_mode, image_size, frame_stack)  # before the task builds anything
    check_choice(compile_ahead)
    if image is not None:
        require_warp()
    task = task_spec(env_id).make_task(params, backend=backend, device=device)
    return GpuVectorEnv(task, num_envs, output=output, render_mode=render_mode, render_config=render_config,
                        autoreset_mode=autoreset_mode, obs_mode=obs_mode, image_size=image_size,
                        frame_stack=frame_stack, compile_ahead=compile_ahead)


def single_env_unsupported(**kwargs):
    """What `gymnasium.make(id)` runs for our ids: there is no single-env version."""
    raise TypeError("gpu_envs environments are vector environments only: use gymnasium.make_vec(id, "
                    "num_envs=N) (N = 1 for one env), not gymnasium.make(id)")


def env_table(ids: tuple[str, ...] | None = None) -> str:
    """The Markdown table of registered tasks (README's env table): id, summary, observation and
    action sizes, episode length and doc page, each read from the task built with its defaults
    on the CPU."""
    lines = ["| id | task | obs | action | episode | docs |", "|---|---|---|---|---|---|"]
    for env_id in env_ids() if ids is None else ids:
        spec = task_spec(env_id)
        task = spec.make_task({}, backend="jax", device="cpu")
        docs = f"[{spec.docs}]({spec.docs})" if spec.docs else ""
        lines.append(f"| `{env_id}` | {spec.summary} | {task.obs_dim} | {task.action_dim} | "
                     f"{task.max_episode_steps} steps | {docs} |")
    return "\n".join(lines)
