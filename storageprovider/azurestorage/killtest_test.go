package azurestorage

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	ossignal "os/signal"
	"syscall"
	"testing"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// Environment of the worker processes TestKillOneOfTwoHosts starts (this
// test binary run again with -test.run=TestWorkerProcess).
const (
	envWorkerHub  = "FUNCHOST_AZTEST_WORKER_HUB"
	envWorkerConn = "FUNCHOST_AZTEST_WORKER_CONN"
	envWorkerID   = "FUNCHOST_AZTEST_WORKER_ID"
)

func killTestOptions(o *Options) {
	o.PartitionCount = 4
	o.LeaseInterval = 15 * time.Second
	o.LeaseRenewInterval = 2 * time.Second
	o.ControlQueueVisibilityTimeout = 10 * time.Second
	o.WorkItemQueueVisibilityTimeout = 10 * time.Second
	o.MaxQueuePollingInterval = time.Second
}

// TestWorkerProcess is the body of a worker process; it does nothing in a
// normal test run.
func TestWorkerProcess(t *testing.T) {
	hub := os.Getenv(envWorkerHub)
	if hub == "" {
		return // not a worker process
	}
	c, err := ParseConnectionString(os.Getenv(envWorkerConn))
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{TaskHubName: hub, Connection: c, WorkerID: os.Getenv(envWorkerID), Logger: testLogger(t)}
	killTestOptions(&opts)
	h, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := ossignal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	eng := &miniEngine{h: h, steps: 3}
	wg := eng.run(ctx, t, 4)
	<-ctx.Done()
	wg.Wait()
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	h.Stop(sctx)
}

// TestKillOneOfTwoHosts runs 200 orchestrations on two host processes and
// SIGKILLs one of them mid-run: the survivor takes over its partitions
// and messages; every orchestration completes, each exactly once.
func TestKillOneOfTwoHosts(t *testing.T) {
	if os.Getenv(envWorkerHub) != "" {
		return
	}
	conn := azuritetest.ConnectionString(t)
	h := newTestHub(t, conn, killTestOptions)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	if err := h.CreateIfNotExists(ctx); err != nil {
		t.Fatal(err)
	}
	start := func(worker string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), envWorkerHub+"="+h.Name(), envWorkerConn+"="+conn, envWorkerID+"="+worker)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	a, b := start("procA"), start("procB")
	t.Cleanup(func() {
		b.Process.Signal(syscall.SIGTERM)
		b.Wait()
	})
	var ids []string
	for i := 0; i < 200; i++ {
		id := fmt.Sprintf("kill-%03d", i)
		ids = append(ids, id)
		if err := h.CreateInstance(ctx, startMsg(id, fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	// Kill A once the run is well under way.
	waitFor(t, 60*time.Second, "some orchestrations to complete", func() bool {
		res, err := h.QueryOrchestrationStates(ctx, sp.InstanceQuery{RuntimeStatus: []sp.OrchestrationStatus{sp.StatusCompleted}, PageSize: 50})
		return err == nil && len(res.States) >= 30
	})
	a.Process.Kill()
	a.Wait()
	t.Log("killed host A")
	if !waitAllCompleted(h, ids, 100*time.Second) {
		for _, id := range ids {
			st, err := h.GetOrchestrationState(ctx, id, false)
			if err == nil && st.RuntimeStatus == sp.StatusCompleted {
				continue
			}
			hist, _ := h.GetOrchestrationHistory(ctx, id)
			t.Errorf("%s not completed: state %+v (%v), history %v", id, st, err, hist)
		}
		for i, q := range h.control {
			props, _ := q.GetProperties(ctx, nil)
			t.Logf("control queue %d: ~%v messages", i, *props.ApproximateMessagesCount)
		}
		props, _ := h.workItems.GetProperties(ctx, nil)
		t.Fatalf("work items: ~%v messages", *props.ApproximateMessagesCount)
	}
	for _, id := range ids {
		hist, err := h.GetOrchestrationHistory(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		completions, results := 0, map[int]int{}
		for _, ev := range hist {
			switch ev.EventType {
			case sp.EventExecutionCompleted:
				completions++
			case sp.EventTaskCompleted:
				results[ev.TaskScheduledID]++
			}
		}
		if completions != 1 || len(results) != 3 {
			t.Errorf("%s: %d completions, task results %v; want 1 completion after 3 tasks", id, completions, results)
		}
		for task, n := range results {
			if n != 1 {
				t.Errorf("%s: task %d recorded %d times", id, task, n)
			}
		}
	}
}

func waitAllCompleted(h sp.TaskHub, ids []string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		done := true
		for _, id := range ids {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			st, err := h.GetOrchestrationState(ctx, id, false)
			cancel()
			if err != nil || st.RuntimeStatus != sp.StatusCompleted {
				done = false
				break
			}
		}
		if done {
			return true
		}
		time.Sleep(500 * time.Millisecond)
	}
	return false
}
