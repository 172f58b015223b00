// Package queue runs queue-triggered functions on Azure Storage queues the
// way the Functions host's storage-queue extension does: batches of
// batchSize, a new batch when in-flight work drops to newBatchThreshold,
// randomized exponential back-off up to maxPollingInterval when idle, the
// invisibility of running messages extended, successful messages deleted,
// failed ones made visible again after visibilityTimeout, and after
// maxDequeueCount attempts moved to "<queue>-poison". It also holds the
// message encodings and a sender shared with the queue output binding.
// docs/triggers.md describes the behaviour.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"
)

// Message is one dequeued message as a function sees it.
type Message struct {
	ID string
	// Body is the decoded message body.
	Body []byte
	// DequeueCount is 1 on the first delivery.
	DequeueCount    int64
	InsertionTime   time.Time
	ExpirationTime  time.Time
	NextVisibleTime time.Time
	PopReceipt      string
}

// Handler processes one message; an error (or a panic, which the caller's
// handler should turn into one) counts as a failed attempt.
type Handler func(ctx context.Context, msg *Message) error

// Options are host.json's extensions.queues settings. Zero values take the
// host's defaults.
type Options struct {
	// BatchSize is the number of messages fetched per poll (1–32, default 16).
	BatchSize int
	// NewBatchThreshold: fetch again when in-flight messages drop to this
	// (default BatchSize/2 × CPUs; a negative value means 0).
	NewBatchThreshold int
	// MaxDequeueCount is the number of attempts before poisoning (default 5).
	MaxDequeueCount int
	// VisibilityTimeout delays a failed message's next attempt (default 0).
	VisibilityTimeout time.Duration
	// MaxPollingInterval caps the idle back-off (default 1 min, at least 100 ms).
	MaxPollingInterval time.Duration
	// MessageEncoding is EncodingBase64 (default) or EncodingNone.
	MessageEncoding string
	// DrainTimeout bounds how long Run waits, once stopped, for messages in
	// flight; messages still running then are made visible again (default
	// 30 s).
	DrainTimeout time.Duration
	// Logger receives the listener's logs (default slog.Default()).
	Logger *slog.Logger
	// leaseDuration is the invisibility taken per dequeue (10 min; tests
	// shorten it).
	leaseDuration time.Duration
}

func (o *Options) defaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = 16
	}
	if o.BatchSize > 32 {
		o.BatchSize = 32
	}
	if o.NewBatchThreshold == 0 {
		o.NewBatchThreshold = o.BatchSize / 2 * runtime.NumCPU()
	}
	if o.NewBatchThreshold < 0 {
		o.NewBatchThreshold = 0
	}
	if o.MaxDequeueCount <= 0 {
		o.MaxDequeueCount = 5
	}
	if o.MaxPollingInterval <= 0 {
		o.MaxPollingInterval = time.Minute
	}
	if o.MaxPollingInterval < 100*time.Millisecond {
		o.MaxPollingInterval = 100 * time.Millisecond
	}
	if o.MessageEncoding == "" {
		o.MessageEncoding = EncodingBase64
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.leaseDuration <= 0 {
		o.leaseDuration = 10 * time.Minute
	}
}

// Listener polls one queue for one function.
type Listener struct {
	queue  string
	poison string
	q      *azqueue.QueueClient
	send   *Sender
	h      Handler
	o      Options
	log    *slog.Logger
	wake   chan struct{}

	mu       sync.Mutex
	inflight int
	changed  chan struct{}       // closed and replaced when inflight drops
	running  map[*receipt]string // messages in the function, with their text
	wg       sync.WaitGroup
}

// NewListener returns a listener for queue on svc; send adds poison
// messages (and may be shared with output bindings).
func NewListener(svc *azqueue.ServiceClient, send *Sender, queue string, h Handler, opts Options) *Listener {
	opts.defaults()
	return &Listener{
		queue: queue, poison: PoisonQueueName(queue), q: svc.NewQueueClient(queue), send: send, h: h, o: opts,
		log:  opts.Logger.With("category", "Host.Triggers.Queue", "queue", queue),
		wake: make(chan struct{}, 1), changed: make(chan struct{}), running: map[*receipt]string{},
	}
}

