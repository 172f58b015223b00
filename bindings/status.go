package bindings

// RuntimeStatus is an orchestration instance's runtime status, as a
// DurableClient reports it. The values are numbered as Durable Functions'
// OrchestrationRuntimeStatus.
type RuntimeStatus int

// Runtime statuses.
const (
	StatusRunning        RuntimeStatus = 0
	StatusCompleted      RuntimeStatus = 1
	StatusContinuedAsNew RuntimeStatus = 2
	StatusFailed         RuntimeStatus = 3
	StatusCanceled       RuntimeStatus = 4
	StatusTerminated     RuntimeStatus = 5
	StatusPending        RuntimeStatus = 6
	StatusSuspended      RuntimeStatus = 7
)

var statusNames = [...]string{
	"Running", "Completed", "ContinuedAsNew", "Failed", "Canceled", "Terminated", "Pending", "Suspended",
}

// String returns the status name the HTTP API uses ("Running",
// "Completed", …), or "Unknown".
func (s RuntimeStatus) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "Unknown"
}

// IsTerminal reports whether the status is final: Completed, Failed,
// Terminated or Canceled. An instance ID in a terminal status may be
// started again.
func (s RuntimeStatus) IsTerminal() bool {
	switch s {
	case StatusCompleted, StatusFailed, StatusTerminated, StatusCanceled:
		return true
	}
	return false
}
