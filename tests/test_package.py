"""Packaging: the wheel's contents, registration, and JAX's GPU memory default."""

import subprocess
import sys
import zipfile

import pytest


@pytest.mark.slow
def test_wheel_ships_wrappers_and_assets_inside_the_package(tmp_path):
    import pathlib

    root = pathlib.Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(root)], check=True)
    wheel, = tmp_path.glob("gpu_envs-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "gpu_envs/assets/cartpole.xml" in names
    assert "gpu_envs/wrappers/__init__.py" in names
    top_level = {name.split("/")[0] for name in names}
    assert top_level == {"gpu_envs", next(n for n in top_level if n.endswith(".dist-info"))}


def test_import_registers_the_envs():
    import gymnasium as gym

    import gpu_envs

    for env_id in gpu_envs.ENV_IDS:
        assert gym.spec(env_id).vector_entry_point is not None


def test_make_vec_imports_gpu_envs_through_the_module_prefix():
    code = "import gymnasium as gym; e = gym.make_vec('gpu_envs:GpuCartpole-v0', num_envs=2); print(e.spec.id, e.num_envs)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-2:] == ["GpuCartpole-v0", "2"]


def test_import_stops_jax_preallocating_gpu_memory():
    code = "import os; os.environ.pop('XLA_PYTHON_CLIENT_PREALLOCATE', None); import gpu_envs; print(os.environ['XLA_PYTHON_CLIENT_PREALLOCATE'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "false"


def test_user_memory_settings_are_respected():
    code = "import os; os.environ['XLA_PYTHON_CLIENT_MEM_FRACTION'] = '.3'; os.environ.pop('XLA_PYTHON_CLIENT_PREALLOCATE', None); import gpu_envs; print('XLA_PYTHON_CLIENT_PREALLOCATE' in os.environ)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("adapter, library, extra", [
    ("sb3", "stable_baselines3", "sb3"), ("skrl", "skrl", "skrl"), ("rl_games", "rl_games", "rl-games"),
])
def test_adapter_without_its_library_names_the_pip_extra(monkeypatch, adapter, library, extra):
    import importlib

    for name in [m for m in sys.modules if m == library or m.startswith(library + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, library, None)  # makes `import library` fail
    monkeypatch.delitem(sys.modules, f"gpu_envs.wrappers.{adapter}", raising=False)
    with pytest.raises(ImportError, match=rf"pip install 'gpu-envs\[{extra}\]'"):
        importlib.import_module(f"gpu_envs.wrappers.{adapter}")
