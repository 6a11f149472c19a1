"""The `opsbook` command: list, run, jobs, sample, serve, users. Exit 0 ok, 1 playbook failed, 2 bad input."""
from __future__ import annotations

import argparse
import sys

from ..errors import OpsbookError, ParamError
from ..settings import TZ, Severity


def _parse_pairs(pairs: list[str]) -> dict:
    values, problems = {}, []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            problems.append(f"-p {pair!r} 的格式应为 名称=值，例如 -p as_of=2025-06-30")
        else:
            values[name.strip()] = value
    if problems:
        raise ParamError(problems)
    return values


def cmd_list(args) -> int:
    """Print every playbook with its Chinese title, roles and parameters."""
    from .. import paths, spec
    print(f"项目目录：{paths.root()}（剧本在 playbooks/，任务在 params/；用环境变量 OPSBOOK_HOME 可指定）\n")
    for name in spec.available():
        s = spec.load(name)
        print(f"{name} — {s.title}（{'、'.join(s.roles)}）\n  {s.purpose}")
        for p in s.params.values():
            print(f"    {p.describe()}")
        print()
    return 0


def _progress(done: int, total: int) -> None:
    """Show cell progress on an interactive terminal (stderr)."""
    print(f"\r运行中… 第 {done}/{total} 步", end="\n" if done == total else "", file=sys.stderr, flush=True)


def _progress_or_none():
    return _progress if sys.stderr.isatty() else None


def _run(playbook: str, params: dict, **options):
    """One run through the runner, with the history page kept current and the audit log told; prints the outcome,
    returns the record. Who runs it is `options["user"]`, else the operating-system user (`命令行 …`)."""
    from ..engine import runner
    from ..ops import audit, history
    history.follow()
    audit.follow()
    options.setdefault("user", audit.cli_user())
    record = runner.run(playbook, params, on_progress=_progress_or_none(), **options)
    _print_result(record)
    return record


def _print_result(record) -> None:
    status = "完成" if record.ok else record.status.label
    summary = "，".join(f"{Severity(s).label} {n}" for s, n in record.flag_counts.items() if n) or "无"
    print(f"{record.playbook} {status}（{record.seconds.get('total', 0):.1f} 秒）  提示：{summary}")
    print(f"  报告：{record.report}")
    if record.error:
        print(f"  错误：{record.error}", file=sys.stderr)


def cmd_run(args) -> int:
    """Run one playbook through the runner."""
    from .. import spec
    from ..ops import jobs
    name = spec.playbook_name(args.playbook)  # a name, never a path
    params = jobs.parameters_from_file(args.params_file) if args.params_file else {}
    params.update(_parse_pairs(args.param))
    return _run(name, params, out=args.out, timeout=args.timeout).exit_code


def cmd_jobs(args) -> int:
    """List jobs, check them, or run them all once."""
    import datetime as dt
    from ..ops import audit, jobs, notify
    if args.action == "check":
        found = jobs.all_jobs()  # every problem of every file, exit 2
    else:
        found, bad = jobs.load_all()  # one bad file never stops the others: listed and run, the bad ones reported
        for problem in bad:
            print(f"任务文件有误，已跳过：{problem}", file=sys.stderr)
    now = dt.datetime.now(TZ)
    if args.action == "check":
        print(f"{len(found)} 个任务均有效")
        for job in found:
            for line in notify.missing_secrets(job.notify):
                print(f"提醒未配置（{job.name}）：{line}", file=sys.stderr)
            for line in notify.missing_secrets(job.deliver):
                print(f"报告送达未配置（{job.name}）：{line}", file=sys.stderr)
        return 0
    if args.action == "run":
        worst = 0
        today = now.date()
        for job in found:
            if args.names and job.name not in args.names:
                continue
            record = _run(job.playbook, job.parameters_on(today), timeout=job.timeout, trigger="job", job=job.name,
                          user=audit.job_user(job.name))
            _open_follow_ups(job, record)
            worst = max(worst, record.exit_code)
            _deliver_report(job, record)
        return max(worst, 2 if bad else 0)
    from ..ops import schedule
    last = {}
    for row in schedule.state_rows():  # newest first: slots that made no run (skipped, bad parameters) show here too
        last.setdefault(row["job"], row)
    for job in found:
        nxt = job.next_slot(now)
        when = f"{job.schedule}（北京时间），下次 {nxt:%Y-%m-%d %H:%M}" if nxt else "手动"
        print(f"{job.name}: {job.playbook}  {job.description}\n  计划 {when}  重试 {job.retries} 次  "
              f"错过时 {jobs.CATCH_UP[job.catch_up]}  提醒 {', '.join(job.notify) or '无'}"
              + (f"  报告送达 {', '.join(job.deliver)}" if job.deliver else "") + f"\n  参数 {job.parameters}")
        if job.name in last:
            row = last[job.name]
            print(f"  上次 {row['slot'][:16].replace('T', ' ')} {schedule.state_label(row['state'])}"
                  + (f"：{row['error'].splitlines()[0]}" if row["error"] else ""))
    return 2 if bad else 0


