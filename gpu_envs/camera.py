"""How `render()` frames a task: the free camera's pose for one env and the spacing of the grid."""

from __future__ import annotations

import dataclasses
import math

import mujoco
import numpy as np


@dataclasses.dataclass(frozen=True)
class CameraDefaults:
    """A task's view of one env: grid spacing (x, y) and free-camera pose (metres, degrees).

    spacing: distance between neighbouring envs' copies in the grid, along x and y [m].
    lookat: the point of one env the camera aims at [m].
    distance: camera distance from `lookat` for one env [m] (the grid adds to it).
    azimuth, elevation: MuJoCo free-camera angles [deg].
    track: the name of a body the view follows in the ground plane (a robot that walks away), or
        None for a fixed view. One env: the camera moves with the body. A grid: each env's copy
        is drawn with the body at its cell's centre, so every robot stays in view.
    """

    spacing: tuple
    lookat: tuple
    distance: float
    azimuth: float
    elevation: float
    track: str | None = None

    @classmethod
    def framing(cls, mj_model: mujoco.MjModel) -> CameraDefaults:
        """A view of the whole model seen from its front-left and above, from MuJoCo's
        statistics of the model (its centre and extent at the reference pose)."""
        extent = float(mj_model.stat.extent)
        centre = tuple(float(x) for x in mj_model.stat.center)
        return cls(spacing=(2.0 * extent, 2.0 * extent), lookat=centre, distance=1.5 * extent,
                   azimuth=90.0, elevation=-30.0)


def spacing_pair(spacing) -> tuple[float, float]:
    """(dx, dy) in metres from a grid spacing given as one number or an (x, y) pair."""
    return (float(spacing),) * 2 if np.isscalar(spacing) else tuple(float(s) for s in spacing)


def cell_distance(dx: float, dy: float, fovy: float, aspect: float) -> float:
    """Camera distance [m] at which one grid cell, dx by dy metres, fills a frame of vertical field
    of view `fovy` degrees and `aspect` = width / height: how one env of a task whose camera
    distance is 0 (Cartpole) is framed."""
    return max(dx / aspect, dy) / (2 * math.tan(math.radians(fovy) / 2))
