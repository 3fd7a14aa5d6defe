"""A new application's starting point: any WSGI callable named
application. Put its requirements in requirements.txt (gunicorn or uwsgi
among them to run that server from the virtualenv), choose the server with
`rhc env set OPENSHIFT_PYTHON_SERVER=gunicorn`, and push."""


def application(environ, start_response):
    body = b"Hello from a gear run by gearctl\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