def _open_follow_ups(job, record) -> None:
    """Open or link the follow-up tasks of a job's run (`opsbook jobs run`), as the scheduler does for its runs."""
    from ..ops import history, tasks
    opened = tasks.record_run(job, record, history.report_link(record) if record.ok else "")
    if opened:
        print(f"  跟进任务：{'、'.join(f'#{i}' for i in opened)}（opsbook tasks 查看）")


def _deliver_report(job, record) -> None:
    """Send a good run's report card to the job's `deliver:` targets and say what became of each."""
    from ..ops import deliver
    for row in deliver.after_run(job, record):
        if row["ok"]:
            print(f"  报告已送达：{row['target']}")
        else:
            print(f"  报告未送达：{row['target']}（{row['error'] or '发送中'}），调度器会继续重试，"
                  "见 opsbook runs", file=sys.stderr)


def cmd_schedule(args) -> int:
    """Run the scheduler, or one pass of it with --once."""
    from ..ops import schedule
    return schedule.main(once=args.once, workers=args.workers, names=args.names)


def _runs_table(found: list) -> None:
    print(f"{'运行编号':<24}{'开始时间':<18}{'任务/剧本':<34}{'运行人':<14}{'状态':<6}{'耗时':>8}  提示 高/中/低")
    for e in found:
        r, counts = e.record, e.record.flag_counts
        what = f"{r.job or '手动'}/{r.playbook}"
        print(f"{r.run_id:<24}{r.started[:16].replace('T', ' '):<18}{what:<34}{r.user or '—':<14}"
              f"{r.status.label:<6}{r.seconds.get('total', 0):>7.1f}s  "
              f"{counts.get('high', 0)}/{counts.get('medium', 0)}/{counts.get('low', 0)}"
              + (f"  新增 {len(e.new)}" if e.new else "") + (f"  消除 {len(e.resolved)}" if e.resolved else ""))


def cmd_runs(args) -> int:
    """List runs (filtered) or show one."""
    import datetime as dt
    from ..engine import records
    from ..ops import history
    if args.action == "prune":
        return _runs_prune(args)
    if args.action == "show":
        if not args.run_id:
            raise ParamError("请给出运行编号：opsbook runs show <运行编号>")
        entry = history.find(args.run_id)
        r = records.store().load(entry.record)
        print(f"{r.run_id}  {r.playbook}  {r.status.label}  任务 {r.job or '手动'}  触发 {r.trigger}  第 {r.attempt} 次"
              f"  运行人 {r.user or '—'}")
        print(f"  开始 {r.started}  结束 {r.finished}  耗时 {r.seconds.get('total', 0):.1f} 秒")
        print(f"  参数 {r.params}")
        if r.error:
            print(f"  错误：{r.error}")
        for f in r.flags:
            mark = "（新增）" if f.code in entry.new else ""
            print(f"  [{f.severity.label}]{mark} {f.message}（{f.owner}，{f.rows} 行）")
        for code in entry.resolved:
            print(f"  已消除：{code}")
        print(f"  报告：{r.report}")
        return 0
    try:
        since = dt.date.fromisoformat(args.since) if args.since else None
        until = dt.date.fromisoformat(args.until) if args.until else None
    except ValueError:
        raise ParamError("--since/--until 应为日期，如 2026-06-01") from None
    found = history.select(history.entries(), args.job, args.playbook, args.status, since, until)[: args.limit]
    if found:
        _runs_table(found)
    else:
        print("没有符合条件的运行")
    _problems_below(*history.problems())
    return 0


