package dashboard

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	sp "github.com/funchost/funchost/storageprovider"
)

// timeline is an instance's history as the page draws it: one span (a bar)
// per activity call, timer, sub-orchestration, external event and
// suspension, the orchestrator's episodes, and the event list. Times are
// Unix microseconds; the JSON keys are short because histories run to tens
// of thousands of events.
type timeline struct {
	Start int64 `json:"start"`
	// End is the orchestration's completion, or Now while it runs.
	End      int64      `json:"end"`
	Now      int64      `json:"now"`
	Open     bool       `json:"open"`
	Spans    []span     `json:"spans"`
	Episodes [][2]int64 `json:"episodes"`
	Events   []eventRow `json:"events"`
}

// Span kinds.
const (
	kindOrchestration    = "orchestration"
	kindActivity         = "activity"
	kindSubOrchestration = "suborchestration"
	kindTimer            = "timer"
	kindEvent            = "event"
	kindSuspended        = "suspended"
)

// Span outcomes. A span still open when the orchestration ended has
// outcomeAbandoned (an activity whose result never arrived, a timer that
// lost a race).
const (
	outcomeCompleted = "completed"
	outcomeFailed    = "failed"
	outcomeRunning   = "running"
	outcomeFired     = "fired"
	outcomeReceived  = "received"
	outcomeWaiting   = "waiting"
	outcomeAbandoned = "abandoned"
	outcomeResumed   = "resumed"
	// outcomeScheduled is a timer that has not fired yet: its bar runs to
	// the time it is due.
	outcomeScheduled = "scheduled"
)

// span is one bar of the timeline.
type span struct {
	Kind    string `json:"k"`
	Name    string `json:"n"`
	Start   int64  `json:"s"`
	End     int64  `json:"e"` // == timeline.End when open
	Outcome string `json:"o"`
	// First and Last are the indexes of the events that open and close the
	// span (Last is -1 while open).
	First int    `json:"a"`
	Last  int    `json:"b"`
	Child string `json:"c,omitempty"` // sub-orchestration instance ID
	Note  string `json:"x,omitempty"` // failure message, fire time, ...
}

// eventRow is one history event in the list beside the bars.
type eventRow struct {
	Type string `json:"t"`
	Time int64  `json:"ts"`
	Name string `json:"n,omitempty"`
	// ID is the event's action id: its EventId for scheduling events, the
	// id of what it completes for completions, -1 otherwise.
	ID   int    `json:"id"`
	Note string `json:"x,omitempty"`
	Span int    `json:"sp"` // the span it belongs to, or -1
}

// previewLen bounds the payload preview in each event row.
const previewLen = 80

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// preview shortens a payload or message to one line of previewLen runes.
func preview(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= previewLen {
		return s
	}
	r := []rune(s)
	return string(r[:previewLen-1]) + "…"
}

// timelineBuilder turns a history into spans in one pass.
type timelineBuilder struct {
	tl       *timeline
	open     map[int]int // scheduling EventId → open span (activities, sub-orchestrations)
	timers   map[int]int // TimerCreated EventId → open span
	fireAt   map[int]int64
	lastIdle int64 // end of the latest episode: when the orchestrator last waited
	epStart  int64
	suspend  int // open suspension span, -1 when none
}

// buildTimeline draws history. status is the instance's status row: it
// says whether the orchestration still runs, and how it ended.
func buildTimeline(history []*sp.HistoryEvent, st *sp.OrchestrationState, now time.Time) *timeline {
	tl := &timeline{Now: micros(now), Spans: []span{}, Episodes: [][2]int64{}, Events: make([]eventRow, 0, len(history))}
	b := &timelineBuilder{tl: tl, open: map[int]int{}, timers: map[int]int{}, fireAt: map[int]int64{}, epStart: -1, suspend: -1}
	tl.Open = !st.RuntimeStatus.IsTerminal() && st.RuntimeStatus != sp.StatusContinuedAsNew
	// The orchestration starts with its ExecutionStarted event, which
	// follows the first episode's OrchestratorStarted in history.
	tl.Start = micros(st.CreatedTime)
	for i, e := range history {
		if e.EventType == sp.EventExecutionStarted || (i == 0 && tl.Start == 0) {
			tl.Start = micros(e.Timestamp)
		}
		if e.EventType == sp.EventExecutionStarted || i > 2 {
			break
		}
	}
	b.lastIdle = tl.Start
	// The orchestration's own bar comes first.
	tl.Spans = append(tl.Spans, span{Kind: kindOrchestration, Name: st.Name, Start: tl.Start, Outcome: outcomeRunning, First: 0, Last: -1})
	for i, e := range history {
		tl.Events = append(tl.Events, b.add(i, e))
	}
	b.finish(st)
	return tl
}

