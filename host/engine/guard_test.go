package engine

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
)

// User values whose methods panic, as buggy user types do.
type panicMarshal struct{}

func (panicMarshal) MarshalJSON() ([]byte, error) { panic("marshal boom") }

type panicError struct{}

func (panicError) Error() string { panic("error boom") }

// guardCase is one misbehaving orchestrator and what its instance must end
// with; a well-behaved orchestration runs beside it and must complete.
type guardCase struct {
	name  string
	orch  bindings.Orchestrator
	tweak func(*Options)
	// check returns what is wrong with the misbehaving instance's end.
	check func(st *sp.OrchestrationState) error
}

// failedWith checks a Failed instance whose failure has typ (when set) and
// a message containing msg, and, with stack set, a stack naming it.
func failedWith(typ, msg, stack string) func(st *sp.OrchestrationState) error {
	return func(st *sp.OrchestrationState) error {
		fd := st.FailureDetails
		switch {
		case st.RuntimeStatus != sp.StatusFailed || fd == nil:
			return fmt.Errorf("status %v, failure %+v, output %s; want Failed", st.RuntimeStatus, fd, st.Output)
		case typ != "" && fd.ErrorType != typ:
			return fmt.Errorf("ErrorType %q, want %q (message %q)", fd.ErrorType, typ, fd.ErrorMessage)
		case !strings.Contains(fd.ErrorMessage, msg):
			return fmt.Errorf("message %q does not contain %q", fd.ErrorMessage, msg)
		case stack != "" && !strings.Contains(fd.StackTrace, stack):
			return fmt.Errorf("stack does not name %q:\n%s", stack, fd.StackTrace)
		}
		return nil
	}
}

// completedWith checks a Completed instance with exactly output want.
func completedWith(want string) func(st *sp.OrchestrationState) error {
	return func(st *sp.OrchestrationState) error {
		if st.RuntimeStatus != sp.StatusCompleted || st.Output != want {
			return fmt.Errorf("status %v output %s (failure %+v), want Completed %s", st.RuntimeStatus, st.Output, st.FailureDetails, want)
		}
		return nil
	}
}

// describeTaskFailure is an orchestrator that calls activity name and
// completes with what its failure says (type, message, whether a stack
// came along).
func describeTaskFailure(name string) bindings.Orchestrator {
	return func(ctx bindings.OrchestrationContext) (any, error) {
		err := ctx.CallActivity(name, nil).Await(nil)
		var tfe *bindings.TaskFailedError
		if !errors.As(err, &tfe) {
			return nil, fmt.Errorf("want a TaskFailedError, got %v", err)
		}
		return fmt.Sprintf("%s|%s|stack=%v", tfe.ErrorType, tfe.Message, strings.Contains(tfe.StackTrace, "guard_test.go")), nil
	}
}

// callHello calls Hello n times, one after the other, under custom status
// "calling".
func callHello(n int) bindings.Orchestrator {
	return func(ctx bindings.OrchestrationContext) (any, error) {
		ctx.SetCustomStatus("calling")
		for i := range n {
			if _, err := bindings.CallActivity[string](ctx, "Hello", fmt.Sprint(i)); err != nil {
				return nil, err
			}
		}
		return n, nil
	}
}

func panicCases() []guardCase {
	return []guardCase{
		{name: "orchestrator panics", orch: func(bindings.OrchestrationContext) (any, error) { panic("kaboom") },
			check: failedWith("panic", "panic: kaboom", "guard_test.go")},
		{name: "orchestrator output MarshalJSON panics", orch: func(bindings.OrchestrationContext) (any, error) { return panicMarshal{}, nil },
			check: failedWith("", "marshal boom", "")},
		{name: "orchestrator error's Error panics", orch: func(bindings.OrchestrationContext) (any, error) { return nil, panicError{} },
			check: failedWith("panic", "error boom", "guard_test.go")},
		{name: "orchestrator calls Goexit", orch: func(bindings.OrchestrationContext) (any, error) { runtime.Goexit(); return nil, nil },
			check: failedWith("Goexit", "runtime.Goexit", "")},
		{name: "activity panics", orch: describeTaskFailure("PanicAct"),
			check: completedWith(`"panic|activity 'PanicAct' panicked: act boom|stack=true"`)},
		{name: "activity result MarshalJSON panics", orch: describeTaskFailure("PanicResult"),
			check: completedWith(`"*errors.errorString|activity 'PanicResult': serialising the result: activity 'PanicResult' result's MarshalJSON panicked: marshal boom|stack=false"`)},
		{name: "activity error's Error panics", orch: describeTaskFailure("PanicErr"),
			check: completedWith(`"panic|activity 'PanicErr''s error panicked: error boom|stack=true"`)},
	}
}

