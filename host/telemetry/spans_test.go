package telemetry

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/host/engine"
	"github.com/funchost/funchost/samples/sampleapp"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// callRegistry: Parent calls the sub-orchestration Child (which calls
// SayHello) and sends "ping" to the Waiter whose ID is its input; Waiter
// waits for "ping" and then for "poke", which a client raises.
func callRegistry() engine.Registry {
	return engine.Registry{
		Orchestrators: map[string]bindings.Orchestrator{
			"Parent": func(ctx bindings.OrchestrationContext) (any, error) {
				waiter, err := bindings.GetInput[string](ctx)
				if err != nil {
					return nil, err
				}
				if _, err := bindings.CallSubOrchestrator[string](ctx, "Child", nil, bindings.WithInstanceID(waiter+"-child")); err != nil {
					return nil, err
				}
				ctx.SendEvent(waiter, "ping", 1)
				return "sent", nil
			},
			"Child": func(ctx bindings.OrchestrationContext) (any, error) {
				return bindings.CallActivity[string](ctx, "SayHello", "child")
			},
			"Waiter": func(ctx bindings.OrchestrationContext) (any, error) {
				if _, err := bindings.WaitForExternalEvent[int](ctx, "ping"); err != nil {
					return nil, err
				}
				return bindings.WaitForExternalEvent[int](ctx, "poke")
			},
		},
		Activities: map[string]bindings.Activity{"SayHello": sampleapp.SayHello},
	}
}

// TestSubOrchestrationAndEventSpans: a sub-orchestration call is a Client
// span under the caller's orchestration span and the parent of the
// child's orchestration span; an event sent by an orchestration and one
// raised by a client are orchestration_event Producer spans under the
// sender's span, whose context the EventRaised carries.
func TestSubOrchestrationAndEventSpans(t *testing.T) {
	t.Parallel()
	hub := memory.New(memory.Options{})
	if err := hub.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := startTracedHost(t, hub, callRegistry(), false)
	c := durableclient.New(durableclient.Options{Hub: hub, OnCreate: h.tel.CreateHook(), OnRaise: h.tel.RaiseHook()})
	ctx := context.Background()
	waiter, err := c.StartNew(ctx, "Waiter", nil)
	if err != nil {
		t.Fatal(err)
	}
	parent, err := c.StartNew(ctx, "Parent", waiter)
	if err != nil {
		t.Fatal(err)
	}
	if st := waitDone(t, hub, parent); st.RuntimeStatus != sp.StatusCompleted {
		t.Fatalf("parent %s: %v", st.RuntimeStatus, st.FailureDetails)
	}
	callerCtx, caller := h.tel.TracerProvider().Tracer("test").Start(ctx, "caller")
	if err := c.RaiseEvent(callerCtx, waiter, "poke", 2); err != nil {
		t.Fatal(err)
	}
	caller.End()
	if st := waitDone(t, hub, waiter); st.RuntimeStatus != sp.StatusCompleted {
		t.Fatalf("waiter %s: %v", st.RuntimeStatus, st.FailureDetails)
	}

	st := spanTree{h.exp.GetSpans()}
	parentOrch := st.one(t, "orchestration:Parent", trace.SpanKindServer)
	call := st.one(t, "orchestration:Child", trace.SpanKindClient)
	child := st.one(t, "orchestration:Child", trace.SpanKindServer)
	childAct := st.one(t, "activity:SayHello", trace.SpanKindClient)
	ping := st.one(t, "orchestration_event:ping", trace.SpanKindProducer)
	poke := st.one(t, "orchestration_event:poke", trace.SpanKindProducer)
	parents := []struct {
		name         string
		span, parent tracetest.SpanStub
	}{
		{"sub-orchestration call ← parent orchestration", call, parentOrch},
		{"child orchestration ← call", child, call},
		{"child's activity ← child orchestration", childAct, child},
		{"sent event ← sender's orchestration", ping, parentOrch},
		{"raised event ← the client's span", poke, stubOf(caller)},
	}
	for _, p := range parents {
		if p.span.Parent.SpanID() != p.parent.SpanContext.SpanID() || p.span.SpanContext.TraceID() != p.parent.SpanContext.TraceID() {
			t.Errorf("%s: parent %s, want %s: %s", p.name, p.span.Parent.SpanID(), p.parent.SpanContext.SpanID(), st)
		}
	}
	attrs := []struct {
		span       tracetest.SpanStub
		key, value string
	}{
		{call, attrType, "orchestration"}, {call, attrName, "Child"}, {call, attrInstanceID, waiter + "-child"},
		{child, attrInstanceID, waiter + "-child"},
		{ping, attrType, "event"}, {ping, attrName, "ping"}, {ping, attrTarget, waiter}, {ping, attrInstanceID, parent},
		{poke, attrType, "event"}, {poke, attrName, "poke"}, {poke, attrTarget, waiter},
	}
	for _, a := range attrs {
		if got := attr(a.span, a.key); got != a.value {
			t.Errorf("%s %s = %q, want %q", a.span.Name, a.key, got, a.value)
		}
	}
	if attr(ping, attrExecutionID) == "" {
		t.Errorf("sent event span has no %s", attrExecutionID)
	}
	// The events the waiter received carry their senders' contexts.
	hist, err := hub.GetOrchestrationHistory(ctx, waiter)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ping": parentOrch.SpanContext.SpanID().String(), "poke": poke.SpanContext.SpanID().String()}
	for _, ev := range hist {
		if ev.EventType != sp.EventEventRaised {
			continue
		}
		if ev.ParentTraceContext == nil || !strings.Contains(ev.ParentTraceContext.TraceParent, "-"+want[ev.Name]+"-") {
			t.Errorf("EventRaised %q carries %+v, want the span %s", ev.Name, ev.ParentTraceContext, want[ev.Name])
		}
		delete(want, ev.Name)
	}
	if len(want) > 0 {
		t.Errorf("events not in the waiter's history: %v", want)
	}
}

