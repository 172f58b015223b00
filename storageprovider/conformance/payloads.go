package conformance

import (
	"strings"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// testRoundTrip: every field of status rows and history events survives
// storage exactly, timestamps to 100 ns.
func testRoundTrip(s *suite) {
	id := uniqueID("roundtrip")
	quoted := jsonString(unicodeText)
	s.create(id, "Ünïcode", quoted)
	if st := s.state(id); st.Input != quoted || st.Name != "Ünïcode" {
		s.t.Errorf("row input/name = %q / %q, want %q / Ünïcode", st.Input, st.Name, quoted)
	}
	wi := s.lockFor(id)
	if in := wi.NewMessages[0].Event.Input; in != quoted {
		s.t.Errorf("start message input = %q, want %q", in, quoted)
	}
	ts := sp.Now().Add(-time.Hour)
	fire := ts.Add(90 * time.Minute)
	sched := ts.Add(3 * time.Minute)
	events := episode(wi,
		sp.NewTaskScheduledEvent(ts, 0, "Say", "2", quoted),
		sp.NewTimerCreatedEvent(ts, 1, fire),
		sp.NewSubOrchestrationInstanceCreatedEvent(ts, 2, "Child", "", id+":child", `null`),
		sp.NewEventSentEvent(ts, 3, "other", "ping", `{"a":[1,2]}`),
	)
	s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: events, State: running(wi, quoted)})
	want := events

	s.send(eventMessage(id, "Ереван", quoted))
	wi = s.lockFor(id)
	if err := sameEvents(wi.History, want); err != nil {
		s.t.Errorf("work item history: %v", err)
	}
	if wi.State != nil && (wi.State.RuntimeStatus != sp.StatusRunning || wi.State.CustomStatus != quoted) {
		s.t.Errorf("work item state = %+v, want the committed row", wi.State)
	}
	// Details differs from the stack trace so that a provider storing one
	// column for both fails.
	failed := sp.NewTaskFailedEvent(ts, 4, &sp.FailureDetails{ErrorType: "MyError", ErrorMessage: unicodeText,
		StackTrace: "at main()", InnerFailure: &sp.FailureDetails{ErrorType: "Inner", ErrorMessage: "cause"}})
	failed.Details = "stack\nline 2"
	nested := sp.NewExecutionStartedEvent(ts, sp.OrchestrationInstance{InstanceID: id, ExecutionID: newID()}, "Nested", "3", quoted)
	nested.ParentInstance = &sp.ParentInstance{Name: "Parent", Version: "1", TaskScheduleID: 7,
		OrchestrationInstance: &sp.OrchestrationInstance{InstanceID: "parent", ExecutionID: newID()}}
	nested.Tags, nested.ScheduledStartTime, nested.Generation = map[string]string{"k": "v", "ü": "ß"}, &sched, 2
	more := episode(wi,
		sp.NewTaskCompletedEvent(ts, 0, quoted),
		failed,
		sp.NewTimerFiredEvent(ts, 1, fire),
		sp.NewExecutionSuspendedEvent(ts, "pause"),
		sp.NewExecutionResumedEvent(ts, "go"),
		sp.NewGenericEvent(ts, unicodeText),
		nested,
		sp.NewExecutionCompletedEvent(ts, 9, sp.StatusFailed, quoted, &sp.FailureDetails{ErrorType: "E", ErrorMessage: "m"}),
	)
	st := finished(wi, sp.StatusFailed, quoted)
	st.CustomStatus = `{"step":"ü"}`
	st.Tags = map[string]string{"owner": "Zoë"}
	st.FailureDetails = &sp.FailureDetails{ErrorType: "E", ErrorMessage: unicodeText}
	s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: more, State: st})
	want = append(append([]*sp.HistoryEvent{}, want...), more...)

	if err := sameEvents(s.history(id), want); err != nil {
		s.t.Errorf("GetOrchestrationHistory: %v", err)
	}
	got := s.state(id)
	checks := []struct {
		field     string
		got, want any
	}{
		{"RuntimeStatus", got.RuntimeStatus, sp.StatusFailed},
		{"Output", got.Output, quoted},
		{"Input", got.Input, quoted},
		{"CustomStatus", got.CustomStatus, `{"step":"ü"}`},
		{"CompletedTime", got.CompletedTime.UTC(), st.CompletedTime},
		{"LastUpdatedTime", got.LastUpdatedTime.UTC(), st.LastUpdatedTime},
		{"CreatedTime", got.CreatedTime.UTC(), st.CreatedTime},
		{"Tags[owner]", got.Tags["owner"], "Zoë"},
		{"ExecutionID", got.ExecutionID, st.ExecutionID},
	}
	for _, c := range checks {
		if !sameValue(c.got, c.want) {
			s.t.Errorf("state.%s = %v, want %v", c.field, c.got, c.want)
		}
	}
	// FailureDetails is optional in a row ("when known"), but must be right
	// when present.
	if fd := got.FailureDetails; fd != nil && (fd.ErrorMessage != unicodeText || fd.ErrorType != "E") {
		s.t.Errorf("state.FailureDetails = %+v, want the committed one", got.FailureDetails)
	}

	// A checkpoint without State leaves the row alone.
	s.send(eventMessage(id, "late", `1`))
	wi = s.lockFor(id)
	s.commit(wi, &sp.OrchestrationCheckpoint{})
	if after := s.state(id); after.RuntimeStatus != sp.StatusFailed || after.CustomStatus != `{"step":"ü"}` {
		s.t.Errorf("a nil-State checkpoint changed the row: %+v", after)
	}
	if err := sameEvents(s.history(id), want); err != nil {
		s.t.Errorf("an empty checkpoint changed the history: %v", err)
	}
}

