"""Intake under faults (issue 10): the pseudonym key is whole or absent, a damaged one is refused, and a read-only or
full warehouse folder is a Chinese message naming it (exit 2) that leaves the earlier data as it was."""
import errno
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from opsbook.data import folder as journal
from opsbook.data.intake import exports
from opsbook.ui import cli

FIXTURES = Path(__file__).parent / "fixtures" / "exports"
DY = FIXTURES / "douyin_orders" / "standard.csv"
MORE = FIXTURES / "taobao_orders" / "standard.csv"  # a second import into the same warehouse
KEY = r"[0-9a-f]{64}"


def snapshot(folder: Path) -> dict[str, str]:
    """Every file of a folder (hidden ones too) by name, with a hash of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def ingest(capsys, *files, into: Path) -> tuple[int, str]:
    """`opsbook ingest` in this process (so monkeypatches apply): exit code and what it printed to stderr."""
    code = cli.main(["ingest", *map(str, files), "--into", str(into)])
    return code, capsys.readouterr().err


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


# --- the pseudonym key -------------------------------------------------------------------------------------------
def test_a_full_disk_while_creating_the_key_leaves_no_key_and_the_next_ingest_makes_a_good_one(tmp_path, capsys,
                                                                                                monkeypatch):
    wh = tmp_path / "wh"
    monkeypatch.setattr(os, "fsync", no_space)  # the key's bytes never reach the disk
    code, err = ingest(capsys, DY, into=wh)
    assert code == 2 and f"{wh} 所在磁盘空间已满：请清理磁盘空间后重试" in err and "Traceback" not in err
    assert not (wh / exports.SECRET_FILE).exists() and not list(wh.glob(".opsbook-secret*"))
    assert not (wh / "orders.parquet").exists()
    monkeypatch.undo()
    assert ingest(capsys, DY, into=wh)[0] == 0
    key = wh / exports.SECRET_FILE
    assert re.fullmatch(KEY, key.read_text())
    assert oct(key.stat().st_mode & 0o777) == "0o600" and not list(wh.glob(".opsbook-secret.tmp"))


@pytest.mark.parametrize("content", [b"", b"\n", b"abc", b"0" * 63, b"g" * 64], ids=["empty", "newline", "short",
                                                                                     "63", "not hex"])
def test_a_damaged_key_is_refused_never_replaced(tmp_path, content):
    wh = tmp_path / "wh"
    wh.mkdir()
    (wh / exports.SECRET_FILE).write_bytes(content)
    out = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "ingest", str(DY), "--into", str(wh)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"密钥文件 {wh / exports.SECRET_FILE} 已损坏" in out.stderr and "请从备份恢复该文件" in out.stderr
    assert (wh / exports.SECRET_FILE).read_bytes() == content and not (wh / "orders.parquet").exists()


def _key_of(args) -> str:
    folder, barrier = args
    barrier.wait()  # all start together: the race of the first ingests into a new warehouse
    return exports.warehouse_secret(Path(folder)).decode()


def test_processes_creating_the_key_at_once_all_get_the_same_key(tmp_path):
    context = multiprocessing.get_context("fork")
    for attempt in range(3):
        folder = tmp_path / f"wh{attempt}"
        with context.Manager() as manager:
            barrier = manager.Barrier(8)
            with context.Pool(8) as pool:
                keys = pool.map(_key_of, [(str(folder), barrier)] * 8)
        assert len(set(keys)) == 1 and re.fullmatch(KEY, keys[0]), keys
        assert (folder / exports.SECRET_FILE).read_text() == keys[0]
        assert oct((folder / exports.SECRET_FILE).stat().st_mode & 0o777) == "0o600"
        assert not list(folder.glob(".opsbook-secret.tmp"))


# --- an unwritable warehouse: monkeypatched at the lowest write call --------------------------------------------
def _write_half_then_no_space(table, where, *args, **kwargs):
    where.write(b"PAR1")  # the start of the file reached the disk (pandas hands over the file it opened) …
    raise OSError(errno.ENOSPC, f"Error writing bytes to file. Detail: [errno 28] {os.strerror(errno.ENOSPC)}")


def _refused(code):
    def refuse(path, *args, **kwargs):
        raise OSError(code, os.strerror(code), str(path))
    return refuse


@pytest.mark.parametrize("fault, message", [
    ("ENOSPC", "所在磁盘空间已满：请清理磁盘空间后重试"),
    ("EROFS", "不可写入（只读或没有写入权限）：请检查文件夹权限后重试"),
    ("EACCES", "不可写入（只读或没有写入权限）：请检查文件夹权限后重试"),
])
def test_an_unwritable_warehouse_is_exit_2_naming_the_folder_and_changes_nothing(tmp_path, capsys, monkeypatch,
                                                                                fault, message):
    wh = tmp_path / "wh"
    assert ingest(capsys, DY, into=wh)[0] == 0
    before = snapshot(wh)
    if fault == "ENOSPC":  # the parquet writer's own call: the disk fills up mid-file
        monkeypatch.setattr(pq, "write_table", _write_half_then_no_space)
    else:  # a read-only folder (or one without permission): its first write, opening the lock, is refused
        monkeypatch.setattr(journal, "open", _refused(getattr(errno, fault)), raising=False)
    code, err = ingest(capsys, MORE, into=wh)
    assert code == 2, err
    assert f"{wh} {message}" in err and "已有的数据未受影响" in err and "Traceback" not in err
    assert snapshot(wh) == before  # the same files, byte for byte: no partial file, the earlier import intact


def test_an_unwritable_target_of_convert_is_exit_2_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    target = tmp_path / "out" / "shop.duckdb"
    assert cli.main(["convert", "data/sample", str(target)]) == 0
    before = snapshot(target.parent)
    real = os.replace

    def refuse_into(src, dst):
        if Path(dst) == target:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dst))
        return real(src, dst)
    monkeypatch.setattr(os, "replace", refuse_into)
    capsys.readouterr()
    assert cli.main(["convert", "data/sample", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"{target.parent} 不可写入（只读或没有写入权限）：请检查文件夹权限后重试" in err
    assert snapshot(target.parent) == before


# --- the same, for real: a full tmpfs and a read-only mount, in a mount namespace of their own -------------------
REAL_FAULTS = r"""
import hashlib, json, os, subprocess, sys
from pathlib import Path
mnt, dy, more = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], check=True)

