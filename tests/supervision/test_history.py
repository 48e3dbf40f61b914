"""The audit history: real audits recorded in a real SQLite file and a real PostgreSQL server on
loopback, listed, trended, loaded back and diffed; one transaction per run, whatever interrupts it."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from supervision_fixtures import (
    AS_OF,
    BEIJING,
    BEIJING_ROWS,
    SHANGHAI,
    SHANGHAI_ROWS,
    audit_report,
    db_url,
    postgres,
    write_operator,
)

from auditor.errors import InputError, UsageError
from auditor.report.diff import diff_reports
from auditor.supervision.history import (
    DEFAULT_PROGRAMME,
    History,
    HistoryError,
    database_url,
    inputs_fingerprint,
    record_result,
)

TABLES = ("auditor_runs", "auditor_run_inputs", "auditor_run_data", "auditor_facilities", "auditor_findings")
T0 = dt.datetime(2026, 8, 1, 9, 0, tzinfo=dt.UTC)


def _counts(db: History) -> dict[str, int]:
    from sqlalchemy import text

    with db.engine.connect() as conn:
        return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in TABLES}


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Real audits: Shanghai in August (Hangzhou still listed) and November (Hangzhou gone, Xujiahui fixed), Beijing."""
    folder = tmp_path_factory.mktemp("operators")
    aug = write_operator(folder / "aug", "alpha", SHANGHAI, SHANGHAI_ROWS)
    nov_rows = [r for r in SHANGHAI_ROWS if r[0] != "A-CDN-3"]
    nov_rows = [r if r[0] != "A-CDN-2" else [*r[:4], "上海市浦东新区金桥", 121.5900, 31.2600, "wgs84"] for r in nov_rows]  # moved into Pudong
    nov = write_operator(folder / "nov", "alpha", SHANGHAI, nov_rows)
    bj = write_operator(folder / "bj", "beta", BEIJING, BEIJING_ROWS)
    return {"aug": audit_report(aug, dt.date(2026, 8, 1))[1], "nov": audit_report(nov)[1], "beijing": audit_report(bj)[1]}


def test_two_audits_recorded_are_listed_loaded_and_diffed(db_url: str, reports: dict[str, dict]) -> None:
    with History(db_url) as db:
        first = db.record(reports["aug"], recorded_at=T0)
        second = db.record(reports["nov"], recorded_at=T0 + dt.timedelta(days=92), source="portfolio")
        runs = db.runs()
        assert [r.id for r in runs] == [first.id, second.id]
        assert {r.operator for r in runs} == {SHANGHAI["name"]}
        assert first.programme == DEFAULT_PROGRAMME and first.region == "shanghai"
        assert first.as_of == dt.date(2026, 8, 1) and second.as_of == AS_OF
        assert first.verdicts == {"pass": 2, "fail": 2, "indeterminate": 0, "error": 0, "waived": 0}
        assert second.verdicts["fail"] == 0 and second.facility_count == 3
        assert first.failing_rules["facility_in_region"] == 2
        assert first.inputs_sha256 == inputs_fingerprint(reports["aug"]["inputs"]) != second.inputs_sha256
        assert second.source == "portfolio" and db.previous(second) == first and db.previous(first) is None

        back = db.load(first.id)
        assert back["schema"] == reports["aug"]["schema"] and back["as_of"] == "2026-08-01"
        assert [(f["id"], f["verdict"], f["basis"]) for f in back["facilities"]] == [
            (f["id"], f["verdict"], f["basis"]) for f in reports["aug"]["facilities"]]
        assert [f["findings"] for f in back["facilities"]] == [f["findings"] for f in reports["aug"]["facilities"]]
        assert back["operator_findings"] == reports["aug"]["operator_findings"]
        assert back["data_sources"] == [{k: s[k] for k in ("name", "path", "version", "sha256")} for s in reports["aug"]["data_sources"]]
        assert back["inputs"] == reports["aug"]["inputs"]
        hz = next(f for f in back["facilities"] if f["id"] == "A-CDN-3")
        assert hz["point"]["signed_distance_m"] < -50_000  # Hangzhou is far outside the line
        zj = next(f for f in back["facilities"] if f["id"] == "A-IDC-1")
        assert zj["point"]["signed_distance_m"] > 1_000 and zj["point"]["parts"] == ["pudong"]

        # a diff of two recorded runs: what a diff of the two report.json files says
        recorded = diff_reports(db.load(first.id), db.load(second.id))
        on_files = diff_reports(reports["aug"], reports["nov"])
        assert recorded.counts() == on_files.counts()
        assert [c.key for c in recorded.facilities["fixed"]] == ["A-CDN-2"]
        assert [c.key for c in recorded.facilities["removed"]] == ["A-CDN-3"]


