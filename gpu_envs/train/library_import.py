"""Importing an RL library for training, with what its import needs adapted for that import only.

- rl_games: its bundled test envs (imported by `rl_games.common.env_configurations`, which
  everything of rl_games needs) decorate a function with `torch.compile` at import time, which
  imports TorchDynamo, a large part of rl_games' import time. Around the import,
  `torch.compile` called from the importing thread returns a function that compiles on its
  first call instead, which is what torch.compile's result does anyway, minus the early import.
- skrl: at import, with `WORLD_SIZE` > 1 in the environment, skrl starts its own NCCL process
  group, which cannot work on the CPU. Around the import `WORLD_SIZE` is hidden from the
  environment; the skrl trainer starts the group itself (NCCL or gloo) and switches skrl's
  distributed mode on for the run only (`skrl_trainer.skrl_distributed`).

Both are undone when the import returns; a library imported before is left as it is.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
import threading
from typing import Callable, Iterator

_MODULES = {
    "rl_games": ("rl_games.common.env_configurations", "rl_games.torch_runner"),
    "skrl": ("skrl",),
    "sb3": ("stable_baselines3",),
    "rsl_rl": ("rsl_rl.runners",),
}


def ast_parsing_is_thread_safe(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> bool:
    """Whether two threads of this CPython may parse source into ASTs (`ast.parse`) at once.

    CPython 3.11.0-3.11.7 and 3.12.0-3.12.1 keep one recursion counter for every thread's AST
    construction (CPython issue gh-106905, fixed in 3.11.8 and 3.12.2): when the garbage collector
    switches threads in the middle of one, either can fail with "SystemError: AST constructor
    recursion depth mismatch". Warp parses kernel sources while a pixel or MuJoCo Warp env
    compiles, and torch parses sources while the RL libraries import.
    """
    version = tuple(version[:3])
    return not ((3, 11) <= version < (3, 11, 8) or (3, 12) <= version < (3, 12, 2))


def import_library(library: str) -> None:
    """Import the modules of `library` ("rl_games", "skrl", "sb3" or "rsl_rl") that its trainer needs first."""
    modules = _MODULES[library]
    if all(name in sys.modules for name in modules):
        return
    scope = {"rl_games": compile_on_first_call, "skrl": functools.partial(environ_without, "WORLD_SIZE")}
    with scope.get(library, contextlib.nullcontext)():
        for name in modules:
            importlib.import_module(name)


def _compiled_on_first_call(compile_: Callable, fn: Callable, kwargs: dict) -> Callable:
    compiled = None

    @functools.wraps(fn)
    def call(*args, **kw):
        nonlocal compiled
        if compiled is None:
            compiled = compile_(fn, **kwargs)
        return compiled(*args, **kw)

    return call


@contextlib.contextmanager
def compile_on_first_call() -> Iterator[None]:
    """While open, `torch.compile(fn)` and `@torch.compile(...)` on a plain function, called from
    this thread, return a function that calls torch.compile at its own first call. Modules and
    calls from other threads go to torch.compile unchanged; on exit `torch.compile` is torch's again."""
    import torch

    real = torch.compile
    owner = threading.get_ident()

    def compile_(model=None, **kwargs):
        if threading.get_ident() != owner or isinstance(model, torch.nn.Module):
            return real(model, **kwargs)
        if model is None:  # the decorator form with arguments
            return lambda fn: _compiled_on_first_call(real, fn, kwargs)
        return _compiled_on_first_call(real, model, kwargs)

    torch.compile = compile_
    try:
        yield
    finally:
        torch.compile = real


@contextlib.contextmanager
def environ_without(name: str) -> Iterator[None]:
    """While open, environment variable `name` is unset; on exit it has its old value again."""
    value = os.environ.pop(name, None)
    try:
        yield
    finally:
        if value is not None:
            os.environ[name] = value
