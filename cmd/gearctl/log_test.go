package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"testing"
	"time"
)

// Messages are templates: attributes fill their {key}s, the others
// follow as key=value, durations read in seconds, and each line starts
// with its time in UTC to the millisecond.
func TestLineHandler(t *testing.T) {
	var b bytes.Buffer
	log := newLogger(&b, "text").With("gear", "app")
	log.Info("{server} pid {pid} ready in {took}", "server", "gunicorn", "pid", 4242, "took", 123*time.Millisecond, "answer", "200 OK")
	log.Warn("relay {signal}: {err}", "signal", "user defined signal 1", "err", errors.New("no such process"))
	want := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z gearctl: gunicorn pid 4242 ready in 0\.12s gear=app answer=200 OK\n` +
		`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z gearctl: warn: relay user defined signal 1: no such process gear=app\n$`)
	if !want.MatchString(b.String()) {
		t.Errorf("got\n%s\nwant lines matching %s", b.String(), want)
	}
}

// JSON lines carry the sentence as msg, the template as event, and every
// attribute as a typed field.
func TestJSONHandler(t *testing.T) {
	var b bytes.Buffer
	newLogger(&b, "json").With("gear", "app").Info("{server} pid {pid} ready in {took}", "server", "gunicorn", "pid", 4242, "took", 1500*time.Millisecond)
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, b.String())
	}
	want := map[string]any{"level": "INFO", "msg": "gunicorn pid 4242 ready in 1.50s", "event": "{server} pid {pid} ready in {took}",
		"gear": "app", "server": "gunicorn", "pid": float64(4242), "took": 1.5}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v (%T); want %v", k, got[k], got[k], v)
		}
	}
	if ts, _ := got["time"].(string); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`).MatchString(ts) {
		t.Errorf("time %q; want RFC 3339 in UTC to the millisecond", got["time"])
	}
}
