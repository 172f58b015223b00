package telemetry

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
)

func TestMetricExporterFromEnv(t *testing.T) {
	cases := []struct {
		env     map[string]string
		want    bool // an exporter
		wantErr bool
	}{
		{nil, false, false},
		{map[string]string{"OTEL_METRICS_EXPORTER": "none"}, false, false},
		{map[string]string{"OTEL_METRICS_EXPORTER": "prometheus"}, false, false},
		{map[string]string{"OTEL_METRICS_EXPORTER": "console"}, true, false},
		{map[string]string{"OTEL_METRICS_EXPORTER": "otlp"}, true, false},
		{map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true, false},
		{map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/json"}, false, true},
		{map[string]string{"OTEL_METRICS_EXPORTER": "zipkin"}, false, true},
		{map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, false, false},
	}
	for _, c := range cases {
		exp, err := MetricExporterFromEnv(context.Background(), func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
		if (err != nil) != c.wantErr || (exp != nil) != c.want {
			t.Errorf("%v: exporter %v, error %v; want exporter %v, error %v", c.env, exp != nil, err, c.want, c.wantErr)
		}
		if exp != nil {
			_ = exp.Shutdown(context.Background())
		}
	}
}

// syncBuf is a bytes.Buffer safe for the periodic reader's goroutine.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestMetricsPushed: with an exporter the metrics are pushed (here at
// shutdown, which flushes the periodic reader) and still scraped.
func TestMetricsPushed(t *testing.T) {
	buf := &syncBuf{}
	exp, err := stdoutmetric.New(stdoutmetric.WithWriter(buf))
	if err != nil {
		t.Fatal(err)
	}
	tel := New(Options{Metrics: true, MetricExporter: exp})
	runOne(t, tel, "HelloSequence", false)
	if got := scrape(t, tel); !strings.Contains(got, `durabletask_orchestration_starts_total{name="HelloSequence"} 1`) {
		t.Errorf("the scrape lost the counts:\n%s", got)
	}
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{`"Name":"durabletask.orchestration.starts"`, `"Name":"durabletask.activity.executions"`, `"Value":"HelloSequence"`} {
		if !strings.Contains(out, want) {
			t.Errorf("pushed metrics lack %s:\n%.2000s", want, out)
		}
	}
}
