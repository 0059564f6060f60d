"""Refuse a batch that cannot fit in device memory before running it, with XLA's own estimate.

XLA knows, once a program is compiled, how many bytes its arguments, outputs and temporaries
take. The vector env compiles its reset and step ahead of their first call (jit reuses that
compilation), asks for that figure and compares it with the device's free memory, so a user
who asks for far too many envs gets the estimate and the largest count that fits instead of
an allocation failure from inside XLA.
"""

from __future__ import annotations

import os

import jax

# Headroom for what the estimate does not see (the host's other users, allocator slack).
USABLE_FRACTION = 0.9


def available_bytes(device: jax.Device) -> int | None:
    """Free memory on `device` in bytes (GPU: JAX's allocator limit minus its use; CPU: the
    host's available physical memory); None where it cannot be read."""
    if device.platform == "cpu":
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    stats = device.memory_stats() or {}
    if "bytes_limit" not in stats:
        return None
    return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))


def program_bytes(compiled) -> int | None:
    """Bytes a compiled program needs while it runs (arguments, outputs, temporaries, less the
    donated arguments that its outputs reuse); None where XLA gives no analysis."""
    try:
        stats = compiled.memory_analysis()
    except Exception:  # noqa: BLE001 - some backends do not implement it
        return None
    if stats is None:
        return None
    return (stats.argument_size_in_bytes + stats.output_size_in_bytes + stats.temp_size_in_bytes
            - stats.alias_size_in_bytes)


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


def _refuse(num_envs: int, needed: float, free: float, what: str, where) -> None:
    per_env = needed / num_envs
    fits = int(USABLE_FRACTION * free // per_env)
    raise MemoryError(f"num_envs={num_envs} does not fit: {what} needs about {_gb(needed)} on {where} "
                      f"({per_env / 1e3:.2f} kB per env) and {_gb(free)} is free; at most about {fits} envs fit")


def require_host_fits(num_envs: int, bytes_per_env: int, what: str) -> None:
    """Raise MemoryError when `num_envs * bytes_per_env` of host memory is more than is free."""
    free = available_bytes(jax.devices("cpu")[0])
    needed = num_envs * bytes_per_env
    if free is not None and needed > USABLE_FRACTION * free:
        _refuse(num_envs, needed, free, what, "the host")


def require_fits(jitted, args: tuple, *, device: jax.Device, num_envs: int, what: str) -> None:
    """Compile `jitted` for `args` (jit reuses it) and raise MemoryError when the program needs
    more than the device has free; the message gives the estimate and the env count that fits."""
    needed = program_bytes(jitted.lower(*args).compile())
    free = available_bytes(device)
    if needed is not None and free is not None and needed > USABLE_FRACTION * free:
        _refuse(num_envs, needed, free, f"one {what}", device)
