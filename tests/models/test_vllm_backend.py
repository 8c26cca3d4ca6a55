"""The vLLM Backend without vLLM: discovery, a server that is not up, faults injected mid-stream."""
from __future__ import annotations

import json
import socket
import threading

import pytest

from medqa.errors import BackendUnavailable, UnknownName
from medqa.models.engines.chat_format import ThinkSplitter
from medqa.models.engines.vllm import VLLMBackend, _split
from medqa.models.registry import get_backend
from medqa.models.vllm_server import servers_file
from medqa.types import GenParams, Message

NAME = "smollm2-135m-instruct"
HI = [Message("user", "hi")]



def _feed_all(chunks, starts_inside=False):
    sp, ans, rea = ThinkSplitter(starts_inside), [], []
    for c in chunks:
        a, r = _split(sp.feed(c))
        ans.append(a), rea.append(r)
    a, r = _split(sp.flush())
    return "".join(ans) + a, "".join(rea) + r


def test_think_tags_are_split_even_across_chunk_boundaries():
    chunks = ["<thi", "nk>plan ", "it</th", "ink>The answer."]
    assert _feed_all(chunks) == ("The answer.", "plan it")
    assert _feed_all(["no tags < here"]) == ("no tags < here", "")
    assert _feed_all(["still thinking"], starts_inside=True) == ("", "still thinking")
    assert _feed_all(["a<", "b"]) == ("a<b", "")


def test_no_known_server_names_the_command_that_starts_one(settings):
    with pytest.raises(BackendUnavailable) as e:
        get_backend(NAME, settings, engine="vllm")
    assert f"medqa models serve {NAME}" in e.value.hint
    with pytest.raises(UnknownName):
        get_backend("no-such-model", settings, engine="vllm")


def test_urls_come_from_settings_then_from_medqa_models_serve(settings):
    servers_file(settings).parent.mkdir(parents=True)
    servers_file(settings).write_text(json.dumps({NAME: ["http://127.0.0.1:9/v1"]}))
    assert get_backend(NAME, settings, engine="vllm").base_url == "http://127.0.0.1:9/v1"
    s2 = settings.model_copy(update={"models": settings.models.model_copy(
        update={"vllm_urls": {NAME: ["http://10.0.0.5:8000/v1"]}})})
    b = get_backend(NAME, s2, engine="vllm")
    assert b.base_url == "http://10.0.0.5:8000/v1" and b.family == "smollm"


def test_server_not_up_fails_fast_with_the_start_command(free_port):
    b = VLLMBackend(NAME, f"http://127.0.0.1:{free_port()}/v1", timeout_s=5)
    with pytest.raises(BackendUnavailable) as e:
        list(b.chat(HI, GenParams(timeout_s=5)))
    assert e.value.hint == f"Start it with: medqa models serve {NAME}"
    assert e.value.partial_text == ""
    with pytest.raises(BackendUnavailable):
        b.score_options("Q?", [" A", " B"])


def _read_request(conn: socket.socket) -> bytes:
    """One whole HTTP request (headers, then Content-Length bytes of body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        body += conn.recv(65536)
    return head + body


class _FaultyServer:
    """Answers one streamed chat with two SSE chunks, then breaks the connection or stalls."""

    def __init__(self, fault: str) -> None:
        self.fault, self.sock = fault, socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.release = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        _read_request(conn)  # all of it: unread bytes at close() would reset the connection
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        for text in ("Hello", " wor"):
            event = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": NAME,
                     "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
            data = f"data: {json.dumps(event)}\n\n".encode()
            conn.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        if self.fault == "stall":
            self.release.wait(30)
        conn.close()  # mid-stream: no final chunk, no [DONE]
        self.sock.close()


@pytest.mark.timeout(60)  # a stall must end at the request timeout, never hang
@pytest.mark.parametrize("fault", ["close", "stall"])
def test_a_stream_that_breaks_off_raises_with_the_partial_text(fault):
    server = _FaultyServer(fault)
    b = VLLMBackend(NAME, f"http://127.0.0.1:{server.port}/v1")
    got = []
    with pytest.raises(BackendUnavailable) as e:
        for d in b.chat(HI, GenParams(timeout_s=2)):
            got.append(d.text)
    server.release.set()
    assert "".join(got) == "Hello wor" == e.value.partial_text
    assert "mid-answer" in e.value.message


def test_several_urls_become_replicas_of_one_backbone(settings):
    from medqa.models.replicas import ReplicaSet

    s2 = settings.model_copy(update={"models": settings.models.model_copy(
        update={"vllm_urls": {NAME: ["http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1"]}})})
    b = get_backend(NAME, s2, engine="vllm")
    assert isinstance(b, ReplicaSet)
    with pytest.raises(BackendUnavailable):  # neither is up: a clean error, not a hang
        list(b.chat(HI, GenParams(timeout_s=5)))


class _RecordingServer:
    """Answers one streamed chat completely and keeps the request body it received."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.body = b""
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        request = _read_request(conn)  # headers then the JSON body
        self.body = request[request.index(b"{"):]
        event = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": NAME,
                 "choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}]}
        payload = f"data: {json.dumps(event)}\n\ndata: [DONE]\n\n".encode()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     + f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload)
        conn.close()
        self.sock.close()


def test_only_servers_on_other_machines_count_as_remote():
    from medqa.models.engines.vllm import is_remote

    for url in ("http://127.0.0.1:8000/v1", "http://localhost:8000/v1", "http://[::1]:8000/v1",
                "http://127.0.1.1/v1"):
        assert not is_remote(url), url
    for url in ("http://10.0.0.5:8000/v1", "http://gpu-01.hospital.local:8000/v1",
                "https://[2001:db8::1]/v1"):
        assert is_remote(url), url


def test_remote_servers_get_redacted_prompts_and_local_ones_do_not(settings):
    note = "Patient John Smith, MRN 00482913, phone 415-555-0187: what dose of metformin?"
    remote = settings.model_copy(update={"models": settings.models.model_copy(
        update={"vllm_urls": {NAME: ["http://10.0.0.5:8000/v1"]}})})
    assert get_backend(NAME, remote, engine="vllm").redact_prompts
    off = remote.model_copy(update={"safety": remote.safety.model_copy(update={"redact_remote_prompts": False})})
    assert not get_backend(NAME, off, engine="vllm").redact_prompts

    for redact in (True, False):  # the same real HTTP exchange, with and without redaction
        server = _RecordingServer()
        b = VLLMBackend(NAME, f"http://127.0.0.1:{server.port}/v1", redact_prompts=redact)
        assert "".join(d.text for d in b.chat([Message("user", note)], GenParams(timeout_s=10))) == "ok"
        sent = json.loads(server.body)["messages"][0]["content"]
        leaked = [v for v in ("John Smith", "00482913", "415-555-0187") if v in sent]
        assert "metformin" in sent
        assert leaked == ([] if redact else ["John Smith", "00482913", "415-555-0187"])
