package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/internal/payload"
	"github.com/funchost/funchost/samples/sampleapp"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// mode is one worker configuration the end-to-end suite runs under.
type mode struct {
	name  string
	cache int
	local bool
}

// modes: behaviour must be identical with the session cache off and on,
// and with in-process activities.
var modes = []mode{{"cache=0", 0, false}, {"cache=64", 64, false}, {"cache=64+local", 64, true}}

type harness struct {
	t   testing.TB
	hub *memory.TaskHub
	// counts wraps hub for the worker: it counts commits and activity
	// work items.
	counts *countingHub
	w      *Worker
}

func newHarness(t testing.TB, m mode, reg Registry, tweak ...func(*Options)) *harness {
	t.Helper()
	hub := memory.New(memory.Options{})
	ctx := context.Background()
	if err := hub.Start(ctx); err != nil {
		t.Fatal(err)
	}
	opts := Options{SessionCacheSize: m.cache, LocalActivities: m.local, MaxConcurrentOrchestrations: 4, MaxConcurrentActivities: 8}
	for _, f := range tweak {
		f(&opts)
	}
	counts := &countingHub{TaskHub: hub, loseNext: map[string]int{}}
	w := NewWorker(counts, reg, opts)
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := w.Stop(sctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
		_ = hub.Stop(sctx)
	})
	return &harness{t: t, hub: hub, counts: counts, w: w}
}

func startMessage(name, id string, input any) (*sp.TaskMessage, error) {
	in, err := payload.Marshal(input)
	if err != nil {
		return nil, err
	}
	exec := newExecutionID()
	return &sp.TaskMessage{
		Event: &sp.HistoryEvent{EventType: sp.EventExecutionStarted, EventID: -1, Name: name, Input: in,
			Timestamp:             sp.Timestamp(time.Now()),
			OrchestrationInstance: &sp.OrchestrationInstance{InstanceID: id, ExecutionID: exec}},
		Target: sp.OrchestrationInstance{InstanceID: id, ExecutionID: exec},
	}, nil
}

func (h *harness) start(name, id string, input any) string {
	h.t.Helper()
	if id == "" {
		id = newExecutionID()
	}
	m, err := startMessage(name, id, input)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.hub.CreateInstance(context.Background(), m); err != nil {
		h.t.Fatal(err)
	}
	return id
}

