"""The baseline for bench/upload.py: the least a server can do with an upload (stream it to a file)."""

import os
import tempfile


def app(environ, start_response):
    stream = environ["wsgi.input"]
    fd, path = tempfile.mkstemp(dir=os.environ.get("SINK_DIR"))
    with os.fdopen(fd, "wb") as out:
        while chunk := stream.read(1024 * 1024):
            out.write(chunk)
    os.unlink(path)
    start_response("204 No Content", [])
    return [b""]
