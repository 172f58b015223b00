package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/host/engine"
	"github.com/funchost/funchost/samples/sampleapp"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// The caller's trace, as an HTTP client would send it.
const (
	callerTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpanID  = "00f067aa0ba902b7"
)

// tracedHost is one in-process host: a worker on a shared task hub with
// its own telemetry and in-memory span exporter.
type tracedHost struct {
	exp *tracetest.InMemoryExporter
	tel *Telemetry
	w   *engine.Worker
}

func startTracedHost(t *testing.T, hub sp.TaskHub, reg engine.Registry, local bool) *tracedHost {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tel := New(Options{Tracing: &TraceOptions{Exporter: exp, Sync: true}})
	w := engine.NewWorker(hub, reg, engine.Options{Observer: tel, LocalActivities: local, MaxConcurrentOrchestrations: 2, MaxConcurrentActivities: 2})
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := &tracedHost{exp: exp, tel: tel, w: w}
	t.Cleanup(func() { h.stop(t) })
	return h
}

func (h *tracedHost) stop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.w.Stop(ctx); err != nil {
		t.Errorf("stopping the worker: %v", err)
	}
}

// startOverHTTP starts orchestrator through an HTTP starter wrapped in
// the host's HTTP tracing, with the caller's traceparent.
func startOverHTTP(t *testing.T, tel *Telemetry, hub sp.TaskHub, orchestrator string) string {
	t.Helper()
	c := durableclient.New(durableclient.Options{Hub: hub, OnCreate: tel.CreateHook()})
	var id string
	h := tel.HTTPTrace("HttpStart", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		if id, err = c.StartNew(r.Context(), orchestrator, nil); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	req := httptest.NewRequest(http.MethodPost, "/api/orchestrators/"+orchestrator, nil)
	req.Header.Set("traceparent", "00-"+callerTraceID+"-"+callerSpanID+"-01")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("starter answered %d: %s", rec.Code, rec.Body)
	}
	return id
}

func waitDone(t *testing.T, hub sp.TaskHub, id string) *sp.OrchestrationState {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		st, err := hub.GetOrchestrationState(context.Background(), id, true)
		if err != nil {
			t.Fatal(err)
		}
		if st != nil && st.RuntimeStatus.IsTerminal() {
			return st
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s did not finish", id)
	return nil
}

// spanTree indexes exported spans.
type spanTree struct {
	spans []tracetest.SpanStub
}

func (st spanTree) named(name string, kind trace.SpanKind) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range st.spans {
		if s.Name == name && s.SpanKind == kind {
			out = append(out, s)
		}
	}
	return out
}

func (st spanTree) one(t *testing.T, name string, kind trace.SpanKind) tracetest.SpanStub {
	t.Helper()
	got := st.named(name, kind)
	if len(got) != 1 {
		t.Fatalf("%d %s spans named %q, want 1; spans: %s", len(got), kind, name, st)
	}
	return got[0]
}

func (st spanTree) String() string {
	var b strings.Builder
	for _, s := range st.spans {
		b.WriteString("\n  " + s.Name + " " + s.SpanKind.String() + " " + s.SpanContext.SpanID().String() + " <- " + s.Parent.SpanID().String())
	}
	return b.String()
}

func attr(s tracetest.SpanStub, key string) string {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value.Emit()
		}
	}
	return ""
}

