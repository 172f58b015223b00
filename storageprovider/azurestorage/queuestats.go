package azurestorage

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	sp "github.com/funchost/funchost/storageprovider"
)

var _ sp.QueueStatsReporter = (*TaskHub)(nil)

// QueueStats samples the control queues and the work-item queue: the
// approximate length of each and the age of its first peeked message, as
// Durable Functions' scale monitor does, plus which partitions this host
// owns.
func (h *TaskHub) QueueStats(ctx context.Context) (*sp.QueueStats, error) {
	owned := h.OwnedPartitions()
	st := &sp.QueueStats{ControlQueues: make([]sp.QueueDepth, len(h.control))}
	now := time.Now()
	for i, q := range h.control {
		d, err := queueDepth(ctx, q, h.names.controlQueues[i], now)
		if err != nil {
			return nil, err
		}
		d.Owned = slices.Contains(owned, i)
		st.ControlQueues[i] = d
	}
	d, err := queueDepth(ctx, h.workItems, h.names.workItemQueue, now)
	if err != nil {
		return nil, err
	}
	st.WorkItems = d
	return st, nil
}

func queueDepth(ctx context.Context, q *azqueue.QueueClient, name string, now time.Time) (sp.QueueDepth, error) {
	d := sp.QueueDepth{Name: name}
	props, err := q.GetProperties(ctx, nil)
	if err != nil {
		return d, fmt.Errorf("azurestorage: reading the length of queue %s: %w", name, err)
	}
	if props.ApproximateMessagesCount != nil {
		d.Length = int64(*props.ApproximateMessagesCount)
	}
	peek, err := q.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(1))})
	if err != nil {
		return d, fmt.Errorf("azurestorage: peeking queue %s: %w", name, err)
	}
	if len(peek.Messages) > 0 && peek.Messages[0].InsertionTime != nil {
		if age := now.Sub(*peek.Messages[0].InsertionTime); age > 0 {
			d.OldestAge = age
		}
	}
	return d, nil
}
