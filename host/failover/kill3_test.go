//go:build faults

package failover

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// mixedWorkload is n orchestrations of every kind the kill test checks:
// three- and five-step sequences, fan-out/fan-in, a sub-orchestration
// (ParentChild runs HelloSequence as its child), durable timers
// (ApprovalWithTimeout times out) and external events (WaitForApproval
// gets its Approval raised by the test; raised reports whether it is).
func mixedWorkload(n int) []orchestration {
	out := make([]orchestration, n)
	for i := range out {
		o := orchestration{id: fmt.Sprintf("k3-%03d", i)}
		switch {
		case i%20 == 4:
			o.name, o.input, o.output, o.timers = "ApprovalWithTimeout", []byte(`{"timeoutSeconds":3}`), `{"approved":false,"reason":"timed out"}`, 1
		case i%10 == 9:
			k := 2 + i%4
			o.name, o.input, o.output, o.activities = "FanOutFanIn", []byte(strconv.Itoa(k)), strconv.Itoa(k*(k+1)/2), k
		case i%10 == 3:
			o.name, o.output = "ParentChild", `{"child":`+greetings(cities5[:3])+`}`
		case i%10 == 7:
			o.name, o.output = "WaitForApproval", fmt.Sprintf(`{"by":"%s"}`, o.id)
		case i%2 == 0:
			o.name, o.output, o.activities = "HelloSequence", greetings(cities5[:3]), 3
		default:
			o.name, o.output, o.activities = "HelloCities5", greetings(cities5), 5
		}
		out[i] = o
	}
	return out
}

// raiseApprovals raises Approval on the workload's WaitForApproval
// instances whose index i satisfies pick(i), through the given hosts in
// turn.
func raiseApprovals(t *testing.T, ctx context.Context, work []orchestration, hosts []*hostProc, pick func(i int) bool) {
	t.Helper()
	var idx []int
	for i, o := range work {
		if o.name == "WaitForApproval" && pick(i) {
			idx = append(idx, i)
		}
	}
	parallel(t, 8, len(idx), func(k int) error {
		o := work[idx[k]]
		url := hosts[k%len(hosts)].base + "/runtime/webhooks/durabletask/instances/" + o.id + "/raiseEvent/Approval"
		code, b, _, err := call(ctx, "POST", url, []byte(o.output))
		if err == nil && code != http.StatusAccepted {
			err = fmt.Errorf("raising Approval on %s: %d %s", o.id, code, b)
		}
		return err
	})
}

