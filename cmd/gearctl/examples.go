package main

// examples are what `gearctl help VERB` shows below the usage line: how
// the verb is used, by example, in one place so that they read as one
// manual.
var examples = map[string]string{
	"run": `Runs the server in the foreground and stays its parent: the ENTRYPOINT of
a container (a correct PID 1: it reaps, relays signals, runs the deploy
hook first), or ExecStart of a systemd Type=notify unit. Ctrl-C or SIGTERM
stops it gracefully; a second one kills.

Examples:
   gearctl run                                   # the app in the current directory, the best server installed
   gearctl run --server uwsgi --port 8081 --workers 4
   gearctl run --app mysite.wsgi:application --chdir /srv/app
   gearctl run --log-to-terminal=false          # server output to DIR/logs/server.log, rotated`,

	"start": `Starts a background supervisor (gearctl run) unless one runs, and returns
once the application answers its ready probe: 0 ready, 1 with the cause
and the server's last lines. On a running gear it starts nothing and says
which of the settings it was given differ from the running ones.

Examples:
   gearctl start
   gearctl start --server gunicorn --workers 4 --env DJANGO_DEBUG=0
   gearctl start --chdir ..            # from static/: the gear, and its .gearctl, are the app's
   gearctl --name shop start           # a name of its own (default: the app directory's name)
   gearctl start --haproxy 127.0.0.1:9999 --haproxy-backend app --host 10.0.0.5`,

	"stop": `Stops the server gracefully (within --stop-timeout, then SIGKILL), then
every other process of the gear, then the supervisor; returns once none
is left and the port is free. A second stop joins the first.

Examples:
   gearctl stop
   gearctl stop shop        # the gear named shop, from anywhere (see gearctl list)
   gearctl stop --now       # kill at once, also during a graceful stop`,

	"restart": `Starts a new server beside the running one, on the same listening socket,
and stops the old one once the new one answers: no connection is refused.
Flags change only the settings they name; the rest stays as the gear
runs. If the new server fails, the old one keeps serving (exit 1). A
stopped gear is started.

Examples:
   gearctl restart                     # new code, same settings
   gearctl restart --server uwsgi      # swap servers
   gearctl restart --workers 8 --env FEATURE=on`,

	"reload": `Asks the server for its own graceful reload (gunicorn and uWSGI: SIGHUP,
new workers import the code again; Apache and mod_wsgi-express: SIGUSR1,
a graceful restart), keeps its PID, and returns once it answers again. A
server without one is restarted instead.

Example:
   gearctl reload`,

	"status": `Says what the gear does: state and since when, server and pid, app,
interpreter, haproxy, restarts, memory, processes, and the log's last
lines. Exit status as LSB: 0 ready, 1 running but not ready (or without
its supervisor), 3 not running.

Examples:
   gearctl status
   gearctl status shop                  # the gear named shop, from anywhere (see gearctl list)
   gearctl status -n 50
   gearctl status --json | jq .state`,

	"list": `Lists every gear of this user on the host, one line each: name, state,
server, pid, address, uptime, restarts and application directory. Every
supervisor registers itself (in /run/gearctl for root,
$XDG_RUNTIME_DIR/gearctl for other users); one that was killed is listed
as gone until gearctl tidy removes its entry, one that does not answer
within a second as unresponsive.

Examples:
   gearctl list
   gearctl list --json | jq -r '.gears[] | select(.state != "ready") | .name'`,

	"logs": `Prints the last lines of server.log: the server's output and gearctl's
own timestamped lines; -f follows across rotations.

Examples:
   gearctl logs -n 100
   gearctl logs -f
   gearctl logs -n 100 shop    # the gear named shop; flags come before the name`,

	"tidy": `Starts a new log file and removes the rotated ones, temporary files, and,
when no supervisor runs, its socket and pidfile and a server pidfile that
is stale or unreadable (a live server's is kept: stop it first), and the
registry's entries of gears whose supervisor is gone.

Example:
   gearctl tidy`,

	"control": `A cartridge's bin/control: the platform's actions with the application's
.openshift/action_hooks around them, its markers, and CLIENT_* lines for
the user. A symlink named control to gearctl does the same.

Examples:
   gearctl control start
   gearctl control build      # virtualenv and pip install -r requirements.txt
   gearctl control deploy     # deploy hook, then restart (reload with the hot_deploy marker)`,

	"shell": `Opens a shell, or runs the command after --, in the application's
directory with its environment: the virtualenv first on PATH.

Examples:
   gearctl shell
   gearctl shell -- python manage.py migrate`,

	"version": `Example:
   gearctl version`,
}
