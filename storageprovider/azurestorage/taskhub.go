// Package azurestorage is a storageprovider.TaskHub on Azure Storage
// (tables, queues and blobs) in the Durable Task Framework's layout, so
// that DTFx tools can read a hub it writes. It runs on Azurite and real
// Azure Storage.
//
// Layout: <Hub>Instances and <Hub>History tables, <hub>-control-NN and
// <hub>-workitems queues, <hub>-leases and <hub>-largemessages containers.
// Control queues are partitions: a host owns a partition through a blob
// lease, receives its control queue and is the only one that runs the
// orchestrations hashed to it. History is committed in entity-group
// batches guarded by the ETag of the instance's sentinel row, so a worker
// that lost ownership cannot commit over a newer owner.
package azurestorage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	sp "github.com/funchost/funchost/storageprovider"
)

// Options configure a TaskHub. Zero values select the defaults.
type Options struct {
	// TaskHubName names the hub (required): 3 to 45 letters or digits,
	// starting with a letter.
	TaskHubName string
	// Connection is the storage account (required).
	Connection Connection
	// PartitionCount is the number of control queues, 1..16 (default 4).
	// It must stay the same for the life of a hub.
	PartitionCount int
	// ControlQueueBatchSize is how many messages one control-queue receive
	// asks for, 1..32 (default 32).
	ControlQueueBatchSize int
	// ControlQueueBufferThreshold pauses receiving while this many
	// control-queue messages are held in memory (default 256).
	ControlQueueBufferThreshold int
	// MinQueuePollingInterval and MaxQueuePollingInterval bound the
	// polling backoff of an empty queue (defaults 10 ms and 30 s).
	MinQueuePollingInterval time.Duration
	MaxQueuePollingInterval time.Duration
	// ControlQueueVisibilityTimeout and WorkItemQueueVisibilityTimeout are
	// the lock durations of received messages (default 5 min; whole
	// seconds).
	ControlQueueVisibilityTimeout  time.Duration
	WorkItemQueueVisibilityTimeout time.Duration
	// LeaseInterval is the partition lease duration, 15 s..60 s (default
	// 30 s); LeaseRenewInterval how often leases are renewed and partitions
	// balanced (default LeaseInterval/3).
	LeaseInterval      time.Duration
	LeaseRenewInterval time.Duration
	// WorkerID names this process in partition leases (default
	// hostname-pid-random).
	WorkerID string
	// MaxDequeueCount: a queue message that cannot even be decoded is
	// deleted after this many deliveries (default 20). Engines fail
	// instances whose work keeps failing using the DequeueCount of work
	// items.
	MaxDequeueCount int
	// MaxCachedInstances bounds the per-instance history cache kept for
	// owned partitions (default 2000).
	MaxCachedInstances int
	// Logger receives diagnostics (default slog.Default()).
	Logger *slog.Logger
	// RequestCounter counts storage requests (default: a new counter,
	// available from TaskHub.RequestCounter).
	RequestCounter *RequestCounter
}

// maxVisibility is the longest visibility delay used: queues allow 7
// days; longer timers are chained (a variable so tests can shorten it).
var maxVisibility = 6 * 24 * time.Hour

const (
	maxAbandonDelay  = 10 * time.Minute
	lostRetryDelay   = time.Second
	minLeaseInterval = 15 * time.Second
	maxLeaseInterval = 60 * time.Second
)

