package bindings

import (
	"context"
	"fmt"
)

// Activity is the Go shape of an activityTrigger function. Its result is
// serialised to JSON; a returned error (or a panic) fails the task, and the
// orchestrator sees a *TaskFailedError.
type Activity func(ctx ActivityContext) (any, error)

// ActivityContext is an activity's view of its invocation. Activities may do
// any I/O; the embedded context.Context is cancelled when the host shuts
// down.
type ActivityContext interface {
	context.Context
	// InstanceID returns the ID of the orchestration that called the
	// activity.
	InstanceID() string
	// Name returns the activity function's name.
	Name() string
	// Input decodes the activity's JSON input into v.
	Input(v any) error
}

// TypedActivity adapts a function with a typed input and output to an
// Activity.
func TypedActivity[In, Out any](f func(ctx context.Context, in In) (Out, error)) Activity {
	return func(ctx ActivityContext) (any, error) {
		var in In
		if err := ctx.Input(&in); err != nil {
			return nil, fmt.Errorf("activity %s: decoding input: %w", ctx.Name(), err)
		}
		return f(ctx, in)
	}
}
