"""The run store: records read back whole or as summaries, old index lines, subscribers that fail."""
import datetime as dt
import json

from opsbook.engine import records
from opsbook.engine.records import RunRecord, RunStore
from opsbook.flags import make
from opsbook.settings import RunStatus, Severity


def filed(store: RunStore, playbook="p", status=RunStatus.OK, flags=(), job="daily", trigger="schedule") -> RunRecord:
    record = RunRecord(records.new_run_id(dt.datetime(2026, 1, 2, 3, 4, 5)), playbook, status,
                       0 if status == RunStatus.OK else 1, params={"x": 1}, job=job, trigger=trigger)
    running = store.open(record)
    record.set_flags(list(flags))
    store.file(record, running)
    return record


def test_a_filed_run_reads_back_whole_and_as_a_summary(tmp_path):
    store = RunStore(tmp_path)
    flag = make("p.low_stock", "high", "仓储", "库存不足")
    record = filed(store, flags=[flag])
    (summary,) = store.index()
    assert summary.run_id == record.run_id and summary.folder == record.folder and summary.status == RunStatus.OK
    assert summary.flags == [] and summary.flag_codes == {"p.low_stock": "high"} and summary.flag_counts["high"] == 1
    whole = store.load(summary)
    assert whole.flags == [flag] and whole.flags[0].severity is Severity.HIGH and whole.params == {"x": 1}
    assert store.latest("p") == record.folder
    assert json.loads((record.folder / "result.json").read_text(encoding="utf-8"))["flags"][0]["severity"] == "high"


def test_a_failed_run_never_moves_latest(tmp_path):
    store = RunStore(tmp_path)
    good = filed(store)
    filed(store, status=RunStatus.FAILED)
    assert store.latest("p") == good.folder and [r.status for r in store.index()] == ["ok", "failed"]


def test_only_a_jobs_good_run_moves_latest(tmp_path):
    store = RunStore(tmp_path)
    scheduled = filed(store)
    form, cli = filed(store, job=None, trigger="form"), filed(store, job=None, trigger="cli")
    assert form.ok and cli.ok and store.latest("p") == scheduled.folder  # ad-hoc runs are recorded, not published
    assert [r.run_id for r in store.index()] == [scheduled.run_id, form.run_id, cli.run_id]
    by_hand = filed(store, trigger="job")  # `opsbook jobs run` publishes like the scheduler
    assert store.latest("p") == by_hand.folder


def test_index_lines_of_older_versions_are_read(tmp_path):
    lines = [{"run_id": "20250101-000000-aaaaaa", "playbook": "p", "status": "ok", "folder": "p/20250101-000000-aaaaaa"},
             {"run_id": "b", "playbook": "p", "status": "timeout", "folder": "p/b", "unknown_field": 1, "error": None}]
    (tmp_path / "index.jsonl").write_text("\n".join(map(json.dumps, lines)) + "\n", encoding="utf-8")
    old, timed_out = RunStore(tmp_path).index()
    assert old.folder == tmp_path / "p" / "20250101-000000-aaaaaa" and old.started == "" and old.ok
    assert timed_out.status == RunStatus.TIMEOUT and timed_out.status.label == "超时" and timed_out.error is None
    assert RunStore(tmp_path).load(old) is old  # no result.json: the summary is all there is


def test_a_failing_subscriber_never_fails_filing(tmp_path, caplog):
    seen = []

    def broken(store, record):
        raise RuntimeError("page writer broke")

    def listening(store, record):
        seen.append((store.root, record.run_id))
    records.subscribe(broken)
    records.subscribe(listening)
    records.subscribe(listening)  # once per listener
    try:
        record = filed(RunStore(tmp_path))
    finally:
        records.unsubscribe(broken)
        records.unsubscribe(listening)
    filed(RunStore(tmp_path))  # no longer called
    assert seen == [(tmp_path.resolve(), record.run_id)]
    assert record.folder.is_dir() and "page writer broke" in caplog.text


def test_odd_records_are_read_without_guessing_wrong(tmp_path):
    record = RunRecord.from_json({"run_id": "x", "playbook": "p", "status": "ok", "folder": "", "attempt": "2",
                                  "exit_code": None, "flags": [{"code": "c", "severity": "low", "owner": "运营",
                                                                "message": "m", "from_a_later_version": 1}]})
    assert record.folder is None and record.attempt == 2 and record.exit_code == 0
    assert record.flag_codes == {"c": "low"} and record.flag_counts == {"high": 0, "medium": 0, "low": 1}
    assert RunRecord("y", "p", "failed", flags=record.flags).flag_counts["low"] == 1  # counted however it is made


def test_a_damaged_result_file_leaves_the_summary(tmp_path, caplog):
    store = RunStore(tmp_path)
    record = filed(store)
    (record.folder / "result.json").write_text("{not json", encoding="utf-8")
    (summary,) = store.index()
    assert store.load(summary) is summary and "无法读取" in caplog.text
