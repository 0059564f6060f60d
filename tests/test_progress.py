"""examples/trainers/progress.py: the progress line and summary of a resumed run count only its own env steps."""

import sys
import pathlib

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "examples"))

from trainers.progress import Progress  # noqa: E402


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
