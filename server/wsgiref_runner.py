"""Serve one WSGI application with nothing but Python's standard library.

gearctl's fallback server (--server wsgiref), written next to the gear's
state by gearctl and run with the gear's Python:

    python3 wsgiref_runner.py --app APP [--fd 3 [--probe-fd 4] | --host H --port P]
            [--chdir DIR] [--workers N] [--threads N] [--static URL=DIR ...]

APP is a file (wsgi.py, or wsgi/application without an extension), FILE:callable
or module:callable; the callable defaults to "application".

Signals: TERM stops accepting, lets in-flight requests finish and exits 0.
INT exits at once. HUP finishes in-flight requests like TERM, then re-executes
this program with the same arguments and the same listening socket: the PID
stays, the application's code is imported afresh, and connections that arrive
meanwhile wait in the socket's backlog.
"""

import argparse
import signal
import socket
import socketserver
import threading
import traceback
from wsgiref import simple_server

# --- gearctl loader: begin ---
# The loader below, and the static file wrapper, are also copied by gearctl
# into the shim module other servers import when an application cannot be
# named module:callable or gearctl serves its --static directories.
import email.utils
import importlib
import importlib.machinery
import importlib.util
import mimetypes
import os
import stat
import sys


def load_file(path, callable_name="application"):
    """Run the Python file at path as a module and return its callable.

    The file may have any name (OpenShift's wsgi/application has no .py).
    Its directory goes on sys.path, as `python FILE` would do, so it can
    import its siblings.
    """
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    # The module gets the file's own name when that is free, so code that
    # imports it by that name later finds this one instead of a second copy.
    name = os.path.basename(path)
    if name.endswith(".py"):
        name = name[:-3]
    if not name.isidentifier() or name in sys.modules:
        name = "gearctl_app"
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return _callable(module, callable_name, path)


def load_module(module_name, callable_name="application"):
    """Import module_name and return its callable."""
    return _callable(importlib.import_module(module_name), callable_name, module_name)


def _callable(module, callable_name, where):
    obj = module
    for part in callable_name.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AttributeError(
                "%s has no WSGI callable %r" % (where, callable_name)) from None
    if not callable(obj):
        raise TypeError("%s: %r is not callable" % (where, callable_name))
    return obj


def static(app, mounts):
    """Wrap app so that each (url, directory) of mounts serves the files
    below the directory at that URL prefix (gearctl --static URL=DIR).

    Every request under a prefix is answered here, never by app: a file
    that is not served is 404, a method other than GET or HEAD 405. No path
    leads out of the directory: PATH_INFO arrives decoded, so dot segments,
    backslashes and NULs are refused as such, and the file's real path
    (symlinks resolved) must lie below the directory's real path.
    """
    # The system's type files are read now rather than by the first
    # requests' threads; a later init() would drop types the app added.
    if not mimetypes.inited:
        mimetypes.init()
    # Longest prefix first, so /static/admin wins over /static.
    roots = sorted(((url.encode(), os.path.realpath(os.fsencode(directory)))
                    for url, directory in mounts), key=lambda m: -len(m[0]))

    def serve(environ, start_response):
        path = environ.get("PATH_INFO", "").encode("latin-1")
        # The path as sent, where the server gives it (not wsgiref: the
        # runner adds it).
        raw_path = (environ.get("REQUEST_URI") or environ.get("RAW_URI") or "").split("?", 1)[0]
        raw = raw_path.lower().encode("latin-1", "replace")
        head = environ.get("REQUEST_METHOD") == "HEAD"
        for url, root in roots:
            if path == url or path.startswith(url + b"/"):
                return _serve_file(environ, start_response, root, path[len(url):], raw_path)
            # uWSGI removes dot segments from PATH_INFO, as Apache does
            # before it maps a URL: a request sent under url that no
            # longer is climbed out of it.
            if raw.startswith(url.lower() + b"/") or raw.startswith(url.lower() + b"%2f"):
                return _refuse(start_response, "404 Not Found", [], head)
        return app(environ, start_response)
    return serve


