"""Where an rl_games PPO iteration's time goes: `examples/train.py` with timers around rl_games' phases.

    python benchmarks/train_loop_breakdown.py task=AllegroHand max_iterations=110   # any train.py overrides

Each timed phase is bracketed by `torch.cuda.synchronize()`, so GPU work is charged to the phase
that queued it (the syncs cost the loop a little). With `cuda_graph` on (the configs' default)
a minibatch update is one graph replay, so its loss and clip+Adam sub-phases are only timed in
the eager warm-up updates; `train.params.config.cuda_graph=False` times rl_games' eager path.
The per-step timers (rollout/env_step, rollout/policy) synchronise on every env step, which
undoes the sync-free rollout's overlap of host and GPU work (gpu_envs/train/rollout.py);
BREAKDOWN_STEPS=0 leaves them out, so the rollout is timed as it runs in training. The first
BREAKDOWN_SKIP iterations (default 30: compile and warm-up) are left out. At exit it prints
milliseconds per iteration per phase; nested phases (rollout/env_step inside rollout) are also
counted in their parent. The timers wrap the methods of gpu_envs.train's own agent class
(`TrainerAgent`, which train.py builds), in this process only; rl_games' classes are untouched.
"""

from __future__ import annotations

import atexit
import collections
import os
import pathlib
import runpy
import sys
import time

import torch

from gpu_envs.train import load_trainer

SKIP = int(os.environ.get("BREAKDOWN_SKIP", 30))
STEP_TIMERS = os.environ.get("BREAKDOWN_STEPS", "1") != "0"
TRAIN = pathlib.Path(__file__).resolve().parent.parent / "examples" / "train.py"

_sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
_seconds = collections.defaultdict(float)
_calls = collections.Counter()
_iteration = [0]


def _timed(agent_class: type, method: str, phase: str, counts_iterations: bool = False) -> None:
    """Time `agent_class.<method>` (its own or the one it inherits from rl_games) as `phase`."""
    inner = getattr(agent_class, method)

    def wrapper(self, *args, **kwargs):
        if counts_iterations:
            _iteration[0] += 1
        if _iteration[0] <= SKIP or (torch.cuda.is_available() and torch.cuda.is_current_stream_capturing()):
            return inner(self, *args, **kwargs)
        _sync()
        start = time.perf_counter()
        result = inner(self, *args, **kwargs)
        _sync()
        _seconds[phase] += time.perf_counter() - start
        _calls[phase] += 1
        return result

    setattr(agent_class, method, wrapper)


def install_timers() -> None:
    """Wrap the phases of the agent train.py builds in timers (nested phases: parent/child)."""
    agent = load_trainer("rl_games").TrainerAgent
    _timed(agent, "train_epoch", "iteration", counts_iterations=True)
    _timed(agent, "play_steps", "rollout")  # sync-free or rl_games' loop, whichever the agent runs
    if STEP_TIMERS:
        _timed(agent, "env_step", "rollout/env_step")
        _timed(agent, "get_action_values", "rollout/policy")
    _timed(agent, "prepare_dataset", "prepare_dataset")
    _timed(agent, "calc_gradients", "minibatch")  # graphed or eager
    _timed(agent, "calc_losses", "minibatch/losses")
    _timed(agent, "trancate_gradients_and_step", "minibatch/clip+adam")


@atexit.register
def _report() -> None:
    iterations = _calls["iteration"]
    if not iterations:
        print(f"\nno iteration after the first {SKIP} to time (BREAKDOWN_SKIP)")
        return
    print(f"\n== per iteration, mean of iterations {SKIP + 1}-{SKIP + iterations} ==")
    for phase in sorted(_seconds):
        per_iteration = 1000 * _seconds[phase] / iterations
        per_call = 1000 * _seconds[phase] / _calls[phase]
        print(f"{phase:22s} {per_iteration:8.2f} ms  ({_calls[phase] / iterations:.0f} calls, {per_call:.2f} ms each)")


if __name__ == "__main__":
    install_timers()
    sys.argv = [str(TRAIN)] + sys.argv[1:]
    runpy.run_path(str(TRAIN), run_name="__main__")
