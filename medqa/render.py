"""HTML pieces and UI texts (English and Chinese) for the web app; pure functions, no Gradio."""
from __future__ import annotations

import html
import re
from typing import Any, Iterable, Sequence

from medqa.types import Answer, Citation, Route

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "medqa — hospital question answering",
        "tab_chat": "Ask", "tab_search": "Search", "tab_history": "History", "tab_admin": "Admin",
        "question": "Your question", "send": "Ask", "new_chat": "New conversation",
        "workflow": "Workflow", "no_workflow": "Free question",
        "citations": "Sources", "route": "How this was answered",
        "feedback": "Was this answer helpful?", "up": "👍 Helpful", "down": "👎 Not helpful",
        "comment": "Comment (optional)", "send_feedback": "Send feedback",
        "feedback_saved": "Thank you — feedback saved.", "feedback_none": "Ask a question first.",
        "search_query": "Search the documents", "search": "Search", "k": "Results",
        "history_refresh": "Refresh", "upload": "Upload documents (.md .txt .html .pdf .docx .jsonl)",
        "ingest": "Index uploaded files", "sources": "Indexed sources", "refresh": "Refresh",
        "remove_source": "Source to remove", "remove": "Remove source", "health": "Health",
        "eval_report": "Latest evaluation report", "no_report": "No evaluation report yet "
        "(run `medqa eval ...`; reports go to evals/reports/).",
        "language": "Language", "signed_in": "Signed in as", "logout": "Sign out",
        "answered_by": "answered by", "retrieval_on": "retrieval on", "retrieval_off": "retrieval off",
        "agree": "models agree", "of": "of", "reasoning": "Reasoning (click to expand)",
        "indexing": "Indexing {label}: {percent}% ({done} of {total}). Searches and answers use "
                    "what is indexed so far.",
        "admin_only": "Only admins can do this.", "no_hits": "No matching passages.",
        "partial": "The answer was cut off: ", "escalate": "Emergency",
        "upload_none": "Choose files to upload first.",
        "uncited": "The answer cites no passage by number; these are the passages it was given.",
        "matched": "matched by medqa, not cited by the model: this passage contains most words of",
        "no_relevant": "No passage in the indexed documents is close enough to this question to "
                       "show; the answer cites none. Check the wording, or ask an admin whether "
                       "the documents it needs are indexed.",
    },
    "zh": {
        "title": "medqa — 医院智能问答",
        "tab_chat": "提问", "tab_search": "检索", "tab_history": "历史记录", "tab_admin": "管理",
        "question": "您的问题", "send": "提问", "new_chat": "新对话",
        "workflow": "工作流程", "no_workflow": "自由提问",
        "citations": "参考来源", "route": "回答方式",
        "feedback": "这个回答有帮助吗？", "up": "👍 有帮助", "down": "👎 没帮助",
        "comment": "意见（可选）", "send_feedback": "提交反馈",
        "feedback_saved": "谢谢，反馈已保存。", "feedback_none": "请先提问。",
        "search_query": "检索文档", "search": "检索", "k": "结果数",
        "history_refresh": "刷新", "upload": "上传文档（.md .txt .html .pdf .docx .jsonl）",
        "ingest": "索引已上传的文件", "sources": "已索引的来源", "refresh": "刷新",
        "remove_source": "要删除的来源", "remove": "删除来源", "health": "运行状态",
        "eval_report": "最新评测报告", "no_report": "暂无评测报告（运行 `medqa eval ...`；报告保存在 evals/reports/）。",
        "language": "语言", "signed_in": "当前用户", "logout": "退出登录",
        "answered_by": "回答模型", "retrieval_on": "已启用检索", "retrieval_off": "未使用检索",
        "agree": "个模型意见一致", "of": "/", "reasoning": "推理过程（点击展开）",
        "indexing": "正在索引 {label}：{percent}%（{done}/{total}）。检索和回答使用已索引的部分。",
        "admin_only": "仅管理员可以执行此操作。", "no_hits": "没有找到匹配的段落。",
        "partial": "回答被中断：", "escalate": "紧急情况",
        "upload_none": "请先选择要上传的文件。",
        "uncited": "回答未按编号引用段落；以下是提供给模型的段落。",
        "matched": "由 medqa 匹配，并非模型引用：此段落包含以下句子的大部分词语",
        "no_relevant": "已索引的文档中没有与此问题足够相关的段落，回答未引用任何来源。请检查提问措辞，"
                       "或请管理员确认所需文档是否已索引。",
    },
}

_STOP = set("""a an and are as at be by can do does for from has have how i in is it its of on or
should the this to was what when where which who why will with you your""".split())


def t(lang: str, key: str, **kw: Any) -> str:
    """The UI text `key` in `lang` (English when missing)."""
    s = TEXT.get(lang, TEXT["en"]).get(key) or TEXT["en"][key]
    return s.format(**kw) if kw else s