def _runs_prune(args) -> int:
    """Remove run folders older than the retention (at least 730 days; `--dry-run` only lists them)."""
    from ..engine import records
    from ..ops import audit
    store = records.store()
    days = records.keep_days_setting() if args.keep_days is None else records.check_keep_days(args.keep_days)
    removed = store.prune(days, dry_run=args.dry_run)
    for folder in removed:
        print(f"{'可清理' if args.dry_run else '已删除'}：{store.relative(folder)}")
    if not args.dry_run:
        audit.record("prune", audit.cli_user(), str(store.root), count=len(removed), keep_days=days)
    print(f"{len(removed)} 次运行早于 {days} 天" + ("（未删除，去掉 --dry-run 才会删除）" if args.dry_run else "，已删除")
          + "；运行索引中的摘要保留")
    return 0


def _problems_below(undelivered: list[dict], job_problems: list[str]) -> None:
    """What `opsbook runs` prints after the runs: 告警/报告未送达 and job files that cannot be scheduled."""
    if undelivered:
        from ..ops import alerts
        print(f"\n{alerts.undelivered_title(undelivered)}（{len(undelivered)} 条，请直接查看对应运行，并检查通知渠道）：")
        for a in undelivered:
            print(f"  {a.get('kind_text', '告警')}  {a['job']}  {a['slot'][:16].replace('T', ' ')}  {a['target']}  已尝试 {a['tries']} 次，"
                  f"{a['status_text']}：{a['error'] or ''}")
    if job_problems:
        print(f"\n任务文件有误，未调度（{len(job_problems)} 个）：")
        for problem in job_problems:
            print(f"  {problem}")


def cmd_rerun(args) -> int:
    """Run a recorded run again with the same (literal) parameters."""
    from ..ops import history
    found = history.find(args.run_id).record
    return _run(found.playbook, found.params, timeout=args.timeout, trigger="rerun", job=found.job).exit_code


def cmd_sample(args) -> int:
    """Generate a sample shop."""
    from ..data import sample
    counts = sample.generate(args.orders, args.out, seed=args.seed)
    for table, n in counts.items():
        print(f"{table}: {n:,} 行")
    print(f"样例数据已写入 {args.out}")
    return 0


def cmd_ingest(args) -> int:
    """Read marketplace exports and merge them into a warehouse folder or PostgreSQL URL (or explain their columns)."""
    from ..data.intake import exports, ingest_file, read
    from ..ops import audit
    worst = 0
    for path in args.files:
        if args.explain:
            try:
                raw = read.read_export_table(path, [k.signature for k in exports.kinds().values()])
                kind = exports.detect(raw.frame.columns, args.platform, args.kind)
            except OpsbookError as exc:
                print(f"{path}：{exc.message}", file=sys.stderr)
                worst = max(worst, exc.exit_code)
                continue
            print(f"{path}：{kind.label}，表头在第 {raw.header_row + 1} 行")
            print("\n".join("  " + line for line in exports.explain(raw.frame.columns, kind)))
            continue
        report = ingest_file(path, args.into, args.platform, args.kind, name=path)
        try:
            audit.record_import(report, args.into, audit.cli_user())
        except OSError as exc:
            print(f"{path}：审计日志写入失败（{exc}），请检查 {audit.folder()} 的权限和磁盘空间", file=sys.stderr)
            worst = max(worst, 1)
        if report.error:
            print(f"{path}：{report.error.message}", file=sys.stderr)
            worst = max(worst, report.error.exit_code)
        else:
            print(f"{path}：" + "\n  ".join(report.lines))
    return worst


