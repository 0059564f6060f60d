"""PPO in one file, for readers who want no RL library: gpu_envs' public API and torch, top to bottom.

    python examples/ppo.py                                   # GpuCartpole-v0, 4096 envs, stops at a mean return of 475
    python examples/ppo.py --env GpuAnt-v0 --max-time 300
    python examples/ppo.py --env GpuAllegroHand-v0 --num-envs 16384 --max-time 600 --hidden 1024,512,256,128 \
        --lr 5e-4 --epochs 5 --minibatches 8 --reward-scale 0.01 --value-coef 4 --init-log-std 0

Each iteration collects `--steps` env steps from every env with the current policy (the env's
torch tensors go straight into the network: no copies, no host round-trip), then takes
`--epochs` passes of clipped-PPO minibatch updates over them. Episodes that hit their time limit
are bootstrapped from the value of their last observation, which the env hands over in
`infos["final_obs"]` (it has already reset those envs inside the step: gymnasium's SAME_STEP
autoreset); episodes that ended by failure are not. Observations are normalised by running
statistics and rewards scaled by `--reward-scale`. One progress line per iteration (the mean
return and length of the episodes that finished in it, or the last such means if none did, and
the task-wide metrics the env reports); the run stops at `--target-return`, `--max-time` seconds
or `--iterations`, and saves the policy as TorchScript (observations in, mean actions out,
normalisation included).
"""

from __future__ import annotations

import time

START = time.perf_counter()  # times count from the command's start

import argparse  # noqa: E402
import itertools  # noqa: E402
import math  # noqa: E402

import gymnasium as gym  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.optim.adam import adam  # noqa: E402

