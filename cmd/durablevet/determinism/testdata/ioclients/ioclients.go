// Package ioclients exercises the I/O package list: Azure SDK clients for
// blobs, queues and tables called from orchestrator code.
package ioclients

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/funchost/funchost/bindings"
)

// Archiver holds storage clients, as an app wired with them would.
type Archiver struct {
	Blobs  *azblob.Client
	Queue  *azqueue.QueueClient
	Tables *aztables.Client
}

func (a *Archiver) Archive(ctx bindings.OrchestrationContext) (any, error) {
	bg := context.Background()
	_, err := a.Blobs.UploadBuffer(bg, "c", "b", nil, nil) // want `^Archiver\.Archive → azblob\.Client\.UploadBuffer: orchestrator code must not call network, storage or database clients; do it in an activity \(ctx\.CallActivity\)$`
	if bloberror.HasCode(err, bloberror.BlobNotFound) {    // error classification is pure
		return nil, err
	}
	_, _ = a.Queue.EnqueueMessage(bg, "hello", nil) // want `^Archiver\.Archive → azqueue\.QueueClient\.EnqueueMessage: `
	_, _ = a.Tables.GetEntity(bg, "pk", "rk", nil)  // want `^Archiver\.Archive → aztables\.Client\.GetEntity: `
	opts := &azblob.UploadBufferOptions{}           // option structs are fine
	_ = opts
	return nil, nil
}

func Connect(ctx bindings.OrchestrationContext) (any, error) {
	c, err := azblob.NewClientFromConnectionString("UseDevelopmentStorage=true", nil) // want `^Connect → azblob\.NewClientFromConnectionString: `
	if err != nil {
		return nil, err
	}
	return upload(c), nil // want `^Connect → upload → azblob\.Client\.UploadBuffer: `
}

func upload(c *azblob.Client) error {
	_, err := c.UploadBuffer(context.Background(), "c", "b", nil, nil)
	return err
}

// Upload is the activity that does it properly.
func (a *Archiver) Upload(ctx bindings.ActivityContext) (any, error) {
	return nil, upload(a.Blobs)
}

// Properly calls the activity.
func Properly(ctx bindings.OrchestrationContext) (any, error) {
	return bindings.CallActivity[string](ctx, "Upload", nil)
}
