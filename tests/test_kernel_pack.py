"""The prebuilt MuJoCo Warp kernels: what is shipped, and how a kernel cache is seeded from it
(gpu_envs/kernel_pack.py). Warp itself is not needed: the cache is a plain folder here."""

import io
import re
import shutil
import sys
import tarfile
import types

import pytest

from gpu_envs import build_kernels, kernel_pack

NAME = re.compile(r"warp-[0-9.]+-cuda[0-9.]+_mujoco-warp-[0-9.]+_sm[0-9]+_(ptx|cubin)\.tar\.xz")


def _archive(path, files):
    """An .tar.xz at `path` holding {name: bytes}."""
    with tarfile.open(path, "w:xz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _module(name, binary=b"cubin"):
    return {f"{name}/{name}.meta": b"{}", f"{name}/{name}.sm90.cubin": binary}


def test_seeding_adds_only_the_modules_the_cache_lacks_and_keeps_its_own(tmp_path):
    archive = _archive(tmp_path / "pack.tar.xz", {**_module("wp_a_1111111", b"new"), **_module("wp_b_2222222")})
    cache = tmp_path / "cache"
    (cache / "wp_a_1111111").mkdir(parents=True)
    (cache / "wp_a_1111111" / "wp_a_1111111.sm90.cubin").write_bytes(b"built here")
    (cache / "wp_a_1111111" / "wp_a_1111111.meta").write_bytes(b"{}")
    assert kernel_pack.unpack_missing(archive, cache) == 1
    assert (cache / "wp_b_2222222" / "wp_b_2222222.meta").read_bytes() == b"{}"
    assert (cache / "wp_a_1111111" / "wp_a_1111111.sm90.cubin").read_bytes() == b"built here"
    assert not list(cache.glob(".gpu-envs-unpack-*"))  # the unpacking folder is gone


def test_a_seeded_cache_is_not_unpacked_again(tmp_path, monkeypatch):
    archive = _archive(tmp_path / "pack.tar.xz", _module("wp_a_1111111"))
    cache = tmp_path / "cache"
    assert kernel_pack.unpack_missing(archive, cache) == 1
    monkeypatch.setattr(kernel_pack.tarfile, "open", lambda *a, **k: pytest.fail("unpacked again"))
    assert kernel_pack.unpack_missing(archive, cache) == 0


def test_a_cache_that_lost_seeded_files_gets_them_back(tmp_path):
    archive = _archive(tmp_path / "pack.tar.xz", {**_module("wp_a_1111111"), **_module("wp_b_2222222")})
    cache = tmp_path / "cache"
    assert kernel_pack.unpack_missing(archive, cache) == 2
    shutil.rmtree(cache / "wp_a_1111111")  # as warp.clear_kernel_cache() does; the stamp stays
    (cache / "wp_b_2222222" / "wp_b_2222222.sm90.cubin").unlink()  # a folder left with its .meta alone
    assert kernel_pack.unpack_missing(archive, cache) == 2
    assert (cache / "wp_a_1111111" / "wp_a_1111111.sm90.cubin").is_file()
    assert (cache / "wp_b_2222222" / "wp_b_2222222.sm90.cubin").is_file()


@pytest.mark.parametrize("entry", ["../outside.meta", "wp_a_1111111/wp_a_1111111.cu", "/etc/wp_a.meta"])
def test_an_archive_with_other_entries_is_refused(tmp_path, entry):
    archive = _archive(tmp_path / "pack.tar.xz", {**_module("wp_a_1111111"), entry: b"x"})
    with pytest.raises(ValueError, match="not a gpu-envs Warp kernel archive"):
        kernel_pack.unpack_missing(archive, tmp_path / "cache")
    assert not (tmp_path / "outside.meta").exists()


def test_an_archive_with_a_link_is_refused(tmp_path):
    path = tmp_path / "pack.tar.xz"
    with tarfile.open(path, "w:xz") as tar:
        link = tarfile.TarInfo("wp_a_1111111/wp_a_1111111.meta")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(ValueError, match="unexpected entries"):
        kernel_pack.unpack_missing(path, tmp_path / "cache")


@pytest.mark.parametrize("value, expected", [(None, kernel_pack.SHIPPED), ("0", None), ("off", None)])
def test_gpu_envs_warp_kernels_turns_seeding_off_or_keeps_the_shipped_archives(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv(kernel_pack.ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(kernel_pack.ENV_VAR, value)
    assert kernel_pack.archive_folder() == expected


def test_gpu_envs_warp_kernels_can_name_a_folder_of_archives(monkeypatch, tmp_path):
    monkeypatch.setenv(kernel_pack.ENV_VAR, str(tmp_path))
    assert kernel_pack.archive_folder() == tmp_path


def test_a_gpu_envs_warp_kernels_folder_that_does_not_exist_warns_and_seeds_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv(kernel_pack.ENV_VAR, str(tmp_path / "typo"))
    with pytest.warns(UserWarning, match="GPU_ENVS_WARP_KERNELS=.*typo' is not a folder"):
        assert kernel_pack.archive_folder() is None


def test_archive_names_carry_both_versions_the_architecture_and_the_format():
    name = kernel_pack.pack_name("1.19.0", "13.4", "4.0.0", 90, "cubin")
    assert name == "warp-1.19.0-cuda13.4_mujoco-warp-4.0.0_sm90_cubin.tar.xz"
    assert NAME.fullmatch(name)


def test_the_shipped_archives_are_named_and_built_as_the_seeding_expects():
    archives = sorted(kernel_pack.SHIPPED.glob("*.tar.xz"))
    assert archives
    for path in archives:
        assert NAME.fullmatch(path.name), path.name
        with tarfile.open(path, "r:xz") as tar:
            names = [m.name for m in kernel_pack._checked_members(tar)]
        modules = {name.split("/")[0] for name in names}
        for module in modules:  # Warp loads a module from its binary and its .meta, nothing else
            assert f"{module}/{module}.meta" in names
            assert any(n.startswith(f"{module}/{module}.sm") for n in names), module


class _FakeWarpDevice:
    def get_cuda_compile_arch(self):
        return 90

    def get_cuda_output_format(self):
        return "cubin"


@pytest.fixture
def fake_warp(monkeypatch, tmp_path):
    """A `warp` module with what seeding reads (version, toolkit, device, kernel cache folder),
    and MuJoCo Warp's version: Warp needs a GPU, this machine may have none."""
    asked = []
    warp = types.SimpleNamespace(
        init=lambda: None, config=types.SimpleNamespace(version="1.19.0", kernel_cache_dir=str(tmp_path / "cache")),
        get_cuda_toolkit_version=lambda: (13, 4), get_device=lambda name: asked.append(name) or _FakeWarpDevice())
    monkeypatch.setitem(sys.modules, "warp", warp)
    monkeypatch.setattr(kernel_pack.metadata, "version", lambda name: {"mujoco-warp": "4.0.0"}[name])
    return asked


def test_seeding_reads_the_archive_named_for_this_warp_and_gpu(fake_warp, monkeypatch, tmp_path):
    folder = tmp_path / "archives"
    folder.mkdir()
    _archive(folder / "warp-1.19.0-cuda13.4_mujoco-warp-4.0.0_sm90_cubin.tar.xz", _module("wp_a_1111111"))
    monkeypatch.setenv(kernel_pack.ENV_VAR, str(folder))
    device = types.SimpleNamespace(platform="gpu", id=5, local_hardware_id=1)  # JAX's id is not CUDA's number
    assert kernel_pack.seed_warp_kernel_cache(device) == 1
    assert fake_warp == ["cuda:1"]
    assert (tmp_path / "cache" / "wp_a_1111111" / "wp_a_1111111.meta").is_file()


def test_no_matching_archive_seeds_nothing(fake_warp, monkeypatch, tmp_path):
    monkeypatch.setenv(kernel_pack.ENV_VAR, str(tmp_path))
    assert kernel_pack.seed_warp_kernel_cache(types.SimpleNamespace(platform="gpu", id=0, local_hardware_id=0)) == 0
    assert not (tmp_path / "cache").exists()


def test_a_broken_archive_is_a_warning_not_an_error(fake_warp, monkeypatch, tmp_path):
    (tmp_path / "warp-1.19.0-cuda13.4_mujoco-warp-4.0.0_sm90_cubin.tar.xz").write_bytes(b"truncated")
    monkeypatch.setenv(kernel_pack.ENV_VAR, str(tmp_path))
    with pytest.warns(UserWarning, match="prebuilt MuJoCo Warp kernels not used .*GPU_ENVS_WARP_KERNELS=0"):
        assert kernel_pack.seed_warp_kernel_cache(types.SimpleNamespace(platform="gpu", id=0, local_hardware_id=0)) == 0


def test_a_written_archive_seeds_the_same_modules(tmp_path):
    built = tmp_path / "built"
    for name in ("wp_a_1111111", "wp_b_2222222"):
        (built / name).mkdir(parents=True)
        for file, data in _module(name).items():
            (tmp_path / "built" / file).write_bytes(data)
        (built / name / f"{name}.cu").write_text("// generated source, not shipped")
    path = tmp_path / "out" / "pack.tar.xz"
    path.parent.mkdir()
    assert build_kernels.write_archive(built, path) == 2
    assert sorted(p.name for p in path.parent.iterdir()) == ["pack.tar.xz"]  # no partial file left
    assert kernel_pack.unpack_missing(path, tmp_path / "cache") == 2
    assert not list((tmp_path / "cache").glob("*/*.cu"))


def _missing() -> str | None:
    """What a kernel build lacks here: "warp" (MuJoCo Warp), "gpu", or None (it could build)."""
    import importlib.util

    import jax

    if importlib.util.find_spec("warp") is None or importlib.util.find_spec("mujoco_warp") is None:
        return "warp"
    try:
        jax.devices("gpu")
    except RuntimeError:
        return "gpu"
    return None


def test_building_without_mujoco_warp_or_a_gpu_is_one_error_line(capsys, tmp_path):
    missing = _missing()
    if missing is None:
        pytest.skip("MuJoCo Warp and a GPU are here: the build would run")
    with pytest.raises(SystemExit) as exit_info:
        build_kernels.main(["--out", str(tmp_path)])
    assert exit_info.value.code == 2
    said = {"warp": "needs MuJoCo Warp, the 'warp' extra", "gpu": "needs a CUDA GPU visible to JAX"}[missing]
    assert said in capsys.readouterr().err.splitlines()[-1]
