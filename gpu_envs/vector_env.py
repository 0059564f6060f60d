"""GpuVectorEnv: any task as a `gymnasium.vector.VectorEnv` with zero-copy torch outputs.

Step semantics are gymnasium's SAME_STEP autoreset: an env that finishes is reset inside the
same `step`; the returned observation is the new episode's first one and the finished
episode's last observation is `infos["final_obs"]` where `infos["_final_obs"]` is True.
See docs/env_api.md for the info keys.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import jax
import numpy as np
from gymnasium.vector import AutoresetMode

from . import packing
from ._checks import is_positive_int
from .batched import BatchedEnv, StepOutput
from .interop import action_to_jax, mask_to_jax, to_torch, torch_device_of
from .render import GridScene, HumanViewer, OffscreenRenderer, RenderConfig
from .tasks.base import Task

OUTPUTS = ("torch", "jax")
_NO_VIEWER = object()  # render_mode="human" where no window could be opened


class GpuVectorEnv(gym.vector.VectorEnv):
    """N copies of a task stepped together by one compiled XLA program per `step`.

    Args:
        task: the task (its simulation already lives on the chosen device and backend).
        num_envs: number of parallel envs N (>= 1).
        output: "torch" (default) returns torch tensors sharing memory with the simulator's
            outputs; "jax" returns the JAX arrays themselves.
        render_mode: None (default), "rgb_array" (`render()` returns an RGB frame of the first
            envs in a grid) or "human" (MuJoCo's viewer window, updated by each `render()`).
        render_config: what `render()` shows: a dict of `gpu_envs.render.RenderConfig` fields
            (num_envs=16 shown, width=640, height=480, camera pose, grid spacing).
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": ["rgb_array", "human"]}

    def __init__(self, task: Task, num_envs: int, *, output: str = "torch", render_mode: str | None = None,
                 render_config=None):
        if not is_positive_int(num_envs):
            raise ValueError(f"num_envs must be a positive int (got {num_envs!r})")
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS} (got {output!r})")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} is not supported; available: {self.metadata['render_modes']}")
        self.render_config = RenderConfig.build(render_config)
        self.metadata = dict(self.metadata, render_fps=round(1.0 / task.dt))
        self.task = task
        self.num_envs = int(num_envs)
        self.output = output
        self.render_mode = render_mode
        self.jax_device = task.sim.device
        self.device = torch_device_of(self.jax_device)
        self.backend = task.sim.backend

        bound = np.float32(task.obs_bound)
        self.single_observation_space = gym.spaces.Box(-bound, bound, (task.obs_dim,), np.float32)
        self.single_action_space = gym.spaces.Box(-1.0, 1.0, (task.action_dim,), np.float32)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, self.num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, self.num_envs)
        self._action_shape = (self.num_envs, task.action_dim)

        task.sim.reserve(self.num_envs)
        self._batched = BatchedEnv(task, self.num_envs)
        self._reset_fn = jax.jit(self._batched.reset)
        self._reset_where_fn = jax.jit(self._batched.reset_where, donate_argnums=0)
        if output == "torch":  # one packed buffer per step: one DLPack hand-off, typed views
            self._step_fn = jax.jit(self._packed_step, donate_argnums=0)
        else:
            self._step_fn = jax.jit(self._batched.step, donate_argnums=0)
        self._shown_count = min(self.render_config.num_envs, self.num_envs)  # envs render() draws
        self._shown_fn = jax.jit(self._shown)
        self._renderer = None  # built by the first render()
        self._fields = None
        self._last_output = None  # the latest step's output buffer(s), for inspection and tests
        self._state = None
        self._key = None
        self._closed = False

    # -- gymnasium API ---------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset all envs (or those in options["reset_mask"]) -> (obs, infos).

        seed: an int makes every trajectory reproducible on the same backend and device;
            None continues the env's random stream (seeded from OS entropy the first time).
        options: {"reset_mask": bool (N,)} resets only those envs (needs an earlier reset).
        """
        self._check_open()
        if seed is not None:
            self._key = jax.device_put(jax.random.PRNGKey(seed), self.jax_device)
        elif self._key is None:
            entropy = int(np.random.SeedSequence().generate_state(1)[0])
            self._key = jax.device_put(jax.random.PRNGKey(entropy), self.jax_device)
        self._key, key = jax.random.split(self._key)
        options = dict(options or {})
        mask = options.pop("reset_mask", None)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; supported: ['reset_mask']")
        if mask is None:
            self._state, obs = self._reset_fn(key)
        else:
            if self._state is None:
                raise RuntimeError("reset(options={'reset_mask': ...}) needs a full reset() first")
            self._state, obs = self._reset_where_fn(self._state, mask_to_jax(mask, self.num_envs, self.jax_device))
        return self._out(obs), {}

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
        action = action_to_jax(actions, self._action_shape, self.jax_device)
        self._state, out = self._step_fn(self._state, action)
        self._last_output = out
        if self.render_mode == "human":  # gymnasium's convention: the window follows every step
            self.render()
        return out

    def render(self):
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
            raise RuntimeError("call reset() before render()")
        if self._renderer is None:
            self._renderer = self._make_renderer()
        if self.render_mode == "human":
            if self._renderer is not _NO_VIEWER:
                self._renderer.raise_if_quit()
                if self._renderer.wants_frame:
                    self._renderer.show(*self._shown_on_host())
            return None
        return self._renderer.render(*self._shown_on_host())

    def close_extras(self, **kwargs):
        if self._renderer not in (None, _NO_VIEWER):
            self._renderer.close()
            self._renderer = None
        self._state = None
        self._closed = True

    # -- internals -------------------------------------------------------------------------

    def _shown(self, state) -> jax.Array:
        """The shown envs' qpos, mocap_pos and mocap_quat in one (k, nq + 7m) array."""
        count = self._shown_count
        physics = self.task.physics(state.task)
        parts = (physics.qpos[:count], physics.mocap_pos[:count].reshape(count, -1),
                 physics.mocap_quat[:count].reshape(count, -1))
        return jax.numpy.concatenate(parts, axis=1)

    def _shown_on_host(self):
        """(qpos (k, nq), mocap_pos (k, m, 3), mocap_quat (k, m, 4)) on the host, from one copy."""
        flat = np.asarray(self._shown_fn(self._state))
        nq, m = self.task.sim.mj_model.nq, self.task.sim.mj_model.nmocap
        k = flat.shape[0]
        return flat[:, :nq], flat[:, nq:nq + 3 * m].reshape(k, m, 3), flat[:, nq + 3 * m:].reshape(k, m, 4)

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

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this environment is closed; create a new one")

    @staticmethod
    def _flatten(out: StepOutput) -> dict:
        flat = {name: value for name, value in out._asdict().items() if name != "extras"}
        flat.update({f"extras/{name}": value for name, value in out.extras.items()})
        return flat

    @staticmethod
    def _views(flat: dict) -> dict:
        extras = {name[7:]: flat.pop(name) for name in list(flat) if name.startswith("extras/")}
        return dict(flat, extras=extras)

    def _packed_step(self, state, action):
        state, out = self._batched.step(state, action)
        flat = self._flatten(out)
        if self._fields is None:  # set while tracing: static shapes only
            self._fields = packing.layout({k: jax.ShapeDtypeStruct(v.shape, v.dtype) for k, v in flat.items()})
        return state, packing.pack(flat, self._fields)

    def _out(self, x):
        return to_torch(x) if self.output == "torch" else x

    @staticmethod
    def _unpack(out: StepOutput):
        """gymnasium's (obs, reward, terminated, truncated, infos) from one step's outputs."""
        infos = {
            "final_obs": out.final_obs,
            "_final_obs": out.done,
            "episode": {"r": out.episode_return, "l": out.episode_length},
            "_episode": out.done,
            "nonfinite_action": out.nonfinite_action,
            "sim_unstable": out.sim_unstable,
            **out.extras,
        }
        return out.obs, out.reward, out.terminated, out.truncated, infos
