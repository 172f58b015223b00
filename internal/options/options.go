// Package options holds the settings behind the functional options of
// package bindings (bindings.Option is a func over Settings) and folds a
// call's options into one Settings value for the engine and the durable
// client. Function authors never see it: they only call bindings.WithRetry,
// bindings.WithInstanceID and the other constructors.
package options

import (
	"fmt"
	"strings"
	"time"
)

// Settings are the values the options of one call set. Each option sets
// its field and records itself in Applied, so that Fold can tell a call
// that an option does not apply to it.
type Settings struct {
	Retry                     *Retry
	InstanceID                string
	Version                   string
	StartAt                   time.Time
	Timeout                   time.Duration
	PreserveUnprocessedEvents bool
	ScheduledTime             time.Time
	// Applied records the options applied so far.
	Applied Field
}

// Field names one option, as a bit of a set.
type Field uint8

// The options. A call accepts a set of them (the union of these bits).
const (
	FieldRetry Field = 1 << iota
	FieldInstanceID
	FieldVersion
	FieldStartAt
	FieldTimeout
	FieldPreserveUnprocessedEvents
	FieldScheduledTime
)

// The options each call accepts.
const (
	ForActivity         = FieldRetry | FieldVersion
	ForSubOrchestration = FieldRetry | FieldInstanceID | FieldVersion
	ForWait             = FieldTimeout
	ForContinueAsNew    = FieldPreserveUnprocessedEvents | FieldVersion
	ForStart            = FieldInstanceID | FieldVersion | FieldStartAt
	ForSignal           = FieldScheduledTime
	ForEntityStart      = FieldInstanceID | FieldVersion
)

var fieldNames = [...]string{"WithRetry", "WithInstanceID", "WithVersion", "WithStartAt", "WithTimeout", "PreserveUnprocessedEvents", "WithScheduledTime"}

// String lists the option constructors of the set, e.g. "WithRetry,
// WithTimeout".
func (f Field) String() string {
	var names []string
	for i, n := range fieldNames {
		if f&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

// Fold applies opts (nil entries are skipped) and fails, naming them, when
// some do not apply to call (for example "CallActivity").
func Fold[O ~func(*Settings)](call string, accepts Field, opts []O) (Settings, error) {
	if len(opts) == 0 {
		return Settings{}, nil // the common case, without allocating
	}
	return fold(call, accepts, opts)
}

func fold[O ~func(*Settings)](call string, accepts Field, opts []O) (Settings, error) {
	var s Settings
	for _, o := range opts {
		if o != nil {
			o(&s)
		}
	}
	if extra := s.Applied &^ accepts; extra != 0 {
		return s, fmt.Errorf("%s does not take the option %s (it takes %s)", call, extra, accepts)
	}
	return s, nil
}

// Retry is the engine's copy of a bindings.RetryPolicy, converted when the
// option is made so that the engine never depends on the author type.
type Retry struct {
	MaxAttempts        int
	FirstRetryInterval time.Duration
	BackoffCoefficient float64
	MaxRetryInterval   time.Duration
	RetryTimeout       time.Duration
	Handle             func(err error) bool
}

// Validate reports whether the policy is usable.
func (p Retry) Validate() error {
	if p.MaxAttempts < 1 {
		return fmt.Errorf("RetryPolicy.MaxAttempts must be at least 1, got %d", p.MaxAttempts)
	}
	if p.FirstRetryInterval <= 0 {
		return fmt.Errorf("RetryPolicy.FirstRetryInterval must be positive, got %v", p.FirstRetryInterval)
	}
	if p.BackoffCoefficient < 0 {
		return fmt.Errorf("RetryPolicy.BackoffCoefficient must not be negative, got %v", p.BackoffCoefficient)
	}
	return nil
}
