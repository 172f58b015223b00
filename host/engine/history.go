package engine

import (
	"maps"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// What the engine reads from a committed history without replaying it:
// its start and outcome, the history a rewind keeps, and what a finished
// execution's status row and parent notice were.

// historyInfo summarises a committed history.
type historyInfo struct {
	start       *sp.HistoryEvent
	executionID string
	completed   bool
	status      sp.OrchestrationStatus
	end         *sp.HistoryEvent // the event that set completed and status
}

func inspectHistory(hist []*sp.HistoryEvent) historyInfo {
	var hi historyInfo
	for _, ev := range hist {
		switch ev.EventType {
		case sp.EventExecutionStarted:
			if hi.start == nil {
				hi.start = ev
				if ev.OrchestrationInstance != nil {
					hi.executionID = ev.OrchestrationInstance.ExecutionID
				}
			}
		case sp.EventExecutionCompleted, sp.EventContinueAsNew:
			// A Terminated completion overrides an earlier ContinueAsNew;
			// other later completions are ignored
			// (docs/replay.md, "Status rows").
			if !hi.completed || (hi.status == sp.StatusContinuedAsNew && ev.OrchestrationStatus == sp.StatusTerminated) {
				hi.completed, hi.status, hi.end = true, ev.OrchestrationStatus, ev
				if ev.EventType == sp.EventContinueAsNew {
					hi.status = sp.StatusContinuedAsNew
				}
			}
		}
	}
	return hi
}

// rewindHistory removes a Failed execution's failures from its history:
// failed activity calls (TaskScheduled and TaskFailed), whole retry chains
// that ended in failure (attempts and retry timers), the
// SubOrchestrationInstanceFailed notices (the children are rewound
// themselves; their SubOrchestrationInstanceCreated events stay, so the
// parent re-attaches to their completion) and the Failed completion. It
// returns the filtered history and the failed children's instance IDs.
//
// Like Durable Functions, it assumes the failures ended the orchestration:
// a failure the orchestrator caught and moved past is re-run too, and the
// decisions it made afterwards then no longer line up with history.
func rewindHistory(hist []*sp.HistoryEvent) ([]*sp.HistoryEvent, []string) {
	failedTasks := map[int]bool{}
	failedSubs := map[int]bool{}
	chainOf := map[int]string{} // action id -> retry chain
	chainOK := map[string]bool{}
	for _, ev := range hist {
		switch ev.EventType {
		case sp.EventTaskScheduled, sp.EventTimerCreated, sp.EventSubOrchestrationInstanceCreated:
			if c, ok := ev.Tags[retryChainTag]; ok {
				chainOf[ev.EventID] = c
			}
		case sp.EventTaskFailed:
			failedTasks[ev.TaskScheduledID] = true
		case sp.EventSubOrchestrationInstanceFailed:
			failedSubs[ev.TaskScheduledID] = true
		}
	}
	for _, ev := range hist {
		if ev.EventType == sp.EventTaskCompleted || ev.EventType == sp.EventSubOrchestrationInstanceCompleted {
			if c, ok := chainOf[ev.TaskScheduledID]; ok {
				chainOK[c] = true
			}
		}
	}
	// A retry chain that ended in success stays as it is; one that
	// failed goes as a whole.
	inFailedChain := func(id int) bool {
		c, ok := chainOf[id]
		return ok && !chainOK[c]
	}
	inOKChain := func(id int) bool {
		c, ok := chainOf[id]
		return ok && chainOK[c]
	}
	var children []string
	out := make([]*sp.HistoryEvent, 0, len(hist))
	for _, ev := range hist {
		switch ev.EventType {
		case sp.EventExecutionCompleted:
			continue
		case sp.EventTaskFailed:
			if !inOKChain(ev.TaskScheduledID) {
				continue
			}
		case sp.EventTaskScheduled:
			if (failedTasks[ev.EventID] && !inOKChain(ev.EventID)) || inFailedChain(ev.EventID) {
				continue
			}
		case sp.EventTimerCreated:
			if inFailedChain(ev.EventID) {
				continue
			}
		case sp.EventTimerFired:
			if inFailedChain(ev.TimerID) {
				continue
			}
		case sp.EventSubOrchestrationInstanceFailed:
			if !inOKChain(ev.TaskScheduledID) {
				continue
			}
		case sp.EventSubOrchestrationInstanceCreated:
			if inFailedChain(ev.EventID) {
				continue
			}
			if failedSubs[ev.EventID] && !inOKChain(ev.EventID) {
				children = append(children, ev.InstanceID)
			}
		}
		out = append(out, ev)
	}
	return out, children
}

// notifyParent rebuilds the completion notice a finished sub-orchestration
// sent its parent, from the child's committed history (nil when it has no
// parent).
func notifyParent(hist []*sp.HistoryEvent, hi historyInfo, instanceID string, now time.Time) *sp.TaskMessage {
	if hi.start == nil || hi.start.ParentInstance == nil || hi.start.ParentInstance.OrchestrationInstance == nil {
		return nil
	}
	var done *sp.HistoryEvent
	for _, ev := range hist {
		if ev.EventType == sp.EventExecutionCompleted && done == nil {
			done = ev
		}
	}
	if done == nil {
		return nil
	}
	return parentNotice(hi.start.ParentInstance, done.OrchestrationStatus, done.Result, done.FailureDetails, hi.start.Name, instanceID, now)
}

// finishedState rebuilds the status row of a finished execution from its
// history. The custom status is not in history: it is kept from the
// work item's State when that is of the same execution.
func finishedState(wi *sp.OrchestrationWorkItem, hi historyInfo, now time.Time) *sp.OrchestrationState {
	s := hi.start
	st := &sp.OrchestrationState{
		InstanceID:      wi.InstanceID,
		ExecutionID:     hi.executionID,
		Name:            s.Name,
		Version:         s.Version,
		RuntimeStatus:   hi.status,
		CreatedTime:     s.Timestamp,
		LastUpdatedTime: now,
		CompletedTime:   now,
		Input:           s.Input,
		Generation:      s.Generation,
	}
	if s.ScheduledStartTime != nil {
		st.ScheduledStartTime = *s.ScheduledStartTime
	}
	if len(s.Tags) > 0 {
		st.Tags = maps.Clone(s.Tags)
	}
	if hi.end != nil {
		st.Output = hi.end.Result
		st.CompletedTime = hi.end.Timestamp
		if hi.end.FailureDetails != nil {
			fd := *hi.end.FailureDetails
			st.FailureDetails = &fd
		}
	}
	if wi.State != nil && wi.State.ExecutionID == hi.executionID {
		st.CustomStatus = wi.State.CustomStatus
	}
	return st
}
