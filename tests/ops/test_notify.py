"""Alert notifiers against real local servers: a recording webhook server and an aiosmtpd SMTP server."""
from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
from aiosmtpd.controller import Controller
from opsbook.ops import notify
from opsbook.ops.notify import Delivery, Event

TOKEN = "tok3n-DO-NOT-LEAK"
SECRET = "SECs3cret-DO-NOT-LEAK"
OK = {"errcode": 0, "errmsg": "ok"}


class Hook:
    """A webhook server on 127.0.0.1 that records requests and answers from `replies` (the last repeats)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.replies: list[tuple[int, dict]] = [(200, OK)]
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                parts = urlsplit(self.path)
                hook.requests.append({"path": parts.path, "query": dict(parse_qsl(parts.query)),
                                      "json": json.loads(raw)})
                status, reply = hook.replies[min(len(hook.requests), len(hook.replies)) - 1]
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def hook():
    server = Hook()
    yield server
    server.server.shutdown()
    server.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def failed_event(**changes) -> Event:
    values = {"job": "kpi_daily", "playbook": "kpi_report", "status": "failed", "run_id": "20250618-080000-ab12",
              "started": "2025-06-18T08:00:05+08:00", "seconds": 75.4, "error": "读取 orders 表失败：文件不存在",
              "flags": [{"code": "roi_low", "severity": "high", "owner": "投放", "message": "3 个计划 ROI 低于 1.5",
                         "rows": 3, "sample": []}],
              "flag_counts": {"high": 1, "medium": 2, "low": 0}, "link": "https://ops.example.com/runs/kpi", "attempt": 2}
    return Event(**(values | changes))


def fast_send(targets, event, env):
    return notify.send(targets, event, env=env, attempts=3, backoff=0.01, timeout=5)


def dingtalk_sign(timestamp: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(timestamp: str, secret: str) -> str:
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# --- webhook channels ------------------------------------------------------------------------------

def test_dingtalk_sends_signed_markdown(hook):
    env = {"OPSBOOK_DINGTALK_WEBHOOK_OPS": hook.url(f"/robot/send?access_token={TOKEN}"),
           "OPSBOOK_DINGTALK_SECRET_OPS": SECRET}
    before = time.time() * 1000
    assert fast_send(["dingtalk:ops"], failed_event(), env) == [Delivery("dingtalk:ops", True, 1)]
    [request] = hook.requests
    query, payload = request["query"], request["json"]
    assert request["path"] == "/robot/send" and query["access_token"] == TOKEN
    assert before - 1 <= int(query["timestamp"]) <= time.time() * 1000 + 1
    assert query["sign"] == dingtalk_sign(query["timestamp"], SECRET)
    assert query["sign"] != dingtalk_sign(query["timestamp"], SECRET + "x")
    assert payload["msgtype"] == "markdown"
    assert "kpi_daily" in payload["markdown"]["title"] and "失败" in payload["markdown"]["title"]
    text = payload["markdown"]["text"]
    assert "3 个计划 ROI 低于 1.5" in text and "【投放】" in text and "涉及 3 行" in text
    assert "读取 orders 表失败" in text and "[查看报告](https://ops.example.com/runs/kpi)" in text


def test_dingtalk_without_secret_is_unsigned(hook):
    assert fast_send(["dingtalk"], failed_event(), {"OPSBOOK_DINGTALK_WEBHOOK": hook.url("/robot/send?access_token=t")})[0].ok
    assert set(hook.requests[0]["query"]) == {"access_token"}


def test_feishu_sends_signed_interactive_card(hook):
    hook.replies = [(200, {"code": 0, "msg": "success", "data": {}})]
    env = {"OPSBOOK_FEISHU_WEBHOOK_WAREHOUSE": hook.url(f"/open-apis/bot/v2/hook/{TOKEN}"),
           "OPSBOOK_FEISHU_SECRET_WAREHOUSE": SECRET}
    before = int(time.time())
    [delivery] = fast_send(["feishu:warehouse"], failed_event(), env)
    assert delivery == Delivery("feishu:warehouse", True, 1)
    payload = hook.requests[0]["json"]
    assert isinstance(payload["timestamp"], str) and before <= int(payload["timestamp"]) <= time.time()
    assert payload["sign"] == feishu_sign(payload["timestamp"], SECRET)
    assert payload["sign"] != feishu_sign(payload["timestamp"], SECRET + "x")
    assert payload["sign"] != dingtalk_sign(payload["timestamp"], SECRET)
    assert payload["msg_type"] == "interactive"
    header, [element] = payload["card"]["header"], payload["card"]["elements"]
    assert "kpi_daily" in header["title"]["content"] and "失败" in header["title"]["content"]
    assert element["tag"] == "markdown" and "3 个计划 ROI 低于 1.5" in element["content"]


def test_feishu_older_status_code_reply_counts_as_success(hook):
    hook.replies = [(200, {"Extra": None, "StatusCode": 0, "StatusMessage": "success"})]
    assert fast_send(["feishu"], failed_event(), {"OPSBOOK_FEISHU_WEBHOOK": hook.url("/hook/x")})[0].ok


def test_wecom_sends_markdown_within_4096_bytes(hook):
    env = {"OPSBOOK_WECOM_WEBHOOK": hook.url(f"/cgi-bin/webhook/send?key={TOKEN}")}
    assert fast_send(["wecom"], failed_event(), env)[0].ok
    payload = hook.requests[0]["json"]
    assert payload["msgtype"] == "markdown"
    content = payload["markdown"]["content"]
    assert "kpi_daily" in content and "失败" in content and "3 个计划 ROI 低于 1.5" in content

    huge = failed_event(link="https://ops.example.com/" + "报" * 3000)
    assert fast_send(["wecom"], huge, env)[0].ok
    content = hook.requests[1]["json"]["markdown"]["content"]
    assert 4000 < len(content.encode("utf-8")) <= 4096 and content.endswith("已截断）")


# --- failures and retries ----------------------------------------------------------------------------

@pytest.mark.parametrize("reply", [(200, {"errcode": 310000, "errmsg": "sign not match"}), (500, {"error": "boom"})],
                         ids=["errcode", "http500"])
def test_failing_server_is_retried_then_reported_without_secrets(hook, caplog, reply):
    hook.replies = [reply]
    env = {"OPSBOOK_DINGTALK_WEBHOOK": hook.url(f"/robot/send?access_token={TOKEN}"),
           "OPSBOOK_DINGTALK_SECRET": SECRET}
    caplog.set_level(logging.DEBUG, logger="opsbook.notify")
    [delivery] = fast_send(["dingtalk"], failed_event(), env)
    assert (delivery.ok, delivery.attempts, len(hook.requests)) == (False, 3, 3)
    assert f"127.0.0.1:{hook.server.server_address[1]}" in delivery.error and str(reply[0]) in delivery.error
    records = [r for r in caplog.records if r.name == "opsbook.notify"]
    assert [r.levelname for r in records] == ["WARNING", "WARNING", "ERROR"]
    for text in (caplog.text, delivery.error):
        assert TOKEN not in text and SECRET not in text and "access_token" not in text


def test_connection_refused_is_retried_and_never_raises(caplog):
    port = free_port()
    env = {"OPSBOOK_WECOM_WEBHOOK": f"http://127.0.0.1:{port}/cgi-bin/webhook/send?key={TOKEN}"}
    caplog.set_level(logging.DEBUG, logger="opsbook.notify")
    [delivery] = fast_send(["wecom"], failed_event(), env)
    assert (delivery.ok, delivery.attempts) == (False, 3)
    assert delivery.error.startswith(f"无法连接 http://127.0.0.1:{port}")
    assert len([r for r in caplog.records if r.name == "opsbook.notify"]) == 3
    assert TOKEN not in caplog.text and TOKEN not in delivery.error


def test_success_on_second_attempt(hook):
    hook.replies = [(200, {"errcode": 1, "errmsg": "busy"}), (200, OK)]
    [delivery] = fast_send(["dingtalk"], failed_event(), {"OPSBOOK_DINGTALK_WEBHOOK": hook.url("/robot/send?access_token=t")})
    assert delivery == Delivery("dingtalk", True, 2) and len(hook.requests) == 2


def test_missing_secret_is_reported_without_a_request(hook, caplog):
    env = {"OPSBOOK_FEISHU_WEBHOOK": hook.url("/hook/x")}
    [delivery] = fast_send(["feishu:warehouse"], failed_event(), env)
    assert delivery == Delivery("feishu:warehouse", False, 0, "未配置 OPSBOOK_FEISHU_WEBHOOK_WAREHOUSE")
    assert hook.requests == [] and "OPSBOOK_FEISHU_WEBHOOK_WAREHOUSE" in caplog.text


def test_send_never_raises_on_bad_targets_or_events(hook):
    env = {"OPSBOOK_DINGTALK_WEBHOOK": hook.url("/robot/send?access_token=t")}
    results = fast_send(["slack", 42, "dingtalk"], failed_event(), env)
    assert [(d.target, d.ok) for d in results] == [("slack", False), ("42", False), ("dingtalk", True)]
    assert "slack" in results[0].error
    broken = fast_send(["dingtalk"], None, env)
    assert [(d.ok, d.attempts) for d in broken] == [(False, 0)] and len(hook.requests) == 1
    assert [(d.target, d.ok) for d in fast_send("dingtalk", failed_event(), env)] == [("dingtalk", True)]


def test_phone_number_in_error_is_masked_in_payload(hook):
    event = failed_event(error="请联系店长 13812345678 补传订单表")
    assert fast_send(["dingtalk"], event, {"OPSBOOK_DINGTALK_WEBHOOK": hook.url("/robot/send?access_token=t")})[0].ok
    text = json.dumps(hook.requests[0]["json"], ensure_ascii=False)
    assert "138****5678" in text and "13812345678" not in text


# --- email ----------------------------------------------------------------------------------------

class Inbox:
    """aiosmtpd handler keeping every envelope it receives."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    for attempt in range(5):  # a port free a moment ago may be taken by the time the server binds it
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
        try:
            controller.start()
            break
        except Exception:  # noqa: BLE001 - aiosmtpd reports a taken port in several ways
            if attempt == 4:
                raise
    yield controller, inbox
    controller.stop()


