"""MJCF models shipped with gpu_envs (package data; see gpu_envs.sim.asset_path)."""
