package sampleapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/funchost/funchost/bindings"
)

// BackgroundJobID is the fixed instance ID of the background job.
const BackgroundJobID = "background-job"

// BackgroundJobTimer fires every minute and starts the BackgroundJob
// orchestration as a singleton: start-by-ID is atomic, so when the job
// still runs (or another host started it this minute) the start fails with
// ErrInstanceExists and nothing happens; once it has finished, the next
// tick starts it again. The timer itself runs on one host at a time.
func BackgroundJobTimer(ctx context.Context, info bindings.TimerInfo) error {
	client := bindings.ClientFrom(ctx)
	_, err := client.StartNew(ctx, "BackgroundJob", map[string]bool{"pastDue": info.IsPastDue}, bindings.WithInstanceID(BackgroundJobID))
	switch {
	case errors.Is(err, bindings.ErrInstanceExists):
		slog.Info("BackgroundJob is still running; not starting another", "instanceId", BackgroundJobID)
		return nil
	case err != nil:
		return fmt.Errorf("starting BackgroundJob: %w", err)
	}
	slog.Info("BackgroundJob started", "instanceId", BackgroundJobID, "pastDue", info.IsPastDue)
	return nil
}

// BackgroundJob is the job the timer starts: here it greets "background job"
// through the SayHello activity and returns the greeting.
func BackgroundJob(ctx bindings.OrchestrationContext) (any, error) {
	return bindings.CallActivity[string](ctx, "SayHello", "background job")
}

// StartRequest is a QueueStart message: the orchestrator to start, an
// optional instance ID and input. A plain-text message is just the
// orchestrator name.
type StartRequest struct {
	Orchestrator string          `json:"orchestrator"`
	InstanceID   string          `json:"instanceId,omitempty"`
	Input        json.RawMessage `json:"input,omitempty"`
}

// QueueStart starts an orchestration for each message of the queue named
// by the StartQueue setting (local.settings.json). A failed start fails
// the message, which is retried and after five attempts moved to the
// "<queue>-poison" queue.
func QueueStart(ctx context.Context, msg bindings.QueueMessage) error {
	req := StartRequest{Orchestrator: strings.TrimSpace(msg.Text())}
	if strings.HasPrefix(req.Orchestrator, "{") {
		if err := msg.Decode(&req); err != nil {
			return err
		}
	}
	var opts []bindings.Option
	if req.InstanceID != "" {
		opts = append(opts, bindings.WithInstanceID(req.InstanceID))
	}
	var input any
	if len(req.Input) > 0 {
		input = req.Input
	}
	id, err := bindings.ClientFrom(ctx).StartNew(ctx, req.Orchestrator, input, opts...)
	if errors.Is(err, bindings.ErrInstanceExists) {
		return nil // delivered twice: the first delivery started it
	}
	if err != nil {
		return fmt.Errorf("queue message %s: starting %q: %w", msg.ID, req.Orchestrator, err)
	}
	slog.Info("Started from the queue", "orchestrator", req.Orchestrator, "instanceId", id)
	return nil
}
