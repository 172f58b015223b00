// Package config reads a function app's configuration the way the Azure
// Functions host does: host.json (with AzureFunctionsJobHost__… environment
// overrides) and local.settings.json (whose Values become environment
// variables unless already set).
//
// Every problem in a file is reported at once; each message names the file,
// the field and the reason.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/funchost/funchost/internal/version"
)

// Storage provider types accepted in
// extensions.durableTask.storageProvider.type.
const (
	ProviderAzureStorage = "AzureStorage"
	ProviderMemory       = "memory"
)

// Host is the parsed host.json.
type Host struct {
	// Path is the file read ("" when the app has no host.json).
	Path string
	// Version is always "2.0".
	Version string
	// FunctionTimeout bounds each HTTP function invocation; -1 means
	// unbounded. Default 30 minutes (the dedicated-plan default).
	FunctionTimeout time.Duration
	// HTTP is extensions.http.
	HTTP HTTP
	// Durable is extensions.durableTask.
	Durable Durable
	// Queues is extensions.queues (queue triggers and outputs).
	Queues Queues
	// Logging is the logging section (log levels).
	Logging Logging
}

// HTTP is the extensions.http section.
type HTTP struct {
	// RoutePrefix is prepended to every HTTP function's route; "" allowed.
	// Default "api". Stored without surrounding slashes.
	RoutePrefix string
	// MaxRequestBodySize is funchost's request-body limit in bytes
	// (extensions.http.maxRequestBodySize, default 100 MiB); larger bodies
	// get 413.
	MaxRequestBodySize int64
}

// Durable is the extensions.durableTask section.
type Durable struct {
	// HubName is the task hub, with %Setting% references resolved.
	HubName         string
	StorageProvider StorageProvider
	// MaxConcurrentActivityFunctions and MaxConcurrentOrchestratorFunctions
	// bound concurrent work items (default 10 × CPU count).
	MaxConcurrentActivityFunctions     int
	MaxConcurrentOrchestratorFunctions int
	// ExtendedSessionsEnabled keeps orchestration state cached between
	// episodes; ExtendedSessionIdleTimeout (extendedSessionIdleTimeoutInSeconds,
	// default 30 s) evicts idle sessions; SessionCacheSize (funchost key
	// sessionCacheSize, default 1000) bounds the cache.
	ExtendedSessionsEnabled    bool
	ExtendedSessionIdleTimeout time.Duration
	SessionCacheSize           int
	// LocalRPCEndpointEnabled turns on the loopback management listener
	// (default true, as for non-.NET apps). LocalRPCEndpointAddress is
	// funchost's localRpcEndpointAddress, default "127.0.0.1:17071".
	LocalRPCEndpointEnabled bool
	LocalRPCEndpointAddress string
	// UseForwardedHost builds management URLs from X-Forwarded-Host /
	// X-Forwarded-Proto (httpSettings.useForwardedHost).
	UseForwardedHost bool
	// LocalActivityExecution (funchost key, default true) lets the engine
	// run an orchestration's activities in-process instead of through the
	// work-item queue when it can.
	LocalActivityExecution bool
	// MaxOrchestrationActions caps the actions of one execution (default
	// 100000); the engine fails an execution over it (docs/guards.md).
	MaxOrchestrationActions int
	// MaxOpenActivityCalls (funchost key maxOpenActivityCalls) bounds one
	// execution's activity calls that are scheduled and not yet
	// completed; a larger fan-out is scheduled as calls complete
	// (docs/replay.md, "Open activity calls"). 0 (unset) leaves it to the
	// provider: 500 on Azure Storage, none in memory.
	MaxOpenActivityCalls int
	// MaxEntityOperationBatchSize bounds the operations one entity work
	// item runs (default 5000, Durable Functions' outside Consumption).
	MaxEntityOperationBatchSize int
	// OrchestratorYieldTimeout (funchost key orchestratorYieldTimeout,
	// default 5 s, 0 = off) fails an orchestration whose code runs that
	// long without yielding to the engine (docs/guards.md).
	OrchestratorYieldTimeout time.Duration
	// Retention is funchost's instanceRetention: purge terminal instances
	// automatically (off by default).
	Retention Retention
	// Tracing is extensions.durableTask.tracing (lifecycle logs and
	// distributed tracing).
	Tracing Tracing
	// Versioning is defaultVersion, versionMatchStrategy and
	// versionFailureStrategy (orchestration versioning, docs/versioning.md).
	Versioning version.Settings
}

