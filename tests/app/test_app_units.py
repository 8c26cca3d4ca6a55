"""Auth, history, upload checks, workflows and rendering, without a server."""
from __future__ import annotations

from pathlib import Path

import pytest

from medqa import render, workflows
from medqa.auth import UserStore, ensure_first_admin, hash_password, verify_password
from medqa.errors import AuthError, ConfigError, UnknownName, UploadRejected
from medqa.history import History
from medqa.jobs import check_upload
from medqa.types import Answer, Citation, Passage, Route, View


def test_password_hash_is_salted_and_checks(tmp_path: Path) -> None:
    a, b = hash_password("correct horse"), hash_password("correct horse")
    assert a != b and "correct horse" not in a
    assert verify_password("correct horse", a)
    assert not verify_password("correct hors", a)
    store = UserStore(tmp_path / "u.sqlite3")
    store.add_user("alice", "alice-pass-1", "staff")
    assert store.authenticate("alice", "alice-pass-1").role == "staff"
    assert store.authenticate("alice", "wrong-pass-1") is None
    assert store.authenticate("nobody", "alice-pass-1") is None
    assert b"alice-pass-1" not in (tmp_path / "u.sqlite3").read_bytes()


def test_roles_and_short_passwords_refused(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "u.sqlite3")
    with pytest.raises(ConfigError, match="role"):
        store.add_user("x", "long-enough", "superuser")
    with pytest.raises(ConfigError, match="8 characters"):
        store.add_user("x", "short", "staff")


def test_api_keys_hashed_and_checked(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "u.sqlite3")
    store.add_user("root", "root-pass-333", "admin")
    key = store.create_key("root")
    assert store.check_key(key).is_admin
    assert key.encode() not in (tmp_path / "u.sqlite3").read_bytes()
    for bad in (None, "", key + "x", "mq_guess"):
        with pytest.raises(AuthError):
            store.check_key(bad)
    with pytest.raises(ConfigError, match="medqa users add"):
        store.create_key("ghost")


def test_first_admin_created_once(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "u.sqlite3")
    store.add_user("early", "staff-pass-1", "staff")  # a staff account made before the first run
    pw = ensure_first_admin(store, tmp_path)
    assert pw and store.authenticate("admin", pw).is_admin
    assert (tmp_path / "initial-admin-password").stat().st_mode & 0o777 == 0o600
    assert ensure_first_admin(store, tmp_path) is None


def test_history_is_per_user(tmp_path: Path) -> None:
    h = History(tmp_path / "h.sqlite3")
    conv = h.new_conversation()
    h.add("alice", conv, "alice's question", "an answer", "r1")
    h.add("alice", conv, "follow-up", "another", "r2")
    assert [t.question for t in h.turns("alice", conv)] == ["follow-up", "alice's question"]
    assert h.turns("bob", conv) == [] and h.turns("bob") == []
    assert h.conversations("alice")[0] == {**h.conversations("alice")[0], "id": conv, "turns": 2,
                                           "title": "alice's question"}
    assert h.conversations("bob") == []


@pytest.mark.parametrize("name,size,head,status,words", [
    ("notes.exe", 10, b"MZ", 415, "not accepted"),
    ("big.md", 2 * 1024 * 1024, b"# big", 413, "over the 1 MB limit"),
    ("fake.pdf", 100, b"hello", 415, "not a real .pdf"),
    ("bin.txt", 100, b"\x00\x01\x02\xff\xfe", 415, "not UTF-8"),
    ("empty.md", 0, b"", 415, "empty"),
])
def test_bad_uploads_rejected_with_reason(name: str, size: int, head: bytes, status: int,
                                          words: str) -> None:
    with pytest.raises(UploadRejected, match=words) as e:
        check_upload(name, size, head, max_mb=1)
    assert e.value.status == status and e.value.hint


def test_good_uploads_pass() -> None:
    check_upload("a.md", 10, "# 标题 text".encode(), max_mb=1)
    check_upload("b.pdf", 10, b"%PDF-1.7 ...", max_mb=1)
    check_upload("c.docx", 10, b"PK\x03\x04....", max_mb=1)


