// Package storageprovider defines the task hub: the one interface the
// durable engine drives to store orchestration state and move messages,
// in the spirit of a database driver. The engine knows only this package;
// providers (storageprovider/memory, storageprovider/azurestorage) implement
// it and never import the engine.
//
// The model is the Durable Task Framework's: every orchestration instance has
// an event-sourced history and a status row; messages for an instance
// (starts, activity results, fired timers, external events, terminate, ...)
// are grouped into orchestration work items, one instance at a time;
// activity invocations are activity work items. The conformance suite in
// storageprovider/conformance states the contract precisely.
//
// Files:
//
//	storageprovider.go  the TaskHub interface, its errors, status rows, work items and checkpoints,
//	                    partitioning and the abandon backoff
//	history.go          event types, statuses, HistoryEvent and TaskMessage (the DTFx data model)
//	events.go           one constructor per history event kind, and Timestamp (100 ns, UTC)
//
// Subpackages: memory and azurestorage implement the interface,
// conformance tests implementations of it, and internal/waitq is the queue
// of blocked Lock* callers both providers share.
package storageprovider

import (
	"context"
	"errors"
	"time"
)

// Errors returned by providers. Callers test them with errors.Is; providers
// wrap them with the instance ID they concern.
var (
	// ErrInstanceExists: CreateInstance found an instance with that ID whose
	// status is not terminal.
	ErrInstanceExists = errors.New("an orchestration instance with this ID already exists")
	// ErrInstanceNotFound: no instance with that ID exists in the task hub.
	ErrInstanceNotFound = errors.New("orchestration instance not found")
	// ErrWorkItemLost: the work item's lock was lost (another worker
	// committed this instance first, the partition moved, or the lock
	// expired). The caller must abandon its in-memory state for the instance;
	// nothing of the failed commit is in history or the status row (messages
	// it sent before the history check may arrive, as duplicates).
	ErrWorkItemLost = errors.New("work item lock lost")
	// ErrTaskHubClosed: the task hub was stopped while the call waited.
	ErrTaskHubClosed = errors.New("task hub stopped")
	// ErrInvalidContinuationToken: QueryOrchestrationStates got a token it
	// did not issue (a client mistake, not a storage failure).
	ErrInvalidContinuationToken = errors.New("invalid continuation token")
)

// OrchestrationState is an instance's status row (the Instances table).
type OrchestrationState struct {
	InstanceID    string
	ExecutionID   string
	Name          string
	Version       string
	RuntimeStatus OrchestrationStatus
	// CreatedTime is the timestamp of the ExecutionStarted event.
	CreatedTime time.Time
	// LastUpdatedTime is when the row last changed.
	LastUpdatedTime time.Time
	// CompletedTime is set when the instance reaches a terminal status.
	CompletedTime time.Time
	// Input, Output and CustomStatus hold JSON text; "" means null. For
	// Failed instances Output is the failure rendered as text, for Terminated
	// ones the reason (both as JSON strings).
	Input        string
	Output       string
	CustomStatus string
	// Generation counts re-creations of the same instance ID (0 first).
	Generation         int
	ScheduledStartTime time.Time
	Tags               map[string]string
	// FailureDetails is set for Failed instances when known.
	FailureDetails *FailureDetails
}

// Clone returns a deep copy of the state.
func (s *OrchestrationState) Clone() *OrchestrationState {
	if s == nil {
		return nil
	}
	c := *s
	if s.Tags != nil {
		c.Tags = make(map[string]string, len(s.Tags))
		for k, v := range s.Tags {
			c.Tags[k] = v
		}
	}
	c.FailureDetails = s.FailureDetails.clone()
	return &c
}

// OrchestrationWorkItem is a batch of new messages for one orchestration
// instance together with that instance's committed history. While a worker
// holds it, no other work item for the same instance is handed out.
type OrchestrationWorkItem struct {
	InstanceID string
	// History is the committed history of the instance's current execution
	// (empty for a new instance). Providers may serve it from a cache of
	// instances they own rather than re-reading storage, and may share it
	// with that cache: engines must treat the events as read-only (they
	// may keep them and append to the slice, which providers hand out
	// clipped so that an append copies).
	History []*HistoryEvent
	// State is the instance's status row as of the last commit, or nil when
	// the provider does not have it at hand.
	State *OrchestrationState
	// NewMessages are the messages to process, in arrival order.
	NewMessages []*TaskMessage
	// DequeueCount is the highest delivery count among NewMessages (1 on the
	// first delivery). Engines use it to fail instances whose messages keep
	// failing (poison messages). Deliveries a worker gave back with
	// Rejecter.RejectOrchestrationWorkItem do not count.
	DequeueCount int
	// Rejections is the highest number of earlier deliveries of one of
	// NewMessages that workers rejected (Rejecter): not failures, so not in
	// DequeueCount, but they still lengthen the back-off.
	Rejections int
	// LockedUntil is when the lock expires unless renewed.
	LockedUntil time.Time
	// ProviderData is the provider's private state for this work item (pop
	// receipts, ETags, ...). Engines must not touch it.
	ProviderData any
}

