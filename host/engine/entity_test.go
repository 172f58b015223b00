package engine

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/internal/entitywire"
	"github.com/funchost/funchost/internal/payload"
	sp "github.com/funchost/funchost/storageprovider"
)

// testCounter is the entity state of the tests: a value and the number of
// operations applied.
type testCounter struct {
	Value   int       `json:"value"`
	Ops     int       `json:"ops"`
	Applied time.Time `json:"applied"`
}

func (c *testCounter) Add(n int) { c.Value += n; c.Ops++ }
func (c *testCounter) Get() int  { return c.Value }
func (c *testCounter) Reset()    { c.Value = 0; c.Ops++ }
func (c *testCounter) Stamp()    { c.Applied = time.Now(); c.Ops++ }
func (c *testCounter) Boom() error {
	c.Value += 1000 // rolled back
	return errors.New("boom")
}
func (c *testCounter) Panic() { c.Value += 1000; panic("entity bug") }

// Forward signals another counter with the same input, then fails when
// the input is negative: the signal must not go out then.
func (c *testCounter) Forward(ctx bindings.EntityContext, n int) error {
	c.Ops++
	if err := ctx.SignalEntity(bindings.NewEntityID("counter", "target"), "add", n); err != nil {
		return err
	}
	if n < 0 {
		return fmt.Errorf("negative %d", n)
	}
	return nil
}

func entityRegistry() Registry {
	reg := baseRegistry()
	reg.Entities = map[string]bindings.Entity{"Counter": bindings.EntityOf[testCounter]()}
	return reg
}

// signal sends a client signal (with a fixed request ID when id != "").
func (h *harness) signal(key, op, id string, input any, due time.Time) {
	h.t.Helper()
	in, _ := payload.Marshal(input)
	if id == "" {
		id = newExecutionID()
	}
	r := &entitywire.Request{Op: &op, Signal: true, Input: in, ID: id}
	if !due.IsZero() {
		r.Due = &entitywire.Time{Time: due}
	}
	h.send(entitywire.InstanceID("counter", key), sp.NewEventRaisedEvent(time.Now(), entitywire.EventName(due), entitywire.Marshal(r)))
}

// counterState waits until the entity's committed state satisfies ok.
func (h *harness) counterState(key string, ok func(c testCounter, exists bool) bool) testCounter {
	h.t.Helper()
	var got testCounter
	h.waitFor(entitywire.InstanceID("counter", key), "the expected entity state", func(st *sp.OrchestrationState) bool {
		s, err := entitywire.DecodeState(st.Input)
		if err != nil {
			h.t.Fatalf("bad scheduler state %q: %v", st.Input, err)
		}
		got = testCounter{}
		if s.State != nil {
			if err := payload.Unmarshal(*s.State, &got); err != nil {
				h.t.Fatal(err)
			}
		}
		return ok(got, s.State != nil)
	})
	return got
}

func TestEntitySignals(t *testing.T) {
	tests := []struct {
		name      string
		batchSize int
		send      func(h *harness, key string)
		wantValue int
		wantOps   int
	}{
		{"add and reset", 0, func(h *harness, k string) {
			h.signal(k, "add", "", 5, time.Time{})
			h.signal(k, "reset", "", nil, time.Time{})
			h.signal(k, "ADD", "", 7, time.Time{})
		}, 7, 3},
		{"failing operations roll back only their own change", 0, func(h *harness, k string) {
			h.signal(k, "add", "", 1, time.Time{})
			h.signal(k, "boom", "", nil, time.Time{})
			h.signal(k, "panic", "", nil, time.Time{})
			h.signal(k, "nosuchop", "", nil, time.Time{})
			h.signal(k, "add", "", 2, time.Time{})
		}, 3, 2},
		{"a duplicate request is applied once", 0, func(h *harness, k string) {
			h.signal(k, "add", "dup-1", 10, time.Time{})
			h.signal(k, "add", "dup-1", 10, time.Time{})
			h.signal(k, "add", "", 1, time.Time{})
		}, 11, 2},
		{"100 concurrent signals apply exactly 100 times", 0, func(h *harness, k string) {
			var wg sync.WaitGroup
			for i := 0; i < 100; i++ {
				wg.Add(1)
				go func() { defer wg.Done(); h.signal(k, "add", "", 1, time.Time{}) }()
			}
			wg.Wait()
		}, 100, 100},
		{"batches of two", 2, func(h *harness, k string) {
			for i := 0; i < 9; i++ {
				h.signal(k, "add", "", i, time.Time{})
			}
		}, 36, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, modes[0], entityRegistry(), func(o *Options) { o.MaxEntityOperationBatchSize = tt.batchSize })
			tt.send(h, "k")
			got := h.counterState("k", func(c testCounter, _ bool) bool { return c.Ops >= tt.wantOps })
			if got.Value != tt.wantValue || got.Ops != tt.wantOps {
				t.Fatalf("state = %+v, want value %d after %d operations", got, tt.wantValue, tt.wantOps)
			}
		})
	}
}

