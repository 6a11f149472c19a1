"""Reports delivered to the group: cards received by a local webhook server and a local SMTP server (aiosmtpd)."""
from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import nbformat
import pytest
from aiosmtpd.controller import Controller

from opsbook.engine import records
from opsbook.engine.records import RunRecord
from opsbook.flags import Flag
from opsbook.ops import alerts, deliver, history, jobs, notify, schedule
from opsbook.settings import TZ
from test_schedule import Clock, at  # the scheduler tests' hand-moved clock

SECRET = "s3cret-DO-NOT-LEAK"
PHONE = "13812345678"
REPORTER_CODE = """
import pathlib
import opsbook.playbook
from opsbook import flags
run = opsbook.playbook.begin(pathlib.Path(NOTEBOOK), globals())
if run.p.fail:
    raise RuntimeError("探针失败")
run.metrics.update({"gmv": 1234.5, "conversion": 0.035, "buyers": 22.0})
run.add([flags.make("low_a", "low", "数据分析", "低级提示一"), flags.make("mid_a", "medium", "运营", "中级提示一"),
         flags.make("high_a", "high", "仓储", "高级提示一"), flags.make("low_b", "low", "数据分析", "低级提示二"),
         flags.make("mid_b", "medium", "运营", "中级提示二"), flags.make("high_b", "high", "采购", "高级提示二")])
run.finish()
"""


