package engine

import (
	"encoding/hex"
	"math/rand/v2"
	"strings"

	sp "github.com/funchost/funchost/storageprovider"
)

// Distributed-trace context in history, as DTFx keeps it (see
// docs/observability.md): the engine only writes W3C identifiers into the
// events it records; spans are made by the Observer from the events it
// reports. Instances started without a trace context (tracing off) get
// none of this.

// startTrace gives a new execution's orchestration span its identity on
// its first episode: a fresh span id, its traceparent and start time,
// written into ExecutionStarted's ParentTraceContext so that they are
// committed with the first history batch and every later episode, on any
// host, reports the same span.
func (e *execution) startTrace() {
	tc := e.started.ParentTraceContext
	if tc == nil || tc.SpanID != "" {
		return
	}
	traceID, flags, ok := parseTraceParent(tc.TraceParent)
	if !ok {
		return
	}
	span := newSpanID()
	tc.SpanID, tc.ID = span, "00-"+traceID+"-"+span+"-"+flags
	t := e.now
	tc.ActivityStartTime = &t
}

// childTrace is the trace context of a call the orchestration makes: an
// activity's parent is a pre-allocated span id in the orchestration's
// trace (its Client span, which the Observer reports when the result
// comes back); a sub-orchestration's parent is the orchestration span.
func (e *execution) childTrace(kind actionKind) *sp.TraceContext {
	if e.started == nil || e.started.ParentTraceContext == nil || e.started.ParentTraceContext.ID == "" {
		return nil
	}
	tc := e.started.ParentTraceContext
	if kind == kindSubOrchestration {
		return &sp.TraceContext{TraceParent: tc.ID, TraceState: tc.TraceState}
	}
	traceID, flags, ok := parseTraceParent(tc.ID)
	if !ok {
		return nil
	}
	return &sp.TraceContext{TraceParent: "00-" + traceID + "-" + newSpanID() + "-" + flags, TraceState: tc.TraceState}
}

// parseTraceParent splits a version-00 W3C traceparent into its trace id
// and flags.
func parseTraceParent(tp string) (traceID, flags string, ok bool) {
	parts := strings.Split(tp, "-")
	if len(parts) != 4 || parts[0] != "00" || len(parts[1]) != 32 || len(parts[2]) != 16 || len(parts[3]) != 2 {
		return "", "", false
	}
	for _, p := range parts[1:] {
		if _, err := hex.DecodeString(p); err != nil {
			return "", "", false
		}
	}
	if strings.Trim(parts[1], "0") == "" || strings.Trim(parts[2], "0") == "" {
		return "", "", false
	}
	return parts[1], parts[3], true
}

// newSpanID returns a random, non-zero W3C span id (16 hex digits).
func newSpanID() string {
	for {
		if v := rand.Uint64(); v != 0 {
			var b [8]byte
			for i := range b {
				b[i] = byte(v >> (56 - 8*i))
			}
			return hex.EncodeToString(b[:])
		}
	}
}
