"""Packaging: the wheel's and sdist's contents, running the tests from a source tree without an
editable install, the install lines of the docs, registration, and JAX's GPU memory default."""

import pathlib
import re
import subprocess
import sys
import tarfile
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_ships_wrappers_and_assets_inside_the_package(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True)
    wheel, = tmp_path.glob("gpu_envs-*.whl")
    archive = zipfile.ZipFile(wheel)
    names = archive.namelist()
    assert "gpu_envs/assets/cartpole.xml" in names
    assert "gpu_envs/wrappers/__init__.py" in names
    shipped = {f"gpu_envs/kernels/{p.name}" for p in (ROOT / "gpu_envs" / "kernels").glob("*.tar.xz")}
    assert shipped and shipped <= set(names)  # the prebuilt Warp kernels (gpu_envs/kernel_pack.py)
    top_level = {name.split("/")[0] for name in names}
    dist_info = next(n for n in top_level if n.endswith(".dist-info"))
    assert top_level == {"gpu_envs", dist_info}
    # every subpackage of the source tree (pyproject.toml lists them by hand)
    for init in (ROOT / "gpu_envs").glob("*/__init__.py"):
        assert init.relative_to(ROOT).as_posix() in names
    assert f"{dist_info}/licenses/LICENSE" in names
    metadata = archive.read(f"{dist_info}/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata.splitlines()


@pytest.mark.slow
def test_sdist_ships_what_its_tests_import(tmp_path):
    subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "-o", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    sdist, = tmp_path.glob("gpu_envs-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    wanted = {"LICENSE", "README.md", "pyproject.toml", "examples/train.py",
              "docs/getting_started.md", "assets/cartpole.xml", "wrappers/__init__.py"}
    wanted |= {p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").glob("*.py")}  # conftest, allegro_urdf
    wanted.add("tests/data/gpu_images.npz")  # the GPU's images the CPU renderer is checked against
    assert wanted <= names, sorted(wanted - names)
    assert not {n for n in names if "__pycache__" in n or n.endswith("MUJOCO_LOG.TXT")}


def test_wrappers_and_assets_come_with_the_imported_gpu_envs():
    import gpu_envs.assets
    import gpu_envs.wrappers

    package = pathlib.Path(gpu_envs.__file__).resolve().parent
    if package == ROOT / "gpu_envs":  # the source tree: an editable install, or gpu_envs/_source_tree.py
        homes = {"wrappers": ROOT / "wrappers", "assets": ROOT / "assets"}
    else:  # an installed gpu_envs
        homes = {"wrappers": package / "wrappers", "assets": package / "assets"}
    assert pathlib.Path(gpu_envs.wrappers.__file__).resolve().parent == homes["wrappers"]
    assert pathlib.Path(gpu_envs.assets.__file__).resolve().parent == homes["assets"]
    from gpu_envs.sim import asset_path

    assert asset_path("cartpole.xml").is_file()


def test_tests_run_from_the_source_tree_without_an_editable_install():
    """As after `pip install .` (or the sdist): `python3 -m pytest` from the root imports the
    tree's gpu_envs/, which has no wrappers/ or assets/ folder; gpu_envs/_source_tree.py maps them."""
    node = "tests/test_package.py::test_wrappers_and_assets_come_with_the_imported_gpu_envs"
    code = ("import sys; "
            # drop an editable install's finder: gpu_envs.wrappers must resolve without it
            "sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, '__module__', '').startswith('__editable__')]; "
            f"import pytest; sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', {node!r}]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         check=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]


@pytest.mark.parametrize("doc", ["README.md", "docs/getting_started.md"])
def test_install_lines_install_from_the_clone_with_cpu_torch_pinned(doc):
    """No release on PyPI yet: each shown install installs the clone or a wheel built from it,
    and the CPU ones pin torch==2.13.0 (a bare `torch` pulls the CUDA wheels)."""
    lines = [line.split(" #")[0].strip() for line in (ROOT / doc).read_text().splitlines() if line.startswith("    ")]
    installs = [line for line in lines if "pip install" in line]
    assert installs
    for line in installs:
        assert not re.search(r"pip install\s+(\S+\s+)*[\"']?gpu-envs", line), line  # the index has none
        installs_the_project = re.search(r"pip install .*(-e |\.\[|\s\.(\s|$)|dist/)", line)
        if installs_the_project and "cuda" not in line:
            assert "torch==2.13.0" in line, line


def test_readme_env_table_is_the_registry_table():
    import gpu_envs
    from gpu_envs.tasks.registry import env_table

    table = env_table(gpu_envs.ENV_IDS)
    assert table in (ROOT / "README.md").read_text(), f"README.md's env table should read:\n{table}"


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
    with pytest.raises(ImportError, match=rf"pip install -e '\.\[{extra}\]'"):
        importlib.import_module(f"gpu_envs.wrappers.{adapter}")