def reporter(folder: Path) -> str:
    """A tiny playbook with headline metrics and six flags (two of each severity), or a failure on demand."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "reporter.ipynb"
    nb.cells = [nbformat.v4.new_markdown_cell("# 探针报告 (reporter)\n测试用剧本。\n\n- **适用角色**：运营"),
                nbformat.v4.new_code_cell("from opsbook.spec import DataSource, date"),
                nbformat.v4.new_code_cell('day: date = "2026-11-01"  # 日期\nsource: DataSource = "data/sample"  # 数据源\n'
                                          'fail: bool = False  # 失败一次', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(REPORTER_CODE.replace("NOTEBOOK", repr(str(path))))]
    nbformat.write(nb, path)
    return str(path)


class Hook:
    """A webhook server on 127.0.0.1 recording each request; answers `status` (DingTalk/WeCom and Feishu codes)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                parts = urlsplit(self.path)
                hook.requests.append({"path": parts.path, "query": dict(parse_qsl(parts.query)), "raw": raw,
                                      "json": json.loads(raw)})
                ok = hook.status < 400
                body = json.dumps({"errcode": 0 if ok else -1, "code": 0 if ok else 9499,
                                   "errmsg": "ok" if ok else "service unavailable"}).encode()
                self.send_response(hook.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def by_path(self, prefix: str) -> list[dict]:
        return [r for r in self.requests if r["path"].startswith(prefix)]


@pytest.fixture
def hook(monkeypatch):
    """The local webhook server, with DingTalk and Feishu (signed) and WeCom robots pointing at it."""
    server = Hook()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("OPSBOOK_BASE_URL", raising=False)
    monkeypatch.setenv("OPSBOOK_DINGTALK_WEBHOOK", server.url("/robot/send?access_token=tok"))
    monkeypatch.setenv("OPSBOOK_DINGTALK_SECRET", SECRET)
    monkeypatch.setenv("OPSBOOK_FEISHU_WEBHOOK", server.url("/open-apis/bot/v2/hook/tok"))
    monkeypatch.setenv("OPSBOOK_FEISHU_SECRET", SECRET)
    monkeypatch.setenv("OPSBOOK_WECOM_WEBHOOK", server.url("/cgi-bin/webhook/send?key=tok"))
    yield server
    server.server.shutdown()
    server.server.server_close()


class Inbox:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(monkeypatch):
    """A local SMTP server (no TLS) that the email channel is configured to use; yields its inbox."""
    inbox = Inbox()
    for attempt in range(5):  # a port free a moment ago may be taken by the time the server binds it
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
        try:
            controller.start()
            break
        except Exception:  # noqa: BLE001 - aiosmtpd reports a taken port in several ways
            if attempt == 4:
                raise
    for key, value in {"HOST": "127.0.0.1", "PORT": str(controller.port), "TLS": "none",
                       "FROM": "opsbook@example.com"}.items():
        monkeypatch.setenv(f"OPSBOOK_SMTP_{key}", value)
    yield inbox
    controller.stop()


def dingtalk_sign(timestamp: str, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()).decode()


def feishu_sign(timestamp: str, secret: str) -> str:
    return base64.b64encode(hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()


def run_scheduled(job: jobs.Job, state: schedule.State, clock: Clock) -> schedule.Scheduler:
    """Register the job before its 08:00 slot, then run that slot (its cards are sent before this returns)."""
    first = clock.now
    clock.now = first.replace(hour=7)
    schedule.Scheduler([job], state=state, clock=clock, echo=print).tick()
    clock.now = first
    s = schedule.Scheduler([job], state=state, clock=clock, echo=print)
    s.run_once()
    return s


def queued(state: schedule.State) -> list[dict]:
    return [dict(r) | {"kind": alerts.kind_of(r["event"])}
            for r in state.rows("SELECT target, ok, tries, gave_up, next_try, error, event FROM alerts ORDER BY id")]


# --- a scheduled run's card on the chat channels -----------------------------------------------------------

def test_a_good_scheduled_run_delivers_signed_cards_to_dingtalk_feishu_and_wecom(tmp_path, hook):
    state = schedule.State(tmp_path / "state.sqlite")
    job = jobs.Job("daily_card", reporter(tmp_path), {"day": "@yesterday"}, "0 8 * * *",
                   deliver=("dingtalk", "feishu", "wecom"), retries=0)
    run_scheduled(job, state, Clock(at(2, 8)))
    (record,) = [r for r in records.store().index() if r.job == "daily_card"]
    assert record.ok and record.report.is_file()
    assert [(q["target"], q["ok"], q["kind"]) for q in queued(state)] == [
        ("dingtalk", 1, "report"), ("feishu", 1, "report"), ("wecom", 1, "report")]

    (ding,) = hook.by_path("/robot/send")
    assert ding["query"]["sign"] == dingtalk_sign(ding["query"]["timestamp"], SECRET)
    assert ding["json"]["msgtype"] == "markdown"
    title, text = ding["json"]["markdown"]["title"], ding["json"]["markdown"]["text"]
    assert title == "opsbook 报告：探针报告（daily_card）"
    (feishu,) = hook.by_path("/open-apis/bot/v2/hook/")
    assert feishu["json"]["sign"] == feishu_sign(feishu["json"]["timestamp"], SECRET)
    card = feishu["json"]["card"]
    assert card["header"] == {"title": {"tag": "plain_text", "content": title}, "template": "blue"}
    (wecom,) = hook.by_path("/cgi-bin/webhook/send")
    assert wecom["json"]["msgtype"] == "markdown" and wecom["json"]["markdown"]["content"].startswith(f"### {title}\n")

    body = card["elements"][0]["content"]
    assert text == f"### {title}\n\n{body}" and wecom["json"]["markdown"]["content"] == f"### {title}\n{body}"
    lines = body.splitlines()
    assert lines[:3] == ["- 任务：daily_card（reporter）", "- 店铺 / 数据源：data/sample", "- 周期：日期 2026-11-01"]
    assert f"- 运行编号：{record.run_id}" in lines
    metrics = lines[lines.index("**核心指标**") + 1:lines.index("**核心指标**") + 4]
    assert metrics == ["- 成交金额：¥1,234.50", "- 支付转化率：3.5%", "- 支付买家数：22"]
    assert "**提示**：高 2、中 2、低 2" in lines
    top = lines[lines.index("**重点提示（前 5 条，按级别）**") + 1:]
    assert top[:6] == ["1. 【高｜仓储】高级提示一", "2. 【高｜采购】高级提示二", "3. 【中｜运营】中级提示一",
                       "4. 【中｜运营】中级提示二", "5. 【低｜数据分析】低级提示一", "另有 1 条，见报告"]
    assert lines[-1] == f"报告在运行 opsbook 的服务器上：{record.report}"  # no base URL: never a broken link


def test_the_card_links_the_report_on_the_forms_server_when_a_base_url_is_set(tmp_path, hook, monkeypatch):
    from opsbook.ui import serve
    monkeypatch.setenv("OPSBOOK_BASE_URL", "https://ops.example.com/")
    state = schedule.State(tmp_path / "state.sqlite")
    job = jobs.Job("linked_card", reporter(tmp_path), {}, "0 8 * * *", deliver=("wecom",))
    run_scheduled(job, state, Clock(at(2, 8)))
    (record,) = [r for r in records.store().index() if r.job == "linked_card"]
    monkeypatch.setenv("OPSBOOK_BASE_URL", "https://ops.example.com/opsbook/runs")  # the forms server's downloads
    event = notify.Event(**deliver.card(job.name, job.notebook, record))
    route = "https://ops.example.com" + serve.download_url("reporter", record.run_id, "report.html")
    assert event.link == route and f"[查看报告]({route})" in notify.message(event)[1]
    (sent,) = hook.requests
    content = sent["json"]["markdown"]["content"]
    assert f"[查看报告](https://ops.example.com/reporter/{record.run_id}/report.html)" in content
    assert "服务器上" not in content and str(record.report) not in content


def test_a_failed_run_sends_no_card(tmp_path, hook):
    state = schedule.State(tmp_path / "state.sqlite")
    job = jobs.Job("failing_card", reporter(tmp_path), {"fail": True}, "0 8 * * *", deliver=("wecom",),
                   notify=("dingtalk",), retries=0)
    assert run_scheduled(job, state, Clock(at(2, 8))).outcomes[0].state == "failed"
    assert [(q["target"], q["kind"]) for q in queued(state)] == [("dingtalk", "alert")]  # the failure alert only
    assert hook.by_path("/cgi-bin/webhook/send") == [] and len(hook.by_path("/robot/send")) == 1


def test_a_webhook_returning_500_is_retried_with_backoff_and_listed_as_undelivered(tmp_path, hook, capsys):
    from opsbook.ui import cli
    hook.status = 500
    state = schedule.State()  # the project's own state: what `opsbook runs` and the history page read
    clock = Clock(at(3, 8))
    job = jobs.Job("outage_card", reporter(tmp_path), {}, "0 8 * * *", deliver=("wecom",))
    assert run_scheduled(job, state, clock).outcomes[0].state == "ok"  # the run is good although its card is not
    (card,) = queued(state)
    assert (card["ok"], card["tries"], card["gave_up"]) == (0, 1, 0) and "HTTP 500" in card["error"]
    assert dt.datetime.fromisoformat(card["next_try"]) == at(3, 8) + dt.timedelta(seconds=30)
    for seconds, tries in ((20, 1), (31, 2), (60, 2), (95, 3)):  # each is a new scheduler (a restart)
        clock.now = at(3, 8) + dt.timedelta(seconds=seconds)
        schedule.Scheduler([job], state=state, clock=clock, echo=print).outbox.drain(10)
        assert queued(state)[0]["tries"] == tries, seconds
    assert cli.main(["runs"]) == 0
    out = capsys.readouterr().out
    assert "报告未送达（1 条" in out and "告警" not in out.split("报告未送达")[1] and "outage_card" in out
    page = history.write_page().read_text(encoding="utf-8")
    assert "报告未送达（1 条）" in page and "这些报告没有发到群或邮箱" in page and "HTTP 500" in page
    hook.status = 200
    clock.now += dt.timedelta(minutes=5)
    schedule.Scheduler([job], state=state, clock=clock, echo=print).outbox.drain(10)
    assert [(q["ok"], q["tries"], q["error"]) for q in queued(state)] == [(1, 4, None)]
    assert len(hook.requests) == 4 and len({r["raw"] for r in hook.requests}) == 1  # the same card each time
    assert alerts.undelivered(state) == []


def test_undelivered_alerts_and_cards_are_named_together():
    assert alerts.undelivered_title([{"kind": "alert"}]) == "告警未送达"
    assert alerts.undelivered_title([{"kind": "report"}]) == "报告未送达"
    assert alerts.undelivered_title([{"kind": "report"}, {"kind": "alert"}]) == "告警与报告未送达"


# --- the card's content, masking and email ---------------------------------------------------------------

def kpi_record(tmp_path, message: str = "重要客户 13812345678 投诉未处理", report_bytes: bytes = b"") -> RunRecord:
    """A filed-looking kpi_report run (not in the store: its flag holds an unmasked phone)."""
    folder = tmp_path / "kpi_report" / "20261102-080031-ab12cd"
    folder.mkdir(parents=True)
    (folder / "report.html").write_bytes(report_bytes or "<html><body>核心数据日报</body></html>".encode())
    flags = [Flag("refund_high", "medium", "客服", "退款率 9.1% 高于 8%", 12),
             Flag("vip_complaint", "high", "客服", message, 1)]
    return RunRecord("20261102-080031-ab12cd", "kpi_report", "ok", 0, folder, trigger="schedule", job="kpi_daily",
                     params={"source": "data/sample", "period": "日", "report_date": "2026-11-01", "history": 14,
                             "platform": "全部"}, started="2026-11-02T08:00:31+08:00", seconds={"total": 75.4},
                     metrics={"gmv": 3138.62, "buyers": 22.0, "conversion": 0.029, "aov": 142.66, "refund": 0.0,
                              "refund_rate": 0.0, "repurchase_rate": 0.0909, "internal_note": "x"}, flags=flags)


def test_the_card_of_a_playbook_shows_its_labelled_metrics_and_masks_phones(tmp_path):
    event = notify.Event(**deliver.card("kpi_daily", "kpi_report", kpi_record(tmp_path)))
    title, body = notify.message(event)
    assert title == "opsbook 报告：核心数据日报 / 周报 / 月报（kpi_daily）"
    assert body.splitlines()[:5] == ["- 任务：kpi_daily（kpi_report）", "- 店铺 / 数据源：data/sample（平台 全部）",
                                     "- 周期：报告周期 日，报告日期 2026-11-01", "- 运行：2026-11-02 08:00:31（耗时 1 分 15 秒）",
                                     "- 运行编号：20261102-080031-ab12cd"]
    assert ("- 成交金额：¥3,138.62\n- 支付买家数：22\n- 支付转化率：2.9%\n- 客单价：¥142.66\n- 退款金额：¥0.00\n"
            "- 退款率：0.0%\n- 复购率：9.1%\n") in body
    assert "internal_note" not in body  # only the metrics the playbook labels (sops.kpi_report.METRICS)
    assert "1. 【高｜客服】重要客户 138****5678 投诉未处理（涉及 1 行）\n2. 【中｜客服】退款率 9.1% 高于 8%（涉及 12 行）" in body
    assert "**提示**：高 1、中 1、低 0" in body and "另有" not in body
    assert PHONE not in title + body


def test_cards_on_every_channel_never_carry_an_unmasked_phone(tmp_path, hook, smtp):
    event = notify.Event(**deliver.card("kpi_daily", "kpi_report", kpi_record(tmp_path, f"回访 {PHONE} 与 +86 139-1234-5678")))
    targets = ["dingtalk", "feishu", "wecom", "email:ops@example.com"]
    assert [d.ok for d in notify.send(targets, event, attempts=1)] == [True] * 4
    sent = b"".join(r["raw"] for r in hook.requests).decode("unicode_escape") + smtp.messages[0].as_string()
    assert PHONE not in sent and "13912345678" not in sent and "139-1234-5678" not in sent
    assert "138****5678" in sent


def test_email_carries_the_report_attached_with_a_chinese_body(tmp_path, smtp):
    record = kpi_record(tmp_path)
    event = notify.Event(**deliver.card("kpi_daily", "kpi_report", record))
    assert notify.send(["email:ops@example.com"], event, attempts=1)[0].ok
    (msg,) = smtp.messages
    assert msg["Subject"] == "opsbook 报告：核心数据日报 / 周报 / 月报（kpi_daily）" and msg["To"] == "ops@example.com"
    plain = msg.get_body(preferencelist=("plain",)).get_content()
    assert "**核心指标**" in plain and "成交金额：¥3,138.62" in plain and "重要客户 138****5678 投诉未处理" in plain
    assert f"报告在运行 opsbook 的服务器上：{record.report}" in plain
    page = msg.get_body(preferencelist=("html",)).get_content()
    assert "<b>核心指标</b>" in page
    (attached,) = list(msg.iter_attachments())
    assert attached.get_filename() == "report.html" and attached.get_content_type() == "text/html"
    assert attached.get_payload(decode=True) == record.report.read_bytes() and attached.get_content_charset() == "utf-8"


def test_a_report_too_big_for_email_is_not_attached_and_the_mail_says_so(tmp_path, smtp, monkeypatch):
    monkeypatch.setenv(notify.ATTACHMENT_ENV, "0.01")  # 10 KB
    record = kpi_record(tmp_path, report_bytes=b"<html>" + b"x" * 20_000 + b"</html>")
    assert notify.send(["email:ops@example.com"], notify.Event(**deliver.card("kpi_daily", "kpi_report", record)),
                       attempts=1)[0].ok
    (msg,) = smtp.messages
    assert list(msg.iter_attachments()) == []
    assert "报告 report.html 有 0.0 MB，超过邮件附件上限 0.01 MB，未随邮件附上" in msg.get_body(("plain",)).get_content()


def test_a_wrong_attachment_limit_is_a_chinese_delivery_error(tmp_path, smtp, monkeypatch):
    monkeypatch.setenv(notify.ATTACHMENT_ENV, "ten")
    event = notify.Event(**deliver.card("kpi_daily", "kpi_report", kpi_record(tmp_path)))
    (delivery,) = notify.send(["email:ops@example.com"], event, attempts=1)
    assert not delivery.ok and f"{notify.ATTACHMENT_ENV} 应为邮件附件的上限" in delivery.error and smtp.messages == []


def test_an_alert_card_is_unchanged_by_delivery(tmp_path):
    event = notify.Event("kpi_daily", "kpi_report", "failed", "r1", "2026-11-02T08:00:31+08:00", error="出错了")
    title, body = notify.message(event)
    assert title == "opsbook：kpi_daily 运行失败" and "核心指标" not in body


# --- `opsbook jobs run` and `opsbook jobs check` ------------------------------------------------------------

def project(tmp_path, job_text: str) -> Path:
    """A project home with the reporter playbook and one job file."""
    home = tmp_path / "home"
    (home / "playbooks").mkdir(parents=True)
    (home / "params").mkdir()
    reporter(home / "playbooks")
    (home / "params" / "card.yaml").write_text(textwrap.dedent(job_text), encoding="utf-8")
    return home


def opsbook(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOOK_BASE")}
    return subprocess.run([sys.executable, "-m", "opsbook.ui.cli", *args], capture_output=True, text=True,
                          env=env | {"OPSBOOK_HOME": str(home)}, timeout=300)


def test_jobs_run_delivers_the_card_of_each_good_run(tmp_path, hook):
    home = project(tmp_path, """
        playbook: reporter
        deliver: [wecom]
        parameters:
          day: "@yesterday"
    """)
    out = opsbook(home, "jobs", "run")
    assert out.returncode == 0, out.stderr
    assert "报告已送达：wecom" in out.stdout
    (sent,) = hook.requests
    content = sent["json"]["markdown"]["content"]
    yesterday = (dt.datetime.now(TZ).date() - dt.timedelta(days=1)).isoformat()
    assert "opsbook 报告：探针报告（card）" in content and f"周期：日期 {yesterday}" in content
    state = schedule.State(Path(os.environ["OPSBOOK_RUNS"]) / schedule.STATE_FILE)
    assert [(q["target"], q["ok"], q["kind"]) for q in queued(state)] == [("wecom", 1, "report")]


def test_jobs_run_says_an_undelivered_card_is_retried(tmp_path, hook):
    hook.status = 500
    home = project(tmp_path, "playbook: reporter\ndeliver: [wecom]\n")
    out = opsbook(home, "jobs", "run")
    assert out.returncode == 0  # the run is good: a card not delivered never fails it
    assert "报告未送达：wecom（" in out.stderr and "HTTP 500" in out.stderr and "调度器会继续重试" in out.stderr
    (card,) = queued(schedule.State(Path(os.environ["OPSBOOK_RUNS"]) / schedule.STATE_FILE))
    assert (card["ok"], card["tries"], card["gave_up"]) == (0, 1, 0)


def test_jobs_check_refuses_bad_deliver_values_in_chinese(tmp_path):
    home = project(tmp_path, """
        playbook: reporter
        deliver: [slack, "email:not-an-address", "dingtalk:ops-team", 7]
    """)
    (home / "params" / "single.yaml").write_text("playbook: reporter\ndeliver: wecom\n", encoding="utf-8")
    out = opsbook(home, "jobs", "check")
    assert out.returncode == 2
    text = out.stdout + out.stderr
    assert "single.yaml：deliver（报告送达）应为列表" in text
    assert "card.yaml：deliver（报告送达）应为列表" in text  # 7 is not a target
    (home / "params" / "card.yaml").write_text('playbook: reporter\ndeliver: [slack, "email:not-an-address", '
                                               '"dingtalk:ops-team"]\n', encoding="utf-8")
    (home / "params" / "single.yaml").unlink()
    out = opsbook(home, "jobs", "check")
    text = out.stdout + out.stderr
    assert out.returncode == 2
    assert "card.yaml：deliver（报告送达）：未知的通知渠道「slack」" in text
    assert "「email:not-an-address」的邮箱地址格式不对" in text and "「dingtalk:ops-team」的机器人名称" in text


def test_jobs_check_warns_about_unset_delivery_secrets_and_loads_a_good_list(tmp_path):
    home = project(tmp_path, 'playbook: reporter\ndeliver: [feishu:sales, "email:boss@example.com"]\n')
    env_free = {k: v for k, v in os.environ.items() if not k.startswith(("OPSBOOK_FEISHU", "OPSBOOK_SMTP"))}
    out = subprocess.run([sys.executable, "-m", "opsbook.ui.cli", "jobs", "check"], capture_output=True, text=True,
                         env=env_free | {"OPSBOOK_HOME": str(home)}, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "报告送达未配置（card）：「feishu:sales」未配置 OPSBOOK_FEISHU_WEBHOOK_SALES" in out.stderr
    assert "OPSBOOK_SMTP_HOST" in out.stderr
    (tmp_path / "kpi.yaml").write_text('playbook: kpi_report\ndeliver: [wecom, "email:boss@example.com"]\n',
                                      encoding="utf-8")
    assert jobs.load(tmp_path / "kpi.yaml").deliver == ("wecom", "email:boss@example.com")


def test_every_playbook_labels_its_headline_metrics_in_chinese_with_known_formats():
    from opsbook import report, sops, spec
    for name in spec.available():
        declared = sops.metric_labels(name)
        assert declared, f"sops/{name}.py declares no METRICS"
        for metric, label in declared.items():
            label, kind = label if isinstance(label, tuple) else (label, None)
            assert any("\u4e00" <= ch <= "\u9fff" for ch in label), (name, metric, label)
            assert kind is None or kind in report.FORMATS, (name, metric, kind)


@pytest.mark.parametrize("name, value, kind, text", [
    ("gmv", 1234.5, None, "¥1,234.50"), ("refund_rate", 0.0611, None, "6.1%"), ("buyers", 22.0, None, "22"),
    ("overall_roi", 7.078, None, "7.08"), ("wape_model", 0.398, "pct", "39.8%"), ("oversell", None, None, "—"),
    ("tiers", {"核心": 4, "备选": 5}, None, "核心 4、备选 5"), ("day", "2026-06-30", None, "2026-06-30"),
    ("ok", True, None, "是"),
])
def test_metric_values_read_as_staff_read_them(name, value, kind, text):
    assert deliver.value_text(name, value, kind) == text
