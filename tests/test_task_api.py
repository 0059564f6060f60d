"""The public task API (gpu_envs.tasks): a task defined outside the package (examples/custom_task,
MyReacher-v0) gets what ours get (gymnasium.make_vec, infos, rendering, the RL adapters), the
base class derives the spaces from the task, and mistakes raise errors that name them
(docs/writing_a_task.md). Toy tasks here use the shipped cartpole model and are never compiled."""

import dataclasses
import importlib.util
import re
from pathlib import Path

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from conftest import CONTRACT_EPISODE_STEPS as K, CONTRACT_NUM_ENVS as N, EXAMPLE_ENV_ID, EXAMPLE_TASK
from gpu_envs.render import gl_unavailable
from gpu_envs.tasks import (CameraDefaults, Task, TaskConfig, TaskStep, average_over_finished, env_ids, param,
                            register_task, task_spec, unregister_task)
from gpu_envs.tasks.cartpole import CartpoleConfig

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DIR = ROOT / "examples" / "custom_task"
DOC = ROOT / "docs" / "writing_a_task.md"
TOY_ID = "TestToy-v0"  # ids registered here are removed again by `restore_registries`
OBS_DIM = 10  # the example's observation: cos q (2), sin q (2), 0.1 qdot (2), target (2), to target (2)


@dataclasses.dataclass(frozen=True)
class ToyConfig(TaskConfig):
    max_episode_steps: int = param(10, "[1, inf)")
    substeps: int = param(3, "[1, inf)")
    asset: str = param("cartpole.xml")
    clip_observations: float = param(3.0, "(0, inf)")


class ToyTask(Task):
    """Cartpole's model (1 actuator, timestep 1/120 s) observed as 7 zeros."""

    Config = ToyConfig

    def reset(self, key):
        return self.sim.initial_state()

    def observe(self, state):
        return jnp.zeros(7, jnp.float32)

    def step(self, state, action):
        state, _ = self.sim.step(state, action)
        return TaskStep(state, self.observe(state), jnp.float32(0.0), jnp.bool_(False), {})


@pytest.fixture
def restore_registries():
    """Undo what a test registers: new ids are unregistered, replaced ones registered again with
    their earlier class."""
    before = {env_id: task_spec(env_id) for env_id in env_ids()}
    yield
    for env_id in env_ids():
        if env_id not in before:
            unregister_task(env_id)
        elif task_spec(env_id).task_cls is not before[env_id].task_cls:
            spec = before[env_id]
            register_task(env_id, backend=spec.backend, docs=spec.docs)(spec.task_cls)


@pytest.fixture
def reacher(shared_env):
    """The example env (N envs, K-step episodes, rgb_array), freshly reset."""
    env = shared_env(EXAMPLE_ENV_ID, "same_step")
    env.reset(seed=0)
    return env


# -- the docs page shows the example as it is --------------------------------------------


