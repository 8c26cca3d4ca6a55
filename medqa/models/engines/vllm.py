"""The vLLM Backend: a backbone behind an OpenAI-compatible vLLM server, via the `openai` client."""
from __future__ import annotations

import json
import math
import time
from typing import Any, Iterator

from medqa.config import Settings
from medqa.errors import BackendUnavailable
from medqa.models.base import Backend
from medqa.models.engines.chat_format import ThinkSplitter
from medqa.models.manifest import backbone
from medqa.models.registry import register_engine
from medqa.types import Delta, GenParams, Message


def _split(pieces: list[tuple[str, str]]) -> tuple[str, str]:
    """(answer, reasoning) from ThinkSplitter's pieces."""
    return ("".join(t for k, t in pieces if k == "text"),
            "".join(t for k, t in pieces if k == "reasoning"))


def _known_urls(name: str, settings: Settings) -> list[str]:
    urls = settings.models.vllm_urls.get(name)
    if urls:
        return list(urls)
    from medqa.models.vllm_server import servers_file

    try:
        return list(json.loads(servers_file(settings).read_text()).get(name, []))
    except (OSError, ValueError):
        return []


def is_remote(base_url: str) -> bool:
    """True when `base_url` is on another machine: anything but a loopback host.

    A server on the hospital's LAN is remote too: the prompt leaves this machine."""
    import ipaddress
    from urllib.parse import urlsplit

    host = (urlsplit(base_url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost: assume it is elsewhere
        return True


class VLLMBackend(Backend):
    """One backbone served by one vLLM server at `base_url` (".../v1").

    With `redact_prompts`, every prompt goes through PHI redaction before it is sent
    (safety.redact_remote_prompts turns this on for servers on other machines)."""

    def __init__(self, name: str, base_url: str, timeout_s: float = 120.0,
                 redact_prompts: bool = False) -> None:
        b = backbone(name)
        self.name, self.family, self._b = name, b.family, b
        self.base_url, self.timeout_s = base_url.rstrip("/"), timeout_s
        self.redact_prompts = redact_prompts
        self._client: Any = None

    def _outgoing(self, text: str) -> str:
        if not self.redact_prompts:
            return text
        from medqa.safety.phi import redact

        return redact(text).text

    def _client_for(self, timeout_s: float) -> Any:
        import httpx
        import openai

        if self._client is None:
            self._client = openai.OpenAI(base_url=self.base_url, api_key="EMPTY", max_retries=0)
        # read= is the longest silence tolerated between two streamed chunks
        return self._client.with_options(timeout=httpx.Timeout(timeout_s, connect=5.0))

    def _unavailable(self, err: Exception, partial: str = "") -> BackendUnavailable:
        from medqa.models.vllm_server import serve_command

        import openai

        what = ("broke off mid-answer" if partial else
                "refused the request" if isinstance(err, openai.APIStatusError) else
                "is not reachable")
        return BackendUnavailable(
            f"vLLM server for {self.name} at {self.base_url} {what} ({type(err).__name__}: {err}).",
            f"Start it with: {serve_command(self.name)}",
            partial_text=partial,
        )

    def _errors(self) -> tuple[type[BaseException], ...]:
        import httpx
        import openai

        return (openai.APIConnectionError, openai.APIStatusError, httpx.HTTPError, OSError)

    def chat(self, messages: list[Message], params: GenParams) -> Iterator[Delta]:
        """Stream a chat; reasoning (parser field or <think> tags) goes to Delta.reasoning."""
        extra: dict[str, Any] = {}
        if self._b.reasoning == "qwen3_switch":
            extra["chat_template_kwargs"] = {"enable_thinking": params.reasoning}
        kwargs: dict[str, Any] = dict(
            model=self.name,
            messages=[{"role": m.role, "content": self._outgoing(m.content)} for m in messages],
            max_tokens=params.max_tokens, temperature=params.temperature, top_p=params.top_p,
            stream=True, stream_options={"include_usage": True}, extra_body=extra)
        if params.stop:
            kwargs["stop"] = list(params.stop)
        if params.seed is not None:
            kwargs["seed"] = params.seed
        splitter = ThinkSplitter(in_think=False)
        partial: list[str] = []
        deadline = time.monotonic() + params.timeout_s
        try:
            stream = self._client_for(params.timeout_s).chat.completions.create(**kwargs)
            for chunk in stream:
                if time.monotonic() > deadline:
                    stream.close()
                    raise TimeoutError(f"no complete answer within {params.timeout_s:g} s")
                if chunk.usage and not chunk.choices:
                    yield Delta(prompt_tokens=chunk.usage.prompt_tokens,
                                completion_tokens=chunk.usage.completion_tokens)
                    continue
                for choice in chunk.choices:
                    d = choice.delta
                    parsed = getattr(d, "reasoning_content", None) or getattr(d, "reasoning", None)
                    text, reasoning = _split(splitter.feed(d.content or ""))
                    reasoning = (parsed or "") + reasoning
                    if text:
                        partial.append(text)
                    if text or reasoning or choice.finish_reason:
                        yield Delta(text=text, reasoning=reasoning,
                                    finish_reason=choice.finish_reason)
        except (*self._errors(), TimeoutError) as e:
            raise self._unavailable(e, "".join(partial)) from e
        text, reasoning = _split(splitter.flush())
        if text or reasoning:
            yield Delta(text=text, reasoning=reasoning)

    def score_options(self, prompt: str, options: list[str]) -> list[float]:
        """Sum of the option tokens' log-probs after `prompt`, from prompt log-probs (echo)."""
        if not options:
            return []
        try:
            resp = self._client_for(self.timeout_s).completions.create(
                model=self.name, prompt=[self._outgoing(prompt) + o for o in options], max_tokens=0,
                temperature=0.0, echo=True, logprobs=1)  # echo + max_tokens=0: prompt only
        except self._errors() as e:
            raise self._unavailable(e) from e
        scores = [math.nan] * len(options)
        for choice in resp.choices:
            lp = choice.logprobs
            # Offsets count from whatever the server prepends (a BOS token's text): measure
            # the option back from the end; a token ending past the prompt belongs to it.
            end = lp.text_offset[-1] + len(lp.tokens[-1])
            prompt_end = end - len(options[choice.index])
            scores[choice.index] = sum(
                val for tok, off, val in zip(lp.tokens, lp.text_offset, lp.token_logprobs)
                if off + len(tok) > prompt_end and val is not None)
        return scores

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _factory(name: str, settings: Settings) -> Backend:
    """A VLLMBackend per URL known for `name` (settings, then `medqa models serve`)."""
    from medqa.models.vllm_server import serve_command

    urls = _known_urls(name, settings)
    if not urls:
        backbone(name)  # an unknown name says so first
        raise BackendUnavailable(
            f"No vLLM server is known for {name}.",
            f"Start one with `{serve_command(name)}`, or set MEDQA_MODELS__VLLM_URLS "
            f"(e.g. '{{\"{name}\": [\"http://host:8100/v1\"]}}').",
        )
    redact = settings.safety.redact_remote_prompts
    backends = [VLLMBackend(name, u, timeout_s=settings.models.request_timeout_s,
                            redact_prompts=redact and is_remote(u)) for u in urls]
    if len(backends) == 1:
        return backends[0]
    from medqa.models.replicas import ReplicaSet  # several servers: balance across them

    return ReplicaSet(backends)


register_engine("vllm", _factory)
