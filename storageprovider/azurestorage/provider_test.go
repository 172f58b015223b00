package azurestorage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

// TestRequestsPerOrchestration runs one orchestration whose activities run
// locally (one episode) and reports the storage requests of the critical
// path: create, enqueue (handed over locally, so no dequeue), history
// batch, status row, delete.
func TestRequestsPerOrchestration(t *testing.T) {
	h := newTestHub(t, azuritetest.ConnectionString(t), func(o *Options) { o.MaxQueuePollingInterval = 30 * time.Second })
	startHub(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	eng := &miniEngine{h: h, steps: 5, local: true}

	before, localBefore := h.RequestCounter().Snapshot(), h.LocalSends()
	id := "req-" + newExecID()[:8]
	wi := createAndLock(ctx, t, h, startMsg(id, `"x"`))
	if n := h.LocalSends() - localBefore; n != 1 {
		t.Errorf("%d starts handed over locally, want 1", n)
	}
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, eng.episode(wi)); err != nil {
		t.Fatal(err)
	}
	d := h.RequestCounter().Snapshot().Sub(before)
	t.Logf("create→episode→complete: %s", d)
	// Polls of empty queues are not part of the orchestration's cost, and
	// the start message was handed over without a dequeue.
	work := d.Total - d.ByOperation["queue.dequeue"]
	t.Logf("requests excluding empty polls: %d", work)
	for _, op := range []string{"table.insert", "queue.enqueue", "table.batch", "table.merge", "queue.delete"} {
		if d.ByOperation[op] != 1 {
			t.Errorf("%s = %d, want 1", op, d.ByOperation[op])
		}
	}
	if d.ByOperation["table.query"] != 0 {
		t.Errorf("the history of a brand-new instance was read (%d queries)", d.ByOperation["table.query"])
	}
	if work > 5 {
		t.Errorf("%d requests for one orchestration, want at most 5", work)
	}
	st, err := h.GetOrchestrationState(ctx, id, true)
	if err != nil || st.RuntimeStatus != sp.StatusCompleted || st.Output != `"x"` {
		t.Fatalf("state = %+v, %v", st, err)
	}
}

