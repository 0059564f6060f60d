"""Train or replay with rsl_rl's PPO (rsl-rl-lib 5.x, `OnPolicyRunner`), mapping the rl_games-format
hyperparameters of cfg.train.

rsl_rl has no reward scaling and no value normalisation: the adapter scales the rewards by the
config's `reward_shaper.scale_value`, which keeps returns in the range rl_games' normalised values
see (rsl_rl's own report shows those scaled returns; gpu_envs' progress line the env's). rsl_rl's
value loss is not halved where rl_games' is, so its coefficient is critic_coef / 2. Not mapped:
`bounds_loss_coef`, `mixed_precision` (rsl_rl's is bf16 in the update only) and learning-rate
schedules other than "adaptive" (rsl_rl then keeps the rate fixed).
"""

from __future__ import annotations

import math
import os

import torch
from rsl_rl.runners import OnPolicyRunner

from gpu_envs.wrappers.rsl_rl import RslRlVecEnv

from .policy_export import example_observation, save_onnx
from .progress import Progress, progress_for, task_metric_units
from .run import Run
from .tracking import IterationTracker


class TrackedEnv(RslRlVecEnv):
    """RslRlVecEnv that prints gpu_envs' progress line every `rollouts` steps (`IterationTracker`),
    next to rsl_rl's own report."""

    def __init__(self, env, seed, reward_scale: float, progress: Progress, rollouts: int):
        super().__init__(env, seed=seed, reward_scale=reward_scale)
        self.tracker = IterationTracker(env, progress, rollouts)

    def step(self, actions):
        out = super().step(actions)
        self.tracker.record(self.last_infos)
        return out


def runner_cfg(cfg, num_envs: int) -> dict:
    """rsl_rl's `OnPolicyRunner` config for the train config of `cfg` at `num_envs` envs: one
    observation group ("policy") for the actor and the critic, separate MLPs of the config's
    units, a Gaussian policy with one learned standard deviation per action (rl_games'
    fixed_sigma), the PPO numbers mapped as the module docstring says."""
    p, network = cfg.train.params.config, cfg.train.params.network
    batch = num_envs * int(p.horizon_length)
    mlp = {"hidden_dims": list(network.mlp.units), "activation": str(network.mlp.activation),
           "obs_normalization": bool(p.normalize_input)}
    return {
        "num_steps_per_env": int(p.horizon_length),
        "save_interval": int(p.save_frequency),
        "obs_groups": {"actor": ["policy"], "critic": ["policy"]},
        "multi_gpu": None,
        "logger": "tensorboard",
        "check_for_nan": False,  # the env already zeroes non-finite outputs; the check syncs the host every step
        "algorithm": {
            "class_name": "PPO",
            "num_learning_epochs": int(p.mini_epochs),
            "num_mini_batches": max(1, batch // min(int(p.minibatch_size), batch)),
            "clip_param": float(p.e_clip),
            "gamma": float(p.gamma),
            "lam": float(p.tau),
            "value_loss_coef": float(p.critic_coef) / 2,
            "entropy_coef": float(p.entropy_coef),
            "learning_rate": float(p.learning_rate),
            "max_grad_norm": float(p.grad_norm) if p.truncate_grads else math.inf,  # rl_games clips only with truncate_grads
            "use_clipped_value_loss": bool(p.clip_value),
            "schedule": "adaptive" if p.lr_schedule == "adaptive" else "fixed",
            "desired_kl": float(p.kl_threshold),
            "use_mixed_precision": False,  # rsl_rl's is bf16 in the update only, not rl_games' scaled fp16
        },
        "actor": {"class_name": "MLPModel", **mlp,
                  "distribution_cfg": {"class_name": "GaussianDistribution", "init_std": 1.0, "std_type": "log"}},
        "critic": {"class_name": "MLPModel", **mlp},
    }


def _runner(venv: RslRlVecEnv, cfg, log_dir: str | None) -> OnPolicyRunner:
    if len(venv.env.single_observation_space.shape) != 1:
        raise SystemExit("train.library=rsl_rl trains on observation vectors (obs_mode='state'); for images use "
                         "train.library=rl_games, skrl or sb3 (task=CartpolePixels)")
    return OnPolicyRunner(venv, runner_cfg(cfg, venv.num_envs), log_dir=log_dir, device=str(venv.device))


def train(env, cfg, run: Run) -> str:
    """Train for max_epochs iterations (more, after a resumed checkpoint); returns the checkpoint
    and writes the policy next to it as TorchScript (`<name>_policy.pt`, which
    `python -m gpu_envs.play --checkpoint` replays). Ctrl-C saves both and stops."""
    torch.manual_seed(cfg.seed)
    p = cfg.train.params.config
    progress = progress_for(cfg, env.num_envs, start=run.start, units=task_metric_units(env))
    venv = TrackedEnv(env, cfg.seed, float(p.reward_shaper.scale_value), progress, int(p.horizon_length))
    runner = _runner(venv, cfg, run.directory)
    if cfg.checkpoint:
        runner.load(cfg.checkpoint)
        venv.tracker.resume(runner.current_learning_iteration + 1)  # rsl_rl keeps the last iteration's index
    directory = os.path.join(run.directory, "nn")
    path = os.path.join(directory, f"{p.name}.pt")
    try:
        runner.learn(int(p.max_epochs))
    except KeyboardInterrupt as err:
        path = os.path.join(directory, f"{p.name}_interrupted.pt")
        print(f"\nstopped ({err or 'Ctrl-C'}): saving {path}", flush=True)
        if runner.logger.writer is not None:  # learn() stops its writer only when it finishes
            runner.logger.stop_logging_writer()
    os.makedirs(directory, exist_ok=True)
    runner.save(path)
    policy = os.path.basename(path).replace(".pt", "_policy.pt")
    runner.export_policy_to_jit(directory, policy)
    print(f"policy (TorchScript): {os.path.join(directory, policy)}", flush=True)
    save_onnx(runner.alg.get_policy().as_jit().to("cpu"), example_observation(env.single_observation_space),
              os.path.join(directory, policy.replace(".pt", ".onnx")))
    progress.summary(path)
    return path


def play(env, cfg, run: Run) -> None:
    """Replay `cfg.checkpoint` with the deterministic policy for one max-length episode per env."""
    if not cfg.checkpoint:
        raise SystemExit("test=True needs checkpoint=path/to/checkpoint.pt")
    p = cfg.train.params.config
    venv = RslRlVecEnv(env, seed=cfg.seed, reward_scale=float(p.reward_shaper.scale_value))
    runner = _runner(venv, cfg, None)
    runner.load(cfg.checkpoint)
    policy = runner.get_inference_policy(device=str(venv.device))
    progress = Progress(1, env.num_envs, start=run.start)
    tracker = IterationTracker(env, progress, int(env.unwrapped.task.max_episode_steps))
    obs = venv.get_observations()
    with torch.inference_mode():
        for _ in range(int(env.unwrapped.task.max_episode_steps)):
            obs, *_ = venv.step(policy(obs))
            tracker.record(venv.last_infos)
    progress.summary(None)
