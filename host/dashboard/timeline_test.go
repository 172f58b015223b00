package dashboard

import (
	"strconv"
	"strings"
	"testing"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

// testHistory has one of each span kind: an activity that completes, a
// timer, a failed sub-orchestration, an activity still open, a
// suspension and an external event.
func testHistory() []*sp.HistoryEvent {
	ev := func(typ sp.EventType, at int, f func(*sp.HistoryEvent)) *sp.HistoryEvent {
		e := &sp.HistoryEvent{EventType: typ, EventID: -1, Timestamp: ms(at)}
		if f != nil {
			f(e)
		}
		return e
	}
	return []*sp.HistoryEvent{
		ev(sp.EventOrchestratorStarted, 1, nil),
		ev(sp.EventExecutionStarted, 0, func(e *sp.HistoryEvent) { e.Name, e.Input = "Proc", `{"n": 1}` }),
		ev(sp.EventTaskScheduled, 1, func(e *sp.HistoryEvent) { e.EventID, e.Name, e.Input = 0, "A", `"in"` }),
		ev(sp.EventTimerCreated, 1, func(e *sp.HistoryEvent) { e.EventID, e.FireAt = 1, ms(100) }),
		ev(sp.EventSubOrchestrationInstanceCreated, 2, func(e *sp.HistoryEvent) { e.EventID, e.Name, e.InstanceID = 2, "Child", "child-1" }),
		ev(sp.EventOrchestratorCompleted, 3, nil),
		ev(sp.EventOrchestratorStarted, 50, nil),
		ev(sp.EventTaskCompleted, 40, func(e *sp.HistoryEvent) { e.TaskScheduledID, e.Result = 0, `"out"` }),
		ev(sp.EventSubOrchestrationInstanceFailed, 45, func(e *sp.HistoryEvent) {
			e.TaskScheduledID, e.FailureDetails = 2, &sp.FailureDetails{ErrorType: "ValueError", ErrorMessage: "bad value"}
		}),
		ev(sp.EventOrchestratorCompleted, 51, nil),
		ev(sp.EventOrchestratorStarted, 101, nil),
		ev(sp.EventTimerFired, 2, func(e *sp.HistoryEvent) { e.TimerID, e.FireAt = 1, ms(100) }),
		ev(sp.EventTaskScheduled, 101, func(e *sp.HistoryEvent) { e.EventID, e.Name = 3, "B" }),
		ev(sp.EventExecutionSuspended, 102, func(e *sp.HistoryEvent) { e.Reason = "pause" }),
		ev(sp.EventOrchestratorCompleted, 103, nil),
		ev(sp.EventOrchestratorStarted, 200, nil),
		ev(sp.EventExecutionResumed, 150, nil),
		ev(sp.EventEventRaised, 190, func(e *sp.HistoryEvent) { e.Name, e.Input = "Go", `{"go": true}` }),
		ev(sp.EventOrchestratorCompleted, 201, nil),
	}
}

// spanText renders a span as "kind name outcome start-end" in ms from t0.
func spanText(s span) string {
	at := func(us int64) int64 { return (us - t0.UnixMicro()) / 1000 }
	out := s.Kind + " " + s.Name + " " + s.Outcome + " " + itoa(at(s.Start)) + "-" + itoa(at(s.End))
	if s.Child != "" {
		out += " child=" + s.Child
	}
	if s.Note != "" {
		out += " (" + s.Note + ")"
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestTimelineSpans(t *testing.T) {
	running := &sp.OrchestrationState{Name: "Proc", RuntimeStatus: sp.StatusRunning, CreatedTime: ms(0)}
	tl := buildTimeline(testHistory(), running, ms(500))
	want := []string{
		"orchestration Proc running 0-500",
		"activity A completed 1-40",
		"timer timer fired 1-100 (fires at 2024-05-01 12:00:00.100)",
		"suborchestration Child failed 2-45 child=child-1 (ValueError: bad value)",
		"activity B running 101-500",
		"suspended suspended resumed 102-150 (pause)",
		"event Go received 103-190",
	}
	check := func(tl *timeline, want []string) {
		t.Helper()
		var got []string
		for _, s := range tl.Spans {
			got = append(got, spanText(s))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("spans:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	check(tl, want)
	if !tl.Open || len(tl.Episodes) != 4 || len(tl.Events) != len(testHistory()) {
		t.Errorf("open %v, %d episodes, %d events", tl.Open, len(tl.Episodes), len(tl.Events))
	}
	if e := tl.Events[7]; e.Name != "A" || e.ID != 0 || e.Note != `"out"` || e.Span != 1 {
		t.Errorf("TaskCompleted row %+v", e)
	}

	// Once the orchestration completed, what never finished is abandoned.
	done := &sp.OrchestrationState{Name: "Proc", RuntimeStatus: sp.StatusCompleted, CreatedTime: ms(0)}
	h := append(testHistory(), &sp.HistoryEvent{EventType: sp.EventExecutionCompleted, EventID: 4, Timestamp: ms(300),
		OrchestrationStatus: sp.StatusCompleted, Result: `"ok"`})
	tl = buildTimeline(h, done, ms(900))
	want[0] = "orchestration Proc completed 0-300"
	want[4] = "activity B abandoned 101-300"
	check(tl, want)
	if tl.Open || tl.End != ms(300).UnixMicro() {
		t.Errorf("completed timeline: open %v end %d", tl.Open, tl.End)
	}
}

func TestTimelineWaitsAndTimers(t *testing.T) {
	h := []*sp.HistoryEvent{
		{EventType: sp.EventOrchestratorStarted, EventID: -1, Timestamp: ms(0)},
		{EventType: sp.EventExecutionStarted, EventID: -1, Timestamp: ms(0), Name: "Wait"},
		{EventType: sp.EventOrchestratorCompleted, EventID: -1, Timestamp: ms(5)},
	}
	st := &sp.OrchestrationState{Name: "Wait", RuntimeStatus: sp.StatusRunning, CreatedTime: ms(0)}
	tl := buildTimeline(h, st, ms(1000))
	if n := len(tl.Spans); n != 2 || spanText(tl.Spans[1]) != "event external event waiting 5-1000 (no activity, timer or sub-orchestration is outstanding)" {
		t.Errorf("a running orchestration with nothing outstanding: %d spans, last %q", n, spanText(tl.Spans[n-1]))
	}
	// A pending timer runs to its due time, past now.
	h = append(h[:2], &sp.HistoryEvent{EventType: sp.EventTimerCreated, EventID: 0, Timestamp: ms(1), FireAt: ms(5000)}, h[2])
	tl = buildTimeline(h, st, ms(1000))
	if got := spanText(tl.Spans[1]); got != "timer timer scheduled 1-5000 (fires at 2024-05-01 12:00:05.000)" || tl.End != ms(5000).UnixMicro() || len(tl.Spans) != 2 {
		t.Errorf("pending timer %q, end %d, %d spans", got, tl.End, len(tl.Spans))
	}
}

func TestPreviewAndDurations(t *testing.T) {
	long := strings.Repeat("é", 200)
	if p := preview(long); len([]rune(p)) != previewLen || !strings.HasSuffix(p, "…") {
		t.Errorf("preview of 200 runes: %d runes", len([]rune(p)))
	}
	if p := preview("a\n  b\tc"); p != "a b c" {
		t.Errorf("preview = %q", p)
	}
	for d, want := range map[time.Duration]string{850 * time.Microsecond: "850 µs", 12 * time.Millisecond: "12 ms", 3400 * time.Millisecond: "3.4 s",
		125 * time.Second: "2m05s", 182 * time.Minute: "3h02m", 75 * time.Hour: "3d03h"} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
