package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// maxRequest bounds a control request's body: a restart's spec is a few KB.
const maxRequest = 1 << 20

// APIOptions are what the control API serves besides the supervisor.
type APIOptions struct {
	// Rotate starts a new log file, for tidy.
	Rotate func() error
	// Balancer reports the load-balancer registration for status. It is
	// called on each status request and must not wait.
	Balancer func() BalancerReport
}

// Report is what `status` shows: the supervisor's status, every process of
// the gear, and what the caller needs to restart it with changes.
type Report struct {
	Status
	Processes []ProcessInfo `json:"processes"`
	// LogError is the last failure to write the server's output (a full or
	// unwritable log directory); the server keeps serving meanwhile.
	LogError string `json:"log_error,omitempty"`
	// Balancer is the gear's load-balancer registration; nil without one.
	Balancer *BalancerReport `json:"haproxy,omitempty"`
}

// restartRequest carries a fully resolved spec: the caller checked its
// input, so nothing bad reaches the running gear.
type restartRequest struct {
	Spec Spec `json:"spec"`
}

// API serves the control requests of one supervisor on a unix socket that
// only its owner (and root) may use.
type API struct {
	sup  *Supervisor
	opt  APIOptions
	srv  *http.Server
	path string
	// ino is the socket's inode once bound; only KeepSocket's goroutine
	// changes it after ServeAPI.
	ino uint64
}

type peerKey struct{}

// ServeAPI listens on the unix socket path (replacing a stale one: the
// caller holds the gear's lock) and serves until Close.
func ServeAPI(sup *Supervisor, path string, opt APIOptions) (*API, error) {
	a := &API{sup: sup, opt: opt, path: path}
	l, err := a.listen()
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", a.status)
	mux.HandleFunc("GET /v1/state", a.state)
	mux.HandleFunc("GET /v1/settled", a.settled)
	mux.HandleFunc("POST /v1/stop", a.stop)
	mux.HandleFunc("POST /v1/reload", a.reload)
	mux.HandleFunc("POST /v1/restart", a.restart)
	mux.HandleFunc("POST /v1/rotate", a.rotate)
	a.srv = &http.Server{
		Handler:           a.checkPeer(mux),
		ReadHeaderTimeout: 5 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, peerKey{}, peerCred(c))
		},
	}
	go a.srv.Serve(l)
	return a, nil
}

// listen binds the socket at a.path, 0600, in place of whatever is there.
func (a *API) listen() (*net.UnixListener, error) {
	os.Remove(a.path)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: a.path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	// A listener replaced by KeepSocket must not unlink its successor
	// when it is closed; Close removes the path itself.
	l.SetUnlinkOnClose(false)
	var st unix.Stat_t
	err = os.Chmod(a.path, 0o600)
	if err == nil {
		err = unix.Stat(a.path, &st)
	}
	if err != nil {
		l.Close()
		return nil, err
	}
	a.ino = st.Ino
	return l, nil
}

// KeepSocket binds the socket again when its path no longer is the one
// this API listens on (removed, or replaced): without it no command finds
// the supervisor. The directory must exist.
func (a *API) KeepSocket() error {
	var st unix.Stat_t
	if unix.Stat(a.path, &st) == nil && st.Ino == a.ino {
		return nil
	}
	l, err := a.listen()
	if err != nil {
		return fmt.Errorf("control socket %s: %w", a.path, err)
	}
	go a.srv.Serve(l)
	return nil
}

// closeWait is how long Close lets answers under way be written: those
// that wait for the supervisor's end (stop, settled) are written at once.
const closeWait = time.Second

// Close stops serving and removes the socket.
func (a *API) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	if a.srv.Shutdown(ctx) != nil {
		a.srv.Close()
	}
	os.Remove(a.path)
}

