"""Starts moto's server on 127.0.0.1 with requests served one at a time.

moto's own `moto_server` serves requests on parallel threads without locking
its in-memory backends, so two concurrent conditional writes can both pass
their condition, which real DynamoDB never allows. Serialising requests makes
the emulator as atomic as the service, so the concurrency tests mean something.

Usage: python .ci/moto_server.py PORT
"""

import sys
import threading

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialised(environ, start_response):
        with lock:
            return list(app(environ, start_response))

    run_simple(
        "127.0.0.1",
        port,
        serialised,
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
