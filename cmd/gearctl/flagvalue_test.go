package main

import (
	"errors"
	"testing"
)

// A value a flag does not accept is one line naming the flag, or the
// variable it came from, and what is accepted; exit status 2.
func TestBadFlagValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  [2]string
		want string
	}{
		{[]string{"start", "--port", "x"}, [2]string{}, `--port "x": not accepted; accepted: a port number, 1 to 65535`},
		{[]string{"start", "--workers=2.5"}, [2]string{}, `--workers "2.5": not accepted; accepted: a whole number`},
		{[]string{"stop", "--now=maybe"}, [2]string{}, `--now "maybe": not accepted; accepted: true or false`},
		{[]string{"logs", "-n", "ten"}, [2]string{}, `--lines "ten": not accepted; accepted: a whole number`},
		{[]string{"restart", "--stop-timeout", "5"}, [2]string{}, `--stop-timeout "5": not accepted; accepted: a duration such as 30s, 1m30s or 2m`},
		{[]string{"start"}, [2]string{"OPENSHIFT_PYTHON_PORT", "http"}, `OPENSHIFT_PYTHON_PORT="http" (for --port): not accepted; accepted: a port number, 1 to 65535`},
		{[]string{"control", "start"}, [2]string{"GEARCTL_PROBE_INTERVAL", "often"}, `GEARCTL_PROBE_INTERVAL="often" (for --probe-interval): not accepted; accepted: a duration such as 30s, 1m30s or 2m`},
		{[]string{"run", "--frob"}, [2]string{}, `--frob: unknown flag (see 'gearctl run --help' for the accepted ones)`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if tc.env[0] != "" {
				t.Setenv(tc.env[0], tc.env[1])
			}
			err := newApp().Run(append([]string{"gearctl", "--dir", t.TempDir()}, tc.args...))
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != 2 || ee.msg != tc.want {
				t.Errorf("%v %q: %v; want exit 2 and %q", tc.env, tc.args, err, tc.want)
			}
		})
	}
}
