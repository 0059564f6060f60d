"""A URDF hand (hand_model="....urdf") in place of ours: what it keeps, what it gets, its errors."""

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from allegro_urdf import allegro_urdf

from gpu_envs.sim import AssetError, asset_path
from gpu_envs.tasks.hand_model import HAND_JOINTS, HAND_TIPS, load_hand_scene

OURS = mujoco.MjModel.from_xml_path(str(asset_path("allegro_hand.xml")))


def _write(tmp_path, text, name="allegro_hand_right.urdf"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def vendor_urdf(tmp_path_factory):
    return _write(tmp_path_factory.mktemp("urdf"), allegro_urdf())


def test_the_urdf_joints_come_first_under_our_names(vendor_urdf):
    model = load_hand_scene(vendor_urdf)
    names = [model.joint(i).name for i in range(model.njnt)]
    assert names == list(HAND_JOINTS) + ["object"]
    np.testing.assert_allclose(model.jnt_range[:16], OURS.jnt_range[:16])


def test_the_urdf_hand_gets_our_position_drive(vendor_urdf):
    model = load_hand_scene(vendor_urdf)
    for field in ("actuator_gainprm", "actuator_biasprm", "actuator_forcerange", "actuator_ctrlrange",
                  "dof_damping", "dof_armature"):
        np.testing.assert_allclose(getattr(model, field)[:16], getattr(OURS, field)[:16], err_msg=field)
    assert list(model.actuator_trnid[:, 0]) == list(range(16))


def test_the_urdf_hand_sits_where_ours_does(vendor_urdf):
    """Same kinematics, attached at our palm: each fingertip geom at our fingertip site."""
    model = load_hand_scene(vendor_urdf)
    theirs, ours = mujoco.MjData(model), mujoco.MjData(OURS)
    for m, d in ((model, theirs), (OURS, ours)):
        d.qpos[:16] = 0.5 * (m.jnt_range[:16, 0] + m.jnt_range[:16, 1])
        mujoco.mj_forward(m, d)
    for tip in HAND_TIPS:
        np.testing.assert_allclose(theirs.geom_xpos[model.geom(tip).id], ours.site_xpos[OURS.site(tip).id], atol=1e-5)


def test_only_hand_vs_cube_pairs_collide(vendor_urdf):
    model = load_hand_scene(vendor_urdf)
    hand = [i for i in range(model.ngeom) if model.body(model.geom_bodyid[i]).name.startswith("urdf:")]
    assert hand and all(model.geom_contype[i] == 0 and model.geom_conaffinity[i] == 1 for i in hand)
    assert all(model.body_gravcomp[model.geom_bodyid[i]] == 1 for i in hand)


def test_the_cube_rests_in_the_urdf_hand(vendor_urdf):
    """C MuJoCo, 2 s at the flat-hand targets: the dropped cube stays in the palm."""
    model = load_hand_scene(vendor_urdf)
    data = mujoco.MjData(model)
    data.ctrl[:] = np.clip(0.0, model.actuator_ctrlrange[:, 0], model.actuator_ctrlrange[:, 1])
    start = model.body("object").pos.copy()
    for _ in range(120):
        mujoco.mj_step(model, data)
    assert np.linalg.norm(data.qpos[16:19] - start) < 0.06
    assert np.all(np.isfinite(data.qpos))


def test_make_vec_takes_a_urdf_path(vendor_urdf):
    env = gym.make_vec("GpuAllegroHand-v0", num_envs=1, hand_model=str(vendor_urdf))
    assert env.task.sim.mj_model.nu == 16 and env.single_observation_space.shape == (88,)
    env.close()


def test_other_joint_names_are_mapped(tmp_path):
    text = allegro_urdf()
    for i in range(16):
        text = text.replace(f'"joint_{i}.0"', f'"j{i}"')
    names = tuple(f"j{i}" for i in range(16))
    with pytest.raises(AssetError, match=r"joints \['joint_0.0'"):
        load_hand_scene(_write(tmp_path, text))
    model = load_hand_scene(_write(tmp_path, text), urdf_joint_names=names)
    assert model.joint(0).name == "ffj0"


def test_fingers_out_of_order_are_explained(tmp_path):
    path = _write(tmp_path, allegro_urdf(finger_order=("th", "ff", "mf", "rf")))
    with pytest.raises(AssetError, match="depth-first"):
        load_hand_scene(path)


def test_a_missing_tip_link_is_named(tmp_path):
    with pytest.raises(AssetError, match="tip link 'tip_a' not in the URDF"):
        load_hand_scene(_write(tmp_path, allegro_urdf()), urdf_tip_links=("tip_a", "link_7.0_tip", "link_11.0_tip",
                                                                           "link_15.0_tip"))


def test_a_mesh_collision_is_refused(tmp_path):
    (tmp_path / "tip.obj").write_text("v 0 0 0\nv 0.01 0 0\nv 0 0.01 0\nv 0 0 0.01\n"
                                      "f 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n")
    text = allegro_urdf().replace('<sphere radius="0.012"/>', '<mesh filename="tip.obj"/>', 1)
    with pytest.raises(AssetError, match="collides as a mesh"):
        load_hand_scene(_write(tmp_path, text))


def test_a_broken_urdf_is_reported(tmp_path):
    text = allegro_urdf()
    with pytest.raises(AssetError, match="could not load"):
        load_hand_scene(_write(tmp_path, text[: len(text) // 2]))


def test_a_missing_urdf_is_named(tmp_path):
    with pytest.raises(AssetError, match="not found"):
        load_hand_scene(tmp_path / "nope.urdf")


def test_an_unlimited_joint_is_named(tmp_path):
    text = allegro_urdf().replace('<joint name="joint_2.0" type="revolute">', '<joint name="joint_2.0" type="continuous">')
    with pytest.raises(AssetError, match="joint ffj2 must be a hinge with a range") as err:
        load_hand_scene(_write(tmp_path, text))
    assert "depth-first" not in str(err.value)


def test_visual_meshes_are_dropped_not_loaded(tmp_path):
    """The URDF reader discards <visual>: a visual mesh, even one not on disk, is no error."""
    visual = '<visual><geometry><mesh filename="package://hand/meshes/link_1.0.stl"/></geometry></visual>'
    text = allegro_urdf().replace('<link name="link_1.0">', '<link name="link_1.0">' + visual, 1)
    assert load_hand_scene(_write(tmp_path, text)).nmesh == 0


def test_a_wrong_count_of_urdf_names_is_named(vendor_urdf):
    with pytest.raises(AssetError, match="urdf_joint_names needs 16 names and urdf_tip_links 4"):
        load_hand_scene(vendor_urdf, urdf_joint_names=("joint_0.0",))


def test_urdf_names_with_an_mjcf_scene_are_refused():
    with pytest.raises(ValueError, match="apply to a URDF hand_model only"):
        load_hand_scene(asset_path("allegro_hand.xml"), urdf_joint_names=tuple(f"j{i}" for i in range(16)))


def test_an_upper_case_urdf_suffix_is_read_as_urdf(tmp_path):
    model = load_hand_scene(_write(tmp_path, allegro_urdf(), name="hand.URDF"))
    assert [model.joint(i).name for i in range(16)] == list(HAND_JOINTS)


def test_a_repeated_urdf_joint_name_is_named(vendor_urdf):
    names = ("joint_0.0",) * 2 + tuple(f"joint_{i}.0" for i in range(2, 16))
    with pytest.raises(AssetError, match=r"urdf_joint_names names \['joint_0.0'\] more than once"):
        load_hand_scene(vendor_urdf, urdf_joint_names=names)


@pytest.mark.parametrize("names", [{"urdf_joint_names": ()}, {"urdf_tip_links": []}])
def test_an_empty_urdf_name_list_is_a_wrong_count_not_the_defaults(vendor_urdf, names):
    with pytest.raises(AssetError, match="urdf_joint_names needs 16 names and urdf_tip_links 4"):
        load_hand_scene(vendor_urdf, **names)
