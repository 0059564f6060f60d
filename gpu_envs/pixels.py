"""Pixel observations: every env's camera image, rendered on the env's device inside the step.

MuJoCo Warp's batched ray tracer (through MJX, `impl="warp"`) draws one camera per env from the
env's positions. The renderer keeps its own Warp copy of the task's model with a camera added,
and recomputes the kinematics from `qpos` and the mocap poses, so it serves either physics
backend. It runs where Warp runs: on CUDA GPUs and, slower, on the CPU (Warp's CPU backend, the
same kernels), which needs MuJoCo Warp installed (the `warp` extra).

Observation modes (`OBS_MODES`), each a uint8 image, rows top to bottom, channels last (the layout
Stable-Baselines3, skrl's conv layers after a permute, and rl_games' `permute_input` expect):
  - "rgb": (height, width, 3), red, green, blue;
  - "depth": (height, width, 1), distance along the camera's axis, 0-255 over [0, depth_range]
    metres (`depth_range`: twice the camera's distance to what it frames), 0 where nothing is hit;
  - "rgbd": (height, width, 4), both;
  - "state+rgb", "state+depth", "state+rgbd": a gymnasium `Dict` of the task's observation
    vector under "state" (float32, as obs_mode "state" gives it) and that image under "pixels"
    (for Stable-Baselines3's `MultiInputPolicy`, or a network of one's own).
"""

from __future__ import annotations

import importlib.util

import jax
import jax.numpy as jnp
import mujoco
import numpy as np

from . import memory
from .pixel_camera import CAMERA_NAME, CameraAndLightPoses, add_camera
from .sim import quiet_warp, warp_device_name

CHANNELS = {"rgb": 3, "depth": 1, "rgbd": 4}  # of each image mode
OBS_MODES = ("state", *CHANNELS, *(f"state+{mode}" for mode in CHANNELS))
MAX_SIDE = 4096  # pixels per side: beyond it the renderer's per-env buffers outgrow any device
MAX_FRAME_STACK = 16
DEFAULT_IMAGE_SIDE = 64
# bytes per pixel per env besides the observation: the renderer's packed RGB (uint32) and depth (float32)
_RENDER_BYTES_PER_PIXEL = 8
# How MJX runs the renderer's Warp calls on a GPU: the name of a `warp.JaxCallableGraphMode`
# (on the CPU, MJX's own choice). "JAX": Warp launches the kernels on XLA's stream, or into XLA's
# own graph; MJX's default "WARP" captures a graph per set of buffer addresses, which the
# gathered redraw of finished envs keeps changing (docs/benchmarks.md, "Pixels").
RENDER_GRAPH_MODE = "JAX"


def check_obs_mode(obs_mode) -> str:
    """`obs_mode` if it is one of `OBS_MODES`, else ValueError naming the allowed modes."""
    if obs_mode not in OBS_MODES:
        raise ValueError(f"obs_mode must be one of {OBS_MODES} (got {obs_mode!r})")
    return obs_mode


def image_mode(obs_mode: str) -> str | None:
    """The image part of an obs mode of `OBS_MODES` ("rgb", "depth" or "rgbd"); None for "state"."""
    mode = obs_mode.removeprefix("state+")
    return None if mode == "state" else mode


def keeps_state(obs_mode: str) -> bool:
    """Whether the observations of an obs mode of `OBS_MODES` hold the task's state vector."""
    return obs_mode.startswith("state")


def parse_image_size(image_size) -> tuple[int, int]:
    """(width, height) from an int (square) or a (width, height) pair of ints in [1, MAX_SIDE]."""
    pair = (image_size, image_size) if isinstance(image_size, (int, np.integer)) else image_size
    try:
        width, height = (int(side) for side in pair)
        valid = all(isinstance(side, (int, np.integer)) and not isinstance(side, bool) for side in pair)
    except (TypeError, ValueError):
        valid = False
    if not valid or not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise ValueError(f"image_size must be an int or a (width, height) pair of ints in [1, {MAX_SIDE}] "
                         f"(got {image_size!r})")
    return width, height


def check_frame_stack(frame_stack) -> int:
    """`frame_stack` if it is an int in [1, MAX_FRAME_STACK], else ValueError saying so."""
    if isinstance(frame_stack, bool) or not isinstance(frame_stack, (int, np.integer)) or not (
            1 <= frame_stack <= MAX_FRAME_STACK):
        raise ValueError(f"frame_stack must be an int in [1, {MAX_FRAME_STACK}] (got {frame_stack!r})")
    return int(frame_stack)


def check_pixel_options(obs_mode, image_size, frame_stack) -> tuple[tuple[int, int] | None, int]:
    """The checked (width, height) (None for obs_mode "state") and frame_stack of an env's
    pixel options; ValueError naming the option, the value and what is allowed."""
    check_obs_mode(obs_mode)
    frame_stack = check_frame_stack(frame_stack)
    if image_mode(obs_mode) is None:
        for name, value, default in (("image_size", image_size, None), ("frame_stack", frame_stack, 1)):
            if value != default:
                raise ValueError(f"{name} applies to the pixel obs modes {OBS_MODES[1:]}; obs_mode is 'state' "
                                 f"(got {name}={value!r})")
        return None, frame_stack
    return parse_image_size(DEFAULT_IMAGE_SIDE if image_size is None else image_size), frame_stack


