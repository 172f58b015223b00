package bindingstest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/bindings/bindingstest"
)

// exampleT stands in for the *testing.T a real test passes to New.
type exampleT struct{ testing.TB }

func (exampleT) Helper()                           {}
func (exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (exampleT) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (exampleT) Cleanup(func())                    {}

// An approval that times out: the test raises no event and moves the clock
// past the deadline instead of waiting for it.
func Example() {
	approval := func(ctx bindings.OrchestrationContext) (any, error) {
		deadline := ctx.CreateTimer(ctx.CurrentUTCDateTime().Add(72 * time.Hour))
		answer := ctx.WaitForExternalEvent("Approval")
		winner, err := bindings.WhenAny(ctx, answer, deadline)
		if err != nil || winner == 1 {
			return "escalated", err
		}
		return bindings.Await[string](answer)
	}
	var t testing.TB = exampleT{} // in a test: the *testing.T
	h := bindingstest.New(t, map[string]any{"Approval": bindings.Orchestrator(approval)})
	run := h.Start("Approval", nil)
	fmt.Println(run.Status(), run.Calls())
	h.Advance(72 * time.Hour)
	var out string
	run.Output(&out)
	fmt.Println(run.Status(), out)
	// Output:
	// Running [CreateTimer 2024-01-04T00:00:00Z]
	// Completed escalated
}
