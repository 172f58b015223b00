package azurestorage

import (
	"context"
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

type leaseManager struct {
	h    *TaskHub
	mu   sync.Mutex
	held map[int]*heldLease
}

func newLeaseManager(h *TaskHub) *leaseManager {
	return &leaseManager{h: h, held: map[int]*heldLease{}}
}

func (m *leaseManager) run(ctx context.Context) {
	for {
		m.round(ctx)
		if !sleepCtx(ctx, jitter(m.h.opts.LeaseRenewInterval)) {
			return
		}
	}
}

// round renews held leases, then acquires or steals partitions towards
// this worker's fair share: ceil(partitions / known workers).
func (m *leaseManager) round(ctx context.Context) {
	h := m.h
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
			return
		case statusOf(err) == 409 || statusOf(err) == 412 || isNotFound(err):
			h.log.Warn("partition lease lost", "partition", p, "err", errString(err))
			m.drop(ctx, p)
		case time.Since(hl.renewed) > h.opts.LeaseInterval-time.Second:
			h.log.Warn("partition lease expired while storage was unreachable", "partition", p, "err", errString(err))
			m.drop(ctx, p)
		default:
			h.log.Warn("renewing partition lease failed; will retry", "partition", p, "err", errString(err))
		}
	}

	pager := h.leases.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{
		Prefix:  to.Ptr("default/"),
		Include: container.ListBlobsInclude{Metadata: true},
	})
	type blobState struct {
		partition    int
		leased       bool
		owner, token string
	}
	var blobs []blobState
	index := map[string]int{}
	for i, q := range h.names.controlQueues {
		index[leaseBlobName(q)] = i
	}
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("listing partition leases failed; will retry", "err", errString(err))
			}
			return
		}
		for _, b := range page.Segment.BlobItems {
			p, ok := index[*b.Name]
			if !ok {
				continue
			}
			st := blobState{partition: p}
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
	m.mu.Lock()
	mine := len(m.held)
	m.mu.Unlock()
	others := map[string]int{}
	for _, b := range blobs {
		if b.leased && b.owner != h.opts.WorkerID && b.owner != "" {
			others[b.owner]++
		}
	}
	workers := len(others) + 1
	target := (h.opts.PartitionCount + workers - 1) / workers
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
	// Steal one partition from the busiest worker above its share.
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
			h.log.Info("stealing partition for balance", "partition", b.partition, "from", victim)
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
	h := m.h
	bc := h.leases.NewBlobClient(leaseBlobName(h.names.controlQueues[p]))
	id := uuid.NewString()
	var lc *lease.BlobClient
	var err error
	if stealToken == "" {
		lc, err = lease.NewBlobClient(bc, &lease.BlobClientOptions{LeaseID: &id})
		if err == nil {
			_, err = lc.AcquireLease(ctx, int32(h.opts.LeaseInterval/time.Second), nil)
		}
	} else {
		lc, err = lease.NewBlobClient(bc, &lease.BlobClientOptions{LeaseID: &stealToken})
		if err == nil {
			_, err = lc.ChangeLease(ctx, id, nil)
		}
	}
	if err != nil {
		if statusOf(err) != 409 && ctx.Err() == nil {
			h.log.Warn("acquiring partition lease failed", "partition", p, "err", errString(err))
		}
		return false
	}
	_, err = bc.SetMetadata(ctx, map[string]*string{"owner": to.Ptr(h.opts.WorkerID), "token": to.Ptr(id)},
		&blob.SetMetadataOptions{AccessConditions: &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: &id}}})
	if err != nil {
		h.log.Warn("recording partition lease owner failed", "partition", p, "err", errString(err))
	}
	m.mu.Lock()
	m.held[p] = &heldLease{client: lc, renewed: time.Now()}
	m.mu.Unlock()
	h.log.Info("partition acquired", "partition", p, "stolen", stealToken != "")
	var delay time.Duration
	if stealToken != "" {
		delay = h.opts.LeaseRenewInterval + time.Second
	}
	h.gainPartition(p, delay)
	return true
}

// drop forgets a lost lease and stops its partition.
func (m *leaseManager) drop(ctx context.Context, p int) {
	m.mu.Lock()
	delete(m.held, p)
	m.mu.Unlock()
	m.h.losePartition(ctx, p, true)
}

// releaseAll releases every held lease (shutdown).
func (m *leaseManager) releaseAll(ctx context.Context) {
	m.mu.Lock()
	held := m.held
	m.held = map[int]*heldLease{}
	m.mu.Unlock()
	for p, hl := range held {
		if _, err := hl.client.ReleaseLease(ctx, nil); err != nil {
			m.h.log.Warn("releasing partition lease failed", "partition", p, "err", errString(err))
		}
	}
}
