"""Physics quality of GpuAllegroHand-v0 on a backend (run on the GPU machine for both backends).

    python tools/hand_physics_check.py --backend warp --num-envs 1024 [--randomize] [--set KEY=VALUE ...]

Two full episodes (600 steps) per env: one with zero action (every joint held at the middle of
its range: the cube must stay in the hand) and one with random actions (nothing may blow up).
Reports the fraction of envs whose cube fell (at all, and after the first second, once the
dropped cube has landed and the fingers have closed), the cube's mean height change, physics
resets (non-finite state) and goals reached; under zero action, for each env whose cube first
fell after the first second, the step it fell and the slowest the cube moved in between
(about 0 for a cube that had come to rest).
"""

from __future__ import annotations

import argparse

import gpu_envs  # noqa: F401
import gymnasium as gym
import torch

from gpu_envs._cli import add_json_argument, add_set_argument, env_params, positive_int, print_row, write_rows


def episode(env, policy: str, seed: int, steps: int | None = None) -> dict:
    """One episode of `policy` ("zero" or "random") from a reset with `seed`; `steps` caps it (default: full length)."""
    obs, _ = env.reset(seed=seed)
    n = env.num_envs
    start = obs[:, 50].clone()  # object height (full_state layout)
    fell = torch.zeros(n, dtype=torch.bool, device=env.device)
    fell_late = torch.zeros(n, dtype=torch.bool, device=env.device)  # after the first 30 steps (1 s)
    unstable = torch.zeros(n, dtype=torch.bool, device=env.device)
    goals = torch.zeros(n, device=env.device)
    # the slowest the cube moved (m/s plus rad/s) between the first second and its fall: a
    # cube that fell late after coming to rest shows ~0 here, one still rolling does not
    calmest = torch.full((n,), float("inf"), device=env.device)
    fall_step = torch.full((n,), -1, dtype=torch.long, device=env.device)
    gen = torch.Generator(device=env.device).manual_seed(seed)
    last = env.task.max_episode_steps - 1  # the step after this one truncates and resets every env
    for t in range(min(steps, last) if steps else last):
        action = (torch.zeros(n, 16, device=env.device) if policy == "zero"
                  else torch.rand(n, 16, device=env.device, generator=gen) * 2 - 1)
        obs, _, terminated, _, infos = env.step(action)
        fall_step = torch.where(terminated & ~fell, t, fall_step)
        if t >= 30:
            speed = obs[:, 55:58].norm(dim=1) + 5.0 * obs[:, 58:61].norm(dim=1)  # lin + ang (obs holds 0.2 x)
            calmest = torch.where(fell | terminated, calmest, torch.minimum(calmest, speed))
            fell_late |= terminated
        fell |= terminated
        unstable |= infos["sim_unstable"]
        goals += infos["goal_reached"].float()
    stayed = ~fell
    drift = (obs[:, 50] - start)[stayed].mean().item() if stayed.any() else float("nan")
    return {"policy": policy, "fell_fraction": fell.float().mean().item(),
            "fell_after_first_second_fraction": fell_late.float().mean().item(),
            "mean_height_change_m": drift, "physics_resets": int(unstable.sum()),
            "goals_reached": int(goals.sum()),
            "first_falls_after_first_second": [
                {"env": i, "fell_at_step": int(fall_step[i]), "calmest_speed_before": round(float(calmest[i]), 4)}
                for i in torch.nonzero(fall_step >= 30).flatten().tolist()] if policy == "zero" else None}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--num-envs", type=positive_int, default=1024)
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="env steps per episode (default: all 599 before the time limit, as in the docs)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--randomize", action="store_true", help="domain randomization on")
    parser.add_argument("--control", default="absolute",
                        help="absolute (zero action drives every joint to mid-range) or relative "
                             "(zero action holds the reset pose)")
    add_set_argument(parser, help_text="other env parameters, e.g. object_mass_scale=(1.0,1.0)")
    add_json_argument(parser)
    args = parser.parse_args(argv)
    params = env_params(parser, args)
    env = gym.make_vec("GpuAllegroHand-v0", num_envs=args.num_envs, backend=args.backend, device=args.device,
                       randomize=args.randomize, control=args.control, **params)
    rows = []
    for policy, seed in (("zero", 0), ("random", 1)):
        row = {"backend": env.backend, "randomize": args.randomize, "control": args.control, "params": params,
               "num_envs": args.num_envs,
               **episode(env, policy, seed, args.steps)}
        rows.append(row)
        print_row(row)
    write_rows(rows, args.json)
    env.close()


if __name__ == "__main__":
    main()
