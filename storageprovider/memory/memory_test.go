package memory_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

func newHub(t testing.TB, opts memory.Options) *memory.TaskHub {
	t.Helper()
	h := memory.New(opts)
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Stop(context.Background()) })
	return h
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func lock(t testing.TB, h *memory.TaskHub) *sp.OrchestrationWorkItem {
	t.Helper()
	wi, err := h.LockNextOrchestrationWorkItem(ctxT(t))
	if err != nil {
		t.Fatalf("lock: %v", err)
	}
	return wi
}

func raise(id, name string) *sp.TaskMessage {
	return &sp.TaskMessage{Event: sp.NewEventRaisedEvent(sp.Now(), name, ""),
		Target: sp.OrchestrationInstance{InstanceID: id}}
}

func names(msgs []*sp.TaskMessage) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Event.Name
		if m.Event.EventType == sp.EventExecutionStarted {
			out[i] = "start"
		}
	}
	return out
}

func TestDefaults(t *testing.T) {
	h := memory.New(memory.Options{})
	if h.Name() != "memory" {
		t.Errorf("Name() = %q", h.Name())
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.CreateInstance(ctxT(t), start("x")); err != nil {
		t.Fatal(err)
	}
	wi := lock(t, h)
	if d := time.Until(wi.LockedUntil); d < 50*time.Second || d > 61*time.Second {
		t.Errorf("default lock lasts %v, want about 1 minute", d)
	}
	_ = h.Stop(context.Background())
}

func TestInvalidArguments(t *testing.T) {
	h := newHub(t, memory.Options{})
	ctx := ctxT(t)
	bad := []struct {
		name string
		call func() error
	}{
		{"nil start", func() error { return h.CreateInstance(ctx, nil) }},
		{"start without ID", func() error {
			return h.CreateInstance(ctx, &sp.TaskMessage{Event: &sp.HistoryEvent{EventType: sp.EventExecutionStarted}})
		}},
		{"start of wrong type", func() error { return h.CreateInstance(ctx, raise("x", "e")) }},
		{"nil message", func() error { return h.SendTaskMessages(ctx, nil) }},
		{"message without target", func() error { return h.SendTaskMessages(ctx, raise("", "e")) }},
		{"foreign work item", func() error { return h.CompleteOrchestrationWorkItem(ctx, &sp.OrchestrationWorkItem{}, nil) }},
		{"foreign activity", func() error { return h.AbandonActivityWorkItem(ctx, &sp.ActivityWorkItem{}, 0) }},
		{"bad token", func() error {
			_, err := h.QueryOrchestrationStates(ctx, sp.InstanceQuery{ContinuationToken: "%%%"})
			return err
		}},
	}
	for _, tt := range bad {
		if err := tt.call(); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

// A message that arrives while the instance is abandoned with a back-off
// waits behind the abandoned ones: per-instance order is strict.
func TestAbandonKeepsOrder(t *testing.T) {
	h := newHub(t, memory.Options{})
	ctx := ctxT(t)
	if err := h.CreateInstance(ctx, start("i")); err != nil {
		t.Fatal(err)
	}
	wi := lock(t, h)
	if err := h.AbandonOrchestrationWorkItem(ctx, wi, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := h.SendTaskMessages(ctx, raise("i", "a"), raise("i", "b")); err != nil {
		t.Fatal(err)
	}
	wi = lock(t, h)
	if got := names(wi.NewMessages); !reflect.DeepEqual(got, []string{"start", "a", "b"}) {
		t.Errorf("messages = %v, want [start a b]", got)
	}
	if wi.DequeueCount != 2 {
		t.Errorf("DequeueCount = %d, want 2 (the start's)", wi.DequeueCount)
	}
	// Abandoning twice is refused.
	if err := h.AbandonOrchestrationWorkItem(ctx, wi, 0); err != nil {
		t.Fatal(err)
	}
	if err := h.AbandonOrchestrationWorkItem(ctx, wi, 0); !errors.Is(err, sp.ErrWorkItemLost) {
		t.Errorf("second abandon = %v, want ErrWorkItemLost", err)
	}
}

// A work item whose lock expired commits if nobody took the instance
// meanwhile, and its messages are then consumed for good.
func TestExpiredLockCommitsWhenUncontested(t *testing.T) {
	h := newHub(t, memory.Options{LockTimeout: 20 * time.Millisecond})
	ctx := ctxT(t)
	if err := h.CreateInstance(ctx, start("i")); err != nil {
		t.Fatal(err)
	}
	wi := lock(t, h)
	for h.Stats().PendingMessages == 0 { // wait for the expiry to return the message
		time.Sleep(5 * time.Millisecond)
	}
	if err := h.RenewOrchestrationWorkItem(ctx, wi); !errors.Is(err, sp.ErrWorkItemLost) {
		t.Errorf("renew after expiry = %v, want ErrWorkItemLost", err)
	}
	st := wi.State.Clone()
	st.RuntimeStatus = sp.StatusRunning
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{State: st}); err != nil {
		t.Fatalf("uncontested late commit: %v", err)
	}
	if s := h.Stats(); s.PendingMessages != 0 || s.LockedInstances != 0 || s.ScheduledTimers != 0 {
		t.Errorf("stats after the late commit = %+v, want nothing left", s)
	}
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, nil); !errors.Is(err, sp.ErrWorkItemLost) {
		t.Errorf("second commit = %v, want ErrWorkItemLost", err)
	}
}

// Purging an instance whose work item is in flight makes the commit fail.
func TestPurgeWhileLocked(t *testing.T) {
	h := newHub(t, memory.Options{})
	ctx := ctxT(t)
	if err := h.CreateInstance(ctx, start("i")); err != nil {
		t.Fatal(err)
	}
	wi := lock(t, h)
	if err := h.PurgeInstance(ctx, "i"); err != nil {
		t.Fatal(err)
	}
	err := h.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{State: wi.State})
	if !errors.Is(err, sp.ErrWorkItemLost) {
		t.Fatalf("commit after purge = %v, want ErrWorkItemLost", err)
	}
	if _, err := h.GetOrchestrationState(ctx, "i", false); !errors.Is(err, sp.ErrInstanceNotFound) {
		t.Errorf("the lost commit resurrected the row: %v", err)
	}
}

// Histories of terminal instances are compacted; reads and later work
// items see exactly the committed events either way.
func TestTerminalHistoryCompaction(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("keep=%v", keep), func(t *testing.T) {
			h := newHub(t, memory.Options{KeepTerminalHistory: keep})
			ctx := ctxT(t)
			if err := h.CreateInstance(ctx, start("i")); err != nil {
				t.Fatal(err)
			}
			wi := lock(t, h)
			sched := sp.Now().Add(time.Hour)
			evs := []*sp.HistoryEvent{
				sp.NewOrchestratorStartedEvent(sp.Now()),
				wi.NewMessages[0].Event,
				{EventType: sp.EventTaskFailed, EventID: -1, Timestamp: sp.Now(), TaskScheduledID: 3, Reason: "ü",
					FailureDetails: &sp.FailureDetails{ErrorType: "E", InnerFailure: &sp.FailureDetails{ErrorMessage: "x"}}},
				{EventType: sp.EventExecutionStarted, EventID: -1, Tags: map[string]string{"a": "b"}, ScheduledStartTime: &sched,
					ParentInstance: &sp.ParentInstance{Name: "p", OrchestrationInstance: &sp.OrchestrationInstance{InstanceID: "p"}}},
				sp.NewExecutionCompletedEvent(sp.Now(), 1, sp.StatusCompleted, `1`, nil),
			}
			st := wi.State.Clone()
			st.RuntimeStatus = sp.StatusCompleted
			if err := h.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{NewEvents: evs, State: st}); err != nil {
				t.Fatal(err)
			}
			got, err := h.GetOrchestrationHistory(ctx, "i")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, evs) {
				t.Errorf("history differs after compaction:\n got %v\nwant %v", got, evs)
			}
			if !keep && !memory.IsCompacted(h, "i") {
				t.Errorf("terminal history was not compacted")
			}
			if err := h.SendTaskMessages(ctx, raise("i", "late")); err != nil {
				t.Fatal(err)
			}
			wi = lock(t, h)
			if !reflect.DeepEqual(wi.History, evs) {
				t.Errorf("work item history differs after compaction")
			}
			extra := sp.NewGenericEvent(sp.Now(), "x")
			if err := h.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{NewEvents: []*sp.HistoryEvent{extra}}); err != nil {
				t.Fatal(err)
			}
			got, _ = h.GetOrchestrationHistory(ctx, "i")
			if want := append(evs, extra); !reflect.DeepEqual(got, want) {
				t.Errorf("append after compaction: %d events, want %d", len(got), len(want))
			}
		})
	}
}

