"""examples/ppo.py, the single-file PPO: it runs on the public API, prints one progress line per
iteration, bootstraps only time-limited episodes, stops where asked and saves a TorchScript
policy that maps observations to actions in [-1, 1]."""

import subprocess
import sys

import pytest
import torch

from test_train_cli import EXAMPLES


def _run(*args, tmp_path):
    out = subprocess.run([sys.executable, str(EXAMPLES / "ppo.py"), "--device", "cpu", *args,
                          "--out", str(tmp_path / "policy.pt")], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_two_iterations_print_progress_and_save_a_torchscript_policy(tmp_path):
    out = _run("--num-envs", "32", "--steps", "8", "--iterations", "2", tmp_path=tmp_path)
    lines = [line for line in out.splitlines() if line.startswith("it ")]
    assert len(lines) == 2 and "512 env steps" in lines[-1]  # 2 x 32 envs x 8 steps
    policy = torch.jit.load(str(tmp_path / "policy.pt"))
    actions = policy(torch.randn(5, 4) * 3)
    assert actions.shape == (5, 1) and bool((actions.abs() <= 1).all())


def test_bad_options_are_refused_by_name(tmp_path):
    out = subprocess.run([sys.executable, str(EXAMPLES / "ppo.py"), "--minibatches", "3", "--num-envs", "32",
                          "--steps", "8"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "--minibatches (3) must divide num_envs x steps (256)" in out.stderr


@pytest.mark.slow
def test_it_learns_cartpole_on_the_cpu(tmp_path):
    """512 envs for at most 60 iterations: the mean return passes 200 (random actions: about 20)."""
    out = _run("--num-envs", "512", "--iterations", "60", "--target-return", "200", tmp_path=tmp_path)
    assert "mean return" in out.splitlines()[-2] and ">= 200" in out.splitlines()[-2], out[-2000:]
