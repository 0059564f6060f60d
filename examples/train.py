"""Train a PPO policy on a gpu_envs task with rl_games (default), skrl or Stable-Baselines3.

    python examples/train.py task=Cartpole
    python examples/train.py task=AllegroHand num_envs=16 train.params.config.minibatch_size=16
    python examples/train.py task=Cartpole train.library=sb3 max_iterations=50
    python examples/train.py task=Cartpole test=True checkpoint=runs/Cartpole/nn/Cartpole.pth
    python examples/train.py task=Cartpole video=True      # MP4 clips under runs/Cartpole/videos
    python examples/train.py task=Cartpole headless=False  # MuJoCo's viewer (needs a display)
    torchrun --nproc_per_node=2 examples/train.py task=AllegroHand multi_gpu=True   # one run, 2 GPUs

Configs live in examples/cfg (task/*.yaml: the env and its parameters; train/*PPO.yaml: the
reference PPO hyperparameters, in rl_games' format, which the skrl and SB3 paths map).
"""

from __future__ import annotations

import time

START = time.perf_counter()  # progress lines count wall time from here (the command's start)

import importlib  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402

import hydra  # noqa: E402
import torch  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from trainers.distributed import device_for, ranks_for  # noqa: E402

OmegaConf.register_new_resolver("resolve_default", lambda default, arg: default if arg in ("", None) else arg,
                                replace=True)

LIBRARIES = ("rl_games", "skrl", "sb3")


def make_env(cfg: DictConfig, main_rank: bool = True):
    """The task's vector env on `sim_device` (cpu when CUDA is not available), compiled.

    main_rank: False on the ranks other than 0 of a multi-GPU run, which neither record videos
    nor open a viewer."""
    import gymnasium as gym
    import jax

    import gpu_envs  # noqa: F401  (registers the envs)

    if not os.environ.get("JAX_COMPILATION_CACHE_DIR"):  # repeated runs skip XLA compiles
        jax.config.update("jax_compilation_cache_dir", os.path.expanduser("~/.cache/gpu-envs/jax"))

    device = cfg.sim_device
    if device.startswith("cuda") and not torch.cuda.is_available():
        print(f"sim_device={device} but no CUDA GPU is visible: running on the CPU", flush=True)
        device = "cpu"
    num_envs = int(cfg.num_envs) if cfg.num_envs not in ("", None) else int(cfg.task.env.numEnvs)
    params = OmegaConf.to_container(cfg.task.env.params, resolve=True)
    video = cfg.video and main_rank
    render_mode = "rgb_array" if video else (None if cfg.headless or not main_rank else "human")
    if main_rank:
        say(f"creating {cfg.task.env.id} with {num_envs} envs on {device}")
    env = gym.make_vec(cfg.task.env.id, num_envs=num_envs, device=device, render_mode=render_mode,
                       render_config={"num_envs": int(cfg.render_envs)}, **params)
    if video:
        from gpu_envs.video import RecordVideo

        folder = os.path.join(cfg.train_dir, cfg.train.params.config.name, "videos")
        length = int(cfg.video_length) if cfg.video_length not in ("", None) else None
        env = RecordVideo(env, folder, every=int(cfg.video_interval), length=length,
                          name_prefix="test" if cfg.test else "train")
    start = time.perf_counter()
    env.reset(seed=cfg.seed)  # compile reset and step now; the trainer resets again
    env.step(torch.zeros(env.action_space.shape, device=env.device))
    if main_rank:
        say(f"compiled the env's reset and step in {time.perf_counter() - start:.1f} s")
    return env


def say(message: str) -> None:
    """A start-up progress line, stamped with seconds since the command's start."""
    print(f"[{time.perf_counter() - START:6.1f} s] {message}", flush=True)


@hydra.main(version_base=None, config_path="cfg", config_name="config")
def main(cfg: DictConfig) -> None:
    library = cfg.train.library
    if library not in LIBRARIES:
        raise SystemExit(f"train.library must be one of {LIBRARIES} (got {library!r})")
    ranks = ranks_for(cfg.multi_gpu)
    if ranks.distributed:
        if library == "sb3":
            raise SystemExit("multi_gpu=True: Stable-Baselines3 has no multi-process training; "
                             "use train.library=rl_games or skrl")
        if library == "rl_games" and not (torch.cuda.is_available() and cfg.sim_device != "cpu"):
            raise SystemExit("multi_gpu=True with rl_games needs CUDA GPUs (rl_games uses NCCL); "
                             "on the CPU use train.library=skrl")
        device = device_for(ranks, cfg.sim_device)
        cfg.sim_device = cfg.rl_device = device  # each rank on its own GPU
        cfg.seed = cfg.seed + ranks.rank  # distinct env and sampling streams per rank
    torch.manual_seed(cfg.seed)
    # Import the RL library (4-5 s for rl_games on the H100 machine) while the env compiles: XLA releases the GIL.
    # gpu_envs (JAX, MuJoCo) is imported first: two imports at once only take turns on the GIL.
    import gpu_envs  # noqa: F401

    module = f"trainers.{library}_trainer"
    importer = threading.Thread(target=importlib.import_module, args=(module,), daemon=True)
    importer.start()
    env = make_env(cfg, main_rank=ranks.is_main)
    if importer.is_alive() and ranks.is_main:
        say(f"waiting for {library} to finish importing")
    importer.join()
    trainer = importlib.import_module(module)
    if ranks.is_main:
        say(f"{library} imported; setting up {'the replay' if cfg.test else 'training'}")
    try:
        if cfg.test:
            trainer.play(env, cfg)
        else:
            trainer.train(env, cfg)
    finally:
        env.close()


if __name__ == "__main__":
    main()