// stubOf is enough of a live span to compare parents with.
func stubOf(s trace.Span) tracetest.SpanStub { return tracetest.SpanStub{SpanContext: s.SpanContext()} }

// TestTriggerSpans: timer and queue invocations are Server spans with
// the FaaS attributes, current in the invocation's context, and marked as
// errors when the function fails.
func TestTriggerSpans(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tel := New(Options{Tracing: &TraceOptions{Exporter: exp, Sync: true}})
	cases := []struct {
		name  string
		start func(context.Context) (context.Context, func(error))
		err   error
		want  map[string]string
	}{
		{"Tick", func(ctx context.Context) (context.Context, func(error)) {
			return tel.TimerSpan(ctx, "Tick", "0 */5 * * * *", false)
		}, nil,
			map[string]string{"faas.name": "Tick", "faas.trigger": "timer", "faas.cron": "0 */5 * * * *"}},
		{"Work", func(ctx context.Context) (context.Context, func(error)) {
			return tel.QueueSpan(ctx, "Work", "orders", "m1", 2)
		}, errBoom,
			map[string]string{"faas.name": "Work", "faas.trigger": "pubsub", "messaging.destination.name": "orders", "messaging.message.id": "m1"}},
	}
	for _, c := range cases {
		ctx, end := c.start(context.Background())
		_, inner := tel.TracerProvider().Tracer("user").Start(ctx, c.name+"-inner")
		inner.End()
		end(c.err)
		st := spanTree{exp.GetSpans()}
		span := st.one(t, c.name, trace.SpanKindServer)
		if in := st.one(t, c.name+"-inner", trace.SpanKindInternal); in.Parent.SpanID() != span.SpanContext.SpanID() {
			t.Errorf("%s: the function's own span is not under the invocation span", c.name)
		}
		for k, v := range c.want {
			if got := attr(span, k); got != v {
				t.Errorf("%s: %s = %q, want %q", c.name, k, got, v)
			}
		}
		if (span.Status.Description != "") != (c.err != nil) {
			t.Errorf("%s: status %v for error %v", c.name, span.Status, c.err)
		}
	}
	var none *Telemetry
	ctx := context.Background()
	if got, end := none.TimerSpan(ctx, "Tick", "", false); got != ctx || end == nil {
		t.Errorf("without telemetry the context changed or end is nil")
	}
}
