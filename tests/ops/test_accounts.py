"""Accounts (`ops/accounts.py`), the `opsbook users` command, roles in playbooks and the refusals of a shared server."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from opsbook import spec
from opsbook.errors import ParamError
from opsbook.ops import accounts
from opsbook.ui import auth, cli, serve


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty project home with the repository's playbooks."""
    (tmp_path / "playbooks").symlink_to(Path(__file__).parents[2] / "playbooks")
    monkeypatch.setenv("OPSBOOK_HOME", str(tmp_path))
    return tmp_path


def test_passwords_are_hashed_and_the_file_is_private(home):
    accounts.add("王芳", ["客服"], "kefu-4567")
    text = accounts.store_path().read_text(encoding="utf-8")
    assert "kefu-4567" not in text and "$argon2id$" in text
    assert stat.S_IMODE(os.stat(accounts.store_path()).st_mode) == 0o600
    assert accounts.verify("王芳", "kefu-4567") == accounts.Account("王芳", ("客服",))
    assert accounts.verify("王芳", "kefu-4568") is None and accounts.verify("nobody", "kefu-4567") is None


def test_disabling_or_a_new_password_moves_the_epoch_that_ends_sessions(home):
    accounts.add("李强", ["运营"], "yunying-123")
    provider = auth.AccountIdentityProvider()
    cookie = provider.user_to_cookie(auth._user(accounts.get("李强")))
    assert provider.user_from_cookie(cookie).username == "李强"
    accounts.set_password("李强", "yunying-456")
    assert provider.user_from_cookie(cookie) is None
    cookie = provider.user_to_cookie(auth._user(accounts.get("李强")))
    accounts.disable("李强")
    assert provider.user_from_cookie(cookie) is None and accounts.verify("李强", "yunying-456") is None
    accounts.enable("李强")
    assert accounts.verify("李强", "yunying-456").name == "李强"
    assert provider.user_from_cookie("not json") is None and provider.user_from_cookie('{"name": 1}') is None


@pytest.mark.parametrize("name, roles, password, words", [
    ("a b", ["运营"], "long-enough", "账号名"), ("../x", ["运营"], "long-enough", "账号名"),
    ("x" * 33, ["运营"], "long-enough", "账号名"), ("ok", ["老板"], "long-enough", "角色 老板 不存在"),
    ("ok", [], "long-enough", "角色"), ("ok", ["运营"], "short", "至少 8 个字符"),
    ("ok", ["运营"], " padded-pass ", "首尾不能是空格")])
def test_bad_names_roles_and_passwords_are_refused(home, name, roles, password, words):
    with pytest.raises(ParamError, match=words):
        accounts.add(name, roles, password)
    assert not accounts.store_path().exists()


def test_a_damaged_accounts_file_is_refused_never_rebuilt(home):
    accounts.add("赵敏", ["主管"], "zhuguan-89")
    accounts.store_path().write_text("{not json", encoding="utf-8")
    for attempt in (lambda: accounts.verify("赵敏", "zhuguan-89"), lambda: accounts.add("新人", ["运营"], "long-enough")):
        with pytest.raises(ParamError, match="请从备份恢复"):
            attempt()
    assert accounts.store_path().read_text(encoding="utf-8") == "{not json"


def test_a_certificate_needs_its_key(home):
    accounts.add("admin", ["管理员"], "admin-pass-1")
    (home / "cert.pem").write_text("x", encoding="utf-8")
    with pytest.raises(ParamError, match="需同时指定"):
        serve.check_mode("0.0.0.0", True, str(home / "cert.pem"), "", False)


def test_a_name_is_taken_once(home):
    accounts.add("赵敏", ["主管"], "zhuguan-89")
    with pytest.raises(ParamError, match="已存在"):
        accounts.add("赵敏", ["运营"], "another-pass")
    assert accounts.get("赵敏").roles == ("主管",)


def run_cli(home: Path, *argv: str, stdin: str = "") -> subprocess.CompletedProcess:
    """`opsbook …` as staff type it, with the password on stdin."""
    return subprocess.run([sys.executable, "-m", "opsbook.ui.cli", *argv], input=stdin, capture_output=True,
                          text=True, env={**os.environ, "OPSBOOK_HOME": str(home)}, timeout=60)


