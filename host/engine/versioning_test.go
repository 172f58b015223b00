package engine

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/internal/version"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// logRecorder is a slog handler that keeps the messages it gets.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	rec.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
	r.mu.Lock()
	r.msgs = append(r.msgs, b.String())
	r.mu.Unlock()
	return nil
}
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

// waitLog waits until a recorded message contains all of want.
func (r *logRecorder) waitLog(t *testing.T, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, m := range r.msgs {
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(m, w)
			}
			if ok {
				r.mu.Unlock()
				return m
			}
		}
		r.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no log line with %q", want)
	return ""
}

// versionedHub is a memory task hub on which workers of different versions
// take turns, as during a deployment.
type versionedHub struct {
	t   *testing.T
	hub *memory.TaskHub
	h   *harness // start, raise and wait helpers on hub
}

func newVersionedHub(t *testing.T) *versionedHub {
	hub := memory.New(memory.Options{})
	if err := hub.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Stop(context.Background()) })
	return &versionedHub{t: t, hub: hub, h: &harness{t: t, hub: hub}}
}

// worker starts a worker with the sample app's functions under s; the
// returned function stops it.
func (v *versionedHub) worker(s version.Settings, log *logRecorder) func() {
	opts := Options{Versioning: s, MaxConcurrentOrchestrations: 2, MaxConcurrentActivities: 2}
	if log != nil {
		opts.Logger = slog.New(log)
	}
	w := NewWorker(v.hub, sampleRegistry(), opts)
	if err := w.Start(context.Background()); err != nil {
		v.t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := w.Stop(ctx); err != nil {
				v.t.Errorf("Stop: %v", err)
			}
		})
	}
	v.t.Cleanup(stop)
	return stop
}

// start starts the orchestrator as the durable client does for an app
// whose defaultVersion (or the caller's WithVersion) is ver.
func (v *versionedHub) start(name, ver string, input any) string {
	v.t.Helper()
	id := newExecutionID()
	m, err := startMessage(name, id, input)
	if err != nil {
		v.t.Fatal(err)
	}
	m.Event.Version = ver
	if err := v.hub.CreateInstance(context.Background(), m); err != nil {
		v.t.Fatal(err)
	}
	return id
}

func (v *versionedHub) awaitingPayment(id string) {
	v.t.Helper()
	v.h.waitFor(id, "awaiting payment", func(s *sp.OrchestrationState) bool { return s.CustomStatus == `"awaiting payment"` })
}

// TestVersionedDeployment runs the sample's OrderWorkflow across a
// deployment: instances started under 1.0 by the old build finish on the
// new build's old path, new instances take the new path.
func TestVersionedDeployment(t *testing.T) {
	v := newVersionedHub(t)
	stopOld := v.worker(version.Settings{Default: "1.0", Match: version.MatchCurrentOrOlder}, nil)
	old := v.start("OrderWorkflow", "1.0", "o-old")
	v.awaitingPayment(old)
	stopOld()

	v.worker(version.Settings{Default: "2.0", Match: version.MatchCurrentOrOlder}, nil)
	fresh := v.start("OrderWorkflow", "2.0", "o-new")
	unversioned := v.start("OrderWorkflow", "", "o-none")
	for _, id := range []string{fresh, unversioned} {
		v.awaitingPayment(id)
	}
	for _, tc := range []struct {
		id, version, want string
	}{
		{old, "1.0", `["reserved o-old","shipped o-old"]`},
		{fresh, "2.0", `["reserved o-new","checked o-new","shipped o-new"]`},
		{unversioned, "", `["reserved o-none","shipped o-none"]`},
	} {
		v.h.raise(tc.id, "Paid", nil)
		st := v.h.waitDone(tc.id)
		expectOutput(t, st, tc.want)
		if st.Version != tc.version {
			t.Errorf("instance %s: status row version %q, want %q", tc.id, st.Version, tc.version)
		}
	}
}