def test_workflows_shape_questions_in_both_languages() -> None:
    assert len(workflows.WORKFLOWS) == 5
    for w in workflows.WORKFLOWS.values():
        for lang in ("en", "zh"):
            q = w.question("HbA1c 7.8%", lang, user="alice")
            assert "HbA1c 7.8%" in q.text and q.text != "HbA1c 7.8%"
            assert q.workflow == w.name and q.lang == lang and q.user == "alice"
            assert w.label[lang] and w.placeholder[lang]
    assert workflows.get("explain_discharge").mode == "patient"
    assert workflows.build_question(" plain ").text == "plain"
    with pytest.raises(UnknownName, match="triage_intake"):
        workflows.get("nope")


def test_every_ui_text_exists_in_chinese() -> None:
    assert set(render.TEXT["en"]) == set(render.TEXT["zh"])
    assert render.t("zh", "send") == "提问"


def test_highlight_marks_query_words_and_escapes() -> None:
    out = render.highlight("Stop <b>metformin</b> when eGFR falls", "When to stop Metformin?")
    assert "<mark>metformin</mark>" in out and "&lt;b&gt;" in out
    assert "<mark>Stop</mark>" in out and "<mark>when</mark>" not in out  # stopword
    assert "<mark>胸闷</mark>" in render.highlight("患者胸闷两天", "胸闷怎么办")


def test_route_card_and_citations() -> None:
    p = Passage("c1", "Metformin dosing text", "d1", "Metformin", "drugs.md",
                url="https://example.org/m", heading="Dosing")
    route = Route(("qwen-a", "qwen-b", "qwen-c"), True, "vote", explanation="hard question")
    views = tuple(View(b, "x") for b in route.backbones)
    a = Answer("text [1]", (Citation(1, p),), "qwen-a", route, agreement=1.0, views=views)
    card = render.route_card(a, None, "en")
    assert "answered by <b>qwen-a</b>, retrieval on, 3 of 3 models agree" in card
    assert "3 / 3 个模型意见一致" in render.route_card(a, None, "zh")
    html = render.citations_html(a.citations, "metformin dosing")
    for part in ("[1]", "Metformin", "Dosing", "drugs.md", "https://example.org/m",
                 "<mark>Metformin</mark>"):
        assert part in html
    assert "mq-matched" not in html  # the model wrote [1] itself


def test_a_matched_citation_is_labelled_as_medqas_not_the_models() -> None:
    p = Passage("c1", "Metformin dosing text", "d1", "Metformin", "drugs.md")
    cite = Citation(1, p, how="matched", sentence="Metformin <dosing> is weekly.")
    html = render.citations_html([cite], "metformin", "en")
    assert "matched by medqa, not cited by the model" in html and "&lt;dosing&gt;" in html
    assert "由 medqa 匹配" in render.sources_html([cite], [p], "metformin", "zh")


def test_a_search_that_found_nothing_relevant_says_so() -> None:
    assert "close enough to this question" in render.sources_html([], [], "wifi?", "en", searched=True)
    assert "没有与此问题足够相关的段落" in render.sources_html([], [], "wifi?", "zh", searched=True)
    assert render.sources_html([], [], "hello", "en") == ""  # retrieval was off: nothing to say


def test_indexing_banner_shows_progress() -> None:
    job = {"label": "medquad", "percent": 34, "done": 340, "total": 1000}
    assert "Indexing medquad: 34% (340 of 1000)" in render.indexing_banner(job, "en")
    assert "正在索引 medquad：34%" in render.indexing_banner(job, "zh")
    assert render.indexing_banner(None) == ""


def test_failed_ingest_job_is_reported_and_worker_goes_on(settings, tmp_path: Path) -> None:
    from medqa.jobs import IngestJobs

    finished = []
    jobs = IngestJobs(settings, on_done=finished.append)
    bad = jobs.submit(str(tmp_path / "no-such-folder"), "missing")
    good = jobs.submit(str(tmp_path / "no-such-either"), "missing too")
    assert jobs.wait(bad.id, 120).status == "failed" and bad.message
    assert jobs.wait(good.id, 120).status == "failed"
    assert [j.id for j in finished] == [bad.id, good.id]
    assert jobs.active() is None and jobs.latest() is good