// checkSequenceTrace asserts the tree of one HelloSequence started over
// HTTP: HTTP span → create → orchestration → 3 × (activity Client →
// activity Server), all in the caller's trace.
func checkSequenceTrace(t *testing.T, st spanTree, id string) {
	t.Helper()
	for _, s := range st.spans {
		if s.SpanContext.TraceID().String() != callerTraceID {
			t.Errorf("span %s is in trace %s, want the caller's %s", s.Name, s.SpanContext.TraceID(), callerTraceID)
		}
	}
	httpSpan := st.one(t, "HttpStart", trace.SpanKindServer)
	create := st.one(t, "create_orchestration:HelloSequence", trace.SpanKindProducer)
	orch := st.one(t, "orchestration:HelloSequence", trace.SpanKindServer)
	clients := st.named("activity:SayHello", trace.SpanKindClient)
	servers := st.named("activity:SayHello", trace.SpanKindServer)
	if httpSpan.Parent.SpanID().String() != callerSpanID {
		t.Errorf("HTTP span's parent %s, want the caller's %s", httpSpan.Parent.SpanID(), callerSpanID)
	}
	if create.Parent.SpanID() != httpSpan.SpanContext.SpanID() {
		t.Errorf("create span's parent %s, want the HTTP span %s", create.Parent.SpanID(), httpSpan.SpanContext.SpanID())
	}
	if orch.Parent.SpanID() != create.SpanContext.SpanID() {
		t.Errorf("orchestration span's parent %s, want the create span %s", orch.Parent.SpanID(), create.SpanContext.SpanID())
	}
	if len(clients) != 3 || len(servers) != 3 {
		t.Fatalf("%d activity Client and %d Server spans, want 3 each: %s", len(clients), len(servers), st)
	}
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, c := range clients {
		if c.Parent.SpanID() != orch.SpanContext.SpanID() {
			t.Errorf("activity Client span's parent %s, want the orchestration %s", c.Parent.SpanID(), orch.SpanContext.SpanID())
		}
		byID[c.SpanContext.SpanID()] = c
	}
	for _, s := range servers {
		c, ok := byID[s.Parent.SpanID()]
		if !ok {
			t.Errorf("activity Server span's parent %s is no activity Client span: %s", s.Parent.SpanID(), st)
			continue
		}
		if attr(s, attrTaskID) != attr(c, attrTaskID) {
			t.Errorf("Server span of task %s under Client span of task %s", attr(s, attrTaskID), attr(c, attrTaskID))
		}
	}
	for k, v := range map[string]string{attrType: "orchestration", attrName: "HelloSequence", attrInstanceID: id, attrStatus: "Completed"} {
		if got := attr(orch, k); got != v {
			t.Errorf("orchestration span %s = %q, want %q", k, got, v)
		}
	}
	if orch.Status.Code != codes.Ok {
		t.Errorf("orchestration span status %v", orch.Status)
	}
	if got := attr(clients[0], attrType) + "/" + attr(clients[0], attrName) + "/" + attr(clients[0], attrInstanceID); got != "activity/SayHello/"+id {
		t.Errorf("activity span attributes %s", got)
	}
	for _, c := range clients {
		if c.StartTime.Before(orch.StartTime) || c.EndTime.After(orch.EndTime) {
			t.Errorf("orchestration span %v–%v does not cover its activity %s's %v–%v", orch.StartTime, orch.EndTime, attr(c, attrTaskID), c.StartTime, c.EndTime)
		}
	}
}

func TestTraceOfASequence(t *testing.T) {
	t.Parallel()
	for _, local := range []bool{false, true} {
		t.Run(map[bool]string{false: "queued activities", true: "in-process activities"}[local], func(t *testing.T) {
			t.Parallel()
			hub := memory.New(memory.Options{})
			if err := hub.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			h := startTracedHost(t, hub, testRegistry(), local)
			id := startOverHTTP(t, h.tel, hub, "HelloSequence")
			waitDone(t, hub, id)
			checkSequenceTrace(t, spanTree{h.exp.GetSpans()}, id)
		})
	}
}

func TestTraceOfAFailure(t *testing.T) {
	t.Parallel()
	hub := memory.New(memory.Options{})
	if err := hub.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := startTracedHost(t, hub, testRegistry(), false)
	id := startOverHTTP(t, h.tel, hub, "Failing")
	if st := waitDone(t, hub, id); st.RuntimeStatus != sp.StatusFailed {
		t.Fatalf("status %v", st.RuntimeStatus)
	}
	st := spanTree{h.exp.GetSpans()}
	for _, s := range []tracetest.SpanStub{st.one(t, "activity:Boom", trace.SpanKindServer), st.one(t, "activity:Boom", trace.SpanKindClient),
		st.one(t, "orchestration:Failing", trace.SpanKindServer)} {
		if s.Status.Code != codes.Error || !strings.Contains(s.Status.Description, "boom") {
			t.Errorf("%s %s: status %v, want Error with the failure", s.Name, s.SpanKind, s.Status)
		}
	}
	if got := attr(st.one(t, "orchestration:Failing", trace.SpanKindServer), attrStatus); got != "Failed" {
		t.Errorf("orchestration status attribute %q", got)
	}
}

