"""The HTTP server: errors, auth, keep-alive, pipelining, determinism, a clean start and stop."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from clearance.reference import ReferenceServer
from tests.reference.conftest import TOOLS, body, chat


class RawConnection:
    """A bare HTTP/1.1 client on one socket, to see exactly what goes over the wire."""

    def __init__(self, server: ReferenceServer) -> None:
        self.sock = socket.create_connection((server.host, server.port), timeout=5)
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buffer += data
        return bool(data)

    def _until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            if not self._fill():
                raise ConnectionError("closed")
        head, self.buffer = self.buffer.split(marker, 1)
        return head

    def _exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self._fill():
                raise ConnectionError("closed")
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def response(self) -> tuple[int, dict[str, str], bytes]:
        head = self._until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(head[0].split(" ")[1])
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
        if headers.get("transfer-encoding") == "chunked":
            payload = b""
            while size := int(self._until(b"\r\n"), 16):
                payload += self._exactly(size)
                self._exactly(2)
            self._exactly(2)
            return status, headers, payload
        return status, headers, self._exactly(int(headers["content-length"]))

    def closed_by_server(self) -> bool:
        return not self.buffer and not self._fill()


def post(document: object, *, extra: str = "") -> bytes:
    data = json.dumps(document).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n{extra}\r\n"
    )
    return head.encode() + data


@pytest.fixture
def raw(server: ReferenceServer) -> Iterator[RawConnection]:
    """One raw connection to the module's server."""
    connection = RawConnection(server)
    yield connection
    connection.close()


