// Package conformance is the task hub provider conformance suite: the
// contract of storageprovider.TaskHub stated as tests. A provider runs it
// against itself from its own tests:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, func(t *testing.T) storageprovider.TaskHub {
//			return memory.New(memory.Options{LockTimeout: time.Second})
//		})
//	}
//
// Every subtest gets a fresh hub from the factory; the suite calls
// CreateIfNotExists and Start on it and Stop in t.Cleanup (Stop must be
// idempotent). The factory must configure a short lock timeout (seconds,
// not minutes) and tell the suite through Options.LockTimeout: lock expiry is
// tested by waiting for it. The suite makes no timing assertions; its
// deadlines only keep a broken provider from hanging the test run.
//
// Beyond the doc comments of storageprovider.TaskHub, the suite pins down
// these rules:
//   - errors wrap the sentinel errors (errors.Is works) and name the
//     instance;
//   - timestamps, payloads (unicode, Options.LargePayloadSize bytes) and
//     every HistoryEvent field round-trip exactly; a checkpoint's State is
//     stored as given;
//   - a Pending instance has an empty history; a re-created terminal
//     instance gets Generation+1; a purged ID starts again at Generation 0;
//   - messages to one instance arrive in the order sent; timers and delayed
//     starts never arrive early (round queue visibility up, not down);
//   - a work item whose lock expired cannot be renewed once another worker
//     holds the instance, and cannot commit once another worker committed;
//     an activity work item completed after another worker completed the
//     same activity fails with ErrWorkItemLost;
//   - an ExecutionStarted outbound message creates the target's row only
//     when it has none;
//   - query CreatedTime bounds and purge CreatedTime bounds are inclusive;
//     purge by filter never deletes a non-terminal instance;
//   - Stop unblocks waiting Lock* calls and may be called twice; Lock*
//     calls return ctx.Err() when their context ends.
//
// Files:
//
//	conformance.go  Options, Run, the list of subtests, and the helpers they share
//	instances.go    creation, start atomicity, reuse of IDs, history replacement, delayed starts
//	payloads.go     every field, unicode text and large payloads round-trip
//	workitems.go    message delivery, locks (renew, expiry, stale commits), timers, sub-orchestrations
//	activities.go   activity work items and the messages that travel through them
//	queries.go      status queries and paging, purge, Lock* waiting, Stop and DeleteTaskHub
//	entities.go     what durable entities rely on: created by their first message, history
//	                replaced per batch, scheduled signals held back
package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// Options tune the suite for a provider. Zero values select the defaults.
type Options struct {
	// LockTimeout is the work-item lock timeout the factory's hubs use
	// (default 1 s). Renewal tests renew at a fraction of it.
	LockTimeout time.Duration
	// LargePayloadSize is the size in bytes of the large input, output
	// and history payloads round-tripped (default 1 MiB).
	LargePayloadSize int
	// WaitTimeout bounds every wait for a work item that must arrive
	// (default 30 s); reaching it fails the test.
	WaitTimeout time.Duration
	// QuietPeriod is how long the suite waits to check that a work item
	// does NOT arrive (default 300 ms).
	QuietPeriod time.Duration
	// PagingInstances is how many instances the paging test creates
	// (default 250), read back with PageSize (default 100).
	PagingInstances int
	PageSize        int
	// ConcurrentCreators is how many goroutines race to create one
	// instance ID (default 50).
	ConcurrentCreators int
	// Skip names subtests the provider cannot run yet (reported as
	// skipped, with the reason "Options.Skip", so the gap stays visible).
	Skip []string
}

func (o Options) withDefaults() Options {
	if o.LockTimeout <= 0 {
		o.LockTimeout = time.Second
	}
	if o.LargePayloadSize <= 0 {
		o.LargePayloadSize = 1 << 20
	}
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = 30 * time.Second
	}
	if o.QuietPeriod <= 0 {
		o.QuietPeriod = 300 * time.Millisecond
	}
	if o.PagingInstances <= 0 {
		o.PagingInstances = 250
	}
	if o.PageSize <= 0 {
		o.PageSize = 100
	}
	if o.ConcurrentCreators <= 0 {
		o.ConcurrentCreators = 50
	}
	return o
}

