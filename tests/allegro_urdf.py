"""A right Allegro hand as a URDF in the vendor's layout, written from the kinematic facts.

The vendor's allegro_hand_description names the palm `base_link`, the joints `joint_0.0` ..
`joint_15.0` (index 0-3, middle 4-7, ring 8-11, thumb 12-15) and the links after them
`link_0.0` .. `link_15.0`, with fixed tip links `link_3.0_tip`, `link_7.0_tip`,
`link_11.0_tip` and `link_15.0_tip`. This one has box links and sphere tips (the collision
primitives of the vendor's public allegro_hand_description URDF) and no meshes, so tests can load it.
"""

from __future__ import annotations

import math

# (parent offset xyz, rotation quat wxyz or None, axis, (lower, upper)) for j0..j3 of each finger
_FINGER_JOINTS = [
    (None, None, (0, 0, 1), (-0.47, 0.47)),
    ((0, 0, 0.0164), None, (0, 1, 0), (-0.196, 1.61)),
    ((0, 0, 0.054), None, (0, 1, 0), (-0.174, 1.709)),
    ((0, 0, 0.0384), None, (0, 1, 0), (-0.227, 1.618)),
]
_BASES = {  # finger -> (offset of joint 0 in the palm, its rotation)
    "ff": ((0, 0.0435, -0.001542), (0.999048, -0.0436194, 0, 0)),
    "mf": ((0, 0, 0.0007), None),
    "rf": ((0, -0.0435, -0.001542), (0.999048, 0.0436194, 0, 0)),
}
_THUMB_JOINTS = [
    ((-0.0182, 0.019333, -0.045987), (0.477714, -0.521334, -0.521334, -0.477714), (-1, 0, 0), (0.263, 1.396)),
    ((-0.027, 0.005, 0.0399), None, (0, 0, 1), (-0.105, 1.163)),
    ((0, 0, 0.0177), None, (0, 1, 0), (-0.189, 1.644)),
    ((0, 0, 0.0514), None, (0, 1, 0), (-0.162, 1.719)),
]
_FINGER_BOXES = [((0.0098, 0.01375, 0.0082), (0, 0, 0.0082)), ((0.0098, 0.01375, 0.027), (0, 0, 0.027)),
                 ((0.0098, 0.01375, 0.0192), (0, 0, 0.0192)), ((0.0098, 0.01375, 0.008), (0, 0, 0.008))]
_THUMB_BOXES = [((0.0179, 0.017, 0.02275), (-0.0179, 0.009, 0.0145)), ((0.0098, 0.01375, 0.00885), (0, 0, 0.00885)),
                ((0.0098, 0.01375, 0.0257), (0, 0, 0.0257)), ((0.0098, 0.01375, 0.0157), (0, 0, 0.0157))]
_MASSES = (0.0119, 0.065, 0.0355, 0.0096)


def _rpy(quat) -> tuple[float, float, float]:
    """URDF roll-pitch-yaw of a wxyz quaternion."""
    w, x, y, z = quat
    roll = math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2 * (w * y - z * x))))
    yaw = math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return roll, pitch, yaw


def _v(values) -> str:
    return " ".join(f"{v:.6g}" for v in values)


def _link(name: str, mass: float, box=None, sphere=None) -> str:
    geometry = ""
    if box is not None:
        half, pos = box
        geometry = (f'<collision><origin xyz="{_v(pos)}"/><geometry><box size="{_v(2 * h for h in half)}"/>'
                    '</geometry></collision>')
    if sphere is not None:
        geometry = f'<collision><geometry><sphere radius="{sphere}"/></geometry></collision>'
    i = 1e-6
    return (f'<link name="{name}"><inertial><mass value="{mass}"/>'
            f'<inertia ixx="{i}" ixy="0" ixz="0" iyy="{i}" iyz="0" izz="{i}"/></inertial>{geometry}</link>')


def _joint(name, parent, child, xyz, quat, axis=None, limits=None) -> str:
    rpy = _rpy(quat) if quat is not None else (0, 0, 0)
    kind = "revolute" if axis is not None else "fixed"
    text = f'<joint name="{name}" type="{kind}"><parent link="{parent}"/><child link="{child}"/>'
    text += f'<origin xyz="{_v(xyz)}" rpy="{_v(rpy)}"/>'
    if axis is not None:
        text += f'<axis xyz="{_v(axis)}"/><limit lower="{limits[0]}" upper="{limits[1]}" effort="0.7" velocity="6"/>'
    return text + "</joint>"


def allegro_urdf(finger_order=("ff", "mf", "rf", "th"), tip_radius: float = 0.012) -> str:
    """The URDF text; `finger_order` is the order the fingers' joints appear in the file."""
    parts = ['<robot name="allegro_hand_right">',
             _link("base_link", 0.4154, box=((0.0204, 0.0565, 0.0475), (-0.0093, 0, -0.0475)))]
    for finger in finger_order:
        first = {"ff": 0, "mf": 4, "rf": 8, "th": 12}[finger]
        parent = "base_link"
        for k in range(4):
            n = first + k
            if finger == "th":
                xyz, quat, axis, limits = _THUMB_JOINTS[k]
                box = _THUMB_BOXES[k]
            else:
                xyz, quat, axis, limits = _FINGER_JOINTS[k]
                if k == 0:
                    xyz, quat = _BASES[finger]
                box = _FINGER_BOXES[k]
            parts.append(_link(f"link_{n}.0", _MASSES[k], box=box))
            parts.append(_joint(f"joint_{n}.0", parent, f"link_{n}.0", xyz, quat, axis, limits))
            parent = f"link_{n}.0"
        tip_offset = 0.0423 if finger == "th" else 0.0267
        parts.append(_link(f"link_{first + 3}.0_tip", 0.0168, sphere=tip_radius))
        parts.append(_joint(f"joint_{first + 3}.0_tip", parent, f"link_{first + 3}.0_tip", (0, 0, tip_offset), None))
    parts.append("</robot>")
    return "\n".join(parts)
