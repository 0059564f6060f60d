"""gpu_envs.train.rollout: rl_games' rollout without a host sync per env step gives what
rl_games' own loop gives (batch, episode statistics, observer calls)."""

import pathlib

import pytest
import torch

pytest.importorskip("rl_games")

from gpu_envs.train.rollout import (  # noqa: E402
    SyncFreeRollout, _act, finished_episodes, sampling_without_sync, unsupported_reason)

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def test_finished_episodes_are_listed_step_by_step_like_nonzero():
    masks = [torch.tensor([False, True, True]), torch.tensor([False, False, False]), torch.tensor([True, False, True])]
    got = finished_episodes(masks)
    assert len(got) == 3
    for ids, mask in zip(got, masks):
        assert ids.shape == (int(mask.sum()), 1) and torch.equal(ids, mask.nonzero(as_tuple=False))


class _RecordingObserver:
    def __init__(self):
        self.calls = []

    def process_infos(self, infos, done_indices):
        self.calls.append((infos["episode"]["r"].clone(), done_indices.clone()))


def _agent(tmp_path, sync_free: bool, num_envs=32, horizon=40, device="cpu"):
    """An rl_games agent for a fresh GpuCartpole-v0 on `device`, reset with seed 0, observer recording."""
    from hydra import compose, initialize_config_dir

    from gpu_envs.train.config import register_resolvers
    from gpu_envs.train.env import make_env
    from gpu_envs.train.progress import Progress
    from gpu_envs.train.rl_games_trainer import create_agent
    from gpu_envs.train.run import Run

    register_resolvers()
    with initialize_config_dir(config_dir=str(EXAMPLES / "cfg"), version_base=None):
        cfg = compose("config", overrides=[
            "task=Cartpole", f"sim_device={device}", f"num_envs={num_envs}", "seed=0", f"train_dir={tmp_path}",
            f"train.params.config.horizon_length={horizon}", f"train.params.config.sync_free_rollout={sync_free}"])
    run = Run(str(tmp_path / f"run_{sync_free}"), start=0.0)
    env = make_env(cfg, run)
    agent = create_agent(env, cfg, run, Progress(0, env.num_envs))
    agent.algo_observer = _RecordingObserver()
    agent.init_tensors()
    agent.obs = agent.env_reset()
    return env, agent


def _rollouts(agent, weights, rollouts=2):
    agent.model.load_state_dict(weights)
    torch.manual_seed(0)  # the policy's action samples
    return [agent.play_steps() for _ in range(rollouts)]


def test_sync_free_rollout_matches_rl_games_play_steps(tmp_path):
    env_a, sync_free = _agent(tmp_path, True)
    env_b, rl_games_loop = _agent(tmp_path, False)
    assert isinstance(sync_free, SyncFreeRollout)
    assert unsupported_reason(sync_free) is None
    assert unsupported_reason(rl_games_loop) == "sync_free_rollout is off in the config"
    weights = sync_free.model.state_dict()
    got, want = _rollouts(sync_free, weights), _rollouts(rl_games_loop, weights)

    for got_batch, want_batch in zip(got, want):
        for key, value in want_batch.items():
            if torch.is_tensor(value):
                assert torch.equal(got_batch[key], value), key
    ended = sum(len(ids) for _, ids in rl_games_loop.algo_observer.calls)
    assert ended > 32  # random Cartpole policies end episodes within the 2 x 40 steps
    for meter in ("game_rewards", "game_shaped_rewards", "game_lengths"):
        a, b = getattr(sync_free, meter), getattr(rl_games_loop, meter)
        assert a.current_size == b.current_size and torch.equal(a.mean, b.mean), meter
    assert len(sync_free.algo_observer.calls) == len(rl_games_loop.algo_observer.calls) == 80
    for (got_r, got_ids), (want_r, want_ids) in zip(sync_free.algo_observer.calls, rl_games_loop.algo_observer.calls):
        assert torch.equal(got_r, want_r) and torch.equal(got_ids, want_ids)
    env_a.close()
    env_b.close()


@pytest.mark.gpu
def test_sync_free_rollout_steps_without_a_host_sync(tmp_path, monkeypatch):
    env, agent = _agent(tmp_path, True, num_envs=256, horizon=32, device="cuda")  # 8192 samples: one minibatch
    recorded = []
    monkeypatch.setattr(agent, "_record_episodes", recorded.append)  # its sync is the one intended
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")  # any torch op that waits for the GPU raises
    try:
        agent.play_steps()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert len(recorded) == 1 and len(recorded[0]) == agent.horizon_length
    env.close()


def _logstd_network(obs_dim=3, actions=2):
    """rl_games' continuous_a2c_logstd network (as the train configs build it) on the CPU."""
    from rl_games.algos_torch.model_builder import ModelBuilder

    params = {"model": {"name": "continuous_a2c_logstd"}, "network": {
        "name": "actor_critic", "separate": False,
        "space": {"continuous": {"mu_activation": "None", "sigma_activation": "None", "mu_init": {"name": "default"},
                                 "sigma_init": {"name": "const_initializer", "val": 0}, "fixed_sigma": True}},
        "mlp": {"units": [8], "activation": "elu", "initializer": {"name": "default"}}}}
    network = ModelBuilder().load(params).build({"actions_num": actions, "input_shape": (obs_dim,), "num_seqs": 1,
                                                  "value_size": 1, "normalize_value": True, "normalize_input": True})
    with torch.no_grad():
        network.a2c_network.sigma.fill_(torch.log(torch.tensor(0.5)))
    return network.eval()


def test_acting_without_sync_samples_rl_games_gaussian():
    network = _logstd_network()
    obs = torch.randn(1, 3).expand(200_000, 3)
    with torch.no_grad():
        torch.manual_seed(0)
        want = network({"is_train": False, "prev_actions": None, "obs": obs.clone(), "rnn_states": None})
        got = _act(network, {"is_train": False, "prev_actions": None, "obs": obs.clone(), "rnn_states": None})
    assert got.keys() == want.keys()
    for key in ("values", "mus", "sigmas"):
        assert torch.equal(got[key], want[key]), key
    mu, sigma = want["mus"][0], want["sigmas"][0]
    assert torch.allclose(got["actions"].mean(0), mu, atol=0.01) and torch.allclose(got["actions"].std(0), sigma, rtol=0.01)
    assert torch.allclose(got["neglogpacs"], network.neglogp(got["actions"], got["mus"], got["sigmas"],
                                                              got["sigmas"].log()))


def test_sampling_without_sync_changes_only_this_model_and_only_while_open():
    network, other = _logstd_network(), _logstd_network()
    sample, forward = torch.distributions.Normal.sample, type(network).forward
    with sampling_without_sync(network, "cuda"):  # the device decides; nothing runs on it here
        assert network.forward.func is _act and "forward" not in vars(other)
        assert torch.distributions.Normal.sample is sample and type(network).forward is forward
    assert "forward" not in vars(network)
    with sampling_without_sync(network, "cpu"):  # torch.normal does not sync on the CPU: left alone
        assert "forward" not in vars(network)
