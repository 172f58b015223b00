package host

import (
	"github.com/funchost/funchost/host/config"
	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// openMemory returns the in-memory task hub (host.json storageProvider
// type "memory"): for tests, demos and benchmarks; nothing survives the
// process.
func openMemory(cfg *config.Config) sp.TaskHub {
	return memory.New(memory.Options{Name: cfg.Host.Durable.HubName})
}
