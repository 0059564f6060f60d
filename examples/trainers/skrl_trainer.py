"""Train or replay with skrl's PPO, mapping the rl_games-format hyperparameters of cfg.train."""

from __future__ import annotations

import math
import os

import torch
from skrl.agents.torch.ppo import PPO, PPO_CFG
from skrl.memories.torch import RandomMemory
from skrl.resources.preprocessors.torch import RunningStandardScaler
from skrl.resources.schedulers.torch import KLAdaptiveLR
from skrl.trainers.torch import SequentialTrainer
from skrl.utils import set_seed
from skrl.utils.model_instantiators.torch import deterministic_model, gaussian_model

from gpu_envs.wrappers.skrl import SkrlVecEnv

from .progress import Progress, progress_for


class TrackedEnv(SkrlVecEnv):
    """SkrlVecEnv that sums finished episodes on the device and prints a progress line every
    `rollouts` steps (one host sync per iteration)."""

    def __init__(self, env, seed, progress: Progress, rollouts: int):
        super().__init__(env, seed=seed)
        self.progress, self.rollouts = progress, rollouts
        self.steps = 0
        self._sums = torch.zeros(3, device=self.device)  # returns, lengths, episodes
        self._recent = (math.nan, math.nan)
        self._cs = None

    def step(self, actions):
        out = super().step(actions)
        infos = out[4]
        done = infos["_episode"]
        self._sums += torch.stack([infos["episode"]["r"][done].sum(), infos["episode"]["l"][done].sum().float(),
                                   done.sum().float()])
        self._cs = infos.get("consecutive_successes")
        self.steps += 1
        if self.steps % self.rollouts == 0:
            r, length, n = self._sums.tolist()
            if n > 0:
                self._recent = (r / n, length / n)
            self._sums.zero_()
            cs = None if self._cs is None else float(self._cs)
            self.progress.update(self.steps // self.rollouts, self.steps * self.num_envs, *self._recent, cs)
        return out


def _agent(env, cfg) -> tuple[PPO, PPO_CFG]:
    p = cfg.train.params.config
    units = list(cfg.train.params.network.mlp.units)
    net = [{"name": "net", "input": "OBSERVATIONS", "layers": units, "activations": "elu"}]
    spaces = dict(observation_space=env.observation_space, action_space=env.action_space, device=env.device)
    models = {"policy": gaussian_model(**spaces, network=net, output="ACTIONS"),
              "value": deterministic_model(**spaces, network=net, output="ONE")}
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
        grad_norm_clip=p.grad_norm, ratio_clip=p.e_clip, value_clip=p.e_clip if p.clip_value else 0.0,
        entropy_loss_scale=p.entropy_coef, value_loss_scale=p.critic_coef / 2,
        rewards_shaper=lambda rewards, *args, **kwargs: rewards * scale,
        time_limit_bootstrap=p.value_bootstrap,
    )
    agent_cfg.experiment.directory = cfg.train_dir
    agent_cfg.experiment.experiment_name = p.name
    agent_cfg.experiment.write_interval = p.horizon_length  # TensorBoard once per iteration
    agent_cfg.experiment.checkpoint_interval = p.horizon_length * p.save_frequency
    memory = RandomMemory(memory_size=p.horizon_length, num_envs=env.num_envs, device=env.device)
    return PPO(models=models, memory=memory, cfg=agent_cfg, **spaces), agent_cfg


def train(env, cfg) -> str:
    """Train for max_epochs iterations; returns the final checkpoint. Ctrl-C saves one and stops."""
    set_seed(cfg.seed)
    p = cfg.train.params.config
    progress = progress_for(cfg, env.num_envs)
    tracked = TrackedEnv(env, cfg.seed, progress, p.horizon_length)
    agent, agent_cfg = _agent(tracked, cfg)
    if cfg.checkpoint:
        agent.load(cfg.checkpoint)
    trainer_cfg = {"timesteps": int(p.max_epochs) * p.horizon_length, "headless": True,
                   "disable_progressbar": True, "close_environment_at_exit": False}
    try:
        SequentialTrainer(env=tracked, agents=agent, cfg=trainer_cfg).train()
        path = os.path.join(cfg.train_dir, p.name, "checkpoints", f"{p.name}.pt")
    except KeyboardInterrupt as err:
        path = os.path.join(cfg.train_dir, p.name, "checkpoints", f"{p.name}_interrupted.pt")
        print(f"\nstopped ({err or 'Ctrl-C'}): saving {path}", flush=True)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    agent.save(path)
    progress.summary(path)
    return path


def play(env, cfg) -> None:
    """Replay `cfg.checkpoint` for one max-length episode per env with skrl's evaluation loop."""
    if not cfg.checkpoint:
        raise SystemExit("test=True needs checkpoint=path/to/checkpoint.pt")
    progress = Progress(1, env.num_envs)
    steps = int(env.unwrapped.task.max_episode_steps)
    tracked = TrackedEnv(env, cfg.seed, progress, steps)
    agent, _ = _agent(tracked, cfg)
    agent.load(cfg.checkpoint)
    SequentialTrainer(env=tracked, agents=agent, cfg={"timesteps": steps, "headless": True,
                                                      "disable_progressbar": True,
                                                      "close_environment_at_exit": False}).eval()
    progress.summary(None)
