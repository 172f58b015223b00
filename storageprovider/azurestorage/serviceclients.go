package azurestorage

import (
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// QueueServiceClient returns a queue service client for the account, with
// the same authentication, retries and connection pool as the task hub's
// own clients. Host components outside the task hub (queue triggers,
// queue output bindings) use it. counter, when non-nil, counts requests.
func (c Connection) QueueServiceClient(counter *RequestCounter) (*azqueue.ServiceClient, error) {
	cl, err := newClients(c, orNewCounter(counter), nil)
	if err != nil {
		return nil, err
	}
	return cl.queues, nil
}

// BlobServiceClient returns a blob service client for the account, like
// QueueServiceClient (timer status and locks, blob bindings).
func (c Connection) BlobServiceClient(counter *RequestCounter) (*service.Client, error) {
	cl, err := newClients(c, orNewCounter(counter), nil)
	if err != nil {
		return nil, err
	}
	return cl.blobs, nil
}

func orNewCounter(c *RequestCounter) *RequestCounter {
	if c == nil {
		return &RequestCounter{}
	}
	return c
}