func actionLimitCases() []guardCase {
	limit := func(n int) func(*Options) { return func(o *Options) { o.MaxOrchestrationActions = n } }
	return []guardCase{
		{name: "action limit", orch: callHello(5), tweak: limit(3), check: func(st *sp.OrchestrationState) error {
			const msg = "Maximum amount of orchestration actions (3) has been reached. This value can be configured in host.json file as MaxOrchestrationActions."
			if err := failedWith("InvalidOperationException", msg, "")(st); err != nil {
				return err
			}
			if want := `"Orchestrator function 'Bad' failed: ` + msg + `"`; st.Output != want || st.CustomStatus != `"calling"` {
				return fmt.Errorf("output %s custom status %s, want %s and \"calling\"", st.Output, st.CustomStatus, want)
			}
			return nil
		}},
		{name: "action limit caught by the code", orch: func(ctx bindings.OrchestrationContext) (any, error) {
			for {
				if err := ctx.CreateTimer(ctx.CurrentUTCDateTime()).Await(nil); err != nil {
					ctx.SendEvent("elsewhere", "gave up", err.Error()) // refused as well
					return "went on", nil
				}
			}
		}, tweak: limit(3), check: failedWith("InvalidOperationException", "Maximum amount of orchestration actions (3)", "")},
		{name: "action limit off", orch: callHello(5), tweak: limit(-1), check: completedWith("5")},
	}
}

// inGoroutine runs f on a goroutine of its own and waits for it, as code
// that hands work to goroutines does.
func inGoroutine(f func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
	}()
	wg.Wait()
}

// refused checks a Failed instance whose failure is the goroutine guard's
// refusal of call.
func refused(call string) func(st *sp.OrchestrationState) error {
	return failedWith("*bindings.NonDeterministicOrchestrationError",
		call+" was called from a goroutine other than the orchestrator's own (multithreaded execution)", "")
}

func goroutineCases() []guardCase {
	return []guardCase{
		{name: "fan-out from goroutines", orch: func(ctx bindings.OrchestrationContext) (any, error) {
			var wg sync.WaitGroup
			res, errs := make([]string, 3), make([]error, 3)
			for i := range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = ctx.CallActivity("Hello", fmt.Sprint(i)).Await(&res[i])
				}()
			}
			wg.Wait()
			return res, errors.Join(errs...)
		}, check: refused("CallActivity")},
		{name: "goroutine awaits the orchestrator's task", orch: func(ctx bindings.OrchestrationContext) (any, error) {
			t := ctx.CallActivity("Hello", "x")
			var err error
			inGoroutine(func() { err = t.Await(nil) })
			return "awaited elsewhere", err
		}, check: refused("Await")},
		{name: "goroutine polls a task", orch: func(ctx bindings.OrchestrationContext) (any, error) {
			t := ctx.CreateTimer(ctx.CurrentUTCDateTime())
			inGoroutine(func() { t.IsDone() })
			return "polled", t.Await(nil)
		}, check: refused("IsDone")},
		{name: "goroutine logs through the replay-safe logger", orch: func(ctx bindings.OrchestrationContext) (any, error) {
			l := ctx.Logger()
			inGoroutine(func() { l.Info("from a goroutine") })
			return "logged", nil
		}, check: refused("Logger")},
		{name: "goroutine reads the clock, raises an event, continues as new", orch: func(ctx bindings.OrchestrationContext) (any, error) {
			inGoroutine(func() {
				ctx.CurrentUTCDateTime()
				ctx.SendEvent("elsewhere", "E", 1)
				ctx.ContinueAsNew(nil)
			})
			return "returned", nil
		}, check: refused("CurrentUTCDateTime")},
		{name: "goroutine signals an entity", orch: func(ctx bindings.OrchestrationContext) (any, error) {
			inGoroutine(func() { ctx.SignalEntity(bindings.NewEntityID("Counter", "k"), "add", 1) })
			return "signalled", nil
		}, check: refused("SignalEntity")},
		{name: "goroutines race the orchestrator", orch: func(ctx bindings.OrchestrationContext) (any, error) {
			// The crash of the issue: goroutines scheduling while the
			// orchestrator schedules too must not touch engine state.
			var wg sync.WaitGroup
			var ts []bindings.Task
			for i := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx.CallActivity("Hello", fmt.Sprint(i))
					ctx.NewGUID()
					ctx.SetCustomStatus(i)
				}()
				ts = append(ts, ctx.CallActivity("Hello", fmt.Sprint(i)))
			}
			wg.Wait()
			return "raced", ctx.WhenAll(ts...).Await(nil)
		}, check: refused("")},
	}
}

// TestGuards runs each misbehaving orchestrator beside a well-behaved one
// on the memory provider (the Azure Storage provider runs the same in its
// own tests).
func TestGuards(t *testing.T) {
	cases := append(append(panicCases(), actionLimitCases()...), goroutineCases()...)
	for _, m := range []mode{modes[0], modes[2]} {
		for _, tc := range cases {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				reg := baseRegistry()
				reg.Orchestrators["Bad"] = tc.orch
				reg.Activities["PanicAct"] = func(bindings.ActivityContext) (any, error) { panic("act boom") }
				reg.Activities["PanicResult"] = func(bindings.ActivityContext) (any, error) { return panicMarshal{}, nil }
				reg.Activities["PanicErr"] = func(bindings.ActivityContext) (any, error) { return nil, panicError{} }
				var tweaks []func(*Options)
				if tc.tweak != nil {
					tweaks = append(tweaks, tc.tweak)
				}
				h := newHarness(t, m, reg, tweaks...)
				bad, good := h.start("Bad", "", nil), h.start("Sequence", "", nil)
				if err := tc.check(h.waitDone(bad)); err != nil {
					t.Error(err)
				}
				expectOutput(t, h.waitDone(good), `["Hello Tokyo!","Hello Seattle!","Hello London!"]`)
			})
		}
	}
}
