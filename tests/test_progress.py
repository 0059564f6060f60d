"""gpu_envs.train.progress: the progress line and summary of a run."""

import re
import types

import numpy as np
import pytest
import torch

from gpu_envs.train.progress import Progress, progress_for, read_metrics, task_metric_names, task_metric_units


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


def _line(capsys, metrics, units=None):
    Progress(3, num_envs=4, start=0.0, units=units).update(1, 64, 12.5, 8.0, metrics)
    line, = capsys.readouterr().out.splitlines()
    return line


def test_progress_line_shows_each_task_metric_by_name_with_the_task_unit(capsys):
    # AllegroHand's metric reads as it always has; Ant's has a unit; one without a unit shows none
    assert "| length    8.0 | consecutive successes  3.21 | " in _line(capsys, {"consecutive_successes": 3.214})
    units = {"mean_forward_speed": "m/s"}
    assert "| length    8.0 | mean forward speed  2.87 m/s | " in _line(capsys, {"mean_forward_speed": 2.871}, units)
    line = _line(capsys, {"mean_forward_speed": -0.5, "my_metric": 10.0}, units)  # in the order given
    assert "| mean forward speed -0.50 m/s | my metric 10.00 | " in line
    for none in ({}, None):  # a task without metrics (Cartpole): nothing between the length and the time
        assert re.fullmatch(r"it +1/3 \| +[\d,]+ env steps/s \| return +12\.50 \| length +8\.0 \| +[\d.]+ s",
                            _line(capsys, none))


def test_progress_record_keeps_the_metrics_of_the_last_line():
    progress = Progress(3, num_envs=4, start=0.0, verbose=False)
    progress.update(1, 64, 1.0, 2.0, {"mean_forward_speed": 1.25})
    assert progress.last["metrics"] == {"mean_forward_speed": 1.25}
    progress.update(2, 128, 1.0, 2.0)
    assert progress.last["metrics"] == {}


def test_metric_names_come_from_the_task_and_values_are_read_in_one_go():
    task = types.SimpleNamespace(init_metrics=lambda: {"consecutive_successes": 0.0, "mean_forward_speed": 0.0},
                                 metric_units={"mean_forward_speed": "m/s"})
    env = types.SimpleNamespace(unwrapped=types.SimpleNamespace(task=task))
    assert task_metric_names(env) == ("consecutive_successes", "mean_forward_speed")
    assert task_metric_units(env) == {"mean_forward_speed": "m/s"}
    latest = {"a": torch.tensor(1.5), "b": np.array(2.0, dtype=np.float32)}
    assert read_metrics(latest) == {"a": 1.5, "b": 2.0} and read_metrics({}) == {}


def test_metrics_are_averaged_over_ranks(monkeypatch):
    from gpu_envs.train import distributed
    from gpu_envs.train.distributed import MetricReducer, Ranks

    one = MetricReducer(Ranks(), "cpu")  # one process: passed through
    assert one.reduce(6.0, 8.0, 2.0, {"mean_forward_speed": 1.5}, False) == (2.0, 6.0, 8.0, {"mean_forward_speed": 1.5},
                                                                               False)
    assert one.reduce(0.0, 0.0, 0.0, {}, True) == (0.0, 0.0, 0.0, {}, True)

    other_rank = torch.tensor([4.0, 2.0, 1.0, 1.0, 0.5, 3.0], dtype=torch.float64)  # sums, time up, two metrics
    monkeypatch.setattr(distributed.dist, "all_reduce", lambda tensor, op: tensor.add_(other_rank))
    two = MetricReducer(Ranks(rank=0, local_rank=0, world_size=2), "cpu")
    n, r, length, metrics, up = two.reduce(6.0, 8.0, 2.0, {"consecutive_successes": 1.5, "mean_forward_speed": 1.0},
                                           False)
    assert (n, r, length, up) == (3.0, 10.0, 10.0, True)  # sums summed; any rank past max_time stops all
    assert metrics == {"consecutive_successes": 1.0, "mean_forward_speed": 2.0}  # metrics averaged


def test_rl_games_observer_reports_and_logs_every_task_metric():
    pytest.importorskip("rl_games")
    from gpu_envs.train.distributed import MetricReducer, Ranks
    from gpu_envs.train.rl_games_trainer import ProgressObserver

    class Meter:  # rl_games' AverageMeter: its window's size and mean
        current_size = 2

        def __init__(self, mean):
            self.mean = mean

        def get_mean(self):
            return self.mean

    class Writer:
        def __init__(self):
            self.scalars = []

        def add_scalar(self, tag, value, step):
            self.scalars.append((tag, value, step))

    progress = Progress(3, num_envs=4, start=0.0, verbose=False)
    observer = ProgressObserver(progress, MetricReducer(Ranks(), "cpu"), ("mean_forward_speed",))
    observer.after_init(types.SimpleNamespace(game_rewards=Meter(np.array([5.0])), game_lengths=Meter(np.array(8.0)),
                                              writer=Writer(), frame=128))
    for speed in (0.5, 2.25):  # the latest step's value counts
        observer.process_infos({"mean_forward_speed": torch.tensor(speed), "forward_speed": torch.ones(4)}, None)
    observer.after_steps()
    observer.after_print_stats(64, 2, 1.0)
    assert progress.last["metrics"] == {"mean_forward_speed": 2.25} and progress.last["mean_length"] == 8.0
    assert observer.algo.writer.scalars == [("mean_forward_speed/step", 2.25, 64), ("mean_forward_speed/iter", 2.25, 2)]


def test_sb3_tap_keeps_the_latest_steps_metrics():
    pytest.importorskip("stable_baselines3")
    import gymnasium as gym

    from gpu_envs.train.sb3_trainer import MetricsTap

    class Env(gym.vector.VectorEnv):  # what MetricsTap reads of a gpu_envs env
        num_envs = 2
        task = types.SimpleNamespace(init_metrics=lambda: {"mean_forward_speed": 0.0})
        speed = 0.0

        def step_numpy(self, actions):
            self.speed += 1.5
            infos = {"mean_forward_speed": np.array(self.speed, np.float32), "forward_speed": np.ones(2)}
            return None, None, None, None, infos

    tap = MetricsTap(Env())
    tap.step_numpy(None)
    tap.step_numpy(None)
    assert tap.latest == {"mean_forward_speed": 3.0} and tap.num_envs == 2  # other attributes: the env's


def test_iteration_tracker_prints_a_line_per_rollout_numbered_after_a_resumed_checkpoint(cartpole, capsys):
    """The skrl and rsl_rl paths' tracker: one line every `rollouts` steps, with the finished
    episodes' mean return; after `resume(3)` the lines go on at iteration 4 and count env steps
    from the checkpoint's."""
    from gpu_envs.train.tracking import IterationTracker

    tracker = IterationTracker(cartpole, Progress(10, cartpole.num_envs), rollouts=2)
    tracker.resume(3)
    done = torch.tensor([True, False, True, False])
    infos = {"_episode": done, "episode": {"r": torch.tensor([10.0, 0.0, 20.0, 0.0]), "l": torch.tensor([5, 0, 7, 0])}}
    tracker.record(infos)
    assert capsys.readouterr().out == ""  # mid-rollout
    tracker.record(infos)
    line = capsys.readouterr().out
    assert re.match(r"it +4/10 \|", line) and "return     15.00 | length    6.0" in line
    assert tracker.progress.last["env_steps"] == 4 * 2 * cartpole.num_envs
