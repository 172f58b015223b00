package bindings

import (
	"time"

	"github.com/funchost/funchost/internal/options"
)

// Option adjusts one call. Every option says which calls take it:
// CallActivity, CallSubOrchestrator, WaitForExternalEvent, ContinueAsNew
// and DurableClient.StartNew. A call given an option it does not take
// fails: the orchestrator's Task fails (ContinueAsNew fails the
// orchestration), and StartNew returns the error.
type Option func(*options.Settings)

// WithRetry retries a failed CallActivity or CallSubOrchestrator according
// to p, with durable timers between attempts. An invalid policy fails the
// call's Task.
func WithRetry(p RetryPolicy) Option {
	r := p.settings()
	return func(s *options.Settings) { s.Retry, s.Applied = &r, s.Applied|options.FieldRetry }
}

// WithInstanceID sets the instance ID of a sub-orchestration
// (CallSubOrchestrator) or of a new instance (DurableClient.StartNew).
// Without it the ID is derived deterministically (sub-orchestrations) or
// random (StartNew).
func WithInstanceID(id string) Option {
	return func(s *options.Settings) { s.InstanceID, s.Applied = id, s.Applied|options.FieldInstanceID }
}

// WithVersion sets the version recorded for a call: the activity's or
// sub-orchestration's (CallActivity, CallSubOrchestrator), the next
// generation's (ContinueAsNew) or a new instance's (StartNew).
func WithVersion(v string) Option {
	return func(s *options.Settings) { s.Version, s.Applied = v, s.Applied|options.FieldVersion }
}

// WithStartAt delays a new instance's start until t (DurableClient.StartNew);
// the instance is Pending until then.
func WithStartAt(t time.Time) Option {
	return func(s *options.Settings) { s.StartAt, s.Applied = t, s.Applied|options.FieldStartAt }
}

// WithTimeout fails a WaitForExternalEvent with ErrTimeout when no event
// arrives within d (a durable timer, created before the wait). d ≤ 0 means
// no timeout.
func WithTimeout(d time.Duration) Option {
	return func(s *options.Settings) { s.Timeout, s.Applied = d, s.Applied|options.FieldTimeout }
}

// PreserveUnprocessedEvents makes ContinueAsNew carry external events
// that arrived but were not consumed over to the next generation, in
// arrival order. Without it they are dropped.
func PreserveUnprocessedEvents() Option {
	return func(s *options.Settings) {
		s.PreserveUnprocessedEvents, s.Applied = true, s.Applied|options.FieldPreserveUnprocessedEvents
	}
}

// RetryPolicy retries a failed activity or sub-orchestration with durable
// timers between attempts, as Durable Functions' RetryOptions do. Use it
// with WithRetry.
type RetryPolicy struct {
	// MaxAttempts is the total number of attempts, including the first
	// (required, ≥ 1).
	MaxAttempts int
	// FirstRetryInterval is the delay before the second attempt (required,
	// > 0).
	FirstRetryInterval time.Duration
	// BackoffCoefficient multiplies the delay after each attempt (default
	// 1).
	BackoffCoefficient float64
	// MaxRetryInterval caps the delay (default 6 days).
	MaxRetryInterval time.Duration
	// RetryTimeout stops retrying once this much time has passed since the
	// first attempt (0: no limit).
	RetryTimeout time.Duration
	// Handle decides whether an error is worth retrying (nil: all are; a
	// panic in Handle counts as no).
	Handle func(err error) bool
}

// Validate reports whether the policy is usable.
func (p RetryPolicy) Validate() error { return p.settings().Validate() }

func (p RetryPolicy) settings() options.Retry {
	return options.Retry{
		MaxAttempts:        p.MaxAttempts,
		FirstRetryInterval: p.FirstRetryInterval,
		BackoffCoefficient: p.BackoffCoefficient,
		MaxRetryInterval:   p.MaxRetryInterval,
		RetryTimeout:       p.RetryTimeout,
		Handle:             p.Handle,
	}
}
