package retention_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/host/retention"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// seed creates an instance on hub and commits it with the given status,
// creation time and last update, as an engine would.
func seed(t *testing.T, hub sp.TaskHub, id string, status sp.OrchestrationStatus, created, updated time.Time) {
	t.Helper()
	ctx := context.Background()
	inst := sp.OrchestrationInstance{InstanceID: id, ExecutionID: "e-" + id}
	start := sp.NewExecutionStartedEvent(created, inst, "Orch", "", "")
	if err := hub.CreateInstance(ctx, &sp.TaskMessage{Event: start, Target: inst}); err != nil {
		t.Fatal(err)
	}
	wi, err := hub.LockNextOrchestrationWorkItem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := &sp.OrchestrationState{InstanceID: id, ExecutionID: inst.ExecutionID, Name: "Orch",
		RuntimeStatus: status, CreatedTime: created, LastUpdatedTime: updated}
	evs := []*sp.HistoryEvent{start}
	if status.IsTerminal() {
		st.CompletedTime = updated
		evs = append(evs, sp.NewExecutionCompletedEvent(updated, 0, status, "", nil))
	}
	if err := hub.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{NewEvents: evs, State: st}); err != nil {
		t.Fatal(err)
	}
}

// ownerHub owns only the instances whose ID does not start with "other".
type ownerHub struct{ sp.TaskHub }

func (ownerHub) OwnsInstance(id string) bool { return !strings.HasPrefix(id, "other") }

func TestSweep(t *testing.T) {
	now := time.Now().UTC()
	old, recent := now.Add(-3*time.Hour), now.Add(-10*time.Minute)
	cases := []struct {
		id      string
		status  sp.OrchestrationStatus
		created time.Time
		updated time.Time
		purged  bool
	}{
		{"completed-old", sp.StatusCompleted, old, old, true},
		{"failed-old", sp.StatusFailed, old, old, true},
		{"terminated-old", sp.StatusTerminated, old, old, true},
		{"completed-old-2", sp.StatusCompleted, old, old, true},
		{"running-old", sp.StatusRunning, old, old, false},
		{"pending-old", sp.StatusPending, old, old, false},
		{"completed-recently", sp.StatusCompleted, old, recent, false},
		{"created-recently", sp.StatusCompleted, recent, recent, false},
		{"other-host-old", sp.StatusCompleted, old, old, false},
	}
	mem := memory.New(memory.Options{})
	ctx := context.Background()
	if err := mem.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer mem.Stop(ctx)
	for _, c := range cases {
		seed(t, mem, c.id, c.status, c.created, c.updated)
	}
	sw := &retention.Sweeper{Hub: ownerHub{mem}, Period: time.Hour, BatchSize: 2, Now: func() time.Time { return now }}
	r := sw.Sweep(ctx)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	want := 0
	for _, c := range cases {
		_, err := mem.GetOrchestrationState(ctx, c.id, false)
		gone := errors.Is(err, sp.ErrInstanceNotFound)
		if gone != c.purged {
			t.Errorf("%s: purged %v, want %v (err %v)", c.id, gone, c.purged, err)
		}
		if c.purged {
			want++
		}
	}
	if r.Purged != want || r.Scanned < want {
		t.Errorf("result %+v, want %d purged", r, want)
	}
	if again := sw.Sweep(ctx); again.Purged != 0 || again.Err != nil {
		t.Errorf("second sweep %+v, want nothing purged", again)
	}
}

// failingHub fails every purge.
type failingHub struct{ sp.TaskHub }

func (failingHub) PurgeInstance(context.Context, string) error { return fmt.Errorf("storage down") }

func TestRunSweepsAndReports(t *testing.T) {
	mem := memory.New(memory.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := mem.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer mem.Stop(context.Background())
	old := time.Now().Add(-2 * time.Hour)
	seed(t, mem, "a", sp.StatusCompleted, old, old)
	seed(t, mem, "b", sp.StatusCompleted, old, old)

	run := func(ctx context.Context, hub sp.TaskHub) chan retention.Result {
		results := make(chan retention.Result, 16)
		sw := &retention.Sweeper{Hub: hub, Period: time.Hour, Interval: 5 * time.Millisecond,
			OnSweep: func(r retention.Result) {
				select {
				case results <- r:
				default:
				}
			}}
		go sw.Run(ctx)
		return results
	}
	results := run(ctx, failingHub{mem})
	if r := <-results; r.Err == nil || !strings.Contains(r.Err.Error(), "storage down") || r.Purged != 0 {
		t.Fatalf("failing sweep reported %+v, want the purge error", r)
	}
	cancel()
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	results = run(ctx, mem)
	if r := <-results; r.Err != nil || r.Purged != 2 {
		t.Fatalf("sweep reported %+v, want 2 purged", r)
	}
	if _, err := mem.GetOrchestrationState(context.Background(), "a", false); !errors.Is(err, sp.ErrInstanceNotFound) {
		t.Fatalf("instance a still there: %v", err)
	}
}

func TestOffDoesNothing(t *testing.T) {
	done := make(chan struct{})
	go func() {
		(&retention.Sweeper{}).Run(context.Background()) // Period 0: returns at once
		close(done)
	}()
	<-done
}
