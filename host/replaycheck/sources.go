package replaycheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/funchost/funchost/host/dfwire"
	sp "github.com/funchost/funchost/storageprovider"
)

// Query selects the instances FromTaskHub reads.
type Query struct {
	// InstanceIDs, when set, names the instances (other filters ignored).
	InstanceIDs []string
	// Statuses filters by runtime status; empty means the non-terminal
	// ones (Pending, Running, Suspended, ContinuedAsNew): the instances a
	// deployment can break.
	Statuses []sp.OrchestrationStatus
}

// NonTerminal are the statuses a deployment can break.
var NonTerminal = []sp.OrchestrationStatus{sp.StatusPending, sp.StatusRunning, sp.StatusSuspended, sp.StatusContinuedAsNew}

// FromTaskHub reads the histories of the instances q selects from hub
// (started by the caller, or at least opened: only reads are made).
// Pending instances have no history yet and are left out.
func FromTaskHub(ctx context.Context, hub sp.TaskHub, q Query) ([]History, error) {
	var states []*sp.OrchestrationState
	if len(q.InstanceIDs) > 0 {
		for _, id := range q.InstanceIDs {
			st, err := hub.GetOrchestrationState(ctx, id, false)
			if err != nil {
				return nil, fmt.Errorf("replaycheck: reading instance %s from task hub %s: %w", id, hub.Name(), err)
			}
			states = append(states, st)
		}
	} else {
		statuses := q.Statuses
		if len(statuses) == 0 {
			statuses = NonTerminal
		}
		token := ""
		for {
			page, err := hub.QueryOrchestrationStates(ctx, sp.InstanceQuery{RuntimeStatus: statuses, PageSize: 100, ContinuationToken: token})
			if err != nil {
				return nil, fmt.Errorf("replaycheck: listing instances of task hub %s: %w", hub.Name(), err)
			}
			states = append(states, page.States...)
			if token = page.ContinuationToken; token == "" {
				break
			}
		}
	}
	out := make([]History, 0, len(states))
	for _, st := range states {
		if st.RuntimeStatus == sp.StatusPending {
			continue
		}
		evs, err := hub.GetOrchestrationHistory(ctx, st.InstanceID)
		if err != nil {
			return nil, fmt.Errorf("replaycheck: reading the history of instance %s from task hub %s: %w", st.InstanceID, hub.Name(), err)
		}
		out = append(out, History{InstanceID: st.InstanceID, Name: st.Name, Version: st.Version,
			RuntimeStatus: st.RuntimeStatus.String(), Events: evs, Source: "task hub " + hub.Name()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].InstanceID < out[j].InstanceID })
	return out, nil
}

// Export renders a history as a HistoryExport file's contents.
func Export(h History, now time.Time) ([]byte, error) {
	x := dfwire.HistoryExport{Format: dfwire.HistoryExportFormat, InstanceID: h.InstanceID, Name: h.Name, Version: h.Version,
		RuntimeStatus: h.RuntimeStatus, ExportedTime: now.UTC(), History: h.Events, Approximate: h.Approximate}
	b, err := json.MarshalIndent(&x, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("replaycheck: exporting instance %s: %w", h.InstanceID, err)
	}
	return append(b, '\n'), nil
}

// FileName is the file an instance's history is exported to: its ID with
// the characters file systems refuse replaced, and ".json".
func FileName(instanceID string) string {
	r := strings.NewReplacer("/", "_", "\\", "_", ":", "_", "*", "_", "?", "_", "\"", "_", "<", "_", ">", "_", "|", "_")
	return r.Replace(instanceID) + ".json"
}

// WriteFile exports h into dir (created if needed) and returns the path.
func WriteFile(dir string, h History, now time.Time) (string, error) {
	b, err := Export(h, now)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("replaycheck: %w", err)
	}
	path := filepath.Join(dir, FileName(h.InstanceID))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "", fmt.Errorf("replaycheck: writing the history of instance %s: %w", h.InstanceID, err)
	}
	return path, nil
}

// ReadFile reads one exported history.
func ReadFile(path string) (History, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return History{}, fmt.Errorf("replaycheck: %w", err)
	}
	x, err := dfwire.DecodeHistoryExport(b)
	if err != nil {
		return History{}, fmt.Errorf("replaycheck: %s: %w", path, err)
	}
	return History{InstanceID: x.InstanceID, Name: x.Name, Version: x.Version, RuntimeStatus: x.RuntimeStatus,
		Events: x.History, Source: path, Approximate: x.Approximate}, nil
}

// ReadDir reads every *.json file of dir as an exported history, in name
// order; it fails on the first file that is not one, naming it.
func ReadDir(dir string) ([]History, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("replaycheck: reading histories: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".json") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return nil, errors.New("replaycheck: no *.json history files in " + dir)
	}
	out := make([]History, 0, len(names))
	for _, n := range names {
		h, err := ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// ExportTaskHub writes the histories of the instances q selects from hub
// into dir, one WriteFile file each, and returns the paths: the export half
// of the deploy workflow (`durable export-history`).
func ExportTaskHub(ctx context.Context, hub sp.TaskHub, q Query, dir string, now time.Time) ([]string, error) {
	hs, err := FromTaskHub(ctx, hub, q)
	if err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(hs))
	for _, h := range hs {
		p, err := WriteFile(dir, h, now)
		if err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
