package telemetry

import (
	"context"
	"encoding/binary"
	"math/rand/v2"

	"go.opentelemetry.io/otel/trace"
)

// Spans whose identity history holds (the orchestration span, an
// activity call's Client span) must be reported with that span id. The
// OpenTelemetry API cannot set a span's id, so funchost's provider has an
// ID generator that takes the wanted id from the Start context.

type spanIDKey struct{}

// withSpanID asks the provider to give the next span started with ctx the
// span id hexID (16 hex digits); an invalid id is ignored.
func withSpanID(ctx context.Context, hexID string) context.Context {
	id, err := trace.SpanIDFromHex(hexID)
	if err != nil {
		return ctx
	}
	return context.WithValue(ctx, spanIDKey{}, id)
}

// idGenerator is random except where the context asks for a span id.
type idGenerator struct{}

func wantedSpanID(ctx context.Context) (trace.SpanID, bool) {
	id, ok := ctx.Value(spanIDKey{}).(trace.SpanID)
	return id, ok && id.IsValid()
}

func randomSpanID() trace.SpanID {
	var id trace.SpanID
	for !id.IsValid() {
		binary.BigEndian.PutUint64(id[:], rand.Uint64())
	}
	return id
}

// NewIDs returns a new trace id and span id.
func (idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	var tid trace.TraceID
	for !tid.IsValid() {
		binary.BigEndian.PutUint64(tid[:8], rand.Uint64())
		binary.BigEndian.PutUint64(tid[8:], rand.Uint64())
	}
	if id, ok := wantedSpanID(ctx); ok {
		return tid, id
	}
	return tid, randomSpanID()
}

// NewSpanID returns the wanted span id of ctx, else a random one.
func (idGenerator) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	if id, ok := wantedSpanID(ctx); ok {
		return id
	}
	return randomSpanID()
}
