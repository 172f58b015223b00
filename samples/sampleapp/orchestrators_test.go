package sampleapp_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/bindings/bindingstest"
	"github.com/funchost/funchost/samples/sampleapp"
)

func TestHelloSequence(t *testing.T) {
	h := bindingstest.New(t, sampleapp.Handlers())
	run := h.Start("HelloSequence", nil)
	var out []string
	run.Output(&out)
	if want := []string{"Hello Tokyo!", "Hello Seattle!", "Hello London!"}; !slices.Equal(out, want) {
		t.Fatalf("output %q, want %q", out, want)
	}
	want := []bindingstest.Call{bindingstest.ActivityCall("SayHello", "Tokyo"),
		bindingstest.ActivityCall("SayHello", "Seattle"), bindingstest.ActivityCall("SayHello", "London")}
	if got := run.Calls(); !slices.Equal(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
}

func TestHelloCities5WithAStub(t *testing.T) {
	h := bindingstest.New(t, sampleapp.Handlers(), bindingstest.Stub("SayHello", func(city string) (string, error) {
		return "Hi " + city, nil
	}))
	var out []string
	h.Start("HelloCities5", nil).Output(&out)
	if want := []string{"Hi Tokyo", "Hi Seattle", "Hi London", "Hi Cairo", "Hi Lima"}; !slices.Equal(out, want) {
		t.Fatalf("output %q, want %q", out, want)
	}
}

func TestHelloSequenceActivityFailure(t *testing.T) {
	h := bindingstest.New(t, sampleapp.Handlers(), bindingstest.Stub("SayHello", func(city string) (string, error) {
		if city == "Seattle" {
			return "", errors.New("no route to Seattle")
		}
		return "Hello " + city + "!", nil
	}))
	run := h.Start("HelloSequence", nil)
	if run.Status() != bindings.StatusFailed || !strings.Contains(run.Failure(), "no route to Seattle") {
		t.Fatalf("status %v, failure %q", run.Status(), run.Failure())
	}
	if n := len(run.Calls()); n != 2 {
		t.Fatalf("%d calls, want 2 (the sequence stops at the failure)", n)
	}
}

func TestEcho(t *testing.T) {
	h := bindingstest.New(t, sampleapp.Handlers())
	var out map[string]int
	h.Start("Echo", map[string]int{"a": 1}).Output(&out)
	if out["a"] != 1 || len(out) != 1 {
		t.Fatalf("output %v", out)
	}
	var none json.RawMessage
	h.Start("Echo", nil).Output(&none)
	if none != nil {
		t.Fatalf("echo of nothing = %s", none)
	}
}

func TestFailAlways(t *testing.T) {
	h := bindingstest.New(t, sampleapp.Handlers())
	run := h.Start("FailAlways", nil)
	if run.Status() != bindings.StatusFailed || !strings.Contains(run.Failure(), "boom") {
		t.Fatalf("status %v, failure %q", run.Status(), run.Failure())
	}
}

func TestFanOutFanIn(t *testing.T) {
	h := bindingstest.New(t, sampleapp.Handlers())
	run := h.Start("FanOutFanIn", 10)
	var sum int
	run.Output(&sum)
	if sum != 55 {
		t.Fatalf("sum %d, want 55", sum)
	}
	calls := run.Calls()
	if len(calls) != 10 || calls[0] != bindingstest.ActivityCall("GetValue", 1) || calls[9] != bindingstest.ActivityCall("GetValue", 10) {
		t.Fatalf("calls %v", calls)
	}
}

func TestWaitForApproval(t *testing.T) {
	h := bindingstest.New(t, sampleapp.Handlers())
	run := h.Start("WaitForApproval", nil)
	if run.Status() != bindings.StatusRunning {
		t.Fatalf("before the event: %v", run.Status())
	}
	run.RaiseEvent("Approval", map[string]string{"by": "ana"})
	var out map[string]string
	run.Output(&out)
	if out["by"] != "ana" {
		t.Fatalf("output %v", out)
	}
}

func TestApprovalWithTimeout(t *testing.T) {
	deadline := bindingstest.TimerCall(time.Date(2024, 1, 1, 0, 1, 0, 0, time.UTC))
	t.Run("approved in time", func(t *testing.T) {
		h := bindingstest.New(t, sampleapp.Handlers())
		run := h.Start("ApprovalWithTimeout", sampleapp.ApprovalInput{TimeoutSeconds: 60})
		if got := run.Calls(); !slices.Equal(got, []bindingstest.Call{deadline}) {
			t.Fatalf("calls %v, want the deadline timer", got)
		}
		h.Advance(59 * time.Second)
		run.RaiseEvent("Approval", "yes")
		var out struct {
			Approved bool   `json:"approved"`
			Payload  string `json:"payload"`
		}
		run.Output(&out)
		if !out.Approved || out.Payload != "yes" {
			t.Fatalf("output %+v", out)
		}
	})
	t.Run("timed out", func(t *testing.T) {
		h := bindingstest.New(t, sampleapp.Handlers())
		run := h.Start("ApprovalWithTimeout", sampleapp.ApprovalInput{TimeoutSeconds: 60})
		h.Advance(59 * time.Second)
		if run.Status() != bindings.StatusRunning {
			t.Fatalf("gave up early: %v", run.Status())
		}
		h.Advance(time.Second)
		var out struct {
			Approved bool   `json:"approved"`
			Reason   string `json:"reason"`
		}
		run.Output(&out)
		if out.Approved || out.Reason != "timed out" {
			t.Fatalf("output %+v", out)
		}
	})
}

func TestMonitor(t *testing.T) {
	h := bindingstest.New(t, sampleapp.Handlers())
	run := h.Start("Monitor", sampleapp.MonitorState{Target: 3, IntervalMs: 60_000})
	var progress map[string]int
	run.CustomStatus(&progress)
	if progress["checks"] != 1 || run.Status() != bindings.StatusRunning {
		t.Fatalf("after the first check: status %v, custom status %v", run.Status(), progress)
	}
	h.Advance(time.Minute) // second check
	h.Advance(time.Minute) // third check: the condition holds
	var checks int
	run.Output(&checks)
	if checks != 3 {
		t.Fatalf("checks %d, want 3", checks)
	}
	var kinds []bindingstest.CallKind
	for _, c := range run.Calls() {
		kinds = append(kinds, c.Kind)
	}
	want := []bindingstest.CallKind{bindingstest.ActivityKind, bindingstest.TimerKind, bindingstest.ActivityKind, bindingstest.TimerKind, bindingstest.ActivityKind}
	if !slices.Equal(kinds, want) {
		t.Fatalf("calls %v across generations, want %v", run.Calls(), want)
	}
}

func TestParentChild(t *testing.T) {
	h := bindingstest.New(t, sampleapp.Handlers())
	run := h.Start("ParentChild", nil)
	var out struct {
		Child []string `json:"child"`
	}
	run.Output(&out)
	if len(out.Child) != 3 || out.Child[0] != "Hello Tokyo!" {
		t.Fatalf("output %+v", out)
	}
	calls := run.Calls()
	if len(calls) != 1 || calls[0].Kind != bindingstest.SubOrchestratorKind || calls[0].Name != "HelloSequence" {
		t.Fatalf("calls %v", calls)
	}
	child := h.Instance(calls[0].InstanceID)
	if n := len(child.Calls()); child.Status() != bindings.StatusCompleted || n != 3 {
		t.Fatalf("child %s: %v with %d calls", child.ID(), child.Status(), n)
	}
}

func TestBackgroundJob(t *testing.T) {
	h := bindingstest.New(t, sampleapp.Handlers())
	run := h.Start("BackgroundJob", nil, bindings.WithInstanceID(sampleapp.BackgroundJobID))
	var out string
	run.Output(&out)
	if out != "Hello background job!" || run.ID() != sampleapp.BackgroundJobID {
		t.Fatalf("instance %s output %q", run.ID(), out)
	}
}

// TestTransferWithoutFunds runs the bank transfer against empty accounts:
// it locks both, reads the balance and moves nothing.
func TestTransferWithoutFunds(t *testing.T) {
	h := bindingstest.New(t, sampleapp.Handlers())
	var moved bool
	h.Start("Transfer", sampleapp.TransferRequest{From: "a", To: "b", Amount: 5}).Output(&moved)
	if moved {
		t.Fatal("Transfer moved money out of an empty account")
	}
}

// Every sample orchestrator has a test above.
func TestEverySampleOrchestratorIsTested(t *testing.T) {
	tested := []string{"HelloSequence", "HelloCities5", "Echo", "FailAlways", "FanOutFanIn",
		"WaitForApproval", "ApprovalWithTimeout", "Monitor", "ParentChild", "BackgroundJob", "Transfer",
		"OrderWorkflow"} // OrderWorkflow: versioned_test.go
	for name, h := range sampleapp.Handlers() {
		if _, ok := h.(bindings.Orchestrator); ok && !slices.Contains(tested, name) {
			t.Errorf("the sample orchestrator %s has no test", name)
		}
	}
}
