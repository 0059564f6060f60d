"""gpu_envs.train.progress: the progress line and summary of a run."""

import types

from gpu_envs.train.progress import Progress, progress_for


def test_resumed_run_counts_its_own_env_steps(capsys):
    progress = Progress(10, num_envs=4, start=0.0)
    progress.resume_from(1_000_000)
    progress.update(6, 1_000_000, 1.0, 2.0)  # the first line after the restore
    progress.update(7, 1_000_064, 1.0, 2.0)
    progress.summary(None)
    lines = capsys.readouterr().out.splitlines()
    rate_of_first_line = float(lines[0].split("|")[1].split()[0].replace(",", ""))
    assert rate_of_first_line == 0.0  # not 1M steps over the start-up time
    assert lines[-1].startswith("done: 7 iterations, 64 env steps (resumed at 1,000,000) in ")


def test_progress_of_a_run_counts_from_the_start_it_is_given(monkeypatch):
    import __main__

    monkeypatch.setattr(__main__, "START", 1.0, raising=False)  # a script's global is not read
    cfg = types.SimpleNamespace(max_time=30, train=types.SimpleNamespace(
        params=types.SimpleNamespace(config=types.SimpleNamespace(max_epochs=5))))
    progress = progress_for(cfg, 16, start=123.5, verbose=False)
    assert (progress.start, progress.max_time, progress.max_iterations, progress.num_envs) == (123.5, 30.0, 5, 16)
