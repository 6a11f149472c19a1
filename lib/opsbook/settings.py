"""What every layer shares: the shops' timezone, opsbook's environment variables, run statuses and flag severities."""
from __future__ import annotations

from enum import StrEnum
from zoneinfo import ZoneInfo

TZ_NAME = "Asia/Shanghai"  # 北京时间: order times, schedules and run ids (no DST)
TZ = ZoneInfo(TZ_NAME)
# the roles of a team (issue 12): accounts hold them, each playbook declares which of them may run it (适用角色)
ROLES = ("运营", "客服", "仓储", "采购", "设计", "内容", "品控", "法务", "主管", "数据分析", "管理员")

# environment variables read by opsbook itself (notifier secrets are named per channel in `ops.notify`)
HOME_ENV = "OPSBOOK_HOME"                    # the project folder (playbooks/, params/, data/)
RUNS_ENV = "OPSBOOK_RUNS"                    # where runs are filed (default <home>/runs)
DUCKDB_MEMORY_ENV = "OPSBOOK_DUCKDB_MEMORY"  # DuckDB memory limit of a source (default 512MB)
KERNEL_REUSE_ENV = "OPSBOOK_KERNEL_REUSE"    # 0 turns warm kernel reuse off
BASE_URL_ENV = "OPSBOOK_BASE_URL"            # where runs/ is published, for report links in alerts
XLSX_MAX_ROWS_ENV = "OPSBOOK_XLSX_MAX_ROWS"  # largest table also written as xlsx (default 50,000 rows)
ALERT_HORIZON_ENV = "OPSBOOK_ALERT_HORIZON_HOURS"  # how long an undelivered alert is retried (default 24)
NOTIFY_ENV = "OPSBOOK_NOTIFY"                # alert targets for what belongs to no job (job files that cannot run)
FORM_KERNEL_IDLE_ENV = "OPSBOOK_FORM_KERNEL_IDLE"  # seconds a form page keeps its run kernel when quiet (default 180)
KEEP_DAYS_ENV = "OPSBOOK_KEEP_DAYS"          # days run folders are kept by `opsbook runs prune` (default and floor 730)
MIN_KEEP_DAYS = 730  # run folders and the audit log are kept at least two years (seed 001 §四): nothing deletes them earlier


class RunStatus(StrEnum):
    """How a run ended (or that it is still running)."""

    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"
    RUNNING = "running"

    @property
    def label(self) -> str:
        """The Chinese word staff read."""
        return _RUN_STATUS_LABELS[self]


_RUN_STATUS_LABELS = {RunStatus.OK: "成功", RunStatus.FAILED: "失败", RunStatus.TIMEOUT: "超时", RunStatus.RUNNING: "运行中"}


class Severity(StrEnum):
    """How urgent a flag is, most urgent first."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def label(self) -> str:
        """The Chinese word staff read (高 / 中 / 低)."""
        return _SEVERITY_LABELS[self]


_SEVERITY_LABELS = {Severity.HIGH: "高", Severity.MEDIUM: "中", Severity.LOW: "低"}
