"""Weights & Biases logging of a training run (`wandb=True`), as IsaacGymEnvs' `wandb_activate`.

Every library's trainer writes TensorBoard logs (losses, returns, the task's metrics); W&B's
`sync_tensorboard` sends those scalars to the W&B run as they are written, with the run's whole
config. The W&B run is named after the run's folder and keeps its files there (`<run>/wandb`);
`WANDB_MODE=offline` keeps everything local until `wandb sync`.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

from omegaconf import OmegaConf

from .run import Run


@contextlib.contextmanager
def wandb_run(cfg, run: Run) -> Iterator[object | None]:
    """While open, a W&B run for `run` when `cfg.wandb` is set and this is a training command on
    the main rank (else None); SystemExit saying what to install when wandb is missing."""
    if not cfg.get("wandb") or cfg.test or run.directory is None or not run.ranks.is_main:
        yield None
        return
    try:
        import wandb
    except ImportError:
        raise SystemExit("wandb=True needs Weights & Biases: pip install -e '.[wandb]' in the gpu-envs clone "
                         "(or pip install wandb)") from None
    logged = wandb.init(project=cfg.wandb_project, entity=cfg.wandb_entity or None, group=cfg.wandb_group or None,
                        name=os.path.basename(os.path.normpath(run.directory)), dir=run.directory,
                        config=OmegaConf.to_container(cfg, resolve=True), sync_tensorboard=True)
    try:
        yield logged
    finally:
        logged.finish()
