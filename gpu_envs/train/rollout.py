"""rl_games' PPO rollout without its host synchronisation on every env step.

rl_games' `play_steps` finds the envs that finished an episode with `dones.nonzero()` after
every env step, to update its episode statistics and call the algo observer. `nonzero` makes
the host wait for the GPU, so the host's Python work of each step (the policy's launches,
rl_games' bookkeeping, the env's dispatch) cannot overlap the GPU's work of the step before,
and the GPU sits idle meanwhile. (On CUDA, sampling the policy's Gaussian with `torch.normal`
syncs too: it checks on the host that every standard deviation is >= 0; during the rollout the
agent's own continuous_a2c_logstd network samples mean + std * N(0, 1) instead, the same
distribution, see `sampling_without_sync`.)
`SyncFreeRollout.play_steps` runs the same steps and stores, per step, the done mask and the
episode sums as they were at the step's end; after the last step it finds the finished
episodes for all steps at once and updates rl_games' meters and the observer step by step, in
the order and with the values rl_games' own loop would have used.

One thing reads differently: rl_games' env-step timer (`step_time`, its `performance/step_fps`
in TensorBoard) now times the env's dispatch only, as the step's GPU work runs on while the
host goes on. On with `sync_free_rollout: True` in the train config (the default; `False` runs
rl_games' own loop) wherever `unsupported_reason` finds nothing in the way.

Written against rl_games 1.6.5 (`A2CBase.play_steps`, `ModelA2CContinuousLogStd.Network.forward`);
pyproject.toml's rl-games extra pins the versions it is checked with.
"""

from __future__ import annotations

import contextlib
import functools
import time
from typing import Iterator

import torch
from rl_games.algos_torch.models import ModelA2CContinuousLogStd
from rl_games.common.a2c_common import swap_and_flatten01


def unsupported_reason(agent) -> str | None:
    """Why `agent`'s rollout must run rl_games' own loop (None: the sync-free one can run)."""
    if not agent.config.get("sync_free_rollout", True):
        return "sync_free_rollout is off in the config"
    if agent.is_rnn:
        return "recurrent networks use rl_games' play_steps_rnn"
    if agent.use_action_masks:
        return "action masks are not supported"
    if agent.has_central_value:
        return "a central value network is not supported"
    if agent.num_agents != 1:
        return "multi-agent envs are not supported"
    if not agent.is_tensor_obses:
        return "the env returns numpy observations"
    return None


def finished_episodes(done_masks: list[torch.Tensor]) -> list[torch.Tensor]:
    """Per step, the (k, 1) int64 indices of the envs whose episode ended there, as rl_games'
    `dones.nonzero()` gives them; two host synchronisations for the whole rollout."""
    masks = torch.stack(done_masks).bool()  # (steps, num_envs)
    counts = masks.sum(dim=1).tolist()
    env_ids = masks.nonzero(as_tuple=False)[:, 1:]  # row-major: step by step, envs ascending
    return list(torch.split(env_ids, counts))


def _act(network, input_dict: dict) -> dict:
    """rl_games' continuous_a2c_logstd `network.forward` for acting (`is_train` False), with the
    actions sampled as mu + sigma * N(0, 1) instead of by `Normal.sample` (torch.normal checks
    sigma >= 0 on the host). Training forwards (`is_train` True) run rl_games' own forward."""
    if input_dict.get("is_train", True):
        return type(network).forward(network, input_dict)
    input_dict["obs"] = network.norm_obs(input_dict["obs"])
    mu, logstd, value, states = network.a2c_network(input_dict)
    sigma = torch.exp(logstd)
    actions = mu + sigma * torch.randn_like(mu)
    return {"neglogpacs": torch.squeeze(network.neglogp(actions, mu, sigma, logstd)),
            "values": network.denorm_value(value), "actions": actions, "rnn_states": states, "mus": mu,
            "sigmas": sigma}


