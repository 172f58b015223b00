package telemetry

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/engine"
	sp "github.com/funchost/funchost/storageprovider"
)

var (
	fwd  = bindings.NewEntityID("fwd", "k")
	sink = bindings.NewEntityID("sink", "k")
)

// childID is the instance the fwd entity starts.
const childID = "started-by-fwd"

// sendingRegistry: the entity fwd, whose "relay" signals sink "add" and
// starts the orchestration Child, and whose "relayThenFail" does the same
// and fails (so that what it sent is dropped); sink counts.
func sendingRegistry() engine.Registry {
	return engine.Registry{
		Entities: map[string]bindings.Entity{
			"fwd": func(ctx bindings.EntityContext) error {
				if err := ctx.SignalEntity(sink, "add", 1); err != nil {
					return err
				}
				id := childID
				if ctx.Operation() == "relayThenFail" {
					id += "-dropped"
				}
				if _, err := ctx.StartNewOrchestration("Child", nil, bindings.WithInstanceID(id)); err != nil {
					return err
				}
				if ctx.Operation() == "relayThenFail" {
					return errors.New("relay failed")
				}
				return nil
			},
			"sink": func(ctx bindings.EntityContext) error {
				var n int
				if err := ctx.State(&n); err != nil {
					return err
				}
				return ctx.SetState(n + 1)
			},
		},
		Orchestrators: map[string]bindings.Orchestrator{"Child": func(bindings.OrchestrationContext) (any, error) { return "done", nil }},
	}
}