def _fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, content) of each fenced code block of a Markdown text."""
    return re.findall(r"^```(\w*)\n(.*?)^```$", text, flags=re.M | re.S)


@pytest.mark.parametrize("name, language", [("reacher.py", "python"), ("reacher.xml", "xml")])
def test_docs_page_shows_the_example_file_verbatim(name, language):
    blocks = _fenced_blocks(DOC.read_text())
    assert (language, (EXAMPLE_DIR / name).read_text()) in blocks, \
        f"docs/writing_a_task.md should hold examples/custom_task/{name} as it is, in a ```{language} block"


# -- a task defined outside the package gets what ours get --------------------------------


def test_the_example_is_registered_under_its_id():
    assert EXAMPLE_ENV_ID in env_ids() and EXAMPLE_ENV_ID in gym.registry
    assert task_spec(EXAMPLE_ENV_ID).task_cls is EXAMPLE_TASK.ReacherTask


def test_the_example_runs_through_make_vec_with_its_spaces(reacher):
    assert reacher.single_observation_space == gym.spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float32)
    assert reacher.single_action_space == gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    obs, reward, terminated, truncated, _ = reacher.step(torch.zeros(N, 2))
    assert obs.shape == (N, OBS_DIM) and obs.dtype == torch.float32 and torch.isfinite(obs).all()
    assert reward.shape == terminated.shape == truncated.shape == (N,)


def test_the_examples_extras_and_metric_show_in_infos(reacher):
    _, _, _, _, infos = reacher.step(torch.zeros(N, 2))
    assert infos["distance"].shape == (N,) and (infos["distance"] > 0).all()
    assert infos["final_distance"].shape == () and torch.isnan(infos["final_distance"])  # no episode ended yet
    for _ in range(K - 1):
        _, _, _, truncated, infos = reacher.step(torch.zeros(N, 2))
    assert truncated.all()  # every episode ends at step K: the metric is their mean final distance
    assert infos["final_distance"].item() == pytest.approx(infos["distance"].mean().item(), rel=1e-5)


def test_the_example_gets_the_sb3_adapter(reacher):
    pytest.importorskip("stable_baselines3")
    from gpu_envs.wrappers.sb3 import Sb3VecEnv

    venv = Sb3VecEnv(reacher)  # not closed: the env is shared
    obs = venv.reset()
    assert isinstance(obs, np.ndarray) and obs.shape == (N, OBS_DIM) and obs.dtype == np.float32
    obs, reward, done, infos = venv.step(np.zeros((N, 2), np.float32))
    assert obs.shape == (N, OBS_DIM) and reward.shape == done.shape == (N,) and len(infos) == N


def test_the_example_gets_the_skrl_adapter(reacher):
    pytest.importorskip("skrl")
    from gpu_envs.wrappers.skrl import SkrlVecEnv

    env = SkrlVecEnv(reacher, seed=0)  # not closed: the env is shared
    assert env.observation_space.shape == (OBS_DIM,) and env.action_space.shape == (2,)
    obs, _ = env.reset()
    assert obs.shape == (N, OBS_DIM)
    _, reward, terminated, truncated, infos = env.step(torch.zeros(N, 2))
    assert reward.shape == terminated.shape == truncated.shape == (N, 1) and "distance" in infos


def test_rl_games_register_takes_the_examples_id():
    pytest.importorskip("rl_games")
    from rl_games.common import env_configurations

    from gpu_envs.wrappers import rl_games as gpu_rl_games

    assert EXAMPLE_ENV_ID in gpu_rl_games.register()  # every registered task by default
    assert gpu_rl_games.register((EXAMPLE_ENV_ID,)) == (EXAMPLE_ENV_ID,)
    assert env_configurations.configurations[EXAMPLE_ENV_ID]["vecenv_type"] == gpu_rl_games.VECENV_TYPE


def test_a_task_without_a_camera_is_framed_from_the_models_statistics(reacher):
    task = reacher.unwrapped.task
    assert type(task).camera is None
    assert task.camera == CameraDefaults.framing(task.sim.mj_model)
    missing = gl_unavailable()
    if missing is not None:
        pytest.skip(f"no OpenGL context here: {missing}")
    frames = reacher.render()
    assert len(frames) == N and frames[0].shape == (24, 32, 3) and frames[0].dtype == np.uint8
    assert frames[0].std() > 5  # the arm on the table, not one flat colour


# -- what the base class derives -------------------------------------------------------------


def test_the_base_derives_sizes_timestep_and_bounds_from_the_task():
    task = ToyTask()
    assert task.obs_dim == 7  # the length of observe's output
    assert task.action_dim == 1  # the model's actuators
    assert task.dt == pytest.approx(3 / 120)  # substeps x the model's timestep
    assert task.obs_bound == 3.0 and task.max_episode_steps == 10


@pytest.mark.parametrize("obs", [jnp.zeros(7, jnp.int32), jnp.zeros((7, 1), jnp.float32), jnp.float32(0.0)],
                         ids=["int32", "2-d", "scalar"])
def test_an_observation_that_is_not_a_float32_vector_is_refused_naming_the_task(restore_registries, obs):
    @register_task(TOY_ID)
    class BadObservationTask(ToyTask):
        def observe(self, state):
            return obs

    with pytest.raises(TypeError, match=r"BadObservationTask\.observe must return a float32 vector"):
        gym.make_vec(TOY_ID, num_envs=1)


def test_a_task_given_another_tasks_config_is_refused():
    with pytest.raises(TypeError, match="ReacherTask takes a ReacherConfig as config"):
        EXAMPLE_TASK.ReacherTask(CartpoleConfig())


# -- make_vec's parameters --------------------------------------------------------------------


def test_an_unknown_make_vec_parameter_names_the_env_and_lists_its_parameters():
    with pytest.raises(TypeError) as raised:
        gym.make_vec(EXAMPLE_ENV_ID, num_envs=1, target_radus=0.1)
    message = str(raised.value)
    assert EXAMPLE_ENV_ID in message and "'target_radus'" in message
    assert all(f"'{name}'" in message for name in ("target_radius", "control_cost", "max_episode_steps"))


def test_a_parameter_outside_its_declared_range_is_refused():
    with pytest.raises(ValueError, match=re.escape("parameter target_radius must be a number in (0, 0.24]")):
        gym.make_vec(EXAMPLE_ENV_ID, num_envs=1, target_radius=0.3)


# -- register_task's checks -------------------------------------------------------------------


@pytest.mark.parametrize("env_id", ["Reacher", "My Reacher-v0", "Reacher-v", "Reacher-vX", 3])
def test_register_task_refuses_a_malformed_id(env_id):
    with pytest.raises(ValueError, match="env_id must look like 'Name-v0'"):
        register_task(env_id)


def test_register_task_refuses_an_unknown_backend():
    with pytest.raises(ValueError, match="backend must be one of"):
        register_task(TOY_ID, backend="cuda")


@pytest.mark.parametrize("cls", [object, type("NotATask", (), {}), ToyConfig])
def test_register_task_refuses_a_class_that_is_not_a_task(cls):
    with pytest.raises(TypeError, match="decorates a subclass of gpu_envs.tasks.Task"):
        register_task(TOY_ID)(cls)
    assert TOY_ID not in env_ids()


def _config_without(name: str) -> type:
    """ToyConfig without the field `name`."""
    fields = [(f.name, f.type, dataclasses.field(default=f.default, metadata=f.metadata))
              for f in dataclasses.fields(ToyConfig) if f.name != name]
    return dataclasses.make_dataclass(f"ConfigWithout_{name}", fields, bases=(TaskConfig,), frozen=True)


@pytest.mark.parametrize("name", ["max_episode_steps", "substeps", "asset"])
def test_register_task_names_a_missing_config_field(name):
    task_cls = type("IncompleteTask", (ToyTask,), {"Config": _config_without(name)})
    with pytest.raises(TypeError, match=re.escape(f"(the config of IncompleteTask) needs the field(s) ['{name}']")):
        register_task(TOY_ID)(task_cls)
    assert TOY_ID not in env_ids()


def test_a_config_without_asset_is_accepted_when_load_model_is_overridden():
    task_cls = type("BuildsItsModel", (ToyTask,), {"Config": _config_without("asset"), "load_model": lambda self: None})
    task_cls.check_definition()  # what register_task runs: no error


def test_register_task_names_the_missing_methods():
    class OnlyReset(Task):
        Config = ToyConfig

        def reset(self, key):
            return None

    with pytest.raises(TypeError, match=re.escape("OnlyReset must define ['observe', 'step']")):
        register_task(TOY_ID)(OnlyReset)
    assert TOY_ID not in env_ids()


def test_an_id_held_by_another_class_is_refused():
    with pytest.raises(ValueError, match=f"{EXAMPLE_ENV_ID} is already registered by reacher_example.ReacherTask"):
        register_task(EXAMPLE_ENV_ID)(ToyTask)
    assert task_spec(EXAMPLE_ENV_ID).task_cls is EXAMPLE_TASK.ReacherTask


def test_reimporting_a_task_module_registers_its_class_again(restore_registries):
    spec = importlib.util.spec_from_file_location("reacher_example", EXAMPLE_DIR / "reacher.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the same module and class names as conftest's import: no error
    assert module.ReacherTask is not EXAMPLE_TASK.ReacherTask
    assert task_spec(EXAMPLE_ENV_ID).task_cls is module.ReacherTask  # the newest definition is used
    assert EXAMPLE_ENV_ID in gym.registry


def test_a_config_field_make_vec_takes_itself_is_refused_at_registration(restore_registries):
    @dataclasses.dataclass(frozen=True)
    class DeviceConfig(ToyConfig):
        device: str = param("cpu")

    class DeviceTask(ToyTask):
        Config = DeviceConfig

    with pytest.raises(TypeError, match=r"has field\(s\) \['device'\], which make_vec takes itself"):
        register_task(TOY_ID)(DeviceTask)


def test_an_extra_named_like_an_info_key_of_the_env_is_refused_at_the_first_step(restore_registries):
    class EpisodeExtraTask(ToyTask):
        def step(self, state, action):
            return super().step(state, action)._replace(extras={"episode": jnp.float32(1.0)})

    register_task(TOY_ID)(EpisodeExtraTask)
    env = gym.make_vec(TOY_ID, num_envs=1)
    with pytest.raises(ValueError, match=r"EpisodeExtraTask uses the reserved info key\(s\) \['episode'\]"):
        env.reset(seed=0)
        env.step(torch.zeros(1, 1))


def test_unregister_task_removes_the_id_from_both_registries(restore_registries):
    register_task(TOY_ID)(ToyTask)
    unregister_task(TOY_ID)
    assert TOY_ID not in env_ids() and TOY_ID not in gym.registry
    with pytest.raises(KeyError, match=TOY_ID):
        unregister_task(TOY_ID)


def test_a_running_average_that_starts_at_nan_takes_the_first_finished_mean():
    done = jnp.array([True, False, True])
    values = jnp.array([1.0, 50.0, 3.0])
    first = average_over_finished(jnp.float32(jnp.nan), done, values, 0.1)
    assert float(first) == pytest.approx(2.0)
    assert float(average_over_finished(first, done, values * 2, 0.1)) == pytest.approx(0.9 * 2.0 + 0.1 * 4.0)
    assert np.isnan(float(average_over_finished(jnp.float32(jnp.nan), jnp.zeros(3, bool), values, 0.1)))


def test_an_env_whose_physics_went_non_finite_is_kept_out_of_extras_and_metrics():
    from gpu_envs.batched import BatchedEnv

    class BlowUpTask(ToyTask):
        """Env 0's action 1 makes its physics NaN; every env reports its action as `value`."""

        def step(self, state, action):
            result = super().step(state, action)
            physics = result.state._replace(qpos=jnp.where(action[0] > 0.5, jnp.nan, result.state.qpos))
            return result._replace(state=physics, extras={"value": 3.0 + action[0]})

        def init_metrics(self):
            return {"mean_value": jnp.float32(jnp.nan)}

        def update_metrics(self, metrics, done, extras):
            return {"mean_value": average_over_finished(metrics["mean_value"], done, extras["value"], 1.0)}

    env = BatchedEnv(BlowUpTask(ToyConfig(max_episode_steps=1)), 2)
    state, _ = env.reset(jax.random.split(jax.random.PRNGKey(0), 2))
    _, out = jax.jit(env.step)(state, jnp.array([[1.0], [0.0]]))
    assert bool(out.sim_unstable[0]) and not bool(out.sim_unstable[1]) and bool(out.done.all())
    assert out.extras["value"].tolist() == [0.0, 3.0]
    assert float(out.extras["mean_value"]) == 3.0  # env 1's episode only