// TestVersionMismatch: a worker that may not run an instance rejects it
// (the instance is left untouched for a worker that may, with a log line)
// or fails it with VersionMismatch, before any code runs — for a new
// instance and for one with history.
func TestVersionMismatch(t *testing.T) {
	for _, tc := range []struct {
		name     string
		worker   version.Settings
		instance string
		started  bool // the instance ran on a 1.0 worker first
	}{
		{"strict reject, new instance", version.Settings{Default: "2.0", Match: version.MatchStrict, Failure: version.FailReject}, "1.0", false},
		{"strict reject, running instance", version.Settings{Default: "2.0", Match: version.MatchStrict, Failure: version.FailReject}, "1.0", true},
		{"current-or-older reject, newer instance", version.Settings{Default: "0.9", Match: version.MatchCurrentOrOlder, Failure: version.FailReject}, "1.0", false},
		{"strict fail, new instance", version.Settings{Default: "2.0", Match: version.MatchStrict, Failure: version.FailFail}, "1.0", false},
		{"strict fail, running instance", version.Settings{Default: "2.0", Match: version.MatchStrict, Failure: version.FailFail}, "1.0", true},
		{"current-or-older fail, newer instance", version.Settings{Default: "1.0", Match: version.MatchCurrentOrOlder, Failure: version.FailFail}, "1.10", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newVersionedHub(t)
			id := v.start("OrderWorkflow", tc.instance, "o1")
			if tc.started {
				stop := v.worker(version.Settings{Default: "1.0", Match: version.MatchStrict}, nil)
				v.awaitingPayment(id)
				stop()
				v.h.raise(id, "Paid", nil)
			}
			before, _ := v.hub.GetOrchestrationHistory(context.Background(), id)
			log := &logRecorder{}
			stop := v.worker(tc.worker, log)
			if tc.worker.Failure == version.FailFail {
				st := v.h.waitDone(id)
				fd := st.FailureDetails
				if st.RuntimeStatus != sp.StatusFailed || fd == nil || fd.ErrorType != "VersionMismatch" || !fd.IsNonRetriable ||
					!strings.HasPrefix(fd.ErrorMessage, "Orchestration version did not comply with Worker Versioning") ||
					!strings.Contains(fd.ErrorMessage, `"`+tc.instance+`"`) || !strings.Contains(fd.ErrorMessage, `"`+tc.worker.Default+`"`) {
					t.Fatalf("state %+v, failure %+v; want Failed with VersionMismatch naming both versions", st, fd)
				}
				hist, _ := v.hub.GetOrchestrationHistory(context.Background(), id)
				for _, ev := range hist[len(before):] {
					if ev.EventType == sp.EventTaskScheduled {
						t.Errorf("the failing worker ran code: %s %q", ev.EventType, ev.Name)
					}
				}
				return
			}
			line := v.log(log, t, id, tc)
			stop()
			st, err := v.hub.GetOrchestrationState(context.Background(), id, false)
			after, _ := v.hub.GetOrchestrationHistory(context.Background(), id)
			if err != nil || st.RuntimeStatus.IsTerminal() || len(after) != len(before) {
				t.Fatalf("rejected instance was touched: %+v %v, history %d → %d events (log %q)", st, err, len(before), len(after), line)
			}
			// A worker that may run it takes it over and finishes it.
			v.worker(version.Settings{Default: tc.instance, Match: version.MatchStrict}, nil)
			if !tc.started {
				v.awaitingPayment(id)
				v.h.raise(id, "Paid", nil)
			}
			expectOutput(t, v.h.waitDone(id), `["reserved o1","shipped o1"]`)
		})
	}
}

// log waits for the rejection's log line and checks what it names.
func (v *versionedHub) log(log *logRecorder, t *testing.T, id string, tc struct {
	name     string
	worker   version.Settings
	instance string
	started  bool
}) string {
	t.Helper()
	return log.waitLog(t, "rejected by versioning", "instanceId="+id, "instanceVersion="+tc.instance,
		"workerVersion="+tc.worker.Default, "versionMatchStrategy="+tc.worker.Match.String(), "retryAfter=")
}

