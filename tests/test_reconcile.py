"""python -m server.reconcile against the real signer, emulator and database: orphans recorded or
deleted, records of vanished objects dropped, old multipart uploads aborted, one runner at a time."""
from __future__ import annotations

import os
import threading

import pytest

from server.db import DatabaseUnavailable
from server.reconcile import LEASE, Reconciler, main
from tests.kit import database_on, running_kit
from tests.test_multipart import PART, complete, send_parts, start

GRACE = 3600


@pytest.fixture(params=["sqlite", "mariadb"])
def kit(request, tmp_path, clock):
    """Callbacks go nowhere (203) unless confirmed: the state a failed callback leaves."""
    with running_kit(tmp_path, clock, login=True, emulator_calls_back=False, MULTIPART_PART_SIZE=str(PART),
                     **database_on(request, request.param)) as kit:
        yield kit


def reconcile(kit, *args):
    lines = []
    assert main(list(args), out=lines.append, app=kit.app) == 0, lines
    return lines


def files(kit, user):
    return kit.call("GET", "/api/files", user).json()["files"]


def test_an_orphan_of_a_failed_callback_is_recorded_for_its_owner_after_the_grace(kit):
    signed, response = kit.upload("旅行.jpg", b"\xff\xd8 jpeg", user="ann")
    assert response.status_code == 203 and files(kit, "ann") == []
    # An upload carrying a field the form never signs is deleted, not recorded.
    bad, response = kit.upload("b.jpg", b"12345", user="ann", extra=[("x-oss-meta-owner", "someone")])
    assert response.status_code == 203
    young, _ = kit.upload("c.jpg", b"1", user="bob")
    kit.clock.advance(GRACE - 10)
    kit.upload("d.jpg", b"1", user="bob")  # too young on the next run
    kit.clock.advance(20)

    dry = reconcile(kit, "--dry-run")
    assert any(signed["key"] in line for line in dry) and files(kit, "ann") == []
    assert kit.app.extensions["bucket"].head(bad["key"]) is not None

    lines = reconcile(kit)
    assert "（a）没有记录的对象：补记 2 个，删除不合规的 1 个，不到宽限时间跳过 1 个，不是签名服务生成的 key 跳过 0 个" in lines
    shown = files(kit, "ann")
    assert [(f["key"], f["name"]) for f in shown] == [(signed["key"], "旅行.jpg")]
    assert [f["key"] for f in files(kit, "bob")] == [young["key"]]
    assert kit.app.extensions["bucket"].head(bad["key"]) is None
    assert kit.call("GET", "/api/usage", "ann").json()["fileCount"] == 1
    # Nothing left to do: a second run changes nothing.
    assert "（a）没有记录的对象：补记 0 个，删除不合规的 0 个，不到宽限时间跳过 1 个，不是签名服务生成的 key 跳过 0 个" in reconcile(kit)


def test_a_record_whose_object_was_deleted_behind_the_servers_back_is_dropped(kit):
    signed, _ = kit.upload(user="ann")
    kept, _ = kit.upload(user="ann")
    for form in (signed, kept):
        assert kit.confirm(form["key"], "ann").status_code == 200
    kit.app.extensions["bucket"].delete(signed["key"])
    kit.clock.advance(GRACE)
    assert "（b）对象已不在的记录：删除 1 条" in reconcile(kit)
    assert [f["key"] for f in files(kit, "ann")] == [kept["key"]]
    assert kit.call("GET", "/api/usage", "ann").json()["usedBytes"] == 5


def test_old_multipart_uploads_are_aborted_and_unrecorded_completions_recorded(kit, monkeypatch):
    data = os.urandom(2 * PART)
    abandoned = start(kit, len(data), user="ann")
    send_parts(kit, abandoned, data, numbers=[1], user="ann")
    finished = start(kit, len(data), user="ann")
    send_parts(kit, finished, data, user="ann")
    monkeypatch.setattr(kit.db, "finish_multipart", lambda *a: (_ for _ in ()).throw(DatabaseUnavailable("x")))
    assert complete(kit, finished, user="ann").status_code == 503
    monkeypatch.undo()
    kit.clock.advance(8 * 86400)
    kit.tokens.clear()  # the login expired meanwhile
    lines = reconcile(kit)
    assert "（c）分片上传：取消 1 个，补记已合并的 1 个，忘记 OSS 已没有的 0 个，正在处理中跳过 0 个" in lines
    assert [f["key"] for f in files(kit, "ann")] == [finished["key"]]
    assert kit.call("GET", f"/api/multipart/{abandoned['uploadId']}", "ann").status_code == 404
    listing = kit.app.extensions["bucket"].list_multipart_uploads("uploads/")
    assert [u for page in listing for u in page] == []
    assert kit.call("GET", "/api/usage", "ann").json()["reservedBytes"] == 0