// add records event i and returns its row.
func (b *timelineBuilder) add(i int, e *sp.HistoryEvent) eventRow {
	ts := micros(e.Timestamp)
	row := eventRow{Type: e.EventType.String(), Time: ts, Name: e.Name, ID: e.EventID, Span: -1}
	tl := b.tl
	opened := func(kind, name, note string) int {
		tl.Spans = append(tl.Spans, span{Kind: kind, Name: name, Start: ts, Outcome: outcomeRunning, First: i, Last: -1, Note: note})
		return len(tl.Spans) - 1
	}
	closed := func(idx int, outcome, note string) {
		s := &tl.Spans[idx]
		s.End, s.Outcome, s.Last = ts, outcome, i
		if note != "" {
			s.Note = note
		}
		row.Span = idx
	}
	switch e.EventType {
	case sp.EventExecutionStarted:
		row.Note = preview(e.Input)
		row.Span = 0
	case sp.EventOrchestratorStarted:
		b.epStart = ts
	case sp.EventOrchestratorCompleted:
		if b.epStart >= 0 {
			tl.Episodes = append(tl.Episodes, [2]int64{b.epStart, ts})
		}
		b.epStart, b.lastIdle = -1, ts
	case sp.EventTaskScheduled:
		row.Note = preview(e.Input)
		b.open[e.EventID] = opened(kindActivity, e.Name, "")
		row.Span = b.open[e.EventID]
	case sp.EventSubOrchestrationInstanceCreated:
		row.Note = e.InstanceID
		idx := opened(kindSubOrchestration, e.Name, "")
		tl.Spans[idx].Child = e.InstanceID
		b.open[e.EventID] = idx
		row.Span = idx
	case sp.EventTaskCompleted, sp.EventSubOrchestrationInstanceCompleted,
		sp.EventTaskFailed, sp.EventSubOrchestrationInstanceFailed:
		outcome, failure := outcomeCompleted, ""
		row.ID, row.Note = e.TaskScheduledID, preview(e.Result)
		if e.EventType == sp.EventTaskFailed || e.EventType == sp.EventSubOrchestrationInstanceFailed {
			failure = preview(failureText(e))
			outcome, row.Note = outcomeFailed, failure
		}
		if idx, ok := b.open[e.TaskScheduledID]; ok {
			delete(b.open, e.TaskScheduledID)
			closed(idx, outcome, failure)
			row.Name = tl.Spans[idx].Name
		}
	case sp.EventTimerCreated:
		row.Note = "fires at " + e.FireAt.UTC().Format(noteTimeLayout)
		b.timers[e.EventID] = opened(kindTimer, "timer", row.Note)
		b.fireAt[e.EventID] = micros(e.FireAt)
		row.Span = b.timers[e.EventID]
	case sp.EventTimerFired:
		// A timer fires at its due time; the event may carry an earlier
		// timestamp.
		row.ID = e.TimerID
		if idx, ok := b.timers[e.TimerID]; ok {
			delete(b.timers, e.TimerID)
			closed(idx, outcomeFired, "")
			tl.Spans[idx].End = max(ts, b.fireAt[e.TimerID])
		}
	case sp.EventEventRaised:
		// History does not record when the orchestrator began to wait; the
		// bar starts when it last went idle before the event arrived.
		row.Note = preview(e.Input)
		tl.Spans = append(tl.Spans, span{Kind: kindEvent, Name: e.Name, Start: min(b.lastIdle, ts), End: ts, Outcome: outcomeReceived, First: i, Last: i})
		row.Span = len(tl.Spans) - 1
	case sp.EventEventSent:
		row.Note = "to " + e.InstanceID
	case sp.EventExecutionSuspended:
		row.Note = e.Reason
		if b.suspend < 0 {
			b.suspend = opened(kindSuspended, "suspended", e.Reason)
			row.Span = b.suspend
		}
	case sp.EventExecutionResumed:
		row.Note = e.Reason
		if b.suspend >= 0 {
			closed(b.suspend, outcomeResumed, "")
			b.suspend = -1
		}
	case sp.EventExecutionTerminated:
		row.Note = preview(e.Input)
	case sp.EventExecutionRewound:
		row.Note = e.Reason
	case sp.EventExecutionCompleted, sp.EventContinueAsNew:
		row.Name = e.OrchestrationStatus.String()
		row.Note = preview(e.Result)
		if e.OrchestrationStatus == sp.StatusFailed {
			row.Note = preview(failureText(e))
		}
		closed(0, strings.ToLower(e.OrchestrationStatus.String()), "")
	case sp.EventGenericEvent:
		row.Note = preview(e.Data)
	}
	return row
}

