package conformance

import (
	"errors"
	"strings"
	"sync"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// testCreateAndGetState: a created instance has a Pending row carrying the
// start message's fields and an empty history; its start message is the
// first work item.
func testCreateAndGetState(s *suite) {
	id := uniqueID("create")
	start := startMessage(id, "Hello", `{"city":"Tokyo"}`)
	start.Event.Tags = map[string]string{"team": "blue"}
	if err := s.hub.CreateInstance(s.waitCtx(), start); err != nil {
		s.t.Fatalf("CreateInstance: %v", err)
	}
	st := s.state(id)
	checks := []struct {
		field     string
		got, want any
	}{
		{"InstanceID", st.InstanceID, id},
		{"ExecutionID", st.ExecutionID, start.Target.ExecutionID},
		{"Name", st.Name, "Hello"},
		{"Version", st.Version, "1.0"},
		{"RuntimeStatus", st.RuntimeStatus, sp.StatusPending},
		{"Input", st.Input, `{"city":"Tokyo"}`},
		{"Generation", st.Generation, 0},
		{"CreatedTime", st.CreatedTime.UTC(), start.Event.Timestamp},
		{"Tags[team]", st.Tags["team"], "blue"},
		{"CompletedTime.IsZero", st.CompletedTime.IsZero(), true},
	}
	for _, c := range checks {
		if !sameValue(c.got, c.want) {
			s.t.Errorf("state.%s = %v, want %v", c.field, c.got, c.want)
		}
	}
	if h := s.history(id); len(h) != 0 {
		s.t.Errorf("history of a new instance has %d events, want 0", len(h))
	}

	wi := s.lockFor(id)
	if len(wi.NewMessages) != 1 {
		s.t.Fatalf("first work item has %d messages (%s), want the start message", len(wi.NewMessages), describe(wi.NewMessages))
	}
	got := wi.NewMessages[0]
	if got.Event.EventType != sp.EventExecutionStarted || got.Event.Name != "Hello" || got.Event.Input != `{"city":"Tokyo"}` ||
		got.Target.ExecutionID != start.Target.ExecutionID || got.Event.OrchestrationInstance == nil ||
		got.Event.OrchestrationInstance.ExecutionID != start.Target.ExecutionID {
		s.t.Errorf("start message = %s target %+v, want the one sent", eventJSON(got.Event), got.Target)
	}
	if wi.DequeueCount != 1 {
		s.t.Errorf("DequeueCount = %d, want 1", wi.DequeueCount)
	}
	if len(wi.History) != 0 {
		s.t.Errorf("work item history has %d events, want 0", len(wi.History))
	}
	s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: episode(wi), State: running(wi, `"started"`)})
	st = s.state(id)
	if st.RuntimeStatus != sp.StatusRunning || st.CustomStatus != `"started"` {
		s.t.Errorf("after commit: status %v custom %q, want Running \"started\"", st.RuntimeStatus, st.CustomStatus)
	}
}

// testNotFound: reads and purges of unknown instances report
// ErrInstanceNotFound; a message to an unknown instance creates no row.
func testNotFound(s *suite) {
	id := uniqueID("missing")
	if _, err := s.hub.GetOrchestrationState(s.waitCtx(), id, true); !errors.Is(err, sp.ErrInstanceNotFound) {
		s.t.Errorf("GetOrchestrationState = %v, want ErrInstanceNotFound", err)
	}
	if _, err := s.hub.GetOrchestrationHistory(s.waitCtx(), id); !errors.Is(err, sp.ErrInstanceNotFound) {
		s.t.Errorf("GetOrchestrationHistory = %v, want ErrInstanceNotFound", err)
	}
	if err := s.hub.PurgeInstance(s.waitCtx(), id); !errors.Is(err, sp.ErrInstanceNotFound) {
		s.t.Errorf("PurgeInstance = %v, want ErrInstanceNotFound", err)
	}
	s.send(eventMessage(id, "ping", `1`))
	if _, err := s.hub.GetOrchestrationState(s.waitCtx(), id, false); !errors.Is(err, sp.ErrInstanceNotFound) {
		s.t.Errorf("after an event to it: GetOrchestrationState = %v, want ErrInstanceNotFound", err)
	}
}