// OrchestrationCheckpoint is what an engine commits at the end of an
// orchestration work item: new history, the new status row, and the
// messages that the episode produced.
//
// Providers commit it in this order, which is the consistency protocol: send
// OutboundMessages, ActivityMessages and TimerMessages; write history
// (optimistically: fail with ErrWorkItemLost when someone else committed
// since the work item's History was read); write State; delete the work
// item's consumed messages. A crash in between leads to a replay from the
// committed history and duplicate messages, which engines tolerate.
type OrchestrationCheckpoint struct {
	// NewEvents are appended to the work item's History. When
	// ReplaceHistory is set they are instead the complete new history (a
	// ContinueAsNew generation, a re-created instance, or a rewind).
	NewEvents      []*HistoryEvent
	ReplaceHistory bool
	// State is the instance's new status row; nil leaves it unchanged.
	State *OrchestrationState
	// OutboundMessages go to orchestration instances (sub-orchestration
	// starts, events, completion notices to a parent, carried-over events to
	// self). Messages whose Event is ExecutionStarted create the target
	// instance if it does not exist (sub-orchestrations).
	OutboundMessages []*TaskMessage
	// ActivityMessages are TaskScheduled messages for activity workers.
	ActivityMessages []*TaskMessage
	// TimerMessages are TimerFired messages to this instance, delivered no
	// earlier than their Event.FireAt.
	TimerMessages []*TaskMessage
	// KeepSession hints that the engine keeps the instance in memory; the
	// provider may keep its own per-instance state (history, ETag) cached.
	KeepSession bool
}

// ActivityWorkItem is one activity invocation.
type ActivityWorkItem struct {
	// Message carries the TaskScheduled event; Message.Target is the
	// orchestration that scheduled it.
	Message      *TaskMessage
	DequeueCount int
	LockedUntil  time.Time
	// ProviderData is the provider's private state.
	ProviderData any
}

// InstanceQuery filters instance status rows. Zero values do not filter.
type InstanceQuery struct {
	CreatedTimeFrom  time.Time
	CreatedTimeTo    time.Time
	RuntimeStatus    []OrchestrationStatus
	InstanceIDPrefix string
	// PageSize bounds the number of states returned (0: provider default,
	// 100). A page may hold fewer states even when more exist.
	PageSize int
	// ContinuationToken resumes a previous query ("" starts at the
	// beginning).
	ContinuationToken string
	// FetchInputsAndOutputs includes Input and Output; without it providers
	// may leave them empty.
	FetchInputsAndOutputs bool
}

// InstanceQueryResult is one page of an instance query.
type InstanceQueryResult struct {
	States []*OrchestrationState
	// ContinuationToken is "" on the last page.
	ContinuationToken string
}

// PurgeFilter selects instances to purge by creation time and status.
// Only instances in a terminal status are ever purged by filter.
type PurgeFilter struct {
	CreatedTimeFrom time.Time
	CreatedTimeTo   time.Time // zero: now
	RuntimeStatus   []OrchestrationStatus
}