def query_terms(query: str) -> list[str]:
    """Words worth highlighting: Latin words of 3+ letters (no stopwords), CJK pairs."""
    words = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9\-]{2,}", query)} - _STOP
    for run in re.findall(r"[\u4e00-\u9fff]+", query):
        words.update(run[i:i + 2] for i in range(max(1, len(run) - 1)))
    return sorted(words, key=len, reverse=True)


def highlight(text: str, query: str) -> str:
    """HTML-escaped text with the query's words wrapped in <mark>."""
    terms = query_terms(query)
    if not terms:
        return html.escape(text)
    pattern = re.compile("|".join(re.escape(w) for w in terms), re.IGNORECASE)
    out, last = [], 0
    for m in pattern.finditer(text):
        out += [html.escape(text[last:m.start()]), f"<mark>{html.escape(m.group())}</mark>"]
        last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def citations_html(citations: Iterable[Citation], query: str, lang: str = "en") -> str:
    """Each citation: [n] title, source, heading, link, and the passage with matches marked."""
    items = []
    for c in citations:
        matched = (f'<div class="mq-matched">{t(lang, "matched")} “{html.escape(c.sentence)}”</div>'
                   if c.how == "matched" else "")
        p = c.passage
        title = html.escape(p.title or p.doc_id)
        link = (f' · <a href="{html.escape(p.url)}" target="_blank" rel="noopener">{html.escape(p.url)}</a>'
                if p.url else "")
        heading = f" › {html.escape(p.heading)}" if p.heading else ""
        page = f" · p. {p.page}" if p.page else ""
        items.append(
            f'<details class="mq-cite" id="cite-{c.n}"{" open" if c.n <= 2 else ""}><summary><b>[{c.n}]</b> {title}{heading}'
            f' <span class="mq-src">{html.escape(p.source)}{page}</span></summary>'
            f'<div class="mq-meta">{html.escape(p.source)}{link}</div>{matched}'
            f'<blockquote>{highlight(p.text, query)}</blockquote></details>'
        )
    return '<div class="mq-cites">' + "".join(items) + "</div>" if items else ""


def sources_html(citations: Sequence[Citation], consulted: Sequence[Any], query: str,
                 lang: str = "en", searched: bool = False) -> str:
    """The answer's citations; when it cited nothing, the passages it was shown, so labelled;
    when a search found nothing relevant enough, a note saying so."""
    if citations:
        return citations_html(citations, query, lang)
    if not consulted:
        return f'<p class="mq-src">{t(lang, "no_relevant")}</p>' if searched else ""
    note = f'<p class="mq-src">{t(lang, "uncited")}</p>'
    return note + citations_html([Citation(i + 1, p) for i, p in enumerate(consulted)], query, lang)


def passages_html(passages: Iterable[Any], query: str, lang: str = "en") -> str:
    """Search results shown like citations."""
    cites = [Citation(i + 1, p) for i, p in enumerate(passages)]
    return citations_html(cites, query) or f"<p>{t(lang, 'no_hits')}</p>"


def route_card(answer: Answer | None, route: Route | None, lang: str = "en") -> str:
    """'answered by X, retrieval on, 3 of 3 models agree' plus the router's explanation."""
    route = (answer.route if answer and answer.route else None) or route
    if route is None:
        return ""
    backbone = (answer.backbone if answer else "") or ", ".join(route.backbones)
    parts = [f"{t(lang, 'answered_by')} <b>{html.escape(backbone)}</b>",
             t(lang, "retrieval_on" if route.retrieve else "retrieval_off")]
    n = len(answer.views) if answer and answer.views else len(route.backbones)
    if answer is not None and answer.agreement is not None and n:
        agree = round(answer.agreement * n)
        parts.append(f"{agree} {t(lang, 'of')} {n} {t(lang, 'agree')}")
    expl = f'<div class="mq-expl">{html.escape(route.explanation)}</div>' if route.explanation else ""
    return f'<div class="mq-route">{", ".join(parts)}{expl}</div>'


def banner_html(message: str, kind: str = "danger") -> str:
    """A coloured banner: danger (red, escalations) or info (indexing progress)."""
    return f'<div class="mq-banner mq-{kind}" role="alert">{html.escape(message)}</div>' if message else ""


def indexing_banner(job: dict[str, Any] | None, lang: str = "en") -> str:
    """The 'indexing N%' banner, or nothing when no ingest is running."""
    if not job:
        return ""
    return banner_html(t(lang, "indexing", label=job["label"], percent=job["percent"],
                         done=job["done"], total=job["total"] or "?"), "info")


def disclaimer_html(answer: Answer) -> str:
    """The mode's disclaimer (and any error note) under the answer."""
    notes = []
    if answer.partial or answer.error:
        notes.append(html.escape(answer.error or "partial answer"))
    if answer.disclaimer:
        notes.append(html.escape(answer.disclaimer))
    return "".join(f'<p class="mq-disclaimer">{n}</p>' for n in notes)
