package dfwire

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// HistoryExportFormat names the history export format in its "format"
// field, so that readers can refuse files of another kind or version.
const HistoryExportFormat = "funchost-history/1"

// HistoryExport is one instance's history as `durable export-history`
// writes it and the replay checker reads it: the instance's status fields
// and its history events in the shape the task hub stores them (EventId,
// TaskScheduledId, OrchestratorStarted and the rest, as DTFx names them).
// Unlike the HTTP API's historyEvents, which merge and drop events, it
// replays exactly.
type HistoryExport struct {
	Format        string    `json:"format"`
	InstanceID    string    `json:"instanceId"`
	Name          string    `json:"name"`
	Version       string    `json:"version,omitempty"`
	RuntimeStatus string    `json:"runtimeStatus"`
	ExportedTime  time.Time `json:"exportedTime"`
	// History holds the current execution's events, oldest first.
	History []*sp.HistoryEvent `json:"history"`
	// Approximate is set when History was rebuilt from a host's standard
	// historyEvents rather than read as stored: what is approximate.
	Approximate string `json:"approximate,omitempty"`
}

// DecodeHistoryExport reads a HistoryExport, checking its format and that
// the history starts an execution.
func DecodeHistoryExport(data []byte) (*HistoryExport, error) {
	var x HistoryExport
	if err := json.Unmarshal(data, &x); err != nil {
		return nil, fmt.Errorf("dfwire: history export: %w", err)
	}
	if x.Format != HistoryExportFormat {
		return nil, fmt.Errorf("dfwire: history export: format %q, want %q", x.Format, HistoryExportFormat)
	}
	started := false
	for i, ev := range x.History {
		if ev == nil {
			return nil, fmt.Errorf("dfwire: history export of %s: event %d is null", x.InstanceID, i)
		}
		started = started || ev.EventType == sp.EventExecutionStarted
	}
	if !started {
		return nil, errors.New("dfwire: history export of " + x.InstanceID + ": the history has no ExecutionStarted event")
	}
	return &x, nil
}