def cmd_convert(args) -> int:
    """Copy the canonical tables of a source into a DuckDB file."""
    from .. import sources
    if not args.dest.endswith((".duckdb", ".db")):
        raise ParamError(f"目标文件应以 .duckdb 结尾：{args.dest}")
    counts = sources.to_duckdb(sources.open_source(args.source), args.dest)
    for table, n in counts.items():
        print(f"{table}: {n:,} 行")
    print(f"已写入 {args.dest}，可用 -p source={args.dest} 运行剧本")
    return 0


def cmd_serve(args) -> int:
    """Serve the playbook forms with voila."""
    from . import serve
    return serve.main(port=args.port, open_browser=args.open, host=args.host, with_accounts=args.accounts,
                      certfile=args.certfile or "", keyfile=args.keyfile or "", behind_proxy=args.behind_proxy)


def read_password(confirm: bool = True) -> str:
    """A password from the terminal (asked twice), or the first line of stdin when it is not a terminal."""
    import getpass
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("密码：")
    if confirm and getpass.getpass("再输入一次：") != first:
        raise ParamError("两次输入的密码不一致，账号未改动")
    return first


def cmd_users(args) -> int:
    """Accounts of the forms server: add, list, disable, enable, passwd, roles."""
    from ..ops import accounts
    if args.action == "list":
        rows = accounts.listing()
        if not rows:
            print("还没有账号（opsbook users add 姓名 --role 角色 创建）")
        for r in rows:
            state = "已停用" if r["disabled"] else "启用"
            print(f"{r['name']}\t{'、'.join(r['roles'])}\t{state}\t创建于 {r['created']}")
        return 0
    if not args.name:
        raise ParamError(f"opsbook users {args.action} 需要账号名")
    if args.action == "add":
        account = accounts.add(args.name, args.role or [], read_password())
        print(f"已创建账号 {account.name}（{'、'.join(account.roles)}）")
    elif args.action == "passwd":
        accounts.set_password(args.name, read_password())
        print(f"已修改 {args.name} 的密码（其已登录的会话已失效）")
    elif args.action == "roles":
        account = accounts.set_roles(args.name, args.role or [])
        print(f"{account.name} 的角色：{'、'.join(account.roles)}（其已登录的会话已失效）")
    elif args.action == "disable":
        accounts.disable(args.name)
        print(f"已停用账号 {args.name}：无法登录，已打开的页面在下次操作时失效")
    else:
        accounts.enable(args.name)
        print(f"已启用账号 {args.name}")
    return 0


# -- opsbook tasks: follow-up tasks opened by flags (ops/tasks.py) -------------------------------------------------
TASK_ACTIONS = {"list": "列出", "show": "查看", "update": "更新"}


def cmd_tasks(args) -> int:
    """List follow-up tasks (filtered), show one, or update one's status."""
    from ..ops import accounts, tasks
    if args.action not in TASK_ACTIONS:
        raise ParamError(f"未知的操作 {args.action!r}：可用 " + "、".join(f"{k}（{v}）" for k, v in TASK_ACTIONS.items()))
    if args.action == "list":
        if args.task_id:
            raise ParamError(f"多余的参数 {args.task_id!r}：查看一个任务用 opsbook tasks show 编号")
        if args.role and args.role not in accounts.ROLES:
            raise ParamError(f"角色 {args.role} 不存在：可选 {'、'.join(accounts.ROLES)}")
        status = tasks.OPEN if args.status is None else None if args.status == "全部" else tasks.parse_status(args.status)
        found = tasks.select(status=status, role=args.role, playbook=args.playbook, job=args.job, overdue=args.overdue)
        _tasks_table(found)
        return 0
    if not args.task_id:
        raise ParamError(f"请给出任务编号：opsbook tasks {args.action} 编号（opsbook tasks 列出编号）")
    if args.action == "update":
        from ..ops import audit
        tasks.update(args.task_id, who=args.by or audit.cli_user(), status=args.status, note=args.note or "",
                     reason=args.reason or "", assignee=args.assignee)
    _task_detail(tasks.get(args.task_id))
    return 0


