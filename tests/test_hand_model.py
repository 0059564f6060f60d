"""Hand scene validation: user-supplied models fail with an AssetError naming the problem."""

import re

import gymnasium as gym
import pytest

from gpu_envs.sim import AssetError, asset_path
from gpu_envs.tasks.hand_model import load_hand_scene

SCENE = asset_path("allegro_hand.xml").read_text()


def _write(tmp_path, text, name="hand.xml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_scene_is_valid():
    model = load_hand_scene(asset_path("allegro_hand.xml"))
    assert model.nu == 16 and model.nq == 16 + 7


def test_missing_file_is_named(tmp_path):
    with pytest.raises(AssetError, match="not found"):
        gym.make_vec("GpuAllegroHand-v0", num_envs=1, hand_model=str(tmp_path / "nope.xml"))


def test_broken_xml_is_reported(tmp_path):
    with pytest.raises(AssetError, match="could not load"):
        load_hand_scene(_write(tmp_path, SCENE[: len(SCENE) // 2]))


def test_a_scene_without_the_hand_lists_what_is_missing():
    with pytest.raises(AssetError) as err:
        load_hand_scene(asset_path("cartpole.xml"))
    text = str(err.value)
    assert "first 16 joints" in text and "16 actuators" in text and "'object'" in text and "'goal'" in text


def test_renamed_joint_is_named(tmp_path):
    with pytest.raises(AssetError, match=r"missing \['ffj2'\]"):
        load_hand_scene(_write(tmp_path, SCENE.replace('name="ffj2"', 'name="index2"').replace('joint="ffj2"', 'joint="index2"')))


def test_mesh_collision_geom_is_rejected(tmp_path):
    mesh = '<mesh name="tipmesh" vertex="0 0 0  0.01 0 0  0 0.01 0  0 0 0.01"/>'
    text = SCENE.replace("<asset>", "<asset>\n    " + mesh, 1)
    text = text.replace('<geom name="ff_tip" class="tip" fromto="0 0 0.006 0 0 0.0267"/>',
                        '<geom name="ff_tip" class="tip" type="mesh" mesh="tipmesh"/>')
    with pytest.raises(AssetError, match="ff_tip.*collides as a mesh"):
        load_hand_scene(_write(tmp_path, text))


def test_fingertip_that_cannot_collide_is_rejected(tmp_path):
    text = SCENE.replace('<geom name="th_tip" class="tip"', '<geom name="th_tip" class="tip" conaffinity="0"')
    with pytest.raises(AssetError, match=re.escape("fingertip geom 'th_tip' does not collide")):
        load_hand_scene(_write(tmp_path, text))


def test_unknown_parameter_is_a_type_error():
    with pytest.raises(TypeError, match="unknown parameter"):
        gym.make_vec("GpuAllegroHand-v0", num_envs=1, obs_typ="full")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"obs_type": "pixels"}, ValueError, "obs_type must be one of"),
    ({"control": "torque"}, ValueError, "control must be one of"),
    ({"actions_moving_average": 0.0}, ValueError, r"actions_moving_average must be a number in \(0, 1\]"),
    ({"timestep": 0.0}, ValueError, r"timestep must be a number in \(0, inf\)"),
    ({"timestep": float("nan")}, ValueError, r"timestep must be a number in \(0, inf\)"),
    ({"solver_iterations": 0}, ValueError, r"solver_iterations must be an int in \[1, inf\)"),
    ({"solver_iterations": 2.5}, TypeError, r"solver_iterations must be an int in \[1, inf\)"),
])
def test_bad_options_are_refused_by_name(kwargs, error, match):
    with pytest.raises(error, match=match):
        gym.make_vec("GpuAllegroHand-v0", num_envs=1, **kwargs)


def test_mass_randomization_with_the_warp_backend_is_refused():
    with pytest.raises(ValueError, match=r"backend='warp' needs object_mass_scale=\(1.0, 1.0\)"):
        gym.make_vec("GpuAllegroHand-v0", num_envs=1, randomize=True, backend="warp")
