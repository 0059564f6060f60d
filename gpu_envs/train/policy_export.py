"""TorchScript policies from a training run, for `python -m gpu_envs.play --checkpoint`.

Every library's exported policy has the same contract: one env's observations in, as the env
gives them (float32 (N, obs_dim) vectors or uint8 (N, H, W, C) images), and the deterministic
policy's mean actions out, (N, action_dim) float32 clamped to [-1, 1]. The library's
observation normalisation, frozen at its saved statistics, is inside the module. Load it with
`torch.jit.load(path, map_location=...)`; `.to(device)` moves it.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch


def example_observation(space: gym.spaces.Box) -> torch.Tensor:
    """A zero observation of one env in `space`, with a batch axis of 1."""
    return torch.zeros((1, *space.shape), dtype=torch.from_numpy(np.asarray(space.low)).dtype)


def save_torchscript(policy: torch.nn.Module, observation_space: gym.spaces.Box, path: str) -> str:
    """Trace `policy` on one env's `observation_space`, on the device its weights are on, and
    save it as TorchScript at `path`; prints the path and returns it. `policy` is left as it is
    (a live model of a training run can be exported without a copy)."""
    weights = [*policy.parameters(), *policy.buffers()]
    example = example_observation(observation_space).to(weights[0].device if weights else "cpu")
    with torch.no_grad():
        traced = torch.jit.trace(policy, (example,), check_trace=False)
    traced.save(path)
    print(f"policy (TorchScript): {path}", flush=True)
    return path
