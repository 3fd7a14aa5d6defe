package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"
)

// The supervisor's own lines go beside the server's, in one of two
// formats (--log-format): text, for people and grep, or JSON, one object
// a line, for log shippers. Messages are templates (see package
// control): both formats fill in their {key}s from the record's
// attributes; JSON also keeps the template as "event" and every
// attribute as a field of its own.

// stampLayout is the time of a line: RFC 3339 in UTC, to the millisecond.
const stampLayout = "2006-01-02T15:04:05.000Z07:00"

func logFormatFlag() cli.Flag {
	return typed(cli.GenericFlag{Name: "log-format", EnvVars: []string{"GEARCTL_LOG_FORMAT"},
		Usage: "gearctl's own log lines: text (TIME gearctl: message) or json (one object a line: time, level, msg, event, attributes)"},
		"text", parseLogFormat, "text or json")
}

func parseLogFormat(s string) (string, error) {
	if s != "text" && s != "json" {
		return "", fmt.Errorf("not a log format")
	}
	return s, nil
}

// logFormatArgs passes --log-format on to a background supervisor.
func logFormatArgs(c *cli.Context) []string {
	if f := c.String("log-format"); f != "" && f != "text" {
		return []string{"--log-format", f}
	}
	return nil
}

// newLogger writes records to w in format, "text" or "json".
func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(&templateHandler{next: slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: jsonTime})})
	}
	return slog.New(&lineHandler{mu: new(sync.Mutex), w: w})
}

// render fills msg's {key}s from attrs and returns the attributes that
// have no place in it.
func render(msg string, attrs []slog.Attr) (string, []slog.Attr) {
	var rest []slog.Attr
	for _, a := range attrs {
		if hole := "{" + a.Key + "}"; strings.Contains(msg, hole) {
			msg = strings.ReplaceAll(msg, hole, valueText(a.Value))
		} else {
			rest = append(rest, a)
		}
	}
	return msg, rest
}

// recordAttrs are h's attributes and then r's.
func recordAttrs(own []slog.Attr, r slog.Record) []slog.Attr {
	attrs := append([]slog.Attr(nil), own...)
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	return attrs
}

// lineHandler prints records as "TIME gearctl: message k=v", one line
// each, so they read like the servers' own timestamped lines beside them.
type lineHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	attrs []slog.Attr
}

func (h *lineHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	msg, rest := render(r.Message, recordAttrs(h.attrs, r))
	var b strings.Builder
	if !r.Time.IsZero() {
		b.WriteString(r.Time.UTC().Format(stampLayout) + " ")
	}
	b.WriteString("gearctl: ")
	if r.Level >= slog.LevelWarn {
		b.WriteString(strings.ToLower(r.Level.String()) + ": ")
	}
	b.WriteString(msg)
	for _, a := range rest {
		fmt.Fprintf(&b, " %s=%s", a.Key, valueText(a.Value))
	}
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &lineHandler{mu: h.mu, w: h.w, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *lineHandler) WithGroup(string) slog.Handler { return h }

// valueText is an attribute's value as people read it: durations in
// seconds with two decimals, as the servers' own lines have them.
func valueText(v slog.Value) string {
	if v.Kind() == slog.KindDuration {
		return fmt.Sprintf("%.2fs", v.Duration().Seconds())
	}
	return v.String()
}

// templateHandler gives next each record with its message filled in and
// the template kept as "event".
type templateHandler struct {
	next  slog.Handler
	attrs []slog.Attr
}

func (h *templateHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *templateHandler) Handle(ctx context.Context, r slog.Record) error {
	msg, _ := render(r.Message, recordAttrs(h.attrs, r))
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	if msg != r.Message {
		out.AddAttrs(slog.String("event", r.Message))
	}
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(a)
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *templateHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &templateHandler{next: h.next.WithAttrs(attrs), attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *templateHandler) WithGroup(name string) slog.Handler {
	return &templateHandler{next: h.next.WithGroup(name), attrs: h.attrs}
}

// jsonTime writes a record's time as text lines have it, and durations in
// seconds.
func jsonTime(_ []string, a slog.Attr) slog.Attr {
	switch {
	case a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime:
		return slog.String(slog.TimeKey, a.Value.Time().UTC().Format(stampLayout))
	case a.Value.Kind() == slog.KindDuration:
		return slog.Float64(a.Key, a.Value.Duration().Seconds())
	}
	return a
}