func (o *Options) setDefaults() error {
	if err := ValidateTaskHubName(o.TaskHubName); err != nil {
		return err
	}
	if o.PartitionCount == 0 {
		o.PartitionCount = 4
	}
	if o.PartitionCount < 1 || o.PartitionCount > 16 {
		return fmt.Errorf("azurestorage: PartitionCount %d is outside 1..16", o.PartitionCount)
	}
	if o.ControlQueueBatchSize <= 0 || o.ControlQueueBatchSize > 32 {
		o.ControlQueueBatchSize = 32
	}
	if o.ControlQueueBufferThreshold <= 0 {
		o.ControlQueueBufferThreshold = 256
	}
	if o.MinQueuePollingInterval <= 0 {
		o.MinQueuePollingInterval = 10 * time.Millisecond
	}
	if o.MaxQueuePollingInterval <= 0 {
		o.MaxQueuePollingInterval = 30 * time.Second
	}
	if o.MaxQueuePollingInterval < o.MinQueuePollingInterval {
		o.MaxQueuePollingInterval = o.MinQueuePollingInterval
	}
	if o.ControlQueueVisibilityTimeout <= 0 {
		o.ControlQueueVisibilityTimeout = 5 * time.Minute
	}
	if o.WorkItemQueueVisibilityTimeout <= 0 {
		o.WorkItemQueueVisibilityTimeout = 5 * time.Minute
	}
	if o.LeaseInterval == 0 {
		o.LeaseInterval = 30 * time.Second
	}
	if o.LeaseInterval < minLeaseInterval || o.LeaseInterval > maxLeaseInterval {
		return fmt.Errorf("azurestorage: LeaseInterval %s is outside 15s..60s (blob lease limits)", o.LeaseInterval)
	}
	if o.LeaseRenewInterval <= 0 || o.LeaseRenewInterval >= o.LeaseInterval {
		o.LeaseRenewInterval = o.LeaseInterval / 3
	}
	if o.WorkerID == "" {
		host, _ := os.Hostname()
		o.WorkerID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), newActivityID()[:6])
	}
	if o.MaxDequeueCount <= 0 {
		o.MaxDequeueCount = 20
	}
	if o.MaxCachedInstances <= 0 {
		o.MaxCachedInstances = 2000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.RequestCounter == nil {
		o.RequestCounter = &RequestCounter{}
	}
	return nil
}

// TaskHub is a task hub in an Azure Storage account. Create it with New.
// All methods are safe for concurrent use.
type TaskHub struct {
	opts  Options
	log   *slog.Logger
	names resourceNames
	cl    *clients

	instances *aztables.Client
	history   *aztables.Client
	control   []*azqueue.QueueClient
	workItems *azqueue.QueueClient
	leases    *container.Client
	large     *container.Client

	seq     atomic.Int64
	created atomic.Bool

	mu      sync.Mutex
	running bool
	stopCh  chan struct{}
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	parts   []*partition
	orch    orchDispatcher
	acts    *activityPoller
	leaser  *leaseManager
}

var _ sp.TaskHub = (*TaskHub)(nil)

// New returns a TaskHub for opts. It does not touch storage: call
// CreateIfNotExists and Start.
func New(ctx context.Context, opts Options) (*TaskHub, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	cl, err := newClients(opts.Connection, opts.RequestCounter)
	if err != nil {
		return nil, err
	}
	h := &TaskHub{
		opts:  opts,
		log:   opts.Logger.With("taskHub", opts.TaskHubName, "worker", opts.WorkerID),
		names: newResourceNames(opts.TaskHubName, opts.PartitionCount),
		cl:    cl,
	}
	h.instances = cl.tables.NewClient(h.names.instancesTable)
	h.history = cl.tables.NewClient(h.names.historyTable)
	for i, q := range h.names.controlQueues {
		h.control = append(h.control, cl.queues.NewQueueClient(q))
		h.parts = append(h.parts, &partition{index: i, wake: make(chan struct{}, 1)})
	}
	h.workItems = cl.queues.NewQueueClient(h.names.workItemQueue)
	h.leases = cl.blobs.NewContainerClient(h.names.leaseContainer)
	h.large = cl.blobs.NewContainerClient(h.names.largeContainer)
	h.orch.init(h)
	h.acts = newActivityPoller(h)
	return h, nil
}

// Name returns the task hub name.
func (h *TaskHub) Name() string { return h.opts.TaskHubName }

// WorkerID returns the name this process uses in partition leases.
func (h *TaskHub) WorkerID() string { return h.opts.WorkerID }

// RequestCounter returns the counter of storage requests.
func (h *TaskHub) RequestCounter() *RequestCounter { return h.opts.RequestCounter }

