"""What the local suite's own HTTP servers share (the API front, the console server and the
sandbox payment provider): HTTP/1.1 on 127.0.0.1, no access log, every method handed to one
router (as API Gateway takes any method), and a threaded server that starts in a daemon thread
and stops promptly."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# How often a stopping server notices it should stop.
STOP_POLL_SECONDS = 0.1


class Handler(BaseHTTPRequestHandler):
    """A request handler whose every method (``do_GET``, ``do_TRACE``, ``do_QUERY``…) goes to
    :meth:`route`."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the suite's log stays quiet
        pass

    def route(self) -> None:
        raise NotImplementedError

    def __getattr__(self, name: str):
        if name.startswith("do_"):
            return self.route
        raise AttributeError(name)


class Server:
    """``handler`` served on ``port`` of 127.0.0.1 (0: any free port), in a daemon thread."""

    def __init__(self, port: int, handler: type[Handler], name: str):
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, args=(STOP_POLL_SECONDS,), name=name, daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
