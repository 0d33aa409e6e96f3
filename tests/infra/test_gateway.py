"""The local suite's API front (gateway.py): what it relabels, and that it forwards exactly."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from stakeline_local.gateway import Gateway, needs_binary_label


@pytest.mark.parametrize("content_type, body, relabel", [
    ("application/json", b"\xff\xfe{}", True),
    ("application/json; charset=utf-8", b"{\"a\":\"\xc3\"}", True),
    ("text/plain", b"\x80", True),
    (None, b"\x80", True),
    ("application/json", '{"name":"Zoë"}'.encode(), False),
    ("application/json", b"", False),
    ("application/octet-stream", b"\xff", False),
    ("image/png", b"\x89PNG", False),
])
def test_only_non_utf8_text_is_relabelled(content_type, body, relabel):
    assert needs_binary_label(content_type, body) is relabel


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        _Echo.seen.append((self.command, self.path, self.headers.get("Content-Type"),
                           self.headers.get("X-Stakeline-Signature"), body))
        self.send_response_only(418)
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


def test_requests_and_answers_pass_through_unchanged_but_for_the_label():
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    front = Gateway(0, upstream.server_address[1]).start()
    try:
        for body, expected_type in [(b'{"a":1}', "application/json"), (b"\xff\x00", "application/octet-stream")]:
            connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
            connection.request("POST", "/players/p-1/deposits?x=1", body=body,
                               headers={"Content-Type": "application/json", "X-Stakeline-Signature": "ab"})
            response = connection.getresponse()
            assert (response.status, response.read()) == (418, b"{}")
            assert response.getheader("Content-Type") == "application/problem+json"
            assert response.getheader("Server") is None
            connection.close()
            assert _Echo.seen[-1] == ("POST", "/players/p-1/deposits?x=1", expected_type, "ab", body)
    finally:
        front.stop()
        upstream.shutdown()
        upstream.server_close()


def test_any_method_is_forwarded():
    class Any(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def __getattr__(self, name):
            if not name.startswith("do_"):
                raise AttributeError(name)

            def answer():
                self.send_response_only(404)
                self.send_header("Content-Length", str(len(self.command)))
                self.end_headers()
                self.wfile.write(self.command.encode())
            return answer

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Any)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    front = Gateway(0, upstream.server_address[1]).start()
    try:
        for method in ("TRACE", "QUERY", "PATCH"):
            connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
            connection.request(method, "/players")
            response = connection.getresponse()
            assert (response.status, response.read()) == (404, method.encode())
            connection.close()
    finally:
        front.stop()
        upstream.shutdown()
        upstream.server_close()
