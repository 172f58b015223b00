package conformance

import (
	"errors"
	"fmt"
	"slices"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// startAndRun creates an instance and commits its first episode (Running),
// returning its start target.
func (s *suite) startAndRun(id string) sp.OrchestrationInstance {
	s.t.Helper()
	m := s.create(id, "Orch", `null`)
	wi := s.lockFor(id)
	s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: episode(wi), State: running(wi, "")})
	return m.Target
}

// testMessageDelivery: messages reach only their own instance's work
// items, in the order sent, each exactly once.
func testMessageDelivery(s *suite) {
	ids := []string{uniqueID("deliver-a"), uniqueID("deliver-b")}
	for _, id := range ids {
		s.startAndRun(id)
	}
	const perInstance = 5
	var msgs []*sp.TaskMessage
	for i := range perInstance {
		for _, id := range ids {
			m := eventMessage(id, fmt.Sprintf("e%d", i), fmt.Sprintf(`%d`, i))
			m.SequenceNumber = int64(len(msgs) + 1)
			msgs = append(msgs, m)
		}
	}
	s.send(msgs...)
	got := map[string][]string{}
	for n := 0; n < len(msgs); {
		wi := s.lock()
		if wi.DequeueCount != 1 {
			s.t.Errorf("work item for %s: DequeueCount %d, want 1", wi.InstanceID, wi.DequeueCount)
		}
		for _, m := range wi.NewMessages {
			got[wi.InstanceID] = append(got[wi.InstanceID], m.Event.Name)
			n++
		}
		s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: episode(wi)})
	}
	want := []string{"e0", "e1", "e2", "e3", "e4"}
	for _, id := range ids {
		if !slices.Equal(got[id], want) {
			s.t.Errorf("instance %s received %v, want %v in order", id, got[id], want)
		}
	}
	s.expectNoWorkItem("after every message was consumed")
}

// testOneWorkItemPerInstance: while an instance's work item is held, new
// messages for it wait for the next work item; other instances still flow.
func testOneWorkItemPerInstance(s *suite) {
	a, b := uniqueID("held"), uniqueID("other")
	s.create(a, "Orch", `null`)
	wi1 := s.lockFor(a)
	stop := s.keepRenewing(wi1)
	s.send(eventMessage(a, "while-held", `1`))
	s.expectNoWorkItem("a second work item for a locked instance")

	s.create(b, "Orch", `null`)
	wib := s.lockFor(b)
	s.commit(wib, &sp.OrchestrationCheckpoint{NewEvents: episode(wib), State: running(wib, "")})

	if err := stop(); err != nil {
		s.t.Fatalf("RenewOrchestrationWorkItem: %v", err)
	}
	ev1 := episode(wi1)
	s.commit(wi1, &sp.OrchestrationCheckpoint{NewEvents: ev1, State: running(wi1, "")})
	wi2 := s.lockFor(a)
	if len(wi2.NewMessages) != 1 || wi2.NewMessages[0].Event.Name != "while-held" {
		s.t.Errorf("next work item = %s, want the event sent while locked", describe(wi2.NewMessages))
	}
	if wi2.DequeueCount != 1 {
		s.t.Errorf("DequeueCount = %d, want 1", wi2.DequeueCount)
	}
	if err := sameEvents(wi2.History, ev1); err != nil {
		s.t.Errorf("history of the next work item: %v", err)
	}
	s.commit(wi2, &sp.OrchestrationCheckpoint{NewEvents: episode(wi2)})
}