// orchestrators for the stamping tests.
func versionReporter(ctx bindings.OrchestrationContext) (any, error) { return ctx.Version(), nil }

func versionParent(ctx bindings.OrchestrationContext) (any, error) {
	implicit, err := bindings.CallSubOrchestrator[string](ctx, "Reporter", nil)
	if err != nil {
		return nil, err
	}
	explicit, err := bindings.CallSubOrchestrator[string](ctx, "Reporter", nil, bindings.WithVersion("9.0"))
	if err != nil {
		return nil, err
	}
	return []string{ctx.Version(), implicit, explicit}, nil
}

func versionLooper(ctx bindings.OrchestrationContext) (any, error) {
	n, _ := bindings.GetInput[int](ctx)
	seen := ctx.Version()
	switch n {
	case 0:
		ctx.ContinueAsNew(1)
	case 1:
		ctx.ContinueAsNew(2, bindings.WithVersion("1.5"))
	default:
		return seen, nil
	}
	return nil, nil
}

// TestVersionStamping: sub-orchestrations get the creating worker's
// defaultVersion unless given one; ContinueAsNew keeps the version unless
// asked for another.
func TestVersionStamping(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			reg := NewRegistry(map[string]any{"Reporter": bindings.Orchestrator(versionReporter),
				"Parent": bindings.Orchestrator(versionParent), "Looper": bindings.Orchestrator(versionLooper)})
			h := newHarness(t, m, reg, func(o *Options) {
				// MatchNone: stamping without matching (the 9.0 child is
				// newer than this worker).
				o.Versioning = version.Settings{Default: "1.2", Match: version.MatchNone}
			})
			m, _ := startMessage("Parent", "parent", nil)
			m.Event.Version = "1.0"
			if err := h.hub.CreateInstance(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			expectOutput(t, h.waitDone("parent"), `["1.0","1.2","9.0"]`)
			loop, _ := startMessage("Looper", "looper", 0)
			loop.Event.Version = "1.0"
			if err := h.hub.CreateInstance(context.Background(), loop); err != nil {
				t.Fatal(err)
			}
			st := h.waitDone("looper")
			expectOutput(t, st, `"1.5"`)
			if st.Version != "1.5" {
				t.Errorf("status row version %q after ContinueAsNew WithVersion, want 1.5", st.Version)
			}
		})
	}
}

// TestNonDeterminismNamesVersions: when the code changed under a running
// instance, the failure names the cause, the remedy and both versions.
func TestNonDeterminismNamesVersions(t *testing.T) {
	var activity atomic.Value
	activity.Store("Hello")
	reg := baseRegistry()
	reg.Orchestrators["Changing"] = func(ctx bindings.OrchestrationContext) (any, error) {
		if err := ctx.CallActivity(activity.Load().(string), "x").Await(nil); err != nil {
			return nil, err
		}
		ctx.SetCustomStatus("waiting")
		return nil, ctx.WaitForExternalEvent("go").Await(nil)
	}
	h := newHarness(t, modes[0], reg, func(o *Options) { o.Versioning = version.Settings{Default: "2.0"} })
	m, _ := startMessage("Changing", "changing", nil)
	m.Event.Version = "1.0"
	if err := h.hub.CreateInstance(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	h.waitFor("changing", "waiting", func(s *sp.OrchestrationState) bool { return s.CustomStatus == `"waiting"` })
	activity.Store("Double") // a deployment renamed the activity
	h.raise("changing", "go", nil)
	st := h.waitDone("changing")
	for _, want := range []string{`history holds TaskScheduled \"Hello\" but the code asked for CallActivity \"Double\"`,
		"the orchestrator code changed while this instance was running", `Instance version \"1.0\", worker version \"2.0\"`} {
		if st.RuntimeStatus != sp.StatusFailed || !strings.Contains(st.Output, want) {
			t.Errorf("status %v output %s; want Failed naming %s", st.RuntimeStatus, st.Output, want)
		}
	}
}
