package engine

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/internal/options"
	"github.com/funchost/funchost/internal/payload"
)

// orchestrationContext is the engine's bindings.OrchestrationContext. It
// is used only from the orchestrator goroutine while it holds control:
// every method but InstanceID and Name (fixed before the orchestrator
// starts) passes enter (guard_goroutine.go) first.
type orchestrationContext struct {
	e      *execution
	logger *slog.Logger
	locks  *criticalSection // entityorch.go
}

var _ bindings.OrchestrationContext = (*orchestrationContext)(nil)

// InstanceID returns the orchestration's instance ID.
func (c *orchestrationContext) InstanceID() string { return c.e.instanceID }

// Name returns the orchestrator function's name.
func (c *orchestrationContext) Name() string { return c.e.name }

// Version returns the orchestration version the execution started with.
func (c *orchestrationContext) Version() string {
	if c.e.started == nil {
		return ""
	}
	return c.e.started.Version
}

// Input decodes the orchestration's input into v.
func (c *orchestrationContext) Input(v any) error {
	if err := c.e.enter("Input"); err != nil {
		return err
	}
	if err := payload.Unmarshal(c.e.started.Input, v); err != nil {
		return fmt.Errorf("orchestration %s: decoding input: %w", c.e.instanceID, err)
	}
	return nil
}

// IsReplaying reports whether the code is re-running recorded decisions.
func (c *orchestrationContext) IsReplaying() bool {
	if c.e.enter("IsReplaying") != nil {
		return false
	}
	return c.e.replaying
}

// CurrentUTCDateTime returns the timestamp of the current episode.
func (c *orchestrationContext) CurrentUTCDateTime() time.Time {
	if c.e.enter("CurrentUTCDateTime") != nil {
		return time.Time{}
	}
	return c.e.now
}

// NewGUID returns the next deterministic version-5 UUID.
func (c *orchestrationContext) NewGUID() string {
	if c.e.enter("NewGUID") != nil {
		return ""
	}
	return c.e.newGUID()
}

func (e *execution) newGUID() string {
	g := DeterministicGUID(e.instanceID, e.now, e.guidCounter)
	e.guidCounter++
	return g
}

// Logger returns a logger that stays silent while replaying.
func (c *orchestrationContext) Logger() *slog.Logger {
	if c.e.enter("Logger") != nil {
		return slog.New(discardHandler{})
	}
	if c.logger == nil {
		c.logger = slog.New(&replaySafeHandler{inner: c.e.baseLogger.Handler(), e: c.e}).
			With("instanceId", c.e.instanceID, "orchestrator", c.e.name)
		if v := c.Version(); v != "" {
			c.logger = c.logger.With("version", v)
		}
	}
	return c.logger
}

// SetCustomStatus records v as the instance's custom status.
func (c *orchestrationContext) SetCustomStatus(v any) {
	if c.e.enter("SetCustomStatus") != nil {
		return
	}
	s, err := payload.Marshal(v)
	if err != nil {
		s, _ = payload.Marshal(fmt.Sprintf("unserialisable custom status: %v", err))
	}
	c.e.customStatus = s
}

// CallActivity schedules an activity, with retries when asked.
func (c *orchestrationContext) CallActivity(name string, input any, opts ...bindings.Option) bindings.Task {
	if err := c.e.enter("CallActivity"); err != nil {
		return c.e.failedTask(err)
	}
	o, err := options.Fold("CallActivity", options.ForActivity, opts)
	if err != nil {
		return c.e.failedTask(fmt.Errorf("activity %s: %w", name, err))
	}
	in, err := payload.Marshal(input)
	if err != nil {
		return c.e.failedTask(fmt.Errorf("activity %s: serialising the input: %w", name, err))
	}
	if err := c.e.countAction(); err != nil {
		return c.e.failedTask(fmt.Errorf("activity %s: %w", name, err))
	}
	a := action{kind: kindActivity, name: name, version: o.Version, input: in}
	if o.Retry == nil {
		return c.e.scheduleCopy(a, nil)
	}
	return c.e.withRetry(*o.Retry, func(tags map[string]string) *task { return c.e.scheduleCopy(a, tags) })
}

// CallSubOrchestrator starts a sub-orchestration, with retries when asked.
// Without an explicit instance ID each attempt's child ID is the engine's
// stable ID for the attempt's action (it still takes its NewGUID, so the
// author's later NewGUID values are those Durable Functions would give).
func (c *orchestrationContext) CallSubOrchestrator(name string, input any, opts ...bindings.Option) bindings.Task {
	if err := c.e.enter("CallSubOrchestrator"); err != nil {
		return c.e.failedTask(err)
	}
	o, err := options.Fold("CallSubOrchestrator", options.ForSubOrchestration, opts)
	if err != nil {
		return c.e.failedTask(fmt.Errorf("sub-orchestration %s: %w", name, err))
	}
	if c.locks != nil {
		return c.e.failedTask(fmt.Errorf("sub-orchestration %s: %w", name, errLockedSubOrch))
	}
	in, err := payload.Marshal(input)
	if err != nil {
		return c.e.failedTask(fmt.Errorf("sub-orchestration %s: serialising the input: %w", name, err))
	}
	if o.InstanceID != "" {
		if err := bindings.ValidateInstanceID(o.InstanceID); err != nil {
			return c.e.failedTask(fmt.Errorf("sub-orchestration %s: %w", name, err))
		}
	}
	if err := c.e.countAction(); err != nil {
		return c.e.failedTask(fmt.Errorf("sub-orchestration %s: %w", name, err))
	}
	a := action{kind: kindSubOrchestration, name: name, version: o.Version, input: in, instanceID: o.InstanceID}
	if o.Applied&options.FieldVersion == 0 {
		a.version = c.e.defaultVersion // the creating worker's, as in Durable Functions
	}
	attempt := func(tags map[string]string) *task {
		b := a
		if b.instanceID == "" {
			c.e.newGUID()
			b.instanceID = strings.ReplaceAll(stableGUID(c.e.instanceID, c.e.executionID, c.e.nextID), "-", "")
			b.derivedID = true
		}
		return c.e.scheduleCopy(b, tags)
	}
	if o.Retry == nil {
		return attempt(nil)
	}
	return c.e.withRetry(*o.Retry, attempt)
}

