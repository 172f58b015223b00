package replaycheck_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/engine"
	"github.com/funchost/funchost/host/replaycheck"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// change describes how a variant of flow differs from the code that wrote
// the history.
type change struct {
	rename, insert, remove string // activity names
	insertLate             string // an activity inserted before the wait
	swap                   bool   // the parallel pair in the other order
	inputC                 string // C's input
	timer                  time.Duration
}

// flow is the orchestrator the histories come from (the zero change), and
// its variants: a parallel pair A and B, a short timer, C, then it waits
// for the event "go" and calls D.
func flow(c change) bindings.Orchestrator {
	name := func(n string) string {
		if n == c.rename {
			return n + "2"
		}
		return n
	}
	return func(ctx bindings.OrchestrationContext) (any, error) {
		var pair []bindings.Task
		if c.swap {
			pair = []bindings.Task{ctx.CallActivity(name("B"), "y"), ctx.CallActivity(name("A"), "x")}
		} else {
			pair = []bindings.Task{ctx.CallActivity(name("A"), "x"), ctx.CallActivity(name("B"), "y")}
		}
		if err := ctx.WhenAll(pair...).Await(nil); err != nil {
			return nil, err
		}
		timer := 10 * time.Millisecond
		if c.timer != 0 {
			timer = c.timer
		}
		if err := ctx.CreateTimer(ctx.CurrentUTCDateTime().Add(timer)).Await(nil); err != nil {
			return nil, err
		}
		if c.insert != "" {
			if err := ctx.CallActivity(c.insert, nil).Await(nil); err != nil {
				return nil, err
			}
		}
		if c.remove != "C" {
			in := "z"
			if c.inputC != "" {
				in = c.inputC
			}
			if err := ctx.CallActivity(name("C"), in).Await(nil); err != nil {
				return nil, err
			}
		}
		if c.insertLate != "" {
			if err := ctx.CallActivity(c.insertLate, nil).Await(nil); err != nil {
				return nil, err
			}
		}
		ctx.SetCustomStatus("waiting")
		if err := ctx.WaitForExternalEvent("go").Await(nil); err != nil {
			return nil, err
		}
		return nil, ctx.CallActivity(name("D"), nil).Await(nil)
	}
}

func echo(ctx bindings.ActivityContext) (any, error) { return ctx.Name(), nil }

func functions(c change) map[string]any {
	fs := map[string]any{"Flow": flow(c)}
	for _, a := range []string{"A", "B", "C", "D", "A2", "X"} {
		fs[a] = bindings.Activity(echo)
	}
	return fs
}

// recordHistories runs n instances of flow on a memory task hub until they
// wait for "go" and returns the hub (its worker stopped).
func recordHistories(t *testing.T, n int) *memory.TaskHub {
	t.Helper()
	ctx := context.Background()
	hub := memory.New(memory.Options{})
	if err := hub.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Stop(ctx) })
	w := engine.NewWorker(hub, engine.NewRegistry(functions(change{})), engine.Options{})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Stop(ctx) }()
	for i := range n {
		id := fmt.Sprintf("flow-%d", i)
		inst := sp.OrchestrationInstance{InstanceID: id, ExecutionID: fmt.Sprintf("exec-%d", i)}
		start := sp.NewExecutionStartedEvent(time.Now(), inst, "Flow", "1.0", "")
		if err := hub.CreateInstance(ctx, &sp.TaskMessage{Event: start, Target: inst}); err != nil {
			t.Fatal(err)
		}
		waitCustomStatus(t, hub, id, `"waiting"`)
	}
	return hub
}

func waitCustomStatus(t *testing.T, hub sp.TaskHub, id, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := hub.GetOrchestrationState(context.Background(), id, true)
		if err == nil && st.CustomStatus == want {
			return
		}
		if err == nil && st.RuntimeStatus.IsTerminal() || time.Now().After(deadline) {
			t.Fatalf("instance %s never reached custom status %s: %+v %v", id, want, st, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCheckerVerdicts replays a stored history of flow against each kind
// of change and checks the verdict and what it names.
func TestCheckerVerdicts(t *testing.T) {
	hub := recordHistories(t, 1)
	hs, err := replaycheck.FromTaskHub(context.Background(), hub, replaycheck.Query{})
	if err != nil || len(hs) != 1 || hs[0].Version != "1.0" || hs[0].RuntimeStatus != "Running" {
		t.Fatalf("FromTaskHub = %+v, %v; want the one running instance", hs, err)
	}
	for _, tc := range verdictCases() {
		t.Run(tc.name, func(t *testing.T) {
			fs := functions(tc.change)
			if tc.missing {
				delete(fs, "Flow")
			}
			r := replaycheck.New(fs, replaycheck.Options{}).Check(hs[0])
			if r.Verdict() != tc.verdict {
				t.Fatalf("verdict %s (%s), want %s", r.Verdict(), r.Problem(), tc.verdict)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Problem(), w) {
					t.Errorf("problem %q lacks %q", r.Problem(), w)
				}
			}
			if tc.verdict == "clean" && (r.Replayed != 4 || len(r.Next) != 0 || r.InstanceID != "flow-0" || r.Name != "Flow") {
				t.Errorf("clean report %+v: want 4 decisions replayed, nothing next, instance flow-0 of Flow", r)
			}
		})
	}
}

// verdictCase is one change to flow and the verdict a checker gives a
// history of the unchanged flow.
type verdictCase struct {
	name    string
	change  change
	missing bool // the orchestrator is not in the build
	verdict string
	want    []string // in the report's problem
}

// verdictCases are the changes every source of histories is checked with.
func verdictCases() []verdictCase {
	return []verdictCase{
		{name: "unchanged", verdict: "clean"},
		{name: "renamed activity", change: change{rename: "A"}, verdict: "breaks",
			want: []string{"sequence number 0", `TaskScheduled "A"`, `CallActivity "A2"`}},
		{name: "inserted step", change: change{insert: "X"}, verdict: "breaks",
			want: []string{"sequence number 3", `TaskScheduled "C"`, `CallActivity "X"`}},
		{name: "step inserted where the instance waits", change: change{insertLate: "X"}, verdict: "warnings",
			want: []string{"sequence number 4", "new step where the instance stands", `CallActivity "X"`}},
		{name: "removed step", change: change{remove: "C"}, verdict: "breaks",
			want: []string{"sequence number 3", `TaskScheduled "C"`, "nothing"}},
		{name: "swapped parallel pair", change: change{swap: true}, verdict: "breaks",
			want: []string{"sequence number 0", `TaskScheduled "A"`, `CallActivity "B"`}},
		{name: "changed activity input", change: change{inputC: "z2"}, verdict: "warnings",
			want: []string{"sequence number 3", "activity input changed", `"z"`, `"z2"`}},
		{name: "changed timer", change: change{timer: time.Hour}, verdict: "warnings",
			want: []string{"sequence number 2", "timer fire time changed"}},
		{name: "orchestrator missing", missing: true, verdict: "breaks",
			want: []string{"OrchestratorNotFound", "Flow"}},
	}
}
