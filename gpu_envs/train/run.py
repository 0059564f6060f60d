"""One training or replay command: its own output folder, its start time and its ranks."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import tempfile
from typing import Iterator

from .distributed import Ranks


@dataclasses.dataclass(frozen=True)
class Run:
    """What a trainer needs to know about the command it runs in.

    directory: the folder this run writes its checkpoints, logs and videos to (None: a replay
        that writes nothing); start: time.perf_counter() at the command's start, from which
        progress lines count; ranks: this process's place in a multi-process run.
    """

    directory: str | None
    start: float
    ranks: Ranks = Ranks()


def create_run_directory(train_dir: str, name: str, experiment: str | None = None,
                         now: datetime.datetime | None = None) -> str:
    """Create and return the folder of a new run under `train_dir`.

    `experiment` given: `train_dir/<experiment>`, reused when it exists (the user named it).
    Otherwise `train_dir/<name>_<YYYY-MM-DD_HH-MM-SS>` (`now`, default the current local time),
    with `_2`, `_3`, ... appended when that folder exists, so no two runs share a folder.
    """
    os.makedirs(train_dir, exist_ok=True)
    if experiment:
        path = os.path.join(train_dir, experiment)
        os.makedirs(path, exist_ok=True)
        return path
    stamp = (now or datetime.datetime.now()).strftime("%Y-%m-%d_%H-%M-%S")
    base = os.path.join(train_dir, f"{name}_{stamp}")
    path, n = base, 1
    while True:
        try:
            os.mkdir(path)  # fails if another run took it: mkdir is the claim
            return path
        except FileExistsError:
            n += 1
            path = f"{base}_{n}"


@contextlib.contextmanager
def open_run(cfg, start: float, ranks: Ranks = Ranks()) -> Iterator[Run]:
    """The Run of one command of examples/train.py's config `cfg`.

    Training, or recording videos, on rank 0: a new folder from `create_run_directory` (under
    `cfg.train_dir`, named by `cfg.experiment`, else by the task and the start time). The other
    ranks of a multi-process run write nothing there; libraries that create folders on every
    rank get a temporary one, removed on exit. A replay without video writes nothing (None).
    A new folder that is still empty when the command fails is removed.
    """
    writes = not cfg.test or cfg.video
    if ranks.is_main:
        directory = None
        if writes:
            directory = create_run_directory(cfg.train_dir, cfg.train.params.config.name, cfg.experiment or None)
        try:
            yield Run(directory, start, ranks)
        except BaseException:
            if directory and not cfg.experiment and not os.listdir(directory):
                os.rmdir(directory)  # failed before writing anything: leave no empty run folder
            raise
        return
    with tempfile.TemporaryDirectory(prefix=f"rank{ranks.rank}-") as scratch:
        yield Run(os.path.join(scratch, cfg.train.params.config.name), start, ranks)