// testAbandon: abandoned messages come back with a higher DequeueCount,
// immediately or after retryAfter; a commit consumes them for good.
func testAbandon(s *suite) {
	id := uniqueID("abandon")
	start := s.create(id, "Orch", `null`)
	for i, retry := range []time.Duration{0, s.opts.QuietPeriod} {
		wi := s.lockFor(id)
		if wi.DequeueCount != i+1 {
			s.t.Errorf("delivery %d: DequeueCount = %d, want %d", i+1, wi.DequeueCount, i+1)
		}
		if len(wi.NewMessages) != 1 || wi.NewMessages[0].Target.ExecutionID != start.Target.ExecutionID {
			s.t.Fatalf("delivery %d: messages %s, want the start message", i+1, describe(wi.NewMessages))
		}
		s.abandon(wi, retry)
	}
	wi := s.lockFor(id)
	if wi.DequeueCount != 3 {
		s.t.Errorf("third delivery: DequeueCount = %d, want 3", wi.DequeueCount)
	}
	s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: episode(wi), State: running(wi, "")})
	s.expectNoWorkItem("after the abandoned messages were committed")
	if h := s.history(id); len(h) != 3 {
		s.t.Errorf("history has %d events, want 3 (abandons commit nothing)", len(h))
	}
}

// testLockRenewal: renewing keeps the lock past the lock timeout; the
// renewed work item still commits.
func testLockRenewal(s *suite) {
	id := uniqueID("renew")
	s.create(id, "Orch", `null`)
	wi := s.lockFor(id)
	if wi.LockedUntil.IsZero() {
		s.t.Error("LockedUntil is zero")
	}
	before := wi.LockedUntil
	if err := s.hub.RenewOrchestrationWorkItem(s.waitCtx(), wi); err != nil {
		s.t.Fatalf("RenewOrchestrationWorkItem: %v", err)
	}
	if wi.LockedUntil.Before(before) {
		s.t.Errorf("renewal moved LockedUntil back from %v to %v", before, wi.LockedUntil)
	}
	stop := s.keepRenewing(wi)
	s.expectNoWorkItemFor(2*s.opts.LockTimeout, "a renewed lock was taken over")
	if err := stop(); err != nil {
		s.t.Fatalf("renewal failed: %v", err)
	}
	s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: episode(wi), State: running(wi, "")})
}

// testLockExpiry: an expired lock makes the messages available again
// (DequeueCount + 1); the old holder can no longer renew or commit.
func testLockExpiry(s *suite) {
	id := uniqueID("expire")
	start := s.create(id, "Orch", `null`)
	wi1 := s.lockFor(id)
	wi2 := s.lockFor(id) // returns once wi1's lock has expired
	if wi2.DequeueCount != 2 {
		s.t.Errorf("redelivery DequeueCount = %d, want 2", wi2.DequeueCount)
	}
	if len(wi2.NewMessages) != 1 || wi2.NewMessages[0].Target.ExecutionID != start.Target.ExecutionID {
		s.t.Errorf("redelivered messages %s, want the start message", describe(wi2.NewMessages))
	}
	if err := s.hub.RenewOrchestrationWorkItem(s.waitCtx(), wi1); !errors.Is(err, sp.ErrWorkItemLost) {
		s.t.Errorf("renewing the expired work item = %v, want ErrWorkItemLost", err)
	}
	s.commit(wi2, &sp.OrchestrationCheckpoint{NewEvents: episode(wi2), State: running(wi2, "")})
	s.expectNoWorkItem("after the second holder committed")
}

// testStaleCommit: two workers hold the same instance one after the other;
// the first one's late commit fails with ErrWorkItemLost and leaves no
// trace.
func testStaleCommit(s *suite) {
	id := uniqueID("stale")
	s.create(id, "Orch", `null`)
	wi1 := s.lockFor(id)
	wi2 := s.lockFor(id) // after wi1's lock expired
	second := episode(wi2, sp.NewTaskScheduledEvent(sp.Now(), 0, "Second", "", ""))
	s.commit(wi2, &sp.OrchestrationCheckpoint{NewEvents: second, State: running(wi2, `"second"`)})

	first := episode(wi1, sp.NewTaskScheduledEvent(sp.Now(), 0, "First", "", ""))
	err := s.hub.CompleteOrchestrationWorkItem(s.waitCtx(), wi1, &sp.OrchestrationCheckpoint{
		NewEvents: first, State: running(wi1, `"first"`)})
	if !errors.Is(err, sp.ErrWorkItemLost) {
		s.t.Fatalf("stale commit = %v, want ErrWorkItemLost", err)
	}
	if err := sameEvents(s.history(id), second); err != nil {
		s.t.Errorf("history after the stale commit: %v", err)
	}
	if st := s.state(id); st.CustomStatus != `"second"` {
		s.t.Errorf("row custom status = %s, want the winner's \"second\"", st.CustomStatus)
	}
	// The winner's history is what the next work item sees.
	s.send(eventMessage(id, "next", `1`))
	wi3 := s.lockFor(id)
	if err := sameEvents(wi3.History, second); err != nil {
		s.t.Errorf("next work item history: %v", err)
	}
	s.commit(wi3, &sp.OrchestrationCheckpoint{NewEvents: episode(wi3)})
}

