package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func durs(msList ...int) []time.Duration {
	out := make([]time.Duration, len(msList))
	for i, v := range msList {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestPercentileNearestRank(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"single", durs(7), 99, 7 * time.Millisecond},
		{"p50 of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p95 of 1..100", hundred, 95, 95 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p100 of 1..100", hundred, 100, 100 * time.Millisecond},
		{"p50 of four rounds up the rank", durs(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p51 of four", durs(1, 2, 3, 4), 51, 3 * time.Millisecond},
		{"p99 of ten is the max", durs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"tiny p is the min", durs(3, 5, 9), 0.1, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarizeSortsAndRounds(t *testing.T) {
	tests := []struct {
		name    string
		samples []time.Duration
		want    Latency
	}{
		{"empty", nil, Latency{}},
		{"unsorted", durs(40, 10, 30, 20), Latency{P50: 20, P95: 40, P99: 40, Max: 40, Mean: 25}},
		{"sub-millisecond", []time.Duration{1500 * time.Microsecond, 2555 * time.Microsecond},
			Latency{P50: 1.5, P95: 2.56, P99: 2.56, Max: 2.56, Mean: 2.03}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(tt.samples); got != tt.want {
				t.Errorf("summarize = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPerOrchestration(t *testing.T) {
	tests := []struct {
		name      string
		before    map[string]int64
		after     map[string]int64
		n         int
		wantTotal float64
		wantOps   map[string]float64
	}{
		{"diff and divide",
			map[string]int64{"queue.PutMessage": 10, "table.GetEntity": 3},
			map[string]int64{"queue.PutMessage": 110, "table.GetEntity": 3, "table.SubmitTransaction": 50},
			50, 3, map[string]float64{"queue.PutMessage": 2, "table.SubmitTransaction": 1}},
		{"no requests", map[string]int64{}, map[string]int64{}, 10, 0, map[string]float64{}},
		{"rounds", nil, map[string]int64{"blob.Upload": 1}, 3, 0.33, map[string]float64{"blob.Upload": 0.333}},
		{"zero n", nil, map[string]int64{"x": 1}, 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			total, ops := perOrchestration(tt.before, tt.after, tt.n)
			if total != tt.wantTotal {
				t.Errorf("total = %v, want %v", total, tt.wantTotal)
			}
			if len(ops) != len(tt.wantOps) {
				t.Fatalf("ops = %v, want %v", ops, tt.wantOps)
			}
			for k, v := range tt.wantOps {
				if ops[k] != v {
					t.Errorf("ops[%s] = %v, want %v", k, ops[k], v)
				}
			}
		})
	}
}

func TestJudge(t *testing.T) {
	tests := []struct {
		op               string
		target, measured float64
		met              bool
	}{
		{">=", 90, 90, true},
		{">=", 90, 89.9, false},
		{"<=", 20, 20, true},
		{"<=", 20, 20.5, false},
	}
	for _, tt := range tests {
		if got := judge("m", tt.op, tt.target, tt.measured); got.Met != tt.met {
			t.Errorf("judge(%s %v, %v).Met = %v, want %v", tt.op, tt.target, tt.measured, got.Met, tt.met)
		}
	}
}

func TestParseProc(t *testing.T) {
	stat := "1234 (my (odd) cmd) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 100 1000 500"
	got, err := parseStatCPU(stat)
	if err != nil || got != 3*time.Second {
		t.Errorf("parseStatCPU = %v, %v; want 3s (300 ticks)", got, err)
	}
	if _, err := parseStatCPU("garbage"); err == nil {
		t.Error("parseStatCPU accepted a line without a command name")
	}
	status := "Name:\tbench\nVmHWM:\t  20480 kB\nVmRSS:\t   10240 kB\n"
	for _, tt := range []struct {
		key  string
		want int64
	}{{"VmHWM:", 20480}, {"VmRSS:", 10240}, {"VmSwap:", 0}} {
		if got := parseStatusKB(status, tt.key); got != tt.want {
			t.Errorf("parseStatusKB(%s) = %d, want %d", tt.key, got, tt.want)
		}
	}
}

func TestScenarioFor(t *testing.T) {
	tests := []struct {
		name       string
		fanout     int
		activities int
		wantErr    bool
	}{
		{"HelloSequence", 0, 3, false},
		{"HelloCities5", 0, 5, false},
		{"FanOutFanIn", 1000, 1000, false},
		{"FanOutFanIn", 0, 0, true},
		{"Nope", 0, 0, true},
	}
	for _, tt := range tests {
		sc, err := scenarioFor(tt.name, tt.fanout)
		if (err != nil) != tt.wantErr {
			t.Errorf("scenarioFor(%s, %d) error = %v, wantErr %v", tt.name, tt.fanout, err, tt.wantErr)
			continue
		}
		if err == nil && sc.activities != tt.activities {
			t.Errorf("scenarioFor(%s).activities = %d, want %d", tt.name, sc.activities, tt.activities)
		}
	}
}

func TestReportFormats(t *testing.T) {
	req := 12.5
	r := &Result{Scenario: "HelloCities5", Provider: "azurite", Mode: "in-process", N: 10, Concurrency: 5,
		Completed: 10, OrchestrationsPerSecond: 95.5, LatencyMs: Latency{P50: 12, P95: 30, P99: 31},
		StorageRequestsPerOrchestration: &req, StorageRequestsByOperation: map[string]float64{"queue.Put": 5, "table.Batch": 7.5, "queue.Delete": 2001, "blob.List": 0.001},
		PeakRSSBytes: 50 << 20}
	r.Checks = []Check{judge("orchestrationsPerSecond", ">=", 90, r.OrchestrationsPerSecond)}

	var js bytes.Buffer
	if err := writeJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js.Bytes(), &m); err != nil {
		t.Fatalf("JSON line does not decode: %v", err)
	}
	for _, k := range []string{"scenario", "provider", "n", "orchestrationsPerSecond", "latencyMs", "storageRequestsPerOrchestration", "peakRSSBytes"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks required field %q: %s", k, js.String())
		}
	}
	if lat, _ := m["latencyMs"].(map[string]any); lat["p95"] != 30.0 {
		t.Errorf("latencyMs.p95 = %v, want 30", lat["p95"])
	}

	var md bytes.Buffer
	writeMarkdown(&md, []*Result{r})
	out := md.String()
	for _, want := range []string{"| HelloCities5 | azurite | in-process | 10 | 5 | 10/0 |", "| 12.5 |", "queue.Delete 2001, table.Batch 7.5, queue.Put 5, blob.List 0.001", "(met)"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}

func TestTrackerDeliversEarlyAndLateCompletions(t *testing.T) {
	tr := newTracker(nil)
	tr.done(outcome{instanceID: "early", status: "Completed"})
	o, err := tr.wait(context.Background(), "early")
	if err != nil || o.status != "Completed" {
		t.Fatalf("early completion: %+v, %v", o, err)
	}
	got := make(chan outcome)
	go func() {
		o, _ := tr.wait(context.Background(), "late")
		got <- o
	}()
	// The waiter may or may not be registered yet; both orders must work.
	tr.done(outcome{instanceID: "late", status: "Failed"})
	if o := <-got; o.status != "Failed" {
		t.Errorf("late completion status = %q, want Failed", o.status)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tr.wait(ctx, "never"); err == nil {
		t.Error("wait on a cancelled context returned no error")
	}
	if len(tr.waiters) != 0 || len(tr.early) != 0 {
		t.Errorf("tracker leaks entries: waiters %v early %v", tr.waiters, tr.early)
	}
}

func TestAnalyzeNodeProfile(t *testing.T) {
	const prof = `{"nodes":[
	 {"id":1,"callFrame":{"functionName":"(root)","url":"","lineNumber":-1},"children":[2]},
	 {"id":2,"callFrame":{"functionName":"handle","url":"file:///x/TableHandler.js","lineNumber":7},"children":[3,4]},
	 {"id":3,"callFrame":{"functionName":"$eq","url":"file:///x/lokijs.js","lineNumber":464},"children":[]},
	 {"id":4,"callFrame":{"functionName":"","url":"file:///x/lokijs.js","lineNumber":9},"children":[]}],
	 "samples":[3,3,2,4],"timeDeltas":[10,10,10,10]}`
	var p nodeProfile
	if err := json.Unmarshal([]byte(prof), &p); err != nil {
		t.Fatal(err)
	}
	got := map[string]frameCost{}
	for _, c := range analyzeNodeProfile(&p) {
		got[c.Frame] = c
	}
	tests := []struct {
		frame           string
		self, inclusive float64
	}{
		{"(root)", 0, 1},
		{"handle TableHandler.js:7", 0.25, 1},
		{"$eq lokijs.js:464", 0.5, 0.5},
		{"(anonymous) lokijs.js:9", 0.25, 0.25},
	}
	for _, tt := range tests {
		c, ok := got[tt.frame]
		if !ok {
			t.Errorf("frame %q missing from %v", tt.frame, got)
			continue
		}
		if c.Self != tt.self || c.Inclusive != tt.inclusive {
			t.Errorf("%s: self %v inclusive %v, want %v %v", tt.frame, c.Self, c.Inclusive, tt.self, tt.inclusive)
		}
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name         string
		args         []string
		wantErr      bool
		wantProvider string
		wantConc     int
	}{
		{"defaults", nil, false, "memory", 100},
		{"sequential is concurrency 1", []string{"-sequential", "-concurrency", "50"}, false, "memory", 1},
		{"http labels the provider host", []string{"-http", "http://127.0.0.1:7071"}, false, "host", 100},
		{"http keeps an explicit label", []string{"-http", "http://x", "-provider", "azurite"}, false, "azurite", 100},
		{"azure needs a connection", []string{"-provider", "azure"}, true, "", 0},
		{"host label needs http", []string{"-provider", "host"}, true, "", 0},
		{"unknown provider", []string{"-provider", "sql"}, true, "", 0},
		{"n must be positive", []string{"-n", "0"}, true, "", 0},
		{"stray argument", []string{"HelloSequence"}, true, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseFlags(tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseFlags(%q) error = %v, wantErr %v", tt.args, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if c.provider != tt.wantProvider || c.concurrency != tt.wantConc {
				t.Errorf("provider %q concurrency %d, want %q %d", c.provider, c.concurrency, tt.wantProvider, tt.wantConc)
			}
		})
	}
}

func TestRunLoadInProcessMemory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tests := []struct {
		scenario string
		fanout   int
		n, conc  int
	}{
		{"HelloSequence", 0, 50, 10},
		{"HelloCities5", 0, 20, 1},
		{"FanOutFanIn", 30, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			p, err := newInproc(ctx, inprocConfig{provider: "memory", hubName: "bench" + randomHex(8), worker: defaultWorker()})
			if err != nil {
				t.Fatal(err)
			}
			sc, err := scenarioFor(tt.scenario, tt.fanout)
			if err != nil {
				t.Fatal(err)
			}
			r := runLoad(ctx, p, sc, loadOptions{n: tt.n, concurrency: tt.conc})
			if err := p.close(ctx); err != nil {
				t.Errorf("close: %v", err)
			}
			if r.Completed != tt.n || r.Failed != 0 || r.Error != "" {
				t.Fatalf("completed %d failed %d (%s), want %d completed", r.Completed, r.Failed, r.Error, tt.n)
			}
			if r.Concurrency != tt.conc || r.N != tt.n || r.Provider != "memory" || r.Mode != "in-process" {
				t.Errorf("result header %+v", r)
			}
			if r.LatencyMs.P50 <= 0 || r.LatencyMs.P99 < r.LatencyMs.P50 || r.LatencyMs.Max < r.LatencyMs.P99 {
				t.Errorf("latency percentiles out of order: %+v", r.LatencyMs)
			}
			if r.StorageRequestsPerOrchestration != nil {
				t.Errorf("memory provider reported storage requests: %v", *r.StorageRequestsPerOrchestration)
			}
			if r.PeakRSSBytes <= 0 {
				t.Errorf("peak RSS not measured: %d", r.PeakRSSBytes)
			}
		})
	}
}
