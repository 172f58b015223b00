// Package invoke runs one function invocation the way the Functions
// host does for every trigger: "Executing 'Functions.<Name>' (Reason=…,
// Id=…)" and "Executed 'Functions.<Name>' (Succeeded|Failed, Id=…,
// Duration=…ms)" logs, a panic turned into a failure, and functionTimeout
// with the host's wording. HTTP, timer, queue and admin invocations use
// it, so they all log and time out alike.
package invoke

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/funchost/funchost/internal/timespan"
)

// Reasons the Functions host logs per trigger.
const (
	// ReasonHostAPI is logged for HTTP and admin-API invocations.
	ReasonHostAPI = "This function was programmatically called via the host APIs."
)

// ReasonTimer is the reason of a timer invocation fired at t.
func ReasonTimer(t time.Time) string {
	return "Timer fired at " + t.Format("2006-01-02T15:04:05.0000000-07:00")
}

// ReasonQueue is the reason of a queue-triggered invocation.
func ReasonQueue(queue string) string {
	return fmt.Sprintf("New queue message detected on '%s'.", queue)
}

// TimeoutError is the failure of an invocation that ran past
// functionTimeout; its text is the host's.
type TimeoutError struct {
	Function string
	Timeout  time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("Timeout value of %s was exceeded by function: Functions.%s", FormatTimeout(e.Timeout), e.Function)
}

// PanicError is the failure of an invocation whose function panicked.
type PanicError struct {
	Value any
	Stack string
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// FormatTimeout writes a timeout as .NET writes a TimeSpan ("00:05:00").
func FormatTimeout(d time.Duration) string { return timespan.Format(d.Round(time.Second)) }

// Invocation describes one run.
type Invocation struct {
	// Function is the function name.
	Function string
	// ID is the invocation ID (default: a new UUID).
	ID string
	// Reason is logged in the Executing line.
	Reason string
	// Timeout bounds the run (functionTimeout; 0 or negative = none). On
	// expiry the run's context is cancelled and Run returns a *TimeoutError
	// at once, even if the function does not return.
	Timeout time.Duration
	Logger  *slog.Logger
}

// Run runs fn as the invocation and returns its error: fn's own, a
// *PanicError, or a *TimeoutError.
func (inv Invocation) Run(ctx context.Context, fn func(ctx context.Context) error) error {
	if inv.ID == "" {
		inv.ID = uuid.NewString()
	}
	log := inv.Logger
	if log == nil {
		log = slog.Default()
	}
	name := "Functions." + inv.Function
	log.Info(fmt.Sprintf("Executing '%s' (Reason='%s', Id=%s)", name, inv.Reason, inv.ID), "function", inv.Function, "invocationId", inv.ID)
	start := time.Now()
	err := inv.run(ctx, log, fn)
	ms := float64(time.Since(start).Microseconds()) / 1000
	if err == nil {
		log.Info(fmt.Sprintf("Executed '%s' (Succeeded, Id=%s, Duration=%.0fms)", name, inv.ID, ms),
			"function", inv.Function, "invocationId", inv.ID, "durationMs", ms)
		return nil
	}
	attrs := []any{"function", inv.Function, "invocationId", inv.ID, "durationMs", ms, "err", err.Error()}
	var pe *PanicError
	if errors.As(err, &pe) {
		attrs = append(attrs, "stack", pe.Stack)
	}
	log.Error(fmt.Sprintf("Executed '%s' (Failed, Id=%s, Duration=%.0fms)", name, inv.ID, ms), attrs...)
	return err
}

func (inv Invocation) run(ctx context.Context, log *slog.Logger, fn func(ctx context.Context) error) error {
	if inv.Timeout <= 0 {
		return protect(ctx, fn)
	}
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- protect(tctx, fn) }()
	timer := time.NewTimer(inv.Timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		log.Error(fmt.Sprintf("Timeout value of %s exceeded by function 'Functions.%s' (Id: '%s'). Initiating cancellation.",
			FormatTimeout(inv.Timeout), inv.Function, inv.ID), "function", inv.Function, "invocationId", inv.ID)
		cancel()
		return &TimeoutError{Function: inv.Function, Timeout: inv.Timeout}
	}
}

// protect calls fn, turning a panic into a *PanicError.
func protect(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: p, Stack: strings.TrimSpace(string(debug.Stack()))}
		}
	}()
	return fn(ctx)
}