def _tasks_table(found: list) -> None:
    """The tasks as a table, overdue first."""
    if not found:
        print("没有符合条件的跟进任务")
        return
    print(_cell("编号", 7) + _cell("状态", 8) + _cell("级别", 6) + _cell("负责角色", 14) + _cell("应完成", 34)
          + _cell("任务/剧本", 38) + "问题")
    for t in found:
        print(_cell(f"#{t.id}", 7) + _cell(t.status, 8) + _cell(t.severity_label, 6) + _cell(t.owner, 14)
              + _cell(t.due_text(), 34) + _cell(f"{t.job}/{t.playbook}", 38, cut=False) + t.title[:60])
    overdue = sum(t.overdue() for t in found)
    print(f"\n共 {len(found)} 个" + (f"，其中 {overdue} 个已逾期" if overdue else ""))


def _task_detail(t) -> None:
    """One task with its rows, runs and changes."""
    print(f"#{t.id}  {t.status}  [{t.severity_label}] {t.title}")
    print(f"  任务 {t.job}（剧本 {t.playbook}）  数据源 {t.shop or '默认'}  提示代码 {t.code}")
    print(f"  负责角色 {t.owner}（账号角色 {'、'.join(t.roles) or '无，管理员处理'}）  处理人 {t.assignee or '未指定'}")
    print(f"  开启 {t.opened[:16].replace('T', ' ')}  应完成 {t.due_text()}"
          + (f"  关闭 {t.closed[:16].replace('T', ' ')}（{t.closed_by}）" if t.closed else ""))
    if t.reason:
        print(f"  不处理原因：{t.reason}")
    if t.follows:
        print(f"  上一任务：#{t.follows}（已关闭后问题再次出现）")
    if t.rows:
        print(f"  涉及 {t.row_count} 行" + (f"，列出前 {len(t.rows)} 行：" if t.row_count > len(t.rows) else "："))
        for row in t.rows:
            print("    " + "，".join(f"{k}={v}" for k, v in row.items()))
    print(f"  出现于运行：{'、'.join(t.runs)}")
    print("  记录：")
    for c in t.changes:
        move = f"{c['old']} → {c['new']}" if c["old"] and c["old"] != c["new"] else c["new"]
        print(f"    {c['at'][:16].replace('T', ' ')}  {c['who']}  {move}" + (f"  {c['note']}" if c["note"] else ""))
    if t.link:
        print(f"  报告：{t.link}")


def _tasks_parser(sub) -> None:
    """The `opsbook tasks` subcommand."""
    tasks = sub.add_parser("tasks", help="跟进任务（由定时任务的高/中级别提示开启）：列出、查看、更新状态")
    tasks.add_argument("action", nargs="?", default="list", help="list（默认）、show 编号、update 编号")
    tasks.add_argument("task_id", nargs="?", help="任务编号（show/update 时需要）")
    tasks.add_argument("--status", help="list：只看这个状态（待处理、处理中、已完成、不处理、全部；默认未完成的）；"
                                        "update：新状态")
    tasks.add_argument("--role", help="只看这个角色的任务，如 运营")
    tasks.add_argument("--playbook", help="只看这个剧本的任务")
    tasks.add_argument("--job", help="只看这个定时任务的任务")
    tasks.add_argument("--overdue", action="store_true", help="只看已逾期的")
    tasks.add_argument("--note", help="update：备注（处理进展）")
    tasks.add_argument("--reason", help="update：不处理的原因（状态为不处理时必填）")
    tasks.add_argument("--assignee", help="update：处理人")
    tasks.add_argument("--by", help="update：记录为谁的操作（默认“命令行 系统用户名”）")
    tasks.set_defaults(func=cmd_tasks)


def _cell(text: str, width: int, cut: bool = True) -> str:
    """`text` padded (and cut, unless `cut` is False) to `width` terminal columns (a Chinese character takes two)."""
    import unicodedata
    out, used = "", 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if cut and used + w > width:
            break
        out, used = out + ch, used + w
    return out + " " * max(width - used, 1 if not cut else 0)


