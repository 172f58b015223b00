package engine

import (
	"context"
	"log/slog"
)

// Replay-safe logging for orchestrators.

// replaySafeHandler drops records while the orchestrator replays.
type replaySafeHandler struct {
	inner slog.Handler
	e     *execution
}

func (h *replaySafeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	if h.e.enter("Logger") != nil {
		return false
	}
	return !h.e.replaying && h.inner.Enabled(ctx, l)
}

func (h *replaySafeHandler) Handle(ctx context.Context, r slog.Record) error {
	if err := h.e.enter("Logger"); err != nil {
		return err
	}
	if h.e.replaying {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

func (h *replaySafeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &replaySafeHandler{inner: h.inner.WithAttrs(as), e: h.e}
}

func (h *replaySafeHandler) WithGroup(name string) slog.Handler {
	return &replaySafeHandler{inner: h.inner.WithGroup(name), e: h.e}
}

// discardHandler is a slog.Handler that drops everything.
type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (d discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discardHandler) WithGroup(string) slog.Handler           { return d }
