"""examples/trainers/rollout.py: rl_games' rollout without a host sync per env step gives what
rl_games' own loop gives (batch, episode statistics, observer calls)."""

import pathlib
import sys

import pytest
import torch

pytest.importorskip("rl_games")

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))

from trainers.rollout import SyncFreeRollout, finished_episodes, unsupported_reason  # noqa: E402


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

    import train
    from trainers.progress import Progress
    from trainers.rl_games_trainer import _runner

    with initialize_config_dir(config_dir=str(EXAMPLES / "cfg"), version_base=None):
        cfg = compose("config", overrides=[
            "task=Cartpole", f"sim_device={device}", f"num_envs={num_envs}", "seed=0", f"train_dir={tmp_path}",
            f"train.params.config.horizon_length={horizon}", f"train.params.config.sync_free_rollout={sync_free}"])
    env = train.make_env(cfg)
    runner = _runner(env, cfg, Progress(0, env.num_envs))
    agent = runner.algo_factory.create(runner.algo_name, base_name="run", params=runner.params)
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


def test_normal_sampling_without_sync_keeps_the_distribution():
    from trainers.rollout import _sample_normal

    torch.manual_seed(0)
    loc, scale = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 3.0])
    normal = torch.distributions.Normal(loc, scale, validate_args=False)
    samples = _sample_normal(normal, (200_000,))
    assert samples.shape == (200_000, 2)
    assert torch.allclose(samples.mean(0), loc, atol=0.03) and torch.allclose(samples.std(0), scale, rtol=0.01)