@contextlib.contextmanager
def sampling_without_sync(model, device) -> Iterator[None]:
    """While open, rl_games network `model` samples its actions without a host sync, where that
    is needed and known how: a continuous_a2c_logstd network (or its torch.compile wrapper) on a
    CUDA `device`. Only this model changes (an instance attribute `forward`, removed on exit);
    other networks, and every network on other devices, sample as rl_games does."""
    network = getattr(model, "_orig_mod", model)  # under a torch.compile wrapper
    if torch.device(device).type != "cuda" or not isinstance(network, ModelA2CContinuousLogStd.Network):
        yield
        return
    network.forward = functools.partial(_act, network)
    try:
        yield
    finally:
        del network.forward


class SyncFreeRollout:
    """Mixin for rl_games' A2C agents: `play_steps` without a host sync per env step."""

    def play_steps(self):
        if unsupported_reason(self) is not None:
            return super().play_steps()
        ended = []  # per step: (done mask, return, shaped return, length, infos) at the step's end
        step_time = 0.0
        for n in range(self.horizon_length):
            with sampling_without_sync(self.model, self.ppo_device):
                res_dict = self.get_action_values(self.obs)
            self.experience_buffer.update_data("obses", n, self.obs["obs"])
            self.experience_buffer.update_data("dones", n, self.dones)
            for k in self.update_list:
                self.experience_buffer.update_data(k, n, res_dict[k])

            step_start = time.perf_counter()
            self.obs, rewards, self.dones, infos = self.env_step(res_dict["actions"])
            step_time += time.perf_counter() - step_start

            shaped_rewards = self.rewards_shaper(rewards)
            if self.value_bootstrap and "time_outs" in infos:
                shaped_rewards.add_(self.gamma * res_dict["values"] * self.cast_obs(infos["time_outs"]).unsqueeze(1).float())
            self.experience_buffer.update_data("rewards", n, shaped_rewards)

            self.current_rewards.add_(rewards)
            self.current_shaped_rewards.add_(shaped_rewards)
            self.current_lengths.add_(1)
            ended.append((self.dones, self.current_rewards.clone(), self.current_shaped_rewards.clone(),
                          self.current_lengths.clone(), infos))

            not_dones_unsq = (1.0 - self.dones.float()).unsqueeze(1)
            self.current_rewards.mul_(not_dones_unsq)
            self.current_shaped_rewards.mul_(not_dones_unsq)
            self.current_lengths.mul_(not_dones_unsq.squeeze(1))

        # the rest is rl_games' play_steps unchanged, and the episode statistics after it
        with sampling_without_sync(self.model, self.ppo_device):  # the model samples actions here too
            last_values = self.get_values(self.obs)
        fdones = self.dones.float()
        mb_fdones = self.experience_buffer.tensor_dict["dones"].float()
        mb_values = self.experience_buffer.tensor_dict["values"]
        mb_rewards = self.experience_buffer.tensor_dict["rewards"]
        mb_advs = self.discount_values(fdones, last_values, mb_fdones, mb_values, mb_rewards)
        mb_returns = mb_advs + mb_values

        batch_dict = self.experience_buffer.get_transformed_list(swap_and_flatten01, self.tensor_list)
        batch_dict["returns"] = swap_and_flatten01(mb_returns)
        batch_dict["played_frames"] = self.batch_size
        batch_dict["step_time"] = step_time

        self._record_episodes(ended)
        return batch_dict

    def _record_episodes(self, ended: list) -> None:
        """rl_games' per-step episode bookkeeping, for every step of the rollout in order."""
        for (_, returns, shaped, lengths, infos), done_ids in zip(ended, finished_episodes([e[0] for e in ended])):
            self.game_rewards.update(returns[done_ids])
            self.game_shaped_rewards.update(shaped[done_ids])
            self.game_lengths.update(lengths[done_ids])
            self.algo_observer.process_infos(infos, done_ids)
