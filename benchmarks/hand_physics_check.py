"""Physics quality of GpuAllegroHand-v0 on a backend (run on the GPU machine for both backends).

    python benchmarks/hand_physics_check.py --backend warp --num-envs 1024

Two full episodes (600 steps) per env: one with zero action (every joint held at the middle of
its range: the cube must stay in the hand) and one with random actions (nothing may blow up).
Reports the fraction of envs whose cube fell (at all, and after the first second, once the
dropped cube has landed and the fingers have closed), the cube's mean height change, physics
resets (non-finite state) and goals reached.
"""

from __future__ import annotations

import argparse
import json

import gpu_envs  # noqa: F401
import gymnasium as gym
import torch

from gpu_envs.play import parse_params


def episode(env, policy: str, seed: int) -> dict:
    obs, _ = env.reset(seed=seed)
    n = env.num_envs
    start = obs[:, 50].clone()  # object height (full_state layout)
    fell = torch.zeros(n, dtype=torch.bool, device=env.device)
    fell_late = torch.zeros(n, dtype=torch.bool, device=env.device)  # after the first 30 steps (1 s)
    unstable = torch.zeros(n, dtype=torch.bool, device=env.device)
    goals = torch.zeros(n, device=env.device)
    gen = torch.Generator(device=env.device).manual_seed(seed)
    for t in range(env.task.max_episode_steps - 1):
        action = (torch.zeros(n, 16, device=env.device) if policy == "zero"
                  else torch.rand(n, 16, device=env.device, generator=gen) * 2 - 1)
        obs, _, terminated, _, infos = env.step(action)
        fell |= terminated
        if t >= 30:
            fell_late |= terminated
        unstable |= infos["sim_unstable"]
        goals += infos["goal_reached"].float()
    stayed = ~fell
    drift = (obs[:, 50] - start)[stayed].mean().item() if stayed.any() else float("nan")
    return {"policy": policy, "fell_fraction": fell.float().mean().item(),
            "fell_after_first_second_fraction": fell_late.float().mean().item(),
            "mean_height_change_m": drift, "physics_resets": int(unstable.sum()),
            "goals_reached": int(goals.sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--num-envs", type=int, default=1024)
    parser.add_argument("--device", default=None)
    parser.add_argument("--randomize", action="store_true", help="domain randomization on")
    parser.add_argument("--control", default="absolute",
                        help="absolute (zero action drives every joint to mid-range) or relative "
                             "(zero action holds the reset pose)")
    parser.add_argument("--param", nargs="*", default=[], metavar="KEY=VALUE",
                        help="other env parameters, e.g. object_mass_scale=(1.0,1.0)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    env = gym.make_vec("GpuAllegroHand-v0", num_envs=args.num_envs, backend=args.backend, device=args.device,
                       randomize=args.randomize, control=args.control, **parse_params(args.param))
    rows = []
    for policy, seed in (("zero", 0), ("random", 1)):
        row = {"backend": env.backend, "randomize": args.randomize, "control": args.control, "params": args.param,
               "num_envs": args.num_envs,
               **episode(env, policy, seed)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
