"""examples/ppo.py, the single-file PPO: it learns Cartpole on the public API, prints one progress
line per iteration, stops at its target return and saves a TorchScript policy that maps
observations to actions in [-1, 1]; bad options are refused by name."""

import importlib.util
import math
import re

import pytest
import torch

from test_train_cli import EXAMPLES


def _ppo_module():
    spec = importlib.util.spec_from_file_location("single_file_ppo", EXAMPLES / "ppo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_it_learns_cartpole_stops_at_its_target_and_saves_a_torchscript_policy(tmp_path, capsys):
    """64 envs, 16 steps an iteration, at most 80 iterations: the mean return passes 60 (a random
    policy's is about 20), the run stops there and writes the policy."""
    _ppo_module().main(["--device", "cpu", "--num-envs", "64", "--iterations", "80", "--target-return", "60",
                        "--out", str(tmp_path / "policy.pt")])
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("it ")]
    iterations = int(re.match(r"it +(\d+)", lines[-1]).group(1))
    assert iterations < 80 and f"{iterations * 64 * 16:,} env steps" in lines[-1]
    assert re.search(r"mean return \d+\.\d\d >= 60 at", out), out[-2000:]
    policy = torch.jit.load(str(tmp_path / "policy.pt"))
    actions = policy(torch.randn(5, 4) * 3)
    assert actions.shape == (5, 1) and bool((actions.abs() <= 1).all())


def test_iterations_default_to_1000_and_are_unlimited_under_max_time():
    module = _ppo_module()
    assert module.parse_args([]).iterations == 1000
    assert module.parse_args(["--max-time", "5"]).iterations == math.inf
    assert module.parse_args(["--max-time", "5", "--iterations", "7"]).iterations == 7


def test_a_run_stops_after_its_iterations(tmp_path, capsys):
    _ppo_module().main(["--device", "cpu", "--num-envs", "8", "--steps", "4", "--iterations", "2",
                        "--target-return", "1e9", "--out", str(tmp_path / "policy.pt")])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("it ")]
    assert [line.split("|")[0].strip() for line in lines] == ["it     1", "it     2"]


def test_the_policy_starts_from_log_std_minus_a_half_by_default():
    module = _ppo_module()
    assert module.parse_args([]).init_log_std == -0.5
    assert module.Agent(4, 2, [8]).log_std.tolist() == [-0.5, -0.5]


def test_a_run_starts_its_policy_from_the_chosen_log_std(tmp_path):
    """One iteration moves the learned log std by at most a few learning rates (Adam)."""
    _ppo_module().main(["--device", "cpu", "--num-envs", "8", "--steps", "4", "--iterations", "1",
                        "--init-log-std", "-2", "--out", str(tmp_path / "policy.pt")])
    log_std = torch.jit.load(str(tmp_path / "policy.pt")).log_std
    assert abs(float(log_std) + 2.0) < 0.05


@pytest.mark.parametrize("args, message", [
    (["--minibatches", "3", "--num-envs", "32", "--steps", "8"], "--minibatches (3) must divide num_envs x steps (256)"),
    (["--num-envs", "0"], "--num-envs must be at least 1 (got 0)"),
    (["--hidden", "64,x"], "--hidden takes comma-separated layer sizes, e.g. 256,256 (got '64,x')"),
    (["--init-log-std", "nan"], "--init-log-std must be a finite number (got nan)"),
])
def test_bad_options_are_refused_by_name(capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        _ppo_module().parse_args(args)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_its_adam_takes_the_same_steps_as_torch_optim_adam():
    """ppo.py's Adam (torch's functional update without torch.optim.Optimizer) gives the same
    parameters as torch.optim.Adam after a few steps on the same gradients."""
    torch.manual_seed(0)
    ours, reference = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    reference.load_state_dict(ours.state_dict())
    initial = ours.weight.detach().clone()
    optimizers = (_ppo_module().Adam(ours.parameters(), lr=0.1, eps=1e-5),
                  torch.optim.Adam(reference.parameters(), lr=0.1, eps=1e-5))
    for _ in range(5):
        x = torch.randn(8, 3)
        for model, optimizer in zip((ours, reference), optimizers):
            model.zero_grad()
            (model(x) ** 2).sum().backward()
            optimizer.step()
    assert (ours.weight - initial).abs().max() > 0.1  # it moved (Adam steps are about lr each)
    torch.testing.assert_close(ours.state_dict(), reference.state_dict())
