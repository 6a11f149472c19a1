"""Notifiers: a short Chinese card about a scheduled run, sent to DingTalk, Feishu, WeCom or email.

Two kinds of card: an alert (a run failed, or raised new high-severity flags; targets from a job's `notify:`) and
a report (a good run delivered to the group: headline metrics, flag counts, top flags and the report's link;
targets from `deliver:`, email with `report.html` attached). Targets are `dingtalk`, `feishu:warehouse`, `wecom`,
`email:ops@example.com`; secrets come only from the environment or the untracked `.env` at the project root (real
env vars win). Feishu gets an interactive card (coloured header + one `markdown` element); DingTalk and WeCom get
markdown. `send` never raises: a failing notifier must never fail a run.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import html
import logging
import os
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .. import paths
from ..settings import RunStatus, Severity

CHANNELS = ("dingtalk", "feishu", "wecom", "email")
TOP_FLAGS = 5
WECOM_LIMIT = 4096  # bytes of markdown.content (errcode 40058 above it)
NAME = re.compile(r"[A-Za-z0-9_]+")
EMAIL = re.compile(r"[^@\s:,;<>\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
SECRET_VARS = re.compile(r"OPSBOOK_\w*(WEBHOOK|SECRET|PASSWORD)\w*")
ALERT, REPORT = "alert", "report"  # the kinds of card
ATTACHMENT_ENV = "OPSBOOK_SMTP_MAX_ATTACHMENT_MB"  # largest report.html attached to an email (default 10 MB)
DEFAULT_ATTACHMENT_MB = 10.0

log = logging.getLogger("opsbook.notify")


@dataclass
class Event:
    """What happened in one scheduled run, as the scheduler reports it."""

    job: str
    playbook: str
    status: str
    run_id: str
    started: str
    seconds: float | None = None
    error: str | None = None
    flags: list[dict] = field(default_factory=list)
    flag_counts: dict = field(default_factory=dict)
    link: str = ""
    attempt: int = 1
    kind: str = ALERT  # ALERT, or REPORT: a good run's report delivered to the group (the fields below)
    title: str = ""  # the playbook's Chinese title
    shop: str = ""  # the shop or data source the run read (and its platform)
    period: str = ""  # the period the report covers, in words
    metrics: list = field(default_factory=list)  # headline metrics as [Chinese label, formatted value]
    report_file: str = ""  # report.html on the server: attached to email, and said where it is without a base URL
    task: dict = field(default_factory=dict)  # an overdue follow-up task (`tasks.overdue_event`), not a run


@dataclass
class Delivery:
    """Outcome of notifying one target; `error` is Chinese and free of secrets."""

    target: str
    ok: bool
    attempts: int
    error: str | None = None


class NotifyError(Exception):
    """A delivery failure whose message is already safe to log and show."""


# --- targets and secrets --------------------------------------------------------------------------

def _parse(target: str) -> tuple[str, str]:
    """(channel, name or address) of a target."""
    channel, _, name = target.partition(":")
    return channel.strip().lower(), name.strip()


def _as_list(targets) -> list:
    """A notify list as a list (a lone string is one target, None is none)."""
    if targets is None or isinstance(targets, str):
        return [targets] if targets else []
    return list(targets) if hasattr(targets, "__iter__") else [targets]


def problems(targets) -> list[str]:
    """Chinese problems with a job's notify list (unknown channel, malformed name/address); [] if fine."""
    found = []
    for target in _as_list(targets):
        if not isinstance(target, str):
            found.append(f"通知目标应为文字，而不是 {target!r}")
            continue
        channel, name = _parse(target)
        if channel not in CHANNELS:
            found.append(f"未知的通知渠道「{target}」，可选：{'、'.join(CHANNELS)}")
        elif channel == "email" and not EMAIL.fullmatch(name):
            found.append(f"「{target}」的邮箱地址格式不对，应写成 email:ops@example.com")
        elif channel != "email" and ":" in target and not NAME.fullmatch(name):
            found.append(f"「{target}」的机器人名称只能包含字母、数字和下划线，如 {channel}:warehouse")
    return found


def _var(channel: str, kind: str, name: str = "") -> str:
    """Env var holding `kind` (WEBHOOK, SECRET) of a webhook channel, e.g. OPSBOOK_FEISHU_WEBHOOK_WAREHOUSE."""
    return f"OPSBOOK_{channel.upper()}_{kind}" + (f"_{name.upper()}" if name else "")


