"""Policies from a training run: TorchScript for `python -m gpu_envs.play --checkpoint`, and ONNX
for deployment where the `onnx` package is installed.

Every library's exported policy has the same contract: one env's observations in, as the env
gives them (float32 (N, obs_dim) vectors or uint8 (N, H, W, C) images), and the deterministic
policy's mean actions out, (N, action_dim) float32, clamped to [-1, 1] (rsl_rl's exports give
its raw mean; the env clips actions to [-1, 1] either way). The library's
observation normalisation, frozen at its saved statistics, is inside the module. Load it with
`torch.jit.load(path, map_location=...)`; `.to(device)` moves it. The ONNX file holds the same
function, with one input "obs" and one output "actions", both batched along a dynamic axis 0.
"""

from __future__ import annotations

import os
import warnings

import gymnasium as gym
import numpy as np
import torch


def example_observation(space: gym.spaces.Box) -> torch.Tensor:
    """A zero observation of one env in `space`, with a batch axis of 1."""
    return torch.zeros((1, *space.shape), dtype=torch.from_numpy(np.asarray(space.low)).dtype)


def save_torchscript(policy: torch.nn.Module, observation_space: gym.spaces.Box, path: str) -> str:
    """Trace `policy` on one env's `observation_space`, on the device its weights are on, and
    save it as TorchScript at `path`, and as ONNX next to it (`path` with ".onnx") where the
    `onnx` package is installed; prints the paths and returns `path`. `policy` is left as it is
    (a live model of a training run can be exported without a copy)."""
    weights = [*policy.parameters(), *policy.buffers()]
    example = example_observation(observation_space).to(weights[0].device if weights else "cpu")
    with torch.no_grad():
        traced = torch.jit.trace(policy, (example,), check_trace=False)
    traced.save(path)
    print(f"policy (TorchScript): {path}", flush=True)
    save_onnx(traced, example, os.path.splitext(path)[0] + ".onnx")
    return path


def save_onnx(policy: torch.nn.Module, example: torch.Tensor, path: str) -> str | None:
    """`policy` as ONNX at `path` (input "obs" shaped like `example`, output "actions", dynamic
    batch axis), through torch's TorchScript-based exporter; returns `path`, or None (printing
    why) where the `onnx` package is missing or the export fails."""
    try:
        import onnx  # noqa: F401  (torch's exporter needs it)
    except ImportError:
        print("policy (ONNX): not written (pip install onnx)", flush=True)
        return None
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the exporter's deprecation and tracer warnings
            torch.onnx.export(policy, (example,), path, dynamo=False, input_names=["obs"], output_names=["actions"],
                              dynamic_axes={"obs": {0: "batch"}, "actions": {0: "batch"}})
    except Exception as err:  # noqa: BLE001  (ONNX is written where torch can; the run goes on)
        print(f"policy (ONNX): not written ({type(err).__name__}: {err})", flush=True)
        return None
    print(f"policy (ONNX): {path}", flush=True)
    return path