// jsonString quotes s as a JSON string.
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&15])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// largeJSON returns a JSON string literal of exactly n bytes whose content
// does not compress to nothing (so gzip offloading is exercised honestly).
func largeJSON(n int) string {
	if n < 2 {
		n = 2
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteByte('"')
	x := uint32(2463534242)
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.,"
	for b.Len() < n-1 {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b.WriteByte(alphabet[x%uint32(len(alphabet))])
	}
	b.WriteByte('"')
	return b.String()
}

// testLargePayloads: inputs, outputs, custom status and history payloads
// of Options.LargePayloadSize bytes round-trip through rows, messages and
// history.
func testLargePayloads(s *suite) {
	big := largeJSON(s.opts.LargePayloadSize)
	big2 := largeJSON(s.opts.LargePayloadSize - 1)
	id := uniqueID("large")
	s.create(id, "Big", big)
	if st := s.state(id); st.Input != big {
		s.t.Errorf("row input: %d bytes back, want %d", len(st.Input), len(big))
	}
	wi := s.lockFor(id)
	if in := wi.NewMessages[0].Event.Input; in != big {
		s.t.Errorf("start message input: %d bytes back, want %d", len(in), len(big))
	}
	events := episode(wi,
		sp.NewTaskScheduledEvent(sp.Now(), 0, "Act", "", big2),
	)
	s.commit(wi, &sp.OrchestrationCheckpoint{
		NewEvents:        events,
		State:            running(wi, big2),
		ActivityMessages: []*sp.TaskMessage{{Event: events[len(events)-2].Clone(), Target: wi.NewMessages[0].Target}},
	})
	awi, err := s.hub.LockNextActivityWorkItem(s.waitCtx())
	if err != nil {
		s.t.Fatalf("LockNextActivityWorkItem: %v", err)
	}
	if in := awi.Message.Event.Input; in != big2 {
		s.t.Errorf("activity input: %d bytes back, want %d", len(in), len(big2))
	}
	res := &sp.TaskMessage{Event: sp.NewTaskCompletedEvent(sp.Now(), 0, big), Target: awi.Message.Target}
	if err := s.hub.CompleteActivityWorkItem(s.waitCtx(), awi, res); err != nil {
		s.t.Fatalf("CompleteActivityWorkItem: %v", err)
	}
	wi = s.lockFor(id)
	// Under a slow emulator the start message may be delivered again
	// beside the result (its lock ran out before the commit deleted it):
	// look for the result rather than expect it first.
	var result *sp.TaskMessage
	for _, m := range wi.NewMessages {
		if m.Event.EventType == sp.EventTaskCompleted {
			result = m
		}
	}
	if result == nil {
		s.t.Fatalf("the work item after the activity holds no TaskCompleted message (%d messages)", len(wi.NewMessages))
	}
	if r := result.Event.Result; r != big {
		s.t.Errorf("activity result message: %d bytes back, want %d", len(r), len(big))
	}
	if err := sameEvents(wi.History, events); err != nil {
		s.t.Errorf("work item history: %v", err)
	}
	more := episode(wi, sp.NewExecutionCompletedEvent(sp.Now(), 1, sp.StatusCompleted, big2, nil))
	s.commit(wi, &sp.OrchestrationCheckpoint{NewEvents: more, State: finished(wi, sp.StatusCompleted, big2)})
	st := s.state(id)
	if st.Output != big2 || st.Input != big {
		s.t.Errorf("row output/input: %d/%d bytes back, want %d/%d", len(st.Output), len(st.Input), len(big2), len(big))
	}
	if err := sameEvents(s.history(id), append(events, more...)); err != nil {
		s.t.Errorf("history: %v", err)
	}
}
