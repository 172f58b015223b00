package durable

import (
	"strings"

	"github.com/funchost/funchost/host/dfwire"
	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/host/telemetry"
	sp "github.com/funchost/funchost/storageprovider"
)

// Links say how the management URLs that clients hand out are built.
type Links struct {
	// Hostname is the host[:port] callers reach the app at, as Functions'
	// WEBSITE_HOSTNAME gives it (Core Tools: localhost:<port>); "" gives
	// durableclient.DefaultWebhookBase. URLs use http for localhost and
	// 127.0.0.1, https otherwise.
	Hostname string
	// SystemKey is written to management URLs as code=…: the
	// durabletask_extension system key ("" when the host has no keys).
	// Never the master key: those URLs reach whoever calls a starter.
	SystemKey string
}

// WebhookBase is the absolute URL of the management API at hostname.
func (l Links) WebhookBase() string {
	if l.Hostname == "" {
		return durableclient.DefaultWebhookBase
	}
	scheme := "https"
	if h := strings.ToLower(l.Hostname); strings.HasPrefix(h, "localhost:") || strings.HasPrefix(h, "127.0.0.1:") {
		scheme = "http"
	}
	return scheme + "://" + l.Hostname + dfwire.WebhookPath
}

// NewClient returns a durable client on hub (from OpenTaskHub) that
// accepts any orchestrator name; Start's client accepts only the app's.
func NewClient(hub sp.TaskHub, s Settings, l Links) *durableclient.Client {
	return newClient(hub, s, l, nil, nil, nil)
}

func newClient(hub sp.TaskHub, s Settings, l Links, isOrchestrator, isEntity func(string) bool,
	tel *telemetry.Telemetry) *durableclient.Client {
	s = s.withDefaults()
	dc := s.Host.Durable
	return durableclient.New(durableclient.Options{
		Hub:              hub,
		IsOrchestrator:   isOrchestrator,
		IsEntity:         isEntity,
		ConnectionName:   ConnectionName(dc.StorageProvider.ConnectionName),
		WebhookBase:      l.WebhookBase(),
		Code:             l.SystemKey,
		UseForwardedHost: dc.UseForwardedHost,
		DefaultVersion:   dc.Versioning.Default,
		OnCreate:         tel.CreateHook(),
		OnRaise:          tel.RaiseHook(),
		OnSignal:         tel.SignalHook(),
	})
}

// ConnectionName is the connection name written to management URLs for a
// storageProvider.connectionName: Durable Functions writes "Storage" for
// the default AzureWebJobsStorage.
func ConnectionName(name string) string {
	if name == "" || strings.EqualFold(name, "AzureWebJobsStorage") || strings.EqualFold(name, "Storage") {
		return durableclient.DefaultConnectionName
	}
	return name
}
