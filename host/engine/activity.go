package engine

import (
	"context"
	"fmt"
	"time"

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
func runActivity(ctx context.Context, act bindings.Activity, msg *sp.TaskMessage, c clock) *sp.HistoryEvent {
	ev := msg.Event
	if act == nil {
		return sp.NewTaskFailedEvent(c.now(), ev.EventID, &sp.FailureDetails{ErrorType: "ActivityNotFound",
			ErrorMessage: fmt.Sprintf("activity function '%s' is not registered with this worker", ev.Name)})
	}
	ac := &activityContext{Context: ctx, instanceID: msg.Target.InstanceID, name: ev.Name, input: ev.Input}
	what := fmt.Sprintf("activity '%s'", ev.Name)
	var out any
	var err error
	if fd := runUser(what, func() { out, err = act(ac) }); fd != nil {
		return sp.NewTaskFailedEvent(c.now(), ev.EventID, fd)
	}
	if err != nil {
		return sp.NewTaskFailedEvent(c.now(), ev.EventID, errorFailure(what, err))
	}
	res, err := marshalUser(what+" result's MarshalJSON", out)
	if err != nil {
		return sp.NewTaskFailedEvent(c.now(), ev.EventID, &sp.FailureDetails{ErrorType: fmt.Sprintf("%T", err),
			ErrorMessage: fmt.Sprintf("activity '%s': serialising the result: %v", ev.Name, err)})
	}
	return sp.NewTaskCompletedEvent(c.now(), ev.EventID, res)
}

func (w *Worker) activityLoop(ctx context.Context) {
	fetchLoop(ctx, w, "an activity", w.hub.LockNextActivityWorkItem, w.processActivity)
}

// processActivity runs one activity work item: it waits for a slot of the
// worker-wide activity semaphore (renewing the item's lock meanwhile), runs
// the activity and completes the item with the result.
func (w *Worker) processActivity(ctx context.Context, wi *sp.ActivityWorkItem) {
	msg := wi.Message
	if msg == nil || msg.Event == nil || msg.Event.EventType != sp.EventTaskScheduled {
		w.log.Error("dropping a malformed activity work item")
		_ = w.hub.CompleteActivityWorkItem(ctx, wi, nil)
		return
	}
	var res *sp.HistoryEvent
	if max := w.opts.MaxDequeueCount; max > 0 && wi.DequeueCount > max {
		res = sp.NewTaskFailedEvent(w.clock.now(), msg.Event.EventID, &sp.FailureDetails{ErrorType: "PoisonMessage", IsNonRetriable: true, ErrorMessage: fmt.Sprintf(
			"activity '%s' was delivered %d times (more than MaxDequeueCount %d) without completing", msg.Event.Name, wi.DequeueCount, max)})
	} else {
		act, _ := lookupFold(w.reg.Activities, msg.Event.Name)
		stopRenew := renewLoop(ctx, wi.LockedUntil, func(ctx context.Context) error { return w.hub.RenewActivityWorkItem(ctx, wi) },
			func() time.Time { return wi.LockedUntil }, nil)
		if !w.acquireSlot(w.stopping) {
			stopRenew()
			// Stopping before it could run: leave it to the next worker.
			if err := w.hub.AbandonActivityWorkItem(ctx, wi, 0); err != nil {
				w.log.Warn("abandoning an activity work item failed", "activity", msg.Event.Name, "error", err)
			}
			return
		}
		res = w.runActivity(w.actCtx, act, msg, false)
		w.releaseSlot()
		stopRenew()
		if res.EventType == sp.EventTaskFailed && w.actCtx.Err() != nil {
			// Failed during shutdown: run it again later rather than
			// report a failure the shutdown caused.
			if err := w.hub.AbandonActivityWorkItem(ctx, wi, 0); err != nil {
				w.log.Warn("abandoning an activity work item failed", "activity", msg.Event.Name, "error", err)
			}
			return
		}
	}
	out := &sp.TaskMessage{Event: res, Target: msg.Target}
	if err := w.hub.CompleteActivityWorkItem(ctx, wi, out); err != nil {
		w.log.Warn("completing an activity work item failed", "activity", msg.Event.Name, "instanceId", msg.Target.InstanceID, "error", err)
	}
}