def require_warp() -> None:
    """ImportError saying what to install when MuJoCo Warp (the renderer) is missing."""
    if importlib.util.find_spec("warp") is None:
        raise ImportError("pixel observations are rendered by MuJoCo Warp's ray tracer: install the 'warp' extra of "
                          "gpu-envs (pip install -e '.[warp]' in its clone), or use obs_mode='state'")


def _check_same_model(render_model: mujoco.MjModel, sim_model: mujoco.MjModel, task_name: str) -> None:
    """ValueError when the renderer's model is not the simulated one plus a camera."""
    sizes = ("nq", "nbody", "ngeom", "nmocap")
    differ = [f"{n} {getattr(render_model, n)} != {getattr(sim_model, n)}" for n in sizes
              if getattr(render_model, n) != getattr(sim_model, n)]
    if differ:
        raise ValueError(f"{task_name}.model_spec() is not the model it simulates ({', '.join(differ)}): a task that "
                         "builds its model in load_model() must return the same model from model_spec() for pixels")


def image_bytes(num_envs: int, mode: str, width: int, height: int, frame_stack: int = 1) -> int:
    """Device bytes the pixels of `num_envs` envs take per step: the renderer's buffers; the
    observation and the finished episodes' observation (`frame_stack` images each), both again in
    the packed output for torch; and, with frames stacked, the carried last observation. The
    renderer's buffers include those of its second context (`few_envs`)."""
    render = (num_envs + few_envs(num_envs)) * _RENDER_BYTES_PER_PIXEL
    return width * height * (render + num_envs * 5 * frame_stack * CHANNELS[image_mode(mode)])


def require_images_fit(device: jax.Device, num_envs: int, mode: str, width: int, height: int,
                       frame_stack: int = 1) -> None:
    """MemoryError, with the estimate, when the images (`image_bytes`) need more of the memory
    `device` has free than `memory.USABLE_FRACTION` of it."""
    free = memory.available_bytes(device)
    needed = image_bytes(num_envs, mode, width, height, frame_stack)
    if free is not None and needed > memory.USABLE_FRACTION * free:
        raise MemoryError(f"image_size=({width}, {height}) with obs_mode={mode!r} for {num_envs} envs needs about "
                          f"{needed / 1e9:.1f} GB of images on {device} and {free / 1e9:.1f} GB is free: "
                          "use fewer envs or smaller images")