def _unset(channel: str, name: str, values: dict) -> list[str]:
    """Required env vars of one valid target that have no value."""
    if channel != "email":
        return [v for v in [_var(channel, "WEBHOOK", name)] if not values.get(v)]
    missing = [] if values.get("OPSBOOK_SMTP_HOST") else ["OPSBOOK_SMTP_HOST"]
    if not (values.get("OPSBOOK_SMTP_FROM") or values.get("OPSBOOK_SMTP_USER")):
        missing.append("OPSBOOK_SMTP_FROM")
    if values.get("OPSBOOK_SMTP_USER") and not values.get("OPSBOOK_SMTP_PASSWORD"):
        missing.append("OPSBOOK_SMTP_PASSWORD")
    return missing


def environment(env=None) -> dict:
    """`env` if given, else the project's `.env` overlaid by the real environment (real values win)."""
    if env is not None:
        return dict(env)
    from dotenv import dotenv_values
    dotenv = paths.root() / ".env"
    values = {k: v for k, v in dotenv_values(dotenv).items() if v is not None} if dotenv.is_file() else {}
    return values | dict(os.environ)


def missing_secrets(targets, env=None) -> list[str]:
    """Chinese list of env vars that are not set for these targets (for `opsbook jobs check` warnings)."""
    values, found = environment(env), []
    for target in _as_list(targets):
        if isinstance(target, str) and not problems([target]):
            found += [f"「{target}」未配置 {var}（请在环境变量或 .env 中设置）" for var in _unset(*_parse(target), values)]
    return list(dict.fromkeys(found))


# --- the card -------------------------------------------------------------------------------------

def _clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[:limit] + "…"


def _when(started: str) -> str:
    """An ISO time as 2025-06-18 08:00:05 (the raw text if it does not parse)."""
    try:
        return datetime.fromisoformat(started).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return str(started)


def _duration(seconds: float) -> str:
    """Seconds as 12.3 秒 or 3 分 5 秒."""
    if seconds < 60:
        return f"{seconds:.1f} 秒"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} 分 {rest} 秒"


def _plain(text: object, limit: int) -> str:
    """Data-derived text for the card: phones masked before cutting, markdown link brackets neutralised."""
    return _clip(_mask(str(text)), limit).replace("[", "［").replace("]", "］")


def _mask(text: str) -> str:
    """`text` with mobile numbers masked."""
    # imported here because privacy pulls in pandas; `problems()` must stay cheap for `jobs check`
    from ..data import privacy

    return privacy.mask_phone(text)


def message(event) -> tuple[str, str]:
    """(title, markdown body) of the short Chinese card about one run, phone numbers masked."""
    if getattr(event, "task", None):
        return _task_message(event)
    if getattr(event, "kind", ALERT) == REPORT:
        return report_message(event)
    status = RunStatus(event.status).label if event.status in set(RunStatus) else event.status
    highs = [f for f in event.flags if f.get("severity", "high") == "high"]
    title = f"opsbook：{event.job} 运行{status}" + (f"，新增 {len(highs)} 条高级别提示" if highs else "")
    retry = f"（第 {event.attempt} 次尝试）" if event.attempt > 1 else ""
    lines = [f"- 任务：{event.job}（{event.playbook}）", f"- 状态：**{status}**{retry}"]
    if event.started:
        lines.append(f"- 开始：{_when(event.started)}")
    if event.seconds is not None:
        lines.append(f"- 耗时：{_duration(event.seconds)}")
    if event.run_id:
        lines.append(f"- 运行编号：{event.run_id}")
    counts = "、".join(f"{Severity(s).label} {n}" for s, n in event.flag_counts.items() if s in set(Severity) and n)
    if counts:
        lines.append(f"- 提示数：{counts}")
    if event.error:
        lines += ["", f"**错误**：{_plain(event.error, 500)}"]
    if highs:
        lines += ["", f"**新增高级别提示（{len(highs)} 条）**"]
        for i, flag in enumerate(highs[:TOP_FLAGS], 1):
            rows = f"（涉及 {flag['rows']} 行）" if flag.get("rows") else ""
            lines.append(f"{i}. 【{flag.get('owner') or '未指定'}】{_plain(flag.get('message', ''), 120)}{rows}")
        if len(highs) > TOP_FLAGS:
            lines.append(f"另有 {len(highs) - TOP_FLAGS} 条，见报告")
    if event.link:
        web = event.link.startswith(("http://", "https://"))
        lines += ["", f"[查看报告]({event.link})" if web else f"报告：{event.link}"]
    return _mask(title), _mask("\n".join(lines))