def test_trends_per_operator(db_url: str, reports: dict[str, dict]) -> None:
    with History(db_url) as db:
        a = db.record(reports["aug"], recorded_at=T0)
        db.record(reports["beijing"], recorded_at=T0 + dt.timedelta(days=1))
        b = db.record(reports["nov"], recorded_at=T0 + dt.timedelta(days=92))
        assert db.operators() == sorted([SHANGHAI["name"], BEIJING["name"]])
        assert [r.id for r in db.runs(SHANGHAI["name"])] == [a.id, b.id]
        assert [r.region for r in db.runs(region="beijing")] == ["beijing"]
        trends = db.trends()
        alpha = trends[SHANGHAI["name"]]
        assert "delta" not in alpha[0] and alpha[1]["since_run"] == a.id
        assert alpha[1]["delta"]["fail"] == -2 and alpha[1]["delta"]["pass"] == 1
        assert alpha[1]["changes"] == {"fixed": 1, "removed": 1}
        assert len(trends[BEIJING["name"]]) == 1


def test_an_interrupted_run_leaves_nothing(db_url: str, reports: dict[str, dict]) -> None:
    with History(db_url) as db:
        kept = db.record(reports["beijing"], recorded_at=T0)
        before = _counts(db)
        seen: list[tuple[str, int, int]] = []

        def interrupt(step: str, done: int, total: int) -> None:
            seen.append((step, done, total))
            if step == "facilities":  # the run, its inputs, data files and facilities are written by now
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            db.record(reports["aug"], progress=interrupt)
        assert ("facilities", 4, 4) in seen and ("inputs", 2, 2) in seen  # it was interrupted half-way
        assert _counts(db) == before
        assert [r.id for r in db.runs()] == [kept.id]
        again = db.record(reports["aug"])  # and the database takes the next run whole
        assert len(db.load(again.id)["facilities"]) == 4


def test_a_killed_process_leaves_nothing(db_url: str, reports: dict[str, dict], tmp_path: Path) -> None:
    """SIGKILL in the middle of the transaction (after the facilities are inserted): no half run."""
    report_file = tmp_path / "report.json"
    report_file.write_text(json.dumps(reports["aug"], ensure_ascii=False), encoding="utf-8")
    script = textwrap.dedent(f"""
        import json, os, signal
        from auditor.supervision.history import History
        report = json.loads(open({str(report_file)!r}, encoding="utf-8").read())
        def die(step, done, total):
            if step == "findings":
                os.kill(os.getpid(), signal.SIGKILL)
        with History({db_url!r}) as db:
            db.record(report, progress=die)
    """)
    with History(db_url) as db:
        before = _counts(db)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr
    with History(db_url) as db:
        assert _counts(db) == before
        assert db.runs() == []
        db.record(reports["aug"])
        assert len(db.runs()) == 1


def test_a_database_refusal_mid_write_rolls_back_and_says_so(db_url: str, reports: dict[str, dict]) -> None:
    """PostgreSQL refuses a rule id longer than its column (100 characters) when the findings are
    inserted, after the run and its facilities went in: nothing of the run is kept, and the error
    says so. (SQLite does not enforce VARCHAR lengths: there the run is recorded whole.)"""
    bad = json.loads(json.dumps(reports["aug"]))
    bad["facilities"][-1]["findings"][-1]["rule"] = "r" * 150
    with History(db_url) as db:
        before = _counts(db)
        if db.engine.dialect.name == "postgresql":
            with pytest.raises(HistoryError, match="nothing of it was kept"):
                db.record(bad)
            assert _counts(db) == before
        else:
            run = db.record(bad)
            assert db.load(run.id)["facilities"][-1]["findings"][-1]["rule"] == "r" * 150


