"""moto server for the local stack and the tests, with DynamoDB requests serialised.

moto's DynamoDB backend does not lock: under concurrent requests an `ADD` or a conditional
write can lose an update, which the real service never does. The platform's exactly-once
counters rely on those guarantees, so DynamoDB calls run one at a time here; SQS and S3
(long polls, uploads) stay concurrent.

Usage: moto_server.py -H 127.0.0.1 -p PORT
"""

import argparse
import os
import threading

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

DYNAMO_LOCK = threading.Lock()


def serialise_dynamodb(app):
    def wrapped(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            with DYNAMO_LOCK:
                # Consume the whole response inside the lock.
                return list(app(environ, start_response))
        return app(environ, start_response)

    return wrapped


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, serialise_dynamodb(app), threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