// TestSentinelETagChaining checks that the ETag taken from the batch reply
// is the sentinel's real ETag, and that the next work item of the
// instance is served from the cache (no history query).
func TestSentinelETagChaining(t *testing.T) {
	h := newTestHub(t, azuritetest.ConnectionString(t), nil)
	startHub(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	eng := &miniEngine{h: h, steps: 2}
	id := "etag-" + newExecID()[:8]
	if err := h.CreateInstance(ctx, startMsg(id, `1`)); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ {
		wi, err := h.LockNextOrchestrationWorkItem(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.CompleteOrchestrationWorkItem(ctx, wi, eng.episode(wi)); err != nil {
			t.Fatal(err)
		}
		h.orch.mu.Lock()
		inst := h.orch.insts[id]
		var cached string
		if inst != nil && inst.cache != nil {
			cached = inst.cache.etag
		}
		h.orch.mu.Unlock()
		resp, err := h.history.c.GetEntity(ctx, sanitizeKey(id), sentinelRowKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cached == "" || cached != string(resp.ETag) {
			t.Fatalf("round %d: cached sentinel ETag %q, stored %q", round, cached, resp.ETag)
		}
		// Run the activity and check the next work item needs no read.
		awi, err := h.LockNextActivityWorkItem(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ev := awi.Message.Event
		if err := h.CompleteActivityWorkItem(ctx, awi, &sp.TaskMessage{Event: sp.NewTaskCompletedEvent(sp.Now(), ev.EventID, ev.Input), Target: awi.Message.Target}); err != nil {
			t.Fatal(err)
		}
		before := h.RequestCounter().Snapshot()
		wi, err = h.LockNextOrchestrationWorkItem(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if q := h.RequestCounter().Snapshot().Sub(before).ByOperation["table.query"]; q != 0 {
			t.Errorf("round %d: %d history queries for a cached instance", round, q)
		}
		if len(wi.History) == 0 {
			t.Fatalf("round %d: empty history from the cache", round)
		}
		if round == 1 {
			if err := h.CompleteOrchestrationWorkItem(ctx, wi, eng.episode(wi)); err != nil {
				t.Fatal(err)
			}
			break
		}
		if err := h.AbandonOrchestrationWorkItem(ctx, wi, 0); err != nil {
			t.Fatal(err)
		}
	}
	hist, err := h.GetOrchestrationHistory(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if last := hist[len(hist)-2]; last.EventType != sp.EventExecutionCompleted {
		t.Errorf("history ends with %s, want ExecutionCompleted before OrchestratorCompleted", last)
	}
}

// TestTableLayout checks the DTFx schema of the rows the provider writes.
func TestTableLayout(t *testing.T) {
	h := newTestHub(t, azuritetest.ConnectionString(t), nil)
	startHub(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	id := "layout/" + newExecID()[:8] // '/' must be escaped in keys
	eng := &miniEngine{h: h, steps: 1, local: true}
	start := startMsg(id, `{"a":1}`)
	wi := createAndLock(ctx, t, h, start)
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, eng.episode(wi)); err != nil {
		t.Fatal(err)
	}
	pk := strings.Replace(id, "/", "^0", 1)
	resp, err := h.instances.c.GetEntity(ctx, pk, "", nil)
	if err != nil {
		t.Fatalf("Instances row under PartitionKey %q: %v", pk, err)
	}
	var row map[string]any
	json.Unmarshal(resp.Value, &row)
	for k, want := range map[string]any{"Name": "Seq", "RuntimeStatus": "Completed", "Input": `{"a":1}`, "Output": `{"a":1}`,
		"ExecutionId": start.Target.ExecutionID, "TaskHubName": h.Name(), "CustomStatus": "null"} {
		if row[k] != want {
			t.Errorf("Instances.%s = %v, want %v", k, row[k], want)
		}
	}
	if row["CreatedTime@odata.type"] != "Edm.DateTime" {
		t.Errorf("CreatedTime type = %v", row["CreatedTime@odata.type"])
	}
	sent, err := h.history.c.GetEntity(ctx, pk, "sentinel", nil)
	if err != nil {
		t.Fatal(err)
	}
	var srow map[string]any
	json.Unmarshal(sent.Value, &srow)
	if srow["ExecutionId"] != start.Target.ExecutionID || srow["IsCheckpointComplete"] != true || srow["CheckpointCompletedTimestamp"] == nil {
		t.Errorf("sentinel row = %v", srow)
	}
	r1, err := h.history.c.GetEntity(ctx, pk, "0000000000000001", nil)
	if err != nil {
		t.Fatal(err)
	}
	var hrow map[string]any
	json.Unmarshal(r1.Value, &hrow)
	if hrow["EventType"] != "ExecutionStarted" || hrow["Name"] != "Seq" || hrow["_Timestamp"] == nil ||
		!strings.Contains(fmt.Sprint(hrow["OrchestrationInstance"]), start.Target.ExecutionID) {
		t.Errorf("history row 1 = %v", hrow)
	}
	// The stored timestamp keeps 100 ns precision.
	hist, err := h.GetOrchestrationHistory(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !hist[1].Timestamp.Equal(start.Event.Timestamp) {
		t.Errorf("ExecutionStarted timestamp %v, want %v", hist[1].Timestamp, start.Event.Timestamp)
	}
}

// TestLargePayloads round-trips 1 MB and 10 MB inputs and outputs through
// create, queue, history and status.
func TestLargePayloads(t *testing.T) {
	h := newTestHub(t, azuritetest.ConnectionString(t), func(o *Options) {
		// Moving 10 MB through Azurite takes a few seconds: keep locks
		// longer than that (the mini engine does not renew).
		o.ControlQueueVisibilityTimeout = 60 * time.Second
		o.WorkItemQueueVisibilityTimeout = 60 * time.Second
	})
	startHub(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	eng := &miniEngine{h: h, steps: 1}
	wg := eng.run(ctx, t, 1)
	defer func() { cancel(); wg.Wait() }()
	for _, size := range []int{1 << 20, 10 << 20} {
		input := `"` + strings.Repeat("a", size-3) + `é"`
		id := fmt.Sprintf("large-%d-%s", size, newExecID()[:6])
		if err := h.CreateInstance(ctx, startMsg(id, input)); err != nil {
			t.Fatal(err)
		}
		waitCompleted(t, h, []string{id}, 90*time.Second)
		st, err := h.GetOrchestrationState(ctx, id, true)
		if err != nil {
			t.Fatal(err)
		}
		if st.Input != input || st.Output != input {
			t.Errorf("%d bytes: state input %d bytes, output %d bytes", size, len(st.Input), len(st.Output))
		}
		hist, err := h.GetOrchestrationHistory(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range hist {
			if (ev.EventType == sp.EventExecutionStarted && ev.Input != input) || (ev.EventType == sp.EventTaskCompleted && ev.Result != input) {
				t.Errorf("%d bytes: history %s lost its payload (%d/%d bytes)", size, ev, len(ev.Input), len(ev.Result))
			}
		}
		// Purge removes the instance's blobs too.
		if err := h.PurgeInstance(ctx, id); err != nil {
			t.Fatal(err)
		}
		pager := h.blobs.c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: to.Ptr(sanitizeKey(id) + "/")})
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Segment.BlobItems) != 0 {
			t.Errorf("%d blobs left after purging %s", len(page.Segment.BlobItems), id)
		}
	}
	if err := h.PurgeInstance(ctx, "nothing-here"); !errors.Is(err, sp.ErrInstanceNotFound) {
		t.Errorf("purge of a missing instance = %v", err)
	}
}

// TestRequestsFiveActivitySequence reports the storage requests of
// five-activity sequences whose activities go through the work-item
// queue, polling included (the figure the benchmark compares with DTFx's
// ~50). It asserts only the request kinds that must not appear.
func TestRequestsFiveActivitySequence(t *testing.T) {
	// Locks long enough that none expires on a loaded machine: an expired
	// lock drops the instance's cache and shows up as a history query.
	h := newTestHub(t, azuritetest.ConnectionString(t), func(o *Options) {
		o.PartitionCount = 4
		o.ControlQueueVisibilityTimeout, o.WorkItemQueueVisibilityTimeout = 30*time.Second, 30*time.Second
	})
	startHub(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	eng := &miniEngine{h: h, steps: 5}
	wg := eng.run(ctx, t, 4)
	defer func() { cancel(); wg.Wait() }()
	const n = 20
	before := h.RequestCounter().Snapshot()
	var ids []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("seq5-%d-%s", i, newExecID()[:6])
		ids = append(ids, id)
		if err := h.CreateInstance(ctx, startMsg(id, `"x"`)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 60*time.Second, fmt.Sprintf("%d orchestrations to complete", n), func() bool {
		eng.mu.Lock()
		defer eng.mu.Unlock()
		return len(eng.completed) == n
	})
	d := h.RequestCounter().Snapshot().Sub(before)
	t.Logf("%d five-activity orchestrations: %.1f requests each (%s)", n, float64(d.Total)/n, d)
	if q := d.ByOperation["table.query"]; q != 0 {
		t.Errorf("%d history queries: owned instances should be served from the cache", q)
	}
	if g := d.ByOperation["table.get"]; g != 0 {
		t.Errorf("%d point reads on the critical path", g)
	}
	waitCompleted(t, h, ids, 10*time.Second)
}

// TestStaleCacheCannotDropMessages: when another worker committed an
// instance behind this host's back (a partition move it has not noticed
// yet), a checkpoint that appends nothing must not consume messages on
// the strength of the stale cached history.
func TestStaleCacheCannotDropMessages(t *testing.T) {
	conn := azuritetest.ConnectionString(t)
	h := newTestHub(t, conn, nil)
	startHub(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	id := "stale-" + newExecID()[:8]
	start := startMsg(id, `1`)
	wi := createAndLock(ctx, t, h, start)
	first := []*sp.HistoryEvent{sp.NewOrchestratorStartedEvent(sp.Now()), wi.NewMessages[0].Event,
		sp.NewOrchestratorCompletedEvent(sp.Now())}
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{NewEvents: first}); err != nil {
		t.Fatal(err)
	}
	// Another worker appends an episode (it read the current ETag).
	other := newTestHub(t, conn, func(o *Options) { o.TaskHubName = h.Name() })
	lh, err := other.history.load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	more := []*sp.HistoryEvent{sp.NewOrchestratorStartedEvent(sp.Now()),
		sp.NewTaskScheduledEvent(sp.Now(), 0, "Act", "", ""),
		sp.NewOrchestratorCompletedEvent(sp.Now())}
	if _, err := other.history.commit(ctx, id, lh.executionID, len(lh.events), more, lh.etag); err != nil {
		t.Fatal(err)
	}
	// The activity's result reaches this host, which still has the old
	// history cached: the result looks unknown, so the engine drops it.
	res := &sp.TaskMessage{Event: sp.NewTaskCompletedEvent(sp.Now(), 0, `2`),
		Target: start.Target}
	if err := h.SendTaskMessages(ctx, res); err != nil {
		t.Fatal(err)
	}
	wi, err = h.LockNextOrchestrationWorkItem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(wi.History) != len(first) {
		t.Fatalf("expected the stale cached history (%d events), got %d", len(first), len(wi.History))
	}
	err = h.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{})
	if !errors.Is(err, sp.ErrWorkItemLost) {
		t.Fatalf("empty checkpoint on a stale cache = %v, want ErrWorkItemLost", err)
	}
	// The message comes back with the current history.
	wi, err = h.LockNextOrchestrationWorkItem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(wi.History) != len(first)+len(more) || len(wi.NewMessages) != 1 || wi.NewMessages[0].Event.EventType != sp.EventTaskCompleted {
		t.Fatalf("redelivery: history %d events, messages %d", len(wi.History), len(wi.NewMessages))
	}
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{NewEvents: []*sp.HistoryEvent{wi.NewMessages[0].Event}}); err != nil {
		t.Fatal(err)
	}
}

// TestLocalActivityResult: an activity result for an orchestration this
// host owns is handed over in memory (no control-queue round trip) and the
// activity message is consumed with the orchestration's commit; when the
// work item is abandoned instead, the result is persisted to the control
// queue first.
func TestLocalActivityResult(t *testing.T) {
	h := newTestHub(t, azuritetest.ConnectionString(t), func(o *Options) { o.PartitionCount = 1 })
	startHub(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	eng := &miniEngine{h: h, steps: 1}
	id := "local-" + newExecID()[:8]
	wi := createAndLock(ctx, t, h, startMsg(id, `"v"`))
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, eng.episode(wi)); err != nil {
		t.Fatal(err)
	}
	awi, err := h.LockNextActivityWorkItem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := h.RequestCounter().Snapshot()
	res := &sp.TaskMessage{Event: sp.NewTaskCompletedEvent(sp.Now(), awi.Message.Event.EventID, awi.Message.Event.Input), Target: awi.Message.Target}
	if err := h.CompleteActivityWorkItem(ctx, awi, res); err != nil {
		t.Fatal(err)
	}
	if d := h.RequestCounter().Snapshot().Sub(before); d.Total != 0 {
		t.Errorf("local completion sent %s, want no requests", d)
	}
	wi, err = h.LockNextOrchestrationWorkItem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(wi.NewMessages) != 1 || wi.NewMessages[0].Event.EventType != sp.EventTaskCompleted || wi.DequeueCount != 1 {
		t.Fatalf("work item %s (dequeue %d), want the TaskCompleted", wi.NewMessages[0].Event, wi.DequeueCount)
	}
	if err := h.RenewOrchestrationWorkItem(ctx, wi); err != nil {
		t.Fatalf("renewing a work item holding a local result: %v", err)
	}
	if err := h.AbandonOrchestrationWorkItem(ctx, wi, 0); err != nil {
		t.Fatal(err)
	}
	wi, err = h.LockNextOrchestrationWorkItem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(wi.NewMessages) != 1 || wi.NewMessages[0].Event.EventType != sp.EventTaskCompleted || wi.NewMessages[0].Event.Result != `"v"` {
		t.Fatalf("after abandon: %v", wi.NewMessages[0].Event)
	}
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, eng.episode(wi)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []*azqueue.QueueClient{h.workItems, h.control[0]} {
		props, err := q.GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n := *props.ApproximateMessagesCount; n != 0 {
			t.Errorf("%s holds %d messages after the commit, want 0", q.URL(), n)
		}
	}
	if st, err := h.GetOrchestrationState(ctx, id, true); err != nil || st.RuntimeStatus != sp.StatusCompleted || st.Output != `"v"` {
		t.Errorf("state = %+v, %v", st, err)
	}
}

// TestEarlyResultForUncommittedInstance: a result reaches the new owner
// of a partition before the previous owner has committed the instance's
// first episode. The new owner finds no history and drops the message;
// that drop must lose against the previous owner's commit instead of
// consuming the result for good.
func TestEarlyResultForUncommittedInstance(t *testing.T) {
	conn := azuritetest.ConnectionString(t)
	h := newTestHub(t, conn, func(o *Options) { o.PartitionCount = 1 })
	startHub(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	id := "early-" + newExecID()[:8]
	exec := newExecID()
	res := &sp.TaskMessage{Event: sp.NewTaskCompletedEvent(sp.Now(), 0, `1`),
		Target: sp.OrchestrationInstance{InstanceID: id, ExecutionID: exec}}
	if err := h.SendTaskMessages(ctx, res); err != nil {
		t.Fatal(err)
	}
	wi, err := h.LockNextOrchestrationWorkItem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(wi.History) != 0 {
		t.Fatalf("history %v, want none", wi.History)
	}
	// The previous owner commits the first episode now.
	other := newTestHub(t, conn, func(o *Options) { o.TaskHubName = h.Name(); o.PartitionCount = 1 })
	first := []*sp.HistoryEvent{sp.NewOrchestratorStartedEvent(sp.Now()),
		sp.NewExecutionStartedEvent(sp.Now(), res.Target, "Seq", "", ""),
		sp.NewTaskScheduledEvent(sp.Now(), 0, "Echo", "", ""),
		sp.NewOrchestratorCompletedEvent(sp.Now())}
	if _, err := other.history.commit(ctx, id, exec, 0, first, ""); err != nil {
		t.Fatal(err)
	}
	// The engine here saw no instance and drops the result.
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{}); !errors.Is(err, sp.ErrWorkItemLost) {
		t.Fatalf("dropping a message against a history that appeared meanwhile = %v, want ErrWorkItemLost", err)
	}
	wi, err = h.LockNextOrchestrationWorkItem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(wi.History) != len(first) || len(wi.NewMessages) != 1 || wi.NewMessages[0].Event.EventType != sp.EventTaskCompleted {
		t.Fatalf("redelivery: history %d events, %d messages", len(wi.History), len(wi.NewMessages))
	}
	if err := h.CompleteOrchestrationWorkItem(ctx, wi, &sp.OrchestrationCheckpoint{NewEvents: []*sp.HistoryEvent{wi.NewMessages[0].Event}}); err != nil {
		t.Fatal(err)
	}
}

// TestFirstCommitOverLeftoverRows: a first commit inserts its rows; rows
// left without a sentinel (an interrupted purge) make it fall back to
// upserts instead of failing forever.
func TestFirstCommitOverLeftoverRows(t *testing.T) {
	h := newTestHub(t, azuritetest.ConnectionString(t), nil)
	startHub(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := "leftover-" + newExecID()[:6]
	old := historyEntity(sanitizeKey(id), 1, "oldexec", sp.NewTaskScheduledEvent(sp.Now(), 0, "Old", "", ""))
	b, _ := json.Marshal(old)
	if _, err := h.history.c.AddEntity(ctx, b, nil); err != nil {
		t.Fatal(err)
	}
	events := []*sp.HistoryEvent{sp.NewOrchestratorStartedEvent(sp.Now()),
		sp.NewExecutionStartedEvent(sp.Now(), sp.OrchestrationInstance{InstanceID: id, ExecutionID: "newexec"}, "New", "", "")}
	etag, err := h.history.commit(ctx, id, "newexec", 0, events, "")
	if err != nil || etag == "" {
		t.Fatalf("commit over leftover rows = %q, %v", etag, err)
	}
	lh, err := h.history.load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(lh.events) != 2 || lh.events[1].Name != "New" || lh.etag != etag {
		t.Errorf("history %v (etag %q), want the new execution (etag %q)", lh.events, lh.etag, etag)
	}
	// A second first-commit now meets the sentinel: a real conflict.
	if _, err := h.history.commit(ctx, id, "other", 0, events, ""); !errors.Is(err, errConflict) {
		t.Errorf("second first commit = %v, want a conflict", err)
	}
}
