"""Task parameters are declared once (type and allowed values) and checked when the env is built."""

import dataclasses
import re
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import gpu_envs
from gpu_envs.tasks import task_spec
from gpu_envs.tasks.allegro_hand import AllegroHandConfig
from gpu_envs.tasks.cartpole import CartpoleConfig
from gpu_envs.tasks.config import TaskConfig, param

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("config, name, value, error, allowed", [
    (CartpoleConfig, "max_episode_steps", 0, ValueError, "an int in [1, inf)"),
    (CartpoleConfig, "max_episode_steps", -5, ValueError, "an int in [1, inf)"),
    (CartpoleConfig, "reset_dist", -1, ValueError, "a number in (0, inf)"),
    (CartpoleConfig, "max_effort", float("nan"), ValueError, "a number in [0, inf)"),
    (CartpoleConfig, "clip_observations", 0, ValueError, "a number in (0, inf)"),
    (CartpoleConfig, "reset_position_noise", -0.1, ValueError, "a number in [0, inf)"),
    (CartpoleConfig, "reset_velocity_noise", -1, ValueError, "a number in [0, inf)"),
    (CartpoleConfig, "substeps", 2.5, TypeError, "an int in [1, inf)"),
    (CartpoleConfig, "substeps", "2", TypeError, "an int in [1, inf)"),
    (CartpoleConfig, "asset", 3, TypeError, "a string"),
    (AllegroHandConfig, "damping_scale", (-1, 1), ValueError, "a pair (low, high) of numbers in (0, inf)"),
    (AllegroHandConfig, "damping_scale", 2.0, TypeError, "a pair (low, high) of numbers in (0, inf)"),
    (AllegroHandConfig, "damping_scale", (3.0, 0.3), ValueError,
     "a pair (low, high) of numbers in (0, inf) with low <= high"),
    (AllegroHandConfig, "fall_dist", -1, ValueError, "a number in (0, inf)"),
    (AllegroHandConfig, "success_tolerance", -1, ValueError, "a number in (0, inf)"),
    (AllegroHandConfig, "object_scale", (0, 0), ValueError, "a pair (low, high) of numbers in (0, inf)"),
    (AllegroHandConfig, "consecutive_successes_average", 5, ValueError, "a number in (0, 1]"),
    (AllegroHandConfig, "obs_type", "pixels", ValueError, "one of ('full_no_vel', 'full', 'full_state')"),
    (AllegroHandConfig, "timestep", 0.0, ValueError, "a number in (0, inf) or None"),
    (AllegroHandConfig, "solver_iterations", 2.5, TypeError, "an int in [1, inf) or None"),
    (AllegroHandConfig, "randomize", 1, TypeError, "True or False"),
    (AllegroHandConfig, "urdf_joint_names", "joint_0", TypeError, "a sequence of strings or None"),
])
def test_a_bad_parameter_names_itself_its_value_and_what_is_allowed(config, name, value, error, allowed):
    with pytest.raises(error) as raised:
        config(**{name: value})
    message = str(raised.value)
    assert f"parameter {name} must be {allowed}" in message and repr(value) in message


@pytest.mark.parametrize("env_id, kwargs", [("GpuCartpole-v0", {"reset_dist": -1}),
                                            ("GpuAllegroHand-v0", {"randomize": True, "damping_scale": (-1, 1)})])
def test_make_vec_refuses_a_bad_parameter_before_building_anything(env_id, kwargs):
    name = next(iter(kwargs.keys() - {"randomize"}))
    with pytest.raises(ValueError, match=f"parameter {name} must be"):
        gym.make_vec(env_id, num_envs=1, **kwargs)


def test_values_are_normalised_to_the_declared_type():
    config = AllegroHandConfig(dof_speed_scale=np.int64(3), damping_scale=[1, 2], substeps=np.int32(4),
                               urdf_joint_names=["a"] * 16)
    assert type(config.dof_speed_scale) is float and config.damping_scale == (1.0, 2.0)
    assert type(config.substeps) is int and config.urdf_joint_names == ("a",) * 16


def test_a_config_defined_elsewhere_gets_the_checks_from_its_declarations():
    @dataclasses.dataclass(frozen=True)
    class PendulumConfig(TaskConfig):
        length: float = param(1.0, "(0, 10]")
        mode: str = param("swing", ("swing", "balance"))

    assert PendulumConfig(length=10).length == 10.0
    with pytest.raises(ValueError, match=re.escape("parameter length must be a number in (0, 10] (got 11)")):
        PendulumConfig(length=11)
    with pytest.raises(ValueError, match="parameter mode must be one of"):
        PendulumConfig(mode="spin")


@pytest.mark.parametrize("env_id", gpu_envs.ENV_IDS)
def test_the_env_page_lists_every_parameter_with_what_is_allowed(env_id):
    spec = task_spec(env_id)
    doc = spec.docs
    text = (ROOT / doc).read_text()
    for name, allowed in spec.task_cls.Config.allowed_values().items():
        row = re.search(rf"^\| `{name}` \|[^\n]*$", text, re.M)
        assert row is not None, f"{doc} has no row for {name}"
        assert f"| {allowed} |" in row.group(0), f"{doc}: {name} should say {allowed!r}"


@pytest.mark.parametrize("config, name, value", [
    (CartpoleConfig, "max_episode_steps", 2**31), (AllegroHandConfig, "solver_iterations", 2**31),
    (CartpoleConfig, "clip_observations", 1e300), (CartpoleConfig, "clip_observations", 1e-300),
    (AllegroHandConfig, "damping_scale", (1e-300, 1.0)),
])
def test_a_number_the_device_cannot_hold_is_refused(config, name, value):
    with pytest.raises(ValueError, match=f"parameter {name} must be .*beyond what the device's (int32|float32) holds"):
        config(**{name: value})


def test_an_int_too_large_for_any_float_is_out_of_range_not_a_crash():
    with pytest.raises(ValueError, match=r"parameter max_effort must be a number in \[0, inf\) \(got 1000"):
        CartpoleConfig(max_effort=10**400)
