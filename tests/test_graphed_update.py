"""gpu_envs.train.graphed_update: rl_games' minibatch update replayed as a CUDA graph.

The replay itself needs a GPU (marked tests); its CPU-side pieces are checked here too."""

import pathlib

import pytest
import torch

pytest.importorskip("rl_games")

from rl_games.algos_torch.running_mean_std import RunningMeanStd  # noqa: E402

from gpu_envs.train.graphed_update import (  # noqa: E402
    MINIBATCH_KEYS, WARMUP_UPDATES, _buffer_slots, checkpoint_optimizer_state, restore_rebound_buffers)

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def test_rebound_running_statistics_are_copied_back_into_the_original_buffers():
    stats = torch.jit.script(RunningMeanStd((3,)))  # as rl_games builds its input normalizer
    slots = _buffer_slots(stats)
    original = stats.running_mean
    stats.train()
    stats(torch.arange(12.0).reshape(4, 3))
    updated = stats.running_mean.clone()
    assert stats.running_mean is not original  # rl_games assigns new tensors on every update
    restore_rebound_buffers(slots)
    assert stats.running_mean is original and torch.equal(original, updated)
    assert float(stats.count) == 5.0  # 1 (initial) + 4 samples, also written back


def test_checkpoints_store_the_learning_rate_as_a_float_and_resume_eagerly():
    param = torch.nn.Parameter(torch.ones(2))
    graphed = torch.optim.Adam([param], lr=1e-3)
    graphed.param_groups[0].update(lr=torch.tensor(5e-4), capturable=True)  # as GraphedUpdate installs it
    state = checkpoint_optimizer_state(graphed.state_dict())
    assert state["param_groups"][0]["lr"] == pytest.approx(5e-4) and not state["param_groups"][0]["capturable"]
    assert torch.is_tensor(graphed.param_groups[0]["lr"])  # the live optimizer keeps its tensor
    eager = torch.optim.Adam([param], lr=1.0)
    eager.load_state_dict(state)
    param.grad = torch.ones(2)
    eager.step()  # a plain CPU Adam resumes from it
    assert torch.allclose(param.detach(), torch.full((2,), 1 - 5e-4))


# -- on the GPU: the graphed agent against rl_games' eager one --------------------------------


def _agents(tmp_path):
    """Two rl_games agents for GpuCartpole-v0 on CUDA with the same weights: graphed and eager."""
    from hydra import compose, initialize_config_dir

    from gpu_envs.train.config import register_resolvers
    from gpu_envs.train.env import make_env
    from gpu_envs.train.progress import Progress
    from gpu_envs.train.rl_games_trainer import create_agent
    from gpu_envs.train.run import Run

    register_resolvers()
    with initialize_config_dir(config_dir=str(EXAMPLES / "cfg"), version_base=None):
        cfg = compose("config", overrides=["task=Cartpole", "sim_device=cuda", "num_envs=256", f"train_dir={tmp_path}",
                                           "train.params.config.minibatch_size=1024"])
    env = make_env(cfg, Run(str(tmp_path / "run"), start=0.0))
    agents = []
    for graphed in (True, False):
        cfg.train.params.config.cuda_graph = graphed
        run = Run(str(tmp_path / f"run_{graphed}"), start=0.0)
        agents.append(create_agent(env, cfg, run, Progress(0, env.num_envs)))
    agents[1].model.load_state_dict(agents[0].model.state_dict())
    return env, agents


def _minibatch(generator, n=1024, obs_dim=4, actions=1):
    def r(*shape):
        return torch.randn(*shape, generator=generator, device="cuda")

    return {"obs": r(n, obs_dim), "actions": r(n, actions), "old_values": r(n, 1), "old_logp_actions": r(n).abs(),
            "advantages": r(n), "returns": r(n, 1), "mu": r(n, actions), "sigma": r(n, actions).abs() + 0.5}


@pytest.mark.gpu
@pytest.mark.filterwarnings("error:The AccumulateGrad node's stream:UserWarning")
def test_graphed_updates_match_rl_games_eager_updates(tmp_path):
    env, (graphed, eager) = _agents(tmp_path)
    assert graphed.graphed_update is not None and eager.graphed_update is None
    generator = torch.Generator("cuda").manual_seed(0)
    updates = WARMUP_UPDATES + 6  # warm-up, capture, then replays
    for step in range(updates):
        batch = _minibatch(generator)
        if step == updates - 2:  # the adaptive schedule changing the learning rate between minibatches
            for agent in (graphed, eager):
                agent.last_lr = 3e-3
                agent.update_lr(agent.last_lr)
        results = [agent.train_actor_critic({k: batch[k].clone() for k in MINIBATCH_KEYS}) for agent in (graphed, eager)]
        for got, want in zip(*results):
            if torch.is_tensor(want):
                assert torch.allclose(got, want, rtol=1e-4, atol=1e-5), (step, got, want)
    assert graphed.graphed_update.captures  # the later updates did replay a graph
    for (name, got), want in zip(graphed.model.state_dict().items(), eager.model.state_dict().values()):
        assert torch.allclose(got.float(), want.float(), rtol=1e-4, atol=1e-5), name
    assert float(graphed.model.running_mean_std.count) == 1 + updates * 1024  # statistics kept accumulating
    saved = graphed.get_full_state_weights()["optimizer"]["param_groups"][0]
    assert saved["lr"] == pytest.approx(3e-3) and not saved["capturable"]
    env.close()
