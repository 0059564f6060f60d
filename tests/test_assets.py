"""Model loading errors name the file and the problem."""

import pytest

from gpu_envs.sim import AssetError, asset_path, load_model


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
