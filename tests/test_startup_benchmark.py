"""The start-up benchmark's bookkeeping (gpu_envs/startup_benchmark.py); its numbers come from the
GPU machine (docs/benchmarks.md)."""

import shlex
import sys

import pytest

from gpu_envs import startup_benchmark


def _command(script):
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}"


def test_phases_are_seconds_from_the_previous_mark_and_the_total_from_the_start():
    stamps = {"import_torch": 102.0, "import_gpu_envs": 105.0, "make_vec": 106.5, "first_reset": 107.0,
              "first_step": 111.0}
    phases = startup_benchmark._phases(100.0, stamps)
    assert phases == {"import_torch": 2.0, "import_gpu_envs": 3.0, "make_vec": 1.5, "first_reset": 0.5,
                      "first_step": 4.0, "total": 11.0}


def test_a_training_command_is_timed_to_its_first_iteration_and_stopped_there():
    script = ("import time\nprint('[   1.0 s] creating the env', flush=True)\nprint('not a stamp', flush=True)\n"
              "print('it     1/5 | return 1.0', flush=True)\ntime.sleep(60)")
    row = startup_benchmark._train_run(_command(script), {})
    assert 0 < row["first_iteration_s"] < 30  # it did not wait for the sleep
    assert row["progress_lines"] == ["[   1.0 s] creating the env"]


def test_a_training_command_that_ends_early_is_reported_with_its_output():
    with pytest.raises(SystemExit, match="ended before its first iteration (.*):\n.*no such task"):
        startup_benchmark._train_run(_command("print('no such task')"), {})


def test_the_env_phases_run_in_order_on_the_cpu():
    report = startup_benchmark.child({"import_torch": 0.0, "import_gpu_envs": 0.0}, "GpuCartpole-v0", 2, "cpu", None)
    stamps = report["stamps"]
    assert stamps["make_vec"] <= stamps["first_reset"] <= stamps["first_step"]
    assert report["backend"] == "jax" and report["warp_modules_built"] is None


def test_a_training_command_that_never_iterates_is_stopped_at_the_timeout():
    with pytest.raises(SystemExit, match="ran past 1 s"):
        startup_benchmark._train_run(_command("import time; time.sleep(60)"), {}, timeout=1)


def test_runs_use_gpu_envs_jax_cache_not_the_users(monkeypatch):
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", "/users/own/cache")
    env = startup_benchmark._environment({"GPU_ENVS_JAX_CACHE": "/run/jax"})
    assert env["GPU_ENVS_JAX_CACHE"] == "/run/jax" and "JAX_COMPILATION_CACHE_DIR" not in env


def test_warm_runs_reuse_the_cold_runs_cache_folders_and_training_gets_its_own(monkeypatch):
    seen = []
    monkeypatch.setattr(startup_benchmark, "_env_run", lambda args, caches: seen.append(("env", caches)) or {})
    monkeypatch.setattr(startup_benchmark, "_train_run", lambda cmd, caches: seen.append(("train", caches)) or {})
    args = startup_benchmark.argparse.Namespace(env="GpuCartpole-v0", num_envs=2, train="python train.py")
    rows = startup_benchmark.run(args)
    assert [(r["run"], r["cache"]) for r in rows] == [("env", "cold"), ("env", "warm"), ("train", "cold"),
                                                      ("train", "warm")]
    (_, env_cold), (_, env_warm), (_, train_cold), (_, train_warm) = seen
    assert env_cold == env_warm and train_cold == train_warm
    assert set(env_cold) == set(startup_benchmark.CACHE_VARIABLES)
    assert not set(env_cold.values()) & set(train_cold.values())
