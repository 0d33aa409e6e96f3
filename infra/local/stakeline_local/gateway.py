"""The suite's stand-in for API Gateway's front door, in front of `cargo lambda watch`.

`cargo lambda watch` builds each function's event itself, and refuses a request whose body is
not UTF-8 text but is labelled as text (`application/json`, `text/*`) with its own plain-text
500, before any function runs. API Gateway instead hands such a body to the function
base64-encoded (`isBase64Encoded`), and the function answers it (a 422: not JSON). This front
forwards every request unchanged, except that it labels such a body
`application/octet-stream`, which makes cargo-lambda base64-encode it the same way. Nothing
else is touched: method, path, query, headers and bytes reach the function as sent.
"""

from __future__ import annotations

import http.client

from . import local_http, log

# Headers that belong to one connection, not to the request (RFC 9110 §7.6.1).
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade",
}
# What cargo-lambda treats as text (it decodes those bodies as UTF-8).
TEXT_TYPES = ("text/", "application/json")
UPSTREAM_TIMEOUT_SECONDS = 120


def needs_binary_label(content_type: str | None, body: bytes) -> bool:
    """Whether cargo-lambda would refuse `body` as text although API Gateway would pass it on."""
    if not body:
        return False
    if content_type is not None and not content_type.strip().lower().startswith(TEXT_TYPES):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _handler(upstream_port: int) -> type[local_http.Handler]:
    # Every method goes to the router (`do_TRACE`, `do_QUERY`, …), as API Gateway takes any
    # method and answers the ones no route has itself.
    class Forward(local_http.Handler):
        def route(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if needs_binary_label(self.headers.get("Content-Type"), body):
                headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
                headers["Content-Type"] = "application/octet-stream"
            connection = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=UPSTREAM_TIMEOUT_SECONDS)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                self.send_response_only(response.status, response.reason)
                for name, value in response.getheaders():
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError as error:
                message = f"the local functions did not answer: {error}".encode()
                self.send_response_only(502)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(message)))
                self.end_headers()
                self.wfile.write(message)
            finally:
                connection.close()

    return Forward


class Gateway:
    """Listens on `port` and forwards to `cargo lambda watch` on `upstream_port`."""

    def __init__(self, port: int, upstream_port: int):
        self.http = local_http.Server(port, _handler(upstream_port), "gateway")
        self.port = self.http.port

    def start(self) -> "Gateway":
        self.http.start()
        log(f"API front on port {self.port} (forwarding to cargo lambda watch)")
        return self

    def stop(self) -> None:
        self.http.stop()
