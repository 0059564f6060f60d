"""Throughput benchmark: public `env.step()` against the in-jit ceiling of the same step.

    python -m gpu_envs.benchmark --env GpuCartpole-v0 --num-envs 4096,65536,262144 [--backend jax]
    python -m gpu_envs.benchmark --env GpuAllegroHand-v0 --num-envs 16384 \\
        --set timestep=0.008333333333333333 substeps=4 solver_iterations=8

Per env count it prints env steps/s through `env.step()` (torch actions in, torch tensors out),
env steps/s of the same compiled step run inside `lax.scan` (the ceiling: no Python, no
dispatch), their ratio, the compile time of the first `step()` and the peak GPU memory JAX held.
`--set KEY=VALUE ...` passes env parameters; `--json PATH` also writes the rows. The env
throughput tables in docs/ come from this tool; benchmarks/ holds the scripts behind docs/'
other measurements (rendering, adapters, GPU kernels, the training loop).
"""

from __future__ import annotations

import argparse
import sys
import time

import gpu_envs  # noqa: F401  (registers envs; sets JAX memory defaults before jax starts)
import jax
import torch

from gpu_envs._checks import is_positive_int
from gpu_envs._cli import (UsageError, add_json_argument, add_set_argument, block_until_ready, env_params, make_env,
                           positive_int, positive_ints, write_rows)


def time_steps(env, action, steps: int, warmup: int = 0) -> float:
    """Seconds per `env.step(action)` over `steps` calls after `warmup` untimed ones, GPU work included."""
    if not is_positive_int(steps):
        raise ValueError(f"steps must be a positive int (got {steps!r})")
    for _ in range(warmup):
        env.step(action)
    block_until_ready(env)
    t0 = time.perf_counter()
    for _ in range(steps):
        env.step(action)
    block_until_ready(env)
    return (time.perf_counter() - t0) / steps


def _memory_mb(device: jax.Device) -> float | None:
    stats = device.memory_stats() if device.platform == "gpu" else None
    return None if not stats else stats.get("peak_bytes_in_use", 0) / 2**20


def _ceiling(env, steps: int) -> float:
    """Env steps/s of `steps` env steps inside one lax.scan (`env.step_in_jit`), compile excluded."""
    action = torch.zeros(env.action_space.shape, device=env.device)
    env.step_in_jit(action, steps)  # compile + warm up
    block_until_ready(env)
    t0 = time.perf_counter()
    env.step_in_jit(action, steps)
    block_until_ready(env)
    return steps * env.num_envs / (time.perf_counter() - t0)


def measure(env_id: str, num_envs: int, backend: str | None, steps: int, warmup: int, device=None,
            params: dict | None = None) -> dict:
    """One benchmark row for `num_envs` envs (see the module docstring); backend None: the env's default.

    params: the env's keyword arguments (its config fields), e.g. {"substeps": 4}.
    """
    kwargs = dict(params or {})
    if backend is not None:
        kwargs["backend"] = backend
    env = make_env(env_id, num_envs=num_envs, device=device, **kwargs)
    env.reset(seed=0)
    action = torch.zeros(env.action_space.shape, device=env.device)
    t0 = time.perf_counter()
    env.step(action)
    block_until_ready(env)
    compile_s = time.perf_counter() - t0
    per_call = num_envs / time_steps(env, action, steps, warmup)
    ceiling = _ceiling(env, steps)
    row = {
        "env": env_id, "backend": env.backend, "num_envs": num_envs, "device": str(env.jax_device),
        "params": dict(params or {}),
        "step_per_s": per_call, "ceiling_per_s": ceiling, "ratio": per_call / ceiling,
        "physics_steps_per_s": per_call * env.task.sim.substeps,
        "ms_per_step": 1e3 * num_envs / per_call, "ceiling_ms_per_step": 1e3 * num_envs / ceiling,
        "compile_s": compile_s, "gpu_mem_mb": _memory_mb(env.jax_device),
    }
    env.close()
    return row


def _fmt(row: dict) -> str:
    mem = "-" if row["gpu_mem_mb"] is None else f"{row['gpu_mem_mb']:.0f}"
    return (f"| {row['num_envs']:>7} | {row['step_per_s'] / 1e6:8.2f} M | {row['ceiling_per_s'] / 1e6:8.2f} M | "
            f"{row['ratio']:5.2f} | {row['ms_per_step']:7.3f} | {row['ceiling_ms_per_step']:7.3f} | "
            f"{row['compile_s']:6.1f} | {mem:>6} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gpu_envs.benchmark", description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="GpuCartpole-v0")
    parser.add_argument("--num-envs", type=positive_ints, default=[4096, 65536, 262144],
                        help="comma-separated env counts (default 4096,65536,262144)")
    parser.add_argument("--backend", default=None, choices=["jax", "warp", "auto"],
                        help="MJX backend (default: the env's own default)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: JAX's default device)")
    parser.add_argument("--steps", type=positive_int, default=200, help="timed env steps per measurement")
    parser.add_argument("--warmup", type=int, default=20)
    add_set_argument(parser)
    add_json_argument(parser)
    args = parser.parse_args(argv)
    params = env_params(parser, args)
    print(f"{args.env}, backend={args.backend or 'default'}, params={params or 'default'}, jax {jax.__version__} on {jax.devices()[0].device_kind}, "
          f"{args.steps} timed steps", flush=True)
    print("| num_envs | env.step() steps/s | in-jit steps/s | ratio | ms/step | in-jit ms | compile s | GPU MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    for n in args.num_envs:
        try:
            row = measure(args.env, n, args.backend, args.steps, args.warmup, args.device, params)
        except UsageError as err:
            parser.error(str(err))
        rows.append(row)
        print(_fmt(row), flush=True)
    write_rows(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
