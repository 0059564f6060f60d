"""The policies skrl and SB3 runs export: TorchScript and ONNX give the library's own deterministic
actions from the env's raw observations, normalisation included."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from gpu_envs.train import load_trainer
from gpu_envs.train.policy_export import save_torchscript


def _train_cfg(*overrides):
    """examples/cfg's config, composed in this process."""
    from hydra import compose, initialize_config_dir

    from gpu_envs.train.config import register_resolvers
    from test_train_cli import EXAMPLES

    register_resolvers()
    with initialize_config_dir(config_dir=str(EXAMPLES / "cfg"), version_base=None):
        return compose("config", overrides=list(overrides))


def _saved_and_loaded(module, space, tmp_path):
    path = save_torchscript(module, space, str(tmp_path / "policy.pt"))
    return torch.jit.load(path)


def _onnx_actions(tmp_path, obs) -> np.ndarray:
    """The actions of the ONNX file written next to tmp_path/policy.pt, by onnx's reference evaluator."""
    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(str(tmp_path / "policy.onnx")).run(None, {"obs": np.asarray(obs)})[0]


@pytest.mark.parametrize("task", ["Cartpole", "CartpolePixels"])
def test_sb3_policy_gives_sb3_s_deterministic_actions_from_raw_observations(task, tmp_path):
    sb3 = load_trainer("sb3")
    cfg = _train_cfg(f"task={task}", "train.library=sb3")
    if task == "Cartpole":
        env = gym.make_vec("GpuCartpole-v0", num_envs=4, device="cpu")
    else:
        env = gym.make_vec("GpuCartpole-v0", num_envs=2, device="cpu", obs_mode="rgb", image_size=(40, 16),
                           frame_stack=3)
    try:
        venv = sb3._venv(env, cfg, training=True)
        model = sb3._model(venv, cfg, "cpu", str(tmp_path))
        model.learn(2 * int(cfg.train.params.config.horizon_length))  # moves VecNormalize's statistics
        obs = venv.get_original_obs()
    finally:
        env.close()
    policy = _saved_and_loaded(sb3.Sb3Policy(model, venv, env.single_observation_space), env.single_observation_space,
                               tmp_path)
    expected, _ = model.predict(venv.normalize_obs(obs), deterministic=True)
    with torch.no_grad():
        actions = policy(torch.as_tensor(obs))
    assert actions.shape == expected.shape
    np.testing.assert_allclose(actions.numpy(), np.clip(expected, -1, 1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_onnx_actions(tmp_path, obs), actions.numpy(), rtol=1e-4, atol=1e-5)
    if task == "Cartpole":
        assert not np.allclose(venv.obs_rms.mean, 0.0)  # the statistics the module must apply are not trivial


@pytest.mark.parametrize("task", ["Cartpole", "CartpolePixels"])
def test_skrl_policy_gives_skrl_s_mean_actions_from_raw_observations(task, tmp_path):
    skrl = load_trainer("skrl")
    from gpu_envs.wrappers.skrl import SkrlVecEnv

    if task == "Cartpole":
        vector_env = gym.make_vec("GpuCartpole-v0", num_envs=4, device="cpu")
    else:
        vector_env = gym.make_vec("GpuCartpole-v0", num_envs=2, device="cpu", obs_mode="rgb", image_size=(40, 16),
                                  frame_stack=3)
    env = SkrlVecEnv(vector_env, seed=0)
    try:
        agent, _ = skrl._agent(env, _train_cfg(f"task={task}", "train.library=skrl"), None)
        scaler = agent._observation_preprocessor
        if task == "Cartpole":
            scaler(torch.randn(64, 4) * 3 + 1, train=True)  # statistics the module must apply
        obs, _ = env.reset()  # flattened, as the adapter hands them to skrl
        _, outputs = agent.models["policy"].act({"observations": scaler(obs)}, role="policy")
    finally:
        env.close()
    space = vector_env.single_observation_space
    obs = obs.reshape(obs.shape[0], *space.shape)  # as the env gives them
    policy = _saved_and_loaded(skrl.SkrlPolicy(agent), space, tmp_path)
    with torch.no_grad():
        actions = policy(obs)
    torch.testing.assert_close(actions, torch.clamp(outputs["mean_actions"], -1, 1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_onnx_actions(tmp_path, obs.numpy()), actions.numpy(), rtol=1e-4, atol=1e-5)