def few_envs(num_envs: int) -> int:
    """Envs of the second, smaller render context that redraws the envs that finished a step
    (`PixelRenderer.render`'s `differ`): an eighth of them, rounded up."""
    return -(-int(num_envs) // 8)


class PixelRenderer:
    """Renders every env's image for an observation mode of `OBS_MODES` (module docstring).

    Built for `num_envs` envs of `task` on the task's device; `render(physics)` maps the envs'
    `PhysicsState` (leading axis N) to uint8 images (N, height, width, channels), traced inside
    the env's jitted step.
    """

    def __init__(self, task, num_envs: int, mode: str, width: int, height: int):
        if mode not in CHANNELS:
            raise ValueError(f"PixelRenderer renders {tuple(CHANNELS)} (got {mode!r})")
        device = task.sim.device
        require_warp()
        from mujoco import mjx

        if not hasattr(mjx, "create_render_context"):
            raise ImportError("pixel observations need MJX's batch renderer (mjx.create_render_context), which this "
                              "mujoco-mjx lacks: upgrade mujoco and mujoco-mjx (4.0.0 and 3.17.0 are known to work)")
        quiet_warp()

        spec = task.model_spec()
        fovy = float(spec.visual.global_.fovy)
        self.depth_range = add_camera(spec, task.camera, width, height, fovy)
        model = spec.compile()
        _check_same_model(model, task.sim.mj_model, type(task).__name__)
        self.mode, self.width, self.height, self.num_envs = mode, width, height, int(num_envs)
        self.device = device
        camera = model.camera(CAMERA_NAME).id
        self._poses = CameraAndLightPoses(model, camera)
        wants_rgb, wants_depth = mode in ("rgb", "rgbd"), mode in ("depth", "rgbd")
        import warp

        if device.platform == "cpu" and not warp.is_cpu_available():
            raise RuntimeError("pixel observations on the CPU run on Warp's CPU backend, which this warp-lang build "
                               "lacks (no LLVM): install warp-lang from PyPI, or use a CUDA device")
        graph_mode = getattr(warp.JaxCallableGraphMode, RENDER_GRAPH_MODE) if device.platform == "gpu" else None
        with jax.default_device(device):
            self._model = mjx.put_model(model, device=device, impl="warp", graph_mode=graph_mode)
            self._template = mjx.make_data(model, device=device, impl="warp")
        self.few_envs = few_envs(self.num_envs)
        self._contexts = {
            n: mjx.create_render_context(
                model, nworld=n, devices=[warp_device_name(device)], cam_res=(width, height), render_rgb=wants_rgb,
                render_depth=wants_depth, cam_active=[i == camera for i in range(model.ncam)], use_shadows=False)
            for n in {self.num_envs, self.few_envs}}

    def render(self, *physics, differ: jax.Array | None = None) -> tuple[jax.Array, ...]:
        """uint8 (N, height, width, channels) images of the envs, one array per `PhysicsState`
        given (each with leading axis N = `num_envs`: the render contexts are sized for it).

        Several states are drawn one after the other in one chain of calls: each refit of the
        scene's bounding-volume hierarchy comes after the previous render, which XLA could
        otherwise reorder, since both use the one context.

        differ: with two states, an (N,) bool that is False where the second state is the first
        (after a step: the envs that did not finish). Then only the envs where it is True are
        drawn again, in a context of `few_envs` envs, as long as no more than that many differ;
        the images are the same as without it.
        """
        # Traced under the env's device: MuJoCo Warp's calls otherwise follow JAX's default device,
        # which a program (or a test session) may have set to the CPU.
        with jax.default_device(self.device):
            return self._render(*physics, differ=differ)

    def _render(self, *physics, differ: jax.Array | None = None) -> tuple[jax.Array, ...]:
        """`render`, under the env's device."""
        for state in physics:
            if state.qpos.shape[0] != self.num_envs:
                raise ValueError(f"this renderer draws num_envs={self.num_envs} envs at once (got {state.qpos.shape[0]})")
        if differ is None or len(physics) != 2 or self.few_envs == self.num_envs:
            return self._draw(*physics)
        first, second = physics
        rows = jnp.nonzero(differ, size=self.few_envs, fill_value=self.num_envs)[0]  # past the end: unused rows

        def redraw_few():
            (images,) = self._draw(first)
            few = jax.tree.map(lambda x: x[jnp.minimum(rows, self.num_envs - 1)], second)
            (few_images,) = self._draw(few)
            return images, images.at[rows].set(few_images, mode="drop")

        return jax.lax.cond(jnp.sum(differ) <= self.few_envs, redraw_few, lambda: self._draw(first, second))

    def _draw(self, *physics) -> tuple[jax.Array, ...]:
        """`render` of states that all have the batch size of one of the render contexts."""
        from mujoco import mjx

        context = self._contexts[physics[0].qpos.shape[0]].pytree()

        def draw(data, qpos, mocap_pos, mocap_quat):
            data = data.replace(qpos=qpos, mocap_pos=mocap_pos, mocap_quat=mocap_quat)
            data = self._poses.place(mjx.kinematics(self._model, data))
            data = mjx.refit_bvh(self._model, data, context)
            return mjx.render(self._model, data, context)  # rgb, depth, data (carrying the order token)

        def one_env(*states):
            data, images = self._template, []
            for qpos, mocap_pos, mocap_quat in states:
                rgb, depth, data = draw(data, qpos, mocap_pos, mocap_quat)
                images.append((rgb, depth))
            return images

        drawn = jax.vmap(one_env)(*((p.qpos, p.mocap_pos, p.mocap_quat) for p in physics))
        return tuple(self._to_images(rgb, depth) for rgb, depth in drawn)

    def _to_images(self, rgb: jax.Array, depth: jax.Array) -> jax.Array:
        """The renderer's packed RGB (uint32 0xAARRGGBB) and depth (metres) as uint8 images."""
        shape = ((depth if self.mode == "depth" else rgb).shape[0], self.height, self.width)
        parts = []
        if self.mode in ("rgb", "rgbd"):
            packed = rgb.reshape(shape)
            parts += [((packed >> shift) & 0xFF).astype(jnp.uint8) for shift in (16, 8, 0)]
        if self.mode in ("depth", "rgbd"):
            scaled = jnp.clip(depth.reshape(shape) / self.depth_range, 0.0, 1.0)
            parts.append(jnp.round(scaled * 255.0).astype(jnp.uint8))
        return jnp.stack(parts, axis=-1)


class FrameStack:
    """The last `k` images of every env as one observation, concatenated on the channels, oldest
    first: (N, H, W, k * C). An env's first observation of an episode repeats its first image.
    What is carried from step to step is the last observation itself."""

    def __init__(self, k: int):
        self.k = int(k)

    def first(self, images: jax.Array) -> jax.Array:
        """The observation of envs whose episode starts with `images` (N, H, W, C)."""
        return jnp.concatenate([images] * self.k, axis=-1)

    def push(self, last: jax.Array, images: jax.Array, restart: jax.Array) -> jax.Array:
        """The observation after this step's `images`, from the `last` one; envs where `restart`
        (N,) start over."""
        return jnp.where(restart.reshape(-1, 1, 1, 1), self.first(images), self.end(last, images))

    @staticmethod
    def end(last: jax.Array, images: jax.Array) -> jax.Array:
        """`last` with its oldest image dropped and `images` appended."""
        return jnp.concatenate([last[..., images.shape[-1]:], images], axis=-1)
