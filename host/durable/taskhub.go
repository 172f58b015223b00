package durable

import (
	"context"
	"fmt"
	"strings"

	"github.com/funchost/funchost/host/config"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage"
	"github.com/funchost/funchost/storageprovider/memory"
)

// OpenTaskHub opens the task hub that s.Host's extensions.durableTask
// section selects, without creating or starting it: Azure Storage (the
// default) on the connection named by storageProvider.connectionName,
// resolved through s.Env, or, for type "memory", a new empty in-memory hub
// that lives as long as this process.
func OpenTaskHub(ctx context.Context, s Settings) (sp.TaskHub, error) {
	s = s.withDefaults()
	dc := s.Host.Durable
	switch dc.StorageProvider.Type {
	case config.ProviderMemory:
		return memory.New(memory.Options{Name: dc.HubName}), nil
	case config.ProviderAzureStorage, "":
		return openAzureStorage(ctx, s)
	}
	return nil, fmt.Errorf("task hub %s: unsupported storage provider %q (host.json extensions.durableTask.storageProvider.type; use %s or %s)",
		dc.HubName, dc.StorageProvider.Type, config.ProviderAzureStorage, config.ProviderMemory)
}

func openAzureStorage(ctx context.Context, s Settings) (sp.TaskHub, error) {
	dc := s.Host.Durable
	spc := dc.StorageProvider
	name := spc.ConnectionName
	if name == "" {
		name = config.DefaultHost().Durable.StorageProvider.ConnectionName
	}
	conn, err := azurestorage.ResolveConnection(name, s.Env.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("task hub %s: storage connection %q (host.json extensions.durableTask.storageProvider.connectionName): %w",
			dc.HubName, name, err)
	}
	hub, err := azurestorage.New(ctx, azurestorage.Options{
		TaskHubName:                    dc.HubName,
		Connection:                     conn,
		PartitionCount:                 spc.PartitionCount,
		ControlQueueBatchSize:          spc.ControlQueueBatchSize,
		ControlQueueBufferThreshold:    spc.ControlQueueBufferThreshold,
		MaxQueuePollingInterval:        spc.MaxQueuePollingInterval,
		ControlQueueVisibilityTimeout:  spc.ControlQueueVisibilityTimeout,
		WorkItemQueueVisibilityTimeout: spc.WorkItemQueueVisibilityTimeout,
		RequestCounter:                 s.RequestCounter,
		Logger:                         s.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("opening task hub %s on Azure Storage (connection %q): %w", dc.HubName, name, err)
	}
	return hub, nil
}

// summarize keeps a joined multi-error to its first line, so a storage
// outage reads as one message instead of one line per queue and table.
func summarize(err error) error {
	lines := strings.Split(strings.TrimSpace(err.Error()), "\n")
	if len(lines) <= 1 {
		return err
	}
	return &summaryError{err: err, text: fmt.Sprintf("%s (and %d more errors)", lines[0], len(lines)-1)}
}

type summaryError struct {
	err  error
	text string
}

func (e *summaryError) Error() string { return e.text }
func (e *summaryError) Unwrap() error { return e.err }