func (h *harness) send(id string, ev *sp.HistoryEvent) {
	h.t.Helper()
	ev.EventID = -1
	if err := h.hub.SendTaskMessages(context.Background(), &sp.TaskMessage{Event: ev, Target: sp.OrchestrationInstance{InstanceID: id}}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) raise(id, name string, data any) {
	in, _ := payload.Marshal(data)
	h.send(id, &sp.HistoryEvent{EventType: sp.EventEventRaised, Name: name, Input: in})
}

// waitFor polls until the instance's status satisfies ok (the suite's only
// notion of time is this overall deadline, which a passing run never
// reaches).
func (h *harness) waitFor(id string, what string, ok func(*sp.OrchestrationState) bool) *sp.OrchestrationState {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := h.hub.GetOrchestrationState(context.Background(), id, true)
		if err == nil && ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("instance %s never became %s; last state %+v, err %v", id, what, st, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (h *harness) waitDone(id string) *sp.OrchestrationState {
	h.t.Helper()
	return h.waitFor(id, "terminal", func(s *sp.OrchestrationState) bool { return s.RuntimeStatus.IsTerminal() })
}

func (h *harness) waitStatus(id string, want sp.OrchestrationStatus) *sp.OrchestrationState {
	h.t.Helper()
	return h.waitFor(id, want.String(), func(s *sp.OrchestrationState) bool { return s.RuntimeStatus == want })
}

func expectOutput(t testing.TB, st *sp.OrchestrationState, want string) {
	t.Helper()
	if st.RuntimeStatus != sp.StatusCompleted || st.Output != want {
		t.Fatalf("status %v output %s (failure %+v), want Completed %s", st.RuntimeStatus, st.Output, st.FailureDetails, want)
	}
}

// ---- functions used by the suite ----

func hello(ctx bindings.ActivityContext) (any, error) {
	var s string
	if err := ctx.Input(&s); err != nil {
		return nil, err
	}
	return "Hello " + s + "!", nil
}

func double(ctx bindings.ActivityContext) (any, error) {
	var n int
	if err := ctx.Input(&n); err != nil {
		return nil, err
	}
	return 2 * n, nil
}

func sequence(ctx bindings.OrchestrationContext) (any, error) {
	var out []string
	for _, c := range []string{"Tokyo", "Seattle", "London"} {
		s, err := bindings.CallActivity[string](ctx, "Hello", c)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func baseRegistry() Registry {
	return Registry{
		Orchestrators: map[string]bindings.Orchestrator{
			"Sequence": sequence,
			"FanOut":   sampleapp.FanOutFanIn, // GetValue(1..n), summed
			"Parent": func(ctx bindings.OrchestrationContext) (any, error) {
				a := ctx.CallSubOrchestrator("Sequence", nil)
				b := ctx.CallSubOrchestrator("FanOut", 10, bindings.WithInstanceID(ctx.InstanceID()+"-fan"))
				var greetings []string
				if err := a.Await(&greetings); err != nil {
					return nil, err
				}
				var sum int
				if err := b.Await(&sum); err != nil {
					return nil, err
				}
				return fmt.Sprintf("%d greetings, sum %d", len(greetings), sum), nil
			},
			"Timer": func(ctx bindings.OrchestrationContext) (any, error) {
				start := ctx.CurrentUTCDateTime()
				if err := ctx.CreateTimer(start.Add(50 * time.Millisecond)).Await(nil); err != nil {
					return nil, err
				}
				return !ctx.CurrentUTCDateTime().Before(start.Add(50 * time.Millisecond)), nil
			},
			"Approval": func(ctx bindings.OrchestrationContext) (any, error) {
				ok, err := bindings.WaitForExternalEvent[bool](ctx, "Approval", bindings.WithTimeout(100*time.Millisecond))
				if errors.Is(err, bindings.ErrTimeout) {
					return "timed out", nil
				}
				if err != nil {
					return nil, err
				}
				return fmt.Sprintf("approved=%v", ok), nil
			},
			"Race": func(ctx bindings.OrchestrationContext) (any, error) {
				timer := ctx.CreateTimer(ctx.CurrentUTCDateTime().Add(time.Hour))
				ev := ctx.WaitForExternalEvent("Go")
				var idx int
				if err := ctx.WhenAny(timer, ev).Await(&idx); err != nil {
					return nil, err
				}
				return idx, nil
			},
			"Waiter": func(ctx bindings.OrchestrationContext) (any, error) {
				var got []int
				for i := 0; i < 3; i++ {
					v, err := bindings.WaitForExternalEvent[int](ctx, "Item")
					if err != nil {
						return nil, err
					}
					got = append(got, v)
				}
				return got, nil
			},
			"Counter": func(ctx bindings.OrchestrationContext) (any, error) {
				var n struct{ I, Max int }
				if err := ctx.Input(&n); err != nil {
					return nil, err
				}
				if n.I >= n.Max {
					return n.I, nil
				}
				if _, err := bindings.CallActivity[int](ctx, "Double", n.I); err != nil {
					return nil, err
				}
				ctx.SetCustomStatus(n.I)
				n.I++
				ctx.ContinueAsNew(n)
				return nil, nil
			},
			"Sender": func(ctx bindings.OrchestrationContext) (any, error) {
				var target string
				if err := ctx.Input(&target); err != nil {
					return nil, err
				}
				for i := 0; i < 3; i++ {
					ctx.SendEvent(target, "item", i)
				}
				return "sent", nil
			},
			"Forever": func(ctx bindings.OrchestrationContext) (any, error) {
				return nil, ctx.WaitForExternalEvent("never").Await(nil)
			},
		},
		Activities: map[string]bindings.Activity{"Hello": hello, "Double": double, "GetValue": sampleapp.GetValue},
	}
}

// ---- the suite ----

func TestE2E(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			h := newHarness(t, m, baseRegistry())
			t.Run("sequence", func(t *testing.T) {
				st := h.waitDone(h.start("Sequence", "", nil))
				expectOutput(t, st, `["Hello Tokyo!","Hello Seattle!","Hello London!"]`)
				hist, err := h.hub.GetOrchestrationHistory(context.Background(), st.InstanceID)
				if err != nil {
					t.Fatal(err)
				}
				// Per-episode shape holds with local activities too.
				got := eventTypes(hist)
				want := "OrchestratorStarted ExecutionStarted TaskScheduled(0) OrchestratorCompleted " +
					"OrchestratorStarted TaskCompleted TaskScheduled(1) OrchestratorCompleted " +
					"OrchestratorStarted TaskCompleted TaskScheduled(2) OrchestratorCompleted " +
					"OrchestratorStarted TaskCompleted ExecutionCompleted(3) OrchestratorCompleted"
				if got != want {
					t.Fatalf("history\n%s\nwant\n%s", got, want)
				}
				if st.CreatedTime.IsZero() || st.CompletedTime.Before(st.CreatedTime) {
					t.Errorf("times: created %v completed %v", st.CreatedTime, st.CompletedTime)
				}
			})
			t.Run("fan-out 1000", func(t *testing.T) {
				// Nothing else runs meanwhile: the counters' deltas are
				// this orchestration's.
				commits, acts := h.counts.orchCommits.Load(), h.counts.actLocks.Load()
				st := h.waitDone(h.start("FanOut", "", 1000))
				expectOutput(t, st, "500500")
				commits, acts = h.counts.orchCommits.Load()-commits, h.counts.actLocks.Load()-acts
				if m.local {
					// All 1,000 calls run in-process (MaxConcurrentActivities
					// at a time) within the one work item.
					if commits != 1 || acts != 0 {
						t.Errorf("commits = %d, activity work items = %d; want 1 and 0", commits, acts)
					}
				} else if acts != 1000 {
					t.Errorf("activity work items = %d, want 1000", acts)
				}
			})
			t.Run("sub-orchestrations", func(t *testing.T) {
				id := h.start("Parent", "", nil)
				expectOutput(t, h.waitDone(id), `"3 greetings, sum 55"`)
				child, err := h.hub.GetOrchestrationState(context.Background(), id+"-fan", true)
				if err != nil || child.RuntimeStatus != sp.StatusCompleted || child.Output != "55" {
					t.Fatalf("child = %+v, %v", child, err)
				}
			})
			t.Run("timer", func(t *testing.T) {
				expectOutput(t, h.waitDone(h.start("Timer", "", nil)), "true")
			})
			t.Run("external event with timeout", func(t *testing.T) {
				expectOutput(t, h.waitDone(h.start("Approval", "", nil)), `"timed out"`)
				id := h.start("Approval", "", nil)
				h.raise(id, "approval", true)
				expectOutput(t, h.waitDone(id), `"approved=true"`)
			})
			t.Run("buffered events", func(t *testing.T) {
				id := h.start("Waiter", "", nil)
				for i := 1; i <= 3; i++ {
					h.raise(id, "ITEM", i)
				}
				expectOutput(t, h.waitDone(id), "[1,2,3]")
			})
			t.Run("WhenAny", func(t *testing.T) {
				id := h.start("Race", "", nil)
				h.raise(id, "Go", nil)
				expectOutput(t, h.waitDone(id), "1")
			})
			t.Run("ContinueAsNew 1000 generations", func(t *testing.T) {
				id := h.start("Counter", "", map[string]int{"I": 0, "Max": 1000})
				st := h.waitDone(id)
				expectOutput(t, st, "1000")
				// The last generation sets no custom status: the previous
				// one's carries over, with the cache on or off.
				if st.CustomStatus != "999" {
					t.Errorf("custom status = %q, want 999", st.CustomStatus)
				}
				hist, err := h.hub.GetOrchestrationHistory(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				if len(hist) > 12 {
					t.Fatalf("history grew across generations: %d events: %s", len(hist), eventTypes(hist))
				}
			})
			t.Run("terminate, suspend, resume", func(t *testing.T) {
				id := h.start("Waiter", "", nil)
				h.waitStatus(id, sp.StatusRunning)
				h.send(id, &sp.HistoryEvent{EventType: sp.EventExecutionSuspended, Reason: "pause"})
				h.waitStatus(id, sp.StatusSuspended)
				for i := 1; i <= 3; i++ {
					h.raise(id, "Item", i)
				}
				h.send(id, &sp.HistoryEvent{EventType: sp.EventExecutionResumed, Reason: "go on"})
				expectOutput(t, h.waitDone(id), "[1,2,3]")

				id = h.start("Forever", "", nil)
				h.waitStatus(id, sp.StatusRunning)
				h.send(id, &sp.HistoryEvent{EventType: sp.EventExecutionSuspended})
				h.waitStatus(id, sp.StatusSuspended)
				h.send(id, &sp.HistoryEvent{EventType: sp.EventExecutionTerminated, Input: `"bye"`})
				st := h.waitDone(id)
				if st.RuntimeStatus != sp.StatusTerminated || st.Output != `"bye"` {
					t.Fatalf("state = %+v", st)
				}
			})
			t.Run("SendEvent", func(t *testing.T) {
				target := h.start("Waiter", "", nil)
				sender := h.start("Sender", "", target)
				expectOutput(t, h.waitDone(sender), `"sent"`)
				expectOutput(t, h.waitDone(target), "[0,1,2]")
			})
			t.Run("unknown names", func(t *testing.T) {
				st := h.waitDone(h.start("NoSuchOrchestrator", "", nil))
				if st.RuntimeStatus != sp.StatusFailed || !strings.Contains(st.Output, "not registered") {
					t.Fatalf("state = %+v", st)
				}
			})
		})
	}
}

// TestE2ERetriesAndRewind uses activities that fail on purpose.
func TestE2ERetriesAndRewind(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			var calls, breakNow atomic.Int32
			reg := Registry{
				Orchestrators: map[string]bindings.Orchestrator{
					"Retrying": func(ctx bindings.OrchestrationContext) (any, error) {
						return bindings.CallActivity[int](ctx, "Flaky", nil,
							bindings.WithRetry(bindings.RetryPolicy{MaxAttempts: 3, FirstRetryInterval: 10 * time.Millisecond}))
					},
					"Fragile": func(ctx bindings.OrchestrationContext) (any, error) {
						a, err := bindings.CallActivity[int](ctx, "Steady", nil)
						if err != nil {
							return nil, err
						}
						b, err := bindings.CallActivity[int](ctx, "Breakable", nil)
						if err != nil {
							return nil, err
						}
						return a + b, nil
					},
					"Panicky": func(ctx bindings.OrchestrationContext) (any, error) {
						err := ctx.CallActivity("Panics", nil).Await(nil)
						var tfe *bindings.TaskFailedError
						if errors.As(err, &tfe) && tfe.ErrorType == "panic" && strings.Contains(tfe.StackTrace, "goroutine") {
							return "saw panic", nil
						}
						return nil, fmt.Errorf("unexpected %v", err)
					},
					"TypedError": func(ctx bindings.OrchestrationContext) (any, error) {
						err := ctx.CallActivity("Typed", nil).Await(nil)
						var tfe *bindings.TaskFailedError
						if errors.As(err, &tfe) {
							return tfe.ErrorType + ": " + tfe.Message, nil
						}
						return nil, err
					},
					"Missing": func(ctx bindings.OrchestrationContext) (any, error) {
						return nil, ctx.CallActivity("NoSuchActivity", nil).Await(nil)
					},
				},
				Activities: map[string]bindings.Activity{
					"Flaky": func(bindings.ActivityContext) (any, error) {
						if calls.Add(1) < 3 {
							return nil, errors.New("not yet")
						}
						return 42, nil
					},
					"Steady": func(bindings.ActivityContext) (any, error) { return 1, nil },
					"Breakable": func(bindings.ActivityContext) (any, error) {
						if breakNow.Load() == 1 {
							return nil, errors.New("broken")
						}
						return 2, nil
					},
					"Panics": func(bindings.ActivityContext) (any, error) { panic("oh no") },
					"Typed":  func(bindings.ActivityContext) (any, error) { return nil, &json.UnsupportedValueError{Str: "bad"} },
				},
			}
			h := newHarness(t, m, reg)
			expectOutput(t, h.waitDone(h.start("Retrying", "", nil)), "42")
			if calls.Load() != 3 {
				t.Errorf("Flaky ran %d times", calls.Load())
			}
			expectOutput(t, h.waitDone(h.start("Panicky", "", nil)), `"saw panic"`)
			expectOutput(t, h.waitDone(h.start("TypedError", "", nil)), `"*json.UnsupportedValueError: json: unsupported value: bad"`)
			st := h.waitDone(h.start("Missing", "", nil))
			if st.RuntimeStatus != sp.StatusFailed || !strings.Contains(st.Output, "'NoSuchActivity' is not registered") {
				t.Fatalf("missing activity: %+v", st)
			}

			breakNow.Store(1)
			id := h.start("Fragile", "", nil)
			st = h.waitDone(id)
			if st.RuntimeStatus != sp.StatusFailed || !strings.Contains(st.Output, "broken") {
				t.Fatalf("Fragile = %+v", st)
			}
			breakNow.Store(0)
			h.send(id, &sp.HistoryEvent{EventType: sp.EventExecutionRewound, Reason: "fixed"})
			expectOutput(t, h.waitStatus(id, sp.StatusCompleted), "3")
		})
	}
}

