package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/host/engine"
	"github.com/funchost/funchost/samples/sampleapp"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// logBuf collects JSON log lines safely across goroutines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns the decoded log records.
func (l *logBuf) lines(t testing.TB) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, ln := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if ln == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(ln), &m); err != nil {
			t.Fatalf("log line %q: %v", ln, err)
		}
		out = append(out, m)
	}
	return out
}

// messages returns the msg of every record of a category.
func (l *logBuf) messages(t testing.TB, category string) []string {
	var out []string
	for _, m := range l.lines(t) {
		if m[CategoryKey] == category {
			out = append(out, m["msg"].(string))
		}
	}
	return out
}

var errBoom = errors.New("boom")

// testRegistry: the sample's HelloSequence and SayHello, and Failing,
// whose activity fails.
func testRegistry() engine.Registry {
	return engine.Registry{
		Orchestrators: map[string]bindings.Orchestrator{
			"HelloSequence": sampleapp.HelloSequence,
			"Failing": func(ctx bindings.OrchestrationContext) (any, error) {
				_, err := bindings.CallActivity[string](ctx, "Boom", "x")
				return nil, err
			},
		},
		Activities: map[string]bindings.Activity{
			"SayHello": sampleapp.SayHello,
			"Boom":     func(bindings.ActivityContext) (any, error) { return nil, errBoom },
		},
	}
}

// runOne runs one orchestration to its end on a memory task hub with the
// given telemetry and returns its final state.
func runOne(t *testing.T, tel engine.Observer, orchestrator string, local bool) *sp.OrchestrationState {
	t.Helper()
	ctx := context.Background()
	hub := memory.New(memory.Options{})
	if err := hub.Start(ctx); err != nil {
		t.Fatal(err)
	}
	w := engine.NewWorker(hub, testRegistry(), engine.Options{Observer: tel, LocalActivities: local, MaxConcurrentOrchestrations: 2, MaxConcurrentActivities: 2})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = w.Stop(sctx)
		_ = hub.Stop(sctx)
	}()
	c := durableclient.New(durableclient.Options{Hub: hub})
	id, err := c.StartNew(ctx, orchestrator, nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		st, err := hub.GetOrchestrationState(ctx, id, true)
		if err != nil {
			t.Fatal(err)
		}
		if st != nil && st.RuntimeStatus.IsTerminal() {
			return st
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s did not finish", id)
	return nil
}

// newTestLogger logs JSON, everything, into a logBuf.
func newTestLogger() (*slog.Logger, *logBuf) {
	buf := &logBuf{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// startObservedWorker starts a memory task hub and a worker of reg
// reporting to tel, and returns the hub and a client carrying tel's
// client hooks (create, raise, signal), as the host wires them.
func startObservedWorker(t *testing.T, tel *Telemetry, reg engine.Registry) (*memory.TaskHub, *durableclient.Client) {
	t.Helper()
	hub := memory.New(memory.Options{})
	if err := hub.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	w := engine.NewWorker(hub, reg, engine.Options{Observer: tel})
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Stop(context.Background()) })
	return hub, durableclient.New(durableclient.Options{Hub: hub, OnCreate: tel.CreateHook(), OnRaise: tel.RaiseHook(), OnSignal: tel.SignalHook()})
}