func TestEntityDeleteAndSignalsFromEntities(t *testing.T) {
	h := newHarness(t, modes[0], entityRegistry())
	h.signal("src", "forward", "", 4, time.Time{})
	h.signal("src", "forward", "", -100, time.Time{}) // fails: its signal is dropped
	h.signal("src", "forward", "", 5, time.Time{})
	got := h.counterState("target", func(c testCounter, _ bool) bool { return c.Ops >= 2 })
	if got.Value != 9 {
		t.Fatalf("target = %+v, want 9 from two forwarded signals", got)
	}
	h.signal("target", "delete", "", nil, time.Time{})
	h.counterState("target", func(_ testCounter, exists bool) bool { return !exists })
	st, err := h.hub.GetOrchestrationState(t.Context(), "@counter@target", true)
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "@counter@target" || st.RuntimeStatus != sp.StatusRunning || st.CustomStatus != "{}" {
		t.Fatalf("status row of a deleted entity = %+v", st)
	}
}

func TestEntityScheduledSignalWaitsUntilDue(t *testing.T) {
	h := newHarness(t, modes[0], entityRegistry())
	due := sp.Timestamp(time.Now().Add(300 * time.Millisecond))
	h.signal("s", "stamp", "", nil, due)
	h.signal("s", "add", "", 1, time.Time{})
	got := h.counterState("s", func(c testCounter, _ bool) bool { return c.Ops >= 2 })
	if got.Applied.Before(due) {
		t.Fatalf("scheduled signal ran at %v, before its time %v", got.Applied, due)
	}
}

func TestEntityHistoryShape(t *testing.T) {
	h := newHarness(t, modes[0], entityRegistry())
	h.signal("shape", "add", "", 5, time.Time{})
	h.counterState("shape", func(c testCounter, _ bool) bool { return c.Ops == 1 })
	hist, err := h.hub.GetOrchestrationHistory(t.Context(), "@counter@shape")
	if err != nil {
		t.Fatal(err)
	}
	want := []sp.EventType{sp.EventOrchestratorStarted, sp.EventExecutionStarted, sp.EventOrchestratorCompleted}
	if len(hist) != len(want) {
		t.Fatalf("history has %d events, want %v", len(hist), want)
	}
	for i, ev := range hist {
		if ev.EventType != want[i] {
			t.Fatalf("event %d is %v, want %v", i, ev.EventType, want[i])
		}
	}
	prefix := `{"exists":true,"state":"{\"value\":5,\"ops\":1,\"applied\":\"0001-01-01T00:00:00Z\"}","sorter":{},"funchostRecent":"`
	if in := hist[1].Input; !strings.HasPrefix(in, prefix) || hist[1].Name != "@counter@shape" {
		t.Fatalf("ExecutionStarted %q input = %s, want it to start with %s", hist[1].Name, in, prefix)
	}
}

// starter is an entity that starts the Sequence orchestration with a
// fixed ID, and fails (so the start must not happen) when asked to.
func starter(ctx bindings.EntityContext) error {
	var id string
	if err := ctx.Input(&id); err != nil {
		return err
	}
	got, err := ctx.StartNewOrchestration("Sequence", nil, bindings.WithInstanceID(id))
	if err != nil {
		return err
	}
	if got != id || strings.HasPrefix(id, "fail") {
		return fmt.Errorf("failing after starting %s", got)
	}
	_, err = ctx.StartNewOrchestration("NoSuchOrchestrator", nil)
	if !errors.Is(err, bindings.ErrUnknownOrchestrator) {
		return fmt.Errorf("starting an unknown orchestrator: %v", err)
	}
	return nil
}

// scheduledSignals signals the counter "sched" now and in 300 ms.
func scheduledSignals(ctx bindings.OrchestrationContext) (any, error) {
	c := bindings.NewEntityID("counter", "sched")
	ctx.SignalEntity(c, "stamp", nil, bindings.WithScheduledTime(ctx.CurrentUTCDateTime().Add(300*time.Millisecond)))
	ctx.SignalEntity(c, "add", 1)
	return ctx.CurrentUTCDateTime(), nil
}

func TestEntityStartsOrchestrationsAndOrchestrationSchedulesSignals(t *testing.T) {
	reg := entityRegistry()
	reg.Entities["starter"] = starter
	reg.Orchestrators["ScheduledSignals"] = scheduledSignals
	h := newHarness(t, modes[0], reg)
	for _, id := range []string{"started-by-entity", "fail-started"} {
		in, _ := payload.Marshal(id)
		op := "start"
		h.send("@starter@s", sp.NewEventRaisedEvent(time.Now(), entitywire.EventOp,
			entitywire.Marshal(&entitywire.Request{Op: &op, Signal: true, Input: in, ID: id})))
	}
	expectOutput(t, h.waitDone("started-by-entity"), `["Hello Tokyo!","Hello Seattle!","Hello London!"]`)
	// The failed operation's start was dropped: by now (the entity ran both
	// operations in order) it would exist.
	h.waitFor("@starter@s", "both operations run", func(st *sp.OrchestrationState) bool {
		s, _ := entitywire.DecodeState(st.Input)
		return s != nil && len(s.Recent) == 2*recentWidth
	})
	if _, err := h.hub.GetOrchestrationState(t.Context(), "fail-started", false); !errors.Is(err, sp.ErrInstanceNotFound) {
		t.Fatalf("the failed operation's orchestration start was sent: %v", err)
	}

	id := h.start("ScheduledSignals", "", nil)
	var sentAt time.Time
	if err := payload.Unmarshal(h.waitDone(id).Output, &sentAt); err != nil {
		t.Fatal(err)
	}
	got := h.counterState("sched", func(c testCounter, _ bool) bool { return c.Ops >= 2 })
	if due := sentAt.Add(300 * time.Millisecond); got.Applied.Before(due) {
		t.Fatalf("scheduled signal applied at %v, before %v", got.Applied, due)
	}
}