def test_one_runner_at_a_time(kit):
    assert kit.db.acquire_lease(LEASE, "another-instance", 600)
    assert reconcile(kit)[-1] == "另一个实例正在对账，这次跳过"
    kit.clock.advance(601)  # its holder died: the lease runs out
    assert reconcile(kit)[-1].startswith("（d）过期数据")
    # Racing runners: exactly one gets the lease.
    results = []
    barrier = threading.Barrier(6)

    def run():
        barrier.wait(10)
        results.append(kit.db.acquire_lease("race", threading.current_thread().name[:32], 600))

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [False] * 5 + [True]


def test_bad_arguments_exit_with_usage(kit, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--multipart-days", "0"], app=kit.app)
    assert exited.value.code == 2
    assert Reconciler(kit.app).summary()[1] == "（b）对象已不在的记录：删除 0 条"


def test_the_runs_counts_go_to_a_textfile_for_node_exporter(kit, tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    kit.upload(user="ann")
    kit.clock.advance(GRACE + 1)
    target = tmp_path / "reconcile.prom"
    assert main(["--metrics-file", str(target)], out=lambda line: None, app=kit.app) == 0
    samples = {(s.name, s.labels.get("category")): s.value
               for family in text_string_to_metric_families(target.read_text()) for s in family.samples}
    assert samples[("oss_signer_reconcile_items", "recorded")] == 1
    assert samples[("oss_signer_reconcile_last_success_timestamp_seconds", None)] == kit.clock().timestamp()


def test_another_deployments_uploads_and_its_holds_are_left_alone(kit):
    kit.db.add_multipart("OTHER1", "other-bucket", "uploads/x.mp4", "ann", "x.mp4", 10, 10, 1, "video/mp4")
    kit.db.add_multipart("OLDDIR", kit.app.config["SETTINGS"].bucket, "media/x.mp4", "ann", "x.mp4", 10, 10, 1, "video/mp4")
    kit.clock.advance(GRACE)
    assert "（c）分片上传：取消 0 个，补记已合并的 0 个，忘记 OSS 已没有的 0 个，正在处理中跳过 0 个" in reconcile(kit)
    assert kit.db.get_multipart("OTHER1", "ann") is not None and kit.db.get_multipart("OLDDIR", "ann") is not None


def test_expired_holds_are_settled_and_usage_can_be_recounted(kit):
    kit.upload(user="ann")  # uploaded, never recorded
    kit.sign(user="ann")  # signed, never used
    kit.clock.advance(2 * GRACE)
    kit.tokens.clear()
    lines = reconcile(kit)
    assert any(line.startswith("（d）过期数据") and "释放过期表单的占用 1 个" in line for line in lines), lines
    assert kit.call("GET", "/api/usage", "ann").json()["reservedBytes"] == 0
    # An operator edits uploads by hand; --recount-usage makes the counts follow.
    from sqlalchemy import text

    with kit.db.engine.begin() as conn:
        conn.execute(text("UPDATE uploads SET size = 7"))
    assert kit.call("GET", "/api/usage", "ann").json()["usedBytes"] == 5
    assert any("用量将按上传记录重新计算" in line for line in reconcile(kit, "--recount-usage"))
    assert kit.call("GET", "/api/usage", "ann").json()["usedBytes"] == 7


def test_a_completion_whose_record_is_gone_meanwhile_is_404_not_500(kit, monkeypatch):
    data = os.urandom(PART)
    upload = start(kit, len(data), user="ann")
    send_parts(kit, upload, data, user="ann")
    monkeypatch.setattr(kit.db, "finish_multipart", lambda *a: None)
    response = complete(kit, upload, user="ann")
    assert response.status_code == 404 and response.json()["error"]["code"] == "UploadNotFound"