func TestE2ENonDeterministicOrchestratorFails(t *testing.T) {
	for _, m := range modes[:2] {
		t.Run(m.name, func(t *testing.T) {
			var flip atomic.Bool
			reg := Registry{
				Orchestrators: map[string]bindings.Orchestrator{
					"Shifty": func(ctx bindings.OrchestrationContext) (any, error) {
						name := "Hello"
						if flip.Load() {
							name = "Double"
						}
						if err := ctx.CallActivity(name, "x").Await(nil); err != nil {
							return nil, err
						}
						return nil, ctx.WaitForExternalEvent("next").Await(nil)
					},
				},
				Activities: map[string]bindings.Activity{"Hello": hello, "Double": double},
			}
			// No session cache here would hide the change (a cached
			// execution never replays), so turn it off for this test.
			h := newHarness(t, mode{name: m.name}, reg)
			id := h.start("Shifty", "", nil)
			h.waitFor(id, "past the activity", func(s *sp.OrchestrationState) bool {
				hist, _ := h.hub.GetOrchestrationHistory(context.Background(), id)
				return strings.Contains(eventTypes(hist), "TaskCompleted")
			})
			flip.Store(true)
			h.raise(id, "next", nil)
			st := h.waitDone(id)
			if st.RuntimeStatus != sp.StatusFailed || !strings.Contains(st.Output, `history holds TaskScheduled \"Hello\" but the code asked for CallActivity \"Double\"`) {
				t.Fatalf("state = %+v", st)
			}
		})
	}
}

