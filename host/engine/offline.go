package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
)

// Offline replay: the entry point of the replay checker (host/replaycheck).
// It runs an orchestrator over a stored history exactly as a work item's
// replay does, without a task hub, and reports what the code did against
// what history holds.

// ReplayOptions configure ReplayHistory.
type ReplayOptions struct {
	// DefaultVersion is the worker's defaultVersion, stamped on
	// sub-orchestrations the code starts without WithVersion (it only
	// shows in what the code asks for; no version is matched).
	DefaultVersion string
	// Logger receives the orchestrator's logs (default: discard). They are
	// replay logs, so the replay-safe logger drops them unless the code
	// runs past the end of history.
	Logger *slog.Logger
	// AnyTargetInstance makes a SubOrchestrationInstanceCreated event
	// without an InstanceId match whatever instance the code starts: a
	// history rebuilt from Durable Functions' standard historyEvents
	// (replaycheck.Reconstruct) does not know it.
	AnyTargetInstance bool
}

// ReplayResult is what replaying a stored history produced.
type ReplayResult struct {
	// Divergence is set when the code no longer makes the decisions
	// history holds: the error the runtime would fail the instance with.
	Divergence *bindings.NonDeterministicOrchestrationError
	// Failure is set when the orchestration failed while replaying for
	// another reason: the orchestrator is not registered, it panicked or
	// returned an error (compare HistoryFailed).
	Failure *sp.FailureDetails
	// HistoryFailed reports that history itself ends Failed, so that a
	// Failure may be the recorded one.
	HistoryFailed bool
	// Matched are the decisions of history the code made again, in the
	// order history holds them.
	Matched []ReplayedDecision
	// Next are the decisions the code makes beyond history (what the
	// instance does next), by sequence number.
	Next []ReplayedDecision
	// Status is where replay leaves the execution: Running while the code
	// waits, else how it ended.
	Status sp.OrchestrationStatus
}

// ReplayedDecision is one decision of the code and, when matched, the
// history event that records it.
type ReplayedDecision struct {
	SequenceNumber int
	// Kind is the API call: CallActivity, CallSubOrchestrator,
	// CreateTimer or SendEvent.
	Kind string
	// Name is the activity, sub-orchestrator or event name.
	Name string
	// Code is how the code asked for it; History how history records it
	// ("" for Next), as non-determinism errors name them.
	Code, History string
	// CodeInput and HistoryInput are the payload JSON text.
	CodeInput, HistoryInput string
	// CodeFireAt and HistoryFireAt are a timer's due times.
	CodeFireAt, HistoryFireAt time.Time
	// CodeInstanceID and HistoryInstanceID are a sub-orchestration's or
	// SendEvent's target instance.
	CodeInstanceID, HistoryInstanceID string
	// CodeVersion and HistoryVersion are the version recorded with a call.
	CodeVersion, HistoryVersion string
}

// ErrNoStart is returned by ReplayHistory for a history without an
// ExecutionStarted event.
var ErrNoStart = errors.New("the history has no ExecutionStarted event")

// ReplayHistory replays history (one execution's events, as the task hub
// stores them) against orch, as the engine would on the next episode. A
// nil orch replays as an orchestrator that is not registered.
func ReplayHistory(orch bindings.Orchestrator, history []*sp.HistoryEvent, opts ReplayOptions) (res *ReplayResult, err error) {
	hi := inspectHistory(history)
	if hi.start == nil {
		return nil, ErrNoStart
	}
	instanceID := ""
	if hi.start.OrchestrationInstance != nil {
		instanceID = hi.start.OrchestrationInstance.InstanceID
	}
	e := newExecution(orch, opts.Logger).forInstance(instanceID, nil)
	e.defaultVersion = opts.DefaultVersion
	e.anyTarget = opts.AnyTargetInstance
	res = &ReplayResult{HistoryFailed: hi.completed && hi.status == sp.StatusFailed}
	e.onMatch = func(ev *sp.HistoryEvent, a *action) {
		d := decision(a)
		d.History, d.HistoryInput, d.HistoryFireAt, d.HistoryInstanceID, d.HistoryVersion =
			describeEvent(ev), ev.Input, ev.FireAt, ev.InstanceID, ev.Version
		res.Matched = append(res.Matched, d)
	}
	defer func() {
		if r := recover(); r != nil {
			e.teardown()
			res, err = nil, fmt.Errorf("engine panic replaying instance %s: %v", instanceID, r)
		}
	}()
	clones := make([]*sp.HistoryEvent, len(history))
	for i, ev := range history {
		clones[i] = ev.Clone()
	}
	e.replay(clones)
	for _, id := range slices.Sorted(maps.Keys(e.unmatched)) {
		res.Next = append(res.Next, decision(e.unmatched[id]))
	}
	res.Divergence = e.divergence
	res.Status = sp.StatusRunning
	if e.done {
		res.Status = e.status
		if e.status == sp.StatusFailed && e.divergence == nil {
			res.Failure = e.failure
		}
	}
	e.teardown()
	return res, nil
}

func decision(a *action) ReplayedDecision {
	return ReplayedDecision{SequenceNumber: a.id, Kind: a.kind.String(), Name: a.name, Code: a.describe(),
		CodeInput: a.input, CodeFireAt: a.fireAt, CodeInstanceID: a.instanceID, CodeVersion: a.version}
}
