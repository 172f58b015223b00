package bindings

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// OrchestrationStatus is what a durable client reports about an instance.
type OrchestrationStatus struct {
	Name          string
	InstanceID    string
	RuntimeStatus RuntimeStatus
	// Input, CustomStatus and Output are JSON; nil means null.
	Input           json.RawMessage
	CustomStatus    json.RawMessage
	Output          json.RawMessage
	CreatedTime     time.Time
	LastUpdatedTime time.Time
	// Version is the instance's orchestration version ("" when it has
	// none), so that operators can see which versions are still running.
	Version string
	// History holds the instance's history events in the Durable Functions
	// HTTP API's shape, when requested with ShowHistory.
	History []json.RawMessage
}

// StatusOptions select what GetStatus returns.
type StatusOptions struct {
	ShowHistory       bool
	ShowHistoryOutput bool
	// HideInput omits the input (the HTTP API's showInput=false).
	HideInput bool
}

// InstanceQuery filters ListInstances. Zero values do not filter.
type InstanceQuery struct {
	CreatedTimeFrom   time.Time
	CreatedTimeTo     time.Time
	RuntimeStatus     []RuntimeStatus
	InstanceIDPrefix  string
	PageSize          int
	ContinuationToken string
	ShowInput         bool
}

// InstancePage is one page of ListInstances; ContinuationToken is "" on the
// last page.
type InstancePage struct {
	Instances         []*OrchestrationStatus
	ContinuationToken string
}

// PurgeFilter selects instances for PurgeInstances by creation time and
// status. Zero values do not filter, except CreatedTimeTo, whose zero
// value means now.
type PurgeFilter struct {
	CreatedTimeFrom time.Time
	CreatedTimeTo   time.Time
	RuntimeStatus   []RuntimeStatus
}

// HTTPManagementPayload holds the management URLs of one instance, as
// Durable Functions' CreateHttpManagementPayload returns them.
type HTTPManagementPayload struct {
	ID                    string `json:"id"`
	StatusQueryGetURI     string `json:"statusQueryGetUri"`
	SendEventPostURI      string `json:"sendEventPostUri"`
	TerminatePostURI      string `json:"terminatePostUri"`
	PurgeHistoryDeleteURI string `json:"purgeHistoryDeleteUri"`
	RestartPostURI        string `json:"restartPostUri"`
	SuspendPostURI        string `json:"suspendPostUri"`
	ResumePostURI         string `json:"resumePostUri"`
	RewindPostURI         string `json:"rewindPostUri,omitempty"`
}

// DurableClient starts and manages orchestration instances: the
// orchestrationClient / durableClient binding.
type DurableClient interface {
	// TaskHubName returns the task hub the client addresses.
	TaskHubName() string
	// StartNew starts an orchestration and returns its instance ID. It
	// takes the options WithInstanceID, WithVersion and WithStartAt. With
	// WithInstanceID, an existing non-terminal instance of that ID makes it
	// fail with ErrInstanceExists (atomically: of racing callers exactly
	// one wins); an invalid ID gives ErrInvalidInstanceID and an unknown
	// orchestrator ErrUnknownOrchestrator.
	StartNew(ctx context.Context, orchestrator string, input any, opts ...Option) (string, error)
	// GetStatus returns an instance's status, or ErrInstanceNotFound.
	GetStatus(ctx context.Context, instanceID string, opts StatusOptions) (*OrchestrationStatus, error)
	// ListInstances returns one page of instances matching q.
	ListInstances(ctx context.Context, q InstanceQuery) (*InstancePage, error)
	// RaiseEvent sends an external event to a running instance
	// (ErrInstanceNotFound, ErrInstanceNotRunning).
	RaiseEvent(ctx context.Context, instanceID, eventName string, data any) error
	// Terminate ends a running instance with the given reason.
	Terminate(ctx context.Context, instanceID, reason string) error
	// Suspend pauses a running instance; events are held until Resume.
	Suspend(ctx context.Context, instanceID, reason string) error
	// Resume continues a suspended instance.
	Resume(ctx context.Context, instanceID, reason string) error
	// Rewind re-runs the failed work of a Failed instance
	// (ErrInstanceNotFailed otherwise).
	Rewind(ctx context.Context, instanceID, reason string) error
	// Restart starts the instance's orchestrator again with its original
	// input, under the same ID or a new one, and returns the ID used
	// (ErrInstanceExists when the same ID is not terminal).
	Restart(ctx context.Context, instanceID string, newInstanceID bool) (string, error)
	// PurgeInstance deletes a terminal instance's history and status and
	// returns the number of instances deleted (ErrInstanceNotTerminal,
	// ErrInstanceNotFound).
	PurgeInstance(ctx context.Context, instanceID string) (int, error)
	// PurgeInstances deletes terminal instances matching f.
	PurgeInstances(ctx context.Context, f PurgeFilter) (int, error)
	// CreateHTTPManagementPayload returns the management URLs of an
	// instance, relative to the host's configured base URL.
	CreateHTTPManagementPayload(instanceID string) HTTPManagementPayload
	// CreateCheckStatusResponse writes the 202 check-status response for
	// instanceID, with URLs built from the request's scheme and host.
	CreateCheckStatusResponse(w http.ResponseWriter, r *http.Request, instanceID string) error
	// WaitForCompletionOrCreateCheckStatusResponse waits up to timeout for
	// the instance to finish, polling every pollingInterval: it writes 200
	// with the output when it completes, the status when it fails or is
	// terminated, and the check-status response otherwise.
	WaitForCompletionOrCreateCheckStatusResponse(w http.ResponseWriter, r *http.Request, instanceID string, timeout, pollingInterval time.Duration) error
}
