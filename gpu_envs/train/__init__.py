"""Reference PPO training of gpu_envs tasks with rl_games, skrl, Stable-Baselines3 or rsl_rl (optional part).

Needs `pip install "gpu-envs[examples]"` (Hydra's OmegaConf configs) plus the library's extra
(`rl-games`, `skrl`, `sb3` or `rsl-rl`); `import gpu_envs` never imports this package. examples/train.py
is its command line:

    from gpu_envs.train import load_trainer
    trainer = load_trainer("rl_games")   # the module gpu_envs.train.rl_games_trainer
    trainer.train(env, cfg, run)         # cfg: examples/cfg's config; run: gpu_envs.train.run.Run

Each trainer module exposes `train(env, cfg, run)` and `play(env, cfg, run)`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

LIBRARIES = ("rl_games", "skrl", "sb3", "rsl_rl")


def load_trainer(library: str) -> ModuleType:
    """Import `library` (with the adaptations its import needs, see `library_import`) and
    return its trainer module. Raises ValueError for a library not in LIBRARIES."""
    if library not in LIBRARIES:
        raise ValueError(f"library must be one of {LIBRARIES} (got {library!r})")
    from .library_import import import_library

    import_library(library)
    return importlib.import_module(f"{__name__}.{library}_trainer")
