"""The camera of pixel observations: where it is, and its pose (and the lights') for the renderer.

`add_camera` turns a task's `CameraDefaults` (how `render()` frames one env) into a fixed MJCF
camera added to the task's model spec. `CameraAndLightPoses` computes what MuJoCo's
`mj_camlight` computes for that camera and the model's lights, in JAX: MJX's Warp backend
computes body poses (`kinematics`) but not these, which the ray tracer reads.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import mujoco
import numpy as np

from .camera import CameraDefaults, cell_distance, spacing_pair

CAMERA_NAME = "gpu_envs_pixels"


def camera_pose(defaults: CameraDefaults, fovy: float, aspect: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(position (3,), xyaxes (6,), distance) of a fixed camera seeing one env as `render()` frames
    it: MuJoCo's free camera at `defaults` (lookat, distance, azimuth, elevation), vertical field
    of view `fovy` degrees, images `aspect` = width / height. A distance of 0 (Cartpole's) frames
    one grid cell (`defaults.spacing`), as `render()` does for one env."""
    distance = float(defaults.distance)
    if distance <= 0:
        distance = cell_distance(*spacing_pair(defaults.spacing), fovy, aspect)
    azimuth, elevation = math.radians(defaults.azimuth), math.radians(defaults.elevation)
    forward = np.array([math.cos(elevation) * math.cos(azimuth), math.cos(elevation) * math.sin(azimuth),
                        math.sin(elevation)])
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    position = np.asarray(defaults.lookat, float) - distance * forward
    return position, np.concatenate([right, up]), distance


def add_camera(spec: mujoco.MjSpec, defaults: CameraDefaults, width: int, height: int, fovy: float) -> float:
    """Add the camera `CAMERA_NAME` to `spec`, posed by `camera_pose`; on the tracked body when
    `defaults.track` names one, following it without turning (MuJoCo's "track" mode, which keeps
    the offset and orientation the camera has at the model's reference pose). Returns the
    camera's `depth_range` in metres (module docstring)."""
    position, xyaxes, distance = camera_pose(defaults, fovy, width / height)
    parent = spec.worldbody
    if defaults.track is not None:
        parent = spec.body(defaults.track)
        if parent is None:
            raise ValueError(f"the camera tracks body {defaults.track!r}, which the model does not have "
                             "(CameraDefaults.track names a body of the task's model)")
        model = spec.compile()
        data = mujoco.MjData(model)
        mujoco.mj_kinematics(model, data)
        body = model.body(defaults.track).id
        to_body = data.xmat[body].reshape(3, 3).T  # world -> the body's frame at the reference pose
        position = to_body @ (position - data.xpos[body])
        xyaxes = np.concatenate([to_body @ xyaxes[:3], to_body @ xyaxes[3:]])
    camera = parent.add_camera(name=CAMERA_NAME, pos=position, fovy=fovy)
    camera.alt.type = mujoco.mjtOrientation.mjORIENTATION_XYAXES
    camera.alt.xyaxes = xyaxes
    if defaults.track is not None:
        camera.mode = mujoco.mjtCamLight.mjCAMLIGHT_TRACK
    return 2.0 * distance


_FIXED, _TRACK = int(mujoco.mjtCamLight.mjCAMLIGHT_FIXED), int(mujoco.mjtCamLight.mjCAMLIGHT_TRACK)


class CameraAndLightPoses:
    """MuJoCo's camera and light placement (`mj_camlight`) for the modes "fixed" and "track", in
    JAX: MJX's Warp backend computes body poses (`kinematics`) but not these, which the ray
    tracer reads. Covers the renderer's camera and every light of the model."""

    def __init__(self, model: mujoco.MjModel, camera: int):
        modes = {"camera": int(model.cam_mode[camera]), **{f"light {i}": int(m) for i, m in enumerate(model.light_mode)}}
        other = {name: mujoco.mjtCamLight(mode).name for name, mode in modes.items() if mode not in (_FIXED, _TRACK)}
        if other:
            raise ValueError(f"pixel observations place cameras and lights with mode fixed or track; the model has "
                             f"{other}: set those lights' or the camera's mode to fixed or track")
        self.camera = camera
        self.cam_body, self.cam_track = int(model.cam_bodyid[camera]), modes["camera"] == _TRACK
        self.cam_pos, self.cam_pos0 = jnp.asarray(model.cam_pos[camera]), jnp.asarray(model.cam_pos0[camera])
        local = np.zeros(9)
        mujoco.mju_quat2Mat(local, model.cam_quat[camera])
        self.cam_mat, self.cam_mat0 = jnp.asarray(local.reshape(3, 3)), jnp.asarray(model.cam_mat0[camera].reshape(3, 3))
        self.light_body = np.asarray(model.light_bodyid)
        self.light_track = jnp.asarray(model.light_mode == _TRACK)
        self.light_pos, self.light_pos0 = jnp.asarray(model.light_pos), jnp.asarray(model.light_pos0)
        self.light_dir, self.light_dir0 = jnp.asarray(model.light_dir), jnp.asarray(model.light_dir0)

    def place(self, data):
        """`data` (one env, body poses computed) with the camera's and the lights' poses set."""
        xpos, xmat = data.xpos, data.xmat.reshape(-1, 3, 3)
        body = self.cam_body
        if self.cam_track:
            pos, mat = xpos[body] + self.cam_pos0, self.cam_mat0
        else:
            pos, mat = xpos[body] + xmat[body] @ self.cam_pos, xmat[body] @ self.cam_mat
        cam_xpos = data.cam_xpos.at[self.camera].set(pos)
        cam_xmat = data.cam_xmat.at[self.camera].set(mat.reshape(data.cam_xmat.shape[1:]))
        lights = self.light_body
        track = self.light_track[:, None]
        light_xpos = jnp.where(track, xpos[lights] + self.light_pos0,
                               xpos[lights] + jnp.einsum("lij,lj->li", xmat[lights], self.light_pos))
        light_xdir = jnp.where(track, self.light_dir0, jnp.einsum("lij,lj->li", xmat[lights], self.light_dir))
        impl = data._impl  # the Warp backend's own fields hold the lights
        impl = impl.replace(light_xpos=light_xpos.astype(impl.light_xpos.dtype),
                            light_xdir=light_xdir.astype(impl.light_xdir.dtype))
        return data.replace(cam_xpos=cam_xpos, cam_xmat=cam_xmat, _impl=impl)
