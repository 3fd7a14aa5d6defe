"""Section f's application, a chatty one.

/lines?n=N&run=R  writes N numbered lines of exactly 100 bytes, the newline
                  included, to stdout, and answers with the seconds that
                  took, measured here in the worker
anything else     says hello, for the ready probes
"""
import os
import time

WIDTH = 100


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/lines":
        query = dict(p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
        n, run = int(query["n"]), int(query["run"])
        head = b"relaybench %d " % run
        # head, a 10-digit number and a space, padding, the newline.
        line = head + b"%010d " + b"x" * (WIDTH - len(head) - 12) + b"\n"
        write = os.write
        t0 = time.perf_counter()
        # One write(2) a line, as logging's StreamHandler (a flush a record)
        # or print() under gearctl's PYTHONUNBUFFERED=1 do, whatever the
        # environment says about buffering. 100 bytes go into a pipe or a
        # file whole, in one call.
        for i in range(n):
            write(1, line % i)
        body = "%.6f\n" % (time.perf_counter() - t0)
    else:
        body = "hello from pid %d\n" % os.getpid()
    data = body.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))])
    return [data]
