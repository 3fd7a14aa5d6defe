package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// lineHandler prints the supervisor's records as "gearctl: message k=v",
// one line each, so they read like the server's own lines beside them.
// Messages are templates (see package control): the handler fills in
// their {key}s from the record's attributes.
type lineHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	attrs []slog.Attr
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(&lineHandler{mu: new(sync.Mutex), w: w})
}

func (h *lineHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	var rest []slog.Attr
	// A {key} in the message is the attribute's place in the sentence;
	// attributes without one follow as key=value.
	fill := func(a slog.Attr) bool {
		if hole := "{" + a.Key + "}"; strings.Contains(msg, hole) {
			msg = strings.ReplaceAll(msg, hole, valueText(a.Value))
		} else {
			rest = append(rest, a)
		}
		return true
	}
	for _, a := range h.attrs {
		fill(a)
	}
	r.Attrs(fill)
	var b strings.Builder
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

// valueText is an attribute's value as people read it: durations in
// seconds with two decimals, as the servers' own lines have them.
func valueText(v slog.Value) string {
	if v.Kind() == slog.KindDuration {
		return fmt.Sprintf("%.2fs", v.Duration().Seconds())
	}
	return v.String()
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &lineHandler{mu: h.mu, w: h.w, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *lineHandler) WithGroup(string) slog.Handler { return h }
