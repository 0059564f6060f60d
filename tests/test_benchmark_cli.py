"""The throughput benchmark's command line, the scripts in benchmarks/ and tools/, and the CLI
module they share with play (tiny sizes on the CPU; real numbers come from the GPU)."""

import argparse
import json
import pathlib
import runpy

import gymnasium
import pytest

from gpu_envs import _cli, benchmark

ROOT = pathlib.Path(__file__).resolve().parent.parent
# every script whose command line takes env parameters (they must take them as --set)
SCRIPTS_WITH_ENV_PARAMS = ["benchmarks/adapter_overhead.py", "benchmarks/physics_profile.py",
                           "benchmarks/render_cost.py", "tools/hand_physics_check.py"]
OTHER_SCRIPTS = ["tools/per_call_probe.py", "tools/warp_cold_start_probe.py"]  # train_loop_breakdown.py: train.py's flags


def test_set_reaches_the_env_the_benchmark_builds(tmp_path, monkeypatch):
    built = []
    make_vec = gymnasium.make_vec

    def spy(env_id, **kwargs):
        env = make_vec(env_id, **kwargs)
        built.append((kwargs, env))
        return env

    monkeypatch.setattr(gymnasium, "make_vec", spy)
    out = tmp_path / "rows.json"
    assert benchmark.main(["--env", "GpuCartpole-v0", "--num-envs", "2", "--steps", "1", "--warmup", "0",
                           "--device", "cpu", "--set", "substeps=3", "--json", str(out)]) == 0
    ((kwargs, env),) = built
    assert kwargs["substeps"] == 3 and kwargs["num_envs"] == 2
    assert env.unwrapped.task.sim.substeps == 3  # the env really takes 3 physics steps per env step
    (row,) = json.loads(out.read_text())
    assert row["params"] == {"substeps": 3} and row["num_envs"] == 2
    assert row["step_per_s"] > 0 and row["ceiling_per_s"] > 0


def test_a_bad_set_item_is_one_error_line_before_any_env_is_built(capsys, monkeypatch):
    monkeypatch.setattr(gymnasium, "make_vec", lambda *a, **k: pytest.fail("built an env"))
    with pytest.raises(SystemExit) as exit_info:
        benchmark.main(["--env", "GpuCartpole-v0", "--set", "substeps"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "python -m gpu_envs.benchmark: error: env parameters take KEY=VALUE (got 'substeps')")


@pytest.mark.parametrize("args, message", [
    (["--steps", "0"], "argument --steps: must be a positive integer (got '0')"),
    (["--num-envs", "8,x"], "argument --num-envs: must be comma-separated positive integers (got '8,x')"),
    (["--image-size", "0"], "argument --image-size: must be comma-separated positive integers (got '0')"),
    (["--obs", "state,pixels"], "argument --obs: must be comma-separated modes of state, rgb, depth, rgbd, "
                                "state+rgb, state+depth, state+rgbd (got 'state,pixels')"),
])
def test_counts_and_modes_the_parser_cannot_take_are_refused_by_it(capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        benchmark.main(["--env", "GpuCartpole-v0", "--device", "cpu", *args])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"python -m gpu_envs.benchmark: error: {message}"


def test_time_steps_refuses_zero_timed_steps():
    with pytest.raises(ValueError, match="steps must be a positive int"):
        benchmark.time_steps(env=None, action=None, steps=0)


@pytest.mark.parametrize("item", ["substeps", "=3", ""])
def test_parse_params_refuses_an_item_without_a_key(item):
    with pytest.raises(_cli.UsageError, match=f"env parameters take KEY=VALUE \\(got '{item}'\\)") as err:
        _cli.parse_params(["substeps=4", item])
    assert isinstance(err.value, ValueError)


def test_parse_params_reads_python_literals_and_keeps_other_text():
    assert _cli.parse_params(["substeps=4", "timestep=0.0083", "object_mass_scale=(1.0, 1.0)", "asset=my.xml",
                              "name=a=b", "label="]) == {
        "substeps": 4, "timestep": 0.0083, "object_mass_scale": (1.0, 1.0), "asset": "my.xml",
        "name": "a=b", "label": ""}


def test_param_is_a_deprecated_spelling_of_set(capsys):
    parser = argparse.ArgumentParser(prog="tool")
    _cli.add_set_argument(parser)
    assert parser.parse_args([]).set == []
    assert parser.parse_args(["--set", "a=1", "--param", "b=2", "--set", "c=3"]).set == ["a=1", "b=2", "c=3"]
    assert capsys.readouterr().err.splitlines() == ["tool: warning: --param is deprecated, use --set"]
    assert "--param" not in parser.format_help()


@pytest.mark.parametrize("script", SCRIPTS_WITH_ENV_PARAMS + OTHER_SCRIPTS)
def test_each_script_imports_and_takes_env_parameters_as_set(capsys, script):
    """A script whose imports broke (a helper renamed in gpu_envs) fails here, not on the GPU machine."""
    main = runpy.run_path(str(ROOT / script), run_name="script_under_test")["main"]
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert ("--set" in text) == (script in SCRIPTS_WITH_ENV_PARAMS) and "--param" not in text


@pytest.mark.parametrize("flags, message", [
    (["--set", "foo=1"], "unknown parameter"), (["--device", "tpu"], "device must be"),
    (["--env", "Nope-v0"], "gpu_envs' env ids"), (["--backend", "warp", "--device", "cpu"], "CUDA GPUs only"),
])
def test_a_bad_env_request_is_an_argparse_error_not_a_traceback(capsys, flags, message):
    with pytest.raises(SystemExit) as exited:
        benchmark.main(["--num-envs", "2", "--steps", "1", *flags])
    assert exited.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("python -m gpu_envs.benchmark: error:") and message in last
