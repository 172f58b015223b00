package bindings

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrTimeout is the error of a WaitForExternalEvent task whose timeout
// fired before the event arrived.
var ErrTimeout = errors.New("timed out waiting for external event")

// Client errors. A DurableClient wraps them with the instance ID or
// function name; test with errors.Is.
var (
	// ErrInstanceExists: StartNew (with WithInstanceID) or Restart found an
	// instance of that ID that is not in a terminal state. Of several
	// racing starters exactly one succeeds; the others get this.
	ErrInstanceExists = errors.New("an orchestration instance with this ID already exists")
	// ErrInstanceNotFound: no instance has that ID.
	ErrInstanceNotFound = errors.New("orchestration instance not found")
	// ErrInvalidInstanceID: the ID is empty, too long, "." or "..", not
	// valid UTF-8, starts with '@' or contains '/', '\', '#', '?' or a
	// control character.
	ErrInvalidInstanceID = errors.New("invalid instance ID")
	// ErrUnknownOrchestrator: no orchestrator function has that name.
	ErrUnknownOrchestrator = errors.New("unknown orchestrator function")
	// ErrInstanceNotRunning: the operation needs a non-terminal instance
	// (raise event, terminate, suspend, resume).
	ErrInstanceNotRunning = errors.New("orchestration instance is not running")
	// ErrInstanceNotFailed: rewind needs a Failed instance.
	ErrInstanceNotFailed = errors.New("orchestration instance is not in the Failed state")
	// ErrInstanceNotTerminal: purging needs a Completed, Failed, Terminated
	// or Canceled instance.
	ErrInstanceNotTerminal = errors.New("orchestration instance is not in a terminal state")
	// ErrStorageUnavailable: the task hub's storage could not be reached or
	// could not serve the call (network error, timeout, 5xx); the
	// operation may not have been stored and may succeed when retried. An
	// HTTP starter should answer 503 with a Retry-After header.
	ErrStorageUnavailable = errors.New("the task hub's storage is unavailable")
)

// MaxInstanceIDLength is the longest valid instance ID.
const MaxInstanceIDLength = 256

// ValidateInstanceID checks an instance ID against Durable Functions' rules.
func ValidateInstanceID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: the instance ID must not be empty", ErrInvalidInstanceID)
	case len(id) > MaxInstanceIDLength:
		return fmt.Errorf("%w: the instance ID is %d characters long; the limit is %d", ErrInvalidInstanceID, len(id), MaxInstanceIDLength)
	case id[0] == '@':
		return fmt.Errorf("%w: %q starts with '@', which is reserved for entities", ErrInvalidInstanceID, id)
	case id == "." || id == "..":
		// URLs resolve them as path segments: /instances/.. is /.
		return fmt.Errorf("%w: %q is a relative path segment in URLs", ErrInvalidInstanceID, id)
	case !utf8.ValidString(id):
		// Azure Storage would store it under another key, where distinct
		// IDs collide.
		return fmt.Errorf("%w: %q is not valid UTF-8", ErrInvalidInstanceID, id)
	}
	for _, r := range id {
		switch {
		case r == '/' || r == '\\' || r == '#' || r == '?':
			return fmt.Errorf("%w: %q contains %q", ErrInvalidInstanceID, id, r)
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return fmt.Errorf("%w: %q contains a control character", ErrInvalidInstanceID, id)
		}
	}
	return nil
}

// TaskFailedError is the error an orchestrator gets from a failed activity
// or sub-orchestration. Use errors.As to inspect it.
type TaskFailedError struct {
	// TaskName is the activity or sub-orchestrator name.
	TaskName string
	// TaskID is the task's action id (its EventId in history).
	TaskID int
	// SubOrchestration is true when the task was a sub-orchestration.
	SubOrchestration bool
	// ErrorType is the failing error's type (for Go errors the %T text, for
	// panics "panic").
	ErrorType string
	// Message is the failing error's message.
	Message string
	// StackTrace holds the stack for panics, when known.
	StackTrace string
}

func (e *TaskFailedError) Error() string {
	kind := "activity"
	if e.SubOrchestration {
		kind = "sub-orchestration"
	}
	return fmt.Sprintf("%s '%s' (task %d) failed: %s", kind, e.TaskName, e.TaskID, e.Message)
}

// NonDeterministicOrchestrationError reports that replaying an
// orchestrator diverged from its recorded history: the code no longer makes
// the decision history holds at SequenceNumber, or makes a different one.
// The orchestration fails with this error.
type NonDeterministicOrchestrationError struct {
	InstanceID string
	// SequenceNumber is the action id at which replay diverged.
	SequenceNumber int
	// HistoryHolds describes the recorded decision, e.g.
	// `TaskScheduled "SayHello"`.
	HistoryHolds string
	// CodeAsked describes what the code did instead, e.g.
	// `CreateTimer`, or "nothing" when the code made no such decision.
	CodeAsked string
	// InstanceVersion and WorkerVersion are the instance's orchestration
	// version and the worker's defaultVersion; the message names them
	// when the worker has a version (versioning is on).
	InstanceVersion, WorkerVersion string
	// Misuse, when set, is code that can never replay the same way
	// rather than a divergence from history — e.g. a context call from a
	// goroutine the orchestrator started; it says what to do instead. The
	// fields above are then unset.
	Misuse string
}

// Error names where replay diverged and then the likely cause and the
// remedy, since the usual reason is a deployment that changed the
// orchestrator under running instances.
func (e *NonDeterministicOrchestrationError) Error() string {
	if e.Misuse != "" {
		return fmt.Sprintf("non-deterministic orchestration %q: %s", e.InstanceID, e.Misuse)
	}
	msg := fmt.Sprintf("non-deterministic orchestration %q: at sequence number %d history holds %s but the code asked for %s. "+
		"Likely cause: the orchestrator code changed while this instance was running; "+
		"version the change (host.json defaultVersion, branch on ctx.Version()) or drain in-flight instances before deploying, "+
		"and check changes against stored histories with the replay checker (docs/versioning.md)",
		e.InstanceID, e.SequenceNumber, e.HistoryHolds, e.CodeAsked)
	if e.WorkerVersion != "" {
		msg += fmt.Sprintf(". Instance version %q, worker version %q", e.InstanceVersion, e.WorkerVersion)
	}
	return msg
}
