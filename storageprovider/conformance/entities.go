package conformance

import (
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// What the engine's durable entities (docs/entities.md) rely on: an entity
// is an ordinary instance whose ID starts with '@', created by its first
// message (no CreateInstance), whose every batch replaces its history with
// a three-event execution, and whose scheduled signals ("op@<time>"
// events) are held back until their time.

// entityMessage builds an entity request event for instance id.
func entityMessage(id, name, input string) *sp.TaskMessage {
	return &sp.TaskMessage{Event: sp.NewEventRaisedEvent(sp.Now(), name, input), Target: sp.OrchestrationInstance{InstanceID: id}}
}

// entityCheckpoint is one entity batch's commit: the three-event
// execution carrying state, the Running status row.
func entityCheckpoint(id, state string) (*sp.OrchestrationCheckpoint, string) {
	now := sp.Now()
	exec := newID()
	inst := sp.OrchestrationInstance{InstanceID: id, ExecutionID: exec}
	return &sp.OrchestrationCheckpoint{
		NewEvents: []*sp.HistoryEvent{sp.NewOrchestratorStartedEvent(now), sp.NewExecutionStartedEvent(now, inst, id, "", state),
			sp.NewOrchestratorCompletedEvent(now)},
		ReplaceHistory: true,
		State: &sp.OrchestrationState{InstanceID: id, ExecutionID: exec, Name: id, RuntimeStatus: sp.StatusRunning,
			CreatedTime: now, LastUpdatedTime: now, Input: state, CustomStatus: `{"entityExists":true}`},
	}, exec
}

func testEntityLifecycle(s *suite) {
	id := "@counter@" + newID()[:8]
	s.send(entityMessage(id, "op", `{"op":"add","signal":true,"input":"1","id":"a"}`))
	wi := s.lockFor(id)
	if len(wi.History) != 0 || len(wi.NewMessages) != 1 {
		s.t.Fatalf("first work item of a new entity: %d history events, %d messages", len(wi.History), len(wi.NewMessages))
	}
	for i, state := range []string{`{"state":"1","sorter":{}}`, `{"state":"3","sorter":{}}`} {
		cp, exec := entityCheckpoint(id, state)
		s.commit(wi, cp)
		if err := sameEvents(s.history(id), cp.NewEvents); err != nil {
			s.t.Fatalf("batch %d: history after the commit: %v", i, err)
		}
		st := s.state(id)
		if st.ExecutionID != exec || st.Input != state || st.Name != id || st.RuntimeStatus != sp.StatusRunning {
			s.t.Fatalf("batch %d: status row %+v", i, st)
		}
		if i == 0 {
			s.send(entityMessage(id, "op", `{"op":"add","signal":true,"input":"2","id":"b"}`))
			wi = s.lockFor(id)
			if err := sameEvents(wi.History, cp.NewEvents); err != nil {
				s.t.Fatalf("second work item's history: %v", err)
			}
		}
	}
	res, err := s.hub.QueryOrchestrationStates(s.waitCtx(), sp.InstanceQuery{InstanceIDPrefix: "@counter@", FetchInputsAndOutputs: true})
	if err != nil || len(res.States) != 1 || res.States[0].Input != `{"state":"3","sorter":{}}` {
		s.t.Fatalf("query by entity prefix: %+v, %v", res, err)
	}
	// Entities never end; purging one by ID works all the same.
	if err := s.hub.PurgeInstance(s.waitCtx(), id); err != nil {
		s.t.Fatalf("PurgeInstance(%s): %v", id, err)
	}
}

func testScheduledSignal(s *suite) {
	id := "@counter@" + newID()[:8]
	at := sp.Now().Add(s.opts.QuietPeriod)
	name := "op@" + at.UTC().Format("2006-01-02T15:04:05.0000000Z")
	s.send(entityMessage(id, name, `{"op":"add","signal":true,"id":"later"}`))
	wi := s.lockFor(id)
	if now := time.Now(); now.Before(at) {
		s.t.Errorf("scheduled signal delivered at %v, before its time %v", now.UTC(), at)
	}
	if wi.NewMessages[0].Event.Name != name {
		s.t.Errorf("delivered event %q, want %q", wi.NewMessages[0].Event.Name, name)
	}
	// Sent from a checkpoint (an entity re-scheduling an early signal).
	at2 := sp.Now().Add(s.opts.QuietPeriod)
	cp, _ := entityCheckpoint(id, `{"sorter":{}}`)
	cp.OutboundMessages = []*sp.TaskMessage{entityMessage(id, "op@"+at2.UTC().Format("2006-01-02T15:04:05.0000000Z"), `{"op":"x","id":"y"}`)}
	s.commit(wi, cp)
	s.lockFor(id)
	if now := time.Now(); now.Before(at2) {
		s.t.Errorf("re-scheduled signal delivered at %v, before its time %v", now.UTC(), at2)
	}
}