def _task_message(event) -> tuple[str, str]:
    """(title, markdown body) of the card about an overdue follow-up task, phone numbers masked."""
    task = event.task
    again = f"（第 {task['reminder']} 次提醒）" if task.get("reminder", 1) > 1 else ""
    title = f"opsbook：跟进任务 #{task['id']} 已逾期{again}"
    severity = Severity(task["severity"]).label if task.get("severity") in set(Severity) else task.get("severity", "")
    lines = [f"- 问题：{_plain(task.get('title', ''), 200)}" + (f"（涉及 {task['rows']} 行）" if task.get("rows") else ""),
             f"- 任务：{event.job}（{event.playbook}）", f"- 级别：{severity}　负责角色：{task.get('owner') or '未指定'}",
             f"- 状态：**{task.get('status', '')}**" + (f"　处理人：{task['assignee']}" if task.get("assignee") else ""),
             f"- 开启：{_when(task.get('opened', ''))}", f"- 应完成：{_when(task.get('due', ''))}（{task.get('late', '已逾期')}）"]
    if event.run_id:
        lines.append(f"- 最近一次出现：运行 {event.run_id}")
    lines += ["", f"请在“我的待办”中更新进度，或用 opsbook tasks update {task['id']} 记录处理结果。"]
    if event.link:
        web = event.link.startswith(("http://", "https://"))
        lines += ["", f"[查看报告]({event.link})" if web else f"报告：{event.link}"]
    return _mask(title), _mask("\n".join(lines))


def _flag_line(number: int, flag: dict) -> str:
    """One top flag of a report card: severity, owner, message (phones masked) and how many rows it concerns."""
    severity = flag.get("severity", "")
    level = Severity(severity).label if severity in set(Severity) else severity
    rows = f"（涉及 {flag['rows']} 行）" if flag.get("rows") else ""
    return f"{number}. 【{level}｜{_plain(flag.get('owner') or '未指定', 20)}】{_plain(flag.get('message', ''), 120)}{rows}"


def report_message(event) -> tuple[str, str]:
    """(title, markdown body) of the card delivering a good run's report to the group, phone numbers masked."""
    title = f"opsbook 报告：{_plain(event.title or event.playbook, 60)}（{event.job}）"
    lines = [f"- 任务：{event.job}（{event.playbook}）"]
    if event.shop:
        lines.append(f"- 店铺 / 数据源：{_plain(event.shop, 120)}")
    if event.period:
        lines.append(f"- 周期：{_plain(event.period, 120)}")
    if event.started:
        took = f"（耗时 {_duration(event.seconds)}）" if event.seconds is not None else ""
        lines.append(f"- 运行：{_when(event.started)}{took}")
    if event.run_id:
        lines.append(f"- 运行编号：{event.run_id}")
    if event.metrics:
        lines += ["", "**核心指标**"] + [f"- {_plain(label, 40)}：{_plain(value, 120)}" for label, value in event.metrics]
    counts = "、".join(f"{Severity(s).label} {event.flag_counts.get(s, 0)}" for s in Severity)
    total = sum(event.flag_counts.get(s, 0) for s in Severity)
    lines += ["", f"**提示**：{counts}" if total else "**提示**：无"]
    if event.flags:
        lines += ["", f"**重点提示（前 {min(len(event.flags), TOP_FLAGS)} 条，按级别）**"]
        lines += [_flag_line(i, flag) for i, flag in enumerate(event.flags[:TOP_FLAGS], 1)]
        if total > min(len(event.flags), TOP_FLAGS):
            lines.append(f"另有 {total - min(len(event.flags), TOP_FLAGS)} 条，见报告")
    if event.link.startswith(("http://", "https://")):
        lines += ["", f"[查看报告]({event.link})"]
    elif event.report_file:
        lines += ["", f"报告在运行 opsbook 的服务器上：{event.report_file}"]
    return _mask(title), _mask("\n".join(lines))


def _html(title: str, body: str) -> str:
    """The card as a small HTML page for email."""
    out = [f"<h3>{html.escape(title)}</h3>"]
    for line in body.splitlines():
        text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(line))
        text = re.sub(r"\[(.+?)\]\((https?://\S+?)\)", r'<a href="\2">\1</a>', text)
        out.append(f"<p style=\"margin:4px 0\">{text}</p>" if text else "")
    return "<html><body>" + "\n".join(out) + "</body></html>"