// TestE2EGoroutinesReturnToBaseline completes 10,000 orchestrations and
// checks that no orchestrator goroutine outlives its orchestration.
func TestE2EGoroutinesReturnToBaseline(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	for _, m := range modes[:2] {
		t.Run(m.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			func() {
				hub := memory.New(memory.Options{})
				ctx := context.Background()
				_ = hub.Start(ctx)
				w := NewWorker(hub, baseRegistry(), Options{SessionCacheSize: m.cache, MaxConcurrentOrchestrations: 8, MaxConcurrentActivities: 8})
				_ = w.Start(ctx)
				h := &harness{t: t, hub: hub, w: w}
				ids := make([]string, n)
				for i := range ids {
					ids[i] = h.start("Sequence", "", nil)
				}
				for _, id := range ids {
					if st := h.waitDone(id); st.RuntimeStatus != sp.StatusCompleted {
						t.Fatalf("%s: %+v", id, st)
					}
				}
				// A few instances stay parked in Await until Stop tears them
				// down.
				for i := 0; i < 20; i++ {
					h.waitStatus(h.start("Forever", "", nil), sp.StatusRunning)
				}
				sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				if err := w.Stop(sctx); err != nil {
					t.Fatal(err)
				}
				_ = hub.Stop(sctx)
				if w.CachedSessions() != 0 {
					t.Errorf("%d sessions left after Stop", w.CachedSessions())
				}
			}()
			deadline := time.Now().Add(10 * time.Second)
			for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if got := runtime.NumGoroutine(); got > base {
				buf := make([]byte, 1<<16)
				t.Fatalf("goroutines: %d before, %d after\n%s", base, got, buf[:runtime.Stack(buf, true)])
			}
		})
	}
}