// The hub keeps copies: callers mutating what they passed in or got back
// do not change stored data.
func TestHubCopiesData(t *testing.T) {
	h := newHub(t, memory.Options{})
	ctx := ctxT(t)
	m := start("i")
	if err := h.CreateInstance(ctx, m); err != nil {
		t.Fatal(err)
	}
	m.Event.Input = "mutated"
	st, _ := h.GetOrchestrationState(ctx, "i", true)
	st.Input = "mutated too"
	wi := lock(t, h)
	if wi.NewMessages[0].Event.Input != `"Tokyo"` {
		t.Errorf("stored start message changed with the caller's copy")
	}
	ev := sp.NewGenericEvent(sp.Now(), "orig")
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{NewEvents: []*sp.HistoryEvent{ev}}); err != nil {
		t.Fatal(err)
	}
	ev.Data = "mutated"
	hist, _ := h.GetOrchestrationHistory(ctx, "i")
	hist[0].Data = "mutated again"
	hist, _ = h.GetOrchestrationHistory(ctx, "i")
	if hist[0].Data != "orig" {
		t.Errorf("stored history changed: %q", hist[0].Data)
	}
	if st, _ := h.GetOrchestrationState(ctx, "i", true); st.Input != `"Tokyo"` {
		t.Errorf("stored row changed: %q", st.Input)
	}
}