// Retention is extensions.durableTask.instanceRetention: terminal
// instances last updated more than Period ago are purged by a background
// sweep every SweepInterval, BatchSize status rows at a time.
type Retention struct {
	Period        time.Duration // 0: off
	SweepInterval time.Duration
	BatchSize     int
}

// StorageProvider is extensions.durableTask.storageProvider.
type StorageProvider struct {
	// Type is ProviderAzureStorage (default) or ProviderMemory.
	Type string
	// ConnectionName names the connection setting (connectionName or its
	// alias connectionStringName; default "AzureWebJobsStorage").
	ConnectionName                 string
	PartitionCount                 int
	ControlQueueBatchSize          int
	ControlQueueBufferThreshold    int
	MaxQueuePollingInterval        time.Duration
	ControlQueueVisibilityTimeout  time.Duration
	WorkItemQueueVisibilityTimeout time.Duration
}

// DefaultHost returns the configuration of an app with an empty host.json.
func DefaultHost() *Host {
	cpus := runtime.NumCPU()
	return &Host{
		Version:         "2.0",
		FunctionTimeout: 30 * time.Minute,
		HTTP:            HTTP{RoutePrefix: "api", MaxRequestBodySize: 100 << 20},
		Queues:          DefaultQueues(),
		Durable: Durable{
			HubName: "TestHubName",
			StorageProvider: StorageProvider{
				Type:                           ProviderAzureStorage,
				ConnectionName:                 "AzureWebJobsStorage",
				PartitionCount:                 4,
				ControlQueueBatchSize:          32,
				ControlQueueBufferThreshold:    256,
				MaxQueuePollingInterval:        30 * time.Second,
				ControlQueueVisibilityTimeout:  5 * time.Minute,
				WorkItemQueueVisibilityTimeout: 5 * time.Minute,
			},
			MaxConcurrentActivityFunctions:     10 * cpus,
			MaxConcurrentOrchestratorFunctions: 10 * cpus,
			ExtendedSessionIdleTimeout:         30 * time.Second,
			SessionCacheSize:                   1000,
			LocalRPCEndpointEnabled:            true,
			LocalRPCEndpointAddress:            "127.0.0.1:17071",
			LocalActivityExecution:             true,
			MaxOrchestrationActions:            100000,
			Retention:                          Retention{SweepInterval: 5 * time.Minute, BatchSize: 100},
			MaxEntityOperationBatchSize:        5000,
			Versioning:                         version.Settings{Match: version.MatchCurrentOrOlder},
			OrchestratorYieldTimeout:           5 * time.Second,
		},
	}
}

