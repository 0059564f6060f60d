"""Host time of each layer of the public step (run on the GPU machine).

    python benchmarks/step_breakdown.py --num-envs 4096,65536

For each layer it times a loop of calls twice: until the last call returns (host time: what
Python spends dispatching) and until the GPU is done (total). Where host == total per call,
the loop is host-bound or something in it waits for the GPU. Layers, cumulative:
  raw       the jitted step with a JAX action (no conversion)
  while     the same step inside a run-time while loop of one iteration (XLA cannot inline it)
  +action   the action arrives as a torch CUDA tensor (DLPack in)
  +out      the packed output buffer leaves through torch.from_dlpack (DLPack out)
  +nosync   as +out but exporting with stream=None (torch does not ask JAX to order its stream)
  step      the public env.step()
"""

from __future__ import annotations

import argparse
import json
import time

import gpu_envs  # noqa: F401
from gpu_envs.benchmark import write_rows
import gymnasium as gym
import jax
import torch

from gpu_envs.interop import action_to_jax


def _time(env, fn, n):
    for _ in range(10):
        fn()
    jax.block_until_ready(env._state)
    if env.device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    host = time.perf_counter() - t0
    jax.block_until_ready(env._state)
    if env.device.type == "cuda":
        torch.cuda.synchronize()
    return 1e3 * host / n, 1e3 * (time.perf_counter() - t0) / n


def breakdown(num_envs: int, n: int) -> dict:
    env = gym.make_vec("GpuCartpole-v0", num_envs=num_envs)
    env.reset(seed=0)
    action_t = torch.zeros(num_envs, 1, device=env.device)
    action_j = action_to_jax(action_t, (num_envs, 1), env.jax_device)
    env.step(action_t)

    def raw():
        env._state, env._last_output = env._step_fn(env._state, action_j)

    def once(state, action, n):
        def body(carry):
            i, s, _ = carry
            s, out = env._packed_step(s, action)
            return i + 1, s, out
        _, out = jax.eval_shape(env._packed_step, state, action)
        zeros = jax.numpy.zeros(out.shape, out.dtype)
        _, s, out = jax.lax.while_loop(lambda c: c[0] < n, body, (0, state, zeros))
        return s, out

    once_fn = jax.jit(once, donate_argnums=0)
    one = jax.device_put(jax.numpy.int32(1), env.jax_device)

    def raw_while():
        env._state, env._last_output = once_fn(env._state, action_j, one)

    def with_action():
        env._state, env._last_output = env._step_fn(env._state, action_to_jax(action_t, (num_envs, 1), env.jax_device))

    def with_out():
        with_action()
        return torch.from_dlpack(env._last_output)

    def with_out_nosync():
        with_action()
        return torch.utils.dlpack.from_dlpack(env._last_output.__dlpack__(stream=None))

    row = {"num_envs": num_envs}
    for name, fn in [("raw", raw), ("while", raw_while), ("+action", with_action), ("+out", with_out),
                     ("+nosync", with_out_nosync), ("step", lambda: env.step(action_t))]:
        host, total = _time(env, fn, n)
        row[name] = {"host_ms": round(host, 4), "total_ms": round(total, 4)}
    env.close()
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--num-envs", default="4096,65536")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = [breakdown(int(n), args.steps) for n in args.num_envs.split(",")]
    for row in rows:
        print(json.dumps(row), flush=True)
    write_rows(rows, args.json)


if __name__ == "__main__":
    main()
