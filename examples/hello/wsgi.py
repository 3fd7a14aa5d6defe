"""The bundled example application: a plain WSGI callable, no framework.

/        says hello, with the PID of the process that answered
/slow    answers after ?s=SECONDS (default 1): an in-flight request for tests
/env     the server-relevant environment, as text
"""
import os
import time


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/slow":
        query = dict(p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
        time.sleep(float(query.get("s", "1")))
        body = "slow done %d\n" % os.getpid()
    elif path == "/env":
        keys = ("VERSION", "VIRTUAL_ENV", "OPENSHIFT_REPO_DIR")
        body = "".join("%s=%s\n" % (k, os.environ.get(k, "")) for k in keys)
    else:
        body = "hello from pid %d %s\n" % (os.getpid(), os.environ.get("VERSION", ""))
    data = body.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))])
    return [data]