// testTimers: timer messages arrive no earlier than FireAt; past ones
// arrive at once.
func testTimers(s *suite) {
	id := uniqueID("timers")
	s.create(id, "Orch", `null`)
	wi := s.lockFor(id)
	target := wi.NewMessages[0].Target
	future := sp.Now().Add(s.opts.QuietPeriod)
	past := sp.Now().Add(-time.Second)
	timer := func(tid int, at time.Time) *sp.TaskMessage {
		return &sp.TaskMessage{Event: sp.NewTimerFiredEvent(sp.Now(), tid, at), Target: target}
	}
	s.commit(wi, &sp.OrchestrationCheckpoint{
		NewEvents: episode(wi,
			sp.NewTimerCreatedEvent(sp.Now(), 0, future),
			sp.NewTimerCreatedEvent(sp.Now(), 1, past)),
		State:         running(wi, ""),
		TimerMessages: []*sp.TaskMessage{timer(0, future), timer(1, past)},
	})
	fired := map[int]bool{}
	for len(fired) < 2 {
		wi := s.lockFor(id)
		now := time.Now()
		for _, m := range wi.NewMessages {
			e := m.Event
			if e.EventType != sp.EventTimerFired {
				s.t.Fatalf("unexpected message %s", e)
			}
			if now.Before(e.FireAt) {
				s.t.Errorf("timer %d delivered at %v, before FireAt %v", e.TimerID, now.UTC(), e.FireAt)
			}
			if fired[e.TimerID] {
				s.t.Errorf("timer %d delivered twice", e.TimerID)
			}
			fired[e.TimerID] = true
			want := past
			if e.TimerID == 0 {
				want = future
			}
			if !e.FireAt.Equal(want) {
				s.t.Errorf("timer %d FireAt = %v, want %v", e.TimerID, e.FireAt, want)
			}
		}
		s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: episode(wi)})
	}
}