def test_a_bad_report_is_refused_before_anything_is_written(db_url: str, reports: dict[str, dict]) -> None:
    with History(db_url) as db:
        for broken, words in (
            ({**reports["aug"], "schema": "something/else"}, "not a pilot-zone-auditor/report/1 report"),
            ({**reports["aug"], "as_of": "1 Nov"}, "not a date"),
            ({**reports["aug"], "facilities": [*reports["aug"]["facilities"][:-1], {**reports["aug"]["facilities"][-1], "verdict": "ok"}]},
             "verdict 'ok'"),
        ):
            with pytest.raises(InputError, match=words):
                db.record(broken)
        assert set(_counts(db).values()) == {0}


def test_nul_and_hostile_text_are_stored_as_text(db_url: str, reports: dict[str, dict]) -> None:
    odd = json.loads(json.dumps(reports["beijing"]))
    odd["facilities"][0]["name"] = "DC\x00<script>alert(1)</script>'; DROP TABLE auditor_runs; --"
    with History(db_url) as db:
        run = db.record(odd)
        name = db.load(run.id)["facilities"][0]["name"]
        assert name == "DC\ufffd<script>alert(1)</script>'; DROP TABLE auditor_runs; --"
        assert len(db.runs()) == 1


def test_delete_removes_a_run_and_its_rows(db_url: str, reports: dict[str, dict]) -> None:
    with History(db_url) as db:
        keep = db.record(reports["beijing"])
        gone = db.record(reports["aug"])
        assert db.delete(gone.id) and not db.delete(gone.id)
        counts = _counts(db)
        assert counts["auditor_runs"] == 1 and counts["auditor_facilities"] == len(reports["beijing"]["facilities"])
        assert [r.id for r in db.runs()] == [keep.id]


def test_the_schema_comes_from_the_migrations_and_matches_the_code(db_url: str) -> None:
    """Alembic created the schema (its version table says 0001), and the code's metadata is that schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    from auditor.supervision.schema import VERSION_TABLE, metadata

    with History(db_url) as db:
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE, "compare_type": True})
            assert ctx.get_current_revision() == "0001"
            assert compare_metadata(ctx, metadata) == []
            assert set(TABLES) | {VERSION_TABLE} == set(inspect(conn).get_table_names())
    with History(db_url) as db:  # opening again upgrades nothing and loses nothing
        assert db.runs() == []


def test_a_database_from_a_newer_auditor_is_refused(db_url: str) -> None:
    from sqlalchemy import text

    with History(db_url) as db, db.engine.begin() as conn:
        conn.execute(text("UPDATE auditor_alembic_version SET version_num = '9999'"))
    with pytest.raises(HistoryError, match="newer auditor"):
        History(db_url)


def test_record_result_records_what_the_report_says(db_url: str, tmp_path: Path) -> None:
    result, report = audit_report(write_operator(tmp_path, "beta", BEIJING, BEIJING_ROWS))
    run = record_result(db_url, result, report)
    with History(db_url) as db:
        assert [f["verdict"] for f in db.load(run.id)["facilities"]] == ["pass", "pass", "fail"]
        assert db.load(run.id)["summary"]["verdict"] == report["summary"]["verdict"] == "fail"
    # without a mapping it builds one from the result
    other = record_result(db_url, result)
    assert other.verdicts == run.verdicts and other.id != run.id


def test_urls() -> None:
    assert database_url("h.db").render_as_string() == "sqlite:///h.db"
    assert database_url("postgresql://u:pw@127.0.0.1/x").drivername == "postgresql+psycopg"
    for bad in ("mysql://u:topsecret@host/db", "sqlite://", "sqlite+aiosqlite:///x.db", "postgresql+psycopg2://u@h/d", ""):
        with pytest.raises(UsageError) as info:
            database_url(bad)
        assert "topsecret" not in str(info.value)


def test_a_missing_folder_and_an_unreachable_server_are_named(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="does not exist"):
        History(f"sqlite:///{tmp_path / 'nowhere' / 'h.db'}")
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on: the connection is refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(HistoryError, match="cannot open the history database") as info:
        History(f"postgresql://auditor:hunter2@127.0.0.1:{port}/history")
    assert "hunter2" not in str(info.value) and "***" in str(info.value)
