"""Model loading errors name the file and the problem."""


import gymnasium as gym
import pytest

from gpu_envs.sim import AssetError, asset_path, load_model, resolve_asset


def test_shipped_cartpole_loads():
    model = load_model(asset_path("cartpole.xml"))
    assert model.nq == 2 and model.nu == 1


def test_missing_file(tmp_path):
    with pytest.raises(AssetError, match="not found"):
        load_model(tmp_path / "nope.xml")


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(AssetError, match="not a file"):
        load_model(tmp_path)


def test_broken_xml_names_the_file(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<mujoco><worldbody><body></mujoco>")
    with pytest.raises(AssetError, match="bad.xml"):
        load_model(bad)


def test_a_file_in_the_current_directory_comes_before_a_shipped_model(tmp_path, monkeypatch):
    heavy_pole = asset_path("cartpole.xml").read_text().replace('<inertial pos="0 0 0.5" mass="1"', '<inertial pos="0 0 0.5" mass="7"', 1)
    (tmp_path / "cartpole.xml").write_text(heavy_pole)
    monkeypatch.chdir(tmp_path)
    with pytest.warns(UserWarning, match="from the current directory, not the shipped model of that name"):
        assert resolve_asset("cartpole.xml") == tmp_path / "cartpole.xml"
    with pytest.warns(UserWarning, match="from the current directory"):
        env = gym.make_vec("GpuCartpole-v0", num_envs=1, asset="cartpole.xml")
    assert env.task.sim.mj_model.body("pole").mass[0] == 7.0
    env.close()


def test_a_bare_name_not_in_the_current_directory_is_a_shipped_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_asset("allegro_hand.xml") == asset_path("allegro_hand.xml")


@pytest.mark.parametrize("env_id, parameter", [("GpuCartpole-v0", "asset"), ("GpuAllegroHand-v0", "hand_model")])
def test_a_missing_model_gives_the_same_error_for_every_task(env_id, parameter):
    with pytest.raises(AssetError, match=r"model file not found: my_robot.xml \(not a file relative to .*"
                                         r"nor a shipped model: \[.*'cartpole.xml'.*\]\)"):
        gym.make_vec(env_id, num_envs=1, **{parameter: "my_robot.xml"})


def test_a_model_that_is_not_a_cartpole_is_refused_by_name():
    with pytest.raises(AssetError, match="is not a cartpole model: it needs a slide joint"):
        gym.make_vec("GpuCartpole-v0", num_envs=1, asset="allegro_hand.xml")

