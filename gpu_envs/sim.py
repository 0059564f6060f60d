"""MuJoCo model loading and the MJX simulation a task runs on.

`load_model` turns an MJCF file into a `mujoco.MjModel` with errors that name the problem;
`Simulation` puts it on a JAX device with the chosen MJX backend and advances one env's state
by a fixed number of physics substeps. Everything here is single-env: the vector env vmaps it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import warnings
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import jax
import mujoco

from gpu_envs._checks import is_positive_int
from gpu_envs.kernel_pack import seed_warp_kernel_cache

# mujoco.mjx prints "Failed to import warp" on stdout when MuJoCo Warp is absent; that is the
# normal case for backend="jax", and check_backend() gives the actionable error for "warp".
with contextlib.redirect_stdout(io.StringIO()):
    from mujoco import mjx

BACKENDS = ("jax", "warp")


class AssetError(ValueError):
    """A model file is missing, unreadable or not a valid MuJoCo model."""


def asset_path(name: str) -> Path:
    """Absolute path of a model file shipped with gpu_envs (e.g. "cartpole.xml")."""
    try:
        root = Path(str(resources.files("gpu_envs.assets")))
    except ModuleNotFoundError:  # running from a source tree that is not installed
        root = Path(__file__).resolve().parent.parent / "assets"
    return root / name


def resolve_asset(name: str | os.PathLike) -> Path:
    """The model file `name` names: a path (absolute, or relative to the current directory)
    first, then the name of a model shipped with gpu_envs. Raises `AssetError` saying where
    it looked when neither exists."""
    path = Path(name)
    if path.is_file():
        if path.name == str(name) and asset_path(str(name)).is_file():
            warnings.warn(f"model {name}: using {path.resolve()} from the current directory, not the shipped model "
                          f"of that name (pass {asset_path(str(name))} for that one)", stacklevel=2)
        return path.resolve()
    if path.exists():
        raise AssetError(f"model path is not a file: {path.resolve()}")
    shipped = asset_path(str(name))
    if path.name == str(name) and shipped.is_file():
        return shipped
    available = sorted(p.name for p in asset_path("").glob("*.xml"))
    where = "no such file" if path.is_absolute() else f"not a file relative to {Path.cwd()}"
    raise AssetError(f"model file not found: {name!s} ({where}, nor a shipped model: {available})")


def require_model_file(path: str | os.PathLike) -> Path:
    """`path` as a Path; raises `AssetError` naming it when it does not exist or is not a file."""
    path = Path(path)
    if not path.exists():
        raise AssetError(f"model file not found: {path}")
    if not path.is_file():
        raise AssetError(f"model path is not a file: {path}")
    return path


def load_model(path: str | os.PathLike) -> mujoco.MjModel:
    """Compile an MJCF (or URDF) file into a `mujoco.MjModel`.

    Raises `AssetError` naming the file when it does not exist, is not a file, or MuJoCo
    rejects it (bad XML, unknown attributes, missing meshes); MuJoCo's message is included.
    """
    path = require_model_file(path)
    try:
        return mujoco.MjModel.from_xml_path(str(path))
    except ValueError as err:  # MuJoCo reports XML and compile errors as ValueError
        raise AssetError(f"MuJoCo could not load {path}: {err}") from err


def resolve_device(device: str | jax.Device | None) -> jax.Device:
    """Map "cpu", "cuda", "cuda:1", "gpu:0", a jax.Device or None (JAX's default) to a jax.Device."""
    if device is None:
        default = jax.config.jax_default_device
        if isinstance(default, str):
            return jax.devices(default)[0]
        return default if default is not None else jax.devices()[0]
    if isinstance(device, jax.Device):
        return device
    text = str(device).lower()
    kind, _, index = text.partition(":")
    platform = {"cpu": "cpu", "cuda": "gpu", "gpu": "gpu"}.get(kind)
    if platform is None or (index and not index.isdigit()):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N' (got {device!r})")
    try:
        devices = jax.devices(platform)
    except RuntimeError as err:
        raise ValueError(f"device {device!r} requested but JAX has no {platform} backend: {err}") from None
    i = int(index) if index else 0
    if i >= len(devices):
        raise ValueError(f"device {device!r} requested but JAX sees only {len(devices)} {platform} device(s)")
    return devices[i]


def _jaxlib_version() -> tuple[int, int]:
    import jaxlib

    return tuple(int(part) for part in jaxlib.__version__.split(".")[:2])


def steps_env_by_env(mj_model: mujoco.MjModel, device: jax.Device) -> bool:
    """True where the vector env must step its envs' physics one after another (`jax.lax.map`)
    instead of batched (`jax.vmap`): on the CPU with jaxlib 0.10, for the kind of model seen to
    deadlock there (damped joints under Euler's eulerdamp, or an implicit integrator).

    jaxlib 0.10's batched LAPACK kernels on the CPU split their batch over XLA's thread pool and
    wait for the parts; two such factorisations running side by side (MJX's Newton solver's and
    the implicit damping's) can take every thread of a small pool and deadlock the step. Seen on
    2 cores with the Humanoid (Euler, eulerdamp, damped joints) and the hand (implicitfast); not
    seen with the Ant (eulerdamp off) or Cartpole (eulerdamp on, no damping, 2 DOFs), which MJX
    also factorises but which stepped batched through every test and training run. A batch of
    one runs inline; jaxlib 0.11 no longer splits the batch.
    """
    if device.platform != "cpu" or _jaxlib_version() != (0, 10):
        return False
    opt = mj_model.opt
    if opt.integrator in (mujoco.mjtIntegrator.mjINT_IMPLICIT, mujoco.mjtIntegrator.mjINT_IMPLICITFAST):
        return True
    eulerdamp = not opt.disableflags & mujoco.mjtDisableBit.mjDSBL_EULERDAMP
    return opt.integrator == mujoco.mjtIntegrator.mjINT_EULER and eulerdamp and bool((mj_model.dof_damping > 0).any())


def _warp_installed() -> bool:
    return importlib.util.find_spec("mujoco_warp") is not None and importlib.util.find_spec("warp") is not None


def resolve_backend(backend: str, device: jax.Device) -> str:
    """"auto" -> "warp" on a CUDA device where MuJoCo Warp is installed, else "jax"."""
    if backend == "auto":
        return "warp" if device.platform == "gpu" and _warp_installed() else "jax"
    return backend


def check_backend(backend: str, device: jax.Device) -> None:
    """Raise a clear error when an MJX backend cannot run on `device` here."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS + ('auto',)} (got {backend!r})")
    if backend == "warp":
        if device.platform != "gpu":
            raise ValueError(f"backend='warp' runs on CUDA GPUs only (device is {device}): use backend='jax'")
        if not _warp_installed():
            raise ImportError("backend='warp' needs MuJoCo Warp, the 'warp' extra of gpu-envs: pip install -e '.[warp]' in its clone")
        quiet_warp()


def warp_device_name(device: jax.Device) -> str:
    """Warp's name for the JAX device `device`: "cpu", or "cuda:N" with N its CUDA number."""
    if device.platform == "cpu":
        return "cpu"
    ordinal = getattr(device, "local_hardware_id", None)
    return f"cuda:{device.id if ordinal is None else ordinal}"


def quiet_warp() -> None:
    """Warp's per-module log lines off (otherwise one line per kernel module loaded, dozens per
    model); its warnings and errors still show. Warp >= 1.19 reads log_level, older releases quiet."""
    import warp

    warp.config.quiet = True
    if hasattr(warp, "LOG_WARNING"):
        warp.config.log_level = warp.LOG_WARNING


def _without_solver_limit_prints(model):
    """The MJX Warp model with MuJoCo Warp's solver-iteration-limit printf turned off.

    MuJoCo Warp prints a warning from the GPU each step a world's solver stops at its iteration
    limit. The scenes here use few iterations by design (the reference's budget; see the env
    docs), so that would print on most steps. Buffer overflows (contacts, constraints), which
    mean dropped physics, still print.
    """
    from mujoco_warp import OverflowType

    impl = model.opt._impl
    quiet = int(impl.warn_overflow) & ~int(OverflowType.ITERATIONS | OverflowType.LS_ITERATIONS)
    return model.replace(opt=model.opt.replace(_impl=impl.replace(warn_overflow=quiet)))


def _max_contacts(mj_model: mujoco.MjModel) -> int:
    """Contacts one env can make at most (what MJX's JAX backend reserves for the scene)."""
    cpu = jax.devices("cpu")[0]
    return int(mjx.make_data(mj_model, device=cpu, impl="jax").contact.dist.shape[0])


def warp_buffer_sizes(mj_model: mujoco.MjModel, num_envs: int, contacts_per_env: int | None = None) -> tuple[int, int]:
    """MuJoCo Warp's (naconmax, njmax) for `num_envs` envs of `mj_model` stepped together.

    naconmax is one contact pool shared by all envs: `num_envs * contacts_per_env`. njmax is the
    constraint rows of one env, bounded from the model: each contact's rows (2 (condim - 1) with
    pyramidal friction cones, condim with elliptic ones, at the scene's largest condim), 2 per
    joint and per tendon (limits, friction loss), 1 per dof with friction loss and 6 per equality
    constraint (a weld's). contacts_per_env None (or more than the scene can make) takes every
    contact the scene can make, as MJX's JAX backend reserves, so that none is ever dropped; a
    task whose envs touch far fewer sets a budget, and the solver's kernels, which run over the
    whole buffers, get faster.
    """
    per_env = _max_contacts(mj_model)
    if contacts_per_env is not None:
        per_env = min(per_env, contacts_per_env)
    condim = max([1, *mj_model.geom_condim.tolist(), *mj_model.pair_dim.tolist()])
    elliptic = mj_model.opt.cone == mujoco.mjtCone.mjCONE_ELLIPTIC
    rows_per_contact = condim if elliptic else max(1, 2 * (condim - 1))
    other_rows = (2 * (mj_model.njnt + mj_model.ntendon) + int((mj_model.dof_frictionloss > 0).sum())
                  + 6 * mj_model.neq)
    return max(1, num_envs * per_env), max(1, rows_per_contact * per_env + other_rows)


class PhysicsState(NamedTuple):
    """The part of one env's `mjx.Data` that carries from one physics step to the next.

    Everything else in `mjx.Data` is recomputed by `mjx.step` from these, so the vector env
    carries (and donates) only these leaves instead of the ~90 of a full `mjx.Data`.
    """

    time: jax.Array  # () seconds
    qpos: jax.Array  # (nq,)
    qvel: jax.Array  # (nv,)
    act: jax.Array  # (na,)
    qacc_warmstart: jax.Array  # (nv,) solver warm start
    mocap_pos: jax.Array  # (nmocap, 3)
    mocap_quat: jax.Array  # (nmocap, 4)


def host_device(fallback: jax.Device) -> jax.Device:
    """JAX's first CPU device, where tiny eager programs compile in milliseconds; `fallback`
    when JAX runs without a CPU backend (e.g. `JAX_PLATFORMS=cuda`)."""
    try:
        return jax.devices("cpu")[0]
    except RuntimeError:
        return fallback


def made_on_host(make, device: jax.Device):
    """`make(host)`'s pytree of arrays, built on the host CPU and sent to `device` in one
    transfer. For arrays made by tiny eager programs (MJX's put_model and make_data casts, the
    reset keys): on a GPU each would be a GPU compile, ahead of the step's own; the host
    compiles them in a fraction of that (docs/benchmarks.md, "Start-up")."""
    host = host_device(fallback=device)
    with jax.default_device(host):
        made = make(host)
        return made if device == host else jax.device_put(made, device)


class Simulation:
    """One MuJoCo model on one JAX device, stepped `substeps` physics steps per env step.

    Attributes:
        mj_model: the host `mujoco.MjModel` (also used for rendering and validation).
        model: the MJX model on `device`.
        dt: seconds of simulated time per env step (= substeps * mj_model.opt.timestep).
    """

    def __init__(self, mj_model: mujoco.MjModel, substeps: int, backend: str = "jax",
                 device: str | jax.Device | None = None, contacts_per_env: int | None = None):
        if substeps < 1:
            raise ValueError(f"substeps must be >= 1 (got {substeps})")
        if contacts_per_env is not None and not is_positive_int(contacts_per_env):
            raise ValueError(f"contacts_per_env must be a positive int or None (got {contacts_per_env!r})")
        self.contacts_per_env = contacts_per_env
        self.device = resolve_device(device)
        backend = resolve_backend(backend, self.device)
        check_backend(backend, self.device)
        if backend == "warp":
            seed_warp_kernel_cache(self.device)
        self.backend = backend
        self.mj_model = mj_model
        self.substeps = int(substeps)
        self.dt = self.substeps * float(mj_model.opt.timestep)
        if backend == "warp":
            with jax.default_device(self.device):
                self.model = _without_solver_limit_prints(mjx.put_model(mj_model, device=self.device, impl="warp"))
        else:
            self.model = made_on_host(lambda host: mjx.put_model(mj_model, device=host, impl="jax"), self.device)
        self.reserve(1)

    def reserve(self, num_envs: int) -> None:
        """Size the contact and constraint buffers for `num_envs` envs stepped together.

        MuJoCo Warp keeps one contact buffer for all envs (naconmax), so the vector env calls
        this with its env count; sizes from `warp_buffer_sizes` with this simulation's
        `contacts_per_env`. (MJX's JAX backend reserves every contact per env by itself.)
        """
        if self.backend == "warp":
            naconmax, njmax = warp_buffer_sizes(self.mj_model, num_envs, self.contacts_per_env)
            with jax.default_device(self.device):
                # with impl="warp", make_data takes the host MjModel, not the MJX model
                self._template = mjx.make_data(self.mj_model, device=self.device, impl="warp",
                                               naconmax=naconmax, njmax=njmax)
        else:
            self._template = made_on_host(lambda host: mjx.make_data(self.mj_model, device=host, impl="jax"),
                                           self.device)

    def initial_state(self) -> PhysicsState:
        """The model's reference configuration (qpos0, zero velocity) as a `PhysicsState`."""
        return self.pack(self._template)

    @staticmethod
    def pack(data: mjx.Data) -> PhysicsState:
        """The carried part of `data`."""
        return PhysicsState(*(getattr(data, name) for name in PhysicsState._fields))

    def data(self, state: PhysicsState) -> mjx.Data:
        """A full `mjx.Data` holding `state` (derived quantities not yet computed)."""
        return self._template.replace(**state._asdict())

    def kinematics(self, state: PhysicsState) -> mjx.Data:
        """`mjx.Data` with the positions and orientations of bodies, geoms and sites (`xpos`,
        `xquat`, `site_xpos`, ...) computed from `state.qpos`; no dynamics (cheaper than `forward`)."""
        return mjx.kinematics(self.model, self.data(state))

    def forward(self, state: PhysicsState) -> mjx.Data:
        """`mjx.Data` with positions, velocities and forces derived from `state`, time not advanced."""
        return mjx.forward(self.model, self.data(state))

    def step(self, state: PhysicsState, ctrl: jax.Array, model=None) -> tuple[PhysicsState, mjx.Data]:
        """Apply `ctrl` (nu,) for `substeps` physics steps: (new state, the last step's full Data).

        model: this env's MJX model when its parameters differ from `self.model` (domain
        randomization); None uses `self.model`.
        """
        model = self.model if model is None else model
        data = self.data(state).replace(ctrl=ctrl)
        # MuJoCo Warp's steps on a GPU are unrolled into one straight program (no loop between
        # their kernel launches; they compile no slower). MJX's JAX steps run in a loop: one
        # loop body compiles in 0.6-0.9 of the time and steps as fast where the GPU is busy
        # (docs/benchmarks.md, "Substeps").
        if self.substeps <= 4 and self.backend == "warp" and self.device.platform != "cpu":
            for _ in range(self.substeps):
                data = mjx.step(model, data)
        else:
            data = jax.lax.fori_loop(0, self.substeps, lambda _, d: mjx.step(model, d), data)
        return self.pack(data), data