def test_a_gymnasium_id_of_another_package_is_not_replaced(restore_registries):
    with pytest.raises(ValueError, match="CartPole-v1 is a gymnasium id of another package"):
        register_task("CartPole-v1")(ToyTask)
    assert gym.spec("CartPole-v1").vector_entry_point is not None and "CartPole-v1" not in env_ids()


def test_a_step_output_of_the_wrong_shape_names_the_task_and_the_output(restore_registries):
    class TwoRewardsTask(ToyTask):
        def step(self, state, action):
            return super().step(state, action)._replace(reward=jnp.zeros(2, jnp.float32))

    register_task(TOY_ID)(TwoRewardsTask)
    env = gym.make_vec(TOY_ID, num_envs=1)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=re.escape("TwoRewardsTask.step must return reward as a float32 scalar; "
                                                   "it returns float32 of shape (2,)")):
        env.step(torch.zeros(1, 1))


def test_a_state_without_a_physics_field_says_how_to_name_it():
    task = ToyTask()
    with pytest.raises(TypeError, match="name the field holding the PhysicsState `physics`, or override physics"):
        task.physics((task.sim.initial_state(),))


def test_a_task_file_run_as_a_script_and_imported_is_told_to_import_it(restore_registries):
    register_task(TOY_ID)(ToyTask)
    as_script = type("ToyTask", (ToyTask,), {"__module__": "__main__", "__qualname__": "ToyTask"})
    with pytest.raises(ValueError, match="the same file ran as a script and was imported"):
        register_task(TOY_ID)(as_script)


def test_a_misspelt_make_vec_keyword_gets_a_suggestion():
    with pytest.raises(TypeError, match="'num_env': did you mean 'num_envs'"):
        gym.make_vec(EXAMPLE_ENV_ID, num_env=2)


def test_a_config_default_outside_its_own_range_is_refused_at_registration(restore_registries):
    @dataclasses.dataclass(frozen=True)
    class BadDefaultConfig(ToyConfig):
        gain: float = param(-1.0, "(0, inf)")

    class BadDefaultTask(ToyTask):
        Config = BadDefaultConfig

    with pytest.raises(TypeError, match=r"has a default its own field declaration refuses: .*gain"):
        register_task(TOY_ID)(BadDefaultTask)


def test_a_config_that_is_not_a_dataclass_of_its_own_is_told_to_decorate_it(restore_registries):
    class PlainConfig(ToyConfig):
        gain: float = 1.0

    class PlainTask(ToyTask):
        Config = PlainConfig

    with pytest.raises(TypeError, match=r"decorate it with @dataclasses.dataclass\(frozen=True\)"):
        register_task(TOY_ID)(PlainTask)
