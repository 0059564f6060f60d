"""Watch an env run a random or trained policy: in MuJoCo's viewer, or as an MP4 video.

    python -m gpu_envs.play --env GpuAllegroHand-v0 --video hand.mp4
    python -m gpu_envs.play --env GpuCartpole-v0 --checkpoint examples/checkpoints/Cartpole_policy.pt --video cartpole.mp4
    python -m gpu_envs.play --env GpuCartpole-v0 --frame cartpole.png --steps 30
    python -m gpu_envs.play --env GpuAllegroHand-v0            # a window (needs a display)

--checkpoint takes a TorchScript policy: a module mapping observations (N, obs_dim) float32
to actions (N, action_dim) in [-1, 1] (examples/train.py writes one next to each checkpoint
of every library, `<name>_policy.pt`; a policy that does not fit the env's observations or
actions is refused in one line). Without it, actions are uniform random. Env parameters go
after --set as KEY=VALUE (values parsed as Python literals where they parse), as in
`python -m gpu_envs.benchmark` and the scripts in benchmarks/.

Mistakes in the arguments (a count that is not a positive integer, an unknown env id or env
parameter, a bad device, a missing checkpoint) print one line `play: error: ...` and exit
with status 2.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import gpu_envs  # noqa: F401  (registers the envs)
import torch

from ._cli import UsageError, add_set_argument, make_env, non_negative_int, parse_params, positive_int
from .render import has_display
from .video import VideoWriter


def _mean(values: list) -> float:
    return sum(values) / len(values) if values else math.nan


def load_policy(path: str):
    """A TorchScript policy from `path`, on the CPU, in eval mode (UsageError otherwise)."""
    if not os.path.isfile(path):
        raise UsageError(f"checkpoint not found: {path}")
    try:
        policy = torch.jit.load(path, map_location="cpu")
    except RuntimeError:
        raise UsageError(f"{path} is not a TorchScript policy (torch.jit.load failed). examples/train.py "
                         "writes one next to each checkpoint as <name>_policy.pt") from None
    return policy.eval()


def _describe(obs) -> str:
    """"(16, 4) float32" for a tensor; "{'state': (16, 4) float32, ...}" for a dict of them."""
    if isinstance(obs, dict):
        return "{" + ", ".join(f"{key!r}: {_describe(value)}" for key, value in obs.items()) + "}"
    return f"{tuple(obs.shape)} {str(obs.dtype).replace('torch.', '')}"


def check_policy(policy, obs, action_shape: tuple, path: str, env_id: str) -> None:
    """UsageError unless `policy` maps `obs` (the env's first observations) to actions of
    `action_shape`: a policy trained on another task or observation mode fails here, in one line."""
    got = f"{env_id}'s observations {_describe(obs)}"
    try:
        with torch.no_grad():
            actions = policy(obs)
    except (RuntimeError, TypeError, ValueError) as err:
        reason = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
        raise UsageError(f"{path} does not take {got}: was it trained on another task or observation mode? "
                         f"({reason})") from None
    if not isinstance(actions, torch.Tensor):
        raise UsageError(f"{path} maps {got} to a {type(actions).__name__}, not an actions tensor "
                         f"{tuple(action_shape)}")
    if tuple(actions.shape) != tuple(action_shape):
        raise UsageError(f"{path} maps {got} to actions {tuple(actions.shape)}, not {tuple(action_shape)}: was it "
                         "trained on another task?")


def _random_policy(env):
    def act(obs):
        return torch.rand(env.action_space.shape, device=env.device) * 2 - 1
    return act


def run(args) -> dict:
    """Play `args.steps` steps; returns {"steps", "episodes", "mean_return", "frames"}."""
    render_mode = "rgb_array" if (args.video or args.frame) else "human"
    if render_mode == "human" and not has_display():
        raise UsageError("no display here (DISPLAY is not set): use --video out.mp4 or --frame out.png")
    config = {"num_envs": args.num_envs, "width": args.width, "height": args.height}
    policy = load_policy(args.checkpoint) if args.checkpoint else None
    params = parse_params(args.set)
    if args.backend:
        params["backend"] = args.backend
    env = make_env(args.env, num_envs=args.num_envs, device=args.device, render_mode=render_mode,
                   render_config=config, **params)
    policy = policy.to(env.device) if policy is not None else _random_policy(env)
    steps = args.steps if args.steps is not None else int(env.unwrapped.task.max_episode_steps)
    writer = VideoWriter(args.video, env.metadata["render_fps"]) if args.video else None
    returns, frames, start = [], 0, time.perf_counter()
    try:
        obs, _ = env.reset(seed=args.seed)
        if args.checkpoint:
            check_policy(policy, obs, env.action_space.shape, args.checkpoint, args.env)
        if writer:
            writer.add(env.render_grid())
        for step in range(1, steps + 1):
            with torch.no_grad():
                actions = policy(obs)
            obs, _, _, _, infos = env.step(actions)
            returns += infos["episode"]["r"][infos["_episode"]].tolist()
            if writer:
                writer.add(env.render_grid())
            if step % 100 == 0 or step == steps:
                print(f"step {step}/{steps}  episodes finished {len(returns)}  mean return {_mean(returns):.1f}  "
                      f"{time.perf_counter() - start:.1f} s", flush=True)
        if args.frame:
            from PIL import Image

            os.makedirs(os.path.dirname(args.frame) or ".", exist_ok=True)
            Image.fromarray(env.render_grid()).save(args.frame)
            print(f"saved {args.frame}", flush=True)
    finally:
        if writer:
            writer.close()
            frames = writer.frames
            print(f"saved {args.video} ({frames} frames at {writer.fps:g} fps)", flush=True)
        env.close()
    return {"steps": steps, "episodes": len(returns), "mean_return": _mean(returns), "frames": frames}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        """One line `play: error: <message>` on stderr, exit status 2 (argparse prints the
        usage first, which buries the line under a dozen options)."""
        self.exit(2, f"play: error: {' '.join(message.split())}\n")


def main(argv=None) -> None:
    parser = _Parser(prog="python -m gpu_envs.play", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="GpuAllegroHand-v0", help="env id (default GpuAllegroHand-v0)")
    parser.add_argument("--checkpoint", help="TorchScript policy (default: random actions)")
    parser.add_argument("--video", help="write an MP4 of the shown envs here instead of opening a window")
    parser.add_argument("--frame", help="save the last frame as a PNG here (no window)")
    parser.add_argument("--num-envs", type=positive_int, default=16, help="envs simulated and shown (default 16)")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="env steps, a positive int (default: one max-length episode)")
    parser.add_argument("--width", type=positive_int, default=640, help="frame width in pixels (default 640)")
    parser.add_argument("--height", type=positive_int, default=480, help="frame height in pixels (default 480)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="reset seed, an int >= 0 (default 0)")
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: JAX's default device)")
    parser.add_argument("--backend", help="jax, warp or auto (default: the env's default)")
    add_set_argument(parser, help_text="env parameters, e.g. substeps=4 (values parsed as Python literals)")
    args = parser.parse_args(argv)
    if args.video and not args.video.endswith(".mp4"):
        parser.error("--video must name an .mp4 file")
    if args.frame and not args.frame.lower().endswith((".png", ".jpg", ".jpeg")):
        parser.error(f"--frame must name a .png or .jpg file (got {args.frame!r})")
    try:
        run(args)
    except UsageError as err:
        parser.error(str(err))
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)


if __name__ == "__main__":
    main()
