"""Train or replay with Stable-Baselines3's PPO, mapping the rl_games-format hyperparameters.

SB3 works on host numpy: every step copies the env's outputs to the host once (Sb3VecEnv).
SB3's VecNormalize stands in for rl_games' normalize_input (observations) and normalize_value
(rewards; SB3 did not solve Cartpole without it, docs/training.md). SB3 has no adaptive
learning rate, so kl_threshold is not mapped; its value loss coefficient is critic_coef / 4.
"""

from __future__ import annotations

import math
import os

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.vec_env import VecNormalize

from gpu_envs.wrappers.sb3 import Sb3VecEnv

from .policy_export import save_torchscript
from .progress import Progress, progress_for, task_metric_names, task_metric_units
from .run import Run


class MetricsTap(gym.vector.VectorWrapper):
    """Hands a gpu_envs env on to Sb3VecEnv unchanged and keeps the task's metrics (the keys of
    `task.init_metrics()`) from the latest step's infos, which Sb3VecEnv does not pass to SB3.
    Attributes it does not define come from the wrapped env, as Sb3VecEnv expects."""

    def __init__(self, env):
        super().__init__(env)
        self.metric_names = task_metric_names(env)
        self.latest: dict[str, float] = {}

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.env, name)

    def step_numpy(self, actions):
        out = self.env.step_numpy(actions)
        infos = out[4]
        self.latest = {name: float(infos[name]) for name in self.metric_names if name in infos}
        return out


class ProgressCallback(BaseCallback):
    """One progress line per rollout (= iteration), with the task's metrics from `tap` (also
    recorded in SB3's TensorBoard log as `task/<name>`)."""

    def __init__(self, progress: Progress, tap: MetricsTap | None = None):
        super().__init__()
        self.progress = progress
        self.tap = tap
        self.iteration = 0

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.iteration += 1
        episodes = list(self.model.ep_info_buffer)
        mean_return = float(np.mean([e["r"] for e in episodes])) if episodes else math.nan
        mean_length = float(np.mean([e["l"] for e in episodes])) if episodes else math.nan
        metrics = dict(self.tap.latest) if self.tap is not None else {}
        for name, value in metrics.items():
            self.logger.record(f"task/{name}", value)
        self.progress.update(self.iteration, self.num_timesteps, mean_return, mean_length, metrics)


def _venv(env, cfg, training: bool) -> VecNormalize:
    p = cfg.train.params.config
    venv = Sb3VecEnv(env)
    venv.seed(cfg.seed)
    return VecNormalize(venv, training=training, norm_obs=bool(p.normalize_input), norm_reward=bool(p.normalize_value),
                        clip_obs=float(env.unwrapped.task.obs_bound), gamma=p.gamma)


class ConfigCnn(BaseFeaturesExtractor):
    """The train config's rl_games CNN (`network.cnn.convs`: filters, kernel_size, strides,
    padding; `network.cnn.activation`) as SB3's features extractor of channels-first images
    (SB3 transposes and scales them to [0, 1]); its output is the flattened last conv's."""

    def __init__(self, observation_space: gym.spaces.Box, convs: list[dict], activation: str = "elu"):
        layers, channels = [], observation_space.shape[0]
        for conv in convs:
            layers += [torch.nn.Conv2d(channels, conv["filters"], conv["kernel_size"], conv["strides"], conv["padding"]),
                       _ACTIVATIONS[activation]()]
            channels = conv["filters"]
        layers.append(torch.nn.Flatten())
        body = torch.nn.Sequential(*layers)
        with torch.no_grad():
            size = body(torch.zeros(1, *observation_space.shape)).shape[1]
        super().__init__(observation_space, size)
        self.body = body

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.body(observations)


_ACTIVATIONS = {"elu": torch.nn.ELU, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}


def _policy(venv, network) -> tuple[str, dict]:
    """SB3's policy name and keyword arguments for the train config's `network`: an MLP, after
    the config's CNN for image observations."""
    kwargs = {"net_arch": list(network.mlp.units), "activation_fn": torch.nn.ELU}
    if not is_image_space(venv.observation_space, check_channels=False):
        return "MlpPolicy", kwargs
    if "cnn" not in network:
        raise SystemExit("image observations need a CNN in the train config (network.cnn), as "
                         "examples/cfg/train/CartpolePixelsPPO.yaml has")
    convs = [{key: int(c[key]) for key in ("filters", "kernel_size", "strides", "padding")} for c in network.cnn.convs]
    extractor = {"convs": convs, "activation": str(network.cnn.activation)}
    return "CnnPolicy", {**kwargs, "features_extractor_class": ConfigCnn, "features_extractor_kwargs": extractor}


