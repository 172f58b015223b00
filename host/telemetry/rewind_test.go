package telemetry

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/host/engine"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// TestRewindGetsNewSpans: the failed run's orchestration and call spans
// were reported when it failed, so a rewound run reports new ones (new
// span ids) in the same trace, parented as the first: the parent's new
// run on the create span, the new call to the rewound child on it, and
// the child's new run on that call.
func TestRewindGetsNewSpans(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	reg := engine.Registry{
		Orchestrators: map[string]bindings.Orchestrator{
			"Top": func(ctx bindings.OrchestrationContext) (any, error) {
				return bindings.CallSubOrchestrator[string](ctx, "Flaky", nil)
			},
			"Flaky": func(ctx bindings.OrchestrationContext) (any, error) {
				return bindings.CallActivity[string](ctx, "FailOnce", nil)
			},
		},
		Activities: map[string]bindings.Activity{"FailOnce": func(bindings.ActivityContext) (any, error) {
			if calls.Add(1) == 1 {
				return nil, errors.New("first call fails")
			}
			return "ok", nil
		}},
	}
	hub := memory.New(memory.Options{})
	if err := hub.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := startTracedHost(t, hub, reg, false)
	c := durableclient.New(durableclient.Options{Hub: hub, OnCreate: h.tel.CreateHook()})
	ctx := context.Background()
	id, err := c.StartNew(ctx, "Top", nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := waitDone(t, hub, id); st.RuntimeStatus != sp.StatusFailed {
		t.Fatalf("first run %s, want Failed", st.RuntimeStatus)
	}
	if err := c.Rewind(ctx, id, "retry"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, hub, id, sp.StatusCompleted)

	st := spanTree{h.exp.GetSpans()}
	create := st.one(t, "create_orchestration:Top", trace.SpanKindProducer)
	tops := st.named("orchestration:Top", trace.SpanKindServer)
	callSpans := st.named("orchestration:Flaky", trace.SpanKindClient)
	flakies := st.named("orchestration:Flaky", trace.SpanKindServer)
	if len(tops) != 2 || len(callSpans) != 2 || len(flakies) != 2 {
		t.Fatalf("%d Top, %d call and %d Flaky spans, want 2 each: %s", len(tops), len(callSpans), len(flakies), st)
	}
	ids := map[trace.SpanID]bool{}
	for _, s := range st.spans {
		if ids[s.SpanContext.SpanID()] {
			t.Errorf("span id %s reported twice: %s", s.SpanContext.SpanID(), st)
		}
		ids[s.SpanContext.SpanID()] = true
	}
	for i, want := range []codes.Code{codes.Error, codes.Ok} {
		top, call, flaky := tops[i], callSpans[i], flakies[i]
		if top.Status.Code != want || flaky.Status.Code != want {
			t.Errorf("run %d: Top %v, Flaky %v, want %v", i, top.Status.Code, flaky.Status.Code, want)
		}
		if top.Parent.SpanID() != create.SpanContext.SpanID() {
			t.Errorf("run %d: Top's parent %s, want the create span %s", i, top.Parent.SpanID(), create.SpanContext.SpanID())
		}
		if call.Parent.SpanID() != top.SpanContext.SpanID() {
			t.Errorf("run %d: the call's parent %s, want Top %s", i, call.Parent.SpanID(), top.SpanContext.SpanID())
		}
		if flaky.Parent.SpanID() != call.SpanContext.SpanID() {
			t.Errorf("run %d: Flaky's parent %s, want the call %s", i, flaky.Parent.SpanID(), call.SpanContext.SpanID())
		}
	}
}

// waitStatus waits until the instance has the status (a rewound
// instance is terminal, Failed, before it runs again).
func waitStatus(t *testing.T, hub sp.TaskHub, id string, want sp.OrchestrationStatus) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		st, err := hub.GetOrchestrationState(context.Background(), id, false)
		if err != nil {
			t.Fatal(err)
		}
		if st != nil && st.RuntimeStatus == want {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s never reached %s", id, want)
}
