"""REST API (FastAPI) with an OpenAI-compatible endpoint; the Gradio app is mounted at /."""
from __future__ import annotations

import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Iterator, Literal

from fastapi import Depends, FastAPI, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from medqa.auth import User
from medqa.config import Settings
from medqa.errors import (AuthError, IndexMissing, MedQAError, QueryError, StorageFull, UnknownName,
                          UploadRejected)
from medqa.jobs import save_upload
from medqa.services import Services
from medqa.types import Answer, Message, Question, Reasoning, Token, Triaged
from medqa.workflows import build_question

MODEL_NAME = "medqa"  # the routed model: the router picks the backbone(s) per question


# ---- request bodies (pydantic only here, at the boundary) ----
class AskBody(BaseModel):
    question: str
    workflow: str | None = None
    lang: Literal["en", "zh"] | None = None
    conversation: str | None = None


class ChatMessageBody(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class ChatBody(BaseModel):
    model: str = MODEL_NAME
    messages: list[ChatMessageBody] = Field(min_length=1)
    stream: bool = False
    workflow: str | None = None  # medqa extension: a patient-service preset
    lang: Literal["en", "zh"] | None = None
    conversation: str | None = None


class FeedbackBody(BaseModel):
    request_id: str
    thumbs: Literal[1, -1]
    comment: str = ""


# ---- JSON views of the shared types ----
def passage_json(n: int, p: Any) -> dict[str, Any]:
    """One numbered passage with everything a client needs to show and link it."""
    return {"n": n, "title": p.title, "source": p.source, "heading": p.heading, "url": p.url,
            "page": p.page, "text": p.text, "score": p.score, "doc_id": p.doc_id}


def citation_json(c: Any) -> dict[str, Any]:
    """One citation: its passage, and whether the model wrote [n] or medqa matched it."""
    return passage_json(c.n, c.passage) | {"how": c.how, "sentence": c.sentence}


def answer_json(a: Answer) -> dict[str, Any]:
    """An Answer as REST returns it."""
    route = a.route
    return {
        "answer": a.text, "citations": [citation_json(c) for c in a.citations],
        "backbone": a.backbone, "agreement": a.agreement,
        "route": None if route is None else {
            "backbones": list(route.backbones), "retrieve": route.retrieve,
            "strategy": route.strategy, "explanation": route.explanation},
        "views": [{"backbone": v.backbone, "text": v.text, "choice": v.choice} for v in a.views],
        "disclaimer": a.disclaimer, "emergency": a.emergency, "partial": a.partial,
        "error": a.error, "timings": dict(a.timings), "request_id": a.request_id,
    }


def _status(e: MedQAError) -> int:
    if isinstance(e, AuthError):
        return 401
    if isinstance(e, UploadRejected):
        return e.status
    if isinstance(e, (QueryError, UnknownName)):
        return 400
    if isinstance(e, IndexMissing):
        return 503
    if isinstance(e, StorageFull):
        return 507  # Insufficient Storage
    return 500


def _question_from_chat(body: ChatBody, user: User) -> Question:
    turns = [m for m in body.messages if m.role != "system"]
    if not turns or turns[-1].role != "user":
        raise QueryError("The last message must be from the user.", "End `messages` with a user turn.")
    q = build_question(turns[-1].content, body.workflow, body.lang, user.name, user.tenant)
    history = tuple(Message(m.role, m.content) for m in turns[:-1])
    from dataclasses import replace

    return replace(q, history=history)


def create_app(settings: Settings, services: Services | None = None, ui: bool = True) -> FastAPI:
    """The FastAPI app: REST under /v1, /healthz, OpenAPI at /docs, the web app at /."""
    svc = services or Services(settings)
    api = FastAPI(title="medqa", version="0.1.0",
                  description="Cited answers to hospital staff's medical questions. "
                              "Authenticate with `Authorization: Bearer <API key>`.")
    api.state.services = svc
    bearer = HTTPBearer(auto_error=False)

    def current_user(creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> User:
        return svc.users.check_key(creds.credentials if creds else None)

    def admin_user(user: User = Depends(current_user)) -> User:
        if not user.is_admin:
            raise _Forbidden()
        return user

    @api.exception_handler(MedQAError)
    async def _medqa_error(request: Request, e: MedQAError) -> JSONResponse:
        code = _status(e)
        headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
        return JSONResponse({"error": {"message": e.message, "hint": e.hint,
                                       "type": type(e).__name__, "code": code}},
                            status_code=code, headers=headers)

    @api.exception_handler(_Forbidden)
    async def _forbidden(request: Request, e: Exception) -> JSONResponse:
        return JSONResponse({"error": {"message": "This needs an admin's API key.",
                                       "type": "Forbidden", "code": 403}}, status_code=403)

    @api.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, Any]:
        """Liveness plus the state of the index, the backends and any running ingest."""
        return svc.health()

    @api.get("/v1/models", tags=["openai"])
    def models(user: User = Depends(current_user)) -> dict[str, Any]:
        """The one routed model, as the OpenAI API lists models."""
        return {"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "owned_by": "medqa"}]}

    @api.post("/v1/ask", tags=["medqa"])
    def ask(body: AskBody, user: User = Depends(current_user)) -> dict[str, Any]:
        """Answer one question; JSON with the answer, citations and route."""
        q = build_question(body.question, body.workflow, body.lang, user.name, user.tenant)
        conv = body.conversation or svc.history.new_conversation()
        out = answer_json(svc.ask(q, conv))
        out["conversation"] = conv
        return out

    @api.get("/v1/search", tags=["medqa"])
    def search(q: str = Query(..., description="search text"), k: int = Query(5, ge=1, le=50),
               user: User = Depends(current_user)) -> dict[str, Any]:
        """Retrieval only (no model): the best-matching passages."""
        hits = svc.search(q, k)
        return {"query": q, "passages": [passage_json(i + 1, p) for i, p in enumerate(hits)]}

    @api.post("/v1/chat/completions", tags=["openai"])
    def chat(body: ChatBody, user: User = Depends(current_user)) -> Any:
        """OpenAI-compatible chat; model `medqa` is routed. Extra fields: citations, route."""
        if body.model != MODEL_NAME:
            raise UnknownName("model", body.model, [MODEL_NAME])
        q = _question_from_chat(body, user)
        conv = body.conversation or svc.history.new_conversation()
        cid, created = "chatcmpl-" + uuid.uuid4().hex[:24], int(time.time())
        if body.stream:
            return StreamingResponse(_sse(svc.stream(q, conv), cid, created),
                                     media_type="text/event-stream")
        a = svc.ask(q, conv)
        extra = answer_json(a)
        return {"id": cid, "object": "chat.completion", "created": created, "model": MODEL_NAME,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": a.text}}],
                "citations": extra["citations"], "route": extra["route"], "medqa": extra}

    @api.post("/v1/feedback", tags=["medqa"])
    def feedback(body: FeedbackBody, user: User = Depends(current_user)) -> dict[str, str]:
        """Thumbs (+1/-1) and a comment, stored with the answer's audit record."""
        svc.feedback(body.request_id, user.name, body.thumbs, body.comment)
        return {"status": "recorded"}

    @api.get("/v1/history", tags=["medqa"])
    def history(user: User = Depends(current_user)) -> dict[str, Any]:
        """The caller's own conversations (never anyone else's)."""
        return {"user": user.name, "conversations": svc.history.conversations(user.name, user.tenant)}

    @api.get("/v1/history/{conversation}", tags=["medqa"])
    def conversation(conversation: str, user: User = Depends(current_user)) -> Any:
        """The turns of one of the caller's conversations; 404 for anyone else's."""
        turns = svc.history.turns(user.name, conversation, tenant=user.tenant)
        if not turns:
            return JSONResponse({"error": {"message": "No such conversation.", "code": 404}}, 404)
        return {"conversation": conversation, "turns": [t.__dict__ for t in reversed(turns)]}

    @api.post("/v1/ingest", tags=["admin"])
    async def ingest(file: UploadFile = File(...), wait: bool = False,
                     user: User = Depends(admin_user)) -> dict[str, Any]:
        """Upload a document (.md .txt .html .pdf .docx .jsonl) and index it; admins only."""
        name = file.filename or "upload"
        limit = settings.server.max_upload_mb * 1024 * 1024
        with tempfile.TemporaryDirectory() as tmp:
            path, size = Path(tmp) / "upload", 0
            with open(path, "wb") as out:
                while chunk := await file.read(1 << 20):
                    size += len(chunk)
                    if size > limit:  # stop reading at once: never buffer an oversized body
                        raise UploadRejected(
                            f"{name}: over the {settings.server.max_upload_mb} MB limit.",
                            "Split the document, or raise server.max_upload_mb.", status=413)
                    out.write(chunk)
            dest = save_upload(path, name, settings)
        job = svc.jobs.submit(str(dest), name)
        if wait:
            from starlette.concurrency import run_in_threadpool

            job = await run_in_threadpool(svc.jobs.wait, job.id)
        return job.as_dict()

    @api.get("/v1/ingest/{job_id}", tags=["admin"])
    def ingest_status(job_id: str, user: User = Depends(admin_user)) -> Any:
        """Progress of an ingest job."""
        job = svc.jobs.jobs.get(job_id)
        if job is None:
            return JSONResponse({"error": {"message": "No such ingest job.", "code": 404}}, 404)
        return job.as_dict()

    @api.get("/v1/sources", tags=["admin"])
    def sources(user: User = Depends(admin_user)) -> dict[str, Any]:
        """Every indexed source."""
        from medqa.retrieval.hybrid import list_sources

        return {"sources": list_sources(settings)}

    if ui:
        mount_ui(api, svc)
    return api


class _Forbidden(Exception):
    """A staff key used on an admin endpoint."""


def _chunk(cid: str, created: int, delta: dict[str, Any], finish: str | None = None,
           **extra: Any) -> str:
    body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_NAME,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def _sse(events: Iterator[Any], cid: str, created: int) -> Iterator[str]:
    """OpenAI-style server-sent events; the last chunk carries citations and route."""
    yield _chunk(cid, created, {"role": "assistant", "content": ""})
    streamed = False
    try:
        for ev in events:
            if isinstance(ev, Token) and ev.text:
                streamed = True
                yield _chunk(cid, created, {"content": ev.text})
            elif isinstance(ev, Reasoning) and ev.text:
                yield _chunk(cid, created, {"reasoning_content": ev.text})
            elif isinstance(ev, Triaged) and ev.emergency and ev.message:
                yield _chunk(cid, created, {}, medqa={"emergency": True, "message": ev.message})
            elif isinstance(ev, Answer):
                if not streamed and ev.text:  # e.g. an escalation: no tokens came before
                    yield _chunk(cid, created, {"content": ev.text})
                extra = answer_json(ev)
                yield _chunk(cid, created, {}, "stop", citations=extra["citations"],
                             route=extra["route"], medqa=extra)
    except MedQAError as e:  # headers are sent: report in-band, as OpenAI does
        yield f"data: {json.dumps({'error': {'message': e.message, 'hint': e.hint}})}\n\n"
    yield "data: [DONE]\n\n"


def mount_ui(api: FastAPI, svc: Services) -> None:
    """Mount the Gradio app (app.py at the project root) at / behind its sign-in page."""
    import importlib.util
    import os

    # hospitals run offline: no usage analytics calls from Gradio
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    from medqa.config import PROJECT_ROOT

    spec = importlib.util.spec_from_file_location("medqa_app", PROJECT_ROOT / "app.py")
    assert spec and spec.loader, "app.py is missing from the project root"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    blocks = module.build_ui(svc)

    def check(username: str, password: str) -> bool:
        return svc.users.authenticate(username, password, svc.settings.tenant) is not None

    gr.mount_gradio_app(
        api, blocks, path="", auth=check, auth_message="medqa: sign in with your hospital account.",
        footer_links=["api"], run_history=False, theme=module.THEME(), css=module.CSS,
        max_file_size=f"{svc.settings.server.max_upload_mb * 2}mb", show_error=True,
    )