def test_many_requests_over_one_kept_alive_connection(raw: RawConnection) -> None:
    for index in range(50):
        raw.send(post(body("ref/steady", f"weather in City{index}", tools=TOOLS)))
        status, headers, _ = raw.response()
        assert status == 200
        assert headers["connection"] == "keep-alive"
    raw.send(post(body("ref/steady", "hi", stream=True)))
    assert raw.response()[0] == 200  # a chunked stream leaves the connection usable
    raw.send(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
    assert raw.response()[0] == 200


def test_pipelined_requests_are_answered_in_order(raw: RawConnection) -> None:
    slow = post(body("ref/slow", "What's the weather in Oslo?", tools=TOOLS))
    quick = post(body("ref/steady", "What's the weather in Rome?", tools=TOOLS))
    health = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    raw.send(slow + quick + health)  # one write: the server must split them itself
    first, second, third = raw.response(), raw.response(), raw.response()
    assert "Oslo" in first[2].decode()
    assert "Rome" in second[2].decode()
    assert json.loads(third[2]) == {"status": "ok", "simulator": True}


def test_a_request_split_across_writes_is_reassembled(raw: RawConnection) -> None:
    data = post(body("ref/steady", "What's the weather in Rome?", tools=TOOLS))
    for start in range(0, len(data), 7):
        raw.send(data[start : start + 7])
    assert raw.response()[0] == 200


def test_a_chunked_request_body_is_refused_with_411(raw: RawConnection) -> None:
    raw.send(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\n{}\r\n0\r\n\r\n"
    )
    status, headers, payload = raw.response()
    assert status == 411
    assert "Content-Length" in json.loads(payload)["error"]["message"]
    assert headers["connection"] == "close"
    assert raw.closed_by_server()


def test_connection_close_and_http_1_0_close_the_connection(server: ReferenceServer) -> None:
    for request in (
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /health HTTP/1.0\r\n\r\n",
    ):
        connection = RawConnection(server)
        connection.send(request)
        assert connection.response()[0] == 200
        assert connection.closed_by_server()
        connection.close()


def test_expect_100_continue_is_honoured(raw: RawConnection) -> None:
    data = json.dumps(body("ref/steady", "hello")).encode()
    raw.send(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        b"Content-Length: %d\r\n\r\n" % len(data)
    )
    assert raw._until(b"\r\n\r\n") == b"HTTP/1.1 100 Continue"
    raw.send(data)
    assert raw.response()[0] == 200


def test_garbage_gets_400_and_a_close(raw: RawConnection) -> None:
    raw.send(b"HELLO\r\n\r\n")
    assert raw.response()[0] == 400
    assert raw.closed_by_server()


def openai_error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status
    error = response.json()["error"]
    assert {"message", "type", "code"} <= set(error)
    assert isinstance(error, dict)
    return error


def test_bad_json_is_a_400_openai_error(client: httpx.Client) -> None:
    response = client.post("/chat/completions", content=b'{"model": ')
    assert openai_error(response, 400)["code"] == "invalid_json"


@pytest.mark.parametrize(
    ("document", "param"),
    [
        ([1, 2], None),
        ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
        ({"model": "ref/steady", "messages": []}, "messages"),
        ({"model": "ref/steady", "messages": [{"role": "robot"}]}, "messages[0].role"),
        ({**body("ref/steady", "hi"), "tools": [{"type": "retrieval"}]}, "tools[0]"),
        ({**body("ref/steady", "hi", tools=TOOLS), "tool_choice": "sometimes"}, "tool_choice"),
        (
            {
                **body("ref/steady", "hi", tools=TOOLS),
                "tool_choice": {"type": "function", "function": {"name": "nope"}},
            },
            "tool_choice",
        ),
        ({**body("ref/steady", "hi"), "tool_choice": "required"}, "tool_choice"),
        ({**body("ref/steady", "hi"), "max_tokens": 0}, "max_tokens"),
    ],
)
def test_invalid_requests_are_400s_naming_the_field(
    client: httpx.Client, document: object, param: str | None
) -> None:
    error = openai_error(client.post("/chat/completions", json=document), 400)
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"


def test_unknown_paths_and_wrong_methods(client: httpx.Client) -> None:
    assert openai_error(client.get("/completions"), 404)["code"] == "not_found"
    wrong = client.get("/chat/completions")
    assert openai_error(wrong, 405)["code"] == "method_not_allowed"
    assert wrong.headers["allow"] == "POST"


def test_an_api_key_is_required_when_set() -> None:
    with ReferenceServer(api_key="s3cret") as server:
        with httpx.Client(base_url=server.base_url) as anonymous:
            assert openai_error(chat(anonymous, body("ref/steady", "hi")), 401)["code"] == (
                "invalid_api_key"
            )
            assert anonymous.get("/models").status_code == 401
            assert anonymous.get(f"http://127.0.0.1:{server.port}/health").status_code == 200
        wrong = {"Authorization": "Bearer nope"}
        with httpx.Client(base_url=server.base_url, headers=wrong) as intruder:
            error = openai_error(chat(intruder, body("ref/steady", "hi")), 401)
            assert "nope" not in str(error["message"])
        right = {"Authorization": "Bearer s3cret"}
        with httpx.Client(base_url=server.base_url, headers=right) as friend:
            assert chat(friend, body("ref/steady", "hi")).status_code == 200


DETERMINISM = [
    body("ref/steady", "What's the weather in Paris and also in Rome?", tools=TOOLS),
    body("ref/sloppy", "Find flights from Lisbon to Oslo on 2024-07-01 for 2", tools=TOOLS),
    body("ref/steady", "Tell me a story"),
    body("ref/steady", "Weather in Paris", tools=TOOLS, stream=True),
]


def answers(seed: int) -> list[bytes]:
    with (
        ReferenceServer(seed=seed) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        return [chat(http, document).content for document in DETERMINISM]


def test_the_same_seed_and_request_give_byte_identical_bodies() -> None:
    first, second = answers(3), answers(3)
    assert first == second
    other = answers(4)
    assert other != first
    assert json.loads(other[0])["id"] != json.loads(first[0])["id"]


def test_start_stop_leaves_no_thread_and_can_restart() -> None:
    before = set(threading.enumerate())
    server = ReferenceServer()
    assert not server.running
    server.start()
    assert len(set(threading.enumerate()) - before) == 1
    port = server.port
    with pytest.raises(RuntimeError, match="already running"):
        server.start()
    with httpx.Client(base_url=server.base_url) as http:
        assert http.get("/models").status_code == 200
        server.stop()
        assert not server.running
        assert set(threading.enumerate()) <= before
        with pytest.raises(httpx.ConnectError):
            http.get("/models")
    server.stop()  # stopping twice is harmless
    server.start()  # and it comes back on the same port
    assert server.port == port
    server.stop()


def test_a_busy_port_is_an_oserror(server: ReferenceServer) -> None:
    with pytest.raises(OSError, match="address already in use"):
        ReferenceServer(port=server.port).start()


def test_only_loopback_is_served() -> None:
    with pytest.raises(ValueError, match="loopback"):
        ReferenceServer("0.0.0.0")