import gpu_envs  # noqa: E402, F401  (registers the envs)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--env", default="GpuCartpole-v0")
    p.add_argument("--num-envs", type=int, default=4096)
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: the GPU if there is one)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=16, help="env steps per env per iteration")
    p.add_argument("--epochs", type=int, default=2, help="passes over each iteration's samples")
    p.add_argument("--minibatches", type=int, default=2, help="minibatches per pass")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--gamma", type=float, default=0.99)
    p.add_argument("--lam", type=float, default=0.95, help="GAE lambda")
    p.add_argument("--clip", type=float, default=0.2)
    p.add_argument("--value-coef", type=float, default=2.0)
    p.add_argument("--entropy-coef", type=float, default=0.0)
    p.add_argument("--max-grad-norm", type=float, default=1.0)
    p.add_argument("--reward-scale", type=float, default=0.1)
    p.add_argument("--hidden", default="256,256", help="hidden layer sizes, comma-separated")
    p.add_argument("--init-log-std", type=float, default=-0.5,
                   help="the policy's log standard deviation at the start (learned from there)")
    p.add_argument("--iterations", type=int, default=None, help="at most this many (default: 1000, no limit with --max-time)")
    p.add_argument("--max-time", type=float, default=None, help="stop after this many seconds from the start")
    p.add_argument("--target-return", type=float, default=None,
                   help="stop once the mean return of the episodes that finished in an iteration reaches it "
                        "(default: 475 for Cartpole)")
    p.add_argument("--out", default="ppo_policy.pt", help="TorchScript policy written at the end")
    args = p.parse_args(argv)
    if args.iterations is None:
        args.iterations = 1000 if args.max_time is None else math.inf
    for name in ("num_envs", "steps", "epochs", "minibatches", "iterations"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1 (got {getattr(args, name)})")
    if not math.isfinite(args.init_log_std):
        p.error(f"--init-log-std must be a finite number (got {args.init_log_std})")
    if (args.num_envs * args.steps) % args.minibatches:
        p.error(f"--minibatches ({args.minibatches}) must divide num_envs x steps ({args.num_envs * args.steps})")
    try:
        args.hidden = [int(size) for size in args.hidden.split(",")]
    except ValueError:
        p.error(f"--hidden takes comma-separated layer sizes, e.g. 256,256 (got {args.hidden!r})")
    if args.target_return is None and args.env == "GpuCartpole-v0":
        args.target_return = 475.0
    return args


class RunningNorm(nn.Module):
    """Running mean and variance of the observations (Chan's parallel update); `forward` normalises."""

    def __init__(self, size: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(size))
        self.register_buffer("var", torch.ones(size))
        self.register_buffer("count", torch.tensor(1e-4))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        mean, var, n = x.mean(0), x.var(0, unbiased=False), x.shape[0]
        delta, total = mean - self.mean, self.count + n
        self.mean += delta * n / total
        self.var = (self.var * self.count + var * n + delta**2 * self.count * n / total) / total
        self.count = total

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp((x - self.mean) / torch.sqrt(self.var + 1e-8), -5.0, 5.0)


class Agent(nn.Module):
    """A Gaussian policy (state-independent log-std) and a value function, separate MLPs, ELU."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: list[int], init_log_std: float = -0.5):
        super().__init__()
        self.norm = RunningNorm(obs_dim)

        def mlp(out: int, gain: float) -> nn.Sequential:
            layers, size = [], obs_dim
            for h in hidden:
                layers += [nn.Linear(size, h), nn.ELU()]
                size = h
            last = nn.Linear(size, out)
            nn.init.orthogonal_(last.weight, gain)
            nn.init.zeros_(last.bias)
            return nn.Sequential(*layers, last)

        self.actor, self.critic = mlp(act_dim, 0.01), mlp(1, 1.0)
        self.log_std = nn.Parameter(torch.full((act_dim,), float(init_log_std)))

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(self.norm(obs)).squeeze(-1)

    def dist(self, obs: torch.Tensor) -> torch.distributions.Normal:
        return torch.distributions.Normal(self.actor(self.norm(obs)), self.log_std.exp())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """The mean action, clipped to the action space [-1, 1] (what the exported policy gives)."""
        return torch.clamp(self.actor(self.norm(obs)), -1.0, 1.0)


class Adam:
    """torch's own Adam update (`torch.optim.adam.adam`, over all parameters at once) without
    `torch.optim.Optimizer`, whose first use imports torch._dynamo: seconds of start-up, for
    nothing a plain Adam needs."""

    def __init__(self, params, lr: float, eps: float):
        self.params, self.lr, self.eps = list(params), lr, eps
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.steps = [torch.zeros(()) for _ in self.params]  # on the host, as torch.optim.Adam keeps them

    @torch.no_grad()
    def step(self) -> None:
        adam(self.params, [p.grad for p in self.params], self.exp_avg, self.exp_avg_sq, [], self.steps,
             foreach=True, amsgrad=False, beta1=0.9, beta2=0.999, lr=self.lr, weight_decay=0.0, eps=self.eps,
             maximize=False)


def main(argv=None) -> None:
    args = parse_args(argv)
    print(f"[{time.perf_counter() - START:6.1f} s] imported torch, gymnasium and gpu_envs; making {args.env}", flush=True)
    torch.manual_seed(args.seed)
    torch.distributions.Distribution.set_default_validate_args(False)  # its checks read values on the host
    env = gym.make_vec(args.env, num_envs=args.num_envs, **({"device": args.device} if args.device else {}))
    device, n, t = env.unwrapped.device, args.num_envs, args.steps
    obs_dim, act_dim = env.single_observation_space.shape[0], env.single_action_space.shape[0]
    agent = Agent(obs_dim, act_dim, args.hidden, args.init_log_std).to(device)
    optimizer = Adam(agent.parameters(), lr=args.lr, eps=1e-5)

    obs_buf, final_buf = torch.zeros(t, n, obs_dim, device=device), torch.zeros(t, n, obs_dim, device=device)
    act_buf = torch.zeros(t, n, act_dim, device=device)
    rew_buf, done_buf = torch.zeros(t, n, device=device), torch.zeros(t, n, device=device)
    cut_buf = torch.zeros(t, n, dtype=torch.bool, device=device)
    mean_return = mean_length = math.nan  # over the episodes that finished in the last iteration

    obs, _ = env.reset(seed=args.seed)  # the first reset and step compile (or load from JAX's cache)
    print(f"[{time.perf_counter() - START:6.1f} s] {args.env}: {n} envs on {device}, obs {obs_dim}, actions {act_dim}",
          flush=True)
    for iteration in itertools.count(1):
        # -- collect: the env's tensors feed the network directly ---------------------------
        with torch.no_grad():
            finished_count, return_sum, length_sum = (torch.zeros((), device=device) for _ in range(3))
            for step in range(t):
                action = agent.dist(obs).sample()
                obs_buf[step], act_buf[step] = obs, action
                obs, reward, terminated, truncated, infos = env.step(action.clamp(-1.0, 1.0))
                rew_buf[step] = reward * args.reward_scale
                # a time limit is not a failure: bootstrap from the finished episode's last obs
                cut_buf[step] = truncated & ~terminated & ~infos["sim_unstable"]  # (a physics reset's final_obs is zeros)
                final_buf[step] = infos["final_obs"]
                done_buf[step] = (terminated | truncated).float()
                # sums, not a list of finished episodes: picking those out would wait for the GPU
                finished = infos["_episode"].float()
                finished_count += finished.sum()
                return_sum += (infos["episode"]["r"] * finished).sum()
                length_sum += (infos["episode"]["l"] * finished).sum()
            # -- the networks over the whole rollout at once: a few large calls, not 3 small ones a step
            val_buf = agent.value(obs_buf)
            logp_buf = agent.dist(obs_buf).log_prob(act_buf).sum(-1)
            rew_buf += args.gamma * cut_buf * agent.value(final_buf)
            # -- advantages (GAE) ----------------------------------------------------------------
            advantages = torch.zeros_like(rew_buf)
            next_value, last = agent.value(obs), torch.zeros(n, device=device)
            for step in reversed(range(t)):
                not_done = 1.0 - done_buf[step]
                delta = rew_buf[step] + args.gamma * next_value * not_done - val_buf[step]
                last = delta + args.gamma * args.lam * not_done * last
                advantages[step], next_value = last, val_buf[step]
            returns = advantages + val_buf

        # -- update: clipped PPO over shuffled minibatches -------------------------------------
        b_obs, b_act = obs_buf.reshape(t * n, obs_dim), act_buf.reshape(t * n, act_dim)
        b_logp, b_adv, b_ret = logp_buf.reshape(-1), advantages.reshape(-1), returns.reshape(-1)
        size = t * n // args.minibatches
        for _ in range(args.epochs):
            order = torch.randperm(t * n, device=device)
            for start in range(0, t * n, size):
                idx = order[start:start + size]
                dist = agent.dist(b_obs[idx])
                ratio = torch.exp(dist.log_prob(b_act[idx]).sum(-1) - b_logp[idx])
                adv = (b_adv[idx] - b_adv[idx].mean()) / (b_adv[idx].std() + 1e-8)
                policy_loss = -torch.min(ratio * adv, ratio.clamp(1 - args.clip, 1 + args.clip) * adv).mean()
                value_loss = 0.5 * ((agent.value(b_obs[idx]) - b_ret[idx]) ** 2).mean()
                loss = policy_loss + args.value_coef * value_loss - args.entropy_coef * dist.entropy().sum(-1).mean()
                agent.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()
        agent.norm.update(b_obs)  # after the update: collection and update of an iteration share statistics

        # -- progress ----------------------------------------------------------------------------
        elapsed = time.perf_counter() - START
        count, total_return, total_length = torch.stack([finished_count, return_sum, length_sum]).tolist()
        if count:  # else keep the last iteration's means
            mean_return, mean_length = total_return / count, total_length / count
        # task-wide metrics the env reports as scalars, e.g. the hand's consecutive_successes
        metrics = "".join(f" | {key} {value.item():.3g}" for key, value in infos.items()
                          if isinstance(value, torch.Tensor) and value.ndim == 0)
        print(f"it {iteration:>5} | {iteration * t * n:>12,} env steps | return {mean_return:9.2f} | "
              f"length {mean_length:6.1f}{metrics} | {elapsed:7.1f} s", flush=True)
        if args.target_return is not None and mean_return >= args.target_return:
            print(f"mean return {mean_return:.2f} >= {args.target_return:g} at {elapsed:.1f} s", flush=True)
            break
        if (args.max_time is not None and elapsed >= args.max_time) or iteration >= args.iterations:
            break

    policy = torch.jit.script(agent.cpu().eval())
    policy.save(args.out)
    print(f"policy (TorchScript, observations -> mean actions): {args.out}", flush=True)
    env.close()


if __name__ == "__main__":
    main()
