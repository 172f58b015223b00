package sampleapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/funchost/funchost/bindings"
)

// HelloSequence calls SayHello for three cities in turn and returns the
// greetings.
func HelloSequence(ctx bindings.OrchestrationContext) (any, error) {
	return sayHelloTo(ctx, []string{"Tokyo", "Seattle", "London"})
}

// HelloCities5 calls SayHello for five cities in turn (the benchmark's
// standard workload).
func HelloCities5(ctx bindings.OrchestrationContext) (any, error) {
	return sayHelloTo(ctx, []string{"Tokyo", "Seattle", "London", "Cairo", "Lima"})
}

func sayHelloTo(ctx bindings.OrchestrationContext, cities []string) ([]string, error) {
	out := make([]string, 0, len(cities))
	for _, city := range cities {
		s, err := bindings.CallActivity[string](ctx, "SayHello", city)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Echo returns its input unchanged.
func Echo(ctx bindings.OrchestrationContext) (any, error) {
	var in json.RawMessage
	if err := ctx.Input(&in); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, nil
	}
	return in, nil
}

// FailAlways fails with an error whose message contains "boom".
func FailAlways(ctx bindings.OrchestrationContext) (any, error) {
	return nil, errors.New("boom: FailAlways always fails")
}

// FanOutFanIn takes n, runs GetValue(1..n) in parallel and returns the sum.
func FanOutFanIn(ctx bindings.OrchestrationContext) (any, error) {
	n, err := bindings.GetInput[int](ctx)
	if err != nil {
		return nil, fmt.Errorf("FanOutFanIn expects a number as input: %w", err)
	}
	tasks := make([]bindings.Task, n)
	for i := range n {
		tasks[i] = ctx.CallActivity("GetValue", i+1)
	}
	values, err := bindings.WhenAll[int](ctx, tasks...)
	if err != nil {
		return nil, err
	}
	sum := 0
	for _, v := range values {
		sum += v
	}
	return sum, nil
}

// WaitForApproval waits for the external event "Approval" and returns its
// payload.
func WaitForApproval(ctx bindings.OrchestrationContext) (any, error) {
	payload, err := bindings.WaitForExternalEvent[json.RawMessage](ctx, "Approval")
	if err != nil {
		return nil, err
	}
	return payload, nil
}

// ApprovalInput configures ApprovalWithTimeout.
type ApprovalInput struct {
	// TimeoutSeconds is how long to wait for approval (default 60).
	TimeoutSeconds float64 `json:"timeoutSeconds"`
}

// ApprovalWithTimeout waits for the "Approval" event or a durable timer,
// whichever comes first, and reports which one won.
func ApprovalWithTimeout(ctx bindings.OrchestrationContext) (any, error) {
	in, err := bindings.GetInput[ApprovalInput](ctx)
	if err != nil {
		return nil, err
	}
	if in.TimeoutSeconds <= 0 {
		in.TimeoutSeconds = 60
	}
	deadline := ctx.CurrentUTCDateTime().Add(time.Duration(in.TimeoutSeconds * float64(time.Second)))
	approval := ctx.WaitForExternalEvent("Approval")
	timer := ctx.CreateTimer(deadline)
	winner, err := bindings.WhenAny(ctx, approval, timer)
	if err != nil {
		return nil, err
	}
	if winner == 1 {
		return map[string]any{"approved": false, "reason": "timed out"}, nil
	}
	payload, err := bindings.Await[json.RawMessage](approval)
	if err != nil {
		return nil, err
	}
	return map[string]any{"approved": true, "payload": payload}, nil
}

// MonitorState is Monitor's input, carried from one generation to the next.
type MonitorState struct {
	// Checks is how many checks have run so far.
	Checks int `json:"checks"`
	// Target is the number of checks after which the condition holds.
	Target int `json:"target"`
	// IntervalMs is the polling interval.
	IntervalMs int `json:"intervalMs"`
}

// Monitor is an eternal orchestration: it checks a condition with an
// activity, sleeps on a durable timer and continues as new until the
// condition holds, then returns the number of checks made.
func Monitor(ctx bindings.OrchestrationContext) (any, error) {
	st, err := bindings.GetInput[MonitorState](ctx)
	if err != nil {
		return nil, err
	}
	if st.IntervalMs <= 0 {
		st.IntervalMs = 1000
	}
	done, err := bindings.CallActivity[bool](ctx, "CheckCondition", st)
	if err != nil {
		return nil, err
	}
	st.Checks++
	if done {
		return st.Checks, nil
	}
	ctx.SetCustomStatus(map[string]int{"checks": st.Checks})
	if err := ctx.CreateTimer(ctx.CurrentUTCDateTime().Add(time.Duration(st.IntervalMs) * time.Millisecond)).Await(nil); err != nil {
		return nil, err
	}
	ctx.ContinueAsNew(st)
	return nil, nil
}

// ParentChild runs HelloSequence as a sub-orchestration and returns its
// output.
func ParentChild(ctx bindings.OrchestrationContext) (any, error) {
	greetings, err := bindings.CallSubOrchestrator[[]string](ctx, "HelloSequence", nil)
	if err != nil {
		return nil, err
	}
	return map[string]any{"child": greetings}, nil
}
