package bindings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/funchost/funchost/internal/invocation"
	"github.com/funchost/funchost/internal/iobind"
)

// Timer is the Go shape of a timerTrigger function. A returned error (or a
// panic) is logged; failed timer runs are not retried.
type Timer func(ctx context.Context, info TimerInfo) error

// TimerInfo is what a timer function receives.
type TimerInfo struct {
	Schedule struct {
		AdjustForDST bool
	}
	// ScheduleStatus is the schedule monitor's record before this run; nil
	// when the monitor is off (useMonitor false, or a schedule firing more
	// than once a minute).
	ScheduleStatus *ScheduleStatus
	// IsPastDue is true for the one catch-up run of an occurrence missed
	// while no host ran the timer.
	IsPastDue bool
}

// ScheduleStatus is a timer's last and next occurrence.
type ScheduleStatus struct {
	Last, Next, LastUpdated time.Time
}

// QueueTrigger is the Go shape of a queueTrigger function. A returned
// error (or a panic) fails the attempt: the message is tried again, and
// after maxDequeueCount attempts moved to the "<queue>-poison" queue.
type QueueTrigger func(ctx context.Context, msg QueueMessage) error

// QueueMessage is a queue-triggered function's message.
type QueueMessage struct {
	ID string
	// Body is the message content, Base64-decoded under the default
	// messageEncoding.
	Body []byte
	// DequeueCount is 1 on the first delivery.
	DequeueCount    int64
	InsertionTime   time.Time
	ExpirationTime  time.Time
	NextVisibleTime time.Time
	PopReceipt      string
}

// Text returns the body as text.
func (m QueueMessage) Text() string { return string(m.Body) }

// Decode decodes a JSON body into v.
func (m QueueMessage) Decode(v any) error {
	if err := json.Unmarshal(m.Body, v); err != nil {
		return fmt.Errorf("queue message %s: %w", m.ID, err)
	}
	return nil
}

// Manual is the Go shape of a manualTrigger function, run through the
// admin API (POST /admin/functions/{name} with {"input": …}).
type Manual func(ctx context.Context, input string) error

// ErrNoBinding is returned by the binding accessors when the function
// declares no such binding.
var ErrNoBinding = errors.New("the function declares no such binding")

func values(ctx context.Context, binding string) (iobind.Values, error) {
	v := iobind.From(ctx)
	if v == nil {
		return nil, fmt.Errorf("%w: %q (no storage bindings in this context)", ErrNoBinding, binding)
	}
	return v, nil
}

// AddQueueMessage adds a message to the queue output binding named
// binding (a "queue" binding with direction "out"): strings and []byte as
// they are, other values as JSON. Messages are sent when the function
// succeeds, never when it fails.
func AddQueueMessage(ctx context.Context, binding string, v any) error {
	vals, err := values(ctx, binding)
	if err != nil {
		return err
	}
	return vals.AddQueue(binding, v)
}

// SetBlob sets the content of the blob output binding named binding,
// written (overwriting) when the function succeeds.
func SetBlob(ctx context.Context, binding string, v any) error {
	vals, err := values(ctx, binding)
	if err != nil {
		return err
	}
	return vals.SetBlob(binding, v)
}

// Blob returns the content of the blob input binding named binding, read
// before the function ran; found is false when the blob does not exist.
func Blob(ctx context.Context, binding string) (data []byte, found bool, err error) {
	vals, err := values(ctx, binding)
	if err != nil {
		return nil, false, err
	}
	return vals.Blob(binding)
}

// ClientFrom returns the durable client of the function invocation ctx
// belongs to (any trigger: HTTP, timer, queue, manual, activity): its first
// orchestrationClient/durableClient binding, or nil when it declares none.
func ClientFrom(ctx context.Context) DurableClient {
	inv := invocation.From[DurableClient](ctx)
	if inv == nil || len(inv.Clients) == 0 {
		return nil
	}
	return inv.Clients[0].Client
}
