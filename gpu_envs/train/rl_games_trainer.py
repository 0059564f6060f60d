"""Train or replay with rl_games' a2c_continuous PPO on an already created gpu_envs env."""

from __future__ import annotations

import copy
import math
import os

import torch
from omegaconf import OmegaConf
from rl_games.common.algo_observer import AlgoObserver
from rl_games.torch_runner import Runner

from gpu_envs.wrappers.rl_games import RlGamesVecEnv, registered_instance

from .distributed import MetricReducer, report_sync
from .graphed_update import GraphedA2CAgent
from .policy_export import save_torchscript
from .progress import (Progress, TimeLimitReached, progress_for, read_metrics, task_metric_names,
                       task_metric_units)
from .resume import check_resume
from .rollout import SyncFreeRollout
from .run import Run


class TrainerAgent(SyncFreeRollout, GraphedA2CAgent):
    """rl_games' a2c_continuous agent with a graphed minibatch update (`cuda_graph`) and a
    rollout without a host sync per env step (`sync_free_rollout`), each where supported."""


class ProgressObserver(AlgoObserver):
    """Feeds rl_games' per-epoch statistics to the progress line and TensorBoard.

    After each rollout (`after_steps`, on every rank) the recent-episode statistics and the
    task's metrics (`metric_names`: the keys of `task.init_metrics()`, 0-d tensors in every
    step's infos) are averaged over ranks and max_time is checked for all of them at once;
    rank 0 prints them and logs each metric as `<name>/step` and `<name>/iter`
    (`after_print_stats`, rank 0 only).
    """

    def __init__(self, progress: Progress, reducer: MetricReducer, metric_names: tuple[str, ...] = ()):
        super().__init__()
        self.progress = progress
        self.reducer = reducer
        self.metric_names = tuple(metric_names)
        self.metrics = {}  # name -> the latest step's value (a device tensor, read once per iteration)
        self.means = (math.nan, math.nan, {})  # return, length, metrics over ranks

    def after_init(self, algo):
        self.algo = algo

    def process_infos(self, infos, done_indices):
        if isinstance(infos, dict):
            self.metrics.update((name, infos[name]) for name in self.metric_names if name in infos)

    def after_steps(self):
        algo = self.algo
        n = float(algo.game_rewards.current_size)  # rl_games keeps a window of the latest episodes
        r = float(algo.game_rewards.get_mean()[0]) * n if n else 0.0
        length = float(algo.game_lengths.get_mean()) * n if n else 0.0
        latest = {name: self.metrics[name] for name in self.metric_names if name in self.metrics}
        n, r, length, metrics, stop = self.reducer.reduce(r, length, n, read_metrics(latest), self.progress.time_up())
        self.means = (r / n if n else math.nan, length / n if n else math.nan, metrics)
        if stop:
            raise TimeLimitReached(f"max_time={self.progress.max_time:g} s reached")

    def after_print_stats(self, frame, epoch_num, total_time):
        mean_return, mean_length, metrics = self.means
        for name, value in metrics.items():
            self.algo.writer.add_scalar(f"{name}/step", value, frame)
            self.algo.writer.add_scalar(f"{name}/iter", value, epoch_num)
        # rl_games passes the env steps before this iteration's; its own count has them
        self.progress.update(epoch_num, self.algo.frame, mean_return, mean_length, metrics, stop=False)


