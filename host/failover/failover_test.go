package failover

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	sp "github.com/funchost/funchost/storageprovider"
)

const (
	partitionCount = 4
	instanceCount  = 200
	// killAfterCompleted: the first host is killed once this many
	// orchestrations completed, so that some are done and most are in
	// flight.
	killAfterCompleted = 10
	// recoveryDeadline bounds the wait, after the kill, for all
	// orchestrations to complete: the dead host's leases expire (30 s)
	// and its received messages reappear (1 min control-queue lock).
	recoveryDeadline = 4 * time.Minute
)

// orchestration is one instance the test starts and what it must end with.
type orchestration struct {
	id, name string
	input    []byte
	output   string // the exact output JSON
	// activities is how many activities it calls and timers how many
	// durable timers it creates (each must be scheduled once and complete
	// in history).
	activities, timers int
}

var cities5 = []string{"Tokyo", "Seattle", "London", "Cairo", "Lima"}

func greetings(cities []string) string {
	out := make([]string, len(cities))
	for i, c := range cities {
		out[i] = "Hello " + c + "!"
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// verifyStatuses checks each instance through the management API: it
// completed once, with the exact output, and every activity it scheduled
// completed exactly once.
func verifyStatuses(t *testing.T, ctx context.Context, base string, work []orchestration) {
	t.Helper()
	var mu sync.Mutex
	var problems []string
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	parallel(t, 8, len(work), func(i int) error {
		o := work[i]
		s, err := getStatus(ctx, base, o.id)
		if err != nil {
			return err
		}
		if s.RuntimeStatus != "Completed" {
			report("%s: runtimeStatus %s, want Completed", o.id, s.RuntimeStatus)
			return nil
		}
		if got := compact(s.Output); got != o.output {
			report("%s: output %s, want %s", o.id, got, o.output)
		}
		counts := map[string]int{}
		for _, raw := range s.History {
			var ev struct{ EventType string }
			if err := json.Unmarshal(raw, &ev); err != nil {
				return fmt.Errorf("%s: history event %s: %w", o.id, raw, err)
			}
			counts[ev.EventType]++
		}
		// The API merges each TaskScheduled into its completion: one left
		// over is an activity without a result. Extra TaskCompleted events
		// are duplicate activity results (checked in the History table).
		if counts["ExecutionStarted"] != 1 || counts["ExecutionCompleted"] != 1 ||
			counts["TaskCompleted"] < o.activities || counts["TaskScheduled"] != 0 || counts["TaskFailed"] != 0 ||
			counts["TimerCreated"] != o.timers || counts["TimerFired"] < o.timers {
			report("%s (%s): history event counts %v, want 1 ExecutionStarted, 1 ExecutionCompleted, %d TaskCompleted, %d TimerCreated and TimerFired",
				o.id, o.name, counts, o.activities, o.timers)
		}
		return nil
	})
	if len(problems) > 0 {
		sort.Strings(problems)
		t.Fatalf("%d of %d orchestrations are wrong:\n%s", len(problems), len(work), strings.Join(problems, "\n"))
	}
}

// verifyHistoryTable reads the hub's History table directly: per instance
// the rows are numbered without gaps, there is one execution, one
// ExecutionStarted and one ExecutionCompleted, each task is scheduled once
// and has a completion. Activities run at least once: after a crash an
// activity may run again and its second result is appended to history,
// where replay ignores it (as in DTFx). Such a duplicate must carry the
// same result as the completion that counted; they are logged.
func verifyHistoryTable(t *testing.T, ctx context.Context, conn, hub string, work []orchestration) {
	t.Helper()
	svc, err := aztables.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		PartitionKey, RowKey, ExecutionId, EventType, Result string
		EventId, TaskScheduledId, TimerId                    int
	}
	rows := map[string][]row{}
	pager := svc.NewClient(hub + "History").NewListEntitiesPager(&aztables.ListEntitiesOptions{
		Select: ptr("PartitionKey,RowKey,ExecutionId,EventType,EventId,TaskScheduledId,TimerId,Result"),
	})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("reading the History table: %v", err)
		}
		for _, e := range page.Entities {
			var r row
			if err := json.Unmarshal(e, &r); err != nil {
				t.Fatalf("History row %s: %v", e, err)
			}
			rows[r.PartitionKey] = append(rows[r.PartitionKey], r)
		}
	}
	var problems, duplicates []string
	for _, o := range work {
		rs := rows[o.id]
		sort.Slice(rs, func(i, j int) bool { return rs[i].RowKey < rs[j].RowKey })
		execs := map[string]bool{}
		var keys []string
		counts := map[string]int{}
		scheduled := map[int]int{}
		results := map[int][]string{}
		timers := map[int]int{}
		fired := map[int]int{}
		for _, r := range rs {
			if r.RowKey == "sentinel" {
				continue
			}
			keys = append(keys, r.RowKey)
			execs[r.ExecutionId] = true
			counts[r.EventType]++
			switch r.EventType {
			case "TaskScheduled":
				scheduled[r.EventId]++
			case "TaskCompleted":
				results[r.TaskScheduledId] = append(results[r.TaskScheduledId], r.Result)
			case "TimerCreated":
				timers[r.EventId]++
			case "TimerFired":
				fired[r.TimerId]++
			}
		}
		for i, k := range keys {
			if n, err := strconv.ParseInt(k, 16, 64); err != nil || n != int64(i) {
				problems = append(problems, fmt.Sprintf("%s: history row keys are not 0..%d without gaps: %v", o.id, len(keys)-1, keys))
				break
			}
		}
		if len(execs) != 1 || counts["ExecutionStarted"] != 1 || counts["ExecutionCompleted"] != 1 {
			problems = append(problems, fmt.Sprintf("%s: %d executions, %d ExecutionStarted, %d ExecutionCompleted rows; want 1 each",
				o.id, len(execs), counts["ExecutionStarted"], counts["ExecutionCompleted"]))
		}
		if len(scheduled) != o.activities || counts["TaskFailed"] != 0 {
			problems = append(problems, fmt.Sprintf("%s: %d distinct TaskScheduled ids and %d TaskFailed rows, want %d and 0",
				o.id, len(scheduled), counts["TaskFailed"], o.activities))
		}
		for id, n := range scheduled {
			rs := results[id]
			switch {
			case n != 1 || len(rs) == 0:
				problems = append(problems, fmt.Sprintf("%s: task %d scheduled %d times and completed %d times; want once and at least once", o.id, id, n, len(rs)))
			case len(rs) > 1:
				duplicates = append(duplicates, fmt.Sprintf("%s task %d ×%d", o.id, id, len(rs)))
				for _, r := range rs[1:] {
					if r != rs[0] {
						problems = append(problems, fmt.Sprintf("%s: task %d has completions with different results %q", o.id, id, rs))
						break
					}
				}
			}
		}
		if len(timers) != o.timers {
			problems = append(problems, fmt.Sprintf("%s: %d distinct TimerCreated ids, want %d", o.id, len(timers), o.timers))
		}
		for id, n := range timers {
			if n != 1 || fired[id] == 0 {
				problems = append(problems, fmt.Sprintf("%s: timer %d created %d times and fired %d times; want once and at least once", o.id, id, n, fired[id]))
			}
		}
		for id := range fired {
			if timers[id] == 0 {
				problems = append(problems, fmt.Sprintf("%s: TimerFired for timer %d that was never created", o.id, id))
			}
		}
		for id := range results {
			if scheduled[id] == 0 {
				problems = append(problems, fmt.Sprintf("%s: TaskCompleted for task %d that was never scheduled", o.id, id))
			}
		}
	}
	t.Logf("History table: %d activity results were delivered more than once (the activity ran again after the crash; replay ignores the extra result): %v",
		len(duplicates), duplicates)
	if len(problems) > 0 {
		t.Fatalf("History table: %d problems:\n%s", len(problems), strings.Join(problems, "\n"))
	}
}

