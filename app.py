"""The staff web app (Gradio 6 Blocks): renders the Assistant's events; holds no logic.

Served by `medqa serve` (mounted on the FastAPI app in medqa/server.py); `python app.py`
does the same.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import gradio as gr

from medqa import render
from medqa.attribution import with_markers
from medqa.config import PROJECT_ROOT
from medqa.errors import MedQAError
from medqa.jobs import save_upload
from medqa.render import t
from medqa.types import Answer, Reasoning, Retrieved, Routed, Token, Triaged
from medqa.workflows import WORKFLOWS, build_question

LANGS = [("English", "en"), ("中文", "zh")]
CSS = """
.mq-banner{padding:.7em 1em;border-radius:8px;font-weight:600;margin:.3em 0}
.mq-danger{background:#b91c1c;color:#fff}
.mq-info{background:#e0f2fe;color:#075985}
.mq-route{padding:.5em .8em;border-left:4px solid #2563eb;background:#eff6ff;border-radius:6px}
.mq-expl{font-weight:400;font-size:.85em;color:#475569;margin-top:.2em}
.mq-cite{border:1px solid #e2e8f0;border-radius:6px;padding:.4em .7em;margin:.3em 0}
.mq-cite blockquote{white-space:pre-wrap;font-size:.9em;margin:.4em 0}
.mq-src,.mq-meta{color:#64748b;font-size:.85em}
.mq-matched{color:#92400e;font-size:.85em;font-style:italic}
.mq-cite mark{background:#fde68a;padding:0 .1em}
.mq-disclaimer{font-size:.85em;color:#92400e}
"""


def THEME() -> gr.themes.Base:
    """System fonts only: the app must not fetch web fonts (hospitals run it offline)."""
    return gr.themes.Soft(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def _workflow_choices(lang: str) -> list[tuple[str, str]]:
    return [(t(lang, "no_workflow"), "")] + [(w.label[lang], w.name) for w in WORKFLOWS.values()]


def _placeholder(wf: str, lang: str) -> str:
    w = WORKFLOWS.get(wf)
    return w.placeholder[lang] if w else ""


def _error_text(e: MedQAError) -> str:
    return f"⚠️ {e.message} {e.hint}".strip()


def build_ui(svc: Any) -> gr.Blocks:
    """The Blocks app; `svc` is a medqa.services.Services."""
    tenant = svc.settings.tenant

    def user_of(request: gr.Request) -> Any:
        return svc.users.get(request.username or "", tenant) if request else None

    with gr.Blocks(title="medqa") as demo:
        lang = gr.State("en")
        conv = gr.State(None)
        last_rid = gr.State("")
        job_seen = gr.State(0.0)  # finish time of the last ingest the admin tab has shown
        with gr.Row():
            title = gr.Markdown(f"## {t('en', 'title')}")
            lang_pick = gr.Radio(LANGS, value="en", label=t("en", "language"), scale=0,
                                 min_width=200, elem_id="mq-lang")
            with gr.Column(scale=0, min_width=180):
                who = gr.Markdown("", elem_id="mq-who")
                logout = gr.Button(t("en", "logout"), link="/logout", size="sm")
        index_banner = gr.HTML(elem_id="mq-index-banner")
        alarm = gr.HTML(elem_id="mq-alarm")
        with gr.Tabs():
            with gr.Tab(t("en", "tab_chat"), id="chat") as tab_chat:
                workflow = gr.Radio(_workflow_choices("en"), value="", label=t("en", "workflow"),
                                    elem_id="mq-workflow")
                chat = gr.Chatbot(height=420, elem_id="mq-chat", feedback_options=None, show_label=False,
                                  buttons=["copy"])
                with gr.Row():
                    question = gr.Textbox(label=t("en", "question"), lines=2, scale=5,
                                          elem_id="mq-question")
                    with gr.Column(scale=1, min_width=120):
                        send = gr.Button(t("en", "send"), variant="primary", elem_id="mq-send")
                        new_chat = gr.Button(t("en", "new_chat"), size="sm")
                route_card = gr.HTML(elem_id="mq-route")
                disclaimer = gr.HTML(elem_id="mq-disclaimer")
                cites_title = gr.Markdown(f"### {t('en', 'citations')}")
                cites = gr.HTML(elem_id="mq-citations")
                with gr.Row(equal_height=True):
                    fb_label = gr.Markdown(t("en", "feedback"))
                    comment = gr.Textbox(label=t("en", "comment"), scale=3, elem_id="mq-comment")
                    up = gr.Button(t("en", "up"), elem_id="mq-up", scale=0, min_width=120)
                    down = gr.Button(t("en", "down"), elem_id="mq-down", scale=0, min_width=120)
                fb_msg = gr.Markdown(elem_id="mq-feedback-msg")
            with gr.Tab(t("en", "tab_search"), id="search") as tab_search:
                with gr.Row():
                    sq = gr.Textbox(label=t("en", "search_query"), scale=5, elem_id="mq-search-q")
                    sk = gr.Slider(1, 20, value=5, step=1, label=t("en", "k"), scale=1)
                sbtn = gr.Button(t("en", "search"), variant="primary", elem_id="mq-search-btn")
                sres = gr.HTML(elem_id="mq-search-results")
            with gr.Tab(t("en", "tab_history"), id="history") as tab_hist:
                hbtn = gr.Button(t("en", "history_refresh"), size="sm", elem_id="mq-history-refresh")
                hist = gr.HTML(elem_id="mq-history")
            with gr.Tab(t("en", "tab_admin"), id="admin", visible=False) as tab_admin:
                files = gr.File(label=t("en", "upload"), file_count="multiple", elem_id="mq-upload")
                ingest_btn = gr.Button(t("en", "ingest"), variant="primary", elem_id="mq-ingest")
                ingest_msg = gr.Markdown(elem_id="mq-ingest-msg")
                ingest_status = gr.Markdown(elem_id="mq-ingest-status")
                sources_title = gr.Markdown(f"### {t('en', 'sources')}")
                sources = gr.JSON(elem_id="mq-sources")
                with gr.Row():
                    rm_name = gr.Textbox(label=t("en", "remove_source"), scale=4)
                    rm_btn = gr.Button(t("en", "remove"), variant="stop", scale=1)
                    refresh = gr.Button(t("en", "refresh"), scale=1)
                health_title = gr.Markdown(f"### {t('en', 'health')}")
                health = gr.JSON()
                report_title = gr.Markdown(f"### {t('en', 'eval_report')}")
                report = gr.Markdown()
        timer = gr.Timer(2.0)

        # ---- handlers: each one renders services' results, nothing more ----
        def signed_in(lg: str, request: gr.Request) -> str:
            user = user_of(request)
            return (f"{t(lg, 'signed_in')} **{html.escape(user.name)}** ({user.role})"
                    if user else "")

        def on_load(request: gr.Request):
            user = user_of(request)
            return (signed_in("en", request), gr.Tab(visible=bool(user and user.is_admin)),
                    history_html("en", request))

        def history_html(lg: str, request: gr.Request) -> str:
            turns = svc.history.turns(request.username or "", tenant=tenant, limit=50)
            rows = "".join(
                f"<details><summary>{html.escape(x.question[:120])}</summary>"
                f"<p>{html.escape(x.answer)}</p></details>" for x in turns)
            return rows or "<p>—</p>"

        def respond(text: str, messages: list, wf: str, lg: str, conv_id: str | None,
                    request: gr.Request):
            text = (text or "").strip()
            if not text:
                yield messages, "", gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), conv_id, ""
                return
            conv_id = conv_id or svc.history.new_conversation()
            q = build_question(text, wf or None, lg, request.username or "anonymous", tenant)
            messages = list(messages or []) + [{"role": "user", "content": text}]
            thought: dict | None = None
            reply = {"role": "assistant", "content": ""}
            route_html, banner, rid = "", "", ""
            consulted: list = []
            yield messages + [reply], "", "", "", "", "", rid, conv_id, ""
            try:
                for ev in svc.stream(q, conv_id):
                    if isinstance(ev, Triaged) and ev.emergency:
                        banner = render.banner_html(f"{t(lg, 'escalate')}: {ev.message or ''}")
                    elif isinstance(ev, Routed):
                        route_html = render.route_card(None, ev.route, lg)
                    elif isinstance(ev, Retrieved):
                        consulted = list(ev.passages)
                        continue
                    elif isinstance(ev, Reasoning):
                        if thought is None:
                            thought = {"role": "assistant", "content": "",
                                       "metadata": {"title": t(lg, "reasoning"), "status": "pending"}}
                        thought["content"] += ev.text
                    elif isinstance(ev, Token):
                        reply["content"] += ev.text
                    elif isinstance(ev, Answer):
                        reply["content"] = with_markers(ev.text, ev.citations)
                        rid = ev.request_id
                        if ev.emergency and not banner:
                            banner = render.banner_html(ev.text)
                        if thought is not None:
                            thought["metadata"] = {"title": t(lg, "reasoning"), "status": "done"}
                        shown = messages + ([thought] if thought else []) + [reply]
                        yield (shown, "", render.route_card(ev, None, lg) or route_html,
                               render.sources_html(ev.citations, consulted, text, lg,
                                                   searched=bool(ev.route and ev.route.retrieve)),
                               banner,
                               render.disclaimer_html(ev), rid, conv_id, "")
                        return
                    shown = messages + ([thought] if thought else []) + [reply]
                    yield shown, "", route_html, "", banner, "", rid, conv_id, ""
            except MedQAError as e:
                reply["content"] = (reply["content"] + "\n\n" if reply["content"] else "") + _error_text(e)
                yield messages + [reply], "", route_html, "", banner, "", rid, conv_id, ""

        def give_feedback(thumbs: int):
            def handler(rid: str, note: str, lg: str, request: gr.Request):
                if not rid:
                    return t(lg, "feedback_none"), note
                try:
                    svc.feedback(rid, request.username or "anonymous", thumbs, note or "")
                except MedQAError as e:
                    return _error_text(e), note
                return t(lg, "feedback_saved"), ""
            return handler

        def do_search(query: str, k: float, lg: str):
            try:
                return render.passages_html(svc.search(query, int(k)), query, lg)
            except MedQAError as e:
                return f"<p>{html.escape(_error_text(e))}</p>"

        def require_admin(request: gr.Request) -> None:
            user = user_of(request)
            if not (user and user.is_admin):
                raise gr.Error(t("en", "admin_only"))

        def do_ingest(paths: list | None, lg: str, request: gr.Request):
            require_admin(request)
            if not paths:
                return t(lg, "upload_none"), None
            lines = []
            for p in paths:
                name = Path(p).name
                try:
                    dest = save_upload(Path(p), name, svc.settings)
                    svc.jobs.submit(str(dest), name)
                    lines.append(f"- ✅ {name}")
                except MedQAError as e:
                    lines.append(f"- ❌ {e.message} {e.hint}")
            return "\n".join(lines), None

        def admin_view(request: gr.Request):
            require_admin(request)
            return sources_now(), svc.health(), latest_report()

        def sources_now() -> Any:
            from medqa.retrieval.hybrid import list_sources

            try:
                return list_sources(svc.settings)
            except MedQAError as e:
                return {"error": str(e)}

        def remove(name: str, request: gr.Request):
            require_admin(request)
            from medqa.retrieval.hybrid import remove_source

            if name.strip():
                try:
                    n = remove_source(svc.settings, name.strip())
                    gr.Info(f"{name.strip()}: {n} chunks removed")
                except MedQAError as e:
                    raise gr.Error(_error_text(e)) from None
            return admin_view(request)

        def tick(lg: str, seen: float, request: gr.Request):
            latest = svc.jobs.latest()
            status, srcs = gr.skip(), gr.skip()
            if latest is not None:
                j = latest.as_dict()
                added = f", +{j['report']['added']} chunks" if j["report"] else ""
                status = (f"**{html.escape(j['label'])}**: {j['status']} {j['percent']}%{added}"
                          f" {html.escape(j['message'])}")
                user = user_of(request)
                if latest.finished and latest.finished != seen and user and user.is_admin:
                    seen, srcs = latest.finished, sources_now()  # show what was just indexed
            return render.indexing_banner(svc.indexing(), lg), status, srcs, seen

        def relabel(lg: str, wf: str, request: gr.Request):
            heads = [f"## {t(lg, 'title')}", f"### {t(lg, 'citations')}", f"### {t(lg, 'sources')}",
                     f"### {t(lg, 'health')}", f"### {t(lg, 'eval_report')}", t(lg, "feedback")]
            return [lg, gr.Radio(label=t(lg, "language")), gr.Button(t(lg, "logout")),
                    gr.Tab(label=t(lg, "tab_chat")), gr.Tab(label=t(lg, "tab_search")),
                    gr.Tab(label=t(lg, "tab_history")), gr.Tab(label=t(lg, "tab_admin")),
                    gr.Radio(choices=_workflow_choices(lg), label=t(lg, "workflow")),
                    gr.Textbox(label=t(lg, "question"), placeholder=_placeholder(wf, lg)),
                    gr.Button(t(lg, "send")),
                    gr.Button(t(lg, "new_chat")), gr.Textbox(label=t(lg, "comment")),
                    gr.Button(t(lg, "up")), gr.Button(t(lg, "down")),
                    gr.Textbox(label=t(lg, "search_query")), gr.Slider(label=t(lg, "k")),
                    gr.Button(t(lg, "search")), gr.Button(t(lg, "history_refresh")),
                    gr.File(label=t(lg, "upload")), gr.Button(t(lg, "ingest")),
                    gr.Textbox(label=t(lg, "remove_source")), gr.Button(t(lg, "remove")),
                    gr.Button(t(lg, "refresh")), signed_in(lg, request)] + heads

        def placeholder(wf: str, lg: str):
            return gr.Textbox(placeholder=_placeholder(wf, lg))

        # ---- wiring ----
        demo.load(on_load, None, [who, tab_admin, hist], show_progress="hidden")
        chat_io = dict(inputs=[question, chat, workflow, lang, conv],
                       outputs=[chat, question, route_card, cites, alarm, disclaimer, last_rid,
                                conv, fb_msg], show_progress="minimal")
        send.click(respond, **chat_io)
        question.submit(respond, **chat_io)
        new_chat.click(lambda: ([], None, "", "", "", "", ""), None,
                       [chat, conv, route_card, cites, alarm, disclaimer, last_rid])
        workflow.change(placeholder, [workflow, lang], [question])
        up.click(give_feedback(1), [last_rid, comment, lang], [fb_msg, comment])
        down.click(give_feedback(-1), [last_rid, comment, lang], [fb_msg, comment])
        sbtn.click(do_search, [sq, sk, lang], [sres])
        sq.submit(do_search, [sq, sk, lang], [sres])
        hbtn.click(history_html, [lang], [hist])
        tab_hist.select(history_html, [lang], [hist])
        ingest_btn.click(do_ingest, [files, lang], [ingest_msg, files])
        tab_admin.select(admin_view, None, [sources, health, report])
        refresh.click(admin_view, None, [sources, health, report])
        rm_btn.click(remove, [rm_name], [sources, health, report])
        timer.tick(tick, [lang, job_seen], [index_banner, ingest_status, sources, job_seen], show_progress="hidden")
        lang_pick.change(relabel, [lang_pick, workflow], show_progress="hidden", outputs=[
            lang, lang_pick, logout, tab_chat, tab_search, tab_hist, tab_admin, workflow, question,
            send, new_chat, comment, up, down, sq, sk, sbtn, hbtn, files, ingest_btn, rm_name,
            rm_btn, refresh, who, title, cites_title, sources_title, health_title, report_title,
            fb_label])
    demo.queue(default_concurrency_limit=8)
    return demo


def latest_report() -> str:
    """The newest Markdown report under evals/reports/, or a note that there is none."""
    reports = sorted((PROJECT_ROOT / "evals" / "reports").glob("**/*.md"),
                     key=lambda p: p.stat().st_mtime)
    return reports[-1].read_text(encoding="utf-8") if reports else t("en", "no_report")


if __name__ == "__main__":
    import sys

    from medqa.cli import main

    sys.argv = ["medqa", "serve", *sys.argv[1:]]
    main()
