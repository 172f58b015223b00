package storagebindings

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/funchost/funchost/host/triggers/queue"
	"github.com/funchost/funchost/storageprovider/azurestorage"
)

// Accounts resolves binding connections ("connection" in function.json, a
// setting name; empty = AzureWebJobsStorage) to storage clients, once per
// connection, with the same rules as the task hub's connection.
type Accounts struct {
	lookup func(string) (string, bool)
	// OnSend is installed on every queue sender (see queue.Sender.OnSend).
	OnSend func(queue string)

	mu      sync.Mutex
	queues  map[string]*azqueue.ServiceClient
	senders map[string]*queue.Sender
	blobs   map[string]*Blobs
}

// NewAccounts returns Accounts reading settings through lookup.
func NewAccounts(lookup func(string) (string, bool)) *Accounts {
	return &Accounts{lookup: lookup, queues: map[string]*azqueue.ServiceClient{},
		senders: map[string]*queue.Sender{}, blobs: map[string]*Blobs{}}
}

func connectionKey(name string) string {
	if name == "" {
		return "storage"
	}
	return strings.ToLower(strings.TrimPrefix(strings.ToLower(name), "azurewebjobs"))
}

func (a *Accounts) connection(name string) (azurestorage.Connection, error) {
	if name == "" {
		name = "AzureWebJobsStorage"
	}
	c, err := azurestorage.ResolveConnection(name, a.lookup)
	if err != nil {
		return azurestorage.Connection{}, err
	}
	return c, nil
}

// Queue returns the queue service client and the shared sender of a
// connection.
func (a *Accounts) Queue(connection string) (*azqueue.ServiceClient, *queue.Sender, error) {
	key := connectionKey(connection)
	a.mu.Lock()
	defer a.mu.Unlock()
	if svc := a.queues[key]; svc != nil {
		return svc, a.senders[key], nil
	}
	c, err := a.connection(connection)
	if err != nil {
		return nil, nil, err
	}
	svc, err := c.QueueServiceClient(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("connection %q: %w", connection, err)
	}
	s := queue.NewSender(svc)
	s.OnSend = func(q string) {
		if a.OnSend != nil {
			a.OnSend(q)
		}
	}
	a.queues[key], a.senders[key] = svc, s
	return svc, s, nil
}

// Blobs returns the blob access of a connection.
func (a *Accounts) Blobs(connection string) (*Blobs, error) {
	key := connectionKey(connection)
	a.mu.Lock()
	defer a.mu.Unlock()
	if b := a.blobs[key]; b != nil {
		return b, nil
	}
	c, err := a.connection(connection)
	if err != nil {
		return nil, err
	}
	svc, err := c.BlobServiceClient(nil)
	if err != nil {
		return nil, fmt.Errorf("connection %q: %w", connection, err)
	}
	b := NewBlobs(svc)
	a.blobs[key] = b
	return b, nil
}

// Binding is one storage binding of a function.json.
type Binding struct {
	// Name is the binding name ("$return" allowed for outputs).
	Name string
	// Kind is KindQueueOutput, KindBlobInput or KindBlobOutput.
	Kind       Kind
	QueueName  string
	Path       string
	Connection string
}

// Kind is a storage binding's kind.
type Kind int

// Storage binding kinds.
const (
	KindQueueOutput Kind = iota + 1
	KindBlobInput
	KindBlobOutput
)

// BlobValue is an input blob's content; Found is false for a missing blob.
type BlobValue struct {
	Data  []byte
	Found bool
}

// Values are one invocation's storage-binding values, by binding name.
type Values struct {
	Queues     map[string]*QueueOutput
	BlobOuts   map[string]*BlobOutput
	BlobInputs map[string]BlobValue
}

// Prepare expands the bindings' %Setting% references and binding
// expressions with data, reads the input blobs and creates the outputs.
// encoding is the queue message encoding for queue outputs.
func (a *Accounts) Prepare(ctx context.Context, bs []Binding, data Data, encoding string, resolve func(string) (string, error)) (*Values, error) {
	v := &Values{Queues: map[string]*QueueOutput{}, BlobOuts: map[string]*BlobOutput{}, BlobInputs: map[string]BlobValue{}}
	for _, b := range bs {
		target := b.Path
		if b.Kind == KindQueueOutput {
			target = b.QueueName
		}
		target, err := resolve(target)
		if err == nil {
			target, err = Expand(target, data)
		}
		if err != nil {
			return nil, fmt.Errorf("binding %q: %w", b.Name, err)
		}
		switch b.Kind {
		case KindQueueOutput:
			_, sender, err := a.Queue(b.Connection)
			if err != nil {
				return nil, fmt.Errorf("binding %q: %w", b.Name, err)
			}
			target = strings.ToLower(target)
			if err := queue.ValidateName(target); err != nil {
				return nil, fmt.Errorf("binding %q: %w", b.Name, err)
			}
			v.Queues[b.Name] = NewQueueOutput(sender, target, encoding)
		case KindBlobOutput, KindBlobInput:
			blobs, err := a.Blobs(b.Connection)
			if err != nil {
				return nil, fmt.Errorf("binding %q: %w", b.Name, err)
			}
			if b.Kind == KindBlobOutput {
				v.BlobOuts[b.Name] = NewBlobOutput(blobs, target)
				continue
			}
			data, found, err := blobs.Read(ctx, target)
			if err != nil {
				return nil, fmt.Errorf("binding %q: %w", b.Name, err)
			}
			v.BlobInputs[b.Name] = BlobValue{Data: data, Found: found}
		}
	}
	return v, nil
}

// Flush writes every output (after the function succeeded).
func (v *Values) Flush(ctx context.Context) error {
	for name, q := range v.Queues {
		if err := q.Flush(ctx); err != nil {
			return fmt.Errorf("output binding %q: %w", name, err)
		}
	}
	for name, b := range v.BlobOuts {
		if err := b.Flush(ctx); err != nil {
			return fmt.Errorf("output binding %q: %w", name, err)
		}
	}
	return nil
}

// BlobService returns the blob service client of a connection (timer
// statuses and locks use the AzureWebJobsStorage account's).
func (a *Accounts) BlobService(connection string) (*service.Client, error) {
	b, err := a.Blobs(connection)
	if err != nil {
		return nil, err
	}
	return b.svc, nil
}