class DeterministicPolicy(torch.nn.Module):
    """rl_games' actor as a plain module: observations (N, *obs_shape) -> mean actions in [-1, 1].
    uint8 images are scaled to [0, 1] first, as rl_games does in training."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if obs.dtype == torch.uint8:
            obs = obs.float() / 255.0
        mu = self.model.a2c_network({"obs": self.model.norm_obs(obs)})[0]
        return torch.clamp(mu, -1.0, 1.0)


def export_policy(model, observation_space, path: str) -> str:
    """Write the deterministic policy of rl_games `model`, for one env's `observation_space` (a
    Box: a vector, or uint8 images), as TorchScript (CPU) to `path` (`policy_export`)."""
    return save_torchscript(DeterministicPolicy(copy.deepcopy(model).cpu().eval()), observation_space, path)


def compile_model(agent, mode) -> None:
    """Apply torch.compile to the agent's model as rl_games' own Runner does for `torch_compile`
    (False: off; True: mode "default"; or a mode name such as "reduce-overhead"), after any
    restore so that checkpoint keys match. Checkpoints saved from it load uncompiled."""
    if mode is False or mode is None:
        return
    agent.model = torch.compile(agent.model, mode="default" if mode is True else str(mode))


def uncompiled(model):
    """The module under a torch.compile wrapper (the module itself if not compiled)."""
    return getattr(model, "_orig_mod", model)


def _runner(env, cfg, directory: str | None, observer: AlgoObserver) -> Runner:
    """An rl_games Runner for the train config of `cfg` on `env`, writing under `directory`."""
    params = OmegaConf.to_container(cfg.train.params, resolve=True)
    config = params["config"]
    train_dir, experiment = os.path.split(directory) if directory else (cfg.train_dir, config["name"])
    config.update(full_experiment_name=experiment, env_name=cfg.task.env.id, num_actors=env.num_envs,
                  device=str(env.device), device_name=str(env.device), multi_gpu=cfg.multi_gpu,
                  train_dir=train_dir, env_config={})
    if config["minibatch_size"] > env.num_envs * config["horizon_length"]:  # tiny runs (tests, debugging)
        config["minibatch_size"] = env.num_envs * config["horizon_length"]
    params["seed"] = cfg.seed
    runner = Runner(algo_observer=observer)
    runner.algo_factory.register_builder("a2c_continuous", lambda **kwargs: TrainerAgent(**kwargs))
    runner.load({"params": params})
    return runner


def create_agent(env, cfg, run: Run, progress: Progress) -> TrainerAgent:
    """rl_games' training agent for `env` (already compiled) and `cfg`'s train config; its
    checkpoints and TensorBoard logs go to `run.directory` (nn/, summaries/)."""
    observer = ProgressObserver(progress, MetricReducer(run.ranks, env.device), task_metric_names(env))
    runner = _runner(env, cfg, run.directory, observer)
    with registered_instance(cfg.task.env.id, RlGamesVecEnv(env, seed=cfg.seed)):
        return runner.algo_factory.create(runner.algo_name, base_name="run", params=runner.params)


def train(env, cfg, run: Run) -> str:
    """Train; returns the path of the last checkpoint written. Ctrl-C saves one and stops.

    Resuming (`cfg.checkpoint`) continues the checkpoint's iteration count up to max_iterations;
    a checkpoint at or past it is refused (SystemExit) before anything is written.
    multi_gpu: rl_games' own mode (it starts the NCCL process group and averages gradients);
    rank 0 prints, logs and saves.
    """
    check_resume("rl_games", cfg.checkpoint, int(cfg.train.params.config.max_epochs))
    ranks = run.ranks
    progress = progress_for(cfg, env.num_envs * ranks.world_size, start=run.start, verbose=ranks.is_main,
                            units=task_metric_units(env))
    agent = create_agent(env, cfg, run, progress)
    if cfg.checkpoint:
        agent.restore(cfg.checkpoint)
        progress.resume_from(agent.frame)
    compile_model(agent, agent.config.get("torch_compile", False))
    name = agent.config["name"]
    try:
        agent.train()
        path = os.path.join(agent.nn_dir, name)
    except KeyboardInterrupt as err:
        path = os.path.join(agent.nn_dir, f"{name}_interrupted")
        if ranks.is_main:
            print(f"\nstopped ({err or 'Ctrl-C'}): saving {path}.pth", flush=True)
    model = uncompiled(agent.model)
    report_sync(ranks, model)
    if ranks.is_main:
        agent.save(path)
        export_policy(model, env.single_observation_space, path + "_policy.pt")
    progress.summary(path + ".pth")
    return path + ".pth"


def play(env, cfg, run: Run) -> None:
    """Replay `cfg.checkpoint` deterministically; rl_games prints the mean return."""
    if not cfg.checkpoint:
        raise SystemExit("test=True needs checkpoint=path/to/checkpoint.pth")
    observer = ProgressObserver(Progress(0, env.num_envs, start=run.start), MetricReducer(run.ranks, env.device))
    runner = _runner(env, cfg, run.directory, observer)
    with registered_instance(cfg.task.env.id, RlGamesVecEnv(env, seed=cfg.seed)):
        player = runner.create_player()
    player.restore(cfg.checkpoint)
    if cfg.export_policy:
        export_policy(player.model, env.single_observation_space, cfg.export_policy)
    player.run()
