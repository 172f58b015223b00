package host

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/host/durable"
	"github.com/funchost/funchost/host/httpserver"
	"github.com/funchost/funchost/storageprovider/azurestorage"
)

// The generated system key lives where the Functions host keeps its
// secrets: the azure-webjobs-secrets container of the app's storage
// account, under the host ID, so that every host of the app (same storage
// account, same host ID) reads the same key. funchost writes its own blob
// there and never touches the Functions host's host.json.
const (
	secretsContainer = "azure-webjobs-secrets"
	systemKeysBlob   = "funchost-system-keys.json"
)

// systemKeysFile is the blob's content.
type systemKeysFile struct {
	SystemKeys []namedKey `json:"systemKeys"`
}

type namedKey struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// secretStore reads and creates the system keys blob: Read answers
// ok=false when there is none; Create writes only when there is none
// (created=false when another host was first).
type secretStore interface {
	Read(ctx context.Context) (data []byte, ok bool, err error)
	Create(ctx context.Context, data []byte) (created bool, err error)
	// Where names the blob in log lines.
	Where() string
}

// ensureSystemKey fills in the durabletask_extension system key when keys
// are configured but that key is not: without it the management URLs the
// starters hand out would have to carry the master key. The key is read
// from store, or generated and stored there; with no store (no storage
// account, e.g. the memory provider without AzureWebJobsStorage) it is
// generated for this process alone, with a warning. With no key at all
// the host is open and nothing is generated.
func ensureSystemKey(ctx context.Context, keys *httpserver.Keys, store secretStore, log *slog.Logger) error {
	if keys.Open() || keys.System[httpserver.DurableTaskSystemKeyName] != "" {
		return nil
	}
	if store == nil {
		k, err := newKey()
		if err != nil {
			return err
		}
		keys.System[httpserver.DurableTaskSystemKeyName] = k
		log.Warn("Generated a " + httpserver.DurableTaskSystemKeyName + " system key for this process only (no storage account to keep it in): " +
			"set " + httpserver.SettingDurableTaskSystemKey + " so that every host of the app and your tools share one")
		return nil
	}
	k, err := loadOrCreateSystemKey(ctx, store)
	if err != nil {
		return fmt.Errorf("reading or creating the %s system key in %s: %w", httpserver.DurableTaskSystemKeyName, store.Where(), err)
	}
	keys.System[httpserver.DurableTaskSystemKeyName] = k
	log.Info("Durable management API key: the " + httpserver.DurableTaskSystemKeyName + " system key kept in " + store.Where() +
		" (set " + httpserver.SettingDurableTaskSystemKey + " to choose it)")
	return nil
}

// loadOrCreateSystemKey returns the stored key, or stores a new one. Two
// hosts starting together both try to create; the loser reads the
// winner's key.
func loadOrCreateSystemKey(ctx context.Context, store secretStore) (string, error) {
	for range 3 {
		data, ok, err := store.Read(ctx)
		if err != nil {
			return "", err
		}
		if ok {
			return systemKeyFrom(data, store.Where())
		}
		k, err := newKey()
		if err != nil {
			return "", err
		}
		data, err = json.Marshal(systemKeysFile{SystemKeys: []namedKey{{Name: httpserver.DurableTaskSystemKeyName, Value: k}}})
		if err != nil {
			return "", err
		}
		created, err := store.Create(ctx, data)
		if err != nil {
			return "", err
		}
		if created {
			return k, nil
		}
	}
	return "", errors.New("the blob kept changing between reads and writes")
}

// systemKeyFrom finds the durabletask_extension key in the blob's JSON.
func systemKeyFrom(data []byte, where string) (string, error) {
	var f systemKeysFile
	if err := json.Unmarshal(data, &f); err != nil {
		return "", fmt.Errorf("%s is not valid JSON: %w", where, err)
	}
	for _, k := range f.SystemKeys {
		if k.Name == httpserver.DurableTaskSystemKeyName && k.Value != "" {
			return k.Value, nil
		}
	}
	return "", fmt.Errorf("%s holds no %q key", where, httpserver.DurableTaskSystemKeyName)
}

// newKey returns a key as the Functions host makes them: 32 random bytes,
// URL-safe base64 (so it can go into a query string as it is).
func newKey() (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return "", fmt.Errorf("generating a key: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// secretsFor is the secret store in the task hub's storage account (the
// AzureWebJobsStorage account unless storageProvider.connectionName says
// otherwise); nil for the memory provider, which has no account.
func secretsFor(s durable.Settings, hostID string) (secretStore, error) {
	if s.Host.Durable.StorageProvider.Type == config.ProviderMemory {
		return nil, nil
	}
	name := s.Host.Durable.StorageProvider.ConnectionName
	c, err := azurestorage.ResolveConnection(name, s.Env.LookupEnv)
	if err != nil {
		return nil, err
	}
	svc, err := c.BlobServiceClient(nil)
	if err != nil {
		return nil, fmt.Errorf("connection %q: %w", name, err)
	}
	return blobSecrets{svc: svc, hostID: hostID}, nil
}

// blobSecrets is the secretStore on a blob account.
type blobSecrets struct {
	svc    *service.Client
	hostID string
}

func (b blobSecrets) client() *blockblob.Client {
	return b.svc.NewContainerClient(secretsContainer).NewBlockBlobClient(b.hostID + "/" + systemKeysBlob)
}

func (b blobSecrets) Where() string {
	return "blob " + secretsContainer + "/" + b.hostID + "/" + systemKeysBlob
}

func (b blobSecrets) Read(ctx context.Context) ([]byte, bool, error) {
	resp, err := b.client().DownloadStream(ctx, nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}

func (b blobSecrets) Create(ctx context.Context, data []byte) (bool, error) {
	upload := func() error {
		_, err := b.client().UploadBuffer(ctx, data, &blockblob.UploadBufferOptions{
			AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}},
		})
		return err
	}
	err := upload()
	if bloberror.HasCode(err, bloberror.ContainerNotFound) {
		_, cerr := b.svc.NewContainerClient(secretsContainer).Create(ctx, nil)
		if cerr != nil && !bloberror.HasCode(cerr, bloberror.ContainerAlreadyExists) {
			return false, cerr
		}
		err = upload()
	}
	if bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet) {
		return false, nil
	}
	return err == nil, err
}
