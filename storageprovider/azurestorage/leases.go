package azurestorage

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/google/uuid"
)

// Partition ownership uses one blob lease per control queue (DTFx's
// "legacy" blob partition manager layout: <hub>-leases/default/<queue>).
// The lease holder writes its worker ID and lease ID into the blob's
// metadata, so that others can count workers and steal a lease with
// ChangeLease when balancing. Correctness never depends on leases alone:
// history commits are guarded by the sentinel ETag.

func leaseBlobName(queue string) string { return "default/" + queue }

type heldLease struct {
	client  *lease.BlobClient
	renewed time.Time
}

// leaseManager owns partitions through their lease blobs: it renews the
// leases it holds, takes free ones up to this worker's fair share, steals
// one at a time from a worker above its share, and tells the partition
// manager what it gained or lost.
type leaseManager struct {
	blobs      *container.Client // the leases container
	queues     []string          // control queue names, by partition
	workerID   string
	partitions int
	interval   time.Duration // lease duration
	renewal    time.Duration // time between rounds
	log        *slog.Logger
	parts      *partitionManager

	mu   sync.Mutex
	held map[int]*heldLease
}

func newLeaseManager(h *TaskHub) *leaseManager {
	return &leaseManager{blobs: h.leaseBlobs, queues: h.names.controlQueues, workerID: h.opts.WorkerID,
		partitions: h.opts.PartitionCount, interval: h.opts.LeaseInterval, renewal: h.opts.LeaseRenewInterval,
		log: h.log, parts: h.parts, held: map[int]*heldLease{}}
}

func (m *leaseManager) run(ctx context.Context) {
	for {
		m.round(ctx)
		if !sleepCtx(ctx, jitter(m.renewal)) {
			return
		}
	}
}

// leaseBlob is what a lease blob's listing says about its partition.
type leaseBlob struct {
	partition    int
	leased       bool
	owner, token string
}

// round renews held leases, then acquires or steals partitions towards
// this worker's fair share: ceil(partitions / known workers).
func (m *leaseManager) round(ctx context.Context) {
	if !m.renew(ctx) {
		return
	}
	blobs, ok := m.list(ctx)
	if !ok {
		return
	}
	m.balance(ctx, blobs)
}

// renew renews every held lease, dropping those that are lost or expired.
// It reports false when ctx ended.
func (m *leaseManager) renew(ctx context.Context) bool {
	m.mu.Lock()
	held := make(map[int]*heldLease, len(m.held))
	for k, v := range m.held {
		held[k] = v
	}
	m.mu.Unlock()
	for p, hl := range held {
		_, err := hl.client.RenewLease(ctx, nil)
		switch {
		case err == nil:
			hl.renewed = time.Now()
		case ctx.Err() != nil:
			return false
		case statusOf(err) == 409 || statusOf(err) == 412 || isNotFound(err):
			m.log.Warn("partition lease lost", "partition", p, "err", errString(err))
			m.drop(ctx, p)
		case time.Since(hl.renewed) > m.interval-time.Second:
			m.log.Warn("partition lease expired while storage was unreachable", "partition", p, "err", errString(err))
			m.drop(ctx, p)
		default:
			m.log.Warn("renewing partition lease failed; will retry", "partition", p, "err", errString(err))
		}
	}
	return true
}

// list reads the lease state, owner and token of every partition's blob.
func (m *leaseManager) list(ctx context.Context) ([]leaseBlob, bool) {
	pager := m.blobs.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{
		Prefix:  to.Ptr("default/"),
		Include: container.ListBlobsInclude{Metadata: true},
	})
	index := map[string]int{}
	for i, q := range m.queues {
		index[leaseBlobName(q)] = i
	}
	var blobs []leaseBlob
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			if ctx.Err() == nil {
				m.log.Warn("listing partition leases failed; will retry", "err", errString(err))
			}
			return nil, false
		}
		for _, b := range page.Segment.BlobItems {
			p, ok := index[*b.Name]
			if !ok {
				continue
			}
			st := leaseBlob{partition: p}
			if b.Properties != nil && b.Properties.LeaseState != nil {
				st.leased = strings.EqualFold(string(*b.Properties.LeaseState), "leased")
			}
			for k, v := range b.Metadata {
				if v == nil {
					continue
				}
				switch strings.ToLower(k) {
				case "owner":
					st.owner = *v
				case "token":
					st.token = *v
				}
			}
			blobs = append(blobs, st)
		}
	}
	return blobs, true
}

