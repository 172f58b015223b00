package engine

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/internal/entitywire"
	sp "github.com/funchost/funchost/storageprovider"
)

// startsThings waits for one activity, then starts a child, signals and
// calls an entity and passes the author's next NewGUID to an activity.
func startsThings(ctx bindings.OrchestrationContext) (any, error) {
	if err := ctx.CallActivity("A", nil).Await(nil); err != nil {
		return nil, err
	}
	child := ctx.CallSubOrchestrator("Child", nil)
	c := bindings.NewEntityID("counter", "k")
	ctx.SignalEntity(c, "add", 1)
	v, err := bindings.CallEntity[int](ctx, c, "get", nil)
	if err != nil {
		return nil, err
	}
	if err := ctx.CallActivity("B", ctx.NewGUID()).Await(nil); err != nil {
		return nil, err
	}
	return v, child.Await(nil)
}

// sentIDs returns the child instance IDs and entity request IDs an
// episode's checkpoint sends, in order, and the input of its activity B.
func sentIDs(t *testing.T, cp *sp.OrchestrationCheckpoint) (children, requests []string) {
	t.Helper()
	for _, m := range cp.OutboundMessages {
		switch m.Event.EventType {
		case sp.EventExecutionStarted:
			children = append(children, m.Target.InstanceID)
		case sp.EventEventRaised:
			var r entitywire.Request
			if err := json.Unmarshal([]byte(m.Event.Input), &r); err != nil {
				t.Fatalf("entity request %q: %v", m.Event.Input, err)
			}
			requests = append(requests, r.ID)
		}
	}
	return children, requests
}

// TestRedoneEpisodeSendsTheSameIDs runs the episode that starts a child and
// sends entity requests twice from the same committed history, a second
// later the second time (as after a crash between its sends and its
// history commit): both attempts must send the same child and request IDs,
// or the first attempt's would start a second child and apply the entity
// operations twice.
func TestRedoneEpisodeSendsTheSameIDs(t *testing.T) {
	for _, cache := range []bool{false, true} {
		s := newSim(t, map[string]bindings.Orchestrator{"Orch": startsThings}, cache)
		s.start("Orch", "")
		committed := s.hist
		first := s.step(tcEv(0, "null"))
		children1, requests1 := sentIDs(t, first)

		s.hist = committed // the first attempt's history never landed
		if s.exec != nil {
			s.exec.teardown()
			s.exec = nil
		}
		second := s.step(tcEv(0, "null"))
		children2, requests2 := sentIDs(t, second)

		if len(children1) != 1 || len(requests1) != 2 {
			t.Fatalf("cache %v: first attempt sent children %v, requests %v", cache, children1, requests1)
		}
		if strings.Join(children1, ",") != strings.Join(children2, ",") || strings.Join(requests1, ",") != strings.Join(requests2, ",") {
			t.Errorf("cache %v: attempts differ: children %v / %v, requests %v / %v", cache, children1, children2, requests1, requests2)
		}
		want := strings.ReplaceAll(stableGUID(testID, testExec, 1), "-", "")
		if children1[0] != want {
			t.Errorf("cache %v: child ID %s, want %s", cache, children1[0], want)
		}
	}
}

// TestOlderBuildsIDsAreAdopted replays a history written by a build that
// gave the child and the entity call NewGUID-based IDs: the replay must
// not call that non-determinism, and the call must complete with the
// response addressed to the recorded ID.
func TestOlderBuildsIDsAreAdopted(t *testing.T) {
	s := newSim(t, map[string]bindings.Orchestrator{"Orch": startsThings}, false)
	s.start("Orch", "")
	s.step(tcEv(0, "null"))
	var callID string
	for _, ev := range s.hist {
		switch ev.EventType {
		case sp.EventSubOrchestrationInstanceCreated:
			ev.InstanceID = "older-child"
		case sp.EventEventSent:
			var r entitywire.Request
			if err := json.Unmarshal([]byte(ev.Input), &r); err != nil {
				t.Fatal(err)
			}
			if r.Signal {
				continue
			}
			r.ID = "7d1c0ffee-older-call"
			callID = r.ID
			ev.Input = entitywire.Marshal(&r)
		}
	}
	if callID == "" {
		t.Fatal("no entity call in history")
	}
	result := "41"
	resp := &sp.HistoryEvent{EventType: sp.EventEventRaised, EventID: -1, Name: callID,
		Input: entitywire.Marshal(&entitywire.Response{Result: &result})}
	cp := s.step(resp)
	if cp.State != nil && cp.State.RuntimeStatus == sp.StatusFailed {
		t.Fatalf("replay of the older history failed: %+v", cp.State.FailureDetails)
	}
	var scheduledB bool
	for _, m := range cp.ActivityMessages {
		scheduledB = scheduledB || m.Event.Name == "B"
	}
	if !scheduledB {
		t.Fatalf("the call addressed to the recorded ID did not complete: checkpoint %+v", cp)
	}
}