// subOrchestrations returns the HelloSequence children the ParentChild
// instances of work created, found by listing the hub: each parent must
// have created exactly one (a child created twice after a crash shows as
// an extra instance).
func subOrchestrations(t *testing.T, ctx context.Context, base string, work []orchestration) []orchestration {
	t.Helper()
	mine := map[string]bool{}
	parents := 0
	for _, o := range work {
		mine[o.id] = true
		if o.name == "ParentChild" {
			parents++
		}
	}
	all, err := listStatuses(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	var out []orchestration
	for _, s := range all {
		if s.Name == "HelloSequence" && len(s.InstanceID) == 32 && !mine[s.InstanceID] {
			out = append(out, orchestration{id: s.InstanceID, name: "HelloSequence", output: greetings(cities5[:3]), activities: 3})
		}
	}
	if len(out) != parents {
		t.Fatalf("%d ParentChild instances created %d sub-orchestrations, want one each", parents, len(out))
	}
	return out
}

// TestFaultKillHostsOfThree runs three processes of the sample app on one
// task hub, starts a mixed workload through all three, raises events,
// SIGKILLs one host, restarts it, SIGKILLs a second one, and checks that
// every orchestration and sub-orchestration completes exactly once with
// its output (management API and raw History table: one execution, one
// ExecutionCompleted, each task scheduled once, activities run at least
// once with equal results), every entity signal is applied once and
// nothing is left stuck.
func TestFaultKillHostsOfThree(t *testing.T) {
	testStart := time.Now()
	dir := t.TempDir()
	bin := buildSamples(t, dir)
	az, err := azuritetest.Start(azuritetest.Options{})
	if err != nil {
		t.Fatalf("Azurite is required for this test and could not be started: %v", err)
	}
	t.Cleanup(az.Stop)
	conn := az.ConnectionString()
	// Host logs go to a folder that is kept when the test fails.
	logDir, err := os.MkdirTemp("", "funchost-kill3-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() && os.Getenv("FUNCHOST_FAILOVER_KEEP_LOGS") == "" {
			os.RemoveAll(logDir)
		}
	})
	hub := fmt.Sprintf("Kill3%08x", rand.Uint32())
	root := filepath.Join(dir, "app")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	writeScriptRoot(t, root, appSettings{hub: hub, connection: conn})
	a := startHost(t, "A", bin, root, logDir)
	b := startHost(t, "B", bin, root, logDir)
	c := startHost(t, "C", bin, root, logDir)
	var b2 *hostProc
	t.Cleanup(func() {
		if t.Failed() {
			for _, h := range []*hostProc{a, b, c, b2} {
				if h != nil {
					h.dump(t)
				}
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	waitFor(t, 90*time.Second, "every host owns a partition", func() error {
		oa, ob, oc := a.owned(), b.owned(), c.owned()
		if len(oa) > 0 && len(ob) > 0 && len(oc) > 0 && len(oa)+len(ob)+len(oc) == partitionCount {
			return nil
		}
		return fmt.Errorf("%w: A owns %v, B %v, C %v", errNotYet, keys(oa), keys(ob), keys(oc))
	}, nil, a, b, c)
	hosts := []*hostProc{a, b, c}
	warm := onePerPartition("k3-warm")
	for i, o := range warm {
		if err := startOrchestration(ctx, hosts[i%3].base, o.name, o.id, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, time.Minute, "the warm-up orchestrations completed", func() error {
		return allCompleted(ctx, a.base, warm)
	}, nil, a, b, c)
	t.Logf("balanced and warm %s after the start: A owns %v, B %v, C %v",
		time.Since(testStart).Round(time.Millisecond), keys(a.owned()), keys(b.owned()), keys(c.owned()))

	work := mixedWorkload(instanceCount)
	parallel(t, 32, len(work), func(i int) error {
		return startOrchestration(ctx, hosts[i%3].base, work[i].name, work[i].id, work[i].input)
	})
	signalCounters(t, ctx, hosts)
	raiseApprovals(t, ctx, work, hosts, func(i int) bool { return i%20 == 7 })
	killed := killDuringRun(t, ctx, work, a, b, c)
	b2 = killed
	raiseApprovals(t, ctx, work, []*hostProc{a, b2}, func(i int) bool { return i%20 != 7 })

	recoverStart := time.Now()
	waitAllCompleted(t, ctx, conn, hub, work, a, b2)
	t.Logf("all %d completed %s after the second kill", len(work), time.Since(recoverStart).Round(time.Millisecond))
	children := subOrchestrations(t, ctx, a.base, work)
	checked := append(append([]orchestration{}, work...), children...)
	verifyStatuses(t, ctx, a.base, checked)
	verifyHistoryTable(t, ctx, conn, hub, checked)
	verifyCounters(t, ctx, a.base)

	extra := onePerPartition("k3-after")
	for i, o := range extra {
		if err := startOrchestration(ctx, []*hostProc{a, b2}[i%2].base, o.name, o.id, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, time.Minute, "new orchestrations after the kills completed", func() error {
		return allCompleted(ctx, a.base, extra)
	}, nil, a, b2)
	early := 0
	for _, h := range []*hostProc{a, b, c, b2} {
		early += h.count("events for an instance that has not started yet")
	}
	t.Logf("work items of events that reached an instance before its start (handed back until the start): %d", early)
	for _, h := range []*hostProc{a, b2} {
		if err := h.stop(45 * time.Second); err != nil {
			t.Errorf("host %s did not shut down cleanly on SIGTERM: %v", h.name, err)
		}
	}
	t.Logf("total test time %s (logs in %s)", time.Since(testStart).Round(time.Millisecond), logDir)
}

// count returns how many log lines of the process contain s.
func (p *hostProc) count(s string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// killDuringRun SIGKILLs b once a few orchestrations completed, restarts
// it (as B2, same app folder) and SIGKILLs c once B2 serves; it returns
// B2.
func killDuringRun(t *testing.T, ctx context.Context, work []orchestration, a, b, c *hostProc) *hostProc {
	t.Helper()
	waitFor(t, 2*time.Minute, fmt.Sprintf("%d orchestrations completed", killAfterCompleted), func() error {
		st, err := statusMap(ctx, a.base, work)
		if err != nil {
			return err
		}
		if n := count(st, "Completed"); n < killAfterCompleted {
			return fmt.Errorf("%w: %d completed", errNotYet, n)
		}
		return nil
	}, nil, a, b, c)
	kill := func(h *hostProc) {
		owned := keys(h.owned())
		if err := h.cmd.Process.Kill(); err != nil {
			t.Fatalf("killing host %s: %v", h.name, err)
		}
		<-h.done
		st, err := statusMap(ctx, a.base, work)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("SIGKILLed host %s (owned partitions %v) with %d of %d completed", h.name, owned, count(st, "Completed"), len(work))
	}
	kill(b)
	b2 := startHost(t, "B2", b.cmd.Path, b.cmd.Dir, filepath.Dir(b.file.Name()))
	kill(c)
	return b2
}

// waitAllCompleted waits until every instance of work completed; it fails
// early when an instance failed, or when some are unfinished while every
// queue of the hub is empty (nothing could finish them any more).
func waitAllCompleted(t *testing.T, ctx context.Context, conn, hub string, work []orchestration, hosts ...*hostProc) {
	t.Helper()
	var final map[string]string
	idle := 0
	waitFor(t, recoveryDeadline, "all orchestrations completed after the kills", func() error {
		st, err := statusMap(ctx, hosts[0].base, work)
		if err != nil {
			return err
		}
		for id, s := range st {
			if s == "Failed" || s == "Terminated" || s == "Canceled" {
				t.Fatalf("instance %s ended %s", id, s)
			}
		}
		final = st
		n := count(st, "Completed")
		if n == len(work) && len(st) == len(work) {
			return nil
		}
		pending, err := queuedMessages(ctx, conn, hub)
		if err != nil {
			return err
		}
		if idle = idle + 1; pending > 0 {
			idle = 0
		}
		if idle >= 5 {
			diagnoseStuck(t, conn, hub, hosts[0].base, st)
			failStuck(t, ctx, conn, hub, st)
		}
		return fmt.Errorf("%w: %d of %d completed", errNotYet, n, len(work))
	}, func() { diagnoseStuck(t, conn, hub, hosts[0].base, final) }, hosts...)
}
