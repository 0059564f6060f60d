"""Host-side rendering of the first k envs of a batch, laid out in a grid in one scene.

The GPU simulation stays where it is: the vector env copies only the shown envs' positions
(qpos, mocap poses) to the host, and `GridScene` poses one host `MjData` per env and adds its
geoms to a single `MjvScene`, each env shifted to its grid cell (env 0 at the origin, the
others along +x and -y). `OffscreenRenderer` turns that scene into an RGB array with an
OpenGL context it picks itself (EGL or OSMesa headless, GLFW with a display), and
`HumanViewer` shows it in MuJoCo's interactive viewer. `EnvFrames` is the per-env view:
one frame per env, each env alone in a one-env `GridScene`, drawn when first read.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import operator
import os
import sys
from collections.abc import Sequence

import mujoco
import numpy as np

from ._checks import is_positive_int
from .camera import CameraDefaults, cell_distance, spacing_pair

_HIDDEN_GROUP = 5  # geom group the renderer moves ground planes to (drawn once, for env 0)


@dataclasses.dataclass(frozen=True)
class RenderConfig:
    """What `env.render()` shows. None takes the task's default (see docs/rendering.md).

    num_envs: how many envs to show (the first ones of the batch; at most the env's num_envs).
    width, height: frame size in pixels for render_mode="rgb_array".
    spacing: metres between neighbouring envs in the grid: one number, or (along x, along y).
    lookat: camera target (x, y, z) in metres, relative to the grid's centre.
    distance: camera distance in metres from its target (default grows with the grid).
    azimuth, elevation: camera angles in degrees (MuJoCo's free-camera convention).
    """

    num_envs: int = 16
    width: int = 640
    height: int = 480
    spacing: float | tuple | None = None
    lookat: tuple | None = None
    distance: float | None = None
    azimuth: float | None = None
    elevation: float | None = None

    @classmethod
    def build(cls, value) -> "RenderConfig":
        """A RenderConfig from None, a dict of its fields, or a RenderConfig; checks values."""
        if value is None:
            config = cls()
        elif isinstance(value, cls):
            config = value
        elif isinstance(value, dict):
            names = {f.name for f in dataclasses.fields(cls)}
            unknown = sorted(set(value) - names)
            if unknown:
                raise TypeError(f"unknown render_config key(s) {unknown}; valid: {sorted(names)}")
            config = cls(**value)
        else:
            raise TypeError(f"render_config must be a dict or RenderConfig (got {type(value).__name__})")
        if not is_positive_int(config.num_envs):
            raise ValueError(f"render_config num_envs must be a positive int (got {config.num_envs!r})")
        for name in ("width", "height"):
            value = getattr(config, name)
            if not (is_positive_int(value) and value <= MAX_FRAME_SIDE):
                raise ValueError(f"render_config {name} must be an int in [1, {MAX_FRAME_SIDE}] (got {value!r})")
        _check_numbers("spacing", config.spacing, (1, 2), "one number > 0 or (x, y)", positive=True)
        _check_numbers("lookat", config.lookat, (3,), "(x, y, z) in metres")
        _check_numbers("distance", config.distance, (1,), "a number >= 0 (metres)", non_negative=True)
        _check_numbers("azimuth", config.azimuth, (1,), "a number (degrees)")
        _check_numbers("elevation", config.elevation, (1,), "a number (degrees)")
        return config


MAX_FRAME_SIDE = 16384  # pixels: OpenGL's usual renderbuffer limit


def _check_numbers(name: str, value, sizes: tuple, what: str, positive: bool = False,
                   non_negative: bool = False) -> None:
    """ValueError naming render_config `name` unless `value` is None or `sizes` finite real numbers."""
    if value is None:
        return
    error = ValueError(f"render_config {name} must be {what} (got {value!r})")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise error from None
    if array.size not in sizes or array.ndim > 1 or not np.all(np.isfinite(array)):
        raise error
    if (positive and np.any(array <= 0)) or (non_negative and np.any(array < 0)):
        raise error


def grid_shape(count: int, spacing: tuple, aspect: float = 4 / 3) -> tuple[int, int]:
    """(rows, cols) of the grid holding `count` envs whose extent is closest to `aspect` (w/h)."""
    dx, dy = spacing

    def mismatch(cols):  # off the aspect ratio, plus empty cells
        rows = math.ceil(count / cols)
        return abs(math.log((cols * dx) / (rows * dy) / aspect)) + (rows * cols - count) / count

    cols = min(range(1, count + 1), key=mismatch)
    return math.ceil(count / cols), cols


class GridScene:
    """Builds one `MjvScene` holding `count` copies of a model, posed env by env, in a grid."""

    def __init__(self, mj_model: mujoco.MjModel, count: int, config: RenderConfig, defaults: CameraDefaults,
                 *, max_width: int = 0, max_height: int = 0):
        model = copy.deepcopy(mj_model)  # our own copy: the group and framebuffer edits stay here
        planes = model.geom_type == mujoco.mjtGeom.mjGEOM_PLANE
        model.geom_group[planes] = _HIDDEN_GROUP
        model.vis.global_.offwidth = max(int(model.vis.global_.offwidth), max_width)
        model.vis.global_.offheight = max(int(model.vis.global_.offheight), max_height)
        self.model = model
        self.count = int(count)
        self.data = mujoco.MjData(model)
        self.scene = mujoco.MjvScene(model, maxgeom=self.count * max(model.ngeom, 1) + 100)
        self.perturb = mujoco.MjvPerturb()
        self.option_first = mujoco.MjvOption()  # env 0: everything, the ground included
        self.option_first.geomgroup[_HIDDEN_GROUP] = 1
        self.option_rest = mujoco.MjvOption()  # other envs: the ground is already drawn
        self.option_rest.geomgroup[_HIDDEN_GROUP] = 0

        dx, dy = spacing_pair(defaults.spacing if config.spacing is None else config.spacing)
        rows, cols = self.shape = grid_shape(self.count, (dx, dy), config.width / config.height)
        index = np.arange(self.count)
        self.offsets = np.stack([(index % cols) * dx, -(index // cols) * dy, np.zeros(self.count)], 1)
        centre = np.array([(cols - 1) * dx / 2, -(rows - 1) * dy / 2, 0.0])
        lookat = defaults.lookat if config.lookat is None else config.lookat
        self.camera = mujoco.MjvCamera()
        self.camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        self.camera.lookat[:] = centre + np.asarray(lookat, float)
        extent = max((cols - 1) * dx, (rows - 1) * dy)
        if config.distance is not None:
            self.camera.distance = float(config.distance)
        elif defaults.distance + 1.4 * extent > 0:
            self.camera.distance = defaults.distance + 1.4 * extent
        else:  # one env of a task whose own distance is 0 (Cartpole): one grid cell fills the frame
            self.camera.distance = cell_distance(dx, dy, model.vis.global_.fovy, config.width / config.height)
        self.camera.azimuth = defaults.azimuth if config.azimuth is None else float(config.azimuth)
        self.camera.elevation = defaults.elevation if config.elevation is None else float(config.elevation)
        self.lookat = self.camera.lookat.copy()
        self.tracked = None
        if defaults.track is not None:
            self.tracked = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, defaults.track)
            if self.tracked < 0:
                raise ValueError(f"the camera tracks body {defaults.track!r}, which the model does not have "
                                 "(CameraDefaults.track names a body of the task's model)")

    def _tracked_xy(self, data: mujoco.MjData) -> np.ndarray:
        """The tracked body's (x, y, 0) in posed `data`; zeros when nothing is tracked."""
        if self.tracked is None:
            return np.zeros(3)
        return np.array([data.xpos[self.tracked, 0], data.xpos[self.tracked, 1], 0.0])

    def pose(self, data: mujoco.MjData, qpos: np.ndarray, mocap_pos: np.ndarray, mocap_quat: np.ndarray) -> None:
        """Put one env's positions into `data` and compute what drawing needs (no dynamics)."""
        data.qpos[:] = qpos
        if self.model.nmocap:
            data.mocap_pos[:] = mocap_pos
            data.mocap_quat[:] = mocap_quat
        mujoco.mj_kinematics(self.model, data)
        mujoco.mj_camlight(self.model, data)

    def _shift(self, scene: mujoco.MjvScene, start: int, offset: np.ndarray) -> None:
        if not offset.any():
            return
        for i in range(start, scene.ngeom):
            geom = scene.geoms[i]
            if geom.type != mujoco.mjtGeom.mjGEOM_PLANE:
                geom.pos[:] += offset

    def update(self, qpos: np.ndarray, mocap_pos: np.ndarray, mocap_quat: np.ndarray) -> None:
        """Fill `self.scene` from the shown envs' state: qpos (k, nq), mocap_pos/quat (k, nmocap, 3|4)."""
        self.pose(self.data, qpos[0], mocap_pos[0], mocap_quat[0])
        first = self._tracked_xy(self.data)
        if self.count == 1:  # one env: the camera follows it over the ground
            self.camera.lookat[:] = self.lookat + first
        mujoco.mjv_updateScene(self.model, self.data, self.option_first, self.perturb, self.camera,
                               mujoco.mjtCatBit.mjCAT_ALL, self.scene)
        if self.count > 1:  # a grid: every env is drawn with its tracked body at its cell's centre
            self._shift(self.scene, 0, -first)
            first = np.zeros(3)
        self.add_others(self.scene, qpos, mocap_pos, mocap_quat, anchor=first)

    def add_others(self, scene: mujoco.MjvScene, qpos, mocap_pos, mocap_quat, anchor=None) -> None:
        """Append envs 1..k-1 to `scene`, each shifted to its grid cell. With a tracked body,
        each env's body sits at its cell's centre plus `anchor` (x, y, 0) (env 0's body where
        env 0 is drawn where it is, as in the live viewer; default)."""
        if anchor is None:
            anchor = np.zeros(3)
            if self.tracked is not None and len(qpos):
                self.pose(self.data, qpos[0], mocap_pos[0], mocap_quat[0])
                anchor = self._tracked_xy(self.data)
        for env in range(1, min(self.count, len(qpos))):
            self.pose(self.data, qpos[env], mocap_pos[env], mocap_quat[env])
            start = scene.ngeom
            mujoco.mjv_addGeoms(self.model, self.data, self.option_rest, self.perturb,
                                mujoco.mjtCatBit.mjCAT_ALL, scene)
            self._shift(scene, start, self.offsets[env] + anchor - self._tracked_xy(self.data))


def render_grid(env):
    """`env.render_grid()` for a GpuVectorEnv or any wrapper of one: gymnasium's wrappers do not
    pass `render_grid` through, so the unwrapped env's is called when the wrapper has none."""
    method = getattr(env, "render_grid", None)
    return (method if method is not None else env.unwrapped.render_grid)()


def has_display() -> bool:
    """Whether windows can open here: always off Linux; on Linux, when DISPLAY or WAYLAND_DISPLAY is set."""
    return sys.platform != "linux" or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _gl_context_class(choice: str):
    if choice == "egl":
        from mujoco.egl import GLContext
    elif choice == "osmesa":
        from mujoco.osmesa import GLContext
    elif choice in ("glfw", "glx", ""):
        from mujoco.glfw import GLContext
    else:
        raise ValueError(f"MUJOCO_GL={choice!r} is not one of egl, osmesa, glfw")
    return GLContext


def make_gl_context(width: int, height: int):
    """An OpenGL context for offscreen rendering, made current.

    MUJOCO_GL picks the backend when set (egl, osmesa, glfw); otherwise GLFW when a display
    is available, else EGL (a GPU's driver, or Mesa's software renderer), then OSMesa.
    """
    chosen = os.environ.get("MUJOCO_GL", "").lower().strip()
    choices = [chosen] if chosen else (["glfw"] if has_display() else ["egl", "osmesa"])
    errors = []
    for choice in choices:
        try:
            context = _gl_context_class(choice)(width, height)
            context.make_current()
            return context
        except Exception as err:  # a missing library or driver: try the next backend
            errors.append(f"{choice or 'glfw'}: {type(err).__name__}: {err}")
    raise RuntimeError("no OpenGL context for rendering (" + "; ".join(errors) + "). Headless machines need "
                       "EGL (libegl1 + a GPU driver or Mesa) or OSMesa (libosmesa6); set MUJOCO_GL=egl|osmesa")


def gl_unavailable() -> str | None:
    """None when an offscreen OpenGL context can be made here, else why not."""
    try:
        make_gl_context(16, 16).free()
    except RuntimeError as err:
        return str(err)
    return None


class OffscreenRenderer:
    """Renders a `GridScene` into (height, width, 3) uint8 RGB frames."""

    def __init__(self, grid: GridScene, width: int, height: int):
        self.grid = grid
        self.width, self.height = int(width), int(height)
        self._gl = make_gl_context(self.width, self.height)
        self._context = mujoco.MjrContext(grid.model, mujoco.mjtFontScale.mjFONTSCALE_150)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._context)
        self._rect = mujoco.MjrRect(0, 0, self.width, self.height)

    def render(self, qpos: np.ndarray, mocap_pos: np.ndarray, mocap_quat: np.ndarray) -> np.ndarray:
        """A frame of the shown envs (see `GridScene.update` for the inputs)."""
        return self.draw(self.grid, qpos, mocap_pos, mocap_quat)

    def draw(self, grid: GridScene, qpos: np.ndarray, mocap_pos: np.ndarray, mocap_quat: np.ndarray) -> np.ndarray:
        """A frame of `grid`, another scene of the same model (one env alone, say), in this context."""
        grid.update(qpos, mocap_pos, mocap_quat)
        self._gl.make_current()
        mujoco.mjr_render(self._rect, grid.scene, self._context)
        frame = np.empty((self.height, self.width, 3), np.uint8)
        mujoco.mjr_readPixels(frame, None, self._rect, self._context)
        return np.flipud(frame)

    def close(self) -> None:
        if self._context is not None:
            self._gl.make_current()
            self._context.free()
            self._context = None
            self._gl.free()


class EnvFrames(Sequence):
    """One frame per env, as `GpuVectorEnv.render()` returns them: item i is env i alone.

    Holds a host snapshot of every env's positions, taken when it was made; a frame is drawn
    from that snapshot by `draw(qpos (1, nq), mocap_pos (1, m, 3), mocap_quat (1, m, 4))` the
    first time it is read, then kept: reading it again returns the same read-only array. A
    slice is an `EnvFrames` over those envs that shares the snapshot and the drawn frames;
    `np.asarray(frames)` draws every env it holds, so slice first (`np.asarray(frames[:4])`).
    """

    def __init__(self, draw, qpos: np.ndarray, mocap_pos: np.ndarray, mocap_quat: np.ndarray,
                 frame_shape: tuple, envs: range | None = None, cache: dict | None = None):
        self._draw = draw
        self.frame_shape = tuple(frame_shape)  # (height, width, 3)
        self._snapshot = (qpos, mocap_pos, mocap_quat)
        self._envs = range(len(qpos)) if envs is None else envs
        self._cache = {} if cache is None else cache  # env index -> its frame

    def __len__(self) -> int:
        return len(self._envs)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return EnvFrames(self._draw, *self._snapshot, self.frame_shape, self._envs[index], self._cache)
        env = self._envs[operator.index(index)]  # IndexError out of range, as a list's
        frame = self._cache.get(env)
        if frame is None:
            frame = self._draw(*(part[env:env + 1] for part in self._snapshot))
            frame.flags.writeable = False
            self._cache[env] = frame
        return frame

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("EnvFrames draws its frames: np.asarray(frames, copy=False) cannot be a view")
        return np.stack(list(self), dtype=dtype) if len(self) else np.empty((0, *self.frame_shape), dtype or np.uint8)

    @property
    def drawn(self) -> int:
        """How many of these envs' frames are drawn so far."""
        return sum(env in self._cache for env in self._envs)

    def __repr__(self) -> str:
        return f"EnvFrames({len(self)} envs, {self.drawn} drawn)"


class ViewerQuit(KeyboardInterrupt):
    """Esc in the viewer: stops the run the way Ctrl-C does (train.py saves a checkpoint)."""


class HumanViewer:
    """MuJoCo's interactive viewer showing the grid; V pauses and resumes the picture, Esc quits.

    Training goes on while the picture is paused or after the window is closed: the env then
    copies nothing from the GPU (`wants_frame` is False). After Esc, the env's next
    `raise_if_quit` raises `ViewerQuit` in the thread that steps the env.
    """

    PAUSE_KEY = ord("V")
    QUIT_KEY = 256  # GLFW_KEY_ESCAPE

    def __init__(self, grid: GridScene):
        if not has_display():
            raise RuntimeError("render_mode='human' needs a display (DISPLAY is not set). On a headless "
                               "machine use render_mode='rgb_array' (MUJOCO_GL=egl) and record a video")
        import mujoco.viewer

        self.grid = grid
        self.paused = False
        self.quit_requested = False
        self._data = mujoco.MjData(grid.model)  # env 0, which the viewer draws itself
        self._handle = mujoco.viewer.launch_passive(grid.model, self._data, key_callback=self._on_key,
                                                    show_left_ui=False, show_right_ui=False)
        with self._handle.lock():
            cam = self._handle.cam
            cam.lookat[:], cam.distance = grid.camera.lookat, grid.camera.distance
            cam.azimuth, cam.elevation = grid.camera.azimuth, grid.camera.elevation
            self._handle.opt.geomgroup[_HIDDEN_GROUP] = 1

    def _on_key(self, keycode: int) -> None:  # runs in the viewer's thread
        if keycode == self.QUIT_KEY:
            self.quit_requested = True
        elif keycode == self.PAUSE_KEY:
            self.paused = not self.paused
            print(f"viewer: rendering {'paused' if self.paused else 'resumed'} (training goes on)", flush=True)

    def raise_if_quit(self) -> None:
        """Raise `ViewerQuit` once after Esc was pressed."""
        if self.quit_requested:
            self.quit_requested = False
            raise ViewerQuit("Esc pressed in the viewer")

    @property
    def wants_frame(self) -> bool:
        return not self.paused and self._handle.is_running()

    def show(self, qpos: np.ndarray, mocap_pos: np.ndarray, mocap_quat: np.ndarray) -> None:
        with self._handle.lock():
            self.grid.pose(self._data, qpos[0], mocap_pos[0], mocap_quat[0])
            self._handle.user_scn.ngeom = 0
            self.grid.add_others(self._handle.user_scn, qpos, mocap_pos, mocap_quat)
        self._handle.sync()

    def close(self) -> None:
        self._handle.close()
