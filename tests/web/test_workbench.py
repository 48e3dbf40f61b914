"""The workbench's path: upload → review → audit → results → downloads, corrections in place, history."""

from __future__ import annotations

import json

from web_fixtures import BROKEN, LINGANG, PUXI, bench, example_list, small_list

from auditor.web.workspace import Cancelled, Job


def test_example_list_uploaded_reviewed_audited_and_downloaded(bench, example_list):
    uid = bench.upload_list("facilities.csv", example_list)
    review = bench.client.get(f"/review/{uid}")
    assert review.status_code == 200
    page = review.text
    # the reading, column by column: id read from the id header, the unknown rack_count column unused
    assert '<option value="id" selected>' in page and 'id="unused">rack_count<' in page
    assert 'id="rows">43<' in page
    assert "Rows that cannot be read" in page and 'id="audit"' in page   # the example has broken rows, still auditable

    jid = bench.audit(uid)
    status = bench.client.get(f"/jobs/{jid}/status").json()
    assert status["state"] == "done" and status["rows"] == 43 and status["verdict"] == "fail"

    results = bench.client.get(f"/results/{jid}")
    assert results.status_code == 200
    report = json.loads(bench.client.get(f"/results/{jid}/download/json").text)
    assert report["schema"] == "pilot-zone-auditor/report/1" and len(report["facilities"]) == 43
    failing = {f["id"] for f in report["facilities"] if f["verdict"] == "fail"}
    assert "HZ-IDC-01" in failing and failing <= set(results.text.split('class="fac">')[i].split("<")[0]
                                                       for i in range(1, 44))

    geo = bench.client.get(f"/results/{jid}/map.json").json()
    parts = [f for f in geo["features"] if f["properties"]["layer"] == "region"]
    points = {f["properties"]["id"]: f for f in geo["features"] if f["properties"]["layer"] == "facility"}
    assert {p["properties"]["id"] for p in parts} >= {"pudong", "lingang-main"}
    assert points["HZ-IDC-01"]["properties"]["verdict"] == "fail" and points["HZ-IDC-01"]["properties"]["colour"] == "#d73027"
    assert points["SH-IDC-01"]["properties"]["verdict"] == "pass"
    lon, lat = points["HZ-IDC-01"]["geometry"]["coordinates"]
    assert 119.5 < lon < 121 and 29.5 < lat < 31   # Hangzhou, where the example puts it
    assert len(geo["facilities"]) == 43

    sarif = bench.client.get(f"/results/{jid}/download/sarif")
    assert sarif.headers["content-disposition"] == 'attachment; filename="report.sarif"'
    doc = sarif.json()
    assert doc["version"] == "2.1.0"
    flagged = {r["message"]["text"].split(" ", 1)[0] for r in doc["runs"][0]["results"] if r.get("kind") == "fail"}
    assert "HZ-IDC-01" in flagged


def test_filters_keep_only_matching_rows_and_a_facility_shows_its_findings(bench):
    uid = bench.upload_list("three.csv", small_list(LINGANG, PUXI, BROKEN))
    jid = bench.audit(uid)
    only_fail = bench.client.get(f"/results/{jid}", params={"verdict": "fail"}).text
    assert 'class="fac">in-puxi<' in only_fail and 'class="fac">in-lingang<' not in only_fail
    by_rule = bench.client.get(f"/results/{jid}", params={"rule": "facility_in_region"}).text
    assert 'class="fac">in-puxi<' in by_rule and 'class="fac">in-lingang<' not in by_rule
    assert 'id="shown">1 / 3<' in only_fail

    geo = bench.client.get(f"/results/{jid}/map.json").json()
    index = next(f["index"] for f in geo["facilities"] if f["id"] == "in-puxi")
    detail = bench.client.get(f"/results/{jid}/facility/{index}").text
    assert "facility_in_region" in detail and "2,442 m from the boundary" in detail and "declared coordinates" in detail
    broken = next(f for f in geo["facilities"] if f["id"] == "broken")
    assert broken["verdict"] == "error" and broken["errors"] and broken["lon"] is None