def _fit_bytes(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes without splitting a character."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    note = "\n…（内容过长，已截断）"
    return data[:limit - len(note.encode("utf-8"))].decode("utf-8", "ignore") + note


# --- channels -------------------------------------------------------------------------------------

def _host(url: str) -> str:
    """Scheme and host of a URL: what errors may show of a webhook."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}" if parts.netloc else "webhook"


def _post(url: str, payload: dict, timeout: float, code_keys: tuple[str, ...]) -> None:
    """POST JSON; raise NotifyError unless HTTP succeeds and the first present code key is 0."""
    import requests

    host = _host(url)
    try:
        resp = requests.post(url, json=payload, timeout=timeout)
    except requests.Timeout:
        raise NotifyError(f"请求超时（{host}）") from None
    except requests.RequestException as exc:  # its text holds the full URL, token included
        raise NotifyError(f"无法连接 {host}（{type(exc).__name__}）") from None
    try:
        data = resp.json()
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    code = next((data[k] for k in code_keys if k in data), None)
    if resp.status_code >= 400 or code != 0:
        detail = data.get("errmsg") or data.get("msg") or data.get("StatusMessage") or ""
        raise NotifyError(f"{host} 返回 HTTP {resp.status_code}，错误码 {code}：{_clip(str(detail), 200)}")


def _dingtalk(name: str, title: str, body: str, values: dict, timeout: float) -> None:
    """DingTalk custom robot, markdown message; 加签 with a millisecond timestamp in the URL."""
    url, secret = values[_var("dingtalk", "WEBHOOK", name)], values.get(_var("dingtalk", "SECRET", name))
    if secret:
        timestamp = str(round(time.time() * 1000))
        digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
        sign = urllib.parse.quote_plus(base64.b64encode(digest))
        url += ("&" if "?" in url else "?") + f"timestamp={timestamp}&sign={sign}"
    payload = {"msgtype": "markdown", "markdown": {"title": title, "text": f"### {title}\n\n{body}"}}
    _post(url, payload, timeout, ("errcode",))


def _feishu(name: str, title: str, body: str, values: dict, timeout: float, template: str = "red") -> None:
    """Feishu/Lark custom bot, interactive card (header colour `template`); signed with a second timestamp."""
    url, secret = values[_var("feishu", "WEBHOOK", name)], values.get(_var("feishu", "SECRET", name))
    payload = {"msg_type": "interactive", "card": {
        "config": {"wide_screen_mode": True},
        "header": {"title": {"tag": "plain_text", "content": title}, "template": template},
        "elements": [{"tag": "markdown", "content": body}]}}
    if secret:
        timestamp = str(int(time.time()))
        digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
        payload |= {"timestamp": timestamp, "sign": base64.b64encode(digest).decode()}
    _post(url, payload, timeout, ("code", "StatusCode"))


def _wecom(name: str, title: str, body: str, values: dict, timeout: float) -> None:
    """WeCom group robot, markdown message kept under 4096 bytes."""
    content = _fit_bytes(f"### {title}\n{body}", WECOM_LIMIT)
    _post(values[_var("wecom", "WEBHOOK", name)], {"msgtype": "markdown", "markdown": {"content": content}},
          timeout, ("errcode",))


def _attachment(path: str, values: dict) -> tuple[bytes | None, str]:
    """The bytes of a report to attach (None if it cannot be) and a Chinese note for the mail when it is not."""
    text = (values.get(ATTACHMENT_ENV) or "").strip()
    try:
        limit = float(text) if text else DEFAULT_ATTACHMENT_MB
    except ValueError:
        limit = 0.0
    if not limit > 0:
        raise NotifyError(f"{ATTACHMENT_ENV} 应为邮件附件的上限（MB，大于 0），而不是「{text}」")
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > limit * 1024 * 1024:
            return None, (f"报告 report.html 有 {size / 1024 / 1024:.1f} MB，超过邮件附件上限 {limit:g} MB，"
                          "未随邮件附上：请用上面的链接或服务器上的位置查看。")
        return file.read_bytes(), ""
    except OSError:
        return None, f"报告文件 {path} 已无法读取，未随邮件附上。"


def _email(address: str, title: str, body: str, values: dict, timeout: float, attachment: str = "") -> None:
    """One multipart (plain + HTML) email over SMTP with starttls, ssl or no TLS; `attachment` (a report.html on
    disk) is attached when it is within the size limit, else the mail says why it is not."""
    import smtplib
    import ssl
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    tls = (values.get("OPSBOOK_SMTP_TLS") or "starttls").lower()
    if tls not in ("starttls", "ssl", "none"):
        raise NotifyError(f"OPSBOOK_SMTP_TLS 应为 starttls、ssl 或 none，而不是「{tls}」")
    host, user = values["OPSBOOK_SMTP_HOST"], values.get("OPSBOOK_SMTP_USER")
    port = int(values.get("OPSBOOK_SMTP_PORT") or {"starttls": 587, "ssl": 465, "none": 25}[tls])
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = title, values.get("OPSBOOK_SMTP_FROM") or user, address
    msg["Date"], msg["Message-ID"] = formatdate(localtime=True), make_msgid(domain="opsbook")
    report, note = _attachment(attachment, values) if attachment else (None, "")
    body = f"{body}\n\n{note}" if note else body
    msg.set_content(f"{title}\n\n{body}\n")
    msg.add_alternative(_html(title, body), subtype="html")
    if report is not None:
        msg.add_attachment(report, maintype="text", subtype="html", filename="report.html", params={"charset": "utf-8"})
    try:
        smtp = (smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context()) if tls == "ssl"
                else smtplib.SMTP(host, port, timeout=timeout))
        with smtp:
            if tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if user:
                smtp.login(user, values["OPSBOOK_SMTP_PASSWORD"])
            smtp.send_message(msg)
    except smtplib.SMTPResponseException as exc:
        raise NotifyError(f"SMTP 服务器 {host}:{port} 拒绝：{exc.smtp_code}（{type(exc).__name__}）") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise NotifyError(f"无法通过 SMTP 服务器 {host}:{port} 发送（{type(exc).__name__}）") from None


NOTIFIERS = {"dingtalk": _dingtalk, "feishu": _feishu, "wecom": _wecom, "email": _email}


# --- delivery -------------------------------------------------------------------------------------

def _scrub(text: str, values: dict) -> str:
    """`text` with every secret value (webhook URLs and tokens, sign secrets, passwords) replaced by ***."""
    for key, value in values.items():
        if value and SECRET_VARS.fullmatch(key):
            text = text.replace(value, "***")
            query = urllib.parse.urlsplit(value).query if "://" in value else ""
            text = text.replace(query, "***") if query else text
    return text


def _options(channel: str, event) -> dict:
    """What a channel adds to a report card: email attaches the report, Feishu's header is blue; nothing for alerts."""
    if getattr(event, "kind", ALERT) != REPORT:
        return {}
    return {"email": {"attachment": event.report_file}, "feishu": {"template": "blue"}}.get(channel, {})


def _deliver(target, title: str, body: str, values: dict, attempts: int, backoff: float, timeout: float,
             event=None) -> Delivery:
    """Notify one target, retrying with exponential backoff."""
    bad = problems([target])
    if bad:
        log.warning("notify target %r rejected: %s", target, bad[0])
        return Delivery(str(target), False, 0, bad[0])
    channel, name = _parse(target)
    unset = _unset(channel, name, values)
    if unset:
        log.warning("notify %s skipped: %s not set (environment or .env)", target, ", ".join(unset))
        return Delivery(target, False, 0, "未配置 " + "、".join(unset))
    attempts, error = max(1, int(attempts)), ""
    for attempt in range(1, attempts + 1):
        try:
            NOTIFIERS[channel](name, title, body, values, timeout, **_options(channel, event))
            return Delivery(target, True, attempt)
        except Exception as exc:  # noqa: BLE001 - a notifier must never fail the run
            text = str(exc) if isinstance(exc, NotifyError) else f"发送出错（{type(exc).__name__}）"
            error = _mask(_scrub(text, values))
            last = attempt == attempts
            log.log(logging.ERROR if last else logging.WARNING, "notify %s attempt %d/%d failed%s: %s",
                    target, attempt, attempts, "" if last else ", retrying", error)
            if not last:
                time.sleep(backoff * 2 ** (attempt - 1))
    return Delivery(target, False, attempts, error)


def send(targets, event, *, env=None, attempts=3, backoff=1.0, timeout=10.0) -> list[Delivery]:
    """Deliver the card about `event` to every target; never raises, failures are logged and retried."""
    targets = _as_list(targets)
    try:
        values = environment(env)
        title, body = message(event)
    except Exception as exc:  # noqa: BLE001
        log.error("notify: cannot prepare the message (%s)", type(exc).__name__)
        return [Delivery(str(t), False, 0, "无法生成通知内容") for t in targets]
    deliveries = []
    for target in targets:
        try:
            deliveries.append(_deliver(target, title, body, values, attempts, backoff, timeout, event))
        except Exception as exc:  # noqa: BLE001
            log.error("notify %s failed unexpectedly (%s)", target, type(exc).__name__)
            deliveries.append(Delivery(str(target), False, 0, "发送出错"))
    return deliveries
