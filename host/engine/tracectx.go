package engine

import (
	"encoding/hex"
	"math/rand/v2"
	"slices"
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

// childTrace is the trace context of a call the orchestration makes, an
// activity or a sub-orchestration: its parent is a pre-allocated span id
// in the orchestration's trace — the call's Client span, which the
// Observer reports with that id when the result comes back. The callee
// (the activity's Server span, the child's orchestration span) is its
// child on any host.
func (e *execution) childTrace() *sp.TraceContext {
	if e.started == nil || e.started.ParentTraceContext == nil || e.started.ParentTraceContext.ID == "" {
		return nil
	}
	tc := e.started.ParentTraceContext
	traceID, flags, ok := parseTraceParent(tc.ID)
	if !ok {
		return nil
	}
	return &sp.TraceContext{TraceParent: "00-" + traceID + "-" + newSpanID() + "-" + flags, TraceState: tc.TraceState}
}

// ownTrace is the orchestration span's own context (nil when the
// execution is not traced): what an event the orchestration sends
// carries as its parent.
func (e *execution) ownTrace() *sp.TraceContext {
	if e.started == nil || e.started.ParentTraceContext == nil || e.started.ParentTraceContext.ID == "" {
		return nil
	}
	tc := e.started.ParentTraceContext
	return &sp.TraceContext{TraceParent: tc.ID, TraceState: tc.TraceState}
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

// retrace re-parents a rewound execution's trace, as DTFx does: the
// failed run's orchestration span was reported when it failed, so the
// rewound run gets a new identity (span id and start time, the rewind's),
// parented on the rewind request's context when it carries one (a parent
// rewinding its failed children sends its new call spans), else on the
// original parent. The failed children's calls get fresh Client span ids
// for the same reason (rewindTrace hands them to the children). The
// rewound history replaces the committed one, so all of it is persisted.
// Untraced executions stay untraced.
func (e *execution) retrace(rewind *sp.HistoryEvent, children []string) {
	if e.started == nil || e.started.ParentTraceContext == nil {
		return
	}
	old := e.started.ParentTraceContext
	tc := &sp.TraceContext{TraceParent: old.TraceParent, TraceState: old.TraceState}
	if rt := rewind.ParentTraceContext; rt != nil {
		if _, _, ok := parseTraceParent(rt.TraceParent); ok {
			tc = &sp.TraceContext{TraceParent: rt.TraceParent, TraceState: rt.TraceState}
		}
	}
	traceID, flags, ok := parseTraceParent(tc.TraceParent)
	if !ok {
		return
	}
	span := newSpanID()
	tc.SpanID, tc.ID = span, "00-"+traceID+"-"+span+"-"+flags
	t := rewind.Timestamp
	tc.ActivityStartTime = &t
	e.started.ParentTraceContext = tc
	for _, ev := range e.history {
		if ev.EventType == sp.EventSubOrchestrationInstanceCreated && ev.ParentTraceContext != nil && slices.Contains(children, ev.InstanceID) {
			ev.ParentTraceContext = e.childTrace()
		}
	}
}

// rewindTrace is the trace context a rewind sent to a failed child
// carries: the new Client span of the parent's call to it (nil when not
// traced).
func (e *execution) rewindTrace(child string) *sp.TraceContext {
	for _, ev := range e.history {
		if ev.EventType == sp.EventSubOrchestrationInstanceCreated && ev.InstanceID == child && ev.ParentTraceContext != nil {
			return &sp.TraceContext{TraceParent: ev.ParentTraceContext.TraceParent, TraceState: ev.ParentTraceContext.TraceState}
		}
	}
	return nil
}
