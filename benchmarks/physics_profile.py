"""GPU time of env.step() by kernel, grouped by physics stage (run on the GPU machine).

    python benchmarks/physics_profile.py --env GpuAllegroHand-v0 --backend warp --num-envs 16384 \
        --set timestep=0.008333333333333333 substeps=4 solver_iterations=8

Steps the env with a zero action (`--action zero`: the hand holds its pose, the cube rests in
it) or with one random action per env held for the whole run (`--action random`: the fingers
move to random targets and press on the cube, cubes fall and envs reset, as early in training),
and records every CUDA kernel the process launches during `--steps` env steps with torch.profiler (CUPTI
sees XLA's and MuJoCo Warp's kernels as well as torch's). Prints milliseconds of GPU time per
env step for each stage (kernel names matched against the patterns in STAGES) and the
most expensive kernels, next to the wall time per step; `--json PATH` also writes every kernel's time.
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict

import gpu_envs  # noqa: F401
import gymnasium as gym
import torch
from torch.profiler import ProfilerActivity, profile

from gpu_envs._cli import add_json_argument, add_set_argument, env_params, positive_int, write_rows
from gpu_envs.benchmark import time_steps

# Matched against a kernel's base name (see base_name); first match wins. The names are MuJoCo
# Warp's kernel names and XLA's fusion names.
STAGES = (
    ("collision", r"collision|broadphase|narrowphase|gjk|epa|ccd|primitive|box_box|capsule|sphere|plane"),
    ("solver", r"solve|linesearch|JTDAJ|cholesky|update_gradient|update_constraint|jaref|mrr|prod_m"),
    ("constraint rows", r"constraint|efc|contact|limit|equality|friction"),
    ("smooth dynamics", r"kinematics|com|crb|rne|factor|tendon|transmission|cdof|cinert|cacc|cfrc|subtree"
                        r"|body|geom|smooth|qfrc|passive|gravity|actuator|velocity|implicit|integrat|euler|advance"),
    ("XLA (task, packing)", r"fusion|xla|gemm|cutlass|reduce|copy|convert|transpose|slice|scatter|gather"),
)


def base_name(kernel: str) -> str:
    """`kernel` without Warp's decorations: "_cfrc_backward_72237d38_cuda_kernel_forward" -> "_cfrc_backward"."""
    name = kernel.split("__locals__")[0]
    return re.sub(r"(_[0-9a-f]{8})?_cuda_kernel_forward$", "", name)


def stage_of(kernel: str) -> str:
    """The STAGES name whose pattern matches `kernel`'s base name (case-insensitive), else "other"."""
    name = base_name(kernel)
    for stage, pattern in STAGES:
        if re.search(pattern, name, re.IGNORECASE):
            return stage
    return "other"


def held_action(env, kind: str) -> torch.Tensor:
    """The (num_envs, action_dim) action every profiled step uses: zeros, or uniform in the action space (seed 0)."""
    if kind == "zero":
        return torch.zeros(env.action_space.shape, device=env.device)
    low, high = (torch.as_tensor(b, device=env.device) for b in (env.action_space.low, env.action_space.high))
    generator = torch.Generator(device=env.device).manual_seed(0)
    return low + (high - low) * torch.rand(env.action_space.shape, device=env.device, generator=generator)


def profile_steps(env, steps: int, action: torch.Tensor) -> tuple[float, dict[str, float]]:
    """(wall ms per env step, {kernel name: GPU ms per env step}) over `steps` steps of `action`."""
    wall_ms = 1e3 * time_steps(env, action, steps, warmup=20)
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        time_steps(env, action, steps)
    per_kernel = defaultdict(float)
    for event in prof.events():
        if event.device_type == torch.autograd.DeviceType.CUDA:
            per_kernel[event.name] += event.device_time / 1e3 / steps  # us -> ms per step
    return wall_ms, dict(per_kernel)


def report(wall_ms: float, per_kernel: dict[str, float], top: int) -> str:
    """The stage table and the `top` most expensive kernels, as text."""
    total = sum(per_kernel.values())
    stages = defaultdict(float)
    for name, ms in per_kernel.items():
        stages[stage_of(name)] += ms
    lines = [f"wall {wall_ms:.2f} ms per env step, kernels {total:.2f} ms ({len(per_kernel)} distinct)"]
    for name, ms in sorted(stages.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {name:<22s} {ms:7.3f} ms  {100 * ms / total:5.1f}%")
    lines.append(f"top {top} kernels (ms per env step):")
    for name, ms in sorted(per_kernel.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {ms:7.3f}  {stage_of(name):<20s} {name[:110]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="GpuAllegroHand-v0")
    parser.add_argument("--num-envs", type=positive_int, default=16384)
    parser.add_argument("--backend", default=None, choices=["jax", "warp", "auto"])
    parser.add_argument("--steps", type=positive_int, default=50, help="profiled env steps")
    parser.add_argument("--action", default="zero", choices=["zero", "random"],
                        help="zero, or one uniform random action per env held for the run")
    parser.add_argument("--top", type=positive_int, default=25, help="kernels listed")
    add_set_argument(parser)
    add_json_argument(parser)
    args = parser.parse_args(argv)
    kwargs = env_params(parser, args)
    params = dict(kwargs)
    if not torch.cuda.is_available():
        raise SystemExit("physics_profile.py needs a CUDA GPU (it reads kernel times through CUPTI)")
    if args.backend is not None:
        kwargs["backend"] = args.backend
    env = gym.make_vec(args.env, num_envs=args.num_envs, **kwargs)
    env.reset(seed=0)
    print(f"{args.env} backend={env.backend} num_envs={args.num_envs} params={kwargs} action={args.action}", flush=True)
    wall_ms, per_kernel = profile_steps(env, args.steps, held_action(env, args.action))
    print(report(wall_ms, per_kernel, args.top), flush=True)
    write_rows([{"env": args.env, "backend": env.backend, "num_envs": args.num_envs, "params": params,
                 "action": args.action, "steps": args.steps, "wall_ms_per_step": wall_ms,
                 "kernel_ms_per_step": per_kernel}], args.json)
    env.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
