"""gpu-envs: GPU-batched MuJoCo MJX environments as gymnasium vector envs with zero-copy torch I/O.

    import gymnasium as gym, gpu_envs
    envs = gym.make_vec("GpuCartpole-v0", num_envs=4096, device="cuda")

Your own task: derive from `gpu_envs.tasks.Task` and register it with
`gpu_envs.tasks.register_task` (docs/writing_a_task.md).
"""

from ._jax_setup import configure_jax_memory
from ._source_tree import add_source_tree_subpackages

add_source_tree_subpackages(__path__)  # wrappers/ and assets/ beside a clone's gpu_envs/

configure_jax_memory()  # before anything imports jax

from .sim import AssetError  # noqa: E402
from .tasks import cartpole, allegro_hand, ant, humanoid, env_ids  # noqa: E402, F401  (defining a task registers it)
from .tasks.registry import register_with_gymnasium  # noqa: E402
from .vector_env import GpuVectorEnv  # noqa: E402

ENV_IDS = env_ids()  # the tasks gpu_envs ships; gpu_envs.tasks.env_ids() adds those registered later
__version__ = "0.1.0"
__all__ = ["ENV_IDS", "AssetError", "GpuVectorEnv", "register_envs", "__version__"]


def register_envs() -> None:
    """Register every task's id with gymnasium where it is missing (idempotent; `import gpu_envs`
    and each `register_task` already do)."""
    register_with_gymnasium()