// testDuplicateStart: starting a non-terminal ID again fails with a
// wrapped ErrInstanceExists naming the instance, and sends nothing.
func testDuplicateStart(s *suite) {
	id := uniqueID("dup")
	first := s.create(id, "Hello", `1`)
	second := startMessage(id, "Hello", `2`)
	err := s.hub.CreateInstance(s.waitCtx(), second)
	if !errors.Is(err, sp.ErrInstanceExists) {
		s.t.Fatalf("second CreateInstance = %v, want ErrInstanceExists", err)
	}
	if !strings.Contains(err.Error(), id) {
		s.t.Errorf("error %q does not name the instance %q", err, id)
	}
	if st := s.state(id); st.ExecutionID != first.Target.ExecutionID || st.Input != `1` {
		s.t.Errorf("state after failed start: execution %s input %s, want the first start's", st.ExecutionID, st.Input)
	}
	wi := s.lockFor(id)
	for _, m := range wi.NewMessages {
		if m.Target.ExecutionID == second.Target.ExecutionID {
			s.t.Errorf("the rejected start message was delivered")
		}
	}
	s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: episode(wi), State: running(wi, "")})
	s.expectNoWorkItem("after a rejected start")
	// Also rejected while Running.
	if err := s.hub.CreateInstance(s.waitCtx(), startMessage(id, "Hello", `3`)); !errors.Is(err, sp.ErrInstanceExists) {
		s.t.Errorf("CreateInstance of a Running instance = %v, want ErrInstanceExists", err)
	}
}

// testConcurrentCreate: of many racing creators of one ID exactly one wins
// and the row and the only delivered start are the winner's.
func testConcurrentCreate(s *suite) {
	id := uniqueID("race")
	n := s.opts.ConcurrentCreators
	msgs := make([]*sp.TaskMessage, n)
	errs := make([]error, n)
	for i := range msgs {
		msgs[i] = startMessage(id, "Hello", `1`)
	}
	ctx := s.waitCtx()
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range msgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			errs[i] = s.hub.CreateInstance(ctx, msgs[i])
		}()
	}
	close(gate)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			s.t.Errorf("creators %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, sp.ErrInstanceExists):
			s.t.Errorf("creator %d: %v, want nil or ErrInstanceExists", i, err)
		}
	}
	if winner < 0 {
		s.t.Fatal("no creator succeeded")
	}
	want := msgs[winner].Target.ExecutionID
	if st := s.state(id); st.ExecutionID != want {
		s.t.Errorf("row execution = %s, want the winner's %s", st.ExecutionID, want)
	}
	wi := s.lockFor(id)
	starts := 0
	for _, m := range wi.NewMessages {
		if m.Event.EventType == sp.EventExecutionStarted {
			starts++
			if m.Target.ExecutionID != want {
				s.t.Errorf("a loser's start message (%s) was delivered", m.Target.ExecutionID)
			}
		}
	}
	if starts != 1 {
		s.t.Errorf("first work item holds %d start messages, want 1", starts)
	}
	s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: episode(wi), State: running(wi, "")})
	s.expectNoWorkItem("after the winner's start")
}

// testReuseInstanceID: a terminal ID can be started again (Generation + 1,
// new execution); a non-terminal one cannot.
func testReuseInstanceID(s *suite) {
	cases := []struct {
		status sp.OrchestrationStatus
		reuse  bool
	}{
		{sp.StatusCompleted, true},
		{sp.StatusFailed, true},
		{sp.StatusTerminated, true},
		{sp.StatusPending, false},
		{sp.StatusRunning, false},
		{sp.StatusSuspended, false},
	}
	for _, tc := range cases {
		id := uniqueID("reuse-" + strings.ToLower(tc.status.String()))
		s.create(id, "Hello", `1`)
		s.runToStatus(id, tc.status)
		again := startMessage(id, "Hello2", `2`)
		err := s.hub.CreateInstance(s.waitCtx(), again)
		if !tc.reuse {
			if !errors.Is(err, sp.ErrInstanceExists) {
				s.t.Errorf("%v: CreateInstance = %v, want ErrInstanceExists", tc.status, err)
			}
			if tc.status == sp.StatusPending {
				// Consume the start so the next case sees only its own work.
				wi := s.lockFor(id)
				s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: episode(wi), State: running(wi, "")})
			}
			continue
		}
		if err != nil {
			s.t.Errorf("%v: CreateInstance = %v, want a new execution", tc.status, err)
			continue
		}
		st := s.state(id)
		if st.RuntimeStatus != sp.StatusPending || st.Generation != 1 || st.ExecutionID != again.Target.ExecutionID ||
			st.Name != "Hello2" || st.Input != `2` || st.Output != "" || !st.CompletedTime.IsZero() {
			s.t.Errorf("%v: re-created row = %+v, want Pending generation 1 of the new execution", tc.status, st)
		}
		wi := s.lockFor(id)
		found := false
		for _, m := range wi.NewMessages {
			if m.Event.EventType == sp.EventExecutionStarted && m.Target.ExecutionID == again.Target.ExecutionID {
				found = true
			}
		}
		if !found {
			s.t.Errorf("%v: work item (%s) lacks the new start", tc.status, describe(wi.NewMessages))
		}
		// The engine starts the new execution over (ReplaceHistory).
		s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: episode(wi), ReplaceHistory: true, State: running(wi, "")})
		if h := s.history(id); len(h) != 3 {
			s.t.Errorf("%v: history of the new execution has %d events, want 3", tc.status, len(h))
		}
		// A third creation is refused while the second runs.
		if err := s.hub.CreateInstance(s.waitCtx(), startMessage(id, "Hello", `3`)); !errors.Is(err, sp.ErrInstanceExists) {
			s.t.Errorf("%v: third CreateInstance = %v, want ErrInstanceExists", tc.status, err)
		}
	}
}

