"""What rendering costs a training loop: env.step() alone vs step + render_grid() every k steps.

    python benchmarks/render_cost.py --env GpuAllegroHand-v0 --num-envs 4096 --shown 16 [--set KEY=VALUE ...]

Prints the OpenGL renderer in use (a GPU's EGL driver or Mesa's software llvmpipe), env steps/s
with rendering off (render_mode None, and "rgb_array" without render calls, measured in turns
three times each: they should match), the milliseconds one grid frame (`render_grid()`) costs,
then steps/s with a render_grid() after every k-th step. Then the per-env frames: what
`render()` itself costs (the snapshot of every env's positions), one env's frame on its first
read, and a step + render() + frame 0 read, the loop of gymnasium's vector RecordVideo with
record_first_only=True.
"""

from __future__ import annotations

import argparse
import statistics
import time

import gpu_envs  # noqa: F401
import gymnasium as gym
import torch

from gpu_envs._cli import (add_json_argument, add_set_argument, block_until_ready, env_params, positive_int,
                           positive_ints, write_rows)


def _rate(env, steps: int, every: int) -> float:
    action = torch.zeros(env.action_space.shape, device=env.device)
    for _ in range(5):
        env.step(action)
    block_until_ready(env)
    t0 = time.perf_counter()
    for i in range(steps):
        env.step(action)
        if every and i % every == 0:
            env.render_grid()
    block_until_ready(env)
    return steps * env.num_envs / (time.perf_counter() - t0)


def _per_env_frames(env, args, repeats: int = 20) -> dict:
    """render()'s per-env frames: the snapshot alone, one frame's first read, and a RecordVideo step."""
    env.render()[0]  # compile the snapshot, build the one-env scene
    block_until_ready(env)
    t0 = time.perf_counter()
    for _ in range(repeats):
        frames = env.render()
    snapshot_ms = (time.perf_counter() - t0) / repeats * 1e3
    t0 = time.perf_counter()
    for i in range(repeats):
        frames[i % env.num_envs]
    frame_ms = (time.perf_counter() - t0) / repeats * 1e3
    action = torch.zeros(env.action_space.shape, device=env.device)
    t0 = time.perf_counter()
    for _ in range(repeats):
        env.step(action)
        env.render()[0]
    step_ms = (time.perf_counter() - t0) / repeats * 1e3
    print(f"render() (snapshot of all {args.num_envs} envs, nothing drawn): {snapshot_ms:.2f} ms; "
          f"one env's frame, first read: {frame_ms:.1f} ms; step + render() + frame 0: {step_ms:.1f} ms",
          flush=True)
    return {"env": args.env, "num_envs": args.num_envs, "render_mode": "rgb_array", "per_env_render_ms": snapshot_ms,
            "per_env_frame_ms": frame_ms, "step_render_first_ms": step_ms}


def gl_renderer_name() -> str:
    from OpenGL import GL

    from gpu_envs.render import make_gl_context

    context = make_gl_context(16, 16)
    name = GL.glGetString(GL.GL_RENDERER).decode()
    context.free()
    return name


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="GpuAllegroHand-v0")
    parser.add_argument("--num-envs", type=positive_int, default=4096)
    parser.add_argument("--shown", type=positive_int, default=16, help="envs in the render_grid() frame")
    parser.add_argument("--steps", type=positive_int, default=200)
    parser.add_argument("--every", type=positive_ints, default=[1, 10, 100],
                        help="comma-separated: a render_grid() after every k-th step")
    add_set_argument(parser)
    add_json_argument(parser)
    args = parser.parse_args(argv)
    params = env_params(parser, args)
    print(f"OpenGL renderer: {gl_renderer_name()}", flush=True)
    make = lambda mode: gym.make_vec(args.env, num_envs=args.num_envs, render_mode=mode,  # noqa: E731
                                     render_config={"num_envs": args.shown}, **params)
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
        print(f"render_mode={mode}, no render calls: {rate:,.0f} env steps/s (median of "
              f"{', '.join(f'{r:,.0f}' for r in rates)})", flush=True)
    env = envs["rgb_array"]
    env.render_grid()  # build the renderer
    t0 = time.perf_counter()
    for _ in range(20):
        env.render_grid()
    frame_ms = (time.perf_counter() - t0) / 20 * 1e3
    print(f"one grid frame of {args.shown} envs (640x480, render_grid()): {frame_ms:.1f} ms", flush=True)
    for every in args.every:
        rate = _rate(env, args.steps, every)
        rows.append({"env": args.env, "num_envs": args.num_envs, "render_mode": "rgb_array", "every": every,
                     "steps_per_s": rate, "frame_ms": frame_ms})
        print(f"  render_grid() every {every} steps: {rate:,.0f} env steps/s", flush=True)
    rows.append(_per_env_frames(env, args))
    for env in envs.values():
        env.close()
    write_rows(rows, args.json)


if __name__ == "__main__":
    main()
