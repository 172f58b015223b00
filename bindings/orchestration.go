package bindings

import (
	"fmt"
	"log/slog"
	"time"
)

// Orchestrator is the Go shape of an orchestrationTrigger function. Its
// result is serialised to JSON as the orchestration's output; a returned
// error fails the orchestration.
type Orchestrator func(ctx OrchestrationContext) (any, error)

// OrchestrationContext is an orchestrator's view of its instance. Every
// method is deterministic under replay: an orchestrator that calls only
// these (and pure Go) produces the same decisions each time it is replayed.
//
// The methods that schedule work return a Task at once; Await blocks the
// orchestrator until the task completes. An OrchestrationContext must only be
// used from the orchestrator's own goroutine.
type OrchestrationContext interface {
	// InstanceID returns the orchestration's instance ID.
	InstanceID() string
	// Name returns the orchestrator function's name.
	Name() string
	// Version returns the instance's orchestration version: the one it was
	// started with (host.json defaultVersion, or WithVersion), kept across
	// ContinueAsNew; "" for an instance started without one. It never
	// changes while the instance runs, so branching on it is replay-safe:
	// old instances keep the old path, new ones take the new one
	// (CompareVersions orders versions; docs/versioning.md).
	Version() string
	// Input decodes the orchestration's JSON input into v.
	Input(v any) error
	// IsReplaying reports whether the orchestrator is re-running decisions
	// already recorded in history.
	IsReplaying() bool
	// CurrentUTCDateTime returns the deterministic current time: the
	// timestamp of the episode being replayed, truncated to 100 ns.
	CurrentUTCDateTime() time.Time
	// NewGUID returns a deterministic name-based (version 5) UUID, as
	// Durable Functions computes it.
	NewGUID() string
	// Logger returns a logger that is silent while IsReplaying is true.
	Logger() *slog.Logger
	// SetCustomStatus sets a JSON-serialisable value readers see as the
	// instance's customStatus.
	SetCustomStatus(v any)

	// CallActivity schedules an activity. It takes the options WithRetry
	// and WithVersion.
	CallActivity(name string, input any, opts ...Option) Task
	// CallSubOrchestrator starts a sub-orchestration and completes with its
	// output. It takes the options WithRetry, WithInstanceID and
	// WithVersion; without WithInstanceID the child's ID is derived
	// deterministically.
	CallSubOrchestrator(name string, input any, opts ...Option) Task
	// CreateTimer completes at fireAt (a durable timer).
	CreateTimer(fireAt time.Time) Task
	// WaitForExternalEvent completes with the payload of an event with
	// that name (case-insensitive); events that arrived earlier are
	// buffered FIFO per name. It takes the option WithTimeout, after which
	// the task fails with ErrTimeout if nothing arrived.
	WaitForExternalEvent(name string, opts ...Option) Task
	// SendEvent raises an event on another orchestration instance. Data
	// that cannot be serialised fails the orchestration.
	SendEvent(instanceID, eventName string, data any)
	// WhenAll completes when every task has completed. Its result is the
	// JSON array of the tasks' results and its error the first error among
	// the tasks, in argument order; the generic WhenAll decodes it.
	WhenAll(tasks ...Task) Task
	// WhenAny completes when one of the tasks completes. Its result is
	// that task's index (the lowest when several already have); the
	// generic WhenAny returns it as an int. The winner's own Await reports
	// its outcome.
	WhenAny(tasks ...Task) Task
	// ContinueAsNew restarts the orchestration with a new input and an
	// empty history once the orchestrator returns; the orchestrator's
	// result is then ignored. It takes the options
	// PreserveUnprocessedEvents and WithVersion. An input that cannot be
	// serialised, or an option it does not take, fails the orchestration.
	ContinueAsNew(input any, opts ...Option)

	// CallEntity runs an operation on a durable entity and completes with
	// its result; a failed operation fails the task with an
	// *EntityOperationError. Inside a critical section only the locked
	// entities may be called, one call per entity at a time.
	CallEntity(id EntityID, operation string, input any) Task
	// SignalEntity sends a one-way operation to an entity; it takes the
	// option WithScheduledTime. Signalling an entity the orchestration holds
	// locked, or an input that cannot be serialised, fails the orchestration.
	SignalEntity(id EntityID, operation string, input any, opts ...Option)
	// LockEntities enters a critical section: the task completes when all
	// the entities are locked for this orchestration (taken in entity-ID
	// order, so orchestrations locking the same entities cannot deadlock).
	// Nested critical sections fail the task; sub-orchestrations cannot be
	// called while it holds locks.
	LockEntities(ids ...EntityID) Task
	// UnlockEntities leaves the critical section. The engine also leaves it
	// when the orchestrator returns.
	UnlockEntities()
	// IsLocked reports whether the orchestration holds locks and which of
	// the locked entities are available (no call to them in flight).
	IsLocked() (bool, []EntityID)
}

