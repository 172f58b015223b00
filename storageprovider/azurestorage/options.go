package azurestorage

import (
	"fmt"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"log/slog"
	"os"
	"time"
)

// DefaultMaxOpenActivityCalls is the bound a host puts on one
// orchestration's open activity calls (the engine's MaxOpenActivityCalls)
// on this provider: every open call is a message in the work-item queue,
// and queue requests slow with the messages stored (on Azurite about 6 µs
// per stored message per dequeue, update or delete; docs/reliability.md,
// "One episode scheduling many activities").
const DefaultMaxOpenActivityCalls = 500

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
	// DisableLocalSends sends every control-queue message through the
	// queue. By default a message due now for a partition this host owns
	// is enqueued invisible and handed to this host's dispatcher at once,
	// saving a dequeue per start (localsend.go).
	DisableLocalSends bool
	// MaxConcurrentClientOperations bounds the client operations
	// (CreateInstance, SendTaskMessages) in flight at once (default 64);
	// more wait their turn. A burst of thousands of starts would otherwise
	// open a connection per start, hold all their buffers and overload
	// the storage service into retries (docs/benchmarks.md, the burst).
	MaxConcurrentClientOperations int
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

	// faults, when set (tests only), runs on every try of every request,
	// after the SDK's retry policy: it can drop answers or fail requests
	// the way a flaky network does.
	faults policy.Policy
}

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
	if o.MaxConcurrentClientOperations <= 0 {
		o.MaxConcurrentClientOperations = 64
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

// pollDelay returns the pause before a queue's next poll, given the
// previous pause and how many of the asked messages the last poll got:
// growing while the queue is empty, brief once it is drained (the next
// poll would most likely be empty; local sends wake the poller at once),
// none while full batches arrive.
func (o *Options) pollDelay(cur time.Duration, got, asked int) time.Duration {
	switch {
	case got == 0:
		return nextBackoff(cur, o.MinQueuePollingInterval, o.MaxQueuePollingInterval)
	case got < asked:
		return o.MinQueuePollingInterval
	default:
		return 0
	}
}

func nextBackoff(cur, min, max time.Duration) time.Duration {
	if cur < min {
		return min
	}
	cur *= 2
	if cur > max {
		return max
	}
	return cur
}
