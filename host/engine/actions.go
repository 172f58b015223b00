package engine

import (
	"fmt"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// The decisions an orchestrator makes (actions) and how non-determinism
// errors name them.

// actionKind is the kind of a decision an orchestrator makes.
type actionKind int

const (
	kindActivity actionKind = iota
	kindSubOrchestration
	kindTimer
	kindSendEvent
)

// String names the kind as the orchestrator API call that makes it.
func (k actionKind) String() string {
	switch k {
	case kindActivity:
		return "CallActivity"
	case kindSubOrchestration:
		return "CallSubOrchestrator"
	case kindTimer:
		return "CreateTimer"
	case kindSendEvent:
		return "SendEvent"
	}
	return "unknown"
}

// retryChainTag is the Tags key that marks the TaskScheduled,
// SubOrchestrationInstanceCreated and TimerCreated events of a call made
// with a retry policy; its value is the action id of the first attempt.
// Rewind uses it to drop a failed chain as a whole, so that the call
// replays from its first attempt.
const retryChainTag = "funchost.retryChain"

// action is one decision of the orchestrator, identified by its action id.
type action struct {
	id         int
	kind       actionKind
	name       string // activity, sub-orchestrator or event name; timer marker
	version    string
	input      string
	instanceID string // sub-orchestration ID or SendEvent target
	fireAt     time.Time
	tags       map[string]string // retry chain markers
	// derivedID says the engine chose instanceID (stableGUID), not the
	// author; a recorded event may hold another ID for it, chosen by an
	// older build, and replay adopts that one (adoptRecordedID).
	derivedID bool
	// requestID is the engine-chosen ID of an entity request this SendEvent
	// carries; onAdopt, if set, moves what waits on it to the ID a recorded
	// event holds instead.
	requestID string
	onAdopt   func(recordedID string)
	task      *task // nil for SendEvent
	// scheduled is the history event that recorded the decision (once
	// recorded or matched).
	scheduled *sp.HistoryEvent
}

// describe renders the action as the code asked for it, for
// non-determinism errors.
func (a *action) describe() string {
	switch a.kind {
	case kindTimer:
		return "CreateTimer"
	case kindSubOrchestration:
		return fmt.Sprintf("CallSubOrchestrator %q (instance %q)", a.name, a.instanceID)
	case kindSendEvent:
		return fmt.Sprintf("SendEvent %q to %q", a.name, a.instanceID)
	}
	return fmt.Sprintf("%s %q", a.kind, a.name)
}

// describeEvent renders a scheduling event of history, for
// non-determinism errors.
func describeEvent(ev *sp.HistoryEvent) string {
	switch ev.EventType {
	case sp.EventTimerCreated:
		return "TimerCreated"
	case sp.EventSubOrchestrationInstanceCreated:
		return fmt.Sprintf("SubOrchestrationInstanceCreated %q (instance %q)", ev.Name, ev.InstanceID)
	case sp.EventEventSent:
		return fmt.Sprintf("EventSent %q to %q", ev.Name, ev.InstanceID)
	}
	return fmt.Sprintf("%s %q", ev.EventType, ev.Name)
}

func kindOf(t sp.EventType) actionKind {
	switch t {
	case sp.EventTaskScheduled:
		return kindActivity
	case sp.EventSubOrchestrationInstanceCreated:
		return kindSubOrchestration
	case sp.EventTimerCreated:
		return kindTimer
	}
	return kindSendEvent
}