def _serve_file(environ, start_response, root, rest, raw_path):
    method = environ.get("REQUEST_METHOD", "GET")
    head = method == "HEAD"
    if method not in ("GET", "HEAD"):
        return _refuse(start_response, "405 Method Not Allowed", [("Allow", "GET, HEAD")], head)
    f = _open_below(root, rest, raw_path)
    if f is None:
        return _refuse(start_response, "404 Not Found", [], head)
    try:
        st = os.fstat(f.fileno())
        etag = '"%x-%x"' % (st.st_size, st.st_mtime_ns // 1000)
        headers = [
            ("Last-Modified", email.utils.formatdate(int(st.st_mtime), usegmt=True)),
            ("ETag", etag),
        ]
        if _not_modified(environ, etag, int(st.st_mtime)):
            f.close()
            start_response("304 Not Modified", headers)
            return []
        kind, encoding = mimetypes.guess_type(os.fsdecode(rest), strict=False)
        if encoding:  # a .gz or .br file is served as such, not decoded by the client
            kind = None
        headers += [("Content-Type", kind or "application/octet-stream"),
                    ("Content-Length", str(st.st_size))]
        start_response("200 OK", headers)
    except BaseException:
        f.close()
        raise
    if head:
        f.close()
        return []
    wrapper = environ.get("wsgi.file_wrapper")
    if wrapper is not None:
        return wrapper(f, 1 << 16)
    return _chunks(f)


def _open_below(root, rest, raw_path):
    """The regular file rest names below root, open for reading, or None."""
    # Encoded slashes, backslashes and NULs in the path as sent (where the
    # server gives it): refused as Apache refuses them, whatever they
    # decoded to.
    lowered = raw_path.lower()
    if "%2f" in lowered or "%5c" in lowered or "%00" in lowered:
        return None
    if b"\\" in rest or b"\0" in rest:
        return None
    parts = [p for p in rest.split(b"/") if p]
    if not parts or any(p in (b".", b"..") for p in parts):
        return None
    real = os.path.realpath(os.path.join(root, *parts))
    if not real.startswith(root + b"/"):
        return None
    try:
        # The real path, not the requested one: a symlink swapped in after
        # the check cannot lead out.
        f = open(real, "rb")
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
        f.close()
        return None
    return f


def _not_modified(environ, etag, mtime):
    """Whether the client's copy is current: If-None-Match when sent (it
    wins over If-Modified-Since), else If-Modified-Since."""
    match = environ.get("HTTP_IF_NONE_MATCH")
    if match is not None:
        # Weak comparison, as RFC 9110 prescribes for If-None-Match.
        tags = [t.strip() for t in match.split(",")]
        return "*" in tags or etag in (t[2:] if t.startswith("W/") else t for t in tags)
    since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if since is None:
        return False
    try:
        when = email.utils.parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    if when is None or when.tzinfo is None:
        return False
    return mtime <= when.timestamp()


def _refuse(start_response, status, headers, head):
    body = (status[4:] + "\n").encode()
    start_response(status, headers + [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    # Not every server drops the body of an answer to HEAD (wsgiref does not).
    return [] if head else [body]


def _chunks(f):
    with f:
        while True:
            block = f.read(1 << 16)
            if not block:
                return
            yield block
# --- gearctl loader: end ---


def load(app, chdir):
    """Load APP in any of its three forms."""
    target, sep, callable_name = app.rpartition(":")
    if not sep or "/" in callable_name:
        target, callable_name = app, "application"
    looks_like_file = (
        "/" in target or target.endswith(".py")
        or os.path.isfile(os.path.join(chdir, target)))
    if looks_like_file:
        return load_file(os.path.join(chdir, target), callable_name)
    return load_module(target, callable_name)


class Handler(simple_server.WSGIRequestHandler):
    """One access line per request on stderr, flushed at once so a
    supervisor reading a pipe sees it. REQUEST_URI is the path as sent,
    as uWSGI and mod_wsgi give it: the static wrapper looks at it."""

    def get_environ(self):
        env = super().get_environ()
        env["REQUEST_URI"] = self.path
        return env

    def log_message(self, format, *args):
        sys.stderr.write("%s - - [%s] %s\n" % (
            self.address_string(), self.log_date_time_string(), format % args))
        sys.stderr.flush()


class Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    """A threaded wsgiref server on a socket it is given, with at most
    `slots` requests at a time.

    When every slot is busy the accept loop waits, so further connections
    wait in the kernel's backlog instead of piling up threads.
    """

    # In-flight requests are not killed at exit: a graceful stop waits.
    daemon_threads = False

    def __init__(self, sock, slots):
        # BaseServer, not TCPServer: the socket exists already, and
        # HTTPServer.server_bind would resolve the host name (slow, and
        # useless for a server behind a proxy).
        socketserver.BaseServer.__init__(self, sock.getsockname()[:2], Handler)
        self.socket = sock
        self.server_name, self.server_port = sock.getsockname()[:2]
        self.setup_environ()
        self.slots = slots
        self._free = threading.BoundedSemaphore(slots)

    def process_request(self, request, client_address):
        self._free.acquire()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._free.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._free.release()

    def wait_idle(self):
        """Wait until no request is in flight."""
        for _ in range(self.slots):
            self._free.acquire()
        for _ in range(self.slots):
            self._free.release()


def listening_socket(args):
    if args.fd is not None:
        sock = socket.socket(fileno=args.fd)
    else:
        sock = socket.create_server((args.host, args.port), backlog=socket.SOMAXCONN)
    # An inherited socket is left in the mode it came in: O_NONBLOCK belongs
    # to the open file shared with the supervisor and the next server.
    return sock


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", required=True)
    parser.add_argument("--fd", type=int, help="listening socket inherited as this fd")
    parser.add_argument("--probe-fd", type=int,
                        help="a second inherited socket, this instance's own: readiness probes")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--chdir", default=".")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--static", action="append", default=[], metavar="URL=DIR",
                        help="serve the files below DIR at URL")
    args = parser.parse_args()

    # Before chdir: a relative program path must still work for the re-exec.
    program = [sys.executable, os.path.abspath(sys.argv[0])] + sys.argv[1:]
    chdir = os.path.abspath(args.chdir)
    os.chdir(chdir)
    # sys.path[0] is this runner's directory (the gear's state directory);
    # the application's directory takes its place.
    sys.path[0] = chdir

    try:
        app = load(args.app, chdir)
        if args.static:
            app = static(app, [m.split("=", 1) for m in args.static])
    except BaseException:  # SystemExit at import too: the app did not load
        traceback.print_exc()
        sys.stderr.write("wsgiref_runner: cannot load %s\n" % args.app)
        sys.stderr.flush()
        sys.exit(1)

    sock = listening_socket(args)
    server = Server(sock, max(1, args.workers) * max(1, args.threads))
    servers = [server]
    if args.probe_fd is not None:
        servers.append(Server(socket.socket(fileno=args.probe_fd), 1))
    for s in servers:
        s.set_app(app)

    # A handler only records the request; serve_forever returns on the
    # next poll. TERM wins over HUP if both arrive.
    requested = []

    def shutdown():
        for s in servers:
            s.shutdown()

    def graceful(signum, frame):
        first = not requested
        requested.append(signum)
        if first:
            threading.Thread(target=shutdown, daemon=True).start()

    def immediate(signum, frame):
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, graceful)
    signal.signal(signal.SIGHUP, graceful)
    signal.signal(signal.SIGINT, immediate)

    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    server.serve_forever(poll_interval=0.1)
    if signal.SIGTERM in requested:
        sock.close()  # new connections are refused, or wait for the next server
    for s in servers:
        s.wait_idle()
    if signal.SIGTERM in requested:  # also a TERM that came during a HUP
        sock.close()
        sys.exit(0)

    # HUP: same PID, fresh interpreter, same socket.
    fd = sock.fileno()
    os.set_inheritable(fd, True)
    if args.probe_fd is not None:
        os.set_inheritable(args.probe_fd, True)
    if fd != args.fd:
        program += ["--fd", str(fd)]  # a socket we bound; argparse: the last --fd wins
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(program[0], program)


if __name__ == "__main__":
    main()
