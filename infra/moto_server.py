"""A moto server that serves one call at a time, for the local stack and concurrency tests.

moto is not thread-safe: concurrent conditional writes to one moto process lose updates
(see DESIGN.md). DynamoDB makes each call atomic, so this server holds a lock around moto's
WSGI application: calls from many threads interleave between calls, never inside one, and the
tests exercise our own concurrency control rather than moto's races.

    server, url = start_moto_server()
    client = boto3.client("dynamodb", endpoint_url=url)
    ...
    stop_moto_server(server)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerialWSGI:
    """Wraps a WSGI application so that one request runs at a time, body included."""

    def __init__(self, app: WSGIApp) -> None:
        self._app = app
        self._lock = threading.Lock()
        self.calls = 0  # how many calls were served: a snapshot is due when it has moved

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No call runs while this is held: what moto holds can be read whole."""
        with self._lock:
            yield

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            self.calls += 1
            # Materialise the body inside the lock: moto builds it lazily from shared state.
            return list(self._app(environ, start_response))


class _QuietHandler(WSGIRequestHandler):
    """Logs errors only: a line per call would drown test and local-stack output."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


def start_moto_server(host: str = "127.0.0.1", port: int = 0) -> tuple[BaseWSGIServer, str]:
    """Serve moto on ``host:port`` (0: any free port) in a daemon thread; return it and its URL."""
    app = SerialWSGI(DomainDispatcherApplication(create_backend_app))
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    thread.start()
    return server, f"http://{host}:{server.server_port}"


def serial_app(server: BaseWSGIServer) -> SerialWSGI:
    """The one-call-at-a-time application a server from ``start_moto_server`` runs."""
    app = server.app
    if not isinstance(app, SerialWSGI):
        raise TypeError("not a server started by start_moto_server")
    return app


def stop_moto_server(server: BaseWSGIServer) -> None:
    server.shutdown()
    server.server_close()
