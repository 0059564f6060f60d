"""Train or replay with skrl's PPO, mapping the rl_games-format hyperparameters of cfg.train."""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

import skrl
import torch
from omegaconf import OmegaConf
from skrl.agents.torch.ppo import PPO, PPO_CFG
from skrl.memories.torch import RandomMemory
from skrl.resources.preprocessors.torch import RunningStandardScaler
from skrl.resources.schedulers.torch import KLAdaptiveLR
from skrl.trainers.torch import SequentialTrainer
from skrl.utils import set_seed
from skrl.utils.model_instantiators.torch import deterministic_model, gaussian_model

from gpu_envs.wrappers.skrl import SkrlVecEnv

from .distributed import MetricReducer, Ranks, init_process_group, report_sync
from .policy_export import save_torchscript
from .progress import Progress, progress_for, task_metric_units
from .run import Run
from .tracking import IterationTracker

_DISTRIBUTED_FIELDS = ("_rank", "_local_rank", "_world_size", "_is_distributed")


@contextlib.contextmanager
def skrl_distributed(ranks: Ranks, device) -> Iterator[None]:
    """While open, skrl runs in its distributed mode over `ranks` (parameter broadcast when an
    agent is created, gradient all-reduce, rank 0 alone writes), in the process group this
    starts (NCCL on GPUs, gloo on the CPU; gpu_envs.train.library_import keeps skrl from
    starting its own NCCL-only one at import). skrl reads its mode from `skrl.config.torch`,
    set only from the environment at import and without setters, so its fields are set here
    and put back on exit. A single-process `ranks` changes nothing."""
    if not ranks.distributed:
        yield
        return
    init_process_group(ranks, str(device))
    config = skrl.config.torch
    saved = {field: getattr(config, field) for field in _DISTRIBUTED_FIELDS}
    config._rank, config._local_rank = ranks.rank, ranks.local_rank
    config._world_size, config._is_distributed = ranks.world_size, True
    try:
        yield
    finally:
        for field, value in saved.items():
            setattr(config, field, value)


class TrackedEnv(SkrlVecEnv):
    """SkrlVecEnv that prints a progress line every `rollouts` steps (`IterationTracker`). With
    `agent` set (an skrl agent that writes TensorBoard logs), each task metric is also logged
    there as `Task / <name>`."""

    def __init__(self, env, seed, progress: Progress, rollouts: int, reducer: MetricReducer | None = None):
        super().__init__(env, seed=seed)
        self.tracker = IterationTracker(env, progress, rollouts, reducer)
        self.agent = None

    def step(self, actions):
        out = super().step(actions)
        self.tracker.record(out[4], self._log_metrics)
        return out

    def _log_metrics(self, metrics: dict) -> None:
        if self.agent is not None and self.agent.write_interval > 0:  # skrl writes them after this step
            for name, value in metrics.items():
                self.agent.track_data(f"Task / {name}", value)


def _network(network) -> list[dict]:
    """skrl's model-instantiator layers for the train config's rl_games `network`: its MLP, after
    its CNN where it has one (images (N, H, W, C), permuted to channels first and scaled from
    0-255 to [0, 1], as rl_games does)."""
    mlp = {"layers": list(network.mlp.units), "activations": network.mlp.activation}
    if "cnn" not in network:
        return [{"name": "net", "input": "OBSERVATIONS", **mlp}]
    convs = [{"conv2d": {"out_channels": c.filters, "kernel_size": c.kernel_size, "stride": c.strides,
                         "padding": c.padding}} for c in network.cnn.convs]
    return [{"name": "features", "input": "permute(OBSERVATIONS, (0, 3, 1, 2)) / 255.0",
             "layers": [*convs, "flatten"], "activations": network.cnn.activation},
            {"name": "net", "input": "features", **mlp}]


class SkrlPolicy(torch.nn.Module):
    """skrl PPO's deterministic policy as a plain module (`policy_export`'s contract): one env's
    observations as the env gives them -> mean actions in [-1, 1]. The observations are
    flattened as the adapter hands them to skrl, then go through the agent's observation
    preprocessor (RunningStandardScaler, not updated outside training) where it has one."""

    def __init__(self, agent: PPO):
        super().__init__()
        self.policy = agent.models["policy"]  # not copied: skrl's models keep their last distribution's tensors
        scaler = agent._observation_preprocessor  # a function that returns its input where there is none
        self.scaler = scaler if isinstance(scaler, torch.nn.Module) else None

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        obs = obs.reshape(obs.shape[0], -1)
        if self.scaler is not None:
            obs = self.scaler(obs)
        mean, _ = self.policy.compute({"observations": obs}, role="policy")
        return torch.clamp(mean, -1.0, 1.0)


