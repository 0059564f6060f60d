"""Tasks: pure single-env JAX functions over MJX state (see `gpu_envs.tasks.base.Task`)."""