// TaskHub is a durable task hub. All methods are safe for concurrent use.
type TaskHub interface {
	// Name returns the task hub name.
	Name() string
	// CreateIfNotExists creates the hub's storage (tables, queues,
	// containers) when missing.
	CreateIfNotExists(ctx context.Context) error
	// DeleteTaskHub deletes all of the hub's storage.
	DeleteTaskHub(ctx context.Context) error
	// Start begins background work (partition ownership, polling). The
	// Lock* methods may only be called after Start.
	Start(ctx context.Context) error
	// Stop ends background work, releases partitions and unblocks waiting
	// Lock* calls with ErrTaskHubClosed.
	Stop(ctx context.Context) error

	// CreateInstance atomically creates an orchestration instance from an
	// ExecutionStarted message: the instance row (status Pending) and the
	// start message. If an instance with the same ID exists and is not in a
	// terminal status it fails with ErrInstanceExists, and nothing is sent;
	// of several racing callers exactly one succeeds. Reusing the ID of a
	// terminal instance starts a new execution (Generation + 1).
	CreateInstance(ctx context.Context, start *TaskMessage) error
	// SendTaskMessages delivers messages to orchestration instances
	// (external events, terminate, suspend, resume, rewind).
	SendTaskMessages(ctx context.Context, msgs ...*TaskMessage) error
	// GetOrchestrationState returns an instance's status row, or
	// ErrInstanceNotFound.
	GetOrchestrationState(ctx context.Context, instanceID string, fetchInputsAndOutputs bool) (*OrchestrationState, error)
	// GetOrchestrationHistory returns the committed history of the current
	// execution, or ErrInstanceNotFound.
	GetOrchestrationHistory(ctx context.Context, instanceID string) ([]*HistoryEvent, error)
	// QueryOrchestrationStates lists status rows matching q, a page at a
	// time.
	QueryOrchestrationStates(ctx context.Context, q InstanceQuery) (*InstanceQueryResult, error)
	// PurgeInstance deletes an instance's history, status row and blobs,
	// whatever its status, or returns ErrInstanceNotFound.
	PurgeInstance(ctx context.Context, instanceID string) error
	// PurgeInstances deletes the terminal instances matching f and returns
	// how many were deleted.
	PurgeInstances(ctx context.Context, f PurgeFilter) (int, error)

	// LockNextOrchestrationWorkItem blocks until an orchestration work item
	// is available or ctx is done.
	LockNextOrchestrationWorkItem(ctx context.Context) (*OrchestrationWorkItem, error)
	// RenewOrchestrationWorkItem extends the work item's lock.
	RenewOrchestrationWorkItem(ctx context.Context, wi *OrchestrationWorkItem) error
	// CompleteOrchestrationWorkItem commits the checkpoint and releases the
	// work item. ErrWorkItemLost means nothing was committed (messages may
	// have been sent) and the work item is released.
	CompleteOrchestrationWorkItem(ctx context.Context, wi *OrchestrationWorkItem, c *OrchestrationCheckpoint) error
	// AbandonOrchestrationWorkItem releases the work item without
	// committing; its messages are delivered again after retryAfter.
	AbandonOrchestrationWorkItem(ctx context.Context, wi *OrchestrationWorkItem, retryAfter time.Duration) error

	// LockNextActivityWorkItem blocks until an activity work item is
	// available or ctx is done.
	LockNextActivityWorkItem(ctx context.Context) (*ActivityWorkItem, error)
	// RenewActivityWorkItem extends the work item's lock.
	RenewActivityWorkItem(ctx context.Context, wi *ActivityWorkItem) error
	// CompleteActivityWorkItem sends the activity's result (a TaskCompleted
	// or TaskFailed message to the orchestration) and deletes the work item.
	CompleteActivityWorkItem(ctx context.Context, wi *ActivityWorkItem, result *TaskMessage) error
	// AbandonActivityWorkItem releases the work item; it is delivered again
	// after retryAfter.
	AbandonActivityWorkItem(ctx context.Context, wi *ActivityWorkItem, retryAfter time.Duration) error
}

// InstanceOwner is implemented by providers that spread instances over
// hosts (Azure Storage: by partition). Background jobs that any host could
// do for any instance, such as purging by retention, do only the
// instances their host owns, so that hosts share the work. A provider
// that does not implement it owns every instance.
type InstanceOwner interface {
	// OwnsInstance reports whether this host currently processes the
	// instance's work items.
	OwnsInstance(instanceID string) bool
}

// PartitionIndex returns the control-queue partition of an instance:
// FNV-1a (32-bit) over the UTF-8 bytes of the instance ID, modulo count, as
// the Durable Task Framework computes it.
func PartitionIndex(instanceID string, count int) int {
	if count <= 1 {
		return 0
	}
	h := uint32(2166136261)
	for i := 0; i < len(instanceID); i++ {
		h ^= uint32(instanceID[i])
		h *= 16777619
	}
	return int(h % uint32(count))
}

// Rejecter is implemented by task hubs that can give an orchestration work
// item back without counting the delivery toward the poison threshold:
// the engine uses it when orchestration versioning rejects an instance
// (versionFailureStrategy Reject), which may go on for as long as a rolling
// deployment lasts. It is AbandonOrchestrationWorkItem except that the
// next delivery's DequeueCount stays where it was and its Rejections
// grows by one; the messages are neither copied nor lost
// (docs/versioning.md argues this for each provider).
type Rejecter interface {
	RejectOrchestrationWorkItem(ctx context.Context, wi *OrchestrationWorkItem, retryAfter time.Duration) error
}

// AbandonBackoff returns the delay before an abandoned message is delivered
// again: 2^dequeueCount seconds, capped at max (DTFx caps at 10 minutes).
func AbandonBackoff(dequeueCount int, max time.Duration) time.Duration {
	if dequeueCount < 0 {
		dequeueCount = 0
	}
	if dequeueCount > 30 {
		return max
	}
	d := time.Duration(1<<uint(dequeueCount)) * time.Second
	if d > max {
		return max
	}
	return d
}
