"""A user's URDF hand in GpuAllegroHand-v0's scene, in place of the shipped hand.

A URDF describes the hand only: links, joints and collision shapes, no actuators, cube or
goal. `scene_from_urdf` keeps everything of assets/allegro_hand.xml except its hand: the
URDF's root link is attached where our palm is (same frame: fingers along +z, the palm's
inner face along +x), its 16 joints are renamed to ours and get our joint dynamics and
position actuators (the reference's kp 3, kv 0.1, |torque| <= 0.5 N m; control range = the
URDF's joint limits), its collision geoms get our contact settings (hand-vs-cube only) and
its four tip links' first collision geoms become the fingertips. What the URDF keeps: the
kinematics, joint limits, masses and inertias, and the collision shapes (primitives only).
"""

from __future__ import annotations

import os
from pathlib import Path

import mujoco

from ..sim import AssetError, asset_path, require_model_file
from .hand_scene import HAND_JOINTS, HAND_TIPS

# The vendor's allegro_hand_description: joint_0.0-3.0 index, 4.0-7.0 middle, 8.0-11.0 ring,
# 12.0-15.0 thumb; a fixed tip link after each finger's last link.
VENDOR_JOINTS = tuple(f"joint_{i}.0" for i in range(16))
VENDOR_TIPS = ("link_3.0_tip", "link_7.0_tip", "link_11.0_tip", "link_15.0_tip")
_PREFIX = "urdf:"  # names the URDF's bodies and geoms keep (joints and tips get ours)
# what the URDF's parts take from ours: joint dynamics, the position drive, contact settings
_JOINT_FIELDS = ("armature", "damping", "frictionloss")
_ACTUATOR_FIELDS = ("trntype", "gaintype", "gainprm", "biastype", "biasprm", "dyntype", "dynprm", "gear",
                    "forcelimited", "forcerange", "ctrllimited", "damping", "armature")
_CONTACT_FIELDS = ("contype", "conaffinity", "condim", "friction", "solref", "solimp", "margin", "gap", "rgba")


def _copy(value):
    return value.copy() if hasattr(value, "copy") else value


def _urdf_spec(path: Path) -> mujoco.MjSpec:
    require_model_file(path)
    try:
        # from the text: MuJoCo picks its file decoder by a case-sensitive suffix (".URDF" fails)
        spec = mujoco.MjSpec.from_string(path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise AssetError(f"MuJoCo could not load {path}: {err}") from err
    for mesh in spec.meshes:  # resolve against the URDF's folder: the scene lives elsewhere
        if mesh.file and not os.path.isabs(mesh.file):
            mesh.file = str(path.parent / (spec.meshdir or "") / mesh.file)
    return spec


def _missing_names(hand: mujoco.MjSpec, joints, tips) -> list[str]:
    problems = []
    if len(joints) != 16 or len(tips) != 4:
        problems.append(f"urdf_joint_names needs 16 names and urdf_tip_links 4 (got {len(joints)} and {len(tips)})")
        return problems
    for what, names in (("urdf_joint_names", joints), ("urdf_tip_links", tips)):
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            problems.append(f"{what} names {repeated} more than once (each joint or link is named once)")
    if problems:
        return problems
    missing = [n for n in joints if hand.joint(n) is None]
    if missing:
        problems.append(f"joints {missing} not in the URDF (urdf_joint_names maps the URDF's joint names, "
                        f"in the order {list(HAND_JOINTS)}; default: the vendor's joint_0.0 .. joint_15.0)")
    for tip in tips:
        body = hand.body(tip)
        if body is None:
            problems.append(f"tip link {tip!r} not in the URDF (urdf_tip_links names the index, middle, "
                            "ring and thumb tip links)")
        elif not [g for g in body.geoms if g.contype or g.conaffinity]:
            problems.append(f"tip link {tip!r} has no collision shape")
    if len(hand.worldbody.bodies) != 1:
        problems.append("the URDF must have one root link (the palm)")
    return problems


def scene_from_urdf(path: str | os.PathLike, joints=VENDOR_JOINTS, tips=VENDOR_TIPS) -> mujoco.MjModel:
    """GpuAllegroHand-v0's scene with the URDF hand at `path` in place of ours.

    joints: the URDF's 16 joint names in our order (index j0-j3, middle, ring, thumb);
    tips: the index, middle, ring and thumb tip link names. Raises `AssetError` for a missing
    or unreadable file, missing names, or a scene MuJoCo cannot compile; the result still
    needs `hand_scene.scene_problems` (joint order, limits, mesh collisions).
    """
    try:
        return scene_spec_from_urdf(path, joints, tips).compile()
    except ValueError as err:
        raise AssetError(f"MuJoCo could not build the scene with the hand of {path}: {err}") from err


def scene_spec_from_urdf(path: str | os.PathLike, joints=VENDOR_JOINTS, tips=VENDOR_TIPS) -> mujoco.MjSpec:
    """`scene_from_urdf`'s scene before it is compiled (the pixel renderer adds its camera to it)."""
    path = Path(path)
    hand = _urdf_spec(path)
    problems = _missing_names(hand, tuple(joints), tuple(tips))
    if problems:
        raise AssetError(f"{path} is not a usable hand:\n  - " + "\n  - ".join(problems))

    scene = mujoco.MjSpec.from_file(str(asset_path("allegro_hand.xml")))
    drive = [{field: _copy(getattr(scene.joint(name), field)) for field in _JOINT_FIELDS} for name in HAND_JOINTS]
    actuators = [{field: _copy(getattr(a, field)) for field in _ACTUATOR_FIELDS} for a in scene.actuators]
    contact = {field: _copy(getattr(scene.geom("palm"), field)) for field in _CONTACT_FIELDS}
    tip_colors = [_copy(scene.geom(name).rgba) for name in HAND_TIPS]
    palm = scene.body("palm")
    for child in list(palm.bodies) + list(palm.geoms):  # our hand goes (its actuators with it)
        scene.delete(child)
    palm.add_frame().attach_body(hand.worldbody.bodies[0], _PREFIX, "")

    for body in scene.bodies:
        if body.name.startswith(_PREFIX):
            body.gravcomp = 1.0  # the reference disables gravity on the hand
            for geom in body.geoms:
                if geom.contype or geom.conaffinity:  # a collision shape: it collides with the cube only
                    for field, value in contact.items():
                        setattr(geom, field, value)
    for theirs, name, joint_fields, actuator_fields in zip(joints, HAND_JOINTS, drive, actuators):
        joint = scene.joint(_PREFIX + theirs)
        joint.name = name
        for field, value in joint_fields.items():
            setattr(joint, field, value)
        actuator = scene.add_actuator(name=f"{name[:2]}a{name[-1]}", target=name, ctrlrange=joint.range)
        for field, value in actuator_fields.items():
            setattr(actuator, field, value)
    for tip, name, color in zip(tips, HAND_TIPS, tip_colors):
        geom = next(g for g in scene.body(_PREFIX + tip).geoms if g.contype or g.conaffinity)
        geom.name, geom.rgba = name, color
    return scene
