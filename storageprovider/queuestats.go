package storageprovider

import (
	"context"
	"time"
)

// QueueStats is one sample of a task hub's queues: what a scaler reads to
// size a deployment (Durable Functions' DurableTaskTriggerMetrics) and
// what operators alert on.
type QueueStats struct {
	// ControlQueues has one entry per partition, in partition order.
	ControlQueues []QueueDepth
	// WorkItems is the activity work-item queue.
	WorkItems QueueDepth
}

// QueueDepth describes one queue.
type QueueDepth struct {
	// Name is the queue's name.
	Name string
	// Length is the approximate number of messages.
	Length int64
	// OldestAge is now minus the insertion time of the first message a
	// peek returns (0 when the queue is empty or the clocks disagree), as
	// Durable Functions measures queue latency.
	OldestAge time.Duration
	// Owned (control queues) reports whether this host owns the
	// partition.
	Owned bool
}

// QueueStatsReporter is implemented by task hubs that can sample their
// queues. Each call reads the storage service (a few requests per queue).
type QueueStatsReporter interface {
	QueueStats(ctx context.Context) (*QueueStats, error)
}
