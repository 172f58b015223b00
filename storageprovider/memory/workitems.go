package memory

import (
	"context"
	"errors"
	"fmt"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/internal/waitq"
)

// lockNext takes a work item with take (called with h.mu held), waiting in
// q until there is one, ctx ends or the hub stops.
func lockNext[W any](ctx context.Context, h *TaskHub, q *waitq.Queue, take func() *W) (*W, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		if h.stopped {
			return nil, h.closedErr()
		}
		if wi := take(); wi != nil {
			return wi, nil
		}
		if err := q.Wait(ctx, &h.mu, h.stopCh); err != nil {
			if errors.Is(err, waitq.ErrStopped) {
				return nil, h.closedErr()
			}
			return nil, err
		}
	}
}

// extendLock moves a lock's expiry to LockTimeout from now and returns
// the new expiry for the work item. h.mu must be held.
func (h *TaskHub) extendLock(expiry *timerEntry, until *time.Time) time.Time {
	*until = time.Now().Add(h.opts.LockTimeout)
	h.reschedule(expiry, *until)
	return until.UTC()
}

// providerLock returns the lock a work item's ProviderData holds.
func providerLock[L any](pd any) (*L, error) {
	l, ok := pd.(*L)
	if !ok || l == nil {
		return nil, errNilWorkItem
	}
	return l, nil
}

func lostErr(id string) error {
	return fmt.Errorf("memory task hub: instance %q: %w", id, sp.ErrWorkItemLost)
}
