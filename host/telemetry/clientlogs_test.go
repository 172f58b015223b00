package telemetry

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	sp "github.com/funchost/funchost/storageprovider"
)

// TestClientScheduledLines: the client logs "scheduled" when it starts an
// instance (Reason NewInstance) and when it raises an event (Reason
// RaiseEvent:<name>), once each, with or without tracing; the engine logs
// the event's delivery on its own.
func TestClientScheduledLines(t *testing.T) {
	t.Parallel()
	for _, traced := range []bool{false, true} {
		t.Run(map[bool]string{false: "logs only", true: "logs and tracing"}[traced], func(t *testing.T) {
			t.Parallel()
			log, buf := newTestLogger()
			o := Options{Logger: log, Logs: LogOptions{HubName: "OrdersHub"}}
			if traced {
				o.Tracing = &TraceOptions{Exporter: tracetest.NewInMemoryExporter(), Sync: true}
			}
			tel := New(o)
			hub, c := startObservedWorker(t, tel, callRegistry())
			ctx := context.Background()
			id, err := c.StartNew(ctx, "Waiter", nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"ping", "poke"} {
				if err := c.RaiseEvent(ctx, id, name, 1); err != nil {
					t.Fatal(err)
				}
			}
			if st := waitDone(t, hub, id); st.RuntimeStatus != sp.StatusCompleted {
				t.Fatalf("waiter %s", st.RuntimeStatus)
			}
			msgs := buf.messages(t, CategoryDurableTask)
			p := "^" + id + `: Function 'Waiter \(Orchestrator\)' `
			want := map[string]int{
				p + `scheduled\. Reason: NewInstance\. IsReplay: False\. State: Scheduled\. RuntimeStatus: Pending\. HubName: OrdersHub\.`: 1,
				p + `scheduled\. Reason: RaiseEvent:ping\. IsReplay: False\. State: Scheduled\. RuntimeStatus: Pending\.`:                  1,
				p + `scheduled\. Reason: RaiseEvent:poke\.`: 1,
				p + `(received|saved) a 'poke' event`:       1,
			}
			for re, n := range want {
				if got := count(msgs, re); got != n {
					t.Errorf("%d lines match %q, want %d; lines:\n%s", got, re, n, strings.Join(msgs, "\n"))
				}
			}
		})
	}
}
