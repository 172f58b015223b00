package storagebindings

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"

	"github.com/funchost/funchost/host/triggers/queue"
)

// QueueOutput is one invocation's queue output binding: values added
// during the invocation are sent, one message each, by Flush once the
// function has succeeded (and never if it failed).
type QueueOutput struct {
	sender   *queue.Sender
	queue    string
	encoding string

	mu      sync.Mutex
	pending [][]byte
}

// NewQueueOutput returns an output binding to queue (already expanded),
// encoding bodies per encoding (queue.EncodingBase64 or EncodingNone).
func NewQueueOutput(sender *queue.Sender, queueName, encoding string) *QueueOutput {
	return &QueueOutput{sender: sender, queue: queueName, encoding: encoding}
}

// Queue returns the target queue's name.
func (q *QueueOutput) Queue() string { return q.queue }

// Add queues one message: a string or []byte as is, json.RawMessage as is,
// anything else as JSON.
func (q *QueueOutput) Add(v any) error {
	body, err := MessageBody(v)
	if err != nil {
		return fmt.Errorf("queue output %q: %w", q.queue, err)
	}
	q.mu.Lock()
	q.pending = append(q.pending, body)
	q.mu.Unlock()
	return nil
}

// Set adds a function's return value: a slice or array (other than []byte
// and json.RawMessage) yields one message per element, as in Functions.
func (q *QueueOutput) Set(v any) error {
	rv := reflect.ValueOf(v)
	switch v.(type) {
	case []byte, json.RawMessage:
	default:
		if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
			for i := range rv.Len() {
				if err := q.Add(rv.Index(i).Interface()); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return q.Add(v)
}

// Pending returns the bodies waiting to be sent.
func (q *QueueOutput) Pending() [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([][]byte(nil), q.pending...)
}

// Flush sends the pending messages in order, creating the queue if needed.
// On an error the messages not yet sent stay pending.
func (q *QueueOutput) Flush(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.pending) > 0 {
		if err := q.sender.SendText(ctx, q.queue, queue.Encode(q.pending[0], q.encoding)); err != nil {
			return err
		}
		q.pending = q.pending[1:]
	}
	return nil
}

// MessageBody is the bytes a value becomes in a message or blob.
func MessageBody(v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return nil, fmt.Errorf("a nil value cannot be sent")
	case string:
		return []byte(x), nil
	case []byte:
		return x, nil
	case json.RawMessage:
		return x, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding %T as JSON: %w", v, err)
	}
	return b, nil
}
