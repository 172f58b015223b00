package telemetry

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/engine"
	sp "github.com/funchost/funchost/storageprovider"
)

var acc = bindings.NewEntityID("acc", "k")

// entityRegistry: the entity acc (add, fail, delete) and UseAcc, which
// locks it, adds 1, calls fail (and moves on) and leaves.
func entityRegistry() engine.Registry {
	return engine.Registry{
		Entities: map[string]bindings.Entity{"acc": func(ctx bindings.EntityContext) error {
			var n int
			if err := ctx.State(&n); err != nil {
				return err
			}
			switch ctx.Operation() {
			case "add":
				var d int
				if err := ctx.Input(&d); err != nil {
					return err
				}
				ctx.Return(n + d)
				return ctx.SetState(n + d)
			case "fail":
				return errors.New("no such luck")
			case "delete":
				ctx.DeleteState()
			}
			return nil
		}},
		Orchestrators: map[string]bindings.Orchestrator{"UseAcc": func(ctx bindings.OrchestrationContext) (any, error) {
			if _, err := bindings.Await[any](ctx.LockEntities(acc)); err != nil {
				return nil, err
			}
			n, err := bindings.Await[int](ctx.CallEntity(acc, "add", 1))
			if err != nil {
				return nil, err
			}
			_, _ = bindings.Await[any](ctx.CallEntity(acc, "fail", nil))
			ctx.UnlockEntities()
			return n, nil
		}},
	}
}

// runEntityScenario runs UseAcc, then a client's signal "delete", and
// returns the orchestration's ID.
func runEntityScenario(t *testing.T, tel *Telemetry, callerCtx context.Context) string {
	t.Helper()
	hub, c := startObservedWorker(t, tel, entityRegistry())
	id, err := c.StartNew(callerCtx, "UseAcc", nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := waitDone(t, hub, id); st.RuntimeStatus != sp.StatusCompleted {
		t.Fatalf("UseAcc %s: %v", st.RuntimeStatus, st.FailureDetails)
	}
	if err := c.SignalEntity(callerCtx, acc, "delete", nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if es, err := c.ReadEntityState(context.Background(), acc); err == nil && !es.Exists {
			return id
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the signal did not delete the entity")
	return ""
}

// TestEntityLifecycleLines: DF's entity templates for operations, state,
// locks and the requests that reach the entity.
func TestEntityLifecycleLines(t *testing.T) {
	t.Parallel()
	log, buf := newTestLogger()
	id := runEntityScenario(t, New(Options{Logger: log}), context.Background())
	msgs := buf.messages(t, CategoryDurableTask)
	p := `^@acc@k: Function 'acc \(Entity\)' `
	want := map[string]int{
		p + `scheduled\. Reason: UseAcc\. IsReplay: False\. State: Scheduled\. RuntimeStatus: Pending\.`:                                                     2,
		p + `scheduled\. Reason: EntitySignal:delete\. IsReplay: False\.`:                                                                                    1,
		p + `completed 'add' operation \S+ in [\d.]+ms\. IsReplay: False\. Input: \(Redacted 1 characters\)\. Output: \(Redacted 1 characters\)\. HubName: `: 1,
		p + `failed 'fail' operation \S+ after [\d.]+ms with exception \*errors\.errorString\. Input: \(Redacted 0 characters\)\. IsReplay: False\.`:         1,
		p + `created entity state in 'add' operation \S+\. State: EntityStateCreated\.`:                                                                      1,
		p + `deleted entity state in 'delete' operation \S+\. State: EntityStateDeleted\.`:                                                                   1,
		p + `granted lock to request \S+ by instance ` + id + `, execution [0-9a-f]{32}\. State: LockAcquired\.`:                                             1,
		p + `released lock held by request \S+ by instance ` + id + `\. State: LockReleased\.`:                                                               1,
		`TaskEventId`: 2, // the orchestration's own started and completed lines, not the entity's
	}
	for re, n := range want {
		if got := count(msgs, re); got != n {
			t.Errorf("%d lines match %q, want %d; lines:\n%s", got, re, n, strings.Join(msgs, "\n"))
		}
	}
}

// TestEntitySpans: an orchestration's call is a Client span under its
// orchestration span with the entity's Server span under it; a failed
// operation's span is an error; a client's signal is a Producer span
// under the caller's span with the entity's Consumer span under it.
func TestEntitySpans(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tel := New(Options{Tracing: &TraceOptions{Exporter: exp, Sync: true}})
	callerCtx, caller := tel.TracerProvider().Tracer("test").Start(context.Background(), "caller")
	runEntityScenario(t, tel, callerCtx)
	caller.End()
	st := spanTree{exp.GetSpans()}
	orch := st.one(t, "orchestration:UseAcc", trace.SpanKindServer)
	addCall := st.one(t, "entity:acc:add", trace.SpanKindClient)
	addRun := st.one(t, "entity:acc:add", trace.SpanKindServer)
	failRun := st.one(t, "entity:acc:fail", trace.SpanKindServer)
	signal := st.one(t, "entity:acc:delete", trace.SpanKindProducer)
	deleteRun := st.one(t, "entity:acc:delete", trace.SpanKindConsumer)
	for _, p := range []struct {
		name         string
		span, parent tracetest.SpanStub
	}{
		{"call ← orchestration", addCall, orch},
		{"operation ← call", addRun, addCall},
		{"signal ← caller", signal, stubOf(caller)},
		{"signalled operation ← signal", deleteRun, signal},
	} {
		if p.span.Parent.SpanID() != p.parent.SpanContext.SpanID() {
			t.Errorf("%s: parent %s, want %s: %s", p.name, p.span.Parent.SpanID(), p.parent.SpanContext.SpanID(), st)
		}
	}
	for _, a := range []struct {
		span       tracetest.SpanStub
		key, value string
	}{
		{addCall, attrType, "entity"}, {addCall, attrOperation, "call_entity"}, {addCall, attrTarget, "@acc@k"},
		{addRun, attrOperation, "call_entity"}, {addRun, attrInstanceID, "@acc@k"},
		{signal, attrOperation, "signal_entity"}, {deleteRun, attrOperation, "signal_entity"},
		{failRun, attrEntityError, "no such luck"},
	} {
		if got := attr(a.span, a.key); got != a.value {
			t.Errorf("%s %s: %s = %q, want %q", a.span.Name, a.span.SpanKind, a.key, got, a.value)
		}
	}
	if failRun.Status.Code != codes.Error || addRun.Status.Code != codes.Ok {
		t.Errorf("statuses: fail %v, add %v", failRun.Status.Code, addRun.Status.Code)
	}
}
