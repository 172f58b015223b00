package dfwire

import (
	"errors"
	"fmt"

	sp "github.com/funchost/funchost/storageprovider"
)

// ExactHistoryParam is the management API's query parameter (funchost's
// own, beside showHistory=true) that adds StoredEvents to every
// historyEvents entry. It is opt-in so that a plain showHistory answer
// stays byte for byte what Durable Functions tools expect and no larger.
const ExactHistoryParam = "exactHistory"

// StoredEvents is funchost's extension of one historyEvents entry (JSON
// field FunchostStored, last in the entry; tools written for Durable
// Functions ignore it). historyEvents alone cannot be replayed exactly:
// they drop OrchestratorStarted/Completed (the episode boundaries), event
// IDs and TimerIds, and merge each completed task's TaskScheduled into its
// completion. The extension carries the stored events the entry stands
// for, so that StoredHistory rebuilds the task hub's history event for
// event: the events the API left out or merged just before this entry
// (Before), the entry's own stored event (Event), and, on the last entry,
// the events after it (After). Payloads the entry already shows are not
// repeated (StoredHistory restores them from the entry).
type StoredEvents struct {
	Before []*sp.HistoryEvent `json:"before,omitempty"`
	Event  *sp.HistoryEvent   `json:"event"`
	After  []*sp.HistoryEvent `json:"after,omitempty"`
}

// HistoryWithStored is History with StoredEvents on every entry. Inputs are
// left out of the extension too without showInput, results without
// showOutput.
func HistoryWithStored(events []*sp.HistoryEvent, showInput, showOutput bool) []HistoryEvent {
	h := historyView{showInput: showInput, showOutput: showOutput,
		scheduled: map[int]*sp.HistoryEvent{}, created: map[int]*sp.HistoryEvent{}, merged: map[*sp.HistoryEvent]bool{}}
	for _, e := range events {
		h.index(e)
	}
	out := make([]HistoryEvent, 0, len(events))
	var pending []*sp.HistoryEvent
	for _, e := range events {
		v, ok := h.event(e)
		if !ok {
			pending = append(pending, h.storedCopy(e, nil))
			continue
		}
		v.Stored = &StoredEvents{Before: pending, Event: h.storedCopy(e, &v)}
		pending = nil
		out = append(out, v)
	}
	if len(pending) > 0 && len(out) > 0 {
		out[len(out)-1].Stored.After = pending
	}
	return out
}

// storedCopy is e as the extension carries it: without the payloads
// hidden by the request, and without those the entry v (nil for an event
// the API leaves out) or, for a merged scheduling event, its completion
// already shows.
func (h *historyView) storedCopy(e *sp.HistoryEvent, v *HistoryEvent) *sp.HistoryEvent {
	c := e.Clone()
	switch {
	case !h.showInput:
		c.Input = ""
	case v == nil && h.merged[e]:
		c.Input = "" // the completion's entry shows it
	case v != nil && ownInput(e.EventType) && c.Input != "" && v.InputText() == c.Input:
		c.Input = ""
	}
	switch {
	case !h.showOutput:
		c.Result = ""
	case v != nil && ownResult(e.EventType) && c.Result != "" && c.Result != "null" && string(v.Result) == c.Result:
		c.Result = ""
	}
	return c
}

// ownInput reports whether History shows an event's own Input (the
// completions show their scheduling event's).
func ownInput(t sp.EventType) bool {
	switch t {
	case sp.EventExecutionStarted, sp.EventExecutionTerminated, sp.EventTaskScheduled, sp.EventEventRaised,
		sp.EventSubOrchestrationInstanceCreated, sp.EventEventSent:
		return true
	}
	return false
}

// ownResult reports whether History shows an event's Result.
func ownResult(t sp.EventType) bool {
	switch t {
	case sp.EventTaskCompleted, sp.EventSubOrchestrationInstanceCompleted, sp.EventExecutionCompleted:
		return true
	}
	return false
}

// ErrNotStored is returned by StoredHistory for historyEvents without
// funchost's extension on every entry (another host's, or asked for
// without ExactHistoryParam).
var ErrNotStored = errors.New("dfwire: the historyEvents do not carry funchost's stored events")

// StoredHistory rebuilds the task hub's history from historyEvents written
// by HistoryWithStored with showInput and showOutput: the same events, in
// the same order, with the same payloads.
func StoredHistory(entries []HistoryEvent) ([]*sp.HistoryEvent, error) {
	type key struct {
		sub bool
		id  int
	}
	// Merged scheduling events get their input back from their completion.
	inputs := map[key]string{}
	for i := range entries {
		s := entries[i].Stored
		if s == nil || s.Event == nil {
			return nil, fmt.Errorf("%w (entry %d, %s)", ErrNotStored, i, entries[i].EventType)
		}
		switch s.Event.EventType {
		case sp.EventTaskCompleted, sp.EventTaskFailed:
			inputs[key{false, s.Event.TaskScheduledID}] = entries[i].InputText()
		case sp.EventSubOrchestrationInstanceCompleted, sp.EventSubOrchestrationInstanceFailed:
			inputs[key{true, s.Event.TaskScheduledID}] = entries[i].InputText()
		}
	}
	var out []*sp.HistoryEvent
	restoreMerged := func(evs []*sp.HistoryEvent) {
		for _, ev := range evs {
			c := ev.Clone()
			if c.Input == "" {
				switch c.EventType {
				case sp.EventTaskScheduled:
					c.Input = inputs[key{false, c.EventID}]
				case sp.EventSubOrchestrationInstanceCreated:
					c.Input = inputs[key{true, c.EventID}]
				}
			}
			out = append(out, c)
		}
	}
	for i := range entries {
		v := &entries[i]
		restoreMerged(v.Stored.Before)
		c := v.Stored.Event.Clone()
		if c.Input == "" && ownInput(c.EventType) {
			c.Input = v.InputText()
		}
		if c.Result == "" && ownResult(c.EventType) && len(v.Result) > 0 && string(v.Result) != "null" {
			c.Result = string(v.Result)
		}
		out = append(out, c)
		restoreMerged(v.Stored.After)
	}
	return out, nil
}