def test_users_command_adds_lists_changes_and_disables(home):
    done = run_cli(home, "users", "add", "王芳", "--role", "客服", "--role", "运营", stdin="kefu-4567\n")
    assert done.returncode == 0 and "已创建账号 王芳（运营、客服）" in done.stdout
    listed = run_cli(home, "users", "list").stdout
    assert "王芳\t运营、客服\t启用" in listed and "argon2" not in listed
    assert run_cli(home, "users", "roles", "王芳", "--role", "客服").returncode == 0
    assert accounts.get("王芳").roles == ("客服",)
    assert run_cli(home, "users", "passwd", "王芳", stdin="kefu-new-1\n").returncode == 0
    assert accounts.verify("王芳", "kefu-new-1")
    assert run_cli(home, "users", "disable", "王芳").returncode == 0
    assert "已停用" in run_cli(home, "users", "list").stdout
    refused = run_cli(home, "users", "add", "王芳", "--role", "客服", stdin="kefu-4567\n")
    assert refused.returncode == 2 and "已存在" in refused.stderr
    refused = run_cli(home, "users", "disable", "无此人")
    assert refused.returncode == 2 and "不存在" in refused.stderr
    refused = run_cli(home, "users", "add", "新人", "--role", "老板", stdin="long-enough\n")
    assert refused.returncode == 2 and "可选 运营" in refused.stderr


def test_a_shared_host_needs_accounts_and_encryption(home, capsys):
    assert cli.main(["serve", "--host", "0.0.0.0"]) == 2
    assert "先用 opsbook users add" in capsys.readouterr().err
    accounts.add("admin", ["管理员"], "admin-pass-1")
    assert cli.main(["serve", "--host", "0.0.0.0"]) == 2
    assert "--certfile/--keyfile" in capsys.readouterr().err
    assert cli.main(["serve", "--host", "0.0.0.0", "--certfile", str(home / "none.pem"),
                     "--keyfile", str(home / "none.key")]) == 2
    assert "不存在" in capsys.readouterr().err
    assert serve.check_mode("127.0.0.1", False, "", "", False) is False  # one person: the token


def test_accounts_mode_starts_voila_with_the_identity_provider_and_no_token():
    argv = serve.command(8866, "", "/tmp/forms", host="0.0.0.0", with_accounts=True, certfile="c.pem",
                         keyfile="k.pem")
    assert "--Voila.identity_provider_class=opsbook.ui.auth.AccountIdentityProvider" in argv
    assert "--Voila.authorizer_class=opsbook.ui.auth.RoleAuthorizer" in argv
    assert not any(a.startswith("--token") for a in argv) and "--FormsApp.certfile=c.pem" in argv
    assert any(a.startswith("--token=abc") for a in serve.command(8866, "abc", "/tmp/forms"))


def test_every_playbook_declares_roles_that_exist():
    for name in spec.available():
        roles = spec.load(name).roles
        assert roles and set(roles) <= set(accounts.ROLES), name


def test_a_role_that_is_not_a_role_is_refused_naming_the_playbook(tmp_path):
    nb = json.loads((Path(__file__).parents[2] / "playbooks" / "kpi_report.ipynb").read_text(encoding="utf-8"))
    source = "".join(nb["cells"][0]["source"]).replace("运营、主管、数据分析", "运营、老板")
    nb["cells"][0]["source"] = source
    path = tmp_path / "odd.ipynb"
    path.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ParamError, match="剧本 odd 的适用角色 老板 不是系统角色"):
        spec.load(path)


def test_lockout_counts_failures_per_name_and_address_per_address_and_per_name():
    lock = auth.Lockout()
    for _ in range(auth.MAX_FAILURES - 1):
        lock.failed("王芳", "10.0.0.1")
    assert lock.locked_for("王芳", "10.0.0.1") == 0
    lock.failed("王芳", "10.0.0.1")
    assert lock.locked_for("王芳", "10.0.0.1") > 0
    assert lock.locked_for("王芳", "10.0.0.9") == 0  # five failures elsewhere do not lock her out of her own desk
    assert lock.locked_for("李强", "10.0.0.1") == 0
    for i in range(auth.MAX_ADDRESS_FAILURES):
        lock.failed(f"name{i}", "10.0.0.7")
    assert lock.locked_for("李强", "10.0.0.7") > 0  # spraying many names from one address
    for i in range(auth.MAX_NAME_FAILURES):
        lock.failed("赵敏", f"10.1.{i}.1")
    assert lock.locked_for("赵敏", "10.0.0.2") > 0  # one name guessed from many addresses
    lock.succeeded("王芳", "10.0.0.1")
    assert lock.locked_for("王芳", "10.0.0.1") == 0


def test_forgotten_failures_leave_no_keys_behind(monkeypatch):
    lock = auth.Lockout()
    monkeypatch.setattr(auth, "WINDOW", 0)
    monkeypatch.setenv(auth.LOCKOUT_ENV, "0")
    for i in range(100):
        lock.failed(f"n{i}", "10.0.0.1")
    import time as clock
    clock.sleep(0.01)
    for i in range(100):
        lock.locked_for(f"n{i}", "10.0.0.1")
    assert not lock.failures


def test_behind_a_proxy_the_server_listens_on_loopback_only(home):
    accounts.add("admin", ["管理员"], "admin-pass-1")
    with pytest.raises(ParamError, match="只在本机地址上监听"):
        serve.check_mode("0.0.0.0", True, "", "", True)
    assert serve.check_mode("127.0.0.1", True, "", "", True) is True