def cmd_audit(args) -> int:
    """List the audit log (newest first), filtered; a Chinese table or JSON."""
    import json
    from ..ops import audit
    if args.format not in ("table", "json"):
        raise ParamError(f"--format 应为 table（表格）或 json，而不是 {args.format!r}", headline="筛选条件有误")
    found = audit.events(**audit.filters(args.user, args.action, args.since, args.until, args.limit))
    if args.format == "json":
        print(json.dumps(found, ensure_ascii=False, indent=1))
        return 0
    if not found:
        print("没有符合条件的审计记录")
        return 0
    print(_cell("时间", 20) + _cell("操作", 14) + _cell("用户", 20) + _cell("地址", 17) + _cell("对象", 44) + "说明")
    for e in found:
        print(_cell(e["time"][:19].replace("T", " "), 20) + _cell(audit.label(e.get("action", "")), 14)
              + _cell(e.get("who") or "—", 20) + _cell(e.get("address") or "—", 17) + _cell(e.get("target") or "", 44, cut=False)
              + audit.describe(e.get("detail") or {}))
    print(f"\n共 {len(found)} 条（最新在前；--limit 可显示更多）")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (Chinese help)."""
    parser = argparse.ArgumentParser(prog="opsbook", description="电商运营 SOP 剧本：列出、运行、定时、表单")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="列出所有剧本及其参数").set_defaults(func=cmd_list)
    run = sub.add_parser("run", help="运行一个剧本")
    run.add_argument("playbook", help="剧本名称，如 user_tiering")
    run.add_argument("-p", "--param", action="append", default=[], metavar="名称=值", help="参数，可重复")
    run.add_argument("--params-file", metavar="YAML", help="参数文件（任务文件或“参数名: 值”映射）")
    run.add_argument("--out", metavar="DIR", help="运行结果目录（默认 runs/）")
    run.add_argument("--timeout", type=float, metavar="秒", help="整次运行的超时时间")
    run.set_defaults(func=cmd_run)
    jobs = sub.add_parser("jobs", help="params/ 中的定时任务：列出（含下次运行时间）、检查、全部运行一次")
    jobs.add_argument("action", nargs="?", choices=["list", "check", "run"], default="list")
    jobs.add_argument("names", nargs="*", help="只运行这些任务")
    jobs.set_defaults(func=cmd_jobs)
    schedule = sub.add_parser("schedule", help="定时调度：按 params/ 中的计划运行任务（--once 只运行当前到期的）")
    schedule.add_argument("--once", action="store_true", help="运行当前到期的任务后退出（配合 cron/systemd 使用）")
    schedule.add_argument("--workers", type=int, default=2, help="同时运行的任务数（默认 2）")
    schedule.add_argument("names", nargs="*", help="只调度这些任务")
    schedule.set_defaults(func=cmd_schedule)
    runs = sub.add_parser("runs", help="运行记录：列出（可筛选）或查看一次运行")
    runs.add_argument("action", nargs="?", choices=["list", "show", "prune"], default="list")
    runs.add_argument("run_id", nargs="?", help="运行编号（show 时需要，可只写开头）")
    runs.add_argument("--job", help="只看这个任务")
    runs.add_argument("--playbook", help="只看这个剧本")
    runs.add_argument("--status", choices=["ok", "failed", "timeout"], help="只看这个状态")
    runs.add_argument("--since", metavar="日期", help="开始日期（含），如 2026-06-01")
    runs.add_argument("--until", metavar="日期", help="结束日期（含）")
    runs.add_argument("--limit", type=int, default=30, help="最多显示多少条（默认 30）")
    runs.add_argument("--keep-days", metavar="天数",
                      help="prune：删除早于这么多天的运行目录（至少 730 天，默认 OPSBOOK_KEEP_DAYS 或 730）")
    runs.add_argument("--dry-run", action="store_true", help="prune：只列出，不删除")
    runs.set_defaults(func=cmd_runs)
    rerun = sub.add_parser("rerun", help="用相同参数重新运行一次（新的运行记录）")
    rerun.add_argument("run_id", help="运行编号（可只写开头）")
    rerun.add_argument("--timeout", type=float, metavar="秒", help="整次运行的超时时间")
    rerun.set_defaults(func=cmd_rerun)
    sample = sub.add_parser("sample", help="生成样例店铺数据")
    sample.add_argument("--orders", type=int, default=20_000, help="订单行数")
    sample.add_argument("--out", default="data/sample", help="输出目录")
    sample.add_argument("--seed", type=int, default=7)
    sample.set_defaults(func=cmd_sample)
    ingest = sub.add_parser("ingest", help="导入后台导出的订单等文件（CSV/Excel，UTF-8/GBK）到数据仓库目录")
    ingest.add_argument("files", nargs="+", help="导出文件")
    ingest.add_argument("--into", default="data/warehouse",
                        help="数据仓库目录（默认 data/warehouse）或 PostgreSQL 地址 postgresql://用户名@服务器/数据库")
    ingest.add_argument("--platform", choices=["TB", "TM", "JD", "DY", "PDD"], help="指定平台（默认按内容识别）")
    ingest.add_argument("--kind", help="指定导出类型（默认按内容识别）")
    ingest.add_argument("--explain", action="store_true", help="只说明各列如何对应，不导入")
    ingest.set_defaults(func=cmd_ingest)
    convert = sub.add_parser("convert", help="把数据源（目录或 DuckDB）的标准表复制到一个 DuckDB 文件")
    convert.add_argument("source", help="数据源，如 data/sample")
    convert.add_argument("dest", help="目标 DuckDB 文件，如 data/sample.duckdb")
    convert.set_defaults(func=cmd_convert)
    audit = sub.add_parser("audit", help="审计日志：登录、运行、导入、下载、任务变更（谁、何时、从哪里）")
    audit.add_argument("--user", metavar="用户", help="只看这个用户（账号名、本机、“任务 名称”或“命令行 名称”）")
    audit.add_argument("--action", metavar="操作", help="只看这种操作，如 login、run、import、download（或 登录、下载）")
    audit.add_argument("--since", metavar="日期", help="开始日期（含），如 2026-12-01")
    audit.add_argument("--until", metavar="日期", help="结束日期（含）")
    audit.add_argument("--limit", metavar="条数", default="100", help="最多显示多少条（默认 100）")
    audit.add_argument("--format", metavar="格式", default="table", help="table（表格，默认）或 json")
    audit.set_defaults(func=cmd_audit)
    serve = sub.add_parser("serve", help="以表单形式提供剧本（voila）")
    serve.add_argument("--port", type=int, default=8866)
    serve.add_argument("--open", action="store_true", help="自动打开浏览器")
    serve.add_argument("--host", default="127.0.0.1",
                       help="监听地址（默认 127.0.0.1，仅本机；其他地址需要账号和 HTTPS）")
    serve.add_argument("--accounts", action="store_true", help="本机也用账号登录（默认本机用一次性令牌）")
    serve.add_argument("--certfile", help="HTTPS 证书（PEM）")
    serve.add_argument("--keyfile", help="HTTPS 私钥（PEM）")
    serve.add_argument("--behind-proxy", action="store_true", help="在 HTTPS 反向代理之后（信任其转发的地址与协议）")
    serve.set_defaults(func=cmd_serve)
    users = sub.add_parser("users", help="表单账号：add 创建 / list 列出 / disable 停用 / enable 启用 / passwd 改密码 / roles 改角色")
    users.add_argument("action", choices=["add", "list", "disable", "enable", "passwd", "roles"])
    users.add_argument("name", nargs="?", help="账号名（每人一个，勿共用）")
    users.add_argument("--role", action="append", metavar="角色",
                       help="角色，可重复：运营 客服 仓储 采购 设计 内容 品控 法务 主管 数据分析 管理员")
    users.set_defaults(func=cmd_users)
    _tasks_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the command, turning opsbook errors into a Chinese message and exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except OpsbookError as exc:
        print(exc.message, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("已中断", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
