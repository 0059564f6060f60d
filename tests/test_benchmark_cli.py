"""The throughput benchmark's command line (tiny sizes on the CPU; real numbers come from the GPU)."""

import json

import pytest

from gpu_envs import benchmark


def test_param_reaches_the_env_and_the_row(tmp_path):
    out = tmp_path / "rows.json"
    assert benchmark.main(["--env", "GpuCartpole-v0", "--num-envs", "8", "--steps", "2", "--warmup", "1",
                           "--device", "cpu", "--param", "substeps=3", "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text())
    assert row["params"] == {"substeps": 3}
    assert row["physics_steps_per_s"] == row["step_per_s"] * 3  # the env really took 3 substeps
    assert row["num_envs"] == 8 and row["step_per_s"] > 0 and row["ceiling_per_s"] > 0


def test_zero_timed_steps_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="steps must be a positive int"):
        benchmark.main(["--env", "GpuCartpole-v0", "--num-envs", "8", "--steps", "0", "--device", "cpu"])
