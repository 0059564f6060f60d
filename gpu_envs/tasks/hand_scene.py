"""What a hand + cube scene must hold for GpuAllegroHand-v0, and the check that lists what is missing.

A scene (ours, assets/allegro_hand.xml, a user's MJCF passed as `hand_model=`, or ours with
the hand of a user's URDF, see urdf_hand.py) must have:
the 16 hand joints named in `HAND_JOINTS`, first and in that order, hinged and limited; one
position actuator per hand joint in the same order; a body "object" whose free joint follows
the hand joints; a mocap body "goal"; fingertip geoms `HAND_TIPS` that collide; and no mesh
collision geoms (MJX's mesh collisions are slow and a common source of broken contacts).
"""

from __future__ import annotations

import mujoco
import numpy as np

FINGERS = ("ff", "mf", "rf", "th")  # index, middle, ring, thumb
HAND_JOINTS = tuple(f"{f}j{i}" for f in FINGERS for i in range(4))
HAND_TIPS = tuple(f"{f}_tip" for f in FINGERS)


def _name(model: mujoco.MjModel, obj: mujoco.mjtObj, i: int) -> str:
    return mujoco.mj_id2name(model, obj, i) or f"#{i}"


def scene_problems(model: mujoco.MjModel) -> list[str]:
    """Every way `model` differs from what the task needs (empty when it is usable)."""
    problems = []
    J = mujoco.mjtObj
    names = [_name(model, J.mjOBJ_JOINT, i) for i in range(model.njnt)]
    if tuple(names[:16]) != HAND_JOINTS:
        missing = [n for n in HAND_JOINTS if n not in names]
        detail = f"missing {missing}" if missing else f"found {names[:16]}"
        problems.append(f"the first 16 joints must be {list(HAND_JOINTS)} in order ({detail})")
    else:
        hinge = model.jnt_type[:16] == mujoco.mjtJoint.mjJNT_HINGE
        limited = model.jnt_limited[:16].astype(bool)
        for i in np.flatnonzero(~hinge | ~limited):
            problems.append(f"joint {names[i]} must be a hinge with a range (limited)")
    if model.nu != 16:
        problems.append(f"the scene needs 16 actuators, one per hand joint (found {model.nu})")
    else:
        for i in range(16):
            on_joint = model.actuator_trntype[i] == mujoco.mjtTrn.mjTRN_JOINT and model.actuator_trnid[i, 0] == i
            position = (model.actuator_gaintype[i] == mujoco.mjtGain.mjGAIN_FIXED
                        and model.actuator_biastype[i] == mujoco.mjtBias.mjBIAS_AFFINE
                        and model.actuator_biasprm[i, 1] < 0)
            if not (on_joint and position):
                problems.append(f"actuator {_name(model, J.mjOBJ_ACTUATOR, i)} must be a position "
                                f"actuator on joint {HAND_JOINTS[i]}")
    obj = mujoco.mj_name2id(model, J.mjOBJ_BODY, "object")
    if obj < 0:
        problems.append("no body named 'object' (the cube)")
    elif model.body_jntnum[obj] != 1 or model.jnt_type[model.body_jntadr[obj]] != mujoco.mjtJoint.mjJNT_FREE \
            or model.body_jntadr[obj] != 16:
        problems.append("body 'object' must have exactly one free joint, right after the 16 hand joints")
    goal = mujoco.mj_name2id(model, J.mjOBJ_BODY, "goal")
    if goal < 0 or model.body_mocapid[goal] < 0:
        problems.append("no mocap body named 'goal' (the goal cube for display)")
    colliding = (model.geom_contype | model.geom_conaffinity) != 0
    for i in np.flatnonzero(colliding & (model.geom_type == mujoco.mjtGeom.mjGEOM_MESH)):
        problems.append(f"geom {_name(model, J.mjOBJ_GEOM, i)} collides as a mesh; use primitives "
                        "(box, capsule, sphere) and keep meshes visual (contype=conaffinity=0)")
    for tip in HAND_TIPS:
        gid = mujoco.mj_name2id(model, J.mjOBJ_GEOM, tip)
        if gid < 0:
            problems.append(f"no fingertip geom named {tip!r}")
        elif not colliding[gid]:
            problems.append(f"fingertip geom {tip!r} does not collide (contype and conaffinity are 0)")
    return problems