def test_a_column_mapping_is_corrected_in_place(bench):
    body = small_list("A1,IDC,121.93,30.905,wgs84", header="资产代码,kind,lon,lat,crs")
    uid = bench.upload_list("codes.csv", body)
    page = bench.client.get(f"/review/{uid}").text
    assert 'id="problem"' in page and 'id="audit"' not in page   # no id column: cannot audit yet
    form = {"csrf": bench.csrf, "col-0": "id", "col-1": "kind", "col-2": "lon", "col-3": "lat", "col-4": "crs"}
    fixed = bench.client.post(f"/review/{uid}", data=form)
    assert fixed.status_code == 200
    assert 'id="problem"' not in fixed.text and 'id="audit"' in fixed.text
    assert '<option value="id" selected>' in fixed.text and "named by workbench" in fixed.text
    jid = bench.audit(uid)
    report = bench.client.get(f"/results/{jid}/download/json").json()
    assert [(f["id"], f["verdict"]) for f in report["facilities"]] == [("A1", "pass")]
    assert report["inputs"][-1]["columns"]["id"] == "资产代码"
    # a bare list's corrections cannot go into an evidence bundle: refused, saying why
    refused = bench.client.get(f"/results/{jid}/download/bundle")
    assert refused.status_code == 409 and "columns: block" in refused.text


def test_the_same_column_chosen_twice_is_refused_and_the_mapping_kept(bench):
    uid = bench.upload_list("two.csv", small_list(LINGANG))
    r = bench.client.post(f"/review/{uid}", data={"csrf": bench.csrf, "col-0": "name", "col-2": "name"})
    assert 'id="correction-error"' in r.text and "name chosen for more than one column" in r.text
    assert '<option value="id" selected>' in r.text


def test_a_cancelled_audit_gives_no_result(bench):
    uid = bench.upload_list("one.csv", small_list(LINGANG))
    runner = bench.app.state.runner
    with runner.one_at_a_time:   # an audit already running: this one waits in the queue
        r = bench.client.post(f"/audit/{uid}", data={"csrf": bench.csrf}, follow_redirects=False)
        jid = r.headers["location"].rsplit("/", 1)[1]
        assert bench.client.get(f"/jobs/{jid}/status").json()["state"] == "queued"
        cancel = bench.client.post(f"/jobs/{jid}/cancel", headers={"X-CSRF-Token": bench.csrf, "Accept": "application/json"})
        assert cancel.status_code == 200
    bench.job(jid).thread.join()
    assert bench.client.get(f"/jobs/{jid}/status").json()["state"] == "cancelled"
    back = bench.client.get(f"/results/{jid}", follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == f"/jobs/{jid}"


def test_a_running_audit_stops_at_its_next_progress_report(tmp_path):
    from auditor.web.workspace import Upload

    job = Job("j", Upload("u", tmp_path, tmp_path / "l.csv", "l.csv"), tmp_path, "en")
    job.progress("gather evidence", 0, 10)
    assert (job.step, job.total) == ("gather evidence", 10)
    job.cancel.set()
    try:
        job.progress("apply rules")
    except Cancelled:
        pass
    else:
        raise AssertionError("a cancelled job's progress callback must stop the audit")


def test_an_operator_profile_with_its_list_is_read_with_the_profile(bench, example_list):
    from conftest import REPO

    profile = (REPO / "examples" / "shanghai-operator" / "operator.yaml").read_bytes()
    r = bench.upload({"file": ("operator.yaml", profile), "list_file": ("节点清单.csv", example_list)}, as_of="2026-11-01")
    assert r.status_code == 200, r.text
    assert "evidence section" in r.text and 'id="file-name">节点清单.csv<' in r.text and 'id="rows">43<' in r.text
    alone = bench.upload({"file": ("operator.yaml", profile)})
    assert alone.status_code == 400 and "needs its facility list" in alone.text


def test_recorded_audits_appear_in_history_and_portfolio(bench):
    jids = []
    for rows in ((LINGANG,), (LINGANG, PUXI)):
        jid = bench.audit(bench.upload_list("history.csv", small_list(*rows)))
        r = bench.client.post(f"/results/{jid}/record", data={"csrf": bench.csrf, "operator": "<b>Example</b> 运营商"})
        assert r.status_code == 200 and 'id="recorded"' in r.text
        jids.append(bench.job(jid).recorded_run)
    page = bench.client.get("/history").text
    assert 'id="portfolio"' in page
    latest = page.split('id="portfolio"')[1].split("</table>")[0]
    assert "&lt;b&gt;Example&lt;/b&gt; 运营商" in latest and "<b>Example" not in page   # one operator, its name as text
    assert 'v-fail"' in latest and f"regressed 1 (#{jids[0]})" in latest   # in-puxi fails, new since the first run
    runs = page.split('class="runs"')[1].split("</table>")[0]
    assert runs.index(f"<td>{jids[1]}</td>") < runs.index(f"<td>{jids[0]}</td>")   # the latest run first