def test_email_is_multipart_with_chinese_subject(smtp_server):
    controller, inbox = smtp_server
    env = {"OPSBOOK_SMTP_HOST": "127.0.0.1", "OPSBOOK_SMTP_PORT": str(controller.port), "OPSBOOK_SMTP_TLS": "none",
           "OPSBOOK_SMTP_FROM": "opsbook@example.com"}
    targets = ["email:ops@example.com", "email:boss@example.com"]
    assert [d.ok for d in fast_send(targets, failed_event(), env)] == [True, True]
    assert [e.rcpt_tos for e in inbox.envelopes] == [["ops@example.com"], ["boss@example.com"]]
    msg = email.message_from_bytes(inbox.envelopes[0].original_content, policy=email.policy.default)
    assert msg["Subject"] == "opsbook：kpi_daily 运行失败，新增 1 条高级别提示"
    assert msg["From"] == "opsbook@example.com" and msg["To"] == "ops@example.com"
    plain = msg.get_body(preferencelist=("plain",)).get_content()
    page = msg.get_body(preferencelist=("html",)).get_content()
    assert "3 个计划 ROI 低于 1.5" in plain and "读取 orders 表失败" in plain
    assert '<a href="https://ops.example.com/runs/kpi">查看报告</a>' in page and "<b>失败</b>" in page


