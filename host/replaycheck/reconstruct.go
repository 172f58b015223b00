package replaycheck

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/funchost/funchost/host/dfwire"
	sp "github.com/funchost/funchost/storageprovider"
)

// Reconstruct rebuilds a replayable history from Durable Functions'
// standard historyEvents (any Durable Functions host's answer to
// showHistory=true&showHistoryOutput=true), which leave out what replay
// needs: TaskScheduled and SubOrchestrationInstanceCreated are merged into
// their completions (which keep FunctionName, ScheduledTime and Input),
// OrchestratorStarted/Completed, event IDs and TimerIds are dropped. It
// puts each merged scheduling event back at the latest place its
// ScheduledTime allows (and before its completion), numbers the scheduling
// events in order (the sequence numbers), links timers by FireAt, and
// opens an episode before each run of new events that a run of decisions
// follows, timed at those decisions. It returns the events and a note
// saying what is approximate (docs/versioning.md).
func Reconstruct(st *dfwire.Status, entries []dfwire.HistoryEvent) ([]*sp.HistoryEvent, string, error) {
	r := rebuild{st: st, links: map[*sp.HistoryEvent]*sp.HistoryEvent{}}
	for i := range entries {
		if err := r.add(&entries[i]); err != nil {
			return nil, "", fmt.Errorf("history event %d (%s): %w", i, entries[i].EventType, err)
		}
	}
	if !r.started {
		return nil, "", errors.New("the historyEvents have no ExecutionStarted event")
	}
	evs := r.place()
	number(evs, r.links)
	return episodes(evs), r.note(evs), nil
}

// rebuild holds Reconstruct's state: the events as shown, and the
// scheduling events rebuilt from completions, each with the index of its
// completion.
type rebuild struct {
	st      *dfwire.Status
	shown   []*sp.HistoryEvent
	merged  []mergedEvent
	started bool
	subs    int // sub-orchestrations whose instance ID is unknown
	// links maps each completion to the scheduling event rebuilt from it.
	links map[*sp.HistoryEvent]*sp.HistoryEvent
}

type mergedEvent struct {
	ev         *sp.HistoryEvent
	completion int // index in shown
}

func (r *rebuild) add(e *dfwire.HistoryEvent) error {
	t, err := sp.ParseEventType(e.EventType)
	if err != nil {
		return err
	}
	ev := &sp.HistoryEvent{EventType: t, EventID: -1, Timestamp: sp.Timestamp(e.Timestamp.Time), Name: e.Name,
		InstanceID: e.InstanceID, Reason: e.Reason, Details: e.Details, FailureDetails: e.FailureDetails, Data: e.Data}
	if !e.FireAt.IsZero() {
		ev.FireAt = sp.Timestamp(e.FireAt.Time)
	}
	switch t {
	case sp.EventExecutionStarted:
		r.started = true
		ev.Name, ev.Version, ev.Input = e.FunctionName, r.st.Version, e.InputText()
		ev.OrchestrationInstance = &sp.OrchestrationInstance{InstanceID: r.st.InstanceID}
		if !e.ScheduledStartTime.IsZero() {
			at := sp.Timestamp(e.ScheduledStartTime.Time)
			ev.ScheduledStartTime = &at
		}
	case sp.EventExecutionCompleted:
		if e.OrchestrationStatus != "" {
			if ev.OrchestrationStatus, err = sp.ParseOrchestrationStatus(e.OrchestrationStatus); err != nil {
				return err
			}
		}
		ev.Result = resultText(e.Result)
	case sp.EventExecutionTerminated, sp.EventTaskScheduled, sp.EventEventRaised, sp.EventSubOrchestrationInstanceCreated, sp.EventEventSent:
		ev.Input = e.InputText()
	case sp.EventTaskCompleted, sp.EventSubOrchestrationInstanceCompleted, sp.EventTaskFailed, sp.EventSubOrchestrationInstanceFailed:
		ev.Result = resultText(e.Result)
		r.mergeScheduling(ev, e)
	}
	r.shown = append(r.shown, ev)
	return nil
}

// mergeScheduling rebuilds the scheduling event a completion carries.
func (r *rebuild) mergeScheduling(ev *sp.HistoryEvent, e *dfwire.HistoryEvent) {
	if e.FunctionName == "" {
		return
	}
	s := &sp.HistoryEvent{EventType: sp.EventTaskScheduled, Name: e.FunctionName, Input: e.InputText(),
		Timestamp: sp.Timestamp(e.ScheduledTime.Time)}
	if ev.EventType == sp.EventSubOrchestrationInstanceCompleted || ev.EventType == sp.EventSubOrchestrationInstanceFailed {
		s.EventType = sp.EventSubOrchestrationInstanceCreated
		r.subs++
	}
	ev.Name = ""
	r.merged = append(r.merged, mergedEvent{ev: s, completion: len(r.shown)})
}

// resultText is the payload text of a shown Result ("" for none).
func resultText(raw []byte) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	return string(raw)
}

