"""The task's vector env for a run of examples/train.py's config, compiled before training starts."""

from __future__ import annotations

import math
import os
import time

import torch
from omegaconf import DictConfig, OmegaConf

from .progress import say
from .run import Run


def clip_every(video_interval: int, env_steps_per_step: int) -> int:
    """`step()` calls from one clip's start to the next's for clips `video_interval` env steps
    apart, when each step() takes `env_steps_per_step` env steps (its envs over all ranks):
    the fewest calls that span at least `video_interval` env steps, and at least one."""
    if video_interval < 1:
        raise ValueError(f"video_interval must be >= 1 env step (got {video_interval})")
    return max(1, math.ceil(video_interval / env_steps_per_step))


def make_env(cfg: DictConfig, run: Run):
    """The task's vector env on `cfg.sim_device` (cpu when CUDA is not available), its reset and
    step compiled. With `cfg.video` it is wrapped in RecordVideo, writing to `run.directory`/videos;
    only rank 0 records videos or opens a viewer."""
    import gymnasium as gym

    import gpu_envs  # noqa: F401  (registers the envs)

    main_rank = run.ranks.is_main
    device = cfg.sim_device
    if device.startswith("cuda") and not torch.cuda.is_available():
        print(f"sim_device={device} but no CUDA GPU is visible: running on the CPU", flush=True)
        device = "cpu"
    num_envs = int(cfg.num_envs) if cfg.num_envs not in ("", None) else int(cfg.task.env.numEnvs)
    params = OmegaConf.to_container(cfg.task.env.params, resolve=True)
    video = cfg.video and main_rank
    render_mode = "rgb_array" if video else (None if cfg.headless or not main_rank else "human")
    if main_rank:
        say(f"creating {cfg.task.env.id} with {num_envs} envs on {device}", run.start)
    env = gym.make_vec(cfg.task.env.id, num_envs=num_envs, device=device, render_mode=render_mode,
                       render_config={"num_envs": int(cfg.render_envs)}, **params)
    if video:
        from gpu_envs.video import RecordVideo

        length = int(cfg.video_length) if cfg.video_length not in ("", None) else None
        every = clip_every(int(cfg.video_interval), num_envs * run.ranks.world_size)
        env = RecordVideo(env, os.path.join(run.directory, "videos"), every=every, length=length,
                          name_prefix="test" if cfg.test else "train")
    start = time.perf_counter()
    env.reset(seed=cfg.seed)  # compile reset and step now; the trainer resets again
    env.step(torch.zeros(env.action_space.shape, device=env.device))
    if main_rank:
        say(f"compiled the env's reset and step in {time.perf_counter() - start:.1f} s", run.start)
    return env