// Run runs the whole suite with default Options.
func Run(t *testing.T, newHub func(t *testing.T) sp.TaskHub) {
	RunWithOptions(t, Options{}, newHub)
}

// test is one conformance subtest.
type test struct {
	name string
	run  func(s *suite)
}

// tests lists every subtest, grouped by the part of the contract checked.
var tests = []test{
	// Instances.
	{"CreateAndGetState", testCreateAndGetState},
	{"NotFound", testNotFound},
	{"DuplicateStart", testDuplicateStart},
	{"ConcurrentCreateOneWinner", testConcurrentCreate},
	{"ReuseInstanceID", testReuseInstanceID},
	{"StateAndHistoryRoundTrip", testRoundTrip},
	{"LargePayloads", testLargePayloads},
	{"ReplaceHistory", testReplaceHistory},
	{"DelayedStart", testDelayedStart},
	// Orchestration work items.
	{"MessageDeliveryPerInstance", testMessageDelivery},
	{"OneWorkItemPerInstance", testOneWorkItemPerInstance},
	{"AbandonAndRedeliver", testAbandon},
	{"RejectDoesNotCount", testReject},
	{"LockRenewal", testLockRenewal},
	{"LockExpiry", testLockExpiry},
	{"StaleCommitLost", testStaleCommit},
	{"Timers", testTimers},
	{"SubOrchestrationStart", testSubOrchestrationStart},
	{"OutboundEvents", testOutboundEvents},
	{"MessageRoundTrip", testMessageRoundTrip},
	// Entities.
	{"EntityLifecycle", testEntityLifecycle},
	{"ScheduledSignal", testScheduledSignal},
	// Activities.
	{"ActivityRoundTrip", testActivityRoundTrip},
	{"ActivityAbandonAndRenew", testActivityAbandonAndRenew},
	{"ActivityLockExpiry", testActivityLockExpiry},
	// Queries and purge.
	{"QueryFilters", testQueryFilters},
	{"QueryPaging", testQueryPaging},
	{"PurgeInstance", testPurgeInstance},
	{"PurgeInstances", testPurgeInstances},
	// Life cycle.
	{"LockHonoursContext", testLockContext},
	{"WaitingLockWakesOnWork", testWakeOnWork},
	{"StopUnblocksWaiters", testStopUnblocks},
	{"DeleteTaskHub", testDeleteTaskHub},
}

// RunWithOptions runs the whole suite.
func RunWithOptions(t *testing.T, opts Options, newHub func(t *testing.T) sp.TaskHub) {
	opts = opts.withDefaults()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if slices.Contains(opts.Skip, tt.name) {
				t.Skip("skipped by Options.Skip")
			}
			tt.run(newSuite(t, opts, newHub))
		})
	}
}

// suite is the per-subtest fixture: a started hub and helpers that drive
// it the way an engine would.
type suite struct {
	t    *testing.T
	opts Options
	hub  sp.TaskHub
	// ctx ends when the subtest ends.
	ctx context.Context
}

