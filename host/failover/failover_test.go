package failover

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

const (
	partitionCount = 4
	instanceCount  = 200
	// killAfterCompleted: host B is killed once this many orchestrations
	// completed, so that some are done and most are in flight.
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

// workload is instanceCount orchestrations: mostly three- and five-step
// sequences, every tenth a small fan-out/fan-in, every twentieth a wait for
// an approval that times out on a durable timer (which fires after the
// kill).
func workload(n int) []orchestration {
	out := make([]orchestration, n)
	for i := range out {
		o := orchestration{id: fmt.Sprintf("fo-%03d", i)}
		switch {
		case i%20 == 4:
			o.name, o.input, o.output, o.timers = "ApprovalWithTimeout", []byte(`{"timeoutSeconds":3}`), `{"approved":false,"reason":"timed out"}`, 1
		case i%10 == 9:
			k := 2 + i%4
			o.name, o.input, o.output, o.activities = "FanOutFanIn", []byte(strconv.Itoa(k)), strconv.Itoa(k*(k+1)/2), k
		case i%2 == 0:
			o.name, o.output, o.activities = "HelloSequence", greetings(cities5[:3]), 3
		default:
			o.name, o.output, o.activities = "HelloCities5", greetings(cities5), 5
		}
		out[i] = o
	}
	return out
}

// TestKillOneOfTwoHostProcesses runs the sample app as two processes on one
// task hub, starts 200 orchestrations through both, SIGKILLs one process
// mid-run and checks that the survivor takes over its partitions and that
// every orchestration completes exactly once with the right output, and
// that every entity signal sent before the kill is applied exactly once.
func TestKillOneOfTwoHostProcesses(t *testing.T) {
	testStart := time.Now()
	dir := t.TempDir()
	bin := buildSamples(t, dir)
	t.Logf("built the sample app in %s", time.Since(testStart).Round(time.Millisecond))

	az, err := azuritetest.Start(azuritetest.Options{})
	if err != nil {
		t.Fatalf("Azurite is required for this test and could not be started: %v", err)
	}
	t.Cleanup(az.Stop)
	conn := az.ConnectionString()

	// Host logs go to a folder that is kept when the test fails.
	logDir, err := os.MkdirTemp("", "funchost-failover-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() && os.Getenv("FUNCHOST_FAILOVER_KEEP_LOGS") == "" {
			os.RemoveAll(logDir)
		}
	})
	hub := fmt.Sprintf("Failover%08x", rand.Uint32())
	root := filepath.Join(dir, "app")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	writeScriptRoot(t, root, appSettings{hub: hub, connection: conn})

	a := startHost(t, "A", bin, root, logDir)
	b := startHost(t, "B", bin, root, logDir)
	t.Cleanup(func() {
		if t.Failed() {
			a.dump(t)
			b.dump(t)
		}
	})
	t.Logf("hub %s; host A on %s, host B on %s; logs in %s", hub, a.base, b.base, logDir)

	// Phase 1: B joins and the partitions are balanced, two each.
	balanceStart := time.Now()
	waitFor(t, 90*time.Second, "partitions balanced two and two", func() error {
		oa, ob := a.owned(), b.owned()
		if len(oa) == 2 && len(ob) == 2 {
			return nil
		}
		return fmt.Errorf("%w: A owns %v, B owns %v", errNotYet, keys(oa), keys(ob))
	}, nil, a, b)
	// A host that stole a partition starts receiving it only after the
	// previous owner had time to notice: warm up with one orchestration
	// per partition, so that the run starts with both hosts receiving.
	warm := onePerPartition("fo-warm")
	for i, o := range warm {
		if err := startOrchestration(context.Background(), []*hostProc{a, b}[i%2].base, o.name, o.id, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, time.Minute, "the warm-up orchestrations completed", func() error {
		return allCompleted(context.Background(), a.base, warm)
	}, nil, a, b)
	bParts := b.owned()
	t.Logf("phase balance: %s (A owns %v, B owns %v)", time.Since(balanceStart).Round(time.Millisecond), keys(a.owned()), keys(bParts))

	// Phase 2: start the orchestrations through A and B alternately.
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	work := workload(instanceCount)
	onB := 0
	for _, o := range work {
		if bParts[sp.PartitionIndex(o.id, partitionCount)] {
			onB++
		}
	}
	runStart := time.Now()
	parallel(t, 32, len(work), func(i int) error {
		host := []*hostProc{a, b}[i%2]
		return startOrchestration(ctx, host.base, work[i].name, work[i].id, work[i].input)
	})
	t.Logf("phase start: %d orchestrations started in %s (%d of them on B's partitions)",
		len(work), time.Since(runStart).Round(time.Millisecond), onB)
	signalCounters(t, ctx, []*hostProc{a, b})

	// Phase 3: once some have completed, kill B.
	var atKill map[string]string
	waitFor(t, 2*time.Minute, fmt.Sprintf("%d orchestrations completed", killAfterCompleted), func() error {
		st, err := statusMap(ctx, a.base, work)
		if err != nil {
			return err
		}
		if n := count(st, "Completed"); n < killAfterCompleted {
			return fmt.Errorf("%w: %d completed", errNotYet, n)
		}
		atKill = st
		return nil
	}, nil, a, b)
	if err := b.cmd.Process.Kill(); err != nil {
		t.Fatalf("killing host B: %v", err)
	}
	killedAt := time.Now()
	<-b.done
	inFlightB := map[string]bool{}
	kinds := map[string]int{}
	for _, o := range work {
		if bParts[sp.PartitionIndex(o.id, partitionCount)] && atKill[o.id] != "Completed" {
			inFlightB[o.id] = true
			kinds[atKill[o.id]]++
		}
	}
	t.Logf("phase run: killed B (SIGKILL) %s after the first start, with %d of %d completed and %d in flight on B's partitions %v (by status: %v)",
		killedAt.Sub(runStart).Round(time.Millisecond), count(atKill, "Completed"), len(work), len(inFlightB), keys(bParts), kinds)

	// Phase 4: A takes over B's partitions and everything completes.
	var tookOver time.Duration
	var final map[string]string
	doneAt := map[string]time.Duration{} // since the kill, as first seen
	idle := 0                            // consecutive polls with empty queues
	waitFor(t, recoveryDeadline, "all orchestrations completed after the kill", func() error {
		if tookOver == 0 && len(a.owned()) == partitionCount {
			tookOver = time.Since(killedAt)
			t.Logf("phase take-over: A owns all %d partitions %s after the kill", partitionCount, tookOver.Round(time.Millisecond))
		}
		st, err := statusMap(ctx, a.base, work)
		if err != nil {
			return err
		}
		for id, s := range st {
			if s == "Failed" || s == "Terminated" || s == "Canceled" {
				t.Fatalf("instance %s ended %s", id, s)
			}
		}
		final = st
		for id, s := range st {
			if _, ok := doneAt[id]; !ok && s == "Completed" {
				doneAt[id] = time.Since(killedAt)
			}
		}
		n := count(st, "Completed")
		if n == len(work) && len(st) == len(work) {
			return nil
		}
		// Unfinished instances while every queue of the hub is empty
		// (invisible messages count too) will never finish: fail now
		// rather than at the deadline.
		if tookOver > 0 {
			pending, err := queuedMessages(ctx, conn, hub)
			if err != nil {
				return err
			}
			if idle = idle + 1; pending > 0 {
				idle = 0
			}
			if idle >= 3 {
				diagnoseStuck(t, conn, hub, a.base, st)
				failStuck(t, ctx, conn, hub, st)
			}
		}
		return fmt.Errorf("%w: %d of %d completed, %d instances listed", errNotYet, n, len(work), len(st))
	}, func() { diagnoseStuck(t, conn, hub, a.base, final) }, a)
	recovered := time.Since(killedAt)
	t.Logf("phase recovery: all %d completed %s after the kill (%s after the first start)",
		len(final), recovered.Round(time.Millisecond), time.Since(runStart).Round(time.Millisecond))

	// When did the work B was doing finish, relative to the take-over?
	var lastB time.Duration
	afterTakeOver := 0
	for id := range inFlightB {
		lastB = max(lastB, doneAt[id])
		if doneAt[id] > tookOver+2*time.Second {
			afterTakeOver++
		}
	}
	t.Logf("phase recovery: of the %d instances in flight on B's partitions, the last completed %s after the kill; %d completed more than 2 s after the take-over (waiting for messages B had locked)",
		len(inFlightB), lastB.Round(time.Millisecond), afterTakeOver)

	// A's log shows it acquired every partition B had held.
	acq := a.acquiredSince(killedAt)
	for p := range bParts {
		at, ok := acq[p]
		if !ok {
			t.Errorf("host A's log shows no acquisition of partition %d (held by B) after the kill", p)
			continue
		}
		t.Logf("A acquired B's partition %d %s after the kill", p, at.Sub(killedAt).Round(time.Millisecond))
	}

	// Phase 5: nothing lost, nothing completed twice.
	verifyStatuses(t, ctx, a.base, work)
	verifyHistoryTable(t, ctx, conn, hub, work)
	verifyCounters(t, ctx, a.base)

	// Phase 6: A still serves, on every partition.
	after := time.Now()
	extra := onePerPartition("fo-after")
	for _, o := range extra {
		if err := startOrchestration(ctx, a.base, o.name, o.id, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, time.Minute, "the post-fail-over orchestrations completed", func() error {
		return allCompleted(ctx, a.base, extra)
	}, nil, a)
	verifyStatuses(t, ctx, a.base, extra)
	t.Logf("phase after: %d new orchestrations (one per partition) completed on A in %s",
		len(extra), time.Since(after).Round(time.Millisecond))

	if err := a.stop(45 * time.Second); err != nil {
		t.Errorf("host A did not shut down cleanly on SIGTERM: %v", err)
	}
	t.Logf("total test time %s", time.Since(testStart).Round(time.Millisecond))
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