// TestUserSpanNestsUnderActivity: a span the activity's code starts from
// its context is a child of the activity's Server span.
func TestUserSpanNestsUnderActivity(t *testing.T) {
	t.Parallel()
	hub := memory.New(memory.Options{})
	if err := hub.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var userTracer trace.Tracer
	reg := engine.Registry{
		Orchestrators: map[string]bindings.Orchestrator{"One": func(ctx bindings.OrchestrationContext) (any, error) {
			return bindings.CallActivity[string](ctx, "Work", nil)
		}},
		Activities: map[string]bindings.Activity{"Work": func(ctx bindings.ActivityContext) (any, error) {
			_, s := userTracer.Start(ctx, "user-work")
			s.End()
			return "ok", nil
		}},
	}
	h := startTracedHost(t, hub, reg, true)
	userTracer = h.tel.TracerProvider().Tracer("user")
	id := startOverHTTP(t, h.tel, hub, "One")
	waitDone(t, hub, id)
	st := spanTree{h.exp.GetSpans()}
	user, act := st.one(t, "user-work", trace.SpanKindInternal), st.one(t, "activity:Work", trace.SpanKindServer)
	if user.Parent.SpanID() != act.SpanContext.SpanID() || user.SpanContext.TraceID().String() != callerTraceID {
		t.Errorf("user span parent %s in trace %s, want the activity span %s in %s", user.Parent.SpanID(), user.SpanContext.TraceID(),
			act.SpanContext.SpanID(), callerTraceID)
	}
}

// TestTraceSurvivesAHostChange: the first host runs the first episode and
// stops before the activity can finish; a second host, with its own
// telemetry, finishes the instance from history. The trace is the same
// one, the orchestration span keeps the identity persisted in history.
func TestTraceSurvivesAHostChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hub := memory.New(memory.Options{})
	if err := hub.Start(ctx); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{}, 8)
	stuck := engine.Registry{Orchestrators: map[string]bindings.Orchestrator{"HelloSequence": sampleapp.HelloSequence},
		Activities: map[string]bindings.Activity{"SayHello": func(ctx bindings.ActivityContext) (any, error) {
			started <- struct{}{}
			<-ctx.Done() // the host goes away first
			return nil, ctx.Err()
		}}}
	a := startTracedHost(t, hub, stuck, false)
	id := startOverHTTP(t, a.tel, hub, "HelloSequence")
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the first host never ran the activity")
	}
	a.stop(t)
	hist, err := hub.GetOrchestrationHistory(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	persisted := ""
	for _, ev := range hist {
		if ev.EventType == sp.EventExecutionStarted && ev.ParentTraceContext != nil {
			persisted = ev.ParentTraceContext.SpanID
		}
	}
	if persisted == "" {
		t.Fatalf("history's ExecutionStarted carries no orchestration span identity: %+v", hist)
	}

	b := startTracedHost(t, hub, testRegistry(), false)
	waitDone(t, hub, id)
	all := append(a.exp.GetSpans(), b.exp.GetSpans()...)
	if n := len(spanTree{a.exp.GetSpans()}.named("orchestration:HelloSequence", trace.SpanKindServer)); n != 0 {
		t.Errorf("the first host reported %d orchestration spans for an unfinished instance", n)
	}
	st := spanTree{all}
	// The first host's aborted activity run is reported too (a second
	// Server span of task 0): keep the second host's runs only.
	var kept []tracetest.SpanStub
	for _, s := range st.spans {
		if s.Name == "activity:SayHello" && s.SpanKind == trace.SpanKindServer && s.Status.Code == codes.Error {
			continue
		}
		kept = append(kept, s)
	}
	st = spanTree{kept}
	checkSequenceTrace(t, st, id)
	if got := st.one(t, "orchestration:HelloSequence", trace.SpanKindServer).SpanContext.SpanID().String(); got != persisted {
		t.Errorf("orchestration span id %s, want the persisted %s", got, persisted)
	}
}

func TestTracingOffWritesNoTraceContext(t *testing.T) {
	t.Parallel()
	tel := New(Options{})
	if tel.CreateHook() != nil {
		t.Error("a create hook without tracing")
	}
	if _, ok := tel.TracerProvider().(*sdktrace.TracerProvider); ok {
		t.Error("an SDK provider without tracing")
	}
	hub := memory.New(memory.Options{})
	if err := hub.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	w := engine.NewWorker(hub, testRegistry(), engine.Options{Observer: tel})
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Stop(context.Background()) }()
	c := durableclient.New(durableclient.Options{Hub: hub, OnCreate: tel.CreateHook()})
	id, err := c.StartNew(context.Background(), "HelloSequence", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, hub, id)
	hist, err := hub.GetOrchestrationHistory(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range hist {
		if ev.ParentTraceContext != nil {
			t.Errorf("%s carries a trace context with tracing off", ev.EventType)
		}
	}
}
