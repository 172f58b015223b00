package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/dfwire"
)

// Hub is a task hub as the durable commands use it, reached either
// directly on storage (storageHub) or through a running host's management
// API (httpHub). Both speak dfwire's shapes and return errors that match
// the bindings sentinels (ErrInstanceNotFound, ErrInstanceNotRunning,
// ErrInstanceNotFailed, ErrInstanceNotTerminal, ErrInstanceExists), so
// every command maps them to one message and exit code.
type Hub interface {
	// Describe names the hub in messages: "task hub SampleHub (storage)".
	Describe() string
	// List returns one page of instances matching q.
	List(ctx context.Context, q Query) (*Page, error)
	// Status returns one instance's status, with its history when
	// o.History is set.
	Status(ctx context.Context, id string, o StatusOptions) (*dfwire.Status, error)
	// StartNew starts orchestrator with input (JSON; nil for none) and
	// returns the instance ID; id and version may be empty.
	StartNew(ctx context.Context, orchestrator string, input json.RawMessage, id, version string) (string, error)
	// RaiseEvent sends an event with data (JSON; nil for none).
	RaiseEvent(ctx context.Context, id, event string, data json.RawMessage) error
	// Control terminates, suspends, resumes or rewinds an instance.
	Control(ctx context.Context, op Operation, id, reason string) error
	// Restart starts the instance's orchestrator again with its input and
	// returns the ID it runs under.
	Restart(ctx context.Context, id string, newID bool) (string, error)
	// Purge deletes one terminal instance's history and status.
	Purge(ctx context.Context, id string) error
	// DeleteTaskHub deletes the task hub's tables, queues and blobs.
	DeleteTaskHub(ctx context.Context) error
	// Close releases the hub's clients.
	Close(ctx context.Context) error
}

// Query filters Hub.List; zero values do not filter.
type Query struct {
	RuntimeStatus          []string
	CreatedFrom, CreatedTo time.Time
	InstanceIDPrefix       string
	Top                    int
	ContinuationToken      string
	ShowInput              bool
}

// Page is one page of instances; ContinuationToken is "" on the last.
type Page struct {
	Instances         []*dfwire.Status
	ContinuationToken string
}

// StatusOptions select what Hub.Status returns.
type StatusOptions struct {
	ShowInput bool
	// History adds historyEvents (with their inputs and results).
	History bool
}

// Operation is a control operation of Hub.Control.
type Operation string

// The control operations, named as the management API's paths.
const (
	OpTerminate Operation = "terminate"
	OpSuspend   Operation = "suspend"
	OpResume    Operation = "resume"
	OpRewind    Operation = "rewind"
)

// errNotSupported is returned by a Hub that cannot do an operation.
var errNotSupported = errors.New("not supported")

// connection holds the flags that choose how to reach the hub; every
// durable command takes them.
type connection struct {
	scriptRoot       string
	connectionString string
	taskHubName      string
	url              string
	key              string
	timeout          time.Duration
}

func (c *connection) addFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&c.scriptRoot, "script-root", "", "the function app folder whose host.json and local.settings.json name the task hub and its storage (default: the working directory)")
	f.StringVar(&c.connectionString, "connection-string", "", "storage connection string to use instead of the app's setting (as in Core Tools)")
	f.StringVar(&c.taskHubName, "task-hub-name", "", "task hub name to use instead of host.json's hubName")
	f.StringVar(&c.url, "url", "", "reach the hub through a running host's management API at this base URL (e.g. https://myapp.azurewebsites.net) instead of on storage")
	f.StringVar(&c.key, "key", "", "with --url: the durabletask_extension system key or the master key (default: $FUNCHOST_KEY)")
	f.DurationVar(&c.timeout, "timeout", time.Minute, "with --url: how long one request to the host may take")
}

// open reaches the hub the flags name.
func (c *connection) open(ctx context.Context, cfg *Config) (Hub, error) {
	if c.url != "" {
		if c.connectionString != "" {
			return nil, usageErrorf("--url and --connection-string exclude each other: --url reaches the hub through a host, --connection-string on storage")
		}
		key := c.key
		if key == "" {
			key = cfg.Getenv("FUNCHOST_KEY")
		}
		return newHTTPHub(c.url, key, c.taskHubName, c.timeout)
	}
	if c.key != "" {
		return nil, usageErrorf("--key is for --url (a host's management API); on storage the app's connection is used")
	}
	return openStorageHub(ctx, c)
}

// hubError turns a Hub error into the CLI's message and exit code: what
// failed, on which instance, and what to try.
func hubError(h Hub, what, id string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bindings.ErrInstanceNotFound):
		return notFound(fmt.Errorf("%s: no instance %q in %s (durable get-instances lists them): %w", what, id, h.Describe(), err))
	case errors.Is(err, bindings.ErrInstanceNotRunning):
		return fmt.Errorf("%s: instance %q has finished (durable get-runtime-status --id %s shows how): %w", what, id, id, err)
	case errors.Is(err, bindings.ErrInstanceNotFailed):
		return fmt.Errorf("%s: instance %q has not failed; only failed instances can be rewound: %w", what, id, err)
	case errors.Is(err, bindings.ErrInstanceNotTerminal):
		return fmt.Errorf("%s: instance %q is still running; terminate it first (durable terminate --id %s): %w", what, id, id, err)
	case errors.Is(err, bindings.ErrInstanceExists):
		return fmt.Errorf("%s: instance %q exists and has not finished; pick another --id or terminate it: %w", what, id, err)
	case errors.Is(err, errNotSupported):
		return usageErrorf("%s: %s cannot do this: %v", what, h.Describe(), err)
	}
	if id != "" {
		return fmt.Errorf("%s of instance %q in %s: %w", what, id, h.Describe(), err)
	}
	return fmt.Errorf("%s in %s: %w", what, h.Describe(), err)
}