// Task is a unit of durable work scheduled by an orchestrator. Tasks of
// one orchestration must not be passed to another; WhenAll and WhenAny
// fail when given such a task, or nil.
type Task interface {
	// Await blocks the orchestrator until the task completes, then decodes
	// its JSON result into out (which may be nil) or returns its error.
	Await(out any) error
	// IsDone reports whether the task has completed.
	IsDone() bool
}

// Await waits for t and returns its result decoded as T.
func Await[T any](t Task) (T, error) {
	var v T
	err := t.Await(&v)
	return v, err
}

// CallActivity calls an activity and returns its result decoded as T.
func CallActivity[T any](ctx OrchestrationContext, name string, input any, opts ...Option) (T, error) {
	return Await[T](ctx.CallActivity(name, input, opts...))
}

// CallSubOrchestrator runs a sub-orchestration and returns its output
// decoded as T.
func CallSubOrchestrator[T any](ctx OrchestrationContext, name string, input any, opts ...Option) (T, error) {
	return Await[T](ctx.CallSubOrchestrator(name, input, opts...))
}

// WaitForExternalEvent waits for the named event and returns its payload
// decoded as T.
func WaitForExternalEvent[T any](ctx OrchestrationContext, name string, opts ...Option) (T, error) {
	return Await[T](ctx.WaitForExternalEvent(name, opts...))
}

// WhenAll waits for every task and returns their results decoded as T, in
// argument order. When a task failed it returns the first error among the
// tasks, in argument order, and no results.
func WhenAll[T any](ctx OrchestrationContext, tasks ...Task) ([]T, error) {
	return Await[[]T](ctx.WhenAll(tasks...))
}

// WhenAny waits until one of the tasks completes and returns its index (the
// lowest when several already have). It does not report the winner's
// outcome: Await the winning task for that.
//
//	approval := ctx.WaitForExternalEvent("Approval")
//	timeout := ctx.CreateTimer(deadline)
//	if i, err := bindings.WhenAny(ctx, approval, timeout); err != nil || i == 1 {
//		// timed out (or the orchestration is being torn down)
//	}
func WhenAny(ctx OrchestrationContext, tasks ...Task) (int, error) {
	return Await[int](ctx.WhenAny(tasks...))
}

// GetInput decodes the orchestration's input as T.
func GetInput[T any](ctx interface{ Input(any) error }) (T, error) {
	var v T
	err := ctx.Input(&v)
	return v, err
}

// TypedOrchestrator adapts a function with a typed input to an
// Orchestrator; the input is decoded from JSON before f runs.
func TypedOrchestrator[In, Out any](f func(ctx OrchestrationContext, in In) (Out, error)) Orchestrator {
	return func(ctx OrchestrationContext) (any, error) {
		var in In
		if err := ctx.Input(&in); err != nil {
			return nil, fmt.Errorf("orchestrator %s: decoding input: %w", ctx.Name(), err)
		}
		return f(ctx, in)
	}
}