// knownHostKeys lists host.json keys: ours are checked to the leaf; other
// Functions keys are accepted, those funchost does not implement
// (notImplemented) with a warning naming them.
var knownHostKeys = schema{
	"version":             nil,
	"functionTimeout":     nil,
	"logging":             loggingKeys,
	"extensionBundle":     notImplemented,
	"retry":               notImplemented,
	"functions":           notImplemented,
	"watchDirectories":    notImplemented,
	"watchFiles":          notImplemented,
	"singleton":           notImplemented,
	"aggregator":          notImplemented,
	"healthMonitor":       notImplemented,
	"managedDependencies": notImplemented,
	"customHandler":       notImplemented,
	"httpWorker":          notImplemented,
	"concurrency":         notImplemented,
	"extensions": {
		"http": {
			"routePrefix":             nil,
			"maxRequestBodySize":      nil,
			"maxConcurrentRequests":   notImplemented,
			"maxOutstandingRequests":  notImplemented,
			"dynamicThrottlesEnabled": notImplemented,
			"hsts":                    notImplemented,
			"customHeaders":           notImplemented,
		},
		"durableTask": {
			"hubName": nil,
			"storageProvider": {
				"type":                            nil,
				"connectionName":                  nil,
				"connectionStringName":            nil,
				"partitionCount":                  nil,
				"controlQueueBatchSize":           nil,
				"controlQueueBufferThreshold":     nil,
				"maxQueuePollingInterval":         nil,
				"controlQueueVisibilityTimeout":   nil,
				"workItemQueueVisibilityTimeout":  nil,
				"fetchLargeMessagesAutomatically": notImplemented,
				"trackingStoreConnectionName":     notImplemented,
				"trackingStoreNamePrefix":         notImplemented,
				"useLegacyPartitionManagement":    notImplemented,
				"useTablePartitionManagement":     notImplemented,
			},
			"maxConcurrentActivityFunctions":      nil,
			"maxConcurrentOrchestratorFunctions":  nil,
			"extendedSessionsEnabled":             nil,
			"extendedSessionIdleTimeoutInSeconds": nil,
			"sessionCacheSize":                    nil,
			"localRpcEndpointEnabled":             nil,
			"localRpcEndpointAddress":             nil,
			"localActivityExecution":              nil,
			"maxOrchestrationActions":             nil,
			"instanceRetention":                   {"period": nil, "sweepInterval": nil, "batchSize": nil},
			"defaultVersion":                      nil,
			"versionMatchStrategy":                nil,
			"versionFailureStrategy":              nil,
			"orchestratorYieldTimeout":            nil,
			"httpSettings":                        {"useForwardedHost": nil, "defaultAsyncRequestSleepTimeMilliseconds": nil},
			"tracing":                             tracingKeys,
			"useGracefulShutdown":                 notImplemented,
			"maxEntityOperationBatchSize":         nil,
			"entityMessageReorderWindowInMinutes": notImplemented,
			"storeInputsInOrchestrationHistory":   notImplemented,
			"useAppLease":                         notImplemented,
			"appLeaseOptions":                     notImplemented,
			"notifications":                       notImplemented,
		},
		"queues": {
			"batchSize":          nil,
			"newBatchThreshold":  nil,
			"maxDequeueCount":    nil,
			"visibilityTimeout":  nil,
			"maxPollingInterval": nil,
			"messageEncoding":    nil,
		},
		"blobs":      notImplemented,
		"serviceBus": notImplemented,
		"eventHubs":  notImplemented,
	},
}

