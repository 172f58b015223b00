package engine

import (
	"fmt"
	"log/slog"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// The ExecutionStarted messages of a work item: which execution they
// begin, how a sloppy one is completed, and which ones the instance
// refuses.

// startExecutionID returns the execution a start message begins.
func startExecutionID(m *sp.TaskMessage) string {
	if oi := m.Event.OrchestrationInstance; oi != nil && oi.ExecutionID != "" {
		return oi.ExecutionID
	}
	return m.Target.ExecutionID
}

// normaliseStart copies a start event and fills what a sloppy sender left
// out: the instance, an execution ID, a timestamp.
func normaliseStart(m *sp.TaskMessage, now time.Time) *sp.HistoryEvent {
	ev := m.Event.Clone()
	ev.EventID = -1
	if ev.OrchestrationInstance == nil {
		ev.OrchestrationInstance = &sp.OrchestrationInstance{}
	}
	if ev.OrchestrationInstance.InstanceID == "" {
		ev.OrchestrationInstance.InstanceID = m.Target.InstanceID
	}
	if ev.OrchestrationInstance.ExecutionID == "" {
		ev.OrchestrationInstance.ExecutionID = m.Target.ExecutionID
	}
	if ev.OrchestrationInstance.ExecutionID == "" {
		ev.OrchestrationInstance.ExecutionID = newExecutionID()
	}
	if ev.Timestamp.IsZero() {
		ev.Timestamp = now
	}
	ev.Timestamp = sp.Timestamp(ev.Timestamp)
	return ev
}

// rejectStarts handles the ExecutionStarted messages an instance did not
// take. Redeliveries of the start of the execution holding the ID, and
// starts re-sent by the parent call that started it (an episode re-run
// after a crash before its commit), are duplicates and dropped. A
// sub-orchestration start from any other caller would leave that caller
// waiting forever for a child that never runs: it gets a
// SubOrchestrationInstanceFailed instead, as Durable Functions fails a
// sub-orchestration call whose instance ID is in use.
func rejectStarts(dropped []*sp.TaskMessage, holder *sp.HistoryEvent, instanceID string, now time.Time, log *slog.Logger) []*sp.TaskMessage {
	var out []*sp.TaskMessage
	for _, m := range dropped {
		ev := m.Event
		pi := ev.ParentInstance
		if holder == nil || pi == nil || pi.OrchestrationInstance == nil || pi.OrchestrationInstance.InstanceID == "" ||
			(holder.OrchestrationInstance != nil && startExecutionID(m) == holder.OrchestrationInstance.ExecutionID) ||
			sameParentCall(pi, holder.ParentInstance) {
			log.Debug("dropping duplicate ExecutionStarted", "instanceId", instanceID)
			continue
		}
		fd := &sp.FailureDetails{ErrorType: "OrchestrationAlreadyExists", IsNonRetriable: true, ErrorMessage: fmt.Sprintf(
			"sub-orchestration '%s' cannot start: an orchestration with instance ID '%s' ('%s') is already running",
			ev.Name, instanceID, holder.Name)}
		log.Info("rejecting a sub-orchestration start for a running instance", "instanceId", instanceID,
			"parentInstanceId", pi.OrchestrationInstance.InstanceID)
		out = append(out, &sp.TaskMessage{Target: *pi.OrchestrationInstance,
			Event: sp.NewSubOrchestrationInstanceFailedEvent(now, pi.TaskScheduleID, fd)})
	}
	return out
}

// sameParentCall reports whether two ParentInstance records name the same
// call of the same parent execution.
func sameParentCall(a, b *sp.ParentInstance) bool {
	if a == nil || b == nil || a.OrchestrationInstance == nil || b.OrchestrationInstance == nil {
		return false
	}
	return *a.OrchestrationInstance == *b.OrchestrationInstance && a.TaskScheduleID == b.TaskScheduleID
}