def test_email_server_down_fails_after_retries():
    env = {"OPSBOOK_SMTP_HOST": "127.0.0.1", "OPSBOOK_SMTP_PORT": str(free_port()), "OPSBOOK_SMTP_TLS": "none",
           "OPSBOOK_SMTP_USER": "bot@example.com", "OPSBOOK_SMTP_PASSWORD": SECRET}
    [delivery] = fast_send(["email:ops@example.com"], failed_event(), env)
    assert (delivery.ok, delivery.attempts) == (False, 3)
    assert "SMTP" in delivery.error and SECRET not in delivery.error


# --- validation and secrets ----------------------------------------------------------------------------

def test_problems_name_each_bad_target():
    found = notify.problems(["slack", "email:notanaddress", "dingtalk:bad-name!", "dingtalk", "feishu:warehouse",
                             "wecom", "email:ops@example.com"])
    assert len(found) == 3
    assert "slack" in found[0] and "未知的通知渠道" in found[0]
    assert "email:notanaddress" in found[1] and "邮箱地址" in found[1]
    assert "dingtalk:bad-name!" in found[2] and "字母、数字和下划线" in found[2]


def test_missing_secrets_name_the_env_vars():
    found = notify.missing_secrets(["dingtalk:ops", "wecom", "email:ops@example.com", "slack"],
                                   env={"OPSBOOK_WECOM_WEBHOOK": "https://qyapi.example.com/send?key=k"})
    assert len(found) == 3
    assert "dingtalk:ops" in found[0] and "OPSBOOK_DINGTALK_WEBHOOK_OPS" in found[0]
    assert "OPSBOOK_SMTP_HOST" in found[1] and "OPSBOOK_SMTP_FROM" in found[2]
    assert notify.missing_secrets(["dingtalk"], env={"OPSBOOK_DINGTALK_WEBHOOK": "https://x"}) == []


