"""Where the seconds before a training run's first iteration go (run on the GPU machine).

    python tools/startup_probe.py --env GpuCartpole-v0 --num-envs 512

Times, cumulatively from Python start, each stage examples/train.py goes through before its
first PPO iteration: importing torch, initialising CUDA in torch, importing gpu_envs (JAX,
MuJoCo, MJX), creating the env (MJX model on the device), the first reset and the first step
(both compile), and importing rl_games. Prints one JSON object. (gpu_envs' shared CLI module
is imported only after gpu_envs, so that it moves no mark.)
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="GpuCartpole-v0")
    parser.add_argument("--num-envs", type=int, default=512)
    args = parser.parse_args(argv)
    marks = {}

    def mark(name):
        marks[name] = round(time.perf_counter() - T0, 2)

    import torch
    mark("import_torch")
    if torch.cuda.is_available():
        torch.zeros(1, device="cuda")
    mark("torch_cuda_init")
    import gymnasium as gym

    import gpu_envs  # noqa: F401
    mark("import_gpu_envs")
    from gpu_envs._cli import block_until_ready, print_row

    env = gym.make_vec(args.env, num_envs=args.num_envs)
    mark("make_env")
    env.reset(seed=0)
    mark("first_reset")
    env.step(torch.zeros(env.action_space.shape, device=env.device))
    block_until_ready(env)
    mark("first_step")
    import rl_games.torch_runner  # noqa: F401
    mark("import_rl_games")
    env.close()
    print_row({"env": args.env, "num_envs": args.num_envs, "seconds_from_start": marks})


if __name__ == "__main__":
    main()
