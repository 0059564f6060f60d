"""Train a PPO policy on a gpu_envs task with rl_games (default), skrl, Stable-Baselines3 or rsl_rl.

    python examples/train.py task=Cartpole
    python examples/train.py task=Ant                     # rl_games, 4096 envs; train.library=skrl|sb3 too
    python examples/train.py task=AllegroHand num_envs=16 train.params.config.minibatch_size=16
    python examples/train.py task=Cartpole train.library=sb3 max_iterations=50
    python examples/train.py task=Ant train.library=rsl_rl
    python examples/train.py task=Cartpole test=True checkpoint=runs/Cartpole_<date>_<time>/nn/Cartpole.pth
    python examples/train.py task=Cartpole video=True      # MP4 clips under runs/Cartpole_<date>_<time>/videos
    python examples/train.py task=Ant wandb=True wandb_project=my-project   # also log to Weights & Biases
    python examples/train.py task=Cartpole headless=False  # MuJoCo's viewer (needs a display)
    torchrun --nproc_per_node=2 examples/train.py task=AllegroHand multi_gpu=True   # one run, 2 GPUs

Each run writes to its own folder, train_dir/<task>_<date and time>, or train_dir/<experiment>
with experiment=NAME. Configs live in examples/cfg (task/*.yaml: the env and its parameters;
train/*PPO.yaml: the reference PPO hyperparameters, in rl_games' format, which the skrl, SB3 and
rsl_rl paths map). The training code is gpu_envs.train; this script is its command line.
"""

from __future__ import annotations

import time

START = time.perf_counter()  # progress lines count wall time from the command's start

import threading  # noqa: E402

import hydra  # noqa: E402
import torch  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from gpu_envs.train import LIBRARIES, load_trainer  # noqa: E402
from gpu_envs.train.config import register_resolvers  # noqa: E402
from gpu_envs.train.distributed import device_for, ranks_for  # noqa: E402
from gpu_envs.train.progress import say  # noqa: E402
from gpu_envs.train.resume import check_resume  # noqa: E402
from gpu_envs.train.run import open_run  # noqa: E402
from gpu_envs.train.wandb_log import wandb_run  # noqa: E402

register_resolvers()


@hydra.main(version_base=None, config_path="cfg", config_name="config")
def main(cfg: DictConfig) -> None:
    library = cfg.train.library
    if library not in LIBRARIES:
        raise SystemExit(f"train.library must be one of {LIBRARIES} (got {library!r})")
    ranks = ranks_for(cfg.multi_gpu)
    if ranks.distributed:
        if library in ("sb3", "rsl_rl"):
            raise SystemExit(f"multi_gpu=True: the {library} path trains in one process here; "
                             "use train.library=rl_games or skrl")
        if library == "rl_games" and not (torch.cuda.is_available() and cfg.sim_device != "cpu"):
            raise SystemExit("multi_gpu=True with rl_games needs CUDA GPUs (rl_games uses NCCL); "
                             "on the CPU use train.library=skrl")
        device = device_for(ranks, cfg.sim_device)
        cfg.sim_device = cfg.rl_device = device  # each rank on its own GPU
        cfg.seed = cfg.seed + ranks.rank  # distinct env and sampling streams per rank
    if not cfg.test:
        check_resume(library, cfg.checkpoint, int(cfg.train.params.config.max_epochs))
    torch.manual_seed(cfg.seed)
    # Import the RL library while the env compiles (XLA releases the GIL), after gpu_envs:
    # two imports at once only take turns on the GIL.
    import gpu_envs  # noqa: F401
    from gpu_envs.train.env import make_env
    from gpu_envs.train.library_import import ast_parsing_is_thread_safe

    loaded = {}
    importer = threading.Thread(target=lambda: loaded.setdefault("trainer", load_trainer(library)), daemon=True)
    if ast_parsing_is_thread_safe():
        importer.start()
    else:  # this Python's ast.parse is not thread-safe (see there): import first, in this thread
        importer.run()
    with open_run(cfg, START, ranks) as run:
        if ranks.is_main and run.directory:
            say(f"writing to {run.directory}", START)
        env = make_env(cfg, run)
        if importer.is_alive() and ranks.is_main:
            say(f"waiting for {library} to finish importing", START)
        if importer.ident is not None:
            importer.join()
        trainer = loaded.get("trainer") or load_trainer(library)  # again, to raise the import's error here
        if ranks.is_main:
            say(f"{library} imported; setting up {'the replay' if cfg.test else 'training'}", START)
        try:
            if cfg.test:
                trainer.play(env, cfg, run)
            else:
                with wandb_run(cfg, run):  # before the trainer creates its TensorBoard writers
                    trainer.train(env, cfg, run)
        finally:
            env.close()


if __name__ == "__main__":
    main()
