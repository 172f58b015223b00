package engine

import (
	"fmt"
	"sync/atomic"
	"time"
)

// The action limit (docs/guards.md, "maxOrchestrationActions"): as in
// Durable Functions, an execution whose code makes more actions than
// host.json's maxOrchestrationActions fails with Durable Functions'
// message. Actions are counted per call the code makes — an activity or
// sub-orchestration call (once, however often a retry policy repeats it),
// a timer (CreateTimer, a WaitForExternalEvent timeout), an event sent —
// from the start of the execution: replayed calls count, so the limit
// bounds one execution's history, and a ContinueAsNew starts from zero.

// DefaultMaxOrchestrationActions is Durable Functions' default for
// host.json maxOrchestrationActions, used when
// Options.MaxOrchestrationActions is 0.
const DefaultMaxOrchestrationActions = 100000

// DefaultOrchestratorYieldTimeout is the yield timeout when
// Options.OrchestratorYieldTimeout is 0.
const DefaultOrchestratorYieldTimeout = 5 * time.Second

// limits are the guards' settings, the same for every execution of a
// worker; the zero value guards nothing (the engine's own tests).
type limits struct {
	maxActions     int           // 0: no limit
	maxOpenCalls   int           // activity calls scheduled and not completed; 0: no bound
	yieldTimeout   time.Duration // 0: none
	episodeTimeout time.Duration // 0: none
	stuck          *atomic.Int64 // the worker's count of abandoned goroutines
}

// limitsFrom reads the guards' settings from a worker's options.
func limitsFrom(o Options) limits {
	var l limits
	switch {
	case o.MaxOrchestrationActions == 0:
		l.maxActions = DefaultMaxOrchestrationActions
	case o.MaxOrchestrationActions > 0:
		l.maxActions = o.MaxOrchestrationActions
	}
	switch {
	case o.OrchestratorYieldTimeout == 0:
		l.yieldTimeout = DefaultOrchestratorYieldTimeout
	case o.OrchestratorYieldTimeout > 0:
		l.yieldTimeout = o.OrchestratorYieldTimeout
	}
	l.episodeTimeout = max(o.OrchestratorEpisodeTimeout, 0)
	l.maxOpenCalls = max(o.MaxOpenActivityCalls, 0)
	return l
}

// actionLimitError is the failure of an execution over its action limit.
type actionLimitError struct{ max int }

func (e *actionLimitError) Error() string {
	return fmt.Sprintf("Maximum amount of orchestration actions (%d) has been reached. This value can be configured in host.json file as MaxOrchestrationActions.", e.max)
}

// ErrorType is the failure's type as Durable Functions reports it.
func (e *actionLimitError) ErrorType() string { return "InvalidOperationException" }

// countAction counts one action of the code. Past the limit it returns the
// error (for the call's task) and records it as a misuse, so the
// orchestration fails as soon as the code yields, whatever it does with
// the error.
func (e *execution) countAction() error {
	max := e.lim.maxActions
	if max <= 0 {
		return nil
	}
	if e.actions >= max {
		err := &actionLimitError{max: max}
		e.misused(err)
		return err
	}
	e.actions++
	return nil
}

// misuseType is the ErrorType a misuse fails the orchestration with: its
// own when it names one, else its Go type.
func misuseType(err error) string {
	if t, ok := err.(interface{ ErrorType() string }); ok {
		return t.ErrorType()
	}
	return fmt.Sprintf("%T", err)
}
