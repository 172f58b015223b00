package config

import (
	"strings"
	"time"
)

// Queues is host.json's extensions.queues: how queue triggers poll and how
// queue messages are encoded.
type Queues struct {
	// BatchSize is the number of messages fetched per poll (1–32, default 16).
	BatchSize int
	// NewBatchThreshold fetches the next batch when in-flight messages
	// drop to it; -1 (unset) means the host's default, batchSize/2 × CPUs.
	NewBatchThreshold int
	// MaxDequeueCount is the attempts before a message is poisoned (≥ 1,
	// default 5).
	MaxDequeueCount int
	// VisibilityTimeout delays a failed message's retry (default 0).
	VisibilityTimeout time.Duration
	// MaxPollingInterval caps the idle back-off (≥ 100 ms, default 1 min).
	MaxPollingInterval time.Duration
	// MessageEncoding is "base64" (default) or "none".
	MessageEncoding string
}

// DefaultQueues returns the Functions host's defaults.
func DefaultQueues() Queues {
	return Queues{BatchSize: 16, NewBatchThreshold: -1, MaxDequeueCount: 5, MaxPollingInterval: time.Minute, MessageEncoding: "base64"}
}

func readQueues(r *reader) Queues {
	q := DefaultQueues()
	const p = "extensions.queues."
	q.BatchSize = int(r.integer(p+"batchSize", int64(q.BatchSize), 1, 32))
	q.NewBatchThreshold = int(r.integer(p+"newBatchThreshold", int64(q.NewBatchThreshold), 0, maxInt))
	q.MaxDequeueCount = int(r.integer(p+"maxDequeueCount", int64(q.MaxDequeueCount), 1, maxInt))
	q.VisibilityTimeout = r.duration(p+"visibilityTimeout", q.VisibilityTimeout, 0, 7*24*time.Hour, false)
	q.MaxPollingInterval = r.duration(p+"maxPollingInterval", q.MaxPollingInterval, 100*time.Millisecond, 0, false)
	switch enc := strings.ToLower(r.str(p+"messageEncoding", q.MessageEncoding)); enc {
	case "base64", "none":
		q.MessageEncoding = enc
	default:
		r.fail(p+"messageEncoding", `must be "base64" or "none", got %q`, enc)
	}
	return q
}