// hubNamePattern is the Azure Storage rule for task hub names.
var hubNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{2,44}$`)

// settingRef matches %Setting% references in hubName.
var settingRef = regexp.MustCompile(`%([^%]+)%`)

// LoadHost reads <scriptRoot>/host.json, applies environment overrides and
// validates it. A missing host.json behaves as {"version": "2.0"}. Unknown
// keys are logged as warnings through log.
func LoadHost(scriptRoot string, env Env, log *slog.Logger) (*Host, error) {
	path := filepath.Join(scriptRoot, "host.json")
	data, err := os.ReadFile(path)
	root := map[string]any{}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		path = ""
		root["version"] = "2.0"
	case err != nil:
		return nil, fmt.Errorf("%s: %w", path, err)
	case len(strings.TrimSpace(string(data))) == 0:
		root["version"] = "2.0"
	default:
		if root, err = decodeObject(path, data); err != nil {
			return nil, err
		}
	}
	name := path
	if name == "" {
		name = "host.json"
	}
	if log != nil {
		unknown, unimplemented := unknownKeys(root, knownHostKeys, "")
		for _, k := range unknown {
			log.Warn("unknown host.json key is ignored", "file", name, "field", k)
		}
		if len(unimplemented) > 0 {
			log.Warn("host.json settings funchost does not implement are ignored: "+strings.Join(unimplemented, ", "), "file", name)
		}
	}
	for _, o := range overrides(env) {
		setPath(root, o.path, o.value)
	}
	h, err := parseHost(name, root, env)
	if err != nil {
		return nil, err
	}
	h.Path = path
	return h, nil
}

// parseHost turns a decoded host.json into a Host, collecting all problems.
func parseHost(file string, root map[string]any, env Env) (*Host, error) {
	h := DefaultHost()
	r := &reader{file: file, root: root}

	if _, ok := r.get("version"); !ok {
		r.fail("version", `is required and must be "2.0"`)
	} else if v := r.str("version", ""); v != "2.0" {
		hint := ""
		if strings.HasPrefix(v, "3") || strings.HasPrefix(v, "4") {
			hint = ` (the schema version is "2.0" for every current Functions runtime)`
		}
		r.fail("version", `must be "2.0", got %q%s`, v, hint)
	}
	h.Version = "2.0"
	h.FunctionTimeout = r.duration("functionTimeout", h.FunctionTimeout, time.Second, 0, true)

	if _, ok := r.get("extensions.http.routePrefix"); ok {
		h.HTTP.RoutePrefix = strings.Trim(r.str("extensions.http.routePrefix", "api"), "/ ")
	}
	h.HTTP.MaxRequestBodySize = r.integer("extensions.http.maxRequestBodySize", h.HTTP.MaxRequestBodySize, 1, maxInt)

	d := &h.Durable
	const dt = "extensions.durableTask."
	if site, _ := env.LookupEnv("WEBSITE_SITE_NAME"); site != "" {
		d.HubName = sanitizeHubName(site)
	}
	if _, ok := r.get(dt + "hubName"); ok {
		raw := r.str(dt+"hubName", d.HubName)
		d.HubName = settingRef.ReplaceAllStringFunc(raw, func(m string) string {
			v, _ := env.LookupEnv(m[1 : len(m)-1])
			return v
		})
		if d.HubName == "" {
			r.fail(dt+"hubName", "resolves to an empty name (%q)", raw)
		}
	}
	sp := &d.StorageProvider
	const spp = dt + "storageProvider."
	if t := r.str(spp+"type", sp.Type); strings.EqualFold(t, ProviderAzureStorage) {
		sp.Type = ProviderAzureStorage
	} else if strings.EqualFold(t, ProviderMemory) {
		sp.Type = ProviderMemory
	} else {
		r.fail(spp+"type", "unsupported storage provider %q (want %q or %q)", t, ProviderAzureStorage, ProviderMemory)
	}
	if sp.Type == ProviderAzureStorage && d.HubName != "" && !hubNamePattern.MatchString(d.HubName) {
		r.fail(dt+"hubName", "%q is not a valid Azure Storage task hub name: 3-45 letters and digits, starting with a letter", d.HubName)
	}
	sp.ConnectionName = r.str(spp+"connectionStringName", sp.ConnectionName)
	sp.ConnectionName = r.str(spp+"connectionName", sp.ConnectionName)
	sp.PartitionCount = int(r.integer(spp+"partitionCount", int64(sp.PartitionCount), 1, 16))
	sp.ControlQueueBatchSize = int(r.integer(spp+"controlQueueBatchSize", int64(sp.ControlQueueBatchSize), 1, 32))
	sp.ControlQueueBufferThreshold = int(r.integer(spp+"controlQueueBufferThreshold", int64(sp.ControlQueueBufferThreshold), 1, 1000))
	sp.MaxQueuePollingInterval = r.duration(spp+"maxQueuePollingInterval", sp.MaxQueuePollingInterval, time.Millisecond, 0, false)
	sp.ControlQueueVisibilityTimeout = r.duration(spp+"controlQueueVisibilityTimeout", sp.ControlQueueVisibilityTimeout, time.Minute, time.Hour, false)
	sp.WorkItemQueueVisibilityTimeout = r.duration(spp+"workItemQueueVisibilityTimeout", sp.WorkItemQueueVisibilityTimeout, time.Second, 7*24*time.Hour, false)

	d.MaxConcurrentActivityFunctions = int(r.integer(dt+"maxConcurrentActivityFunctions", int64(d.MaxConcurrentActivityFunctions), 1, 1_000_000))
	d.MaxConcurrentOrchestratorFunctions = int(r.integer(dt+"maxConcurrentOrchestratorFunctions", int64(d.MaxConcurrentOrchestratorFunctions), 1, 1_000_000))
	d.ExtendedSessionsEnabled = r.boolean(dt+"extendedSessionsEnabled", d.ExtendedSessionsEnabled)
	if secs := r.integer(dt+"extendedSessionIdleTimeoutInSeconds", -1, -maxInt, maxInt); secs >= 0 {
		d.ExtendedSessionIdleTimeout = time.Duration(secs) * time.Second
	} else if _, ok := r.get(dt + "extendedSessionIdleTimeoutInSeconds"); ok {
		d.ExtendedSessionIdleTimeout = 0 // negative is treated as 0, as in Durable Functions
	}
	d.SessionCacheSize = int(r.integer(dt+"sessionCacheSize", int64(d.SessionCacheSize), 0, 10_000_000))
	d.LocalRPCEndpointEnabled = r.boolean(dt+"localRpcEndpointEnabled", d.LocalRPCEndpointEnabled)
	d.LocalRPCEndpointAddress = r.str(dt+"localRpcEndpointAddress", d.LocalRPCEndpointAddress)
	d.UseForwardedHost = r.boolean(dt+"httpSettings.useForwardedHost", d.UseForwardedHost)
	d.LocalActivityExecution = r.boolean(dt+"localActivityExecution", d.LocalActivityExecution)
	d.MaxOrchestrationActions = int(r.integer(dt+"maxOrchestrationActions", int64(d.MaxOrchestrationActions), 1, maxInt))
	d.MaxOpenActivityCalls = int(r.integer(dt+"maxOpenActivityCalls", int64(d.MaxOpenActivityCalls), 1, maxInt))
	const ret = dt + "instanceRetention."
	d.Retention.Period = r.duration(ret+"period", d.Retention.Period, 0, 0, false)
	d.Retention.SweepInterval = r.duration(ret+"sweepInterval", d.Retention.SweepInterval, time.Second, 24*time.Hour, false)
	d.Retention.BatchSize = int(r.integer(ret+"batchSize", int64(d.Retention.BatchSize), 1, 1000))
	d.MaxEntityOperationBatchSize = int(r.integer(dt+"maxEntityOperationBatchSize", int64(d.MaxEntityOperationBatchSize), 1, maxInt))
	d.OrchestratorYieldTimeout = r.duration(dt+"orchestratorYieldTimeout", d.OrchestratorYieldTimeout, 0, 0, false)

	d.Versioning = readVersioning(r)
	h.Queues = readQueues(r)
	readTelemetry(r, h)
	if err := r.err(); err != nil {
		return nil, err
	}
	return h, nil
}

// sanitizeHubName turns a site name into a default hub name as Durable
// Functions does: letters and digits only, a leading "t" when it starts
// with a digit, at most 45 characters, padded with "Hub" when shorter than 3.
func sanitizeHubName(site string) string {
	var b strings.Builder
	for _, c := range site {
		if c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b.WriteRune(c)
		}
	}
	name := b.String()
	if name != "" && name[0] >= '0' && name[0] <= '9' {
		name = "t" + name
	}
	if len(name) > 45 {
		name = name[:45]
	}
	if len(name) < 3 {
		name += "Hub"
	}
	return name
}