// place merges the rebuilt scheduling events into the shown ones: each
// goes before the first shown event stamped after it (a decision is
// recorded before what happens later), and at the latest before its own
// completion. Events of one place keep their ScheduledTime order, ties by
// name (not by the order of their completions, which races between runs
// of the same code: a report must not depend on it; Checker.Check tries
// the other orders of ties the code asks for).
func (r *rebuild) place() []*sp.HistoryEvent {
	at := make(map[int][]mergedEvent)
	for _, m := range r.merged {
		pos := m.completion
		if !m.ev.Timestamp.IsZero() {
			for j := 0; j < m.completion; j++ {
				if r.shown[j].Timestamp.After(m.ev.Timestamp) {
					pos = j
					break
				}
			}
		}
		at[pos] = append(at[pos], m)
	}
	out := make([]*sp.HistoryEvent, 0, len(r.shown)+len(r.merged))
	for i, ev := range r.shown {
		ms := at[i]
		sort.SliceStable(ms, func(a, b int) bool {
			ta, tb := ms[a].ev.Timestamp, ms[b].ev.Timestamp
			if !ta.Equal(tb) {
				return ta.Before(tb)
			}
			return ms[a].ev.Name < ms[b].ev.Name
		})
		for _, m := range ms {
			out = append(out, m.ev)
			r.links[r.shown[m.completion]] = m.ev
		}
		out = append(out, ev)
	}
	return out
}

// isDecision reports whether an event records a decision of the code: the
// events that carry a sequence number.
func isDecision(t sp.EventType) bool {
	switch t {
	case sp.EventTaskScheduled, sp.EventTimerCreated, sp.EventSubOrchestrationInstanceCreated, sp.EventEventSent,
		sp.EventExecutionCompleted, sp.EventContinueAsNew:
		return true
	}
	return false
}

// family is what a completion refers to: 1 tasks, 2 sub-orchestrations,
// 3 timers (0 none).
func family(t sp.EventType) int {
	switch t {
	case sp.EventTaskScheduled, sp.EventTaskCompleted, sp.EventTaskFailed:
		return 1
	case sp.EventSubOrchestrationInstanceCreated, sp.EventSubOrchestrationInstanceCompleted, sp.EventSubOrchestrationInstanceFailed:
		return 2
	case sp.EventTimerCreated, sp.EventTimerFired:
		return 3
	}
	return 0
}

// number gives the decisions their sequence numbers in order and points
// each completion at its scheduling event: the one rebuilt from it, else
// the first open one of its kind (a timer: the first open one firing at
// the same time).
func number(evs []*sp.HistoryEvent, links map[*sp.HistoryEvent]*sp.HistoryEvent) {
	next := 0
	var open []*sp.HistoryEvent
	for _, ev := range evs {
		if isDecision(ev.EventType) {
			ev.EventID = next
			next++
			if family(ev.EventType) != 0 {
				open = append(open, ev)
			}
			continue
		}
		f := family(ev.EventType)
		if f == 0 {
			continue
		}
		s := links[ev]
		if s == nil {
			for _, o := range open {
				if family(o.EventType) == f && (f != 3 || o.FireAt.Equal(ev.FireAt)) {
					s = o
					break
				}
			}
		}
		if s == nil {
			continue
		}
		open = slices.DeleteFunc(open, func(o *sp.HistoryEvent) bool { return o == s })
		if f == 3 {
			ev.TimerID = s.EventID
		} else {
			ev.TaskScheduledID = s.EventID
		}
	}
}

// episodes wraps the events in episodes: one opens before each run of
// new events that follows a decision (and before the first event), timed
// at the first decision it makes (at its last event when it makes none),
// and closes after its decisions.
func episodes(evs []*sp.HistoryEvent) []*sp.HistoryEvent {
	out := make([]*sp.HistoryEvent, 0, len(evs)+8)
	for i := 0; i < len(evs); {
		j := i
		for j < len(evs) && !isDecision(evs[j].EventType) {
			j++
		}
		k := j
		for k < len(evs) && isDecision(evs[k].EventType) {
			k++
		}
		at := evs[k-1].Timestamp
		if j < k {
			at = evs[j].Timestamp
		}
		out = append(out, sp.NewOrchestratorStartedEvent(at))
		out = append(out, evs[i:k]...)
		out = append(out, sp.NewOrchestratorCompletedEvent(at))
		i = k
	}
	return out
}

// note says what of a reconstructed history is approximate.
func (r *rebuild) note(evs []*sp.HistoryEvent) string {
	parts := []string{"rebuilt from the standard historyEvents (the host sent no stored events): sequence numbers, " +
		"episode boundaries and the time the code saw in each episode are inferred from order and timestamps"}
	if ties := len(tieGroups(evs)); ties > 0 {
		parts = append(parts, fmt.Sprintf("%d group(s) of calls scheduled at the same instant are taken in the order the code asks for them, so a reordering among them is not seen", ties))
	}
	if r.subs > 0 {
		parts = append(parts, "the instance IDs and versions of completed sub-orchestrations are not shown, so they are not compared")
	}
	return strings.Join(parts, "; ")
}

// tieGroups returns the runs (first index, length) of two or more
// decisions with a sequence number that share one timestamp: their
// relative order is not known from a reconstructed history.
func tieGroups(evs []*sp.HistoryEvent) [][2]int {
	var out [][2]int
	for i := 0; i < len(evs); {
		j := i
		for j < len(evs) && family(evs[j].EventType) != 0 && isDecision(evs[j].EventType) && evs[j].Timestamp.Equal(evs[i].Timestamp) {
			j++
		}
		if j-i >= 2 {
			out = append(out, [2]int{i, j - i})
		}
		if j == i {
			j++
		}
		i = j
	}
	return out
}
