package storagebindings

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// Blobs reads and writes the blobs of blob bindings on one account.
type Blobs struct {
	svc *service.Client
}

// NewBlobs returns Blobs on svc.
func NewBlobs(svc *service.Client) *Blobs { return &Blobs{svc: svc} }

// Read returns a blob's content, or ok=false when the blob (or its
// container) does not exist: a missing input blob binds as null.
func (b *Blobs) Read(ctx context.Context, path string) (data []byte, ok bool, err error) {
	c, name, err := SplitBlobPath(path)
	if err != nil {
		return nil, false, err
	}
	resp, err := b.svc.NewContainerClient(c).NewBlobClient(name).DownloadStream(ctx, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading blob %q: %w", path, err)
	}
	defer resp.Body.Close()
	data, err = io.ReadAll(resp.Body)
	if err != nil {
		return nil, false, fmt.Errorf("reading blob %q: %w", path, err)
	}
	return data, true, nil
}

// Write overwrites a blob, creating its container if needed.
func (b *Blobs) Write(ctx context.Context, path string, data []byte) error {
	c, name, err := SplitBlobPath(path)
	if err != nil {
		return err
	}
	cc := b.svc.NewContainerClient(c)
	upload := func() error {
		_, err := cc.NewBlockBlobClient(name).UploadBuffer(ctx, data, &blockblob.UploadBufferOptions{})
		return err
	}
	err = upload()
	if bloberror.HasCode(err, bloberror.ContainerNotFound) {
		if _, cerr := cc.Create(ctx, nil); cerr != nil && !bloberror.HasCode(cerr, bloberror.ContainerAlreadyExists) {
			return fmt.Errorf("creating container %q: %w", c, cerr)
		}
		err = upload()
	}
	if err != nil {
		return fmt.Errorf("writing blob %q: %w", path, err)
	}
	return nil
}

// BlobOutput is one invocation's blob output binding: the value set during
// the invocation is written by Flush once the function has succeeded.
type BlobOutput struct {
	blobs *Blobs
	path  string

	mu   sync.Mutex
	data []byte
	set  bool
}

// NewBlobOutput returns an output binding to path (already expanded).
func NewBlobOutput(b *Blobs, path string) *BlobOutput { return &BlobOutput{blobs: b, path: path} }

// Path returns the blob path.
func (o *BlobOutput) Path() string { return o.path }

// Set replaces the value to write (string and []byte as is, other values
// as JSON).
func (o *BlobOutput) Set(v any) error {
	body, err := MessageBody(v)
	if err != nil {
		return fmt.Errorf("blob output %q: %w", o.path, err)
	}
	o.mu.Lock()
	o.data, o.set = body, true
	o.mu.Unlock()
	return nil
}

// Flush writes the value, if one was set.
func (o *BlobOutput) Flush(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.set {
		return nil
	}
	if err := o.blobs.Write(ctx, o.path, o.data); err != nil {
		return err
	}
	o.set = false
	return nil
}
