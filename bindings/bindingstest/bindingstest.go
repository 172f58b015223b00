// Package bindingstest unit-tests orchestrators: it runs them in-process
// with the real engine on the in-memory task hub, with their real
// activities or stubs, on a fake clock that durable timers follow. Every
// call returns once the orchestration has run as far as it can, so a test
// reads top to bottom:
//
//	func TestHelloSequence(t *testing.T) {
//		h := bindingstest.New(t, sampleapp.Handlers())
//		run := h.Start("HelloSequence", nil)
//		var out []string
//		run.Output(&out)
//		if want := []string{"Hello Tokyo!", "Hello Seattle!", "Hello London!"}; !slices.Equal(out, want) {
//			t.Fatalf("output %q, want %q", out, want)
//		}
//		if got := run.Calls(); len(got) != 3 || got[0] != bindingstest.ActivityCall("SayHello", "Tokyo") {
//			t.Fatalf("calls %v", got)
//		}
//	}
//
// Events are raised with Instance.RaiseEvent; Harness.Advance moves the
// clock and fires the timers that come due, without waiting. Each episode
// replays the orchestrator's whole history (there is no session cache), so
// a test also exercises replay: an orchestrator that does not replay
// deterministically fails with a NonDeterministicOrchestrationError.
package bindingstest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/internal/payload"
	"github.com/funchost/funchost/internal/testkit"
	sp "github.com/funchost/funchost/storageprovider"
)

// Harness runs orchestrations for one test. Create it with New; it is
// stopped when the test ends.
type Harness struct {
	t   testing.TB
	kit *testkit.Kit
}

// Option configures New.
type Option func(*testkit.Config)

// Function adds the orchestrator or activity handler under name, or
// replaces the one functions has: a bindings.Orchestrator,
// bindings.Activity, or a function of either shape.
func Function(name string, handler any) Option {
	return func(c *testkit.Config) { c.Functions[name] = handler }
}

// Stub replaces (or adds) the activity name with f, which gets the
// activity's input decoded as In; its result or error is what the
// orchestrator sees.
func Stub[In, Out any](name string, f func(in In) (Out, error)) Option {
	return Function(name, bindings.TypedActivity(func(_ context.Context, in In) (Out, error) { return f(in) }))
}

// StartTime sets the fake clock's first reading (default 2024-01-01
// 00:00 UTC). The clock moves only with Advance.
func StartTime(t time.Time) Option {
	return func(c *testkit.Config) { c.Start = t }
}

// DefaultVersion stamps v on the orchestrations and sub-orchestrations the
// test starts without bindings.WithVersion, as host.json's defaultVersion
// does, so that a test sees what OrchestrationContext.Version returns in
// the app. (Instances started with WithVersion keep theirs; every version
// runs: the harness does not match versions.)
func DefaultVersion(v string) Option {
	return func(c *testkit.Config) { c.DefaultVersion = v }
}

// New returns a harness running functions — orchestrators and activities
// by function name, such as an app's handler map; HTTP handlers in it are
// ignored — adjusted by opts. It fails the test if the harness cannot
// start, and stops it when the test ends.
func New(t testing.TB, functions map[string]any, opts ...Option) *Harness {
	t.Helper()
	cfg := testkit.Config{Functions: make(map[string]any, len(functions))}
	for name, f := range functions {
		cfg.Functions[name] = f
	}
	for _, o := range opts {
		o(&cfg)
	}
	kit, err := testkit.New(cfg)
	if err != nil {
		t.Fatalf("bindingstest: %v", err)
	}
	t.Cleanup(func() {
		if err := kit.Close(); err != nil {
			t.Errorf("bindingstest: stopping: %v", err)
		}
	})
	return &Harness{t: t, kit: kit}
}

// Start starts the orchestrator name with input (and StartNew's options,
// e.g. bindings.WithInstanceID) and returns once it has run as far as it
// can.
func (h *Harness) Start(name string, input any, opts ...bindings.Option) *Instance {
	h.t.Helper()
	id, err := h.kit.Start(name, input, opts...)
	if err != nil {
		h.t.Fatalf("bindingstest: starting %s: %v", name, err)
	}
	return &Instance{h: h, id: id}
}

// Instance returns the instance with that ID, for example a
// sub-orchestration named by a Call.
func (h *Harness) Instance(id string) *Instance { return &Instance{h: h, id: id} }

// Now returns the fake clock's reading: what CurrentUTCDateTime returns in
// the next episode.
func (h *Harness) Now() time.Time { return h.kit.Now() }

// Advance moves the clock forward by d. Durable timers that come due on
// the way fire in time order, each with the clock at its fire time, and
// the orchestrations run as far as they can after each.
func (h *Harness) Advance(d time.Duration) {
	h.t.Helper()
	if err := h.kit.Advance(d); err != nil {
		h.t.Fatalf("bindingstest: advancing the clock by %v: %v", d, err)
	}
}

// Instance is one orchestration instance of a harness.
type Instance struct {
	h  *Harness
	id string
}

// ID returns the instance ID.
func (i *Instance) ID() string { return i.id }

func (i *Instance) status() *bindings.OrchestrationStatus {
	i.h.t.Helper()
	st, err := i.h.kit.Status(i.id)
	if err != nil {
		i.h.t.Fatalf("bindingstest: %v", err)
	}
	return st
}

// Status returns the instance's runtime status.
func (i *Instance) Status() bindings.RuntimeStatus {
	i.h.t.Helper()
	return i.status().RuntimeStatus
}

