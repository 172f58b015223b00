package telemetry

import (
	"fmt"
	"log/slog"

	"github.com/funchost/funchost/host/engine"
	sp "github.com/funchost/funchost/storageprovider"
)

// Entity lifecycle lines: Durable Functions' entity templates (operation
// completed / failed, state created / deleted, lock granted / released).
// An entity's instanceId is "@name@key" and its functionName the entity
// name. An orchestration's request to an entity is logged as the entity's
// "scheduled" line with the orchestrator's name as Reason, a client's
// signal with Reason "EntitySignal:<operation>".

// entityRequestLine turns an orchestration's EventSent to an entity into
// the entity's scheduled event.
func entityRequestLine(ev engine.LifecycleEvent) engine.LifecycleEvent {
	return engine.LifecycleEvent{Kind: engine.Scheduled, Type: engine.Entity, InstanceID: ev.TargetInstanceID, Name: ev.Name,
		Hub: ev.Hub, Reason: ev.Reason, TaskEventID: -1, RuntimeStatus: sp.StatusPending, Time: ev.Time}
}

// renderEntity renders the entity-specific templates; ok is false for
// kinds that use the common ones.
func (l *lifecycleLogs) renderEntity(ev engine.LifecycleEvent) (level slog.Level, msg string, attrs []slog.Attr, ok bool) {
	st := stateOf(ev.Kind)
	op, id := slog.String("operationName", ev.Operation), slog.String("operationId", ev.OperationID)
	ms := float64(ev.Duration.Microseconds()) / 1000
	dur := fmt.Sprintf("%.2f", ms)
	replay := slog.Bool("isReplay", ev.IsReplay)
	switch ev.Kind {
	case engine.Completed:
		in, out := l.payload(ev.Input), l.payload(ev.Output)
		return slog.LevelInfo, fmt.Sprintf(" completed '%s' operation %s in %sms. IsReplay: %s. Input: %s. Output: %s.",
				ev.Operation, ev.OperationID, dur, dotnetBool(ev.IsReplay), in, out),
			[]slog.Attr{op, id, slog.Float64("duration", ms), replay, slog.String("input", in), slog.String("output", out)}, true
	case engine.Failed:
		in, exc := l.payload(ev.Input), l.failure(ev.Failure)
		return slog.LevelError, fmt.Sprintf(" failed '%s' operation %s after %sms with exception %s. Input: %s. IsReplay: %s.",
				ev.Operation, ev.OperationID, dur, exc, in, dotnetBool(ev.IsReplay)),
			[]slog.Attr{op, id, slog.Float64("duration", ms), slog.String("exception", exc), slog.String("input", in), replay}, true
	case engine.EntityStateCreated:
		return slog.LevelInfo, fmt.Sprintf(" created entity state in '%s' operation %s. State: %s.", ev.Operation, ev.OperationID, st),
			[]slog.Attr{op, id}, true
	case engine.EntityStateDeleted:
		return slog.LevelInfo, fmt.Sprintf(" deleted entity state in '%s' operation %s. State: %s.", ev.Operation, ev.OperationID, st),
			[]slog.Attr{op, id}, true
	case engine.LockAcquired:
		return slog.LevelInfo, fmt.Sprintf(" granted lock to request %s by instance %s, execution %s. State: %s.",
				ev.OperationID, ev.RequesterInstanceID, ev.RequesterExecutionID, st),
			[]slog.Attr{slog.String("requestId", ev.OperationID), slog.String("requestingInstanceId", ev.RequesterInstanceID),
				slog.String("requestingExecutionId", ev.RequesterExecutionID)}, true
	case engine.EntityBatch:
		return l.entityBatchLine(ev, st)
	case engine.LockReleased:
		return slog.LevelInfo, fmt.Sprintf(" released lock held by request %s by instance %s. State: %s.", ev.OperationID, ev.RequesterInstanceID, st),
			[]slog.Attr{slog.String("requestId", ev.OperationID), slog.String("requestingInstance", ev.RequesterInstanceID)}, true
	}
	return 0, "", nil, false
}

// entityBatchLine is Durable Functions' per-batch line. funchost keeps no
// message sorter (requests run in arrival order), so OutOfOrderMessages,
// Sources and Destinations are 0, and it has no trace flags ("").
func (l *lifecycleLogs) entityBatchLine(ev engine.LifecycleEvent, st string) (slog.Level, string, []slog.Attr, bool) {
	b := ev.Batch
	if b == nil {
		b = &engine.EntityBatchStats{}
	}
	msg := fmt.Sprintf(" received %d events and processed %d/%d entity operations. OutOfOrderMessages: 0. QueuedMessages: %d. "+
		"UserStateSize: %d. Sources: 0. Destinations: 0. LockedBy: %s. Suspended: %s. TraceFlags: . State: %s.",
		b.EventsReceived, b.OperationsExecuted, b.OperationsInBatch, b.QueuedMessages, b.UserStateSize, b.LockedBy, dotnetBool(b.Suspended), st)
	return slog.LevelInfo, msg, []slog.Attr{slog.Int("eventsReceived", b.EventsReceived), slog.Int("operationsExecuted", b.OperationsExecuted),
		slog.Int("operationsInBatch", b.OperationsInBatch), slog.Int("outOfOrderMessages", 0), slog.Int("queuedMessages", b.QueuedMessages),
		slog.Int("userStateSize", b.UserStateSize), slog.Int("sources", 0), slog.Int("destinations", 0), slog.String("lockedBy", b.LockedBy),
		slog.Bool("suspended", b.Suspended), slog.String("traceFlags", "")}, true
}