// runSendingScenario signals fwd "relayThenFail" and then "relay" from
// callerCtx and waits until Child completed and sink counted once.
func runSendingScenario(t *testing.T, tel *Telemetry, callerCtx context.Context) {
	t.Helper()
	hub, c := startObservedWorker(t, tel, sendingRegistry())
	for _, op := range []string{"relayThenFail", "relay"} {
		if err := c.SignalEntity(callerCtx, fwd, op, nil); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := hub.GetOrchestrationState(context.Background(), childID, false); err == nil && st != nil && st.RuntimeStatus.IsTerminal() {
			if st.RuntimeStatus != sp.StatusCompleted {
				t.Fatalf("Child %s", st.RuntimeStatus)
			}
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	for time.Now().Before(deadline) {
		if es, err := c.ReadEntityState(context.Background(), sink); err == nil && es.Exists {
			if n := string(es.State); n != "1" {
				t.Fatalf("sink counted %s signals, want 1 (the failed operation's is dropped)", n)
			}
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("sink never got its signal")
}

// TestEntitySendSpans: an entity operation's signal is a Producer span
// under the operation's span, naming the sending entity; the orchestration
// it starts has a {entity}:create_orchestration Producer span under the
// operation's span, and the orchestration's span is its child; a failed
// operation's sends get no spans.
func TestEntitySendSpans(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tel := New(Options{Tracing: &TraceOptions{Exporter: exp, Sync: true}})
	callerCtx, caller := tel.TracerProvider().Tracer("test").Start(context.Background(), "caller")
	runSendingScenario(t, tel, callerCtx)
	caller.End()
	st := spanTree{exp.GetSpans()}
	var relay tracetest.SpanStub
	for _, s := range st.named("entity:fwd:relay", trace.SpanKindConsumer) {
		relay = s
	}
	signal := st.one(t, "entity:sink:add", trace.SpanKindProducer)
	added := st.one(t, "entity:sink:add", trace.SpanKindConsumer)
	create := st.one(t, "fwd:create_orchestration", trace.SpanKindProducer)
	child := st.one(t, "orchestration:Child", trace.SpanKindServer)
	for _, p := range []struct {
		name         string
		span, parent tracetest.SpanStub
	}{
		{"signal ← sending operation", signal, relay},
		{"signalled operation ← signal", added, signal},
		{"create ← starting operation", create, relay},
		{"orchestration ← create", child, create},
	} {
		if !p.span.Parent.SpanID().IsValid() || p.span.Parent.SpanID() != p.parent.SpanContext.SpanID() {
			t.Errorf("%s: parent %s, want %s: %s", p.name, p.span.Parent.SpanID(), p.parent.SpanContext.SpanID(), st)
		}
		if p.span.SpanContext.TraceID() != caller.SpanContext().TraceID() {
			t.Errorf("%s: trace %s, want the caller's", p.name, p.span.SpanContext.TraceID())
		}
	}
	for _, a := range []struct {
		span       tracetest.SpanStub
		key, value string
	}{
		{signal, attrType, "entity"}, {signal, attrOperation, "signal_entity"}, {signal, attrTarget, "@sink@k"},
		{signal, attrInstanceID, "@fwd@k"},
		{create, attrType, "entity"}, {create, attrTarget, childID}, {create, attrInstanceID, "@fwd@k"},
	} {
		if got := attr(a.span, a.key); got != a.value {
			t.Errorf("%s %s: %s = %q, want %q", a.span.Name, a.span.SpanKind, a.key, got, a.value)
		}
	}
	if n := len(st.named("fwd:create_orchestration", trace.SpanKindProducer)) + len(st.named("entity:sink:add", trace.SpanKindProducer)); n != 2 {
		t.Errorf("%d send spans, want 2 (none for the failed operation): %s", n, st)
	}
}

// TestEntitySendLines: what an entity operation sends is logged as the
// target's scheduled line with the sending entity's name as Reason.
func TestEntitySendLines(t *testing.T) {
	t.Parallel()
	log, buf := newTestLogger()
	runSendingScenario(t, New(Options{Logger: log}), context.Background())
	msgs := buf.messages(t, CategoryDurableTask)
	for re, n := range map[string]int{
		`^@sink@k: Function 'sink \(Entity\)' scheduled\. Reason: fwd\. IsReplay: False\. State: Scheduled\. RuntimeStatus: Pending\.`:                1,
		`^` + childID + `: Function 'Child \(Orchestrator\)' scheduled\. Reason: fwd\. IsReplay: False\. State: Scheduled\. RuntimeStatus: Pending\.`: 1,
		`^` + childID + `-dropped: `: 0,
	} {
		if got := count(msgs, re); got != n {
			t.Errorf("%d lines match %q, want %d; lines:\n%s", got, re, n, strings.Join(msgs, "\n"))
		}
	}
}

// TestOrchestrationEntityWording: an orchestration waiting for an entity
// logs DF's entity reasons and "received an entity response" lines, not
// the generic event ones, and each entity work item ends with DF's batch
// line.
func TestOrchestrationEntityWording(t *testing.T) {
	t.Parallel()
	log, buf := newTestLogger()
	id := runEntityScenario(t, New(Options{Logger: log}), context.Background())
	msgs := buf.messages(t, CategoryDurableTask)
	p := `^` + id + `: Function 'UseAcc \(Orchestrator\)' `
	batch := `^@acc@k: Function 'acc \(Entity\)' received \d+ events and processed (\d+)/(\d+) entity operations\. OutOfOrderMessages: 0\. ` +
		`QueuedMessages: 0\. UserStateSize: \d+\. Sources: 0\. Destinations: 0\. LockedBy: (\S*)\. Suspended: False\. TraceFlags: \. State: EntityBatch\. HubName: `
	for re, n := range map[string]int{
		p + `is waiting for input\. Reason: WaitForLockAcquisitionCompleted:[0-9a-f-]{36}\. IsReplay: False\. State: Listening\.`: 1,
		p + `is waiting for input\. Reason: WaitForEntityResponse:[0-9a-f-]{36}\. IsReplay: False\. State: Listening\.`:           2,
		p + `received an entity response\. OperationId: [0-9a-f-]{36}\. State: ExternalEventRaised\.`:                             3,
		`WaitForExternalEvent:|received a '`: 0,
	} {
		if got := count(msgs, re); got != n {
			t.Errorf("%d lines match %q, want %d; lines:\n%s", got, re, n, strings.Join(msgs, "\n"))
		}
	}
	var lines []string
	for _, m := range msgs {
		if regexp.MustCompile(batch).MatchString(m) {
			lines = append(lines, m)
		}
	}
	if len(lines) == 0 {
		t.Fatalf("no entity batch line; lines:\n%s", strings.Join(msgs, "\n"))
	}
	held, last := false, regexp.MustCompile(batch).FindStringSubmatch(lines[len(lines)-1])
	for _, l := range lines {
		held = held || strings.Contains(l, "LockedBy: "+id+".")
	}
	if !held {
		t.Errorf("no batch line shows the lock held by %s:\n%s", id, strings.Join(lines, "\n"))
	}
	if last[1] != "1" || last[2] != "1" || last[3] != "" || !strings.Contains(last[0], "UserStateSize: 0.") {
		t.Errorf("the delete signal's batch line is %q, want 1/1 operations, no lock holder, no state", last[0])
	}
}
