package host

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/funchost/funchost/host/config"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage"
)

// openAzureStorage opens the Azure Storage task hub (the default
// provider) on the connection named by storageProvider.connectionName.
func openAzureStorage(ctx context.Context, cfg *config.Config, env config.Env, log *slog.Logger) (sp.TaskHub, error) {
	dc := cfg.Host.Durable
	spc := dc.StorageProvider
	conn, err := azurestorage.ResolveConnection(spc.ConnectionName, env.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("storage connection %q (host.json extensions.durableTask.storageProvider.connectionName): %w", spc.ConnectionName, err)
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
		Logger:                         log,
	})
	if err != nil {
		return nil, fmt.Errorf("opening task hub %s on Azure Storage: %w", dc.HubName, err)
	}
	return hub, nil
}