def test_dotenv_is_used_and_real_environment_wins(hook, tmp_path, monkeypatch):
    monkeypatch.setenv("OPSBOOK_HOME", str(tmp_path))
    monkeypatch.delenv("OPSBOOK_WECOM_WEBHOOK", raising=False)
    (tmp_path / ".env").write_text(f"OPSBOOK_WECOM_WEBHOOK={hook.url('/from-dotenv?key=d')}\n", encoding="utf-8")
    assert notify.missing_secrets(["wecom"]) == []
    assert notify.send(["wecom"], failed_event(), backoff=0.01)[0].ok
    monkeypatch.setenv("OPSBOOK_WECOM_WEBHOOK", hook.url("/from-environment?key=e"))
    assert notify.send(["wecom"], failed_event(), backoff=0.01)[0].ok
    assert [r["path"] for r in hook.requests] == ["/from-dotenv", "/from-environment"]


# --- the card --------------------------------------------------------------------------------------

def test_message_lists_status_time_and_top_five_flags():
    flags = [{"code": f"c{i}", "severity": "high", "owner": "仓储", "message": f"问题{i}", "rows": i} for i in range(1, 8)]
    title, body = notify.message(failed_event(flags=flags, link="runs/kpi_report/x/report.html"))
    assert title == "opsbook：kpi_daily 运行失败，新增 7 条高级别提示"
    assert "2025-06-18 08:00:05" in body and "1 分 15 秒" in body and "第 2 次尝试" in body
    assert "5. 【仓储】问题5（涉及 5 行）" in body and "问题6" not in body and "另有 2 条" in body
    assert "报告：runs/kpi_report/x/report.html" in body and "高 1、中 2" in body


@pytest.mark.parametrize("status, word", [("ok", "成功"), ("failed", "失败"), ("timeout", "超时")])
def test_message_status_in_chinese(status, word):
    title, body = notify.message(failed_event(status=status, flags=[], error=None, seconds=3.0, attempt=1))
    assert title == f"opsbook：kpi_daily 运行{word}" and f"**{word}**" in body and "3.0 秒" in body
    assert "错误" not in body and "尝试" not in body


def test_data_text_cannot_leak_half_a_phone_or_inject_links():
    event = notify.Event(job="j", playbook="p", status="failed", run_id="r", started="2026-01-01T08:00:00+08:00",
                         error="x" * 490 + " 手机号 13812345678 [点此](javascript:alert(1))",
                         flags=[{"code": "c", "severity": "high", "owner": "运营", "rows": 1,
                                 "message": "y" * 110 + " 13812345678"}])
    title, body = notify.message(event)
    assert "1381234567" not in body and "138**" in body
    assert "](javascript:" not in body and "javascript:" not in notify._html(title, body).split("href=")[-1][:20]
