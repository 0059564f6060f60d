"""gpu_envs' default for JAX's persistent compilation cache: compiled env programs kept on disk.

An env's reset and step compile in seconds (a hand on the CPU: about 15 s); with the cache a
second process with the same task, config, env count and device loads them instead. The first
env an interpreter builds points JAX's cache at `$XDG_CACHE_HOME/gpu-envs/jax` (default
`~/.cache/gpu-envs/jax`) unless the user chose otherwise:
  - `JAX_COMPILATION_CACHE_DIR`, or `jax.config.update("jax_compilation_cache_dir", ...)` made
    before it: that folder is used and nothing is changed;
  - `GPU_ENVS_JAX_CACHE=0` (or off, false, no): no cache is set;
  - `GPU_ENVS_JAX_CACHE=<folder>`: that folder instead of the default.
In gpu_envs' folder every compiled program is kept, not only those that took JAX's default
minimum of 1 s to compile (a minimum the user set, in the environment variable
`JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS` or in JAX's config, is kept).
"""

from __future__ import annotations

import os
from pathlib import Path

import jax

OPT_OUT = ("0", "off", "false", "no")
JAX_DEFAULT_MIN_COMPILE_TIME_S = 1.0  # JAX keeps only programs that took this long to compile


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/gpu-envs/jax`, or `~/.cache/gpu-envs/jax` without XDG_CACHE_HOME."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gpu-envs" / "jax"


def _configured_dir() -> str | None:
    """The cache folder set in JAX's config (None when none was)."""
    return jax.config.jax_compilation_cache_dir


def use_default_cache() -> str | None:
    """Point JAX's compilation cache at gpu_envs' folder unless the user chose a folder or opted
    out (module docstring); returns the folder in use (None: no persistent cache)."""
    chosen = os.environ.get("JAX_COMPILATION_CACHE_DIR") or _configured_dir()
    if chosen:
        return str(chosen)
    choice = os.environ.get("GPU_ENVS_JAX_CACHE", "").strip()
    if choice.lower() in OPT_OUT:
        return None
    folder = str(Path(choice).expanduser() if choice else default_cache_dir())
    jax.config.update("jax_compilation_cache_dir", folder)
    if ("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ
            and jax.config.jax_persistent_cache_min_compile_time_secs == JAX_DEFAULT_MIN_COMPILE_TIME_S):
        # JAX keeps only programs that took >= 1 s to compile; an env's small ones (the reset's
        # helpers, the torch-boundary casts) then compile again in every process
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    return folder
