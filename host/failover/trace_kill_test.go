//go:build faults

package failover

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// The caller's W3C context the trace test sends with its start request.
const (
	killCallerTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	killCallerSpanID  = "00f067aa0ba902b7"
)

// consoleSpan is the part of a span the console exporter
// (OTEL_TRACES_EXPORTER=console: one JSON object per line) prints that the
// trace test reads.
type consoleSpan struct {
	Name        string
	SpanKind    int
	SpanContext struct{ TraceID, SpanID string }
	Parent      struct{ TraceID, SpanID string }
	StartTime   time.Time
	Status      struct{ Code string }
	Attributes  []struct {
		Key   string
		Value struct{ Value any }
	}
	host string // the process whose output held it
}

// OpenTelemetry's span kinds, as the console exporter numbers them.
const (
	kindInternal = 1
	kindServer   = 2
	kindClient   = 3
	kindProducer = 4
)

func (s consoleSpan) attr(key string) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			return fmt.Sprint(a.Value.Value)
		}
	}
	return ""
}

func (s consoleSpan) String() string {
	return fmt.Sprintf("%s kind %d on %s: %s <- %s (task %s)", s.Name, s.SpanKind, s.host, s.SpanContext.SpanID, s.Parent.SpanID, s.attr("durabletask.task.task_id"))
}

// consoleSpans parses the spans in a host's output; a line cut short by
// the SIGKILL is skipped.
func (p *hostProc) consoleSpans() []consoleSpan {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []consoleSpan
	for _, l := range p.lines {
		if !strings.HasPrefix(l, `{"Name":`) {
			continue
		}
		var s consoleSpan
		if json.Unmarshal([]byte(l), &s) == nil {
			s.host = p.name
			out = append(out, s)
		}
	}
	return out
}

// spanSet filters parsed spans.
type spanSet []consoleSpan

func (ss spanSet) named(name string, kind int) spanSet {
	var out spanSet
	for _, s := range ss {
		if s.Name == name && s.SpanKind == kind {
			out = append(out, s)
		}
	}
	return out
}

func (ss spanSet) String() string {
	var b strings.Builder
	for _, s := range ss {
		b.WriteString("\n  " + s.String())
	}
	return b.String()
}

