package replaycheck_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/durable"
	"github.com/funchost/funchost/host/engine"
	"github.com/funchost/funchost/host/replaycheck"
	"github.com/funchost/funchost/internal/version"
	"github.com/funchost/funchost/samples/sampleapp"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

// lines is a slog handler keeping the messages with their attributes.
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) Enabled(context.Context, slog.Level) bool { return true }
func (l *lines) Handle(_ context.Context, r slog.Record) error {
	s := r.Message
	r.Attrs(func(a slog.Attr) bool { s += " " + a.String(); return true })
	l.mu.Lock()
	l.all = append(l.all, s)
	l.mu.Unlock()
	return nil
}
func (l *lines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *lines) WithGroup(string) slog.Handler      { return l }
func (l *lines) has(want ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.all {
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(s, w)
		}
		if ok {
			return true
		}
	}
	return false
}

// deployment is the sample app's durable side on one Azurite task hub, run
// by successive builds with different versioning settings.
type deployment struct {
	t    *testing.T
	hub  string
	conn string
}

func (d *deployment) start(v version.Settings, log *lines) *durable.Runtime {
	d.t.Helper()
	h := config.DefaultHost()
	h.Durable.HubName = d.hub
	h.Durable.StorageProvider.PartitionCount = 1
	h.Durable.StorageProvider.MaxQueuePollingInterval = 500 * time.Millisecond
	h.Durable.Versioning = v
	s := durable.Settings{Host: h, Env: config.NewMapEnv(map[string]string{"AzureWebJobsStorage": d.conn}), Logger: slog.New(log)}
	hub, err := durable.OpenTaskHub(context.Background(), s)
	if err != nil {
		d.t.Fatal(err)
	}
	rt, err := durable.Start(context.Background(), hub, engine.NewRegistry(sampleapp.Handlers()), s, durable.Options{})
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { _ = rt.Stop(context.Background()) })
	return rt
}

func stop(t *testing.T, rt *durable.Runtime) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := rt.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func until(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func status(t *testing.T, rt *durable.Runtime, id string) *bindings.OrchestrationStatus {
	t.Helper()
	st, err := rt.Client.GetStatus(context.Background(), id, bindings.StatusOptions{})
	if err != nil {
		return &bindings.OrchestrationStatus{RuntimeStatus: -1}
	}
	return st
}

func awaitingPayment(t *testing.T, rt *durable.Runtime, id string) {
	t.Helper()
	until(t, id+" awaiting payment", func() bool { return string(status(t, rt, id).CustomStatus) == `"awaiting payment"` })
}

// TestDeploymentAzurite walks the deploy workflow on Azure Storage: a 1.0
// build starts an order; the replay checker says the 2.0 build replays it
// and an unversioned rename would break it; a Strict+Reject 2.0 worker
// leaves it untouched; the CurrentOrOlder 2.0 build finishes it on the
// old path, runs a new order on the new path, and fails an instance newer
// than itself with VersionMismatch (Fail).
func TestDeploymentAzurite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := &deployment{t: t, hub: fmt.Sprintf("Ver%d", time.Now().UnixNano()%1_000_000_000), conn: azuritetest.ConnectionString(t)}

	v1 := d.start(version.Settings{Default: "1.0", Match: version.MatchCurrentOrOlder}, &lines{})
	if _, err := v1.Client.StartNew(ctx, "OrderWorkflow", "o1", bindings.WithInstanceID("old")); err != nil {
		t.Fatal(err)
	}
	awaitingPayment(t, v1, "old")
	if v := status(t, v1, "old").Version; v != "1.0" {
		t.Fatalf("old instance version %q, want the defaultVersion 1.0", v)
	}
	hs, err := replaycheck.FromTaskHub(ctx, v1.Hub, replaycheck.Query{})
	if err != nil || len(hs) != 1 {
		t.Fatalf("FromTaskHub: %d histories, %v", len(hs), err)
	}
	if r := replaycheck.New(sampleapp.Handlers(), replaycheck.Options{}).Check(hs[0]); r.Verdict() != "clean" {
		t.Errorf("the versioned build: %s %s, want clean", r.Verdict(), r.Problem())
	}
	renamed := sampleapp.Handlers()
	renamed["OrderWorkflow"] = bindings.Orchestrator(func(ctx bindings.OrchestrationContext) (any, error) {
		return nil, ctx.CallActivity("ReserveItemsV2", nil).Await(nil)
	})
	if r := replaycheck.New(renamed, replaycheck.Options{}).Check(hs[0]); !r.Breaks() || !strings.Contains(r.Problem(), `"ReserveItemsV2"`) {
		t.Errorf("a renamed activity: %s %s, want it to break naming ReserveItemsV2", r.Verdict(), r.Problem())
	}
	stop(t, v1)

	strict := &lines{}
	v2strict := d.start(version.Settings{Default: "2.0", Match: version.MatchStrict, Failure: version.FailReject}, strict)
	if err := v2strict.Client.RaiseEvent(ctx, "old", "Paid", nil); err != nil {
		t.Fatal(err)
	}
	until(t, "the rejection log line", func() bool {
		return strict.has("rejected by versioning", "instanceId=old", `instanceVersion=1.0`, "workerVersion=2.0")
	})
	before := len(hs[0].Events)
	stop(t, v2strict)
	after, err := replaycheck.FromTaskHub(ctx, v2strict.Hub, replaycheck.Query{InstanceIDs: []string{"old"}})
	if err != nil || len(after) != 1 || len(after[0].Events) != before || after[0].RuntimeStatus != "Running" {
		t.Fatalf("the rejected instance changed: %+v %v", after, err)
	}

	v2 := d.start(version.Settings{Default: "2.0", Match: version.MatchCurrentOrOlder, Failure: version.FailFail}, &lines{})
	if _, err := v2.Client.StartNew(ctx, "OrderWorkflow", "o2", bindings.WithInstanceID("new")); err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Client.StartNew(ctx, "OrderWorkflow", "o3", bindings.WithInstanceID("future"), bindings.WithVersion("3.0")); err != nil {
		t.Fatal(err)
	}
	awaitingPayment(t, v2, "new")
	if err := v2.Client.RaiseEvent(ctx, "new", "Paid", nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id     string
		status bindings.RuntimeStatus
		want   string
	}{
		{"old", bindings.StatusCompleted, `["reserved o1","shipped o1"]`},
		{"new", bindings.StatusCompleted, `["reserved o2","checked o2","shipped o2"]`},
		{"future", bindings.StatusFailed, "Orchestration version did not comply with Worker Versioning"},
	} {
		until(t, tc.id+" finished", func() bool { return status(t, v2, tc.id).RuntimeStatus.IsTerminal() })
		st := status(t, v2, tc.id)
		out := string(st.Output)
		if tc.status == bindings.StatusFailed {
			var msg string
			_ = json.Unmarshal(st.Output, &msg)
			out = msg
		}
		if st.RuntimeStatus != tc.status || !strings.Contains(out, tc.want) {
			t.Errorf("%s: %v %s, want %v %s", tc.id, st.RuntimeStatus, st.Output, tc.status, tc.want)
		}
	}
}