// peerCred is the connecting process's credentials, nil if unknown.
func peerCred(c net.Conn) *unix.Ucred {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return nil
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil
	}
	var cred *unix.Ucred
	raw.Control(func(fd uintptr) {
		cred, _ = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	return cred
}

// checkPeer lets only the supervisor's own user and root through. The
// socket's mode already says so; this holds even if the mode is changed.
func (a *API) checkPeer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cred, _ := r.Context().Value(peerKey{}).(*unix.Ucred)
		if cred == nil || (cred.Uid != 0 && int(cred.Uid) != os.Getuid()) {
			uid := -1
			if cred != nil {
				uid = int(cred.Uid)
			}
			reply(w, http.StatusForbidden, fmt.Errorf("uid %d may not control this gear (owner uid %d)", uid, os.Getuid()))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxRequest)
		next.ServeHTTP(w, r)
	})
}

func (a *API) status(w http.ResponseWriter, _ *http.Request) {
	st := a.sup.Status()
	rep := Report{Status: st, Processes: Processes(st.SupervisorPID, st.PID)}
	if err := a.sup.outputErr(); err != nil {
		rep.LogError = err.Error()
	}
	if a.opt.Balancer != nil {
		b := a.opt.Balancer()
		rep.Balancer = &b
	}
	reply(w, http.StatusOK, rep)
}

// state answers the gear's Status alone: without the processes, whose
// walk of /proc is most of what a status costs, a list of many gears asks
// each of them at once.
func (a *API) state(w http.ResponseWriter, _ *http.Request) {
	reply(w, http.StatusOK, a.sup.Status())
}

// settled answers once the gear is no longer on its way somewhere
// (starting, backoff, reloading, restarting), or when the caller gives up:
// start waits on it instead of polling.
func (a *API) settled(w http.ResponseWriter, r *http.Request) {
	for {
		st, changed := a.sup.Watch()
		if st.State.Settled() {
			reply(w, http.StatusOK, st)
			return
		}
		select {
		case <-changed:
		case <-r.Context().Done():
			return
		case <-a.sup.Done():
			reply(w, http.StatusOK, a.sup.Status())
			return
		}
	}
}

// stop joins the stop under way (?now=1 kills at once: stop --now) and
// answers when it is done with the final status, whose warnings say what
// the stop could not do.
func (a *API) stop(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("now") != "" {
		a.sup.Kill()
	} else {
		a.sup.Stop()
	}
	select {
	case <-a.sup.Done():
		reply(w, http.StatusOK, a.sup.Status())
	case <-r.Context().Done():
	}
}

func (a *API) reload(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, a.sup.Reload(r.Context()))
}

func (a *API) restart(w http.ResponseWriter, r *http.Request) {
	var req restartRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		reply(w, http.StatusBadRequest, fmt.Errorf("malformed restart request: %w", err))
		return
	}
	if err := req.Spec.validate(); err != nil {
		reply(w, http.StatusBadRequest, err)
		return
	}
	reply(w, http.StatusOK, a.sup.Restart(r.Context(), req.Spec))
}

func (a *API) rotate(w http.ResponseWriter, _ *http.Request) {
	if a.opt.Rotate == nil {
		reply(w, http.StatusOK, nil)
		return
	}
	reply(w, http.StatusOK, a.opt.Rotate())
}

// apiError is the body of a failed request.
type apiError struct {
	Error string     `json:"error"`
	State State      `json:"state,omitempty"`
	Fail  *FailError `json:"fail,omitempty"`
}

// reply writes v as JSON; an error value becomes an apiError with 409 for
// a request the state does not allow, 501 for a reload the server does not
// have and 500 for one that failed.
func reply(w http.ResponseWriter, code int, v any) {
	if err, ok := v.(error); ok {
		body := apiError{Error: err.Error()}
		var se *StateError
		var fe *FailError
		switch {
		case errors.As(err, &se):
			code, body.State = http.StatusConflict, se.State
		case errors.As(err, &fe):
			code, body.Fail = http.StatusInternalServerError, fe
		case errors.Is(err, ErrNoReload):
			code = http.StatusNotImplemented
		case code < 400:
			code = http.StatusInternalServerError
		}
		v = body
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if v != nil {
		json.NewEncoder(w).Encode(v)
	}
}
