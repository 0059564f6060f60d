"""The prebuilt MuJoCo Warp kernels: what is shipped, and how a kernel cache is seeded from it
(gpu_envs/kernel_pack.py). Warp itself is not needed: the cache is a plain folder here."""

import io
import re
import tarfile

import pytest

from gpu_envs import kernel_pack

NAME = re.compile(r"warp-[0-9.]+_mujoco-warp-[0-9.]+_sm[0-9]+_(ptx|cubin)\.tar\.xz")


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


def test_seeding_adds_only_the_modules_the_cache_lacks(tmp_path):
    archive = _archive(tmp_path / "pack.tar.xz", {**_module("wp_a_1111111", b"new"), **_module("wp_b_2222222")})
    cache = tmp_path / "cache"
    (cache / "wp_a_1111111").mkdir(parents=True)
    (cache / "wp_a_1111111" / "wp_a_1111111.sm90.cubin").write_bytes(b"built here")
    assert kernel_pack.unpack_missing(archive, cache) == 1
    assert (cache / "wp_b_2222222" / "wp_b_2222222.meta").read_bytes() == b"{}"
    assert (cache / "wp_a_1111111" / "wp_a_1111111.sm90.cubin").read_bytes() == b"built here"
    assert not list(cache.glob(".gpu-envs-unpack-*"))  # the unpacking folder is gone


def test_a_cache_is_seeded_from_an_archive_once(tmp_path):
    archive = _archive(tmp_path / "pack.tar.xz", _module("wp_a_1111111"))
    cache = tmp_path / "cache"
    assert kernel_pack.unpack_missing(archive, cache) == 1
    for file in (cache / "wp_a_1111111").iterdir():
        file.unlink()
    (cache / "wp_a_1111111").rmdir()
    assert kernel_pack.unpack_missing(archive, cache) == 0  # the stamp says it was done
    assert not (cache / "wp_a_1111111").exists()


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


def test_archive_names_carry_both_versions_the_architecture_and_the_format():
    name = kernel_pack.pack_name("1.19.0", "4.0.0", 90, "cubin")
    assert name == "warp-1.19.0_mujoco-warp-4.0.0_sm90_cubin.tar.xz"
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


def test_building_without_mujoco_warp_is_one_error_line(capsys):
    try:
        import mujoco_warp  # noqa: F401
        import warp  # noqa: F401
        pytest.skip("MuJoCo Warp is installed here")
    except ImportError:
        pass
    with pytest.raises(SystemExit) as exit_info:
        kernel_pack.main(["build"])
    assert exit_info.value.code == 2
    assert "needs MuJoCo Warp, the 'warp' extra" in capsys.readouterr().err.splitlines()[-1]
