"""Per-step time each RL-library adapter adds over the raw env.step() (run on the GPU machine).

    python benchmarks/adapter_overhead.py --env GpuCartpole-v0 --num-envs 4096,16384 --json out.json
    python benchmarks/adapter_overhead.py --env GpuAllegroHand-v0 --set substeps=4 ...   # env parameters

All adapters wrap the same env (one compile). Each variant runs `--steps` steps with a torch
action on the env's device (SB3: a host numpy action, as SB3 gives it), then waits for the GPU;
the variants are interleaved `--reps` times and the median ms/step is reported, because host
jitter between runs is as large as the differences being measured. A second measurement
isolates each adapter's own cost: the adapter steps an env that replays one stored output,
so the time left is the adapter's Python work per step (microseconds).
"""

from __future__ import annotations

import argparse
import statistics
import time

import gpu_envs  # noqa: F401
import gymnasium as gym
import numpy as np
import torch

from gpu_envs._cli import (add_json_argument, add_set_argument, block_until_ready, env_params, positive_int,
                           positive_ints, write_rows)


class _Replay(gym.vector.VectorWrapper):
    """Returns one stored step output without stepping: isolates an adapter's own cost."""

    def __init__(self, env, action):
        super().__init__(env)
        self._action = action
        self._stored = env.step(action)
        self._numpy = env.step_numpy(action)

    def step(self, actions):
        obs, reward, terminated, truncated, infos = self._stored
        return obs, reward, terminated, truncated, dict(infos)

    def step_numpy(self, actions):
        return self._numpy


def _variants(env):
    """name -> (step function, action) for the raw env and each installed adapter."""
    action = torch.zeros(env.action_space.shape, device=env.unwrapped.device)
    out = {"raw env.step": (env.step, action)}
    from gpu_envs.wrappers.rl_games import RlGamesVecEnv
    from gpu_envs.wrappers.sb3 import Sb3VecEnv
    from gpu_envs.wrappers.skrl import SkrlVecEnv

    out["skrl"] = (SkrlVecEnv(env, seed=0).step, action)
    out["rl_games"] = (RlGamesVecEnv(env).step, action)
    sb3 = Sb3VecEnv(env)
    out["sb3 (host numpy)"] = (sb3.step, np.zeros(env.action_space.shape, np.float32))
    return out


def measure(env_id: str, num_envs: int, steps: int, reps: int, params: dict | None = None) -> list[dict]:
    env = gym.make_vec(env_id, num_envs=num_envs, **(params or {}))
    env.reset(seed=0)
    variants = _variants(env)
    for step, action in variants.values():  # compile and warm every path
        for _ in range(20):
            step(action)
    block_until_ready(env)
    times = {name: [] for name in variants}
    for _ in range(reps):
        for name, (step, action) in variants.items():
            t0 = time.perf_counter()
            for _ in range(steps):
                step(action)
            block_until_ready(env)
            times[name].append((time.perf_counter() - t0) / steps)
    raw = statistics.median(times["raw env.step"])
    rows = []
    for name, ts in times.items():
        ms = statistics.median(ts)
        rows.append({"env": env_id, "num_envs": num_envs, "params": dict(params or {}), "adapter": name,
                     "ms_per_step": 1e3 * ms,
                     "overhead_pct": 100 * (ms / raw - 1), "steps_per_s": num_envs / ms,
                     "spread_ms": 1e3 * (max(ts) - min(ts))})
    replay = _Replay(env, variants["raw env.step"][1])
    for name, (step, action) in _variants(replay).items():
        for _ in range(100):
            step(action)
        t0 = time.perf_counter()
        for _ in range(steps * 10):
            step(action)
        own_us = 1e6 * (time.perf_counter() - t0) / (steps * 10)
        for row in rows:
            if row["adapter"] == name:
                row["own_host_us"] = own_us
    env.close()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="GpuCartpole-v0")
    parser.add_argument("--num-envs", type=positive_ints, default=[4096, 16384], help="comma-separated env counts")
    parser.add_argument("--steps", type=positive_int, default=200)
    parser.add_argument("--reps", type=positive_int, default=7)
    add_set_argument(parser)
    add_json_argument(parser)
    args = parser.parse_args(argv)
    params = env_params(parser, args)
    print("| env | num_envs | adapter | ms/step | vs raw | env steps/s | adapter's own us/step |")
    print("|---|---:|---|---:|---:|---:|---:|")
    rows = []
    for n in args.num_envs:
        for row in measure(args.env, n, args.steps, args.reps, params):
            rows.append(row)
            print(f"| {row['env']} | {n} | {row['adapter']} | {row['ms_per_step']:.3f} | "
                  f"{row['overhead_pct']:+.1f}% | {row['steps_per_s'] / 1e6:.2f} M | {row['own_host_us']:.1f} |", flush=True)
    write_rows(rows, args.json)


if __name__ == "__main__":
    main()
