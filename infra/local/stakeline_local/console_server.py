"""The local suite's operator console: the built single-page app of ``console/`` on one origin
with the ``/ops`` API, as CloudFront serves them on AWS.

- ``GET /config.json``: ``{"auth": "dev"}``: the console signs in with the dev login below
  instead of the identity provider;
- ``POST /dev/token`` with ``{"operator": STAFF_ID}``: a local operator token for that staff id
  (``auth.mint_token(staff, scope=auth.OPERATOR_SCOPE)``), answered as
  ``{"access_token", "token_type": "Bearer", "expires_in", "scope"}``. A staff id is 1 to 64
  characters of ``[A-Za-z0-9._@-]``; anything else is 400 problem+json (``VALIDATION_FAILED``);
- ``/ops`` and everything under it, any method: forwarded to the API front unchanged (method,
  path, query, headers including Authorization, body) and its answer returned unchanged (status,
  headers, body); 502 problem+json (``UPSTREAM_UNAVAILABLE``) when the API does not answer;
- anything else, ``GET``/``HEAD`` only: a file of ``console/dist``, or ``index.html`` for a
  path whose last segment has no file extension (the app's routes). A path with a ``..``
  segment, a backslash or a NUL, encoded or not, is refused with 400; a missing asset is 404.

``console/dist`` is built by ``ensure_built`` (``npm ci`` when ``node_modules`` is older than the
lock file, then ``npm run build``) whenever it is missing or older than its sources.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from . import REPO_ROOT, auth, local_http, log
from .gateway import HOP_BY_HOP

CONSOLE_DIR = REPO_ROOT / "console"
CONFIG_PATH = "/config.json"
TOKEN_PATH = "/dev/token"
OPS_PREFIX = "/ops"
DEV_CONFIG = {"auth": "dev"}

STAFF_ID = re.compile(r"[A-Za-z0-9._@-]{1,64}")
TOKEN_TTL_SECONDS = 3600
MAX_TOKEN_REQUEST_BYTES = 4096
# API Gateway's own limit on a request's payload.
MAX_PROXIED_BODY_BYTES = 10 * 1024 * 1024
UPSTREAM_TIMEOUT_SECONDS = 120

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}
# What the app's pages may load: only this origin (the API is same-origin).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

# What `npm run build` reads: dist older than any of these is stale.
BUILD_INPUTS = ("index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json", "src", "public")


def dist_dir(console_dir: Path = CONSOLE_DIR) -> Path:
    return console_dir / "dist"


def _newest_input(console_dir: Path) -> tuple[float, Path] | None:
    newest: tuple[float, Path] | None = None
    for name in BUILD_INPUTS:
        path = console_dir / name
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else []
        for file in files:
            modified = file.stat().st_mtime
            if newest is None or modified > newest[0]:
                newest = (modified, file)
    return newest


def stale_reason(console_dir: Path = CONSOLE_DIR) -> str | None:
    """Why ``console/dist`` needs building, or None when it is newer than all its sources."""
    index = dist_dir(console_dir) / "index.html"
    if not index.is_file():
        return "console/dist is missing"
    newest = _newest_input(console_dir)
    if newest is not None and newest[0] > index.stat().st_mtime:
        return f"{newest[1].relative_to(console_dir.parent)} changed since the last build"
    return None


def build_commands(console_dir: Path = CONSOLE_DIR) -> list[list[str]]:
    """``npm ci`` (only when node_modules is missing or older than the lock file), then the build."""
    commands = []
    installed = console_dir / "node_modules" / ".package-lock.json"
    lock = console_dir / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        commands.append(["npm", "ci", "--prefix", str(console_dir), "--no-audit", "--no-fund"])
    commands.append(["npm", "run", "--prefix", str(console_dir), "build"])
    return commands


def ensure_built(run: Callable[[list[str]], None], console_dir: Path = CONSOLE_DIR) -> bool:
    """Builds ``console/dist`` with ``run(command)`` when it is missing or stale; True if it built.
    Raises RuntimeError saying so when npm is needed but not installed."""
    reason = stale_reason(console_dir)
    if reason is None:
        return False
    if shutil.which("npm") is None:
        raise RuntimeError(
            f"the operator console needs building ({reason}), but npm is not on PATH: install "
            "Node.js 20 with npm, or start the suite with --no-console"
        )
    log(f"building the operator console ({reason}): npm ci and npm run build in console/ (pinned by package-lock.json)")
    for command in build_commands(console_dir):
        run(command)
    return True


def unsafe_path(path: str) -> bool:
    """A request path that could reach outside the app's files: a ``..`` segment, a backslash
    or a NUL, before or after percent-decoding."""
    for candidate in (path, urllib.parse.unquote(path)):
        if "\\" in candidate or "\0" in candidate or ".." in candidate.split("/"):
            return True
    return False


def problem(status: int, code: str, title: str, detail: str) -> dict:
    return {
        "type": f"urn:stakeline:problem:{code.lower().replace('_', '-')}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
    }


def mint_operator_token(body: bytes, ttl: int = TOKEN_TTL_SECONDS) -> tuple[int, dict]:
    """``POST /dev/token``: (status, JSON answer) for ``{"operator": STAFF_ID}``."""
    try:
        request = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        request = None
    staff = request.get("operator") if isinstance(request, dict) else None
    if not isinstance(staff, str) or not STAFF_ID.fullmatch(staff):
        return 400, problem(
            400, "VALIDATION_FAILED", "Invalid staff id",
            'send {"operator": STAFF_ID}: a staff id of 1 to 64 characters, each a letter, a digit, '
            "or one of . _ @ -",
        )
    token = auth.mint_token(staff, ttl=ttl, scope=auth.OPERATOR_SCOPE)
    return 200, {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "scope": auth.OPERATOR_SCOPE}


def _handler(server: "ConsoleServer") -> type[local_http.Handler]:
    # Every method reaches the router: /ops takes any method, as the API does.
    class Handle(local_http.Handler):
        def _send(self, status: int, body: bytes, headers: dict[str, str], reason: str | None = None) -> None:
            self.send_response_only(status, reason)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, value: dict, content_type: str = "application/json", extra: dict | None = None) -> None:
            headers = {"Content-Type": content_type, "Cache-Control": "no-store", **(extra or {})}
            self._send(status, json.dumps(value).encode("utf-8"), headers)

        def _problem(self, status: int, code: str, title: str, detail: str, extra: dict | None = None) -> None:
            self._json(status, problem(status, code, title, detail), "application/problem+json", extra)

        def _body(self, limit: int) -> bytes | None:
            """The request's body, or None after answering why it cannot be read."""
            if "Content-Length" not in self.headers and "Transfer-Encoding" in self.headers:
                self.close_connection = True
                self._problem(411, "LENGTH_REQUIRED", "Length required", "send the body with a Content-Length")
                return None
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:
                self.close_connection = True
                self._problem(400, "BAD_REQUEST", "Bad Content-Length", "Content-Length must be a number")
                return None
            if length > limit:
                self.close_connection = True
                self._problem(413, "PAYLOAD_TOO_LARGE", "Payload too large", f"at most {limit} bytes")
                return None
            return self.rfile.read(length) if length else b""

        def route(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            if path == OPS_PREFIX or path.startswith(OPS_PREFIX + "/"):
                body = self._body(MAX_PROXIED_BODY_BYTES)
                if body is not None:
                    self._proxy(body)
            elif path == TOKEN_PATH:
                if self.command != "POST":
                    self._problem(405, "METHOD_NOT_ALLOWED", "Method not allowed", f"{TOKEN_PATH} takes POST",
                                  {"Allow": "POST"})
                    return
                body = self._body(MAX_TOKEN_REQUEST_BYTES)
                if body is not None:
                    status, answer = mint_operator_token(body, server.token_ttl)
                    if status == 200:
                        self._json(status, answer)
                    else:
                        self._json(status, answer, "application/problem+json")
            elif self.command not in ("GET", "HEAD"):
                self._problem(405, "METHOD_NOT_ALLOWED", "Method not allowed", f"{path} takes GET",
                              {"Allow": "GET, HEAD"})
            elif path == CONFIG_PATH:
                self._json(200, DEV_CONFIG)
            else:
                self._static(path)

        def _static(self, path: str) -> None:
            if unsafe_path(path):
                self._problem(400, "BAD_PATH", "Path refused", "the path leaves the console's files")
                return
            root = server.dist.resolve()
            index = root / "index.html"
            if not index.is_file():
                self._send(503, (f"the console is not built: run npm ci --prefix console && npm run --prefix "
                                 f"console build (./dev up builds it)\n").encode(),
                           {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"})
                return
            relative = urllib.parse.unquote(path).lstrip("/")
            file = (root / relative).resolve() if relative else index
            if not file.is_relative_to(root):
                self._problem(400, "BAD_PATH", "Path refused", "the path leaves the console's files")
                return
            if not file.is_file():
                if "." in relative.rsplit("/", 1)[-1]:
                    self._send(404, b"not found\n", {"Content-Type": "text/plain; charset=utf-8"})
                    return
                file = index  # one of the app's own routes
            assets = root / "assets"
            cache = "public, max-age=31536000, immutable" if file.is_relative_to(assets) else "no-cache"
            content_type = CONTENT_TYPES.get(file.suffix.lower(), "application/octet-stream")
            self._send(200, file.read_bytes(), {"Content-Type": content_type, "Cache-Control": cache, **SECURITY_HEADERS})

        def _proxy(self, body: bytes) -> None:
            target = server.upstream
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
            connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port or 80,
                                                    timeout=UPSTREAM_TIMEOUT_SECONDS)
            try:
                connection.request(self.command, target.path.rstrip("/") + self.path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except OSError as error:
                self._problem(502, "UPSTREAM_UNAVAILABLE", "The API did not answer",
                              f"the console server could not reach the API at {server.api_base_url}: {error}")
                return
            finally:
                connection.close()
            self.send_response_only(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

    return Handle


class ConsoleServer:
    """Serves ``console/dist`` on ``port``, the dev login, and ``/ops`` forwarded to the API at
    ``api_base_url``."""

    def __init__(self, port: int, api_base_url: str, *, dist: Path | None = None,
                 token_ttl: int = TOKEN_TTL_SECONDS):
        self.api_base_url = api_base_url.rstrip("/")
        self.upstream = urllib.parse.urlsplit(self.api_base_url)
        self.dist = dist or dist_dir()
        self.token_ttl = token_ttl
        self.http = local_http.Server(port, _handler(self), "console")
        self.port = self.http.port
        self.url = self.http.url

    def start(self) -> "ConsoleServer":
        self.http.start()
        log(f"operator console on port {self.port} (/ops forwarded to {self.api_base_url})")
        return self

    def stop(self) -> None:
        self.http.stop()
