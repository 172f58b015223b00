package conformance

import (
	"context"
	"errors"
	"fmt"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// scheduleActivities commits a first episode that schedules n activities
// and returns the orchestration's target.
func (s *suite) scheduleActivities(id string, n int) sp.OrchestrationInstance {
	s.t.Helper()
	s.create(id, "Orch", `null`)
	wi := s.lockFor(id)
	target := wi.NewMessages[0].Target
	var evs []*sp.HistoryEvent
	var msgs []*sp.TaskMessage
	for i := range n {
		e := sp.NewTaskScheduledEvent(sp.Now(), i, "Act", "", fmt.Sprintf(`%d`, i))
		evs = append(evs, e)
		msgs = append(msgs, &sp.TaskMessage{Event: e.Clone(), Target: target})
	}
	s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: episode(wi, evs...), State: running(wi, ""), ActivityMessages: msgs})
	return target
}

func (s *suite) lockActivity() *sp.ActivityWorkItem {
	s.t.Helper()
	awi, err := s.hub.LockNextActivityWorkItem(s.waitCtx())
	if err != nil {
		s.t.Fatalf("LockNextActivityWorkItem: %v", err)
	}
	if awi == nil || awi.Message == nil || awi.Message.Event == nil {
		s.t.Fatalf("LockNextActivityWorkItem returned an empty work item %+v", awi)
	}
	return awi
}

func completed(awi *sp.ActivityWorkItem) *sp.TaskMessage {
	e := awi.Message.Event
	return &sp.TaskMessage{
		Event:  sp.NewTaskCompletedEvent(sp.Now(), e.EventID, fmt.Sprintf(`"result %s"`, e.Input)),
		Target: awi.Message.Target,
	}
}

// collectResults gathers n TaskCompleted messages for id from work items
// and returns how often each TaskScheduledID arrived.
func (s *suite) collectResults(id string, n int) map[int]int {
	s.t.Helper()
	seen := map[int]int{}
	for count := 0; count < n; {
		wi := s.lockFor(id)
		for _, m := range wi.NewMessages {
			e := m.Event
			if e.EventType != sp.EventTaskCompleted {
				s.t.Fatalf("unexpected message %s", e)
			}
			if want := fmt.Sprintf(`"result %d"`, e.TaskScheduledID); e.Result != want {
				s.t.Errorf("result of task %d = %s, want %s", e.TaskScheduledID, e.Result, want)
			}
			seen[e.TaskScheduledID]++
			count++
		}
		s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: episode(wi)})
	}
	return seen
}

// testActivityRoundTrip: scheduled activities go to competing workers,
// each exactly once; their results come back as orchestration messages.
func testActivityRoundTrip(s *suite) {
	id := uniqueID("activities")
	const n = 3
	target := s.scheduleActivities(id, n)
	type got struct {
		awi *sp.ActivityWorkItem
		err error
	}
	ch := make(chan got, n)
	ctx := s.waitCtx()
	for range n {
		go func() {
			awi, err := s.hub.LockNextActivityWorkItem(ctx)
			ch <- got{awi, err}
		}()
	}
	ids := map[int]bool{}
	for range n {
		g := <-ch
		if g.err != nil {
			s.t.Fatalf("LockNextActivityWorkItem: %v", g.err)
		}
		m := g.awi.Message
		if m.Target.InstanceID != id || m.Target.ExecutionID != target.ExecutionID || m.Event.Name != "Act" ||
			m.Event.EventType != sp.EventTaskScheduled || m.Event.Input != fmt.Sprintf(`%d`, m.Event.EventID) {
			s.t.Errorf("activity message %s target %+v, want TaskScheduled Act for %+v", eventJSON(m.Event), m.Target, target)
		}
		if g.awi.DequeueCount != 1 {
			s.t.Errorf("activity DequeueCount = %d, want 1", g.awi.DequeueCount)
		}
		if ids[m.Event.EventID] {
			s.t.Errorf("activity %d handed out twice", m.Event.EventID)
		}
		ids[m.Event.EventID] = true
		if err := s.hub.CompleteActivityWorkItem(s.waitCtx(), g.awi, completed(g.awi)); err != nil {
			s.t.Fatalf("CompleteActivityWorkItem: %v", err)
		}
	}
	seen := s.collectResults(id, n)
	for i := range n {
		if seen[i] != 1 {
			s.t.Errorf("TaskCompleted(%d) arrived %d times, want 1", i, seen[i])
		}
	}
	ctx2, cancel := context.WithTimeout(s.ctx, s.opts.QuietPeriod)
	defer cancel()
	if awi, err := s.hub.LockNextActivityWorkItem(ctx2); !errors.Is(err, context.DeadlineExceeded) {
		s.t.Errorf("after all activities completed: LockNextActivityWorkItem = %+v, %v; want DeadlineExceeded", awi, err)
	}
}

