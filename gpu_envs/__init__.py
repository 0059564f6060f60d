"""gpu-envs: GPU-batched MuJoCo MJX environments as gymnasium vector envs with zero-copy torch I/O.

    import gymnasium as gym, gpu_envs
    envs = gym.make_vec("GpuCartpole-v0", num_envs=4096, device="cuda")
"""

from ._jax_setup import configure_jax_memory
from ._source_tree import add_source_tree_subpackages

add_source_tree_subpackages(__path__)  # wrappers/ and assets/ beside a clone's gpu_envs/

configure_jax_memory()  # before anything imports jax

from ._registration import ENV_IDS, register_envs  # noqa: E402
from .sim import AssetError  # noqa: E402
from .vector_env import GpuVectorEnv  # noqa: E402

__version__ = "0.1.0"
__all__ = ["ENV_IDS", "AssetError", "GpuVectorEnv", "register_envs", "__version__"]

register_envs()