// Wake makes an idle listener poll at once (a function of this host just
// added a message to its queue).
func (l *Listener) Wake() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Run polls until ctx is cancelled, then waits up to DrainTimeout for the
// messages in flight; those still running are made visible again so that
// another host (or this one, restarted) processes them. It returns nil.
func (l *Listener) Run(ctx context.Context) error {
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHard()
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		got, err := l.poll(ctx, hard)
		switch {
		case ctx.Err() != nil:
		case err != nil || got == 0:
			if err != nil && !queueerror.HasCode(err, queueerror.QueueNotFound) {
				l.log.Warn(fmt.Sprintf("Polling queue '%s' failed; backing off", l.queue), "err", err)
			}
			backoff = nextBackoff(backoff, l.o.MaxPollingInterval)
			select {
			case <-ctx.Done():
			case <-l.wake:
				backoff = 0
			case <-time.After(backoff):
			}
		default:
			backoff = 0
			l.waitBelowThreshold(ctx)
		}
	}
	drained := make(chan struct{})
	go func() { l.wg.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(l.o.DrainTimeout):
		l.log.Warn(fmt.Sprintf("Messages of queue '%s' still running after %s; releasing them to the queue", l.queue, l.o.DrainTimeout))
		cancelHard()
		select {
		case <-drained:
		case <-time.After(5 * time.Second):
			// Functions that ignore cancellation: give their messages back
			// now; their late deletes will fail on the changed receipt.
			l.mu.Lock()
			for r, text := range l.running {
				l.release(r.get(), r.id, text, 0)
			}
			l.mu.Unlock()
		}
	}
	return nil
}

