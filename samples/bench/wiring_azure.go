package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/azurestorage"
)

// newAzureHub creates an Azure Storage task hub with a request counter.
func newAzureHub(ctx context.Context, cfg inprocConfig) (sp.TaskHub, func() map[string]int64, error) {
	conn, err := azurestorage.ParseConnectionString(cfg.connection)
	if err != nil {
		return nil, nil, fmt.Errorf("storage connection: %w", err)
	}
	counter := &azurestorage.RequestCounter{}
	hub, err := azurestorage.New(ctx, azurestorage.Options{
		TaskHubName:    cfg.hubName,
		Connection:     conn,
		RequestCounter: counter,
		Logger:         slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("task hub %s: %w", cfg.hubName, err)
	}
	return hub, func() map[string]int64 { return counter.Snapshot().ByOperation }, nil
}