// OwnedPartitions returns the indexes of the control queues this process
// currently owns.
func (h *TaskHub) OwnedPartitions() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int
	for _, p := range h.parts {
		if p.owned {
			out = append(out, p.index)
		}
	}
	return out
}

// CreateIfNotExists creates the hub's tables, queues, containers and lease
// blobs when missing.
func (h *TaskHub) CreateIfNotExists(ctx context.Context) error {
	ignoreExists := func(err error) error {
		if err == nil || isConflict(err) {
			return nil
		}
		return err
	}
	var jobs []func(context.Context) error
	for _, t := range []*aztables.Client{h.instances, h.history} {
		jobs = append(jobs, func(ctx context.Context) error { _, err := t.CreateTable(ctx, nil); return ignoreExists(err) })
	}
	for _, q := range append(append([]*azqueue.QueueClient{}, h.control...), h.workItems) {
		jobs = append(jobs, func(ctx context.Context) error { _, err := q.Create(ctx, nil); return ignoreExists(err) })
	}
	jobs = append(jobs, func(ctx context.Context) error { _, err := h.large.Create(ctx, nil); return ignoreExists(err) })
	if err := parallel(ctx, 8, len(jobs), func(ctx context.Context, i int) error { return jobs[i](ctx) }); err != nil {
		return fmt.Errorf("azurestorage: creating task hub %q: %w", h.Name(), err)
	}
	if _, err := h.leases.Create(ctx, nil); ignoreExists(err) != nil {
		return fmt.Errorf("azurestorage: creating task hub %q: %w", h.Name(), err)
	} else if err == nil || !h.created.Load() {
		// Lease blobs (and taskhub.json) exist once the container does,
		// unless a previous creation was interrupted: write them with
		// If-None-Match so existing ones (possibly leased) stay.
		names := []string{"taskhub.json"}
		for _, q := range h.names.controlQueues {
			names = append(names, leaseBlobName(q))
		}
		info := fmt.Sprintf(`{"TaskHubName":%q,"CreatedAt":%q,"PartitionCount":%d}`, h.Name(), sp.Now().Format(timeLayout), h.opts.PartitionCount)
		err := parallel(ctx, 8, len(names), func(ctx context.Context, i int) error {
			body := []byte{}
			if i == 0 {
				body = []byte(info)
			}
			_, err := h.leases.NewBlockBlobClient(names[i]).UploadBuffer(ctx, body, &blockblob.UploadBufferOptions{
				AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}},
			})
			if err != nil && (isConflict(err) || statusOf(err) == 412) {
				return nil
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("azurestorage: creating lease blobs of task hub %q: %w", h.Name(), err)
		}
	}
	h.created.Store(true)
	return nil
}

// DeleteTaskHub deletes the hub's tables, queues and containers.
func (h *TaskHub) DeleteTaskHub(ctx context.Context) error {
	ignoreMissing := func(err error) error {
		if err == nil || isNotFound(err) {
			return nil
		}
		return err
	}
	var jobs []func(context.Context) error
	for _, t := range []*aztables.Client{h.instances, h.history} {
		jobs = append(jobs, func(ctx context.Context) error { _, err := t.Delete(ctx, nil); return ignoreMissing(err) })
	}
	for _, q := range append(append([]*azqueue.QueueClient{}, h.control...), h.workItems) {
		jobs = append(jobs, func(ctx context.Context) error { _, err := q.Delete(ctx, nil); return ignoreMissing(err) })
	}
	for _, c := range []*container.Client{h.leases, h.large} {
		jobs = append(jobs, func(ctx context.Context) error { _, err := c.Delete(ctx, nil); return ignoreMissing(err) })
	}
	if err := parallel(ctx, 8, len(jobs), func(ctx context.Context, i int) error { return jobs[i](ctx) }); err != nil {
		return fmt.Errorf("azurestorage: deleting task hub %q: %w", h.Name(), err)
	}
	h.created.Store(false)
	h.orch.dropAll()
	return nil
}

