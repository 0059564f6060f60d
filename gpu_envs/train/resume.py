"""Resuming from a checkpoint: refuse a resume that would train nothing and overwrite it.

rl_games counts `max_epochs` (max_iterations) from the start of training, the checkpoint's
iterations included; skrl and Stable-Baselines3 train max_iterations more after a checkpoint.
"""

from __future__ import annotations


def rl_games_checkpoint_iteration(path: str) -> int:
    """The iteration (rl_games' epoch) at which the rl_games checkpoint `path` was saved."""
    import torch

    return int(torch.load(path, map_location="cpu", weights_only=False)["epoch"])


def check_resume(library: str, checkpoint: str, max_iterations: int) -> None:
    """Raise SystemExit, saying why, when training `library` from `checkpoint` up to
    `max_iterations` would train nothing (rl_games: the checkpoint is at or past it).
    Does nothing without a checkpoint or for libraries that train max_iterations more."""
    if not checkpoint or library != "rl_games" or max_iterations == -1:  # -1: rl_games' no limit
        return
    done = rl_games_checkpoint_iteration(checkpoint)
    if done >= max_iterations:
        raise SystemExit(f"checkpoint={checkpoint} is at iteration {done} and rl_games counts max_iterations "
                         f"from the start of training: max_iterations={max_iterations} would train nothing. "
                         f"Pass max_iterations above {done}.")
