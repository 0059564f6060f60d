"""Where gpu_envs runs its tiny eager programs (MJX's model casts, reset keys): JAX's CPU device,
or the env's own device when JAX runs without a CPU backend."""

import jax

import gpu_envs.sim
from gpu_envs.sim import host_device


def test_the_host_device_is_jax_first_cpu_device():
    assert host_device(fallback=None) == jax.devices("cpu")[0]


def test_without_a_cpu_backend_the_host_device_is_the_fallback(monkeypatch):
    real_devices = jax.devices

    def devices(backend=None):
        if backend == "cpu":
            raise RuntimeError("Unknown backend cpu")
        return real_devices(backend)

    monkeypatch.setattr(gpu_envs.sim.jax, "devices", devices)
    fallback = real_devices()[0]
    assert host_device(fallback=fallback) is fallback
