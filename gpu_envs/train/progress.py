"""The start-up lines, the live progress line every trainer prints, and the final summary."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

import torch

def task_metric_names(env) -> tuple[str, ...]:
    """The scalar metrics the task of `env` (a gpu_envs vector env, or a wrapper of one) declares:
    the keys of its `task.init_metrics()`, each a 0-d tensor in every step's infos (none for
    Cartpole)."""
    return tuple(env.unwrapped.task.init_metrics())


def read_metrics(latest: Mapping) -> dict[str, float]:
    """The task's metrics as floats, from their latest values (0-d tensors or arrays as the
    step's infos hold them), read to the host in one copy."""
    if not latest:
        return {}
    values = torch.stack([torch.as_tensor(v, dtype=torch.float32) for v in latest.values()])
    return dict(zip(latest, values.tolist()))


def task_metric_units(env) -> dict[str, str]:
    """The display units the task of `env` gives its metrics (`Task.metric_units`), by name."""
    return dict(env.unwrapped.task.metric_units)


def format_metric(name: str, value: float, unit: str = "") -> str:
    """One metric as the progress line shows it: its name with spaces for underscores, the
    value and its unit where it has one, e.g. 'mean forward speed  2.87 m/s'."""
    return f"{name.replace('_', ' ')} {value:5.2f}" + (f" {unit}" if unit else "")


def say(message: str, start: float) -> None:
    """Print a start-up progress line, stamped with the seconds since `start` (a perf_counter())."""
    print(f"[{time.perf_counter() - start:6.1f} s] {message}", flush=True)


class TimeLimitReached(KeyboardInterrupt):
    """Raised by Progress.update past `max_time`; trainers handle it like Ctrl-C (save, stop)."""


class Progress:
    """Prints one line per iteration: iteration, env steps/s since the previous line (env and
    learner), mean return and length of recent episodes, the task's metrics (its
    `init_metrics()` keys, e.g. AllegroHand's consecutive successes, Ant's mean forward speed;
    Cartpole has none), and wall time since the start."""

    def __init__(self, max_iterations: int, num_envs: int, start: float | None = None,
                 max_time: float | None = None, verbose: bool = True, units: Mapping[str, str] | None = None):
        """start: perf_counter() at the command's start (default: now); max_time: seconds after
        `start` at which update() raises TimeLimitReached (None: no limit); verbose: print
        (False on the ranks other than 0 of a multi-GPU run); units: the metrics' display units."""
        self.verbose = verbose
        self.units = dict(units or {})
        self.max_iterations = max_iterations
        self.num_envs = num_envs
        self.start = time.perf_counter() if start is None else start
        self.max_time = max_time
        self.best_return = -math.inf
        self.last = {}
        self._mark = (0, self.start)  # (env steps, time) at the previous line
        self._first_steps = 0  # env steps already done by a resumed checkpoint

    def resume_from(self, env_steps: int) -> None:
        """Count rates and the summary from `env_steps`, a resumed checkpoint's env steps."""
        self._first_steps = int(env_steps)
        self._mark = (self._first_steps, self._mark[1])

    def time_up(self) -> bool:
        """Whether max_time has passed since the start."""
        return self.max_time is not None and time.perf_counter() - self.start >= self.max_time

    def update(self, iteration: int, env_steps: int, mean_return: float, mean_length: float,
               metrics: Mapping[str, float] | None = None, stop: bool | None = None) -> None:
        """Record and print one iteration; raises TimeLimitReached when `stop` (None: `time_up()`).

        metrics: the task's metrics by name (their latest values), shown in the given order."""
        now = time.perf_counter()
        elapsed = now - self.start
        rate = (env_steps - self._mark[0]) / max(now - self._mark[1], 1e-9)  # since the previous line
        self._mark = (env_steps, now)
        if not math.isnan(mean_return):
            self.best_return = max(self.best_return, mean_return)
        self.last = {"iteration": iteration, "env_steps": env_steps, "elapsed_s": elapsed,
                     "mean_return": mean_return, "mean_length": mean_length,
                     "metrics": dict(metrics or {})}
        line = (f"it {iteration:>5}/{self.max_iterations} | {rate:>12,.0f} env steps/s | "
                f"return {mean_return:9.2f} | length {mean_length:6.1f}")
        for name, value in (metrics or {}).items():
            line += f" | {format_metric(name, value, self.units.get(name, ''))}"
        if self.verbose:
            print(line + f" | {elapsed:7.1f} s", flush=True)
        if self.time_up() if stop is None else stop:
            raise TimeLimitReached(f"max_time={self.max_time:g} s reached")

    def summary(self, checkpoint: str | None) -> None:
        """Print the run's last iteration, its own env steps and rate, and its returns."""
        if not self.verbose:
            return
        last = self.last
        if not last:
            print("no iteration finished", flush=True)
            return
        steps = last["env_steps"] - self._first_steps  # this run's, not the resumed checkpoint's
        resumed = f" (resumed at {self._first_steps:,})" if self._first_steps else ""
        print(f"done: {last['iteration']} iterations, {steps:,} env steps{resumed} in {last['elapsed_s']:.1f} s "
              f"({steps / max(last['elapsed_s'], 1e-9):,.0f} env steps/s, env + learner); "
              f"final mean return {last['mean_return']:.2f}, best {self.best_return:.2f}"
              + (f"; checkpoint {checkpoint}" if checkpoint else ""), flush=True)


def progress_for(cfg, num_envs: int, start: float | None = None, verbose: bool = True,
                 units: Mapping[str, str] | None = None) -> Progress:
    """The Progress of a run of `cfg`: max_epochs iterations, its max_time, clock from `start`.

    num_envs: envs over all ranks; start: perf_counter() at the command's start (None: now);
    verbose: False on the ranks that do not print; units: the task's metric units."""
    max_time = float(cfg.max_time) if cfg.max_time not in ("", None) else None
    return Progress(int(cfg.train.params.config.max_epochs), num_envs, start=start, max_time=max_time,
                    verbose=verbose, units=units)
