"""The local operator console server (console_server.py): the app's files, the dev login, and
/ops forwarded to the API exactly."""

from __future__ import annotations

import http.client
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from stakeline_local import auth, console_server
from stakeline_local.console_server import ConsoleServer


class _Upstream(BaseHTTPRequestHandler):
    """Stands in for the API front: records each request, answers with a problem."""

    protocol_version = "HTTP/1.1"
    seen: list = []

    def log_message(self, *args):
        pass

    def __getattr__(self, name):
        if not name.startswith("do_"):
            raise AttributeError(name)

        def answer():
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            _Upstream.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                   "body": body})
            payload = b'{"code":"WITHDRAWAL_NOT_PENDING","detail":"decided"}'
            self.send_response_only(409)
            self.send_header("Content-Type", "application/problem+json")
            self.send_header("Retry-After", "1")
            self.send_header("X-Correlation-Id", "c-123")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        return answer


@pytest.fixture
def dist(tmp_path) -> Path:
    root = tmp_path / "console" / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>console</title>")
    (root / "assets" / "index-abc.js").write_text("console.log('app')")
    # Something next to dist that must never be served.
    (tmp_path / "console" / "secret.txt").write_text("not for the browser")
    return root


@pytest.fixture
def upstream():
    _Upstream.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def console(dist, upstream):
    server = ConsoleServer(0, f"http://127.0.0.1:{upstream.server_address[1]}", dist=dist, token_ttl=900).start()
    yield server
    server.stop()