// CreateTimer creates a durable timer.
func (c *orchestrationContext) CreateTimer(fireAt time.Time) bindings.Task {
	if err := c.e.enter("CreateTimer"); err != nil {
		return c.e.failedTask(err)
	}
	if err := c.e.countAction(); err != nil {
		return c.e.failedTask(fmt.Errorf("CreateTimer: %w", err))
	}
	return c.e.scheduleTimer(fireAt, nil)
}

// WaitForExternalEvent waits for an event by name (case-insensitive),
// taking the oldest buffered one first. With a timeout, a durable timer
// (created first, as Durable Functions does) fails the wait with
// bindings.ErrTimeout.
func (c *orchestrationContext) WaitForExternalEvent(name string, opts ...bindings.Option) bindings.Task {
	e := c.e
	if err := e.enter("WaitForExternalEvent"); err != nil {
		return e.failedTask(err)
	}
	o, err := options.Fold("WaitForExternalEvent", options.ForWait, opts)
	if err != nil {
		return e.failedTask(fmt.Errorf("waiting for external event %q: %w", name, err))
	}
	var timer *task
	if o.Timeout > 0 {
		if err := e.countAction(); err != nil {
			return e.failedTask(fmt.Errorf("waiting for external event %q: %w", name, err))
		}
		timer = e.scheduleTimer(e.now.Add(o.Timeout), nil)
	}
	key := strings.ToLower(name)
	w := e.newTask()
	if ev, ok := e.takeBuffered(key); ok {
		w.complete(ev.Input, nil)
		return w
	}
	e.waiters[key] = append(e.waiters[key], w)
	if e.obs != nil {
		ev := e.orchEvent(Listening)
		ev.Reason = e.listenReason(name)
		e.emit(ev)
	}
	if timer != nil {
		timer.then(func() {
			if !w.done {
				e.removeWaiter(key, w)
				w.complete("", fmt.Errorf("waiting for external event %q: %w", name, bindings.ErrTimeout))
			}
		})
	}
	return w
}

// SendEvent raises an event on another instance. Misuse (no target, no
// event name, data that cannot be serialised) fails the orchestration.
func (c *orchestrationContext) SendEvent(instanceID, eventName string, data any) {
	if c.e.enter("SendEvent") != nil {
		return
	}
	switch {
	case instanceID == "":
		c.e.misused(fmt.Errorf("SendEvent %q: the target instance ID must not be empty", eventName))
		return
	case eventName == "":
		c.e.misused(fmt.Errorf("SendEvent to %q: the event name must not be empty", instanceID))
		return
	}
	in, err := payload.Marshal(data)
	if err != nil {
		c.e.misused(fmt.Errorf("SendEvent %q to %q: serialising the data: %w", eventName, instanceID, err))
		return
	}
	if c.e.countAction() != nil {
		return
	}
	c.e.schedule(&action{kind: kindSendEvent, name: eventName, instanceID: instanceID, input: in})
}

// WhenAll completes when all tasks have.
func (c *orchestrationContext) WhenAll(tasks ...bindings.Task) bindings.Task {
	if err := c.e.enter("WhenAll"); err != nil {
		return c.e.failedTask(err)
	}
	return c.e.whenAll(tasks)
}

// WhenAny completes when one task has; Await into *int gives its index.
func (c *orchestrationContext) WhenAny(tasks ...bindings.Task) bindings.Task {
	if err := c.e.enter("WhenAny"); err != nil {
		return c.e.failedTask(err)
	}
	return c.e.whenAny(tasks)
}

// ContinueAsNew restarts the orchestration with input once it returns.
// An input that cannot be serialised, or a wrong option, fails the
// orchestration.
func (c *orchestrationContext) ContinueAsNew(input any, opts ...bindings.Option) {
	if c.e.enter("ContinueAsNew") != nil {
		return
	}
	o, err := options.Fold("ContinueAsNew", options.ForContinueAsNew, opts)
	if err != nil {
		c.e.misused(err)
		return
	}
	in, err := payload.Marshal(input)
	if err != nil {
		c.e.misused(fmt.Errorf("ContinueAsNew: serialising the input: %w", err))
		return
	}
	c.e.can = &continueAsNew{input: in, preserveEvents: o.PreserveUnprocessedEvents, version: o.Version}
}