// noteTimeLayout renders times inside notes.
const noteTimeLayout = "2006-01-02 15:04:05.000"

// failureText is a failure event's message, with its error type when known.
func failureText(e *sp.HistoryEvent) string {
	if f := e.FailureDetails; f != nil {
		if f.ErrorType != "" && !strings.HasPrefix(f.ErrorMessage, f.ErrorType) {
			return f.ErrorType + ": " + f.ErrorMessage
		}
		return f.ErrorMessage
	}
	if e.Reason != "" {
		return e.Reason
	}
	return e.Details
}

// finish closes the orchestration's bar from its status row and settles
// the spans history left open: still running while the orchestration
// runs, abandoned once it ended.
func (b *timelineBuilder) finish(st *sp.OrchestrationState) {
	tl := b.tl
	orch := &tl.Spans[0]
	switch {
	case tl.Open:
		tl.End = max(tl.Now, tl.Start)
		orch.Outcome = strings.ToLower(st.RuntimeStatus.String())
	case orch.Last < 0: // terminal by its status row, without a completion event in history
		tl.End = max(micros(st.CompletedTime), micros(st.LastUpdatedTime), tl.Start)
		orch.Outcome = strings.ToLower(st.RuntimeStatus.String())
	default:
		tl.End = max(orch.End, tl.Start)
	}
	if n := len(tl.Events); n > 0 && !tl.Open {
		tl.End = max(tl.End, tl.Events[n-1].Time) // the last episode ends after the completion
	}
	if tl.Open {
		// The chart reaches the latest due time of a pending timer.
		for id := range b.timers {
			tl.End = max(tl.End, b.fireAt[id])
		}
	}
	for i := range tl.Spans {
		s := &tl.Spans[i]
		if s.Last >= 0 {
			continue
		}
		s.End = tl.End
		switch {
		case !tl.Open && s.Outcome == outcomeRunning:
			s.Outcome = outcomeAbandoned
		case tl.Open && s.Kind == kindTimer:
			s.Outcome = outcomeScheduled
		}
	}
	for id, idx := range b.timers {
		if tl.Open {
			tl.Spans[idx].End = max(b.fireAt[id], tl.Spans[idx].Start)
		}
	}
	if tl.Open && st.RuntimeStatus == sp.StatusRunning && len(b.open) == 0 && len(b.timers) == 0 && len(tl.Events) > 0 {
		// Nothing scheduled is outstanding: the orchestrator waits for an
		// external event (history does not say which).
		tl.Spans = append(tl.Spans, span{Kind: kindEvent, Name: "external event", Start: b.lastIdle, End: tl.Now,
			Outcome: outcomeWaiting, First: len(tl.Events) - 1, Last: -1, Note: "no activity, timer or sub-orchestration is outstanding"})
	}
}

// formatDuration renders d briefly: 850 µs, 12 ms, 3.4 s, 2m05s, 3h02m.
func formatDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "—"
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}