func newSuite(t *testing.T, opts Options, newHub func(t *testing.T) sp.TaskHub) *suite {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &suite{t: t, opts: opts, hub: newHub(t), ctx: ctx}
	if err := s.hub.CreateIfNotExists(s.waitCtx()); err != nil {
		t.Fatalf("CreateIfNotExists: %v", err)
	}
	if err := s.hub.Start(s.waitCtx()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		sctx, scancel := context.WithTimeout(context.Background(), opts.WaitTimeout)
		defer scancel()
		if err := s.hub.Stop(sctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

// waitCtx bounds a call that must succeed. Its cancel is left to the
// timeout (the subtest is short-lived).
func (s *suite) waitCtx() context.Context {
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.WaitTimeout)
	s.t.Cleanup(cancel)
	return ctx
}

// newID returns a 32-hex-digit ID, the form of system-made instance and
// execution IDs.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// uniqueID returns an instance ID with a readable prefix.
func uniqueID(prefix string) string { return prefix + "-" + newID()[:12] }

// startMessage builds a client start message for a new execution of id.
func startMessage(id, name, input string) *sp.TaskMessage {
	exec := newID()
	return &sp.TaskMessage{
		Event:  sp.NewExecutionStartedEvent(sp.Now(), sp.OrchestrationInstance{InstanceID: id, ExecutionID: exec}, name, "1.0", input),
		Target: sp.OrchestrationInstance{InstanceID: id, ExecutionID: exec},
	}
}

// eventMessage builds an external-event message for id's current execution.
func eventMessage(id, name, input string) *sp.TaskMessage {
	return &sp.TaskMessage{
		Event:  sp.NewEventRaisedEvent(sp.Now(), name, input),
		Target: sp.OrchestrationInstance{InstanceID: id},
	}
}

// create creates an instance and returns its start message.
func (s *suite) create(id, name, input string) *sp.TaskMessage {
	s.t.Helper()
	m := startMessage(id, name, input)
	if err := s.hub.CreateInstance(s.waitCtx(), m); err != nil {
		s.t.Fatalf("CreateInstance(%s): %v", id, err)
	}
	return m
}

func (s *suite) send(msgs ...*sp.TaskMessage) {
	s.t.Helper()
	if err := s.hub.SendTaskMessages(s.waitCtx(), msgs...); err != nil {
		s.t.Fatalf("SendTaskMessages: %v", err)
	}
}

// lock waits for the next orchestration work item.
func (s *suite) lock() *sp.OrchestrationWorkItem {
	s.t.Helper()
	wi, err := s.hub.LockNextOrchestrationWorkItem(s.waitCtx())
	if err != nil {
		s.t.Fatalf("LockNextOrchestrationWorkItem: %v", err)
	}
	if wi == nil {
		s.t.Fatal("LockNextOrchestrationWorkItem returned nil, nil")
	}
	for _, m := range wi.NewMessages {
		if m.Target.InstanceID != wi.InstanceID {
			s.t.Fatalf("work item for %q holds a message for %q", wi.InstanceID, m.Target.InstanceID)
		}
	}
	if len(wi.NewMessages) == 0 {
		s.t.Fatalf("work item for %q has no messages", wi.InstanceID)
	}
	if wi.DequeueCount < 1 {
		s.t.Fatalf("work item for %q has DequeueCount %d, want >= 1", wi.InstanceID, wi.DequeueCount)
	}
	return wi
}

// lockFor waits for a work item of instance id; others are abandoned
// (there should be none: each subtest has its own hub).
func (s *suite) lockFor(id string) *sp.OrchestrationWorkItem {
	s.t.Helper()
	for {
		wi := s.lock()
		if wi.InstanceID == id {
			return wi
		}
		s.t.Errorf("unexpected work item for %q while waiting for %q", wi.InstanceID, id)
		s.abandon(wi, 0)
	}
}

// expectNoWorkItem checks that no orchestration work item turns up within
// the quiet period.
func (s *suite) expectNoWorkItem(why string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.QuietPeriod)
	defer cancel()
	wi, err := s.hub.LockNextOrchestrationWorkItem(ctx)
	if err == nil {
		s.t.Fatalf("%s: got a work item for %q with %d messages (%s)", why, wi.InstanceID, len(wi.NewMessages), describe(wi.NewMessages))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		s.t.Fatalf("%s: LockNextOrchestrationWorkItem = %v, want context.DeadlineExceeded", why, err)
	}
}

func (s *suite) commit(wi *sp.OrchestrationWorkItem, c *sp.OrchestrationCheckpoint) {
	s.t.Helper()
	if err := s.hub.CompleteOrchestrationWorkItem(s.waitCtx(), wi, c); err != nil {
		s.t.Fatalf("CompleteOrchestrationWorkItem(%s): %v", wi.InstanceID, err)
	}
}

func (s *suite) abandon(wi *sp.OrchestrationWorkItem, retryAfter time.Duration) {
	s.t.Helper()
	if err := s.hub.AbandonOrchestrationWorkItem(s.waitCtx(), wi, retryAfter); err != nil {
		s.t.Fatalf("AbandonOrchestrationWorkItem(%s): %v", wi.InstanceID, err)
	}
}

func (s *suite) state(id string) *sp.OrchestrationState {
	s.t.Helper()
	st, err := s.hub.GetOrchestrationState(s.waitCtx(), id, true)
	if err != nil {
		s.t.Fatalf("GetOrchestrationState(%s): %v", id, err)
	}
	if st == nil {
		s.t.Fatalf("GetOrchestrationState(%s) returned nil, nil", id)
	}
	return st
}

func (s *suite) history(id string) []*sp.HistoryEvent {
	s.t.Helper()
	h, err := s.hub.GetOrchestrationHistory(s.waitCtx(), id)
	if err != nil {
		s.t.Fatalf("GetOrchestrationHistory(%s): %v", id, err)
	}
	return h
}

// keepRenewing renews wi's lock at a quarter of the lock timeout until the
// returned stop function is called; stop reports the first renewal error.
func (s *suite) keepRenewing(wi *sp.OrchestrationWorkItem) (stop func() error) {
	done := make(chan struct{})
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		renErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(s.opts.LockTimeout / 4)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				ctx, cancel := context.WithTimeout(s.ctx, s.opts.WaitTimeout)
				err := s.hub.RenewOrchestrationWorkItem(ctx, wi)
				cancel()
				if err != nil {
					mu.Lock()
					if renErr == nil {
						renErr = err
					}
					mu.Unlock()
					return
				}
			}
		}
	}()
	return func() error {
		close(done)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return renErr
	}
}

