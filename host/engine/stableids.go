package engine

import (
	"encoding/json"
	"strings"

	sp "github.com/funchost/funchost/storageprovider"
)

// IDs the engine chooses for what an orchestration starts (a child without
// WithInstanceID, an entity request) are stable: stableGUID of the
// instance, the execution and the action id, so that an episode redone
// after a crash between its sends and its history commit sends the same
// IDs again and the receivers drop the repeats (docs/replay.md, "IDs the
// engine chooses"). Histories written by builds that used NewGUID for them
// still replay: a matched decision adopts the recorded ID.

// requestID takes the next NewGUID (keeping the author's later NewGUID
// values as Durable Functions computes them) and returns the stable ID of
// the entity request about to be scheduled.
func (e *execution) requestID() string {
	e.newGUID()
	return stableGUID(e.instanceID, e.executionID, e.nextID)
}

// adoptRecordedID makes a matched decision use the ID its recorded event
// holds when the engine chose the ID and an older build chose another.
func (e *execution) adoptRecordedID(a *action, ev *sp.HistoryEvent) {
	switch {
	case a.kind == kindSubOrchestration && a.derivedID:
		if ev.InstanceID != "" {
			a.instanceID = ev.InstanceID
		}
	case a.onAdopt != nil && ev.Input != a.input:
		var r struct {
			ID string `json:"id"`
		}
		if json.Unmarshal([]byte(ev.Input), &r) == nil && r.ID != "" && !strings.EqualFold(r.ID, a.requestID) {
			a.onAdopt(r.ID)
		}
	}
}

// rekeyWaiter moves t from waiting for the event named from to waiting
// for the one named to (taking it at once if it is buffered).
func (e *execution) rekeyWaiter(from, to string, t *task) {
	if t.done {
		return
	}
	e.removeWaiter(strings.ToLower(from), t)
	key := strings.ToLower(to)
	if ev, ok := e.takeBuffered(key); ok {
		t.complete(ev.Input, nil)
		return
	}
	e.waiters[key] = append(e.waiters[key], t)
}
