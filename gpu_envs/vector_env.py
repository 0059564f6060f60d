"""GpuVectorEnv: any task as a `gymnasium.vector.VectorEnv` with zero-copy torch outputs.

Step semantics follow one of gymnasium's autoreset modes (constructor argument
`autoreset_mode`). The default, SAME_STEP, resets an env that finishes inside the same `step`;
the returned observation is the new episode's first one and the finished episode's last
observation is `infos["final_obs"]` where `infos["_final_obs"]` is True. See docs/env_api.md
for the modes and the info keys.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import torch
from gymnasium.utils import seeding as gym_seeding
from gymnasium.vector import AutoresetMode

from . import memory, packing
from .compile_ahead import CompileAhead, check_choice, step_arguments
from .compile_cache import use_default_cache
from ._checks import is_positive_int
from .batched import BatchedEnv, StepOutput
from .interop import action_to_jax, mask_to_jax, to_torch, torch_device_of
from .pixels import CHANNELS, PixelRenderer, check_pixel_options, image_mode, keeps_state, require_images_fit
from .seeding import check_seed, key_from_seed, keys_from_seeds
from .sim import made_on_host
from .render import EnvFrames, GridScene, HumanViewer, OffscreenRenderer, RenderConfig
from .tasks.base import Task

OUTPUTS = ("torch", "jax")
AUTORESET_MODES = {"same_step": AutoresetMode.SAME_STEP, "next_step": AutoresetMode.NEXT_STEP,
                   "disabled": AutoresetMode.DISABLED}


def parse_autoreset_mode(mode) -> AutoresetMode:
    """An `AutoresetMode` from the enum itself, its value ("SameStep") or its name ("same_step")."""
    if isinstance(mode, AutoresetMode):
        return mode
    if isinstance(mode, str):
        for name, member in AUTORESET_MODES.items():
            if mode.lower() in (name, member.value.lower()):
                return member
    raise ValueError(f"autoreset_mode must be a gymnasium.vector.AutoresetMode or one of "
                     f"{list(AUTORESET_MODES)} (got {mode!r})")
_NO_VIEWER = object()  # render_mode="human" where no window could be opened


def check_compile_ahead(compile_ahead, backend: str, obs_mode: str, device: jax.Device) -> bool:
    """Whether an env compiles its step ahead (GpuVectorEnv's `compile_ahead`), or ValueError."""
    check_choice(compile_ahead)
    possible = backend == "jax" and obs_mode == "state"
    if compile_ahead and not possible:
        # MuJoCo Warp and the pixel renderer build Warp kernels by parsing Python source, which
        # some CPython versions cannot do on two threads at once
        # (gpu_envs.train.library_import.ast_parsing_is_thread_safe)
        raise ValueError(f"compile_ahead=True needs backend='jax' and obs_mode='state' "
                         f"(got backend={backend!r}, obs_mode={obs_mode!r})")
    return possible and (compile_ahead if compile_ahead is not None else device.platform == "gpu")


class GpuVectorEnv(gym.vector.VectorEnv):
    """N copies of a task stepped together by one compiled XLA program per `step`.

    Args:
        task: the task (its simulation already lives on the chosen device and backend).
        num_envs: number of parallel envs N (>= 1).
        output: "torch" (default) returns torch tensors sharing memory with the simulator's
            outputs; "jax" returns the JAX arrays themselves.
        render_mode: None (default), "rgb_array" (`render()` returns one RGB frame per env,
            drawn when read; `render_grid()` one frame of the first envs in a grid) or "human"
            (MuJoCo's viewer window showing the grid, updated by each `render()`).
        render_config: frame size (width=640, height=480) and what the grid shows: a dict of
            `gpu_envs.render.RenderConfig` fields (num_envs=16 shown, camera pose, grid spacing).
        autoreset_mode: gymnasium's `AutoresetMode` (or "same_step", "next_step", "disabled"):
            how finished envs are reset; SAME_STEP (default) resets them inside `step`.
        obs_mode: "state" (default: the task's observation vector), or pixels rendered on the
            env's device inside the step: "rgb" (H, W, 3), "depth" (H, W, 1) or "rgbd" (H, W, 4),
            uint8, channels last (`gpu_envs.pixels`; needs MuJoCo Warp, the 'warp' extra); or
            "state+rgb", "state+depth", "state+rgbd": a dict of both, {"state": ..., "pixels": ...}.
        image_size: the pixel modes' image, an int (square) or (width, height); default 64.
        frame_stack: the pixel modes' observation holds the last `frame_stack` images,
            concatenated on the channels, oldest first (default 1: the newest image alone).
        compile_ahead: compile `step` on a background thread from construction on, while the
            caller builds its learner and resets (`gpu_envs.compile_ahead`); the first `step()`
            waits for it. Needs the JAX backend and obs_mode="state". None (default): on for
            such envs on a GPU, off on the CPU (where it would compete with the caller for
            cores, and compile steps that tests never take).

    An env holds device buffers that each step donates, so it cannot be copied or pickled
    (`copy.copy`, `copy.deepcopy` and `pickle` raise TypeError): make a second env instead.
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": ["rgb_array", "human"]}

    def __init__(self, task: Task, num_envs: int, *, output: str = "torch", render_mode: str | None = None,
                 render_config=None, autoreset_mode=AutoresetMode.SAME_STEP, obs_mode: str = "state",
                 image_size=None, frame_stack: int = 1, compile_ahead: bool | None = None):
        if not is_positive_int(num_envs):
            raise ValueError(f"num_envs must be a positive int (got {num_envs!r})")
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS} (got {output!r})")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} is not supported; available: {self.metadata['render_modes']}")
        self.render_config = RenderConfig.build(render_config)
        image, frame_stack = check_pixel_options(obs_mode, image_size, frame_stack)
        ahead = check_compile_ahead(compile_ahead, task.sim.backend, obs_mode, task.sim.device)
        self.obs_mode = obs_mode
        if image is not None:  # before the host's copies below: the device's limit is the usual one
            require_images_fit(task.sim.device, num_envs, obs_mode, *image, frame_stack=frame_stack)
        self.autoreset_mode = parse_autoreset_mode(autoreset_mode)
        self.metadata = dict(self.metadata, render_fps=max(1, round(1.0 / task.dt)), autoreset_mode=self.autoreset_mode)
        self.compilation_cache = use_default_cache()  # before anything compiles (gpu_envs/compile_cache.py)
        self.task = task
        self.num_envs = int(num_envs)
        self.output = output
        self.render_mode = render_mode
        self.jax_device = task.sim.device
        self.device = torch_device_of(self.jax_device)
        self.backend = task.sim.backend

        # gymnasium's batched spaces hold two bounds per observation and action entry
        pixels = image_mode(obs_mode)
        obs_bytes = (8 * task.obs_dim if keeps_state(obs_mode) else 0) + (
            0 if image is None else 2 * image[0] * image[1] * CHANNELS[pixels] * frame_stack)
        memory.require_host_fits(self.num_envs, obs_bytes + 8 * task.action_dim, "the batched spaces")
        self.pixel_renderer = None if image is None else PixelRenderer(task, self.num_envs, pixels, *image)
        bound = np.float32(task.obs_bound)
        state_space = gym.spaces.Box(-bound, bound, (task.obs_dim,), np.float32)
        if image is None:
            self.single_observation_space = state_space
        else:
            width, height = image
            image_space = gym.spaces.Box(0, 255, (height, width, CHANNELS[pixels] * frame_stack), np.uint8)
            self.single_observation_space = (gym.spaces.Dict({"state": state_space, "pixels": image_space})
                                             if keeps_state(obs_mode) else image_space)
        self.single_action_space = gym.spaces.Box(-1.0, 1.0, (task.action_dim,), np.float32)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, self.num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, self.num_envs)
        self._action_shape = (self.num_envs, task.action_dim)

        task.sim.reserve(self.num_envs)
        self._batched = BatchedEnv(task, self.num_envs, self.autoreset_mode,
                                   pixels=None if self.pixel_renderer is None else self.pixel_renderer.render,
                                   frame_stack=frame_stack, with_state=image is not None and keeps_state(obs_mode))
        self._reset_fn = jax.jit(self._batched.reset)  # (N, 2) keys -> every env reset
        self._reset_where_fn = jax.jit(self._batched.reset_where, donate_argnums=0)
        self._split_fn = jax.jit(lambda key: jax.random.split(key, self.num_envs))  # on the host
        if output == "torch":  # one packed buffer per step: one DLPack hand-off, typed views
            self._flat_step_fn = jax.jit(self._flat_step)  # inlined into the step; traced once
            self._step_fn = jax.jit(self._packed_step, donate_argnums=0)
        else:
            self._step_fn = jax.jit(self._batched.step, donate_argnums=0)
        self._shown_count = min(self.render_config.num_envs, self.num_envs)  # envs render_grid() draws
        self._shown_fn = jax.jit(self._shown)
        self._snapshot_fn = jax.jit(lambda state: self._positions(state, self.num_envs))  # render()'s copy
        self._renderer = None  # built by the first render_grid() or per-env frame
        self._one_env = None  # GridScene of one env alone, for render()'s per-env frames
        self._fields = None  # the packed step output's layout, from the step's output shapes (first step)
        self._state = None
        self._key = None
        self._fits_checked = set()  # programs whose memory need was checked before their first run
        self._scans = {}  # step_in_jit's compiled scans, by step count
        self._compile_ahead = CompileAhead(self._compile_step) if ahead else None  # last: it reads the above

    # -- gymnasium API ---------------------------------------------------------------------

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        """Reset all envs (or those in options["reset_mask"]) -> (obs, infos).

        seed: an int (>= 0) makes every trajectory reproducible on the same backend and
            device; a list of `num_envs` ints (or None entries) gives env i a start that is a
            function of seed[i] alone; None continues the env's random stream (seeded from OS
            entropy the first time). With a reset_mask, the reset envs are a function of the
            seed too. An int seed also seeds `np_random` (gymnasium's contract).
        options: {"reset_mask": bool (N,)} resets only those envs (needs an earlier reset).
        """
        self._check_open()
        check_seed(seed, self.num_envs)
        if options is not None and not isinstance(options, Mapping):
            raise TypeError(f"reset options must be a dict such as {{'reset_mask': mask}} (got {options!r})")
        options = dict(options or {})
        has_mask = "reset_mask" in options
        mask = options.pop("reset_mask", None)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; supported: ['reset_mask']")
        if has_mask:  # a bad mask is named first, whether or not the env was reset before
            mask = mask_to_jax(mask, self.num_envs, self.jax_device)
            if self._state is None:
                raise RuntimeError("reset(options={'reset_mask': ...}) needs a full reset() first")
        keys = made_on_host(lambda host: self._reset_keys(seed, host), self.jax_device)
        if mask is None:
            self._require_fits(self._reset_fn, (keys,), "reset")
            self._state, obs = self._reset_fn(keys)
        else:
            self._state, obs = self._reset_where_fn(self._state, mask, keys)
        return self._out(obs), {}

    def _reset_keys(self, seed, host: jax.Device) -> jax.Array:
        """Each env's reset key (N, 2) for a checked `seed`, made on `host`; advances the env's
        key stream (kept on `host`: threefry gives the same bits on every device)."""
        if isinstance(seed, (list, tuple)):
            given = [int(s) for s in seed if s is not None]
            if len(given) == len(seed):  # every env seeded: the stream after this reset is too
                self._key = key_from_seed(int(np.random.SeedSequence(given).generate_state(1)[0]))
                self._np_random, self._np_random_seed = np.random.default_rng(given), -1
            return keys_from_seeds(list(seed), self._next_keys(host))
        if seed is not None:
            self._key = key_from_seed(seed)
            self._np_random, self._np_random_seed = gym_seeding.np_random(int(seed))
        return self._next_keys(host)

    def _next_keys(self, host: jax.Device) -> jax.Array:
        """(N, 2) fresh keys from the env's stream (seeded from OS entropy the first time)."""
        if self._key is None:
            self._key = key_from_seed(int(np.random.SeedSequence().generate_state(1)[0]))
        self._key, key = jax.random.split(jax.device_put(self._key, host))
        return self._split_fn(key)

    def step(self, actions):
        """Step every env with `actions` (N, action_dim) -> (obs, reward, terminated, truncated, infos)."""
        out = self._advance(actions)
        if self.output == "torch":
            out = StepOutput(**self._views(packing.unpack(to_torch(out), self._fields)))
        return self._unpack(out)

    def step_numpy(self, actions):
        """As `step`, with every output a numpy array on the host.

        With output="torch" all outputs reach the host through one device-to-host copy of the
        step's packed output buffer (what host-side libraries such as Stable-Baselines3 need);
        the arrays are writable views of that host copy.
        """
        out = self._advance(actions)
        if self.output == "torch":
            out = StepOutput(**self._views(packing.unpack_numpy(np.array(out), self._fields)))
        else:
            out = jax.device_get(out)
        return self._unpack(out)

    def _advance(self, actions):
        """Run one compiled step; returns its raw output (packed buffer or StepOutput)."""
        self._check_open()
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        # output="jax" returns before the step has run: the step must not read the caller's buffer
        action = action_to_jax(actions, self._action_shape, self.jax_device, private=self.output == "jax")
        if self._compile_ahead is not None:  # it may set self._fields: read them only after it
            self._compile_ahead.wait()
            if self._compile_ahead.error is not None:
                gym.logger.warn(f"compile_ahead: the step could not be compiled ahead "
                                f"({self._compile_ahead.error!r}); it compiles now")
            self._compile_ahead = None
        if self.output == "torch" and self._fields is None:
            self._fields = self._packed_layout(self._state, action)
        self._require_fits(self._step_fn, (self._state, action), "step")
        self._state, out = self._step_fn(self._state, action)
        if self.render_mode == "human":  # gymnasium's convention: the window follows every step
            self.render()
        return out

    # -- for benchmarks and JAX users ----------------------------------------------------------

    @property
    def batched(self) -> BatchedEnv:
        """The pure batched JAX functions this env jits (`reset`, `reset_where`, `step`)."""
        return self._batched

    def block_until_ready(self) -> None:
        """Wait until the device has finished every reset and step issued so far."""
        self._check_open()
        jax.block_until_ready(self._state)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def step_in_jit(self, actions, steps: int) -> None:
        """Advance every env `steps` env steps with the same `actions` (N, action_dim) inside one
        compiled `lax.scan`: the work of `steps` calls of `step()` without Python or dispatch
        between them (the in-jit ceiling that benchmarks compare `step()` with). Episodes end
        and reset as in `step()`; the outputs are computed, kept alive to the end, and dropped.
        Compiles once per `steps`; returns without waiting (see `block_until_ready`)."""
        self._check_open()
        if not is_positive_int(steps):
            raise ValueError(f"steps must be a positive int (got {steps!r})")
        if self._state is None:
            raise RuntimeError("call reset() before step_in_jit()")
        action = action_to_jax(actions, self._action_shape, self.jax_device, private=True)
        run = self._scans.get(steps)
        if run is None:
            run = self._scans[steps] = jax.jit(functools.partial(self._scan_steps, steps=steps), donate_argnums=(0,))
        self._state = run(self._state, action)

    def _scan_steps(self, state, action, steps: int):
        """`steps` batched steps in one lax.scan, each step's outputs carried (so none is optimised away)."""
        _, first = jax.eval_shape(self._batched.step, state, action)
        zeros = jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), first)

        def body(carry, _):
            return self._batched.step(carry[0], action), None

        (state, _), _ = jax.lax.scan(body, (state, zeros), None, length=steps)
        return state

    def render(self):
        """One frame per env (gymnasium's `VectorEnv.render` contract), drawn when first read.

        rgb_array: a read-only `Sequence` (`gpu_envs.render.EnvFrames`) of `num_envs` items;
        item i is env i alone, a (height, width, 3) uint8 numpy array framed by the task's
        camera, as env i was at this call. The call itself costs one device-to-host copy of
        every env's positions (qpos and mocap poses, no drawing); each frame is drawn on its
        first read (one scene render on the host), then kept, so reading all N envs costs N
        renders and N frames of memory. Slices and iteration are lazy; `np.asarray(frames)`
        draws every env it holds. human: as `render_grid()` (updates the window, returns None).
        None when render_mode is None.
        """
        if self.render_mode != "rgb_array":
            return self.render_grid()
        self._check_open()
        if self._state is None:
            raise RuntimeError("call reset() before render()")
        # copied now (the state is donated to the next step) into host memory that numpy owns
        flat = np.array(self._snapshot_fn(self._state), copy=True)
        config = self.render_config
        return EnvFrames(self._draw_one_env, *self._split_positions(flat), (config.height, config.width, 3))

    def render_grid(self):
        """The shown envs (the first `render_config.num_envs`) as one picture.

        rgb_array: a (height, width, 3) uint8 numpy frame, envs in a grid, env 0 at the far
        left of the back row. human: updates the viewer window and returns None. Costs one
        device-to-host copy of the shown envs' positions; nothing when render_mode is None
        (returns None) or the viewer is paused or closed.
        """
        self._check_open()
        if self.render_mode is None:
            return None
        if self._state is None:
            raise RuntimeError("call reset() before render_grid() or render()")
        if self._renderer is None:
            self._renderer = self._make_renderer()
        if self.render_mode == "human":
            if self._renderer is not _NO_VIEWER:
                self._renderer.raise_if_quit()
                if self._renderer.wants_frame:
                    self._renderer.show(*self._shown_on_host())
            return None
        return self._renderer.render(*self._shown_on_host())

    def __copy__(self):
        raise TypeError(f"{type(self).__name__} cannot be copied: its device state is donated to each step, "
                        "so a copy would break the original. Create a second env with gymnasium.make_vec")

    def __deepcopy__(self, memo):
        self.__copy__()

    def __reduce_ex__(self, protocol):
        raise TypeError(f"{type(self).__name__} cannot be pickled: it holds device buffers and compiled "
                        "programs. Pickle its constructor arguments and make a new env instead")

    def close_extras(self, **kwargs):
        self._compile_ahead = None
        if self._renderer not in (None, _NO_VIEWER):
            self._renderer.close()
            self._renderer = None
        self._state = None
        if self.pixel_renderer is not None:
            # The compiled programs (which refer to this env) are freed now rather than whenever
            # Python's cycle collector runs: on a GPU that could be while MuJoCo Warp captures
            # another env's render into a CUDA graph, where CUDA refuses to unload them and
            # that env's step fails.
            self.pixel_renderer = self._batched = None
            self._reset_fn = self._reset_where_fn = self._step_fn = self._flat_step_fn = None
            self._shown_fn = self._snapshot_fn = self._split_fn = None
            self._scans = {}
            gc.collect()

    # -- internals -------------------------------------------------------------------------

    def _shown(self, state) -> jax.Array:
        """The shown envs' qpos, mocap_pos and mocap_quat in one (k, nq + 7m) array."""
        return self._positions(state, self._shown_count)

    def _positions(self, state, count: int) -> jax.Array:
        """The first `count` envs' qpos, mocap_pos and mocap_quat in one (count, nq + 7m) array."""
        physics = self.task.physics(state.task)
        parts = (physics.qpos[:count], physics.mocap_pos[:count].reshape(count, -1),
                 physics.mocap_quat[:count].reshape(count, -1))
        return jax.numpy.concatenate(parts, axis=1)

    def _shown_on_host(self):
        """(qpos (k, nq), mocap_pos (k, m, 3), mocap_quat (k, m, 4)) on the host, from one copy."""
        return self._split_positions(np.asarray(self._shown_fn(self._state)))

    def _split_positions(self, flat: np.ndarray):
        """(qpos (k, nq), mocap_pos (k, m, 3), mocap_quat (k, m, 4)) views of a (k, nq + 7m) array."""
        nq, m = self.task.sim.mj_model.nq, self.task.sim.mj_model.nmocap
        k = flat.shape[0]
        return flat[:, :nq], flat[:, nq:nq + 3 * m].reshape(k, m, 3), flat[:, nq + 3 * m:].reshape(k, m, 4)

    def _draw_one_env(self, qpos, mocap_pos, mocap_quat) -> np.ndarray:
        """One env alone (positions (1, ...)), framed by the task's camera: a frame of render()."""
        self._check_open()
        if self._renderer is None:
            self._renderer = self._make_renderer()
        if self._one_env is None:
            config = self.render_config
            self._one_env = GridScene(self.task.sim.mj_model, 1, RenderConfig(width=config.width, height=config.height),
                                      self.task.camera, max_width=config.width, max_height=config.height)
        return self._renderer.draw(self._one_env, qpos, mocap_pos, mocap_quat)

    def _make_renderer(self):
        config = self.render_config
        grid = GridScene(self.task.sim.mj_model, self._shown_count, config, self.task.camera,
                         max_width=config.width, max_height=config.height)
        if self.render_mode == "human":
            try:
                return HumanViewer(grid)
            except RuntimeError as err:  # no display: the run goes on without a window
                gym.logger.warn(f"{err}; rendering is off for this env")
                return _NO_VIEWER
        return OffscreenRenderer(grid, config.width, config.height)

    def _require_fits(self, jitted, args: tuple, what: str) -> None:
        """Before `what`'s first run: MemoryError with XLA's estimate if it cannot fit (see memory.py)."""
        if what not in self._fits_checked:
            memory.require_fits(jitted, args, device=self.jax_device, num_envs=self.num_envs, what=what)
            self._fits_checked.add(what)

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError("this environment is closed; create a new one")

    @staticmethod
    def _flatten(out: StepOutput) -> dict:
        """One flat name -> array dict of a step's outputs: the task's extras as "extras/<name>",
        the parts of dict observations as "<field>/<key>"."""
        flat = {}
        for name, value in out._asdict().items():
            if isinstance(value, dict):
                flat.update({f"{name}/{key}": part for key, part in value.items()})
            elif value is not None:
                flat[name] = value
        return flat

    @staticmethod
    def _views(flat: dict) -> dict:
        """`_flatten`'s inverse: StepOutput fields (None where absent), extras and dict
        observations as dicts."""
        fields = dict.fromkeys(StepOutput._fields)
        for name, value in flat.items():
            field, _, key = name.partition("/")
            if key:
                fields[field] = {**(fields[field] or {}), key: value}
            else:
                fields[field] = value
        fields["extras"] = fields["extras"] or {}
        return fields

    def _flat_step(self, state, action):
        """The step with its outputs as `_flatten`'s flat dict."""
        state, out = self._batched.step(state, action)
        return state, self._flatten(out)

    def _packed_layout(self, state, action) -> list[packing.Field]:
        """The packed output buffer's layout, from the shapes the step gives `state` and `action`
        (arrays or their shapes). (Traced through the jitted flat step, whose trace `_packed_step`
        then reuses.)"""
        _, shapes = self._flat_step_fn.eval_shape(state, action)
        return packing.layout(shapes)

    def _compile_step(self) -> None:
        """Compile the step for the arguments its first call will have (on CompileAhead's thread)."""
        state, action = step_arguments(self._reset_fn, self.num_envs, self.task.action_dim, self.jax_device)
        if self.output == "torch":
            self._fields = self._packed_layout(state, action)
        self._step_fn.lower(state, action).compile()

    def _packed_step(self, state, action):
        """The step with its outputs packed into one buffer laid out as `self._fields`."""
        state, flat = self._flat_step_fn(state, action)
        return state, packing.pack(flat, self._fields)

    def _out(self, x):
        """A reset's observations (an array, or a dict of them) as this env hands them out."""
        return jax.tree.map(to_torch, x) if self.output == "torch" else x

    @staticmethod
    def _unpack(out: StepOutput):
        """gymnasium's (obs, reward, terminated, truncated, infos) from one step's outputs."""
        infos = {} if out.final_obs is None else {"final_obs": out.final_obs, "_final_obs": out.done}
        infos.update({
            "episode": {"r": out.episode_return, "l": out.episode_length},
            "_episode": out.done,
            "nonfinite_action": out.nonfinite_action,
            "sim_unstable": out.sim_unstable,
            **out.extras,
        })
        return out.obs, out.reward, out.terminated, out.truncated, infos
