package engine

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/internal/payload"
	sp "github.com/funchost/funchost/storageprovider"
)

// activityContext is the engine's bindings.ActivityContext.
type activityContext struct {
	context.Context
	instanceID string
	name       string
	input      string
}

var _ bindings.ActivityContext = (*activityContext)(nil)

// InstanceID returns the calling orchestration's instance ID.
func (c *activityContext) InstanceID() string { return c.instanceID }

// Name returns the activity's name.
func (c *activityContext) Name() string { return c.name }

// Input decodes the activity's input into v.
func (c *activityContext) Input(v any) error {
	if err := payload.Unmarshal(c.input, v); err != nil {
		return fmt.Errorf("activity %s (instance %s): decoding input: %w", c.name, c.instanceID, err)
	}
	return nil
}

// runActivity executes the activity a TaskScheduled message asks for and
// returns the TaskCompleted or TaskFailed event for the orchestration. A
// returned error becomes TaskFailed with its message and %T; a panic
// becomes TaskFailed with the stack in Details.
func runActivity(ctx context.Context, act bindings.Activity, msg *sp.TaskMessage) *sp.HistoryEvent {
	ev := msg.Event
	if act == nil {
		return taskFailed(ev, &sp.FailureDetails{ErrorType: "ActivityNotFound",
			ErrorMessage: fmt.Sprintf("activity function '%s' is not registered with this worker", ev.Name)})
	}
	ac := &activityContext{Context: ctx, instanceID: msg.Target.InstanceID, name: ev.Name, input: ev.Input}
	out, err, fd := func() (out any, err error, fd *sp.FailureDetails) {
		defer func() {
			if r := recover(); r != nil {
				fd = &sp.FailureDetails{ErrorType: "panic", ErrorMessage: fmt.Sprintf("activity '%s' panicked: %v", ev.Name, r), StackTrace: string(debug.Stack())}
			}
		}()
		out, err = act(ac)
		return out, err, nil
	}()
	if fd != nil {
		return taskFailed(ev, fd)
	}
	if err != nil {
		return taskFailed(ev, &sp.FailureDetails{ErrorType: fmt.Sprintf("%T", err), ErrorMessage: err.Error()})
	}
	res, err := payload.Marshal(out)
	if err != nil {
		return taskFailed(ev, &sp.FailureDetails{ErrorType: fmt.Sprintf("%T", err), ErrorMessage: fmt.Sprintf("activity '%s': serialising the result: %v", ev.Name, err)})
	}
	return &sp.HistoryEvent{EventType: sp.EventTaskCompleted, EventID: -1, Timestamp: truncateTicks(nowFunc()), TaskScheduledID: ev.EventID, Result: res}
}

func taskFailed(scheduled *sp.HistoryEvent, fd *sp.FailureDetails) *sp.HistoryEvent {
	return &sp.HistoryEvent{EventType: sp.EventTaskFailed, EventID: -1, Timestamp: truncateTicks(nowFunc()),
		TaskScheduledID: scheduled.EventID, Reason: fd.ErrorMessage, Details: fd.StackTrace, FailureDetails: fd}
}
