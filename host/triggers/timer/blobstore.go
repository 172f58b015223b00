package timer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// HostsContainer is the container the Functions host keeps timer statuses
// and singleton locks in.
const HostsContainer = "azure-webjobs-hosts"

// DefaultLockPeriod is the listener lock's lease duration; the holder
// renews it at half the period.
const DefaultLockPeriod = 60 * time.Second

// BlobStore keeps timer statuses and singleton locks in blob storage in the
// Functions host's layout, so that funchost and the Functions host see each
// other's timers:
//
//	azure-webjobs-hosts/timers/{hostId}/Host.Functions.{Name}/status
//	azure-webjobs-hosts/locks/{hostId}/Host.Functions.{Name}.Listener
//
// It implements StatusStore and Locker; timer names are function names.
type BlobStore struct {
	container *container.Client
	hostID    string
	// LockPeriod is the lease duration (15–60 s; default 60 s).
	LockPeriod time.Duration
}

// NewBlobStore returns a BlobStore for hostID on the account of svc.
func NewBlobStore(svc *service.Client, hostID string) *BlobStore {
	return &BlobStore{container: svc.NewContainerClient(HostsContainer), hostID: hostID, LockPeriod: DefaultLockPeriod}
}

// FunctionFullName is the name the Functions host gives a function.json
// function in blob paths and logs: its generated type is Host.Functions.
func FunctionFullName(function string) string { return "Host.Functions." + function }

func (b *BlobStore) statusBlob(timer string) *blockblob.Client {
	return b.container.NewBlockBlobClient(b.StatusBlobName(timer))
}

// StatusBlobName returns the status blob's name inside HostsContainer.
func (b *BlobStore) StatusBlobName(timer string) string {
	return fmt.Sprintf("timers/%s/%s/status", b.hostID, FunctionFullName(timer))
}

// Get implements StatusStore.
func (b *BlobStore) Get(ctx context.Context, timer string) (*Status, error) {
	resp, err := b.statusBlob(timer).DownloadStream(ctx, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("timer %s: reading status blob: %w", timer, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("timer %s: reading status blob: %w", timer, err)
	}
	var s Status
	if err := json.Unmarshal(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), &s); err != nil {
		return nil, fmt.Errorf("timer %s: status blob is not a schedule status: %w", timer, err)
	}
	return &s, nil
}

// Put implements StatusStore. The container is created on first write.
func (b *BlobStore) Put(ctx context.Context, timer string, s Status) error {
	data, _ := json.Marshal(s)
	upload := func() error {
		_, err := b.statusBlob(timer).UploadBuffer(ctx, data, &blockblob.UploadBufferOptions{
			HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("application/json")},
		})
		return err
	}
	err := upload()
	if bloberror.HasCode(err, bloberror.ContainerNotFound) {
		if err = b.createContainer(ctx); err == nil {
			err = upload()
		}
	}
	if err != nil {
		return fmt.Errorf("timer %s: writing status blob: %w", timer, err)
	}
	return nil
}

func (b *BlobStore) createContainer(ctx context.Context) error {
	_, err := b.container.Create(ctx, nil)
	if bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return nil
	}
	return err
}

// TryAcquire implements Locker with a blob lease on the lock blob, whose
// metadata FunctionInstance records the owner.
func (b *BlobStore) TryAcquire(ctx context.Context, name, owner string) (Lease, error) {
	bc := b.container.NewBlockBlobClient(fmt.Sprintf("locks/%s/%s.Listener", b.hostID, FunctionFullName(name)))
	lc, err := lease.NewBlobClient(bc, nil)
	if err != nil {
		return nil, err
	}
	period := b.LockPeriod
	if period <= 0 {
		period = DefaultLockPeriod
	}
	for attempt := 0; ; attempt++ {
		_, err = lc.AcquireLease(ctx, int32(period/time.Second), nil)
		switch {
		case err == nil:
			_, _ = bc.SetMetadata(ctx, map[string]*string{"FunctionInstance": to.Ptr(owner)}, &blob.SetMetadataOptions{
				AccessConditions: &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: lc.LeaseID()}},
			})
			return &blobLease{c: lc}, nil
		case bloberror.HasCode(err, bloberror.LeaseAlreadyPresent):
			return nil, nil
		case attempt == 0 && bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound):
			if err := b.createLockBlob(ctx, bc); err != nil {
				return nil, fmt.Errorf("timer %s: creating the lock blob: %w", name, err)
			}
		default:
			return nil, fmt.Errorf("timer %s: acquiring the singleton lock: %w", name, err)
		}
	}
}

// createLockBlob creates the empty lock blob (and the container), leaving
// an existing one alone: it may be leased by another host.
func (b *BlobStore) createLockBlob(ctx context.Context, bc *blockblob.Client) error {
	create := func() error {
		_, err := bc.UploadBuffer(ctx, nil, &blockblob.UploadBufferOptions{
			AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}},
		})
		if bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.LeaseIDMissing) || statusCode(err) == 412 || statusCode(err) == 409 {
			return nil
		}
		return err
	}
	err := create()
	if bloberror.HasCode(err, bloberror.ContainerNotFound) {
		if err = b.createContainer(ctx); err == nil {
			err = create()
		}
	}
	return err
}

func statusCode(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

type blobLease struct{ c *lease.BlobClient }

func (l *blobLease) Renew(ctx context.Context) error {
	_, err := l.c.RenewLease(ctx, nil)
	if bloberror.HasCode(err, bloberror.LeaseIDMismatchWithLeaseOperation, bloberror.LeaseNotPresentWithLeaseOperation,
		bloberror.LeaseLost, bloberror.BlobNotFound, bloberror.ContainerNotFound) || statusCode(err) == 409 {
		return fmt.Errorf("%w: %v", ErrLeaseLost, err)
	}
	return err
}

func (l *blobLease) Release(ctx context.Context) error {
	_, err := l.c.ReleaseLease(ctx, nil)
	return err
}