def request(server: ConsoleServer, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    """(status, headers, body) of one request sent exactly as given (no path normalisation)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_ops_requests_pass_through_with_their_method_headers_and_body(console, upstream):
    body = b'{"decision":"reject","reason":"dup"}'
    status, headers, answer = request(console, "POST", "/ops/withdrawals/wd-1/decision?x=1", body,
                                      {"Authorization": "Bearer tok", "Content-Type": "application/json",
                                       "X-Custom": "kept"})
    assert (status, answer) == (409, b'{"code":"WITHDRAWAL_NOT_PENDING","detail":"decided"}')
    assert headers["content-type"] == "application/problem+json"
    assert headers["retry-after"] == "1" and headers["x-correlation-id"] == "c-123"
    [seen] = _Upstream.seen
    assert (seen["method"], seen["path"], seen["body"]) == ("POST", "/ops/withdrawals/wd-1/decision?x=1", body)
    assert seen["headers"]["Authorization"] == "Bearer tok"
    assert seen["headers"]["X-Custom"] == "kept"
    assert seen["headers"]["Host"] == f"127.0.0.1:{upstream.server_address[1]}"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_any_method_reaches_the_api(console, method):
    status, _, _ = request(console, method, "/ops/players/p-1/status", b"{}" if method != "GET" else None)
    assert status == 409
    assert _Upstream.seen[-1]["method"] == method


def test_an_api_that_does_not_answer_is_a_502_problem(dist):
    server = ConsoleServer(0, "http://127.0.0.1:9", dist=dist).start()  # port 9 (discard): nothing listens
    try:
        status, headers, body = request(server, "GET", "/ops/queues")
    finally:
        server.stop()
    assert status == 502
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["code"] == "UPSTREAM_UNAVAILABLE"


def test_config_says_dev_login(console):
    status, headers, body = request(console, "GET", "/config.json")
    assert (status, json.loads(body)) == (200, {"auth": "dev"})
    assert headers["cache-control"] == "no-store"


def test_dev_token_mints_an_operator_token_for_the_staff_id(console):
    status, headers, body = request(console, "POST", "/dev/token", b'{"operator":"staff-7"}',
                                    {"Content-Type": "application/json"})
    assert status == 200, body
    answer = json.loads(body)
    assert (answer["token_type"], answer["expires_in"], answer["scope"]) == ("Bearer", 900, auth.OPERATOR_SCOPE)
    claims = auth.verify_token(answer["access_token"])
    assert (claims["sub"], claims["scope"], claims["exp"] - claims["iat"]) == ("staff-7", auth.OPERATOR_SCOPE, 900)
    assert headers["cache-control"] == "no-store"


@pytest.mark.parametrize("body", [
    b'{"operator":""}',
    b'{"operator":"staff 7"}',
    b'{"operator":"' + b"x" * 65 + b'"}',
    b'{"operator":"st\\u00e4ff"}',
    b'{"operator":"a/b"}',
    b'{"operator":7}',
    b'{"staff":"staff-7"}',
    b'["staff-7"]',
    b"not json",
    b"",
])
def test_bad_staff_ids_are_refused(console, body):
    status, headers, answer = request(console, "POST", "/dev/token", body, {"Content-Type": "application/json"})
    assert status == 400
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(answer)
    assert problem["code"] == "VALIDATION_FAILED"
    assert "1 to 64 characters" in problem["detail"]


def test_the_longest_staff_id_is_accepted(console):
    staff = "a.b_c@d-" + "x" * 56
    status, _, body = request(console, "POST", "/dev/token", json.dumps({"operator": staff}).encode())
    assert status == 200
    assert auth.verify_token(json.loads(body)["access_token"])["sub"] == staff


def test_dev_token_takes_post_only(console):
    status, headers, _ = request(console, "GET", "/dev/token")
    assert (status, headers["allow"]) == (405, "POST")


def test_files_and_app_routes(console):
    status, headers, body = request(console, "GET", "/assets/index-abc.js")
    assert (status, body) == (200, b"console.log('app')")
    assert headers["content-type"] == "text/javascript; charset=utf-8"
    assert "immutable" in headers["cache-control"]
    for path in ("/", "/review", "/players/p-1", "/index.html?x=1"):
        status, headers, body = request(console, "GET", path)
        assert (status, body) == (200, b"<!doctype html><title>console</title>"), path
        assert headers["content-type"] == "text/html; charset=utf-8"
        assert headers["cache-control"] == "no-cache"
        assert "default-src 'self'" in headers["content-security-policy"]
    status, _, body = request(console, "HEAD", "/")
    assert (status, body) == (200, b"")


def test_a_missing_asset_is_404_not_the_app(console):
    status, _, body = request(console, "GET", "/assets/gone.js")
    assert status == 404
    assert b"doctype" not in body


@pytest.mark.parametrize("path", [
    "/../secret.txt",
    "/assets/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/assets/%2E%2E/%2e%2e/secret.txt",
    "/..%2fsecret.txt",
    "/..%5csecret.txt",
    "/%00index.html",
])
def test_path_traversal_is_refused(console, path):
    status, _, body = request(console, "GET", path)
    assert status == 400
    assert b"not for the browser" not in body


def test_other_methods_on_files_are_refused(console):
    status, headers, _ = request(console, "POST", "/index.html", b"x")
    assert (status, headers["allow"]) == (405, "GET, HEAD")


def test_an_unbuilt_console_says_how_to_build_it(tmp_path, upstream):
    server = ConsoleServer(0, "http://127.0.0.1:9", dist=tmp_path / "dist").start()
    try:
        status, _, body = request(server, "GET", "/")
    finally:
        server.stop()
    assert status == 503
    assert b"npm run --prefix console build" in body


def _console_dir(tmp_path: Path) -> Path:
    root = tmp_path / "console"
    (root / "src").mkdir(parents=True)
    (root / "src" / "main.ts").write_text("export {};")
    (root / "package.json").write_text("{}")
    (root / "package-lock.json").write_text("{}")
    return root


def _touch(path: Path, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    os.utime(path, (mtime, mtime))


def test_dist_is_stale_when_missing_or_older_than_a_source(tmp_path):
    root = _console_dir(tmp_path)
    for file in root.rglob("*"):
        if file.is_file():
            os.utime(file, (1000, 1000))
    assert console_server.stale_reason(root) == "console/dist is missing"
    _touch(root / "dist" / "index.html", 2000)
    assert console_server.stale_reason(root) is None
    _touch(root / "src" / "views" / "new.ts", 3000)
    assert console_server.stale_reason(root) == "console/src/views/new.ts changed since the last build"


def test_npm_ci_runs_only_when_node_modules_is_older_than_the_lock(tmp_path):
    root = _console_dir(tmp_path)
    os.utime(root / "package-lock.json", (2000, 2000))
    assert [c[1] for c in console_server.build_commands(root)] == ["ci", "run"]
    _touch(root / "node_modules" / ".package-lock.json", 1000)
    assert [c[1] for c in console_server.build_commands(root)] == ["ci", "run"]
    _touch(root / "node_modules" / ".package-lock.json", 3000)
    assert console_server.build_commands(root) == [["npm", "run", "--prefix", str(root), "build"]]


def test_ensure_built_says_clearly_when_npm_is_missing(tmp_path, monkeypatch):
    root = _console_dir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    ran = []
    with pytest.raises(RuntimeError, match="npm is not on PATH"):
        console_server.ensure_built(ran.append, root)
    assert ran == []


def test_ensure_built_builds_a_stale_console_and_leaves_a_fresh_one(tmp_path):
    root = _console_dir(tmp_path)
    for file in root.rglob("*"):
        os.utime(file, (1000, 1000))
    _touch(root / "node_modules" / ".package-lock.json", 1500)
    ran = []
    assert console_server.ensure_built(ran.append, root) is True
    assert ran == [["npm", "run", "--prefix", str(root), "build"]]
    _touch(root / "dist" / "index.html", 2000)
    ran.clear()
    assert console_server.ensure_built(ran.append, root) is False
    assert ran == []
