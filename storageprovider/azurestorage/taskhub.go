package azurestorage

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	sp "github.com/funchost/funchost/storageprovider"
)

// TaskHub is a task hub in an Azure Storage account. Create it with New.
// All methods are safe for concurrent use.
//
// It composes one part per job: the tables (instances, history), the
// large-payload blobs, the sender (every enqueue), the receiver and the
// queue operations on received messages, the partition and lease managers
// (which control queues this process owns), the orchestration dispatcher
// and the activity poller. Its own methods are the storageprovider.TaskHub
// contract and the hub's life cycle.
type TaskHub struct {
	opts  Options
	log   *slog.Logger
	names resourceNames

	instances  *instanceRows
	history    *historyRows
	blobs      *largeStore
	control    []*azqueue.QueueClient
	workItems  *azqueue.QueueClient
	leaseBlobs *container.Client

	send  *sender
	msgs  *queueOps
	recv  *receiver
	parts *partitionManager
	orch  *dispatcher
	acts  *activityPoller

	created atomic.Bool
	// clientOps holds a slot per client operation in flight
	// (Options.MaxConcurrentClientOperations).
	clientOps chan struct{}

	mu      sync.Mutex // guards the fields below
	running bool
	stopCh  chan struct{}
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	leaser  *leaseManager
}

var _ sp.TaskHub = (*TaskHub)(nil)

// New returns a TaskHub for opts. It does not touch storage: call
// CreateIfNotExists and Start.
func New(ctx context.Context, opts Options) (*TaskHub, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	cl, err := newClients(opts.Connection, opts.RequestCounter, opts.faults)
	if err != nil {
		return nil, err
	}
	h := &TaskHub{
		opts:  opts,
		log:   opts.Logger.With("taskHub", opts.TaskHubName, "worker", opts.WorkerID),
		names: newResourceNames(opts.TaskHubName, opts.PartitionCount),
	}
	for _, q := range h.names.controlQueues {
		h.control = append(h.control, cl.queues.NewQueueClient(q))
	}
	h.workItems = cl.queues.NewQueueClient(h.names.workItemQueue)
	h.leaseBlobs = cl.blobs.NewContainerClient(h.names.leaseContainer)
	h.blobs = &largeStore{c: cl.blobs.NewContainerClient(h.names.largeContainer), name: h.names.largeContainer}
	h.instances = &instanceRows{c: cl.tables.NewClient(h.names.instancesTable), hub: opts.TaskHubName, blobs: h.blobs}
	h.history = &historyRows{c: cl.tables.NewClient(h.names.historyTable), blobs: h.blobs, log: h.log}
	h.clientOps = make(chan struct{}, opts.MaxConcurrentClientOperations)
	h.wire()
	return h, nil
}

// wire builds the parts that move messages and connects them.
func (h *TaskHub) wire() {
	h.parts = newPartitionManager(h.opts.PartitionCount, h.log, h.opts.LeaseRenewInterval)
	h.send = &sender{control: h.control, workItems: h.workItems, rows: h.instances, blobs: h.blobs, parts: h.parts}
	h.msgs = &queueOps{log: h.log, send: h.send}
	h.orch = newDispatcher(h.opts.MaxCachedInstances, h.parts, h.msgs)
	if !h.opts.DisableLocalSends {
		h.send.local = &localSends{orch: h.orch, visibility: h.opts.ControlQueueVisibilityTimeout,
			maxHeld: h.opts.ControlQueueBufferThreshold}
	}
	h.recv = &receiver{opts: &h.opts, log: h.log, control: h.control, blobs: h.blobs, msgs: h.msgs,
		send: h.send, parts: h.parts, orch: h.orch}
	h.acts = newActivityPoller(&h.opts, h.log, h.workItems, h.recv, h.msgs)
	h.send.actsWake = h.acts.wake
	h.parts.recv, h.parts.orch, h.parts.msgs = h.recv, h.orch, h.msgs
}

// clientSlot waits for a client-operation slot; the returned function
// frees it.
func (h *TaskHub) clientSlot(ctx context.Context) (func(), error) {
	select {
	case h.clientOps <- struct{}{}:
		return func() { <-h.clientOps }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Name returns the task hub name.
func (h *TaskHub) Name() string { return h.opts.TaskHubName }

// WorkerID returns the name this process uses in partition leases.
func (h *TaskHub) WorkerID() string { return h.opts.WorkerID }

// RequestCounter returns the counter of storage requests.
func (h *TaskHub) RequestCounter() *RequestCounter { return h.opts.RequestCounter }

// OwnedPartitions returns the indexes of the control queues this process
// currently owns.
func (h *TaskHub) OwnedPartitions() []int { return h.parts.owned() }

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
	for _, t := range []*aztables.Client{h.instances.c, h.history.c} {
		jobs = append(jobs, func(ctx context.Context) error { _, err := t.CreateTable(ctx, nil); return ignoreExists(err) })
	}
	for _, q := range append(append([]*azqueue.QueueClient{}, h.control...), h.workItems) {
		jobs = append(jobs, func(ctx context.Context) error { _, err := q.Create(ctx, nil); return ignoreExists(err) })
	}
	jobs = append(jobs, func(ctx context.Context) error { _, err := h.blobs.c.Create(ctx, nil); return ignoreExists(err) })
	if err := parallel(ctx, 8, len(jobs), func(ctx context.Context, i int) error { return jobs[i](ctx) }); err != nil {
		return fmt.Errorf("azurestorage: creating task hub %q: %w", h.Name(), err)
	}
	if _, err := h.leaseBlobs.Create(ctx, nil); ignoreExists(err) != nil {
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
			_, err := h.leaseBlobs.NewBlockBlobClient(names[i]).UploadBuffer(ctx, body, &blockblob.UploadBufferOptions{
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
	for _, t := range []*aztables.Client{h.instances.c, h.history.c} {
		jobs = append(jobs, func(ctx context.Context) error { _, err := t.Delete(ctx, nil); return ignoreMissing(err) })
	}
	for _, q := range append(append([]*azqueue.QueueClient{}, h.control...), h.workItems) {
		jobs = append(jobs, func(ctx context.Context) error { _, err := q.Delete(ctx, nil); return ignoreMissing(err) })
	}
	for _, c := range []*container.Client{h.leaseBlobs, h.blobs.c} {
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
	h.parts.setActive(true)
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
	h.parts.setActive(false)
	close(h.stopCh)
	h.cancel()
	h.mu.Unlock()
	h.wg.Wait()
	h.parts.loseAll(ctx, release)
	if release {
		h.leaser.releaseAll(ctx)
		h.acts.releaseBuffered(ctx)
	} else {
		h.acts.discard()
	}
	return nil
}

func (h *TaskHub) closedErr() error {
	return fmt.Errorf("azurestorage task hub %q: %w", h.Name(), sp.ErrTaskHubClosed)
}

// stopChan returns the current stop channel (nil before Start).
func (h *TaskHub) stopChan() chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.running {
		return nil
	}
	return h.stopCh
}

// OwnsInstance reports whether this host owns the partition of instanceID
// (storageprovider.InstanceOwner).
func (h *TaskHub) OwnsInstance(instanceID string) bool {
	_, owned := h.parts.current(sp.PartitionIndex(instanceID, h.opts.PartitionCount))
	return owned
}