// nextBackoff doubles the delay from 100 ms up to max, randomized by ±20 %.
func nextBackoff(prev, max time.Duration) time.Duration {
	d := 2 * prev
	if d < 100*time.Millisecond {
		d = 100 * time.Millisecond
	}
	if d > max {
		d = max
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

func (l *Listener) waitBelowThreshold(ctx context.Context) {
	for {
		l.mu.Lock()
		n, ch := l.inflight, l.changed
		l.mu.Unlock()
		if n <= l.o.NewBatchThreshold {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}

func (l *Listener) track(delta int) {
	l.mu.Lock()
	l.inflight += delta
	if delta < 0 {
		close(l.changed)
		l.changed = make(chan struct{})
	}
	l.mu.Unlock()
}

// poll fetches one batch and starts a goroutine per message.
func (l *Listener) poll(ctx, hard context.Context) (int, error) {
	resp, err := l.q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{
		NumberOfMessages:  to.Ptr(int32(l.o.BatchSize)),
		VisibilityTimeout: to.Ptr(int32(l.o.leaseDuration / time.Second)),
	})
	if err != nil {
		return 0, err
	}
	for _, m := range resp.Messages {
		if m == nil || m.MessageID == nil || m.PopReceipt == nil {
			continue
		}
		l.track(+1)
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer l.track(-1)
			l.process(hard, m)
		}()
	}
	return len(resp.Messages), nil
}

// process runs one message through the function and settles it.
func (l *Listener) process(ctx context.Context, m *azqueue.DequeuedMessage) {
	msg := &Message{ID: *m.MessageID, PopReceipt: *m.PopReceipt, DequeueCount: deref(m.DequeueCount),
		InsertionTime: derefTime(m.InsertionTime), ExpirationTime: derefTime(m.ExpirationTime), NextVisibleTime: derefTime(m.TimeNextVisible)}
	text := ""
	if m.MessageText != nil {
		text = *m.MessageText
	}
	if msg.DequeueCount > int64(l.o.MaxDequeueCount) {
		l.movePoison(ctx, msg, text)
		return
	}
	body, err := Decode(text, l.o.MessageEncoding)
	if err != nil {
		l.log.Warn(fmt.Sprintf("Message '%s' of queue '%s' cannot be decoded: %v", msg.ID, l.queue, err))
		l.movePoison(ctx, msg, text)
		return
	}
	msg.Body = body
	keep := &receipt{id: msg.ID, pop: msg.PopReceipt}
	stopKeep := l.keepInvisible(ctx, keep, text)
	l.mu.Lock()
	l.running[keep] = text
	l.mu.Unlock()
	herr := l.h(ctx, msg)
	l.mu.Lock()
	delete(l.running, keep)
	l.mu.Unlock()
	stopKeep()
	pop := keep.get()
	switch {
	case ctx.Err() != nil && herr != nil:
		// Stopped mid-run: let the message be delivered again at once.
		l.release(pop, msg.ID, text, 0)
	case herr == nil:
		_, err := l.q.DeleteMessage(context.WithoutCancel(ctx), msg.ID, pop, nil)
		if err != nil && !ignorable(err) {
			l.log.Warn(fmt.Sprintf("Deleting message '%s' of queue '%s' failed", msg.ID, l.queue), "err", err)
		}
	case msg.DequeueCount >= int64(l.o.MaxDequeueCount) && l.poison != "":
		msg.PopReceipt = pop
		l.movePoison(ctx, msg, text)
	case l.poison == "":
		// No poison queue: the message stays invisible until its lease ends.
	default:
		l.release(pop, msg.ID, text, l.o.VisibilityTimeout)
	}
}

// release makes a message visible again after delay.
func (l *Listener) release(pop, id, text string, delay time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := l.q.UpdateMessage(ctx, id, pop, text, &azqueue.UpdateMessageOptions{VisibilityTimeout: to.Ptr(int32(delay / time.Second))})
	if err != nil && !ignorable(err) {
		l.log.Warn(fmt.Sprintf("Releasing message '%s' of queue '%s' failed", id, l.queue), "err", err)
	}
}

// movePoison adds the message's original text to the poison queue, then
// deletes it from this one.
func (l *Listener) movePoison(ctx context.Context, msg *Message, text string) {
	if l.poison == "" {
		return
	}
	ctx = context.WithoutCancel(ctx)
	l.log.Warn(fmt.Sprintf("Message has reached MaxDequeueCount of %d. Moving message to queue '%s'.", l.o.MaxDequeueCount, l.poison),
		"messageId", msg.ID)
	if err := l.send.SendText(ctx, l.poison, text); err != nil {
		l.log.Error(fmt.Sprintf("Moving message '%s' to queue '%s' failed; it stays in '%s'", msg.ID, l.poison, l.queue), "err", err)
		return
	}
	if _, err := l.q.DeleteMessage(ctx, msg.ID, msg.PopReceipt, nil); err != nil && !ignorable(err) {
		l.log.Warn(fmt.Sprintf("Deleting poisoned message '%s' from queue '%s' failed", msg.ID, l.queue), "err", err)
	}
}

// receipt is a message's current pop receipt, renewed by keepInvisible.
type receipt struct {
	mu      sync.Mutex
	id, pop string
}

func (r *receipt) get() string { r.mu.Lock(); defer r.mu.Unlock(); return r.pop }

// keepInvisible extends the message's invisibility at half the lease while
// the function runs, so that long runs are not delivered twice.
func (l *Listener) keepInvisible(ctx context.Context, r *receipt, text string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(l.o.leaseDuration / 2)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			resp, err := l.q.UpdateMessage(context.WithoutCancel(ctx), r.id, r.get(), text,
				&azqueue.UpdateMessageOptions{VisibilityTimeout: to.Ptr(int32(l.o.leaseDuration / time.Second))})
			if err != nil {
				l.log.Warn(fmt.Sprintf("Extending the invisibility of message '%s' failed", r.id), "err", err)
				continue
			}
			if resp.PopReceipt != nil {
				r.mu.Lock()
				r.pop = *resp.PopReceipt
				r.mu.Unlock()
			}
		}
	}()
	return func() { close(done); <-finished }
}

// ignorable: the message is gone or was taken by another receiver.
func ignorable(err error) bool {
	return queueerror.HasCode(err, queueerror.MessageNotFound, queueerror.PopReceiptMismatch, queueerror.QueueNotFound) ||
		errors.Is(err, context.Canceled)
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func derefTime(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return *p
}