// running is the engine's status row after a first episode.
func running(wi *sp.OrchestrationWorkItem, customStatus string) *sp.OrchestrationState {
	st := &sp.OrchestrationState{InstanceID: wi.InstanceID}
	if wi.State != nil {
		st = wi.State.Clone()
	}
	for _, m := range wi.NewMessages {
		if e := m.Event; e.EventType == sp.EventExecutionStarted {
			st.Name, st.Version, st.Input = e.Name, e.Version, e.Input
			st.ExecutionID = m.Target.ExecutionID
			if st.CreatedTime.IsZero() {
				st.CreatedTime = e.Timestamp
			}
		}
	}
	st.RuntimeStatus = sp.StatusRunning
	st.CustomStatus = customStatus
	st.LastUpdatedTime = sp.Now()
	return st
}

// finished is the status row of an execution that ended with status.
func finished(wi *sp.OrchestrationWorkItem, status sp.OrchestrationStatus, output string) *sp.OrchestrationState {
	st := running(wi, "")
	st.RuntimeStatus = status
	st.Output = output
	st.CompletedTime = sp.Now()
	return st
}

// episode is the history an engine appends for one work item: its
// messages framed by OrchestratorStarted/Completed, plus extra events.
func episode(wi *sp.OrchestrationWorkItem, extra ...*sp.HistoryEvent) []*sp.HistoryEvent {
	evs := []*sp.HistoryEvent{sp.NewOrchestratorStartedEvent(sp.Now())}
	for _, m := range wi.NewMessages {
		evs = append(evs, m.Event.Clone())
	}
	evs = append(evs, extra...)
	return append(evs, sp.NewOrchestratorCompletedEvent(sp.Now()))
}

// runToStatus drives a freshly created instance through one episode that
// leaves it in status (Pending: nothing is committed).
func (s *suite) runToStatus(id string, status sp.OrchestrationStatus) {
	s.t.Helper()
	if status == sp.StatusPending {
		return
	}
	wi := s.lockFor(id)
	c := &sp.OrchestrationCheckpoint{NewEvents: episode(wi)}
	if status.IsTerminal() {
		c.NewEvents = episode(wi, sp.NewExecutionCompletedEvent(sp.Now(), 0, status, `"done"`, nil))
		c.State = finished(wi, status, `"done"`)
	} else {
		c.State = running(wi, "")
		c.State.RuntimeStatus = status
	}
	s.commit(wi, c)
}

// describe renders messages for failure messages.
func describe(msgs []*sp.TaskMessage) string {
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		parts[i] = m.Event.String()
	}
	return strings.Join(parts, ", ")
}

// eventJSON renders an event for comparison: the stored form must round
// trip every field.
func eventJSON(e *sp.HistoryEvent) string {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}

// sameEvents reports the first difference between two histories.
func sameEvents(got, want []*sp.HistoryEvent) error {
	if len(got) != len(want) {
		return fmt.Errorf("history has %d events, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := eventJSON(got[i]), eventJSON(want[i])
		if g != w {
			if len(g) > 300 {
				g = g[:300] + "..."
			}
			if len(w) > 300 {
				w = w[:300] + "..."
			}
			return fmt.Errorf("event %d = %s\nwant %s", i, g, w)
		}
	}
	return nil
}
