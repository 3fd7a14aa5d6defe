#!/bin/bash
# The stop-then-start control script that PaaS cartridges shipped as
# bin/control, the baseline gearctl replaces:
#
#   stopstart.sh start|stop|restart PIDFILE LOGFILE [SERVER COMMAND LINE...]
#
# start puts the server in the background and records its PID; stop sends
# TERM and waits for that PID to go away (KILL after 30 s); restart is stop,
# then start.
set -u
action=$1 pidfile=$2 logfile=$3
shift 3

# running: the process exists and has not exited. An exited server stays a
# zombie until init reaps it, which this sandbox's PID 1 does only every few
# seconds; a real init reaps at once, so a zombie counts as gone.
running() {
	local state
	state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

start() {
	"$@" >>"$logfile" 2>&1 </dev/null &
	echo $! >"$pidfile"
}

stop() {
	[ -f "$pidfile" ] || return 0
	local pid n=0
	pid=$(cat "$pidfile")
	kill -TERM "$pid" 2>/dev/null
	while running "$pid"; do
		n=$((n + 1))
		if [ "$n" -eq 600 ]; then kill -KILL "$pid" 2>/dev/null; fi
		sleep 0.05
	done
	rm -f "$pidfile"
}

case $action in
start) start "$@" ;;
stop) stop ;;
restart) stop && start "$@" ;;
*)
	echo "usage: $0 start|stop|restart PIDFILE LOGFILE [COMMAND...]" >&2
	exit 2
	;;
esac