// Start creates missing storage, then begins partition ownership and
// queue polling.
func (h *TaskHub) Start(ctx context.Context) error {
	if !h.created.Load() {
		if err := h.CreateIfNotExists(ctx); err != nil {
			return err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.running {
		return nil
	}
	h.running = true
	h.stopCh = make(chan struct{})
	bg, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.leaser = newLeaseManager(h)
	h.wg.Add(2)
	go func() { defer h.wg.Done(); h.leaser.run(bg) }()
	go func() { defer h.wg.Done(); h.acts.run(bg) }()
	return nil
}

// Stop ends polling, releases owned partitions (so another host takes them
// at once) and makes held but unprocessed messages visible again. Waiting
// Lock* calls return ErrTaskHubClosed. Work items still held by the caller
// stay valid until their locks expire.
func (h *TaskHub) Stop(ctx context.Context) error { return h.stop(ctx, true) }

// stop with release=false simulates a crash for tests: leases are left to
// expire.
func (h *TaskHub) stop(ctx context.Context, release bool) error {
	h.mu.Lock()
	if !h.running {
		h.mu.Unlock()
		return nil
	}
	h.running = false
	close(h.stopCh)
	h.cancel()
	h.mu.Unlock()
	h.wg.Wait()
	for i := range h.parts {
		h.losePartition(ctx, i, release)
	}
	if release {
		h.leaser.releaseAll(ctx)
		h.acts.releaseBuffered(ctx)
	} else {
		h.acts.mu.Lock()
		h.acts.buf = nil
		h.acts.mu.Unlock()
	}
	return nil
}

func (h *TaskHub) closedErr() error {
	return fmt.Errorf("azurestorage task hub %q: %w", h.Name(), sp.ErrTaskHubClosed)
}

// stopped returns the current stop channel (nil before Start).
func (h *TaskHub) stopChan() chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.running {
		return nil
	}
	return h.stopCh
}

// ---- sending messages ----

// prepareMessage encodes m for a queue; bodies over the limit go to a
// gzip blob and the queue gets a reference. It returns the body and, when
// offloaded, the blob name.
func (h *TaskHub) prepareMessage(ctx context.Context, m *sp.TaskMessage, sender sp.OrchestrationInstance) (string, string, error) {
	if m.SequenceNumber == 0 {
		m = &sp.TaskMessage{Event: m.Event, Target: m.Target, SequenceNumber: h.seq.Add(1)}
	}
	aid := newActivityID()
	body, err := encodeMessage(m, aid, sender)
	if err != nil {
		return "", "", err
	}
	if len(body) <= queueMessageLimit {
		return string(body), "", nil
	}
	name := fmt.Sprintf("%s/message-%s-%s.json.gz", sanitizeKey(m.Target.InstanceID), aid, m.Event.EventType)
	if err := h.uploadLarge(ctx, name, body); err != nil {
		return "", "", err
	}
	return string(wrapperMessage(aid, name, m.SequenceNumber)), name, nil
}

// visibilitySeconds rounds a delay up to whole seconds within the queue's
// limits.
func visibilitySeconds(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	if d > maxVisibility {
		d = maxVisibility
	}
	return int32((d + time.Second - 1) / time.Second)
}

// enqueue puts a prepared body on q with a visibility delay.
func enqueue(ctx context.Context, q *azqueue.QueueClient, body string, delay time.Duration) error {
	_, err := q.EnqueueMessage(ctx, body, &azqueue.EnqueueMessageOptions{
		TimeToLive:        to.Ptr(int32(-1)),
		VisibilityTimeout: to.Ptr(visibilitySeconds(delay)),
	})
	return err
}

// messageDelay is how long a message must stay invisible: timers until
// FireAt, delayed starts until ScheduledStartTime.
func messageDelay(m *sp.TaskMessage) time.Duration {
	var at time.Time
	switch m.Event.EventType {
	case sp.EventTimerFired:
		at = m.Event.FireAt
	case sp.EventExecutionStarted:
		if m.Event.ScheduledStartTime != nil {
			at = *m.Event.ScheduledStartTime
		}
	}
	if at.IsZero() {
		return 0
	}
	return time.Until(at)
}

// sendToInstance puts m on its target's control queue and wakes the local
// poller when this process owns that partition.
func (h *TaskHub) sendToInstance(ctx context.Context, m *sp.TaskMessage, sender sp.OrchestrationInstance) error {
	body, _, err := h.prepareMessage(ctx, m, sender)
	if err != nil {
		return err
	}
	return h.enqueueControl(ctx, m.Target.InstanceID, body, messageDelay(m))
}

func (h *TaskHub) enqueueControl(ctx context.Context, instanceID, body string, delay time.Duration) error {
	p := sp.PartitionIndex(instanceID, h.opts.PartitionCount)
	if err := enqueue(ctx, h.control[p], body, delay); err != nil {
		return fmt.Errorf("azurestorage: sending a message to instance %q: %w", instanceID, err)
	}
	h.wakePartitionAfter(p, delay)
	return nil
}

// maxLocalTimerWake bounds the delays for which wakePartitionAfter arms a
// timer; polling (at most MaxQueuePollingInterval late) covers longer ones.
const maxLocalTimerWake = time.Hour

// wakePartitionAfter wakes partition p's receive loop once a message sent
// with visibility delay d is visible, so that a durable timer (or a
// delayed start) on an idle host fires on time rather than up to
// MaxQueuePollingInterval late. A wake-up for a partition this host does
// not own (any more) costs one extra poll at most.
func (h *TaskHub) wakePartitionAfter(p int, d time.Duration) {
	if p < 0 || p >= len(h.parts) {
		return // not a control queue
	}
	if d <= 0 {
		h.wakePartition(p)
		return
	}
	if d > maxLocalTimerWake {
		return
	}
	// The queue makes the message visible after whole seconds (rounded
	// up); a little margin keeps the poll from coming too early.
	at := time.Duration(visibilitySeconds(d))*time.Second + 100*time.Millisecond
	time.AfterFunc(at, func() { h.wakePartition(p) })
}

func (h *TaskHub) wakePartition(p int) { signal(h.parts[p].wake) }

// SendTaskMessages delivers messages to orchestration instances.
func (h *TaskHub) SendTaskMessages(ctx context.Context, msgs ...*sp.TaskMessage) error {
	for _, m := range msgs {
		if m == nil || m.Event == nil {
			return errors.New("azurestorage: SendTaskMessages: message without event")
		}
	}
	return h.sendOrdered(ctx, msgs, sp.OrchestrationInstance{})
}

// sendOrdered sends messages to their instances: in parallel across
// instances, in order for each instance (queues keep insertion order).
func (h *TaskHub) sendOrdered(ctx context.Context, msgs []*sp.TaskMessage, sender sp.OrchestrationInstance) error {
	var order []string
	groups := map[string][]*sp.TaskMessage{}
	for _, m := range msgs {
		id := m.Target.InstanceID
		if _, ok := groups[id]; !ok {
			order = append(order, id)
		}
		groups[id] = append(groups[id], m)
	}
	return parallel(ctx, 8, len(order), func(ctx context.Context, i int) error {
		for _, m := range groups[order[i]] {
			if m.Event.EventType == sp.EventExecutionStarted && sender.InstanceID != "" {
				if err := h.ensureInstanceRow(ctx, m); err != nil {
					return err
				}
			}
			if err := h.sendToInstance(ctx, m, sender); err != nil {
				return err
			}
		}
		return nil
	})
}

// parallel runs fn(0..n-1) with at most limit at a time and returns the
// first error.
func parallel(ctx context.Context, limit, n int, fn func(ctx context.Context, i int) error) error {
	if n == 0 {
		return nil
	}
	if n == 1 {
		return fn(ctx, 0)
	}
	sem := make(chan struct{}, limit)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = fn(ctx, i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// sleepCtx sleeps d unless ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// jitter spreads d by ±20 %.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// errString shortens storage errors for logs.
func errString(err error) string {
	s := err.Error()
	if i := strings.Index(s, "\n"); i > 0 && statusOf(err) != 0 {
		return fmt.Sprintf("%d %s: %s", statusOf(err), errorCode(err), strings.TrimSpace(s[:i]))
	}
	return s
}
