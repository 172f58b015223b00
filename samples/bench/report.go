package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Latency holds start→Completed latency percentiles in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Check is one target of the standard set, judged against a measured value.
type Check struct {
	Metric   string  `json:"metric"`
	Op       string  `json:"op"` // "<=" or ">="
	Target   float64 `json:"target"`
	Measured float64 `json:"measured"`
	Met      bool    `json:"met"`
}

// Result is the outcome of one scenario run: one JSON line with -json, one
// row of the markdown table otherwise.
type Result struct {
	Scenario    string `json:"scenario"`
	Provider    string `json:"provider"`
	Mode        string `json:"mode"` // "in-process" or "http"
	N           int    `json:"n"`
	Concurrency int    `json:"concurrency"`
	FanOut      int    `json:"fanout,omitempty"`
	Prefilled   int    `json:"prefilled,omitempty"` // completed instances stored before the run (-prefill)
	Completed   int    `json:"completed"`
	Failed      int    `json:"failed"`

	ElapsedSeconds          float64 `json:"elapsedSeconds"`
	OrchestrationsPerSecond float64 `json:"orchestrationsPerSecond"`
	ActivitiesPerSecond     float64 `json:"activitiesPerSecond"`
	LatencyMs               Latency `json:"latencyMs"`

	// StorageRequestsPerOrchestration is nil when the provider has no
	// request counter (memory, or a remote host over HTTP).
	StorageRequestsPerOrchestration *float64 `json:"storageRequestsPerOrchestration"`
	// StorageRequestsByOperation is per orchestration, keyed
	// "service.Operation".
	StorageRequestsByOperation map[string]float64 `json:"storageRequestsByOperation,omitempty"`
	// StorageRequestsPerSecond is the request rate the run sustained.
	StorageRequestsPerSecond float64 `json:"storageRequestsPerSecond,omitempty"`

	CPUSeconds    float64 `json:"cpuSeconds"`
	PeakRSSBytes  int64   `json:"peakRSSBytes"`
	RSSAfterBytes int64   `json:"rssAfterBytes"`
	// AzuriteCPUSeconds is the CPU time the Azurite process used during
	// the run, when its pid is known; AzuriteCPUPerRequestMs divides it by
	// the storage requests (compare with the -probe-azurite figures).
	AzuriteCPUSeconds      float64 `json:"azuriteCPUSeconds,omitempty"`
	AzuriteCPUPerRequestMs float64 `json:"azuriteCPUPerRequestMs,omitempty"`

	// LoadAverage is the machine's 1-minute load average when the run
	// started: the machine is shared, and figures taken under load say so.
	LoadAverage float64 `json:"loadAverage1m"`

	// Steps, ActivityMsFirstTenth and ActivityMsLastTenth describe a
	// LongSequence run: its activities, and the median time per activity
	// over the first and the last tenth of them.
	Steps                int      `json:"steps,omitempty"`
	ActivityMsFirstTenth *float64 `json:"activityMsFirstTenth,omitempty"`
	ActivityMsLastTenth  *float64 `json:"activityMsLastTenth,omitempty"`
	// HeapPerParkedInstanceBytes and RSSPerParkedInstanceBytes are the
	// host memory one instance waiting for an event costs (Parked).
	HeapPerParkedInstanceBytes int64 `json:"heapPerParkedInstanceBytes,omitempty"`
	RSSPerParkedInstanceBytes  int64 `json:"rssPerParkedInstanceBytes,omitempty"`

	Checks []Check `json:"checks,omitempty"`
	Error  string  `json:"error,omitempty"`
}

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of
// sorted, or 0 for an empty slice. Nearest rank never invents a value that
// was not measured, which keeps small samples honest.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

// summarize computes the latency summary of samples (which it sorts).
func summarize(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	var sum time.Duration
	for _, s := range samples {
		sum += s
	}
	return Latency{
		P50:  ms(percentile(samples, 50)),
		P95:  ms(percentile(samples, 95)),
		P99:  ms(percentile(samples, 99)),
		Max:  ms(samples[len(samples)-1]),
		Mean: ms(sum / time.Duration(len(samples))),
	}
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 2) }

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// perOrchestration divides request counts (after minus before) by n, keeping
// only operations that were used.
func perOrchestration(before, after map[string]int64, n int) (total float64, byOp map[string]float64) {
	if n <= 0 {
		return 0, nil
	}
	byOp = map[string]float64{}
	for k, v := range after {
		d := v - before[k]
		if d <= 0 {
			continue
		}
		byOp[k] = round(float64(d)/float64(n), 3)
		total += float64(d)
	}
	return round(total/float64(n), 2), byOp
}

// judge evaluates a target.
func judge(metric, op string, target, measured float64) Check {
	met := measured <= target
	if op == ">=" {
		met = measured >= target
	}
	return Check{Metric: metric, Op: op, Target: target, Measured: measured, Met: met}
}

// writeJSON writes v as one JSON line.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// writeMarkdown writes the results as a markdown table, followed by the
// storage requests per orchestration by operation for runs that counted
// them, and the target checks when there are any.
func writeMarkdown(w io.Writer, results []*Result) {
	fmt.Fprintln(w, "| scenario | provider | mode | n | conc. | done/failed | elapsed s | orch/s | act/s | p50 ms | p95 ms | p99 ms | storage req/orch | CPU s | peak RSS MB | Azurite CPU s | load |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		name := r.Scenario
		if r.FanOut > 0 {
			name = fmt.Sprintf("%s(%d)", r.Scenario, r.FanOut)
		}
		req := "n/a"
		if r.StorageRequestsPerOrchestration != nil {
			req = fmt.Sprintf("%.1f", *r.StorageRequestsPerOrchestration)
		}
		az := "n/a"
		if r.AzuriteCPUSeconds > 0 {
			az = fmt.Sprintf("%.2f", r.AzuriteCPUSeconds)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %d | %d | %d/%d | %.2f | %.1f | %.1f | %.1f | %.1f | %.1f | %s | %.2f | %.1f | %s | %.1f |\n",
			name, r.Provider, r.Mode, r.N, r.Concurrency, r.Completed, r.Failed, r.ElapsedSeconds,
			r.OrchestrationsPerSecond, r.ActivitiesPerSecond, r.LatencyMs.P50, r.LatencyMs.P95, r.LatencyMs.P99,
			req, r.CPUSeconds, float64(r.PeakRSSBytes)/(1<<20), az, r.LoadAverage)
	}
	for _, r := range results {
		if len(r.StorageRequestsByOperation) == 0 {
			continue
		}
		fmt.Fprintf(w, "\nStorage requests per orchestration, %s on %s: %s\n", r.Scenario, r.Provider, formatOps(r.StorageRequestsByOperation))
	}
	for _, r := range results {
		for _, c := range r.Checks {
			verdict := "met"
			if !c.Met {
				verdict = "MISSED"
			}
			fmt.Fprintf(w, "\n- %s %s: %s %s %g → %g (%s)", r.Scenario, r.Provider, c.Metric, c.Op, c.Target, c.Measured, verdict)
		}
	}
	for _, r := range results {
		if r.Error != "" {
			fmt.Fprintf(w, "\n- %s %s: error: %s", r.Scenario, r.Provider, r.Error)
		}
	}
	fmt.Fprintln(w)
}

// formatOps renders a by-operation map sorted by descending count.
func formatOps(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + strconv.FormatFloat(m[k], 'f', -1, 64)
	}
	return strings.Join(parts, ", ")
}
