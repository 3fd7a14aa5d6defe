package main

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// Messages are templates: attributes fill their {key}s, the others
// follow as key=value, and durations read in seconds.
func TestLineHandler(t *testing.T) {
	var b bytes.Buffer
	log := newLogger(&b).With("gear", "app")
	log.Info("{server} pid {pid} ready in {took}", "server", "gunicorn", "pid", 4242, "took", 123*time.Millisecond, "answer", "200 OK")
	log.Warn("relay {signal}: {err}", "signal", "user defined signal 1", "err", errors.New("no such process"))
	want := "gearctl: gunicorn pid 4242 ready in 0.12s gear=app answer=200 OK\n" +
		"gearctl: warn: relay user defined signal 1: no such process gear=app\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
