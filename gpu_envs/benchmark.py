"""Throughput benchmark: public `env.step()` against the in-jit ceiling of the same step.

    python -m gpu_envs.benchmark --env GpuCartpole-v0 --num-envs 4096,65536,262144 [--backend jax]
    python -m gpu_envs.benchmark --env GpuAllegroHand-v0 --num-envs 16384 \\
        --set timestep=0.008333333333333333 substeps=4 solver_iterations=8
    python -m gpu_envs.benchmark --env GpuCartpole-v0 --num-envs 1024,4096,16384 --obs state,rgb --image-size 64,128

Per env count it prints env steps/s through `env.step()` (torch actions in, torch tensors out),
env steps/s of the same compiled step run inside `lax.scan` (the ceiling: no Python, no
dispatch), their ratio, the compile time of the first `step()`, the peak GPU memory JAX held and
the GPU memory the process holds beyond what it held before the env was made (JAX's and MuJoCo
Warp's renderer's together; per env in a process that measures one row). `--obs` takes observation
modes (`state`, `rgb`, ...) and `--image-size` the pixel modes' image sizes; every mode, size and
env count makes one row.
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
from gpu_envs.pixels import OBS_MODES
from gpu_envs.sim import resolve_device
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


def _device_used_mb(device: jax.Device) -> float | None:
    """MB of the GPU's memory in use by anyone (free subtracted from total); None off the GPU."""
    if device.platform != "gpu" or not torch.cuda.is_available():
        return None
    free, total = torch.cuda.mem_get_info(device.id)
    return (total - free) / 2**20


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
            params: dict | None = None, obs_mode: str = "state", image_size: int | None = None) -> dict:
    """One benchmark row for `num_envs` envs (see the module docstring); backend None: the env's default.

    params: the env's keyword arguments (its config fields), e.g. {"substeps": 4}. obs_mode and
    image_size: the env's observation mode and, for a pixel mode, its square image size in pixels.
    """
    kwargs = dict(params or {})
    if backend is not None:
        kwargs["backend"] = backend
    if obs_mode != "state":
        kwargs.update(obs_mode=obs_mode, image_size=image_size)
    try:
        used_before = _device_used_mb(resolve_device(device))
    except ValueError as err:
        raise UsageError(str(err)) from err
    env = make_env(env_id, num_envs=num_envs, device=device, **kwargs)
    env.reset(seed=0)
    action = torch.zeros(env.action_space.shape, device=env.device)
    t0 = time.perf_counter()
    env.step(action)
    block_until_ready(env)
    compile_s = time.perf_counter() - t0
    per_call = num_envs / time_steps(env, action, steps, warmup)
    ceiling = _ceiling(env, steps)
    used_after = _device_used_mb(env.jax_device)
    held_mb = None if used_after is None or used_before is None else used_after - used_before
    row = {
        "env": env_id, "backend": env.backend, "num_envs": num_envs, "device": str(env.jax_device),
        "params": dict(params or {}), "obs_mode": obs_mode, "image_size": image_size if obs_mode != "state" else None,
        "step_per_s": per_call, "ceiling_per_s": ceiling, "ratio": per_call / ceiling,
        "physics_steps_per_s": per_call * env.task.sim.substeps,
        "ms_per_step": 1e3 * num_envs / per_call, "ceiling_ms_per_step": 1e3 * num_envs / ceiling,
        "compile_s": compile_s, "gpu_mem_mb": _memory_mb(env.jax_device),
        "process_gpu_mb": held_mb, "kb_per_env": None if held_mb is None else held_mb * 1024 / num_envs,
    }
    env.close()
    return row


def _number(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _fmt(row: dict) -> str:
    obs = row["obs_mode"] + ("" if row["image_size"] is None else f" {row['image_size']}px")
    return (f"| {obs:>10} | {row['num_envs']:>7} | {row['step_per_s'] / 1e6:8.3f} M | {row['ceiling_per_s'] / 1e6:8.3f} M | "
            f"{row['ratio']:5.2f} | {row['ms_per_step']:7.3f} | {row['ceiling_ms_per_step']:7.3f} | "
            f"{row['compile_s']:6.1f} | {_number(row['gpu_mem_mb'], '.0f'):>6} | {_number(row['process_gpu_mb'], '.0f'):>6} | "
            f"{_number(row['kb_per_env'], '.1f'):>6} |")


def obs_modes(text: str) -> list[str]:
    """argparse type: comma-separated observation modes of `OBS_MODES`."""
    modes = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [mode for mode in modes if mode not in OBS_MODES]
    if unknown or not modes:
        raise argparse.ArgumentTypeError(f"must be comma-separated modes of {', '.join(OBS_MODES)} (got {text!r})")
    return modes


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
    parser.add_argument("--obs", type=obs_modes, default=["state"],
                        help="comma-separated observation modes, e.g. state,rgb (default state)")
    parser.add_argument("--image-size", type=positive_ints, default=[64],
                        help="comma-separated image sizes in pixels for the pixel modes (default 64)")
    add_set_argument(parser)
    add_json_argument(parser)
    args = parser.parse_args(argv)
    params = env_params(parser, args)
    print(f"{args.env}, backend={args.backend or 'default'}, params={params or 'default'}, jax {jax.__version__} on {jax.devices()[0].device_kind}, "
          f"{args.steps} timed steps", flush=True)
    print("| obs | num_envs | env.step() steps/s | in-jit steps/s | ratio | ms/step | in-jit ms | compile s | "
          "JAX peak MB | process GPU MB | KB/env |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    for obs_mode in args.obs:
        for size in (args.image_size if obs_mode != "state" else [None]):
            for n in args.num_envs:
                try:
                    row = measure(args.env, n, args.backend, args.steps, args.warmup, args.device, params,
                                  obs_mode, size)
                except UsageError as err:
                    parser.error(str(err))
                rows.append(row)
                print(_fmt(row), flush=True)
    write_rows(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