// TestFaultTraceAcrossKilledHost starts one orchestration over HTTP with a
// caller traceparent on host A (which owns every partition), lets A run
// its first activity and create a durable timer, SIGKILLs A, and lets a
// fresh host B (which takes the instance's partition over at once by
// changing the dead host's lease) finish it. The spans both processes
// printed (OTEL_TRACES_EXPORTER=console) form one trace: the caller's,
// HTTP span → create → orchestration → activity Client → Server, with the
// orchestration span reported once, by B, with the span id A persisted in
// history, and A's and B's activity calls under it.
func TestFaultTraceAcrossKilledHost(t *testing.T) {
	testStart := time.Now()
	dir := t.TempDir()
	bin := buildApp(t, dir, "./host/failover/internal/faultapp")
	az, err := azuritetest.Start(azuritetest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("Azurite is required for this test and could not be started: %v", err)
	}
	t.Cleanup(az.Stop)
	logDir, err := os.MkdirTemp("", "funchost-tracekill-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() && os.Getenv("FUNCHOST_FAILOVER_KEEP_LOGS") == "" {
			os.RemoveAll(logDir)
		}
	})
	root := filepath.Join(dir, "app")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	writeScriptRoot(t, root, appSettings{hub: fmt.Sprintf("TraceKill%08x", rand.Uint32()), connection: az.ConnectionString(),
		durable: map[string]any{"tracing": map[string]any{"distributedTracingEnabled": true, "version": "V2"}}})
	writeFaultAppFunctions(t, root, []string{"OrchSlowSequence"})
	// Spans are printed 50 ms after they end, so that A's are out
	// before the kill.
	env := []string{"OTEL_TRACES_EXPORTER=console", "OTEL_BSP_SCHEDULE_DELAY=50"}
	a := startHostEnv(t, "A", bin, root, logDir, env...)
	var b *hostProc
	t.Cleanup(func() {
		if t.Failed() {
			for _, h := range []*hostProc{a, b} {
				if h != nil {
					h.dump(t)
				}
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	waitFor(t, 30*time.Second, "host A owns every partition", func() error {
		if n := len(a.owned()); n < partitionCount {
			return fmt.Errorf("%w: A owns %v", errNotYet, keys(a.owned()))
		}
		return nil
	}, nil, a)

	// B takes over partition 0 first (the lowest one the dead host holds).
	id := ""
	for i := 0; id == ""; i++ {
		if c := fmt.Sprintf("trace-kill-%d", i); sp.PartitionIndex(c, partitionCount) == 0 {
			id = c
		}
	}
	startTraced(t, ctx, a.base, "OrchSlowSequence", id, "4")
	waitFor(t, 30*time.Second, "A ran the first activity and created the timer", func() error {
		s, err := getStatus(ctx, a.base, id)
		if err != nil {
			return err
		}
		timer := false
		for _, ev := range s.History {
			timer = timer || strings.Contains(string(ev), `"TimerCreated"`)
		}
		if !timer {
			return fmt.Errorf("%w: the instance is %s with %d history events", errNotYet, s.RuntimeStatus, len(s.History))
		}
		if n := len(spanSet(a.consoleSpans()).named("activity:SayHello", kindClient)); n != 1 {
			return fmt.Errorf("%w: A printed %d activity Client spans", errNotYet, n)
		}
		return nil
	}, nil, a)
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatalf("killing host A: %v", err)
	}
	<-a.done
	killed := time.Now()
	b = startHostEnv(t, "B", bin, root, logDir, env...)
	waitFor(t, 90*time.Second, "B completed the instance", func() error {
		s, err := getStatus(ctx, b.base, id)
		if err != nil {
			return err
		}
		if s.RuntimeStatus == "Failed" || s.RuntimeStatus == "Terminated" {
			t.Fatalf("instance %s ended %s", id, s.RuntimeStatus)
		}
		if s.RuntimeStatus != "Completed" {
			return fmt.Errorf("%w: the instance is %s", errNotYet, s.RuntimeStatus)
		}
		if got, want := compact(s.Output), greetings(cities5[:3]); got != want {
			t.Fatalf("output %s, want %s", got, want)
		}
		if len(spanSet(b.consoleSpans()).named("orchestration:OrchSlowSequence", kindServer)) == 0 {
			return fmt.Errorf("%w: B has not printed the orchestration span", errNotYet)
		}
		return nil
	}, nil, b)
	t.Logf("B finished the instance %s after the kill (test time %s)", time.Since(killed).Round(time.Millisecond), time.Since(testStart).Round(time.Millisecond))
	if err := b.stop(30 * time.Second); err != nil {
		t.Errorf("host B did not shut down cleanly: %v", err)
	}
	checkKilledHostTrace(t, spanSet(append(a.consoleSpans(), b.consoleSpans()...)), id)
}

// startTraced starts name as instance id through HttpStartSingle with the
// caller's traceparent.
func startTraced(t *testing.T, ctx context.Context, base, name, id, input string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/orchestrators/"+name+"/"+id, strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+killCallerTraceID+"-"+killCallerSpanID+"-01")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("starting %s %s: %v", name, id, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("starting %s %s: status %d", name, id, resp.StatusCode)
	}
}

// checkKilledHostTrace asserts the trace of the killed-host run.
func checkKilledHostTrace(t *testing.T, all spanSet, id string) {
	t.Helper()
	for _, s := range all {
		if s.SpanContext.TraceID != killCallerTraceID {
			t.Errorf("span %s is in trace %s, want the caller's %s", s, s.SpanContext.TraceID, killCallerTraceID)
		}
	}
	one := func(name string, kind int, host string) consoleSpan {
		t.Helper()
		got := all.named(name, kind)
		if len(got) != 1 || got[0].host != host {
			t.Fatalf("want one %s span of kind %d, printed by %s; spans:%s", name, kind, host, all)
		}
		return got[0]
	}
	httpSpan := one("HttpStartSingle", kindServer, "A")
	create := one("create_orchestration:OrchSlowSequence", kindProducer, "A")
	orch := one("orchestration:OrchSlowSequence", kindServer, "B")
	timer := one("orchestration:OrchSlowSequence:timer", kindInternal, "B")
	if httpSpan.Parent.SpanID != killCallerSpanID {
		t.Errorf("HTTP span's parent %s, want the caller's %s", httpSpan.Parent.SpanID, killCallerSpanID)
	}
	if create.Parent.SpanID != httpSpan.SpanContext.SpanID {
		t.Errorf("create span's parent %s, want the HTTP span %s", create.Parent.SpanID, httpSpan.SpanContext.SpanID)
	}
	if orch.Parent.SpanID != create.SpanContext.SpanID {
		t.Errorf("orchestration span's parent %s, want the create span %s", orch.Parent.SpanID, create.SpanContext.SpanID)
	}
	if orch.attr("durabletask.task.instance_id") != id || orch.attr("durabletask.task.status") != "Completed" || orch.Status.Code != "Ok" {
		t.Errorf("orchestration span: instance %q, status attribute %q, status %q", orch.attr("durabletask.task.instance_id"),
			orch.attr("durabletask.task.status"), orch.Status.Code)
	}
	if timer.Parent.SpanID != orch.SpanContext.SpanID {
		t.Errorf("timer span's parent %s, want the orchestration span %s", timer.Parent.SpanID, orch.SpanContext.SpanID)
	}
	// Task 0 ran on A; the timer is task 1; tasks 2 and 3 ran on B.
	clients := map[string]consoleSpan{}
	for _, c := range all.named("activity:SayHello", kindClient) {
		clients[c.SpanContext.SpanID] = c
		if c.Parent.SpanID != orch.SpanContext.SpanID {
			t.Errorf("activity Client span %s: parent %s, want the orchestration span %s", c, c.Parent.SpanID, orch.SpanContext.SpanID)
		}
		if c.StartTime.Before(orch.StartTime) {
			t.Errorf("activity Client span %s starts %v, before the orchestration span's persisted start %v", c, c.StartTime, orch.StartTime)
		}
	}
	ran := map[string]string{}
	for _, s := range all.named("activity:SayHello", kindServer) {
		c, ok := clients[s.Parent.SpanID]
		if !ok || c.attr("durabletask.task.task_id") != s.attr("durabletask.task.task_id") || s.Status.Code != "Ok" {
			t.Errorf("activity Server span %s (status %s) is not under the Client span of its task", s, s.Status.Code)
			continue
		}
		ran[s.attr("durabletask.task.task_id")] = s.host + "/" + c.host
	}
	want := map[string]string{"0": "A/A", "2": "B/B", "3": "B/B"}
	if len(clients) != 3 || fmt.Sprint(ran) != fmt.Sprint(want) {
		t.Errorf("activity tasks ran (Server/Client host) %v, want %v; spans:%s", ran, want, all)
	}
}