// Timers due at the same instant are delivered in the order committed;
// nothing is left scheduled afterwards.
func TestTimersSameInstantKeepOrder(t *testing.T) {
	h := newHub(t, memory.Options{})
	ctx := ctxT(t)
	if err := h.CreateInstance(ctx, start("i")); err != nil {
		t.Fatal(err)
	}
	wi := lock(t, h)
	at := sp.Now().Add(30 * time.Millisecond)
	var timers []*sp.TaskMessage
	for i := range 5 {
		timers = append(timers, &sp.TaskMessage{Event: &sp.HistoryEvent{EventType: sp.EventTimerFired, EventID: -1,
			TimerID: i, FireAt: at, Name: fmt.Sprint(i)}})
	}
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{TimerMessages: timers}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 5 {
		wi := lock(t, h)
		got = append(got, names(wi.NewMessages)...)
		if err := h.CompleteOrchestrationWorkItem(ctx, wi, nil); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(got, []string{"0", "1", "2", "3", "4"}) {
		t.Errorf("timer order %v", got)
	}
	if s := h.Stats(); s.ScheduledTimers != 0 || s.PendingMessages != 0 {
		t.Errorf("stats = %+v, want nothing left", s)
	}
}

// A wake-up sent to a waiter whose context ends at the same moment is
// passed on: with many waiters cancelled at random, every instance is
// still handed out.
func TestNoLostWakeups(t *testing.T) {
	h := newHub(t, memory.Options{})
	const n = 50
	got := make(chan string, n)
	var wg sync.WaitGroup
	for i := range 2 * n {
		ctx, cancel := context.WithCancel(context.Background())
		if i%2 == 1 {
			go func() { time.Sleep(time.Duration(i%7) * time.Millisecond); cancel() }()
		} else {
			defer cancel()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			wi, err := h.LockNextOrchestrationWorkItem(ctx)
			if err == nil {
				got <- wi.InstanceID
			}
		}()
	}
	for i := range n {
		if err := h.CreateInstance(ctxT(t), start(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	seen := map[string]bool{}
	timeout := time.After(10 * time.Second)
	for len(seen) < n {
		select {
		case id := <-got:
			seen[id] = true
		case <-timeout:
			s := h.Stats()
			t.Fatalf("only %d of %d instances handed out; stats %+v", len(seen), n, s)
		}
	}
	_ = h.Stop(context.Background())
	wg.Wait()
}

// Stop then Start reopens the hub with its data; timers scheduled before
// the stop still fire.
func TestRestart(t *testing.T) {
	h := newHub(t, memory.Options{})
	ctx := ctxT(t)
	if err := h.CreateInstance(ctx, start("i")); err != nil {
		t.Fatal(err)
	}
	wi := lock(t, h)
	timer := &sp.TaskMessage{Event: sp.NewTimerFiredEvent(sp.Now(), 0, sp.Now().Add(20*time.Millisecond))}
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{TimerMessages: []*sp.TaskMessage{timer}}); err != nil {
		t.Fatal(err)
	}
	if err := h.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.LockNextOrchestrationWorkItem(ctx); !errors.Is(err, sp.ErrTaskHubClosed) {
		t.Fatalf("lock while stopped = %v", err)
	}
	time.Sleep(30 * time.Millisecond)
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	wi = lock(t, h)
	if wi.NewMessages[0].Event.EventType != sp.EventTimerFired {
		t.Errorf("after restart got %v", names(wi.NewMessages))
	}
}

// Messages to instances that do not exist are handed out (the engine
// drops them) and leave nothing behind.
func TestMessagesToUnknownInstance(t *testing.T) {
	h := newHub(t, memory.Options{})
	ctx := ctxT(t)
	if err := h.SendTaskMessages(ctx, raise("ghost", "e")); err != nil {
		t.Fatal(err)
	}
	wi := lock(t, h)
	if wi.InstanceID != "ghost" || wi.State != nil || len(wi.History) != 0 {
		t.Errorf("work item = %+v, want ghost without state or history", wi)
	}
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{}); err != nil {
		t.Fatal(err)
	}
	if s := h.Stats(); s != (memory.Stats{}) {
		t.Errorf("stats = %+v, want empty", s)
	}
	if n := memory.EntryCount(h); n != 0 {
		t.Errorf("%d instance entries left", n)
	}
}

// Many workers running sequences concurrently complete each instance
// exactly once and leave the hub empty of work.
func TestConcurrentSequences(t *testing.T) {
	h := newHub(t, memory.Options{})
	d, stop := newDriver(h, 3, 4, 4)
	d.done = make(chan string, 2000)
	const n = 1000
	for i := range n {
		if err := h.CreateInstance(ctxT(t), start(fmt.Sprintf("seq-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	d.waitCompleted(t, n)
	stop()
	close(d.done)
	seen := map[string]int{}
	for id := range d.done {
		seen[id]++
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s completed %d times", id, c)
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct instances completed, want %d", len(seen), n)
	}
	if s := h.Stats(); s.Instances != n || s.PendingMessages != 0 || s.LockedInstances != 0 || s.QueuedActivities != 0 || s.ScheduledTimers != 0 {
		t.Errorf("stats = %+v", s)
	}
	res, err := h.QueryOrchestrationStates(ctxT(t), sp.InstanceQuery{RuntimeStatus: []sp.OrchestrationStatus{sp.StatusCompleted}, PageSize: 2 * n})
	if err != nil || len(res.States) != n {
		t.Errorf("completed query: %d states, %v", len(res.States), err)
	}
	hist, err := h.GetOrchestrationHistory(ctxT(t), "seq-7")
	if err != nil || len(hist) != 3+3*4+1 {
		t.Errorf("history of seq-7: %d events, %v", len(hist), err)
	}
}

// The memory a completed HelloSequence instance keeps is small; the
// benchmark host budget is 100 MB for 10,000 instances including the
// engine.
func TestFootprint(t *testing.T) {
	if testing.Short() {
		t.Skip("measures 10,000 instances")
	}
	n := 10000
	if raceEnabled {
		n = 2000 // same per-instance figure, a fifth of the time
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	h := newHub(t, memory.Options{})
	d, stop := newDriver(h, 3, 2, 2)
	for i := range n {
		if err := h.CreateInstance(ctxT(t), start(fmt.Sprintf("%032x", i))); err != nil {
			t.Fatal(err)
		}
	}
	d.waitCompleted(t, int64(n))
	stop()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	perInstance := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	t.Logf("heap per completed instance: %.0f bytes (%.1f MB for 10,000)", perInstance, perInstance*10000/1e6)
	if perInstance > 4096 {
		t.Errorf("a completed instance keeps %.0f bytes, want at most 4 KiB", perInstance)
	}
	runtime.KeepAlive(h)
}

// Histories holding invalid UTF-8 are kept as they are: a JSON round trip
// would replace the bad bytes.
func TestCompactionKeepsInvalidUTF8(t *testing.T) {
	h := newHub(t, memory.Options{})
	ctx := ctxT(t)
	if err := h.CreateInstance(ctx, start("i")); err != nil {
		t.Fatal(err)
	}
	wi := lock(t, h)
	evs := []*sp.HistoryEvent{sp.NewGenericEvent(sp.Now(), "bad \xff byte")}
	st := wi.State.Clone()
	st.RuntimeStatus = sp.StatusCompleted
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{NewEvents: evs, State: st}); err != nil {
		t.Fatal(err)
	}
	if memory.IsCompacted(h, "i") {
		t.Error("history with invalid UTF-8 was compacted")
	}
	got, err := h.GetOrchestrationHistory(ctx, "i")
	if err != nil || len(got) != 1 || got[0].Data != "bad \xff byte" {
		t.Errorf("history = %v, %v", got, err)
	}
}

// An idle hub leaves no goroutine behind: the alarm is disarmed when the
// last scheduled entry goes, and Stop ends everything.
func TestNoGoroutinesLeft(t *testing.T) {
	before := runtime.NumGoroutine()
	h := memory.New(memory.Options{})
	d, stop := newDriver(h, 3, 2, 2)
	for i := range 100 {
		if err := h.CreateInstance(ctxT(t), start(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	d.waitCompleted(t, 100)
	stop()
	if s := h.Stats(); s.ScheduledTimers != 0 || s.Waiters != 0 {
		t.Errorf("stats after the run = %+v", s)
	}
	if err := h.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Stop, %d before", n, before)
	}
}

// A terminal history that is mostly payload text stays decoded (JSON would
// add a copy of the payload, not save memory); one with small payloads is
// compacted. Either way the history reads back unchanged.
func TestCompactionSkipsPayloadHeavyHistories(t *testing.T) {
	for _, tc := range []struct {
		name      string
		input     string
		compacted bool
	}{
		{"small payload", `"` + strings.Repeat("a", 100) + `"`, true},
		{"large payload", `"` + strings.Repeat("a", 1<<20) + `"`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHub(t, memory.Options{})
			ctx := ctxT(t)
			if err := h.CreateInstance(ctx, start("i")); err != nil {
				t.Fatal(err)
			}
			wi := lock(t, h)
			evs := []*sp.HistoryEvent{
				sp.NewOrchestratorStartedEvent(sp.Now()),
				wi.NewMessages[0].Event,
				sp.NewExecutionCompletedEvent(sp.Now(), 1, sp.StatusCompleted, tc.input, nil),
			}
			st := wi.State.Clone()
			st.RuntimeStatus, st.Output = sp.StatusCompleted, tc.input
			if err := h.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{NewEvents: evs, State: st}); err != nil {
				t.Fatal(err)
			}
			if got := memory.IsCompacted(h, "i"); got != tc.compacted {
				t.Errorf("compacted = %v, want %v", got, tc.compacted)
			}
			got, err := h.GetOrchestrationHistory(ctx, "i")
			if err != nil || !reflect.DeepEqual(got, evs) {
				t.Errorf("history differs: %v", err)
			}
		})
	}
}