// unicodeText exercises escaping: quotes, backslashes, control characters,
// non-ASCII letters, a combining mark and astral-plane symbols.
const unicodeText = "\"Grüße\" \\ こんにちは 🌍 Ωmega e\u0301\ttab\nline 𝄞 <&>"

// testReplaceHistory: ReplaceHistory swaps the whole history (a
// ContinueAsNew generation).
func testReplaceHistory(s *suite) {
	id := uniqueID("replace")
	s.create(id, "Loop", `0`)
	wi := s.lockFor(id)
	first := episode(wi, sp.NewContinueAsNewEvent(sp.Now(), 0, `1`))
	s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: first, State: running(wi, "")})
	if err := sameEvents(s.history(id), first); err != nil {
		s.t.Fatalf("first generation: %v", err)
	}

	// The engine continues as new: new execution, new history, and a
	// carried-over event sent to itself.
	s.send(eventMessage(id, "go", `1`))
	wi = s.lockFor(id)
	exec := newID()
	restart := sp.NewExecutionStartedEvent(sp.Now(), sp.OrchestrationInstance{InstanceID: id, ExecutionID: exec}, "Loop", "", `1`)
	second := []*sp.HistoryEvent{
		sp.NewOrchestratorStartedEvent(sp.Now()),
		restart,
		sp.NewOrchestratorCompletedEvent(sp.Now()),
	}
	st := running(wi, "")
	st.ExecutionID = exec
	st.Input = `1`
	carried := eventMessage(id, "carried", `"over"`)
	carried.Target.ExecutionID = exec
	s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: second, ReplaceHistory: true, State: st,
		OutboundMessages: []*sp.TaskMessage{carried}})
	if err := sameEvents(s.history(id), second); err != nil {
		s.t.Errorf("after ReplaceHistory: %v", err)
	}
	if got := s.state(id); got.ExecutionID != exec || got.Input != `1` {
		s.t.Errorf("row after ContinueAsNew: execution %s input %s, want %s 1", got.ExecutionID, got.Input, exec)
	}
	wi = s.lockFor(id)
	if err := sameEvents(wi.History, second); err != nil {
		s.t.Errorf("work item history after ReplaceHistory: %v", err)
	}
	if len(wi.NewMessages) != 1 || wi.NewMessages[0].Event.Name != "carried" || wi.NewMessages[0].Target.ExecutionID != exec {
		s.t.Errorf("carried-over event: got %s", describe(wi.NewMessages))
	}
	s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: episode(wi)})
	if h := s.history(id); len(h) != len(second)+3 {
		s.t.Errorf("appending after a replace: %d events, want %d", len(h), len(second)+3)
	}
}

// testDelayedStart: a start with ScheduledStartTime is delivered no
// earlier than that time, and the row reports it.
func testDelayedStart(s *suite) {
	id := uniqueID("delayed")
	m := startMessage(id, "Later", `1`)
	at := sp.Now().Add(s.opts.QuietPeriod)
	m.Event.ScheduledStartTime = &at
	if err := s.hub.CreateInstance(s.waitCtx(), m); err != nil {
		s.t.Fatalf("CreateInstance: %v", err)
	}
	if st := s.state(id); st.RuntimeStatus != sp.StatusPending || !st.ScheduledStartTime.Equal(at) {
		s.t.Errorf("row: status %v scheduled %v, want Pending %v", st.RuntimeStatus, st.ScheduledStartTime, at)
	}
	wi := s.lockFor(id)
	if now := time.Now(); now.Before(at) {
		s.t.Errorf("delayed start delivered at %v, before its scheduled time %v", now.UTC(), at)
	}
	if wi.NewMessages[0].Event.ScheduledStartTime == nil || !wi.NewMessages[0].Event.ScheduledStartTime.Equal(at) {
		s.t.Errorf("start message lost ScheduledStartTime: %s", eventJSON(wi.NewMessages[0].Event))
	}
}

// sameValue compares check values, times by instant.
func sameValue(got, want any) bool {
	if g, ok := got.(time.Time); ok {
		w, ok := want.(time.Time)
		return ok && g.Equal(w)
	}
	return got == want
}
