"""Loading a hand scene for GpuAllegroHand-v0: an MJCF scene, or our scene with a URDF's hand.

`load_hand_scene` compiles the file and checks it against hand_scene.py's requirements, raising
`AssetError` listing every problem found.
"""

from __future__ import annotations

import os

import mujoco

from ..sim import AssetError, load_model
from .hand_scene import HAND_JOINTS, HAND_TIPS, scene_problems
from .urdf_hand import VENDOR_JOINTS, VENDOR_TIPS, scene_from_urdf

__all__ = ["HAND_JOINTS", "HAND_TIPS", "load_hand_scene"]


def load_hand_scene(path: str | os.PathLike, urdf_joint_names=None, urdf_tip_links=None) -> mujoco.MjModel:
    """Compile and validate a hand scene; raises `AssetError` naming every problem.

    path: an MJCF scene (everything the task needs, see the module docstring) or a URDF hand,
    which `urdf_hand.scene_from_urdf` puts into our scene in place of our hand;
    urdf_joint_names (16) and urdf_tip_links (4) name its joints and tip links when they are
    not the vendor's (None).
    """
    is_urdf = str(path).lower().endswith(".urdf")
    if is_urdf:
        joints = VENDOR_JOINTS if urdf_joint_names is None else urdf_joint_names
        tips = VENDOR_TIPS if urdf_tip_links is None else urdf_tip_links
        model = scene_from_urdf(path, joints, tips)
    elif urdf_joint_names is not None or urdf_tip_links is not None:
        raise ValueError(f"urdf_joint_names and urdf_tip_links apply to a URDF hand_model only (got {path})")
    else:
        model = load_model(path)
    problems = scene_problems(model)
    if problems:
        hint = ""
        if is_urdf and problems[0].startswith("the first 16 joints"):
            hint = ("\nMuJoCo numbers joints depth-first in the order the URDF lists them: the index, middle, "
                    "ring and thumb chains must come in that order.")
        raise AssetError(f"{path} is not a usable hand scene:\n  - " + "\n  - ".join(problems) + hint)
    return model