// TestE2ESubOrchestrationTerminateAndRewind: a terminated child fails its
// parent; a failed child is rewound along with its parent.
func TestE2ESubOrchestrationTerminateAndRewind(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			var broken atomic.Bool
			reg := baseRegistry()
			reg.Orchestrators["CallsForever"] = func(ctx bindings.OrchestrationContext) (any, error) {
				err := ctx.CallSubOrchestrator("Forever", nil, bindings.WithInstanceID(ctx.InstanceID()+"-child")).Await(nil)
				var tfe *bindings.TaskFailedError
				if errors.As(err, &tfe) && tfe.SubOrchestration {
					return "child failed: " + tfe.Message, nil
				}
				return nil, fmt.Errorf("unexpected %v", err)
			}
			reg.Orchestrators["BrittleChild"] = func(ctx bindings.OrchestrationContext) (any, error) {
				return bindings.CallActivity[int](ctx, "Brittle", nil)
			}
			reg.Orchestrators["BrittleParent"] = func(ctx bindings.OrchestrationContext) (any, error) {
				v, err := bindings.CallSubOrchestrator[int](ctx, "BrittleChild", nil, bindings.WithInstanceID(ctx.InstanceID()+"-child"))
				return v + 1, err
			}
			reg.Activities["Brittle"] = func(bindings.ActivityContext) (any, error) {
				if broken.Load() {
					return nil, errors.New("brittle broke")
				}
				return 41, nil
			}
			reg.Orchestrators["StrictParent"] = func(ctx bindings.OrchestrationContext) (any, error) {
				return nil, ctx.CallSubOrchestrator("Forever", nil, bindings.WithInstanceID(ctx.InstanceID()+"-child")).Await(nil)
			}
			reg.Orchestrators["CallsTaken"] = func(ctx bindings.OrchestrationContext) (any, error) {
				var taken string
				if err := ctx.Input(&taken); err != nil {
					return nil, err
				}
				err := ctx.CallSubOrchestrator("Forever", nil, bindings.WithInstanceID(taken)).Await(nil)
				var tfe *bindings.TaskFailedError
				if errors.As(err, &tfe) {
					return tfe.ErrorType + ": " + tfe.Message, nil
				}
				return nil, fmt.Errorf("unexpected %v", err)
			}
			h := newHarness(t, m, reg)

			// A sub-orchestration whose explicit ID a running instance
			// holds fails the call instead of waiting forever.
			taken := h.start("Forever", "", nil)
			h.waitStatus(taken, sp.StatusRunning)
			st := h.waitDone(h.start("CallsTaken", "", taken))
			if st.RuntimeStatus != sp.StatusCompleted || !strings.Contains(st.Output, "OrchestrationAlreadyExists") || !strings.Contains(st.Output, "already running") {
				t.Fatalf("parent of a taken ID = %+v", st)
			}
			if st := h.waitStatus(taken, sp.StatusRunning); st.RuntimeStatus != sp.StatusRunning {
				t.Fatalf("holder = %+v", st)
			}

			// Rewinding a parent whose child was terminated ends (Failed
			// again) instead of waiting for the child forever.
			id := h.start("StrictParent", "", nil)
			h.waitStatus(id+"-child", sp.StatusRunning)
			h.send(id+"-child", &sp.HistoryEvent{EventType: sp.EventExecutionTerminated, Input: `"gone"`})
			first := h.waitStatus(id, sp.StatusFailed)
			h.send(id, &sp.HistoryEvent{EventType: sp.EventExecutionRewound, Reason: "retry"})
			st = h.waitFor(id, "Failed again after the rewind", func(s *sp.OrchestrationState) bool {
				return s.RuntimeStatus == sp.StatusFailed && s.CompletedTime.After(first.CompletedTime)
			})
			if !strings.Contains(st.Output, "terminated: gone") {
				t.Fatalf("rewound parent of a terminated child = %+v", st)
			}

			id = h.start("CallsForever", "", nil)
			h.waitStatus(id+"-child", sp.StatusRunning)
			h.send(id+"-child", &sp.HistoryEvent{EventType: sp.EventExecutionTerminated, Input: `"stop it"`})
			st = h.waitDone(id)
			if st.RuntimeStatus != sp.StatusCompleted || !strings.Contains(st.Output, "terminated: stop it") {
				t.Fatalf("parent = %+v", st)
			}

			broken.Store(true)
			id = h.start("BrittleParent", "", nil)
			if st := h.waitDone(id); st.RuntimeStatus != sp.StatusFailed {
				t.Fatalf("parent = %+v", st)
			}
			broken.Store(false)
			h.send(id, &sp.HistoryEvent{EventType: sp.EventExecutionRewound, Reason: "fixed"})
			expectOutput(t, h.waitStatus(id, sp.StatusCompleted), "42")
			expectOutput(t, h.waitStatus(id+"-child", sp.StatusCompleted), "41")
		})
	}
}
