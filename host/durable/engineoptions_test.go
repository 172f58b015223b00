package durable

import (
	"log/slog"
	"testing"

	"github.com/funchost/funchost/host/config"
	"github.com/funchost/funchost/storageprovider/azurestorage"
)

// TestOpenActivityCallsByProvider: host.json's maxOpenActivityCalls
// reaches the engine as set; unset, Azure Storage gets its bound (its
// queues slow with their backlog) and the memory provider none.
func TestOpenActivityCallsByProvider(t *testing.T) {
	tests := []struct {
		provider string
		set      int
		want     int
	}{
		{config.ProviderAzureStorage, 0, azurestorage.DefaultMaxOpenActivityCalls},
		{config.ProviderMemory, 0, 0},
		{config.ProviderAzureStorage, 7, 7},
		{config.ProviderMemory, 7, 7},
	}
	for _, tt := range tests {
		dc := config.DefaultHost().Durable
		dc.StorageProvider.Type = tt.provider
		dc.MaxOpenActivityCalls = tt.set
		if got := engineOptions(dc, slog.Default()).MaxOpenActivityCalls; got != tt.want {
			t.Errorf("%s with maxOpenActivityCalls %d: engine bound %d, want %d", tt.provider, tt.set, got, tt.want)
		}
	}
}