// Version returns the instance's orchestration version ("" when it has
// none).
func (i *Instance) Version() string {
	i.h.t.Helper()
	return i.status().Version
}

// Output decodes the output of the instance into v; it fails the test when
// the instance is not Completed (naming its status and failure) or the
// output does not decode.
func (i *Instance) Output(v any) {
	i.h.t.Helper()
	st := i.status()
	if st.RuntimeStatus != bindings.StatusCompleted {
		i.h.t.Fatalf("bindingstest: instance %s of %s is %s, not Completed; output %s", i.id, st.Name, st.RuntimeStatus, st.Output)
	}
	if err := payload.Unmarshal(string(st.Output), v); err != nil {
		i.h.t.Fatalf("bindingstest: decoding the output of %s (%s) into %T: %v", i.id, st.Output, v, err)
	}
}

// Failure returns the message of a Failed instance: "Orchestrator function
// '<name>' failed: <message>". It is "" unless the instance is Failed.
func (i *Instance) Failure() string {
	i.h.t.Helper()
	st := i.status()
	if st.RuntimeStatus != bindings.StatusFailed {
		return ""
	}
	var msg string
	if err := json.Unmarshal(st.Output, &msg); err != nil {
		return string(st.Output)
	}
	return msg
}

// CustomStatus decodes the instance's custom status into v (left alone
// when none is set).
func (i *Instance) CustomStatus(v any) {
	i.h.t.Helper()
	st := i.status()
	if err := payload.Unmarshal(string(st.CustomStatus), v); err != nil {
		i.h.t.Fatalf("bindingstest: decoding the custom status of %s (%s) into %T: %v", i.id, st.CustomStatus, v, err)
	}
}

// RaiseEvent sends the external event name with data to the instance and
// returns once it has run as far as it can.
func (i *Instance) RaiseEvent(name string, data any) {
	i.h.t.Helper()
	if err := i.h.kit.RaiseEvent(i.id, name, data); err != nil {
		i.h.t.Fatalf("bindingstest: raising %s on %s: %v", name, i.id, err)
	}
}

// Terminate terminates the instance with reason and returns once it is
// done.
func (i *Instance) Terminate(reason string) {
	i.h.t.Helper()
	if err := i.h.kit.Terminate(i.id, reason); err != nil {
		i.h.t.Fatalf("bindingstest: terminating %s: %v", i.id, err)
	}
}

// Calls returns the calls the orchestrator made, in the order it made
// them, across its ContinueAsNew generations. Calls are comparable with ==.
func (i *Instance) Calls() []Call {
	evs := i.h.kit.Calls(i.id)
	calls := make([]Call, len(evs))
	for n, ev := range evs {
		calls[n] = callOf(ev)
	}
	return calls
}

// CallKind is the orchestration context method that made a call.
type CallKind string

// The kinds of calls.
const (
	ActivityKind        CallKind = "CallActivity"
	SubOrchestratorKind CallKind = "CallSubOrchestrator"
	TimerKind           CallKind = "CreateTimer"
	EventKind           CallKind = "SendEvent"
)

// Call is one call an orchestrator made.
type Call struct {
	Kind CallKind
	// Name is the activity, sub-orchestrator or event name ("" for
	// timers).
	Name string
	// Input is the input or event data as JSON text ("" for none).
	Input string
	// InstanceID is the sub-orchestration's ID or the event's target.
	InstanceID string
	// FireAt is a timer's fire time (UTC).
	FireAt time.Time
}

// ActivityCall is the Call of CallActivity(name, input). It panics if
// input cannot be serialised, like the test expectation it is.
func ActivityCall(name string, input any) Call {
	return Call{Kind: ActivityKind, Name: name, Input: mustJSON(input)}
}

// TimerCall is the Call of CreateTimer(fireAt).
func TimerCall(fireAt time.Time) Call { return Call{Kind: TimerKind, FireAt: sp.Timestamp(fireAt)} }

func mustJSON(v any) string {
	s, err := payload.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("bindingstest: the input %v cannot be serialised: %v", v, err))
	}
	return s
}

// String renders the call as the code made it, e.g.
// `CallActivity SayHello "Tokyo"`.
func (c Call) String() string {
	switch c.Kind {
	case TimerKind:
		return fmt.Sprintf("CreateTimer %s", c.FireAt.Format(time.RFC3339Nano))
	case SubOrchestratorKind:
		return fmt.Sprintf("CallSubOrchestrator %s %s (instance %s)", c.Name, c.Input, c.InstanceID)
	case EventKind:
		return fmt.Sprintf("SendEvent %s %s to %s", c.Name, c.Input, c.InstanceID)
	}
	return fmt.Sprintf("%s %s %s", c.Kind, c.Name, c.Input)
}

func callOf(ev *sp.HistoryEvent) Call {
	switch ev.EventType {
	case sp.EventTimerCreated:
		return Call{Kind: TimerKind, FireAt: ev.FireAt}
	case sp.EventSubOrchestrationInstanceCreated:
		return Call{Kind: SubOrchestratorKind, Name: ev.Name, Input: ev.Input, InstanceID: ev.InstanceID}
	case sp.EventEventSent:
		return Call{Kind: EventKind, Name: ev.Name, Input: ev.Input, InstanceID: ev.InstanceID}
	}
	return Call{Kind: ActivityKind, Name: ev.Name, Input: ev.Input}
}
