package engine

import (
	"context"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// Options.Clock stamps everything the engine records: episodes (so
// CurrentUTCDateTime), scheduling events, activity results, timers and the
// status row. Sub-tick digits are truncated.
func TestOptionsClockStampsWhatTheEngineRecords(t *testing.T) {
	fake := time.Date(2031, 2, 3, 4, 5, 6, 123456789, time.UTC)
	want := sp.Timestamp(fake)
	reg := Registry{
		Orchestrators: map[string]bindings.Orchestrator{"Orch": func(ctx bindings.OrchestrationContext) (any, error) {
			if _, err := bindings.CallActivity[string](ctx, "Act", nil); err != nil {
				return nil, err
			}
			ctx.CreateTimer(ctx.CurrentUTCDateTime()) // due at once
			return ctx.CurrentUTCDateTime(), nil
		}},
		Activities: map[string]bindings.Activity{"Act": func(bindings.ActivityContext) (any, error) { return "ok", nil }},
	}
	for _, local := range []bool{false, true} {
		hub := memory.New(memory.Options{KeepTerminalHistory: true})
		ctx := context.Background()
		if err := hub.Start(ctx); err != nil {
			t.Fatal(err)
		}
		w := NewWorker(hub, reg, Options{Clock: func() time.Time { return fake }, LocalActivities: local})
		if err := w.Start(ctx); err != nil {
			t.Fatal(err)
		}
		h := &harness{t: t, hub: hub, w: w}
		st := h.waitDone(h.start("Orch", "", nil))
		if st.RuntimeStatus != sp.StatusCompleted || st.Output != `"2031-02-03T04:05:06.1234567Z"` {
			t.Fatalf("local=%v: state %+v", local, st)
		}
		if !st.LastUpdatedTime.Equal(want) || !st.CompletedTime.Equal(want) {
			t.Errorf("local=%v: status row times %v / %v, want %v", local, st.LastUpdatedTime, st.CompletedTime, want)
		}
		hist, err := hub.GetOrchestrationHistory(ctx, st.InstanceID)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range hist {
			if ev.EventType != sp.EventExecutionStarted && !ev.Timestamp.Equal(want) {
				t.Errorf("local=%v: %s stamped %v, want %v", local, ev.EventType, ev.Timestamp, want)
			}
		}
		_ = w.Stop(ctx)
		_ = hub.Stop(ctx)
	}
}