// ---- small helpers ----

// onePerPartition returns a HelloSequence orchestration for each
// partition, with IDs made of prefix and a number.
func onePerPartition(prefix string) []orchestration {
	var out []orchestration
	seen := map[int]bool{}
	for i := 0; len(out) < partitionCount; i++ {
		id := fmt.Sprintf("%s-%d", prefix, i)
		if p := sp.PartitionIndex(id, partitionCount); !seen[p] {
			seen[p] = true
			out = append(out, orchestration{id: id, name: "HelloSequence", output: greetings(cities5[:3]), activities: 3})
		}
	}
	return out
}

// allCompleted returns nil once every orchestration in work is Completed.
func allCompleted(ctx context.Context, base string, work []orchestration) error {
	for _, o := range work {
		s, err := getStatus(ctx, base, o.id)
		if err != nil {
			return err
		}
		if s.RuntimeStatus != "Completed" {
			return fmt.Errorf("%w: %s is %s", errNotYet, o.id, s.RuntimeStatus)
		}
	}
	return nil
}

// waitFor polls cond every 200 ms until it returns nil. It fails the test
// when the timeout passes, cond returns an error other than errNotYet, or
// one of the hosts exits; before failing it calls diagnose, when given.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error, diagnose func(), hosts ...*hostProc) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	fail := func(format string, args ...any) {
		t.Helper()
		if diagnose != nil {
			diagnose()
		}
		t.Fatalf(format, args...)
	}
	for {
		last := cond()
		if last == nil {
			return
		}
		if !isNotYet(last) {
			t.Logf("waiting for %s: %v", what, last)
		}
		for _, h := range hosts {
			if !h.alive() {
				fail("waiting for %s: host %s exited (%v)", what, h.name, h.exitErr())
			}
		}
		if time.Now().After(deadline) {
			fail("waiting for %s: not done within %s: %v", what, timeout, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func isNotYet(err error) bool {
	for e := err; e != nil; {
		if e == errNotYet {
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

// parallel runs fn(0..n-1) on limit goroutines and fails the test with the
// errors.
func parallel(t *testing.T, limit, n int, fn func(i int) error) {
	t.Helper()
	var mu sync.Mutex
	var errs []string
	var wg sync.WaitGroup
	sem := make(chan struct{}, limit)
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(i); err != nil {
				mu.Lock()
				errs = append(errs, err.Error())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		sort.Strings(errs)
		t.Fatalf("%d errors:\n%s", len(errs), strings.Join(errs, "\n"))
	}
}

// statusMap lists the hub's instances and returns the runtime status of
// those in work, by instance ID.
func statusMap(ctx context.Context, base string, work []orchestration) (map[string]string, error) {
	list, err := listStatuses(ctx, base)
	if err != nil {
		return nil, err
	}
	want := make(map[string]bool, len(work))
	for _, o := range work {
		want[o.id] = true
	}
	out := make(map[string]string, len(work))
	for _, s := range list {
		if want[s.InstanceID] {
			out[s.InstanceID] = s.RuntimeStatus
		}
	}
	return out, nil
}

func count(st map[string]string, status string) int {
	n := 0
	for _, s := range st {
		if s == status {
			n++
		}
	}
	return n
}

func keys(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

func ptr[T any](v T) *T { return &v }
