"""What rendering costs a training loop: env.step() alone vs step + render() every k steps.

    python benchmarks/render_cost.py --env GpuAllegroHand-v0 --num-envs 4096 --shown 16

Prints the OpenGL renderer in use (a GPU's EGL driver or Mesa's software llvmpipe), env steps/s
with rendering off (render_mode None, and "rgb_array" without render() calls, measured in turns
three times each: they should match),
then with a render() after every k-th step, and the milliseconds one frame costs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import gpu_envs  # noqa: F401
import gymnasium as gym
import jax
import torch


def _sync(env):
    jax.block_until_ready(env._state)


def _rate(env, steps: int, every: int) -> float:
    action = torch.zeros(env.action_space.shape, device=env.device)
    for _ in range(5):
        env.step(action)
    _sync(env)
    t0 = time.perf_counter()
    for i in range(steps):
        env.step(action)
        if every and i % every == 0:
            env.render()
    _sync(env)
    return steps * env.num_envs / (time.perf_counter() - t0)


def gl_renderer_name() -> str:
    from OpenGL import GL

    from gpu_envs.render import make_gl_context

    context = make_gl_context(16, 16)
    name = GL.glGetString(GL.GL_RENDERER).decode()
    context.free()
    return name


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", default="GpuAllegroHand-v0")
    parser.add_argument("--num-envs", type=int, default=4096)
    parser.add_argument("--shown", type=int, default=16)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--every", default="1,10,100")
    parser.add_argument("--json")
    args = parser.parse_args()
    print(f"OpenGL renderer: {gl_renderer_name()}", flush=True)
    make = lambda mode: gym.make_vec(args.env, num_envs=args.num_envs, render_mode=mode,  # noqa: E731
                                     render_config={"num_envs": args.shown})
    envs = {None: make(None), "rgb_array": make("rgb_array")}
    for env in envs.values():
        env.reset(seed=0)
    off = {mode: [] for mode in envs}
    for _ in range(3):  # interleaved: the two envs see the same machine state
        for mode, env in envs.items():
            off[mode].append(_rate(env, args.steps, 0))
    rows = []
    for mode, rates in off.items():
        rate = statistics.median(rates)
        rows.append({"env": args.env, "num_envs": args.num_envs, "render_mode": mode, "every": 0, "steps_per_s": rate})
        print(f"render_mode={mode}, no render() calls: {rate:,.0f} env steps/s (median of "
              f"{', '.join(f'{r:,.0f}' for r in rates)})", flush=True)
    env = envs["rgb_array"]
    env.render()  # build the renderer
    t0 = time.perf_counter()
    for _ in range(20):
        env.render()
    frame_ms = (time.perf_counter() - t0) / 20 * 1e3
    print(f"one frame of {args.shown} envs (640x480): {frame_ms:.1f} ms", flush=True)
    for every in (int(k) for k in args.every.split(",")):
        rate = _rate(env, args.steps, every)
        rows.append({"env": args.env, "num_envs": args.num_envs, "render_mode": "rgb_array", "every": every,
                     "steps_per_s": rate, "frame_ms": frame_ms})
        print(f"  render() every {every} steps: {rate:,.0f} env steps/s", flush=True)
    for env in envs.values():
        env.close()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
