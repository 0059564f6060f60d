"""`python -m gpu_envs.play` argument checks and error reporting, through main(argv) in-process.

The runs that render frames or videos are in tests/test_rendering.py.
"""

import gymnasium
import pytest

from gpu_envs import play


def _main(tmp_path, *args):
    play.main(["--env", "GpuCartpole-v0", "--device", "cpu", "--frame", str(tmp_path / "f.png"), *args])


def _usage_error(capsys, tmp_path, *args) -> list[str]:
    """Run play with `args`, expecting exit status 2; returns the lines it wrote to stderr."""
    with pytest.raises(SystemExit) as exit_info:
        _main(tmp_path, *args)
    assert exit_info.value.code == 2
    return capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("flag, value", [("--steps", "-1"), ("--steps", "0"), ("--num-envs", "0"),
                                         ("--width", "-5"), ("--height", "abc")])
def test_play_rejects_a_count_that_is_not_a_positive_integer(capsys, tmp_path, flag, value):
    lines = _usage_error(capsys, tmp_path, flag, value)
    assert lines == [f"play: error: argument {flag}: must be a positive integer (got '{value}')"]


@pytest.mark.parametrize("args, message", [
    (["--set", "foo=1"], "unknown parameter(s) ['foo'] for GpuCartpole-v0"),  # TypeError
    (["--set", "asset='missing.xml'"], "model file not found: missing.xml"),  # AssetError
    (["--set", "max_effort"], "env parameters take KEY=VALUE (got 'max_effort')"),
    (["--env", "NoSuchEnv-v0"], "Environment `NoSuchEnv` doesn't exist"),
    (["--device", "bogus"], "device must be 'cpu', 'cuda' or 'cuda:N' (got 'bogus')"),  # ValueError
    (["--checkpoint", "missing_policy.pt"], "checkpoint not found: missing_policy.pt"),
])
def test_play_reports_a_user_error_as_one_line_with_status_2(capsys, tmp_path, args, message):
    lines = _usage_error(capsys, tmp_path, *args)
    assert len(lines) == 1 and lines[0].startswith("play: error: ") and message in lines[0]


@pytest.mark.parametrize("inputs, outputs, message", [
    (5, 1, "does not take GpuCartpole-v0's observations"),  # trained on a task with 5 observations
    (4, 3, "to actions"),  # 4 observations, as Cartpole's, but 3 actions
])
def test_play_refuses_a_policy_of_another_task_in_one_line(capsys, tmp_path, inputs, outputs, message):
    import torch

    path = tmp_path / "other_policy.pt"
    torch.jit.trace(torch.nn.Linear(inputs, outputs), torch.zeros(1, inputs)).save(str(path))
    lines = _usage_error(capsys, tmp_path, "--checkpoint", str(path))
    assert len(lines) == 1 and lines[0].startswith(f"play: error: {path} ") and message in lines[0]


def test_play_takes_the_benchmark_s_old_param_flag_with_a_deprecation_warning(capsys, tmp_path):
    lines = _usage_error(capsys, tmp_path, "--param", "foo=1")
    assert lines[0] == "python -m gpu_envs.play: warning: --param is deprecated, use --set"
    assert lines[1].startswith("play: error: cannot create GpuCartpole-v0: unknown parameter(s) ['foo']")


def test_play_without_a_display_asks_for_video_or_frame_in_one_line(capsys, monkeypatch):
    monkeypatch.setattr(play, "has_display", lambda: False)
    with pytest.raises(SystemExit) as exit_info:
        play.main(["--env", "GpuCartpole-v0", "--device", "cpu"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "play: error: no display here (DISPLAY is not set): use --video out.mp4 or --frame out.png"]


def test_play_keeps_the_traceback_of_other_errors_creating_the_env(tmp_path, monkeypatch):
    def broken_make_vec(*args, **kwargs):
        raise RuntimeError("a bug in env creation")

    monkeypatch.setattr(gymnasium, "make_vec", broken_make_vec)
    with pytest.raises(RuntimeError, match="a bug in env creation"):
        _main(tmp_path)


def test_play_refuses_a_negative_seed_and_a_frame_that_is_no_image_before_running(capsys):
    for argv, message in ((["--seed", "-1"], "--seed: must be a non-negative integer"),
                          (["--frame", "out.txt"], "--frame must name a .png or .jpg file")):
        with pytest.raises(SystemExit) as exited:
            play.main(["--env", "GpuCartpole-v0", "--device", "cpu", *argv])
        assert exited.value.code == 2 and message in capsys.readouterr().err


def test_a_vector_policy_given_dict_observations_is_refused_in_one_line():
    import torch

    from gpu_envs._cli import UsageError

    obs = {"state": torch.zeros(2, 4), "pixels": torch.zeros(2, 8, 8, 3, dtype=torch.uint8)}  # obs_mode="state+rgb"
    with pytest.raises(UsageError, match=r"does not take GpuCartpole-v0's observations \{'state': \(2, 4\) float32, "
                                         r"'pixels': \(2, 8, 8, 3\) uint8\}"):
        play.check_policy(torch.nn.Linear(4, 1), obs, (2, 1), "policy.pt", "GpuCartpole-v0")