// testActivityAbandonAndRenew: renewal keeps an activity; abandoned
// activities come back with a higher DequeueCount.
func testActivityAbandonAndRenew(s *suite) {
	id := uniqueID("act-abandon")
	s.scheduleActivities(id, 1)
	awi := s.lockActivity()
	before := awi.LockedUntil
	if err := s.hub.RenewActivityWorkItem(s.waitCtx(), awi); err != nil {
		s.t.Fatalf("RenewActivityWorkItem: %v", err)
	}
	if awi.LockedUntil.Before(before) {
		s.t.Errorf("renewal moved LockedUntil back from %v to %v", before, awi.LockedUntil)
	}
	for i, retry := range []time.Duration{0, s.opts.QuietPeriod} {
		if awi.DequeueCount != i+1 {
			s.t.Errorf("delivery %d: DequeueCount = %d", i+1, awi.DequeueCount)
		}
		if err := s.hub.AbandonActivityWorkItem(s.waitCtx(), awi, retry); err != nil {
			s.t.Fatalf("AbandonActivityWorkItem: %v", err)
		}
		awi = s.lockActivity()
	}
	if awi.DequeueCount != 3 || awi.Message.Event.EventID != 0 {
		s.t.Errorf("third delivery: DequeueCount %d event %s, want 3 and TaskScheduled(0)", awi.DequeueCount, awi.Message.Event)
	}
	if err := s.hub.CompleteActivityWorkItem(s.waitCtx(), awi, completed(awi)); err != nil {
		s.t.Fatalf("CompleteActivityWorkItem: %v", err)
	}
	if seen := s.collectResults(id, 1); seen[0] != 1 {
		s.t.Errorf("results = %v, want one TaskCompleted(0)", seen)
	}
}

// testActivityLockExpiry: an expired activity lock hands the activity to
// another worker; the first one can no longer renew or complete it.
func testActivityLockExpiry(s *suite) {
	id := uniqueID("act-expire")
	s.scheduleActivities(id, 1)
	first := s.lockActivity()
	second := s.lockActivity() // after first's lock expired
	if second.DequeueCount != 2 || second.Message.Event.EventID != 0 {
		s.t.Errorf("redelivery: DequeueCount %d event %s, want 2 and TaskScheduled(0)", second.DequeueCount, second.Message.Event)
	}
	if err := s.hub.RenewActivityWorkItem(s.waitCtx(), first); !errors.Is(err, sp.ErrWorkItemLost) {
		s.t.Errorf("renewing the expired activity = %v, want ErrWorkItemLost", err)
	}
	if err := s.hub.CompleteActivityWorkItem(s.waitCtx(), second, completed(second)); err != nil {
		s.t.Fatalf("CompleteActivityWorkItem (new holder): %v", err)
	}
	if err := s.hub.CompleteActivityWorkItem(s.waitCtx(), first, completed(first)); !errors.Is(err, sp.ErrWorkItemLost) {
		s.t.Errorf("completing the expired activity = %v, want ErrWorkItemLost", err)
	}
	if seen := s.collectResults(id, 1); seen[0] != 1 {
		s.t.Errorf("results = %v, want one TaskCompleted(0)", seen)
	}
	s.expectNoWorkItem("after the single result")
}

// testMessageRoundTrip: every kind of message arrives with all its fields,
// whichever way it travels (activity queue, activity result, timer,
// client message).
func testMessageRoundTrip(s *suite) {
	id := uniqueID("messages")
	quoted := jsonString(unicodeText)
	s.create(id, "Orch", `null`)
	wi := s.lockFor(id)
	target := wi.NewMessages[0].Target
	ts := sp.Now().Add(-time.Minute)
	scheduled := sp.NewTaskScheduledEvent(ts, 0, "Grüße", "2", quoted)
	timer := sp.NewTimerFiredEvent(ts, 1, ts.Add(time.Second))
	s.commit(wi, &sp.OrchestrationCheckpoint{
		NewEvents:        episode(wi, scheduled.Clone()),
		State:            running(wi, ""),
		ActivityMessages: []*sp.TaskMessage{{Event: scheduled.Clone(), Target: target}},
		TimerMessages:    []*sp.TaskMessage{{Event: timer.Clone(), Target: target}},
	})
	awi := s.lockActivity()
	if g, w := eventJSON(awi.Message.Event), eventJSON(scheduled); g != w {
		s.t.Errorf("activity message = %s\nwant %s", g, w)
	}
	if awi.Message.Target != target {
		s.t.Errorf("activity target = %+v, want %+v", awi.Message.Target, target)
	}
	failed := sp.NewTaskFailedEvent(ts, 0, &sp.FailureDetails{ErrorType: "Boom", ErrorMessage: unicodeText,
		StackTrace: "main.go:1", IsNonRetriable: true, InnerFailure: &sp.FailureDetails{ErrorType: "Cause", ErrorMessage: "x"}})
	failed.Details = "line 1\nline 2" // not the stack trace: the columns are separate
	if err := s.hub.CompleteActivityWorkItem(s.waitCtx(), awi, &sp.TaskMessage{Event: failed.Clone(), Target: target}); err != nil {
		s.t.Fatalf("CompleteActivityWorkItem: %v", err)
	}
	client := []*sp.HistoryEvent{
		sp.NewEventRaisedEvent(ts, "Ereignis ü", quoted),
		sp.NewExecutionSuspendedEvent(ts, "pause ⏸"),
		sp.NewExecutionResumedEvent(ts, "go ▶"),
		sp.NewExecutionRewoundEvent(ts, "again"),
		sp.NewExecutionTerminatedEvent(ts, `"stop ✋"`),
	}
	for _, e := range client {
		s.send(&sp.TaskMessage{Event: e.Clone(), Target: sp.OrchestrationInstance{InstanceID: id}})
	}
	want := map[sp.EventType]*sp.HistoryEvent{sp.EventTimerFired: timer, sp.EventTaskFailed: failed}
	for _, e := range client {
		want[e.EventType] = e
	}
	for len(want) > 0 {
		wi := s.lockFor(id)
		for _, m := range wi.NewMessages {
			w, ok := want[m.Event.EventType]
			if !ok {
				s.t.Fatalf("unexpected or duplicate message %s", m.Event)
			}
			delete(want, m.Event.EventType)
			if g, w := eventJSON(m.Event), eventJSON(w); g != w {
				s.t.Errorf("received %s\nwant     %s", g, w)
			}
		}
		s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: episode(wi)})
	}
}
