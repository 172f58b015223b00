package queue

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"
)

// Message encodings (host.json extensions.queues.messageEncoding).
const (
	EncodingBase64 = "base64"
	EncodingNone   = "none"
)

// Encode turns a message body into queue message text per encoding.
func Encode(body []byte, encoding string) string {
	if strings.EqualFold(encoding, EncodingNone) {
		return string(body)
	}
	return base64.StdEncoding.EncodeToString(body)
}

// Decode turns queue message text into the body per encoding; text that is
// not Base64 under the base64 encoding is an error (the message is poison).
func Decode(text, encoding string) ([]byte, error) {
	if strings.EqualFold(encoding, EncodingNone) {
		return []byte(text), nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return nil, fmt.Errorf("the message is not Base64-encoded (messageEncoding is base64): %w", err)
	}
	return b, nil
}

// Sender adds messages to queues of one account, creating each queue on
// first use. It is safe for concurrent use.
type Sender struct {
	svc     *azqueue.ServiceClient
	mu      sync.Mutex
	created map[string]bool
	// OnSend, when set, is called after a message was added to a queue
	// (listeners of the same host use it to poll at once).
	OnSend func(queue string)
}

// NewSender returns a Sender on svc.
func NewSender(svc *azqueue.ServiceClient) *Sender {
	return &Sender{svc: svc, created: map[string]bool{}}
}

// SendText adds one message whose text is already encoded.
func (s *Sender) SendText(ctx context.Context, queue, text string) error {
	q := s.svc.NewQueueClient(queue)
	if err := s.ensure(ctx, q, queue); err != nil {
		return err
	}
	_, err := q.EnqueueMessage(ctx, text, nil)
	if queueerror.HasCode(err, queueerror.QueueNotFound) { // deleted since
		s.mu.Lock()
		delete(s.created, queue)
		s.mu.Unlock()
		if err = s.ensure(ctx, q, queue); err == nil {
			_, err = q.EnqueueMessage(ctx, text, nil)
		}
	}
	if err != nil {
		return fmt.Errorf("adding a message to queue %q: %w", queue, err)
	}
	if s.OnSend != nil {
		s.OnSend(queue)
	}
	return nil
}

func (s *Sender) ensure(ctx context.Context, q *azqueue.QueueClient, name string) error {
	s.mu.Lock()
	done := s.created[name]
	s.mu.Unlock()
	if done {
		return nil
	}
	_, err := q.Create(ctx, nil)
	if err != nil && !queueerror.HasCode(err, queueerror.QueueAlreadyExists) {
		return fmt.Errorf("creating queue %q: %w", name, err)
	}
	s.mu.Lock()
	s.created[name] = true
	s.mu.Unlock()
	return nil
}

// ValidateName checks an Azure Storage queue name: 3–63 characters, lower
// case letters, digits and single hyphens, starting and ending with a
// letter or digit.
func ValidateName(name string) error {
	bad := func(why string) error { return fmt.Errorf("invalid queue name %q: %s", name, why) }
	if len(name) < 3 || len(name) > 63 {
		return bad("must be 3 to 63 characters long")
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r == '-':
			if i == 0 || i == len(name)-1 || name[i-1] == '-' {
				return bad("hyphens must stand between letters or digits, one at a time")
			}
		default:
			return bad("only lower-case letters, digits and hyphens are allowed")
		}
	}
	return nil
}

// PoisonQueueName returns the poison queue of queue, or "" when it has
// none (a poison queue itself, or a name that would be too long).
func PoisonQueueName(queue string) string {
	if strings.HasSuffix(queue, "-poison") || len(queue)+len("-poison") > 63 {
		return ""
	}
	return queue + "-poison"
}
