package telemetry

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// scrape returns the Prometheus text of tel's metrics.
func scrape(t *testing.T, tel *Telemetry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/admin/metrics", nil))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("scrape: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestMetricsScrape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		orchestrator string
		local        bool
		want         []string
	}{
		{"HelloSequence", false, []string{
			"# TYPE durabletask_orchestration_starts_total counter",
			`durabletask_orchestration_starts_total{name="HelloSequence"} 1`,
			`durabletask_orchestration_completions_total{name="HelloSequence",status="Completed"} 1`,
			`durabletask_orchestration_episodes_total{name="HelloSequence",start="new"} 1`,
			`durabletask_orchestration_episodes_total{name="HelloSequence",start="replay"} 3`,
			`durabletask_activity_executions_total{mode="queued",name="SayHello",outcome="completed"} 3`,
			"# TYPE durabletask_activity_duration_seconds histogram",
			`durabletask_activity_duration_seconds_count{name="SayHello",outcome="completed"} 3`,
			`durabletask_activity_duration_seconds_bucket{name="SayHello",outcome="completed",le="+Inf"} 3`,
			`durabletask_orchestration_duration_seconds_count{name="HelloSequence",status="Completed"} 1`,
		}},
		{"HelloSequence", true, []string{
			`durabletask_activity_executions_total{mode="in_process",name="SayHello",outcome="completed"} 3`,
			`durabletask_orchestration_episodes_total{name="HelloSequence",start="live"} 3`,
		}},
		{"Failing", false, []string{
			`durabletask_activity_executions_total{mode="queued",name="Boom",outcome="failed"} 1`,
			`durabletask_orchestration_completions_total{name="Failing",status="Failed"} 1`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.orchestrator, func(t *testing.T) {
			t.Parallel()
			tel := New(Options{Metrics: true})
			runOne(t, tel, tc.orchestrator, tc.local)
			out := scrape(t, tel)
			for _, w := range tc.want {
				if !strings.Contains(out, w+"\n") {
					t.Errorf("scrape lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestQueueAndStorageMetrics(t *testing.T) {
	t.Parallel()
	tel := New(Options{Metrics: true})
	queues := func(context.Context) (*sp.QueueStats, error) {
		return &sp.QueueStats{
			ControlQueues: []sp.QueueDepth{{Name: "hub-control-00", Length: 3, OldestAge: 1500 * time.Millisecond, Owned: true}, {Name: "hub-control-01"}},
			WorkItems:     sp.QueueDepth{Name: "hub-workitems", Length: 7, OldestAge: 20 * time.Millisecond},
		}, nil
	}
	requests := func() map[string]int64 { return map[string]int64{"queue.dequeue": 12, "table.batch": 2} }
	if err := tel.ObserveStorage(queues, requests); err != nil {
		t.Fatal(err)
	}
	out := scrape(t, tel)
	for _, w := range []string{
		`durabletask_control_queue_length{partition="0",queue="hub-control-00"} 3`,
		`durabletask_control_queue_length{partition="1",queue="hub-control-01"} 0`,
		`durabletask_control_queue_latency_milliseconds{partition="0",queue="hub-control-00"} 1500`,
		`durabletask_partition_owned{partition="0",queue="hub-control-00"} 1`,
		`durabletask_partition_owned{partition="1",queue="hub-control-01"} 0`,
		`durabletask_work_item_queue_length{queue="hub-workitems"} 7`,
		`durabletask_work_item_queue_latency_milliseconds{queue="hub-workitems"} 20`,
		`durabletask_storage_requests_total{operation="dequeue",service="queue"} 12`,
		`durabletask_storage_requests_total{operation="batch",service="table"} 2`,
	} {
		if !strings.Contains(out, w+"\n") {
			t.Errorf("scrape lacks %q:\n%s", w, out)
		}
	}
}

func TestMetricsOff(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	New(Options{}).MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/admin/metrics", nil))
	if rec.Code != 404 {
		t.Errorf("metrics off: %d, want 404", rec.Code)
	}
}