// balance acquires free partitions up to the fair share, then steals one
// from the busiest worker above its share if still short.
func (m *leaseManager) balance(ctx context.Context, blobs []leaseBlob) {
	m.mu.Lock()
	mine := len(m.held)
	m.mu.Unlock()
	others := map[string]int{}
	for _, b := range blobs {
		if b.leased && b.owner != m.workerID && b.owner != "" {
			others[b.owner]++
		}
	}
	workers := len(others) + 1
	target := (m.partitions + workers - 1) / workers
	for _, b := range blobs {
		if mine >= target {
			break
		}
		if b.leased || m.isHeld(b.partition) {
			continue
		}
		if m.acquire(ctx, b.partition, "") {
			mine++
		}
	}
	if mine >= target {
		return
	}
	victim, most := "", target
	for o, n := range others {
		if n > most {
			victim, most = o, n
		}
	}
	if victim == "" {
		return
	}
	for _, b := range blobs {
		if b.leased && b.owner == victim && b.token != "" {
			m.log.Info("stealing partition for balance", "partition", b.partition, "from", victim)
			m.acquire(ctx, b.partition, b.token)
			return
		}
	}
}

func (m *leaseManager) isHeld(p int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.held[p]
	return ok
}

// acquire takes partition p's lease (stealing it with ChangeLease when
// stealToken is the current holder's lease ID) and starts its dispatcher.
func (m *leaseManager) acquire(ctx context.Context, p int, stealToken string) bool {
	bc := m.blobs.NewBlobClient(leaseBlobName(m.queues[p]))
	id := uuid.NewString()
	var lc *lease.BlobClient
	var err error
	if stealToken == "" {
		lc, err = lease.NewBlobClient(bc, &lease.BlobClientOptions{LeaseID: &id})
		if err == nil {
			_, err = lc.AcquireLease(ctx, int32(m.interval/time.Second), nil)
		}
	} else {
		lc, err = lease.NewBlobClient(bc, &lease.BlobClientOptions{LeaseID: &stealToken})
		if err == nil {
			_, err = lc.ChangeLease(ctx, id, nil)
		}
	}
	if err != nil {
		if statusOf(err) != 409 && ctx.Err() == nil {
			m.log.Warn("acquiring partition lease failed", "partition", p, "err", errString(err))
		}
		return false
	}
	_, err = bc.SetMetadata(ctx, map[string]*string{"owner": to.Ptr(m.workerID), "token": to.Ptr(id)},
		&blob.SetMetadataOptions{AccessConditions: &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: &id}}})
	if err != nil {
		m.log.Warn("recording partition lease owner failed", "partition", p, "err", errString(err))
	}
	m.mu.Lock()
	m.held[p] = &heldLease{client: lc, renewed: time.Now()}
	m.mu.Unlock()
	m.log.Info("partition acquired", "partition", p, "stolen", stealToken != "")
	m.parts.gain(p, stealToken != "")
	return true
}

// drop forgets a lost lease and stops its partition.
func (m *leaseManager) drop(ctx context.Context, p int) {
	m.mu.Lock()
	delete(m.held, p)
	m.mu.Unlock()
	m.parts.lose(ctx, p, true)
}

// releaseAll releases every held lease (shutdown).
func (m *leaseManager) releaseAll(ctx context.Context) {
	m.mu.Lock()
	held := m.held
	m.held = map[int]*heldLease{}
	m.mu.Unlock()
	for p, hl := range held {
		if _, err := hl.client.ReleaseLease(ctx, nil); err != nil {
			m.log.Warn("releasing partition lease failed", "partition", p, "err", errString(err))
		}
	}
}