def opsbook(*args):
    out = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", *args], capture_output=True, text=True)
    return {"code": out.returncode, "err": out.stderr}

def snapshot(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}

wh, fresh, result = mnt / "wh", mnt / "fresh", {}
result["first"] = opsbook("ingest", dy, "--into", str(wh))
result["before"] = snapshot(wh)
with open(mnt / "filler", "wb") as fh:  # fill the disk
    try:
        while True:
            fh.write(b"\0" * 65536)
            fh.flush()
    except OSError:
        pass
result["full"] = opsbook("ingest", more, "--into", str(wh))
result["after_full"] = snapshot(wh)
result["full_new"] = opsbook("ingest", dy, "--into", str(fresh))
result["key_on_full"] = sorted(p.name for p in fresh.iterdir()) if fresh.exists() else []
result["convert_full"] = opsbook("convert", "data/sample", str(mnt / "shop.duckdb"))
result["left_by_convert"] = sorted(p.name for p in mnt.iterdir() if "duckdb" in p.name)
(mnt / "filler").unlink()
result["freed"] = opsbook("ingest", dy, "--into", str(fresh))
result["key"] = (fresh / ".opsbook-secret").read_text()
subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
result["read_only"] = opsbook("ingest", more, "--into", str(wh))
result["after_read_only"] = snapshot(wh)
result["convert_read_only"] = opsbook("convert", "data/sample", str(mnt / "shop.duckdb"))
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def own_mounts():
    """`unshare -rm`: a user and mount namespace where tmpfs and read-only remounts are allowed (skip without)."""
    probe = Path(tempfile.mkdtemp(prefix="opsbook-ns-"))
    try:
        ok = shutil.which("unshare") and subprocess.run(
            ["unshare", "-rm", "mount", "-t", "tmpfs", "tmpfs", str(probe)], capture_output=True).returncode == 0
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    if not ok:
        pytest.skip("no mount namespace here (unshare -rm): the monkeypatched tests above cover the same paths")
    return ["unshare", "-rm"]


def test_a_really_full_disk_and_read_only_mount(tmp_path, own_mounts):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    out = subprocess.run([*own_mounts, sys.executable, "-c", REAL_FAULTS, str(mnt), str(DY), str(MORE)],
                         capture_output=True, text=True, timeout=600, cwd=Path(__file__).parents[2])
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    wh, fresh = mnt / "wh", mnt / "fresh"
    assert r["first"]["code"] == 0, r["first"]["err"]
    assert r["full"]["code"] == 2 and f"{wh} 所在磁盘空间已满：请清理磁盘空间后重试" in r["full"]["err"]
    assert r["after_full"] == r["before"]
    assert r["full_new"]["code"] == 2 and f"{fresh} 所在磁盘空间已满" in r["full_new"]["err"]
    assert exports.SECRET_FILE not in r["key_on_full"] and ".opsbook-secret.tmp" not in r["key_on_full"]
    assert r["convert_full"]["code"] == 2 and f"{mnt} 所在磁盘空间已满" in r["convert_full"]["err"]
    assert r["left_by_convert"] == []
    assert r["freed"]["code"] == 0 and re.fullmatch(KEY, r["key"])
    assert r["read_only"]["code"] == 2 and f"{wh} 不可写入（只读或没有写入权限）：请检查文件夹权限" in r["read_only"]["err"]
    assert r["after_read_only"] == r["before"]
    assert r["convert_read_only"]["code"] == 2 and f"{mnt} 不可写入" in r["convert_read_only"]["err"]
    for step in ("full", "full_new", "read_only", "convert_full", "convert_read_only"):
        assert "Traceback" not in r[step]["err"], step
