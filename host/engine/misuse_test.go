package engine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
)

// foreignTask is a Task the engine did not create.
type foreignTask struct{}

func (foreignTask) Await(any) error { return nil }
func (foreignTask) IsDone() bool    { return true }

// Misuse that a Task can report fails that Task; the orchestrator sees the
// error and may go on.
func TestMisuseFailsTheTask(t *testing.T) {
	tests := []struct {
		name string
		call func(ctx bindings.OrchestrationContext) error
		want string
	}{
		{"activity option", func(ctx bindings.OrchestrationContext) error {
			return ctx.CallActivity("A", nil, bindings.WithTimeout(time.Second)).Await(nil)
		}, "CallActivity does not take the option WithTimeout"},
		{"sub-orchestration option", func(ctx bindings.OrchestrationContext) error {
			return ctx.CallSubOrchestrator("Child", nil, bindings.PreserveUnprocessedEvents()).Await(nil)
		}, "CallSubOrchestrator does not take the option PreserveUnprocessedEvents"},
		{"wait option", func(ctx bindings.OrchestrationContext) error {
			return ctx.WaitForExternalEvent("E", bindings.WithRetry(bindings.RetryPolicy{MaxAttempts: 1, FirstRetryInterval: time.Second})).Await(nil)
		}, "WaitForExternalEvent does not take the option WithRetry"},
		{"bad retry policy", func(ctx bindings.OrchestrationContext) error {
			return ctx.CallActivity("A", nil, bindings.WithRetry(bindings.RetryPolicy{})).Await(nil)
		}, "MaxAttempts must be at least 1"},
		{"unserialisable input", func(ctx bindings.OrchestrationContext) error {
			return ctx.CallActivity("A", make(chan int)).Await(nil)
		}, "serialising the input"},
		{"WhenAll nil task", func(ctx bindings.OrchestrationContext) error {
			return ctx.WhenAll(ctx.CreateTimer(ctx.CurrentUTCDateTime()), nil).Await(nil)
		}, "WhenAll got a task (argument 1"},
		{"WhenAny foreign task", func(ctx bindings.OrchestrationContext) error {
			_, err := bindings.WhenAny(ctx, foreignTask{})
			return err
		}, "WhenAny got a task (argument 0, engine.foreignTask)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orch := func(ctx bindings.OrchestrationContext) (any, error) {
				err := tt.call(ctx)
				if err == nil {
					return nil, errors.New("the misuse went unreported")
				}
				return err.Error(), nil
			}
			s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, false)
			cp := s.start("Orch", "")
			if cp.State.RuntimeStatus != sp.StatusCompleted || !strings.Contains(cp.State.Output, tt.want) {
				t.Fatalf("state %v output %s (failure %+v), want Completed with an error naming %q",
					cp.State.RuntimeStatus, cp.State.Output, cp.State.FailureDetails, tt.want)
			}
			if n := len(cp.ActivityMessages) + len(cp.OutboundMessages); n != 0 {
				t.Errorf("a refused call sent %d messages", n)
			}
		})
	}
}

// Misuse that no Task can report (SendEvent, ContinueAsNew) fails the
// orchestration with a message naming the call, instead of panicking; the
// decisions of that episode are not sent.
func TestMisuseFailsTheOrchestration(t *testing.T) {
	tests := []struct {
		name string
		call func(ctx bindings.OrchestrationContext)
		want string
	}{
		{"SendEvent unserialisable data", func(ctx bindings.OrchestrationContext) { ctx.SendEvent("peer", "E", make(chan int)) },
			`SendEvent "E" to "peer": serialising the data`},
		{"SendEvent without target", func(ctx bindings.OrchestrationContext) { ctx.SendEvent("", "E", 1) },
			`SendEvent "E": the target instance ID must not be empty`},
		{"SendEvent without event name", func(ctx bindings.OrchestrationContext) { ctx.SendEvent("peer", "", 1) },
			`SendEvent to "peer": the event name must not be empty`},
		{"ContinueAsNew unserialisable input", func(ctx bindings.OrchestrationContext) { ctx.ContinueAsNew(make(chan int)) },
			"ContinueAsNew: serialising the input"},
		{"ContinueAsNew option", func(ctx bindings.OrchestrationContext) { ctx.ContinueAsNew(1, bindings.WithStartAt(time.Now())) },
			"ContinueAsNew does not take the option WithStartAt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orch := func(ctx bindings.OrchestrationContext) (any, error) {
				ctx.CallActivity("A", nil)
				tt.call(ctx)
				return "returned", nil
			}
			s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, false)
			cp := s.start("Orch", "")
			fd := cp.State.FailureDetails
			if cp.State.RuntimeStatus != sp.StatusFailed || fd == nil || !strings.Contains(fd.ErrorMessage, tt.want) {
				t.Fatalf("state %v output %s, failure %+v; want Failed naming %q", cp.State.RuntimeStatus, cp.State.Output, fd, tt.want)
			}
			if got := eventTypes(cp.NewEvents); got != "OrchestratorStarted ExecutionStarted ExecutionCompleted(1) OrchestratorCompleted" {
				t.Errorf("history = %s", got)
			}
			if n := len(cp.ActivityMessages) + len(cp.OutboundMessages); n != 0 {
				t.Errorf("a failed episode sent %d messages", n)
			}
		})
	}
}

// The generic WhenAll and WhenAny decode the composite results.
func TestTypedWhenAllAndWhenAny(t *testing.T) {
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		timer := ctx.CreateTimer(ctx.CurrentUTCDateTime().Add(time.Hour))
		ev := ctx.WaitForExternalEvent("Done")
		winner, err := bindings.WhenAny(ctx, timer, ev)
		if err != nil {
			return nil, err
		}
		sums, err := bindings.WhenAll[int](ctx, ctx.CallActivity("A", 1), ctx.CallActivity("B", 2))
		if err != nil {
			return nil, err
		}
		return map[string]any{"winner": winner, "sums": sums}, nil
	}
	s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, false)
	s.start("Orch", "")
	s.step(raisedEv("Done", ""))
	cp := s.step(tcEv(2, "20"), tcEv(1, "10"))
	if cp.State.Output != `{"sums":[10,20],"winner":1}` {
		t.Fatalf("output = %s (%+v)", cp.State.Output, cp.State.FailureDetails)
	}
}

// WithVersion sets the version of the next generation of ContinueAsNew.
func TestContinueAsNewWithVersion(t *testing.T) {
	orch := func(ctx bindings.OrchestrationContext) (any, error) {
		n, _ := bindings.GetInput[int](ctx)
		if n == 0 {
			ctx.ContinueAsNew(1, bindings.WithVersion("v2"))
			return nil, nil
		}
		return ctx.WaitForExternalEvent("never").Await(nil), nil
	}
	s := newSim(t, map[string]bindings.Orchestrator{"Orch": orch}, false)
	cp := s.start("Orch", "0")
	if cp.State.RuntimeStatus != sp.StatusRunning || cp.State.Version != "v2" || cp.State.Input != "1" {
		t.Fatalf("state = %+v", cp.State)
	}
}