class Sb3Policy(torch.nn.Module):
    """SB3 PPO's deterministic policy as a plain module (`policy_export`'s contract): one env's
    observations as the env gives them (a Box: vectors, or uint8 (N, H, W, C) images) -> mean
    actions in [-1, 1], with VecNormalize's frozen observation statistics and SB3's
    channels-first transpose of images inside."""

    def __init__(self, model: PPO, venv: VecNormalize, observation_space: gym.spaces.Box):
        super().__init__()
        # a new policy with the trained weights: the live one keeps its last distribution's
        # tensors, which deepcopy refuses
        self.policy = type(model.policy)(**model.policy._get_constructor_parameters())
        self.policy.load_state_dict(model.policy.state_dict())
        self.policy.eval()
        self.clip, self.epsilon = float(venv.clip_obs), float(venv.epsilon)
        self.normalize = bool(venv.norm_obs)
        if self.normalize:
            self.register_buffer("mean", torch.as_tensor(venv.obs_rms.mean, dtype=torch.float32))
            self.register_buffer("var", torch.as_tensor(venv.obs_rms.var, dtype=torch.float32))
        self.transpose = observation_space.shape != model.policy.observation_space.shape  # trained channels-first

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if self.normalize:
            obs = torch.clamp((obs - self.mean) / torch.sqrt(self.var + self.epsilon), -self.clip, self.clip)
        if self.transpose:
            obs = obs.permute(0, 3, 1, 2)
        features = self.policy.extract_features(obs, self.policy.pi_features_extractor)
        mean = self.policy.action_net(self.policy.mlp_extractor.forward_actor(features))
        return torch.clamp(mean, -1.0, 1.0)


def _model(venv, cfg, device, directory: str) -> PPO:
    p = cfg.train.params.config
    batch = venv.num_envs * p.horizon_length
    policy, policy_kwargs = _policy(venv, cfg.train.params.network)
    return PPO(
        policy, venv, n_steps=p.horizon_length, batch_size=min(p.minibatch_size, batch), n_epochs=p.mini_epochs,
        learning_rate=float(p.learning_rate), gamma=p.gamma, gae_lambda=p.tau, clip_range=p.e_clip,
        clip_range_vf=p.e_clip if p.clip_value else None, ent_coef=p.entropy_coef, vf_coef=p.critic_coef / 4,
        max_grad_norm=p.grad_norm if p.truncate_grads else math.inf,  # rl_games clips only with truncate_grads
        policy_kwargs=policy_kwargs,
        tensorboard_log=directory, seed=cfg.seed, device=device, verbose=0,
    )


def train(env, cfg, run: Run) -> str:
    """Train for max_epochs rollouts (max_epochs more after a resumed checkpoint); returns the
    checkpoint. Ctrl-C saves one and stops."""
    p = cfg.train.params.config
    progress = progress_for(cfg, env.num_envs, start=run.start,
                            units=task_metric_units(env))
    tap = MetricsTap(env)
    venv = _venv(tap, cfg, training=True)
    if cfg.checkpoint:
        model = PPO.load(cfg.checkpoint, env=venv, tensorboard_log=run.directory)
        progress.resume_from(model.num_timesteps)
    else:
        model = _model(venv, cfg, str(env.device), run.directory)
    directory = os.path.join(run.directory, "nn")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{p.name}.zip")
    try:
        model.learn(int(p.max_epochs) * env.num_envs * p.horizon_length, callback=ProgressCallback(progress, tap),
                    reset_num_timesteps=not cfg.checkpoint)
    except KeyboardInterrupt as err:
        path = os.path.join(directory, f"{p.name}_interrupted.zip")
        print(f"\nstopped ({err or 'Ctrl-C'}): saving {path}", flush=True)
    model.save(path)
    venv.save(path.replace(".zip", "_vecnormalize.pkl"))
    save_torchscript(Sb3Policy(model, venv, env.single_observation_space), env.single_observation_space,
                     path.replace(".zip", "_policy.pt"))
    progress.summary(path)
    return path


def play(env, cfg, run: Run) -> None:
    """Replay `cfg.checkpoint` deterministically for one max-length episode per env."""
    if not cfg.checkpoint:
        raise SystemExit("test=True needs checkpoint=path/to/checkpoint.zip")
    venv = VecNormalize.load(cfg.checkpoint.replace(".zip", "_vecnormalize.pkl"), Sb3VecEnv(env))
    venv.training = False
    model = PPO.load(cfg.checkpoint, env=venv, device=str(env.device))
    obs = venv.reset()
    returns = []
    for _ in range(int(env.unwrapped.task.max_episode_steps)):
        action, _ = model.predict(obs, deterministic=True)
        obs, _, _, infos = venv.step(action)
        returns += [info["episode"]["r"] for info in infos if "episode" in info]
    print(f"{len(returns)} episodes, mean return {np.mean(returns) if returns else math.nan:.2f}", flush=True)