def _agent(env, cfg, directory: str | None) -> tuple[PPO, PPO_CFG]:
    """skrl's PPO for the train config of `cfg`, writing TensorBoard logs and checkpoints to
    `directory` (None: writes nothing)."""
    p = OmegaConf.merge(cfg.train.params.config, cfg.train.get("skrl") or {})  # the train config's skrl-only keys win
    net = _network(cfg.train.params.network)
    spaces = dict(observation_space=env.observation_space, action_space=env.action_space, device=env.device)
    models = {"policy": gaussian_model(**spaces, network=net, output="ACTIONS"),
              "value": deterministic_model(**spaces, network=net, output="ONE")}
    for role, model in models.items():
        # The instantiators build lazy layers; PPO broadcasts rank 0's parameters when it is
        # created, which skips parameters that do not exist yet, so make them exist first.
        model.init_state_dict(role=role)
    batch = env.num_envs * p.horizon_length
    scale = float(p.reward_shaper.scale_value)
    agent_cfg = PPO_CFG(
        rollouts=p.horizon_length, learning_epochs=p.mini_epochs,
        mini_batches=max(1, batch // min(p.minibatch_size, batch)),
        discount_factor=p.gamma, gae_lambda=p.tau, learning_rate=float(p.learning_rate),
        learning_rate_scheduler=KLAdaptiveLR if p.lr_schedule == "adaptive" else None,
        learning_rate_scheduler_kwargs={"kl_threshold": p.kl_threshold} if p.lr_schedule == "adaptive" else {},
        observation_preprocessor=RunningStandardScaler if p.normalize_input else None,
        observation_preprocessor_kwargs={"size": env.observation_space, "device": env.device},
        value_preprocessor=RunningStandardScaler if p.normalize_value else None,
        value_preprocessor_kwargs={"size": 1, "device": env.device},
        grad_norm_clip=p.grad_norm if p.truncate_grads else 0.0,  # rl_games clips only with truncate_grads
        ratio_clip=p.e_clip, value_clip=p.e_clip if p.clip_value else 0.0,
        entropy_loss_scale=p.entropy_coef, value_loss_scale=p.critic_coef / 2,
        rewards_shaper=lambda rewards, *args, **kwargs: rewards * scale,
        time_limit_bootstrap=p.value_bootstrap,
    )
    if directory:
        agent_cfg.experiment.directory, agent_cfg.experiment.experiment_name = os.path.split(directory)
        agent_cfg.experiment.write_interval = p.horizon_length  # TensorBoard once per iteration
        agent_cfg.experiment.checkpoint_interval = p.horizon_length * p.save_frequency
    else:
        agent_cfg.experiment.write_interval = agent_cfg.experiment.checkpoint_interval = 0
    memory = RandomMemory(memory_size=p.horizon_length, num_envs=env.num_envs, device=env.device)
    return PPO(models=models, memory=memory, cfg=agent_cfg, **spaces), agent_cfg


def train(env, cfg, run: Run) -> str:
    """Train for max_epochs iterations (more, after a resumed checkpoint: skrl's do not keep
    their step count); returns the final checkpoint. Ctrl-C saves one and stops."""
    ranks = run.ranks
    set_seed(cfg.seed)  # train.py has added the rank
    with skrl_distributed(ranks, env.device):
        p = cfg.train.params.config
        progress = progress_for(cfg, env.num_envs * ranks.world_size, start=run.start, verbose=ranks.is_main,
                                units=task_metric_units(env))
        tracked = TrackedEnv(env, cfg.seed, progress, p.horizon_length, MetricReducer(ranks, env.device))
        agent, agent_cfg = _agent(tracked, cfg, run.directory)
        tracked.agent = agent
        if cfg.checkpoint:
            agent.load(cfg.checkpoint)
        trainer_cfg = {"timesteps": int(p.max_epochs) * p.horizon_length, "headless": True,
                       "disable_progressbar": True, "close_environment_at_exit": False}
        checkpoints = os.path.join(run.directory, "checkpoints")
        try:
            SequentialTrainer(env=tracked, agents=agent, cfg=trainer_cfg).train()
            path = os.path.join(checkpoints, f"{p.name}.pt")
        except KeyboardInterrupt as err:
            path = os.path.join(checkpoints, f"{p.name}_interrupted.pt")
            if ranks.is_main:
                print(f"\nstopped ({err or 'Ctrl-C'}): saving {path}", flush=True)
        report_sync(ranks, agent.models["policy"])
        if ranks.is_main:
            os.makedirs(checkpoints, exist_ok=True)
            agent.save(path)
            save_torchscript(SkrlPolicy(agent), env.single_observation_space, path.replace(".pt", "_policy.pt"))
    progress.summary(path)
    return path


def play(env, cfg, run: Run) -> None:
    """Replay `cfg.checkpoint` for one max-length episode per env with skrl's evaluation loop."""
    if not cfg.checkpoint:
        raise SystemExit("test=True needs checkpoint=path/to/checkpoint.pt")
    progress = Progress(1, env.num_envs, start=run.start)
    steps = int(env.unwrapped.task.max_episode_steps)
    tracked = TrackedEnv(env, cfg.seed, progress, steps)
    agent, _ = _agent(tracked, cfg, None)
    agent.load(cfg.checkpoint)
    SequentialTrainer(env=tracked, agents=agent, cfg={"timesteps": steps, "headless": True,
                                                      "disable_progressbar": True,
                                                      "close_environment_at_exit": False}).eval()
    progress.summary(None)