// testSubOrchestrationStart: an ExecutionStarted outbound message creates
// the child's row (Pending) at commit and starts it; a duplicate start
// leaves an existing child's row alone; completion notices reach the
// parent.
func testSubOrchestrationStart(s *suite) {
	parent, child := uniqueID("parent"), uniqueID("child")
	ps := s.create(parent, "Parent", `null`)
	wi := s.lockFor(parent)
	childExec := newID()
	childTarget := sp.OrchestrationInstance{InstanceID: child, ExecutionID: childExec}
	childStart := &sp.TaskMessage{Event: sp.NewExecutionStartedEvent(sp.Now(), childTarget, "Child", "1", `{"n":1}`), Target: childTarget}
	childStart.Event.ParentInstance = &sp.ParentInstance{Name: "Parent", TaskScheduleID: 0,
		OrchestrationInstance: &sp.OrchestrationInstance{InstanceID: parent, ExecutionID: ps.Target.ExecutionID}}
	s.commit(wi, &sp.OrchestrationCheckpoint{
		NewEvents:        episode(wi, sp.NewSubOrchestrationInstanceCreatedEvent(sp.Now(), 0, "Child", "", child, `{"n":1}`)),
		State:            running(wi, ""),
		OutboundMessages: []*sp.TaskMessage{childStart},
	})
	st := s.state(child)
	if st.RuntimeStatus != sp.StatusPending || st.Name != "Child" || st.ExecutionID != childExec || st.Input != `{"n":1}` {
		s.t.Errorf("child row = %+v, want Pending Child of execution %s", st, childExec)
	}

	cwi := s.lockFor(child)
	got := cwi.NewMessages[0].Event
	if got.EventType != sp.EventExecutionStarted || got.ParentInstance == nil || got.ParentInstance.OrchestrationInstance == nil ||
		got.ParentInstance.OrchestrationInstance.InstanceID != parent {
		s.t.Fatalf("child start = %s, want an ExecutionStarted naming the parent", eventJSON(got))
	}
	s.commit(cwi, &sp.OrchestrationCheckpoint{NewEvents: episode(cwi), State: running(cwi, `"child running"`)})

	// A duplicate start (a parent replaying after a crash) must not reset
	// the running child's row.
	s.send(eventMessage(parent, "again", `1`))
	wi = s.lockFor(parent)
	s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: episode(wi), OutboundMessages: []*sp.TaskMessage{childStart}})
	if st := s.state(child); st.RuntimeStatus != sp.StatusRunning || st.CustomStatus != `"child running"` {
		s.t.Errorf("duplicate start reset the child's row: %+v", st)
	}
	cwi = s.lockFor(child) // the duplicate start; the engine would drop it
	done := &sp.TaskMessage{
		Event:  sp.NewSubOrchestrationInstanceCompletedEvent(sp.Now(), 0, `"child result"`),
		Target: ps.Target,
	}
	s.commit(cwi, &sp.OrchestrationCheckpoint{
		NewEvents:        episode(cwi, sp.NewExecutionCompletedEvent(sp.Now(), 0, sp.StatusCompleted, `"child result"`, nil)),
		State:            finished(cwi, sp.StatusCompleted, `"child result"`),
		OutboundMessages: []*sp.TaskMessage{done},
	})
	wi = s.lockFor(parent)
	if m := wi.NewMessages[0]; len(wi.NewMessages) != 1 || m.Event.EventType != sp.EventSubOrchestrationInstanceCompleted ||
		m.Event.TaskScheduledID != 0 || m.Event.Result != `"child result"` || m.Target.ExecutionID != ps.Target.ExecutionID {
		s.t.Errorf("parent received %s, want SubOrchestrationInstanceCompleted(0) with the result", describe(wi.NewMessages))
	}
	s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: episode(wi)})
}

// testOutboundEvents: events an orchestration sends to another instance
// arrive there, after the sender's commit.
func testOutboundEvents(s *suite) {
	a, b := uniqueID("sender"), uniqueID("receiver")
	s.startAndRun(b)
	s.create(a, "Sender", `null`)
	wi := s.lockFor(a)
	s.commit(wi, &sp.OrchestrationCheckpoint{
		NewEvents:        episode(wi, sp.NewEventSentEvent(sp.Now(), 0, b, "hello", `"hi"`)),
		State:            running(wi, ""),
		OutboundMessages: []*sp.TaskMessage{eventMessage(b, "hello", `"hi"`)},
	})
	wb := s.lockFor(b)
	if len(wb.NewMessages) != 1 || wb.NewMessages[0].Event.Name != "hello" || wb.NewMessages[0].Event.Input != `"hi"` {
		s.t.Errorf("receiver got %s, want EventRaised hello", describe(wb.NewMessages))
	}
	s.commit(wb, &sp.OrchestrationCheckpoint{NewEvents: episode(wb)})
}

// expectNoWorkItemFor is expectNoWorkItem with an explicit duration.
func (s *suite) expectNoWorkItemFor(d time.Duration, why string) {
	s.t.Helper()
	saved := s.opts.QuietPeriod
	s.opts.QuietPeriod = d
	defer func() { s.opts.QuietPeriod = saved }()
	s.expectNoWorkItem(why)
}
