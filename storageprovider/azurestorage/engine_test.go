package azurestorage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	sp "github.com/funchost/funchost/storageprovider"
)

// This file holds a miniature engine for end-to-end tests of the
// provider: orchestrations that call "Echo" activities one after the other
// and complete with the last result.

func newExecID() string {
	u := uuid.New()
	return fmt.Sprintf("%x", u[:])
}

// startMsg builds a client start message whose input is the number of
// activities to call.
func startMsg(id string, input string) *sp.TaskMessage {
	exec := newExecID()
	return &sp.TaskMessage{
		Event:  sp.NewExecutionStartedEvent(sp.Now(), sp.OrchestrationInstance{InstanceID: id, ExecutionID: exec}, "Seq", "", input),
		Target: sp.OrchestrationInstance{InstanceID: id, ExecutionID: exec},
	}
}

// miniEngine runs "Seq" orchestrations: call Echo(input) steps times in
// sequence, then complete with the last result.
type miniEngine struct {
	h     sp.TaskHub
	steps int
	// local runs activities inside the orchestration work item (as the
	// real engine's LocalActivities do), so an orchestration is one
	// episode.
	local bool

	mu        sync.Mutex
	completed map[string]int // instance -> times a completion was committed
	lost      int
}

func (e *miniEngine) run(ctx context.Context, t testing.TB, workers int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range workers {
		wg.Add(2)
		go func() { defer wg.Done(); e.orchestrations(ctx, t) }()
		go func() { defer wg.Done(); e.activities(ctx, t) }()
	}
	return &wg
}

func (e *miniEngine) orchestrations(ctx context.Context, t testing.TB) {
	for ctx.Err() == nil {
		wi, err := e.h.LockNextOrchestrationWorkItem(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, sp.ErrTaskHubClosed) {
				return
			}
			t.Logf("lock: %v", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		c := e.episode(wi)
		if err := e.h.CompleteOrchestrationWorkItem(ctx, wi, c); err != nil {
			if errors.Is(err, sp.ErrWorkItemLost) {
				e.mu.Lock()
				e.lost++
				e.mu.Unlock()
				continue
			}
			if ctx.Err() != nil {
				return
			}
			t.Logf("complete %s: %v", wi.InstanceID, err)
			_ = e.h.AbandonOrchestrationWorkItem(context.Background(), wi, 0)
			continue
		}
		if endsExecution(c.NewEvents) {
			e.mu.Lock()
			if e.completed == nil {
				e.completed = map[string]int{}
			}
			e.completed[wi.InstanceID]++
			e.mu.Unlock()
		}
	}
}

// episode decides an orchestration step from history and new messages.
func (e *miniEngine) episode(wi *sp.OrchestrationWorkItem) *sp.OrchestrationCheckpoint {
	c := &sp.OrchestrationCheckpoint{}
	var started *sp.HistoryEvent
	done := map[int]bool{}
	scheduled := map[int]bool{}
	completed := false
	for _, ev := range wi.History {
		switch ev.EventType {
		case sp.EventExecutionStarted:
			started = ev
		case sp.EventTaskScheduled:
			scheduled[ev.EventID] = true
		case sp.EventTaskCompleted:
			done[ev.TaskScheduledID] = true
		case sp.EventExecutionCompleted:
			completed = true
		}
	}
	if completed {
		// Terminal: drop the messages, and restate the final status row
		// (it may not have been written if a host died right after the
		// history commit; the provider skips the write when it knows the
		// row is already like this).
		c.State = &sp.OrchestrationState{InstanceID: wi.InstanceID, ExecutionID: started.OrchestrationInstance.ExecutionID,
			Name: started.Name, RuntimeStatus: sp.StatusCompleted, CreatedTime: started.Timestamp, Input: started.Input,
			Output: wi.History[len(wi.History)-2].Result, LastUpdatedTime: sp.Now(), CompletedTime: sp.Now()}
		if wi.State != nil && wi.State.RuntimeStatus == sp.StatusCompleted {
			c.State = wi.State
		}
		return c
	}
	var newEvents []*sp.HistoryEvent
	for _, m := range wi.NewMessages {
		ev := m.Event
		switch ev.EventType {
		case sp.EventExecutionStarted:
			if started == nil {
				started = ev
				newEvents = append(newEvents, ev)
			}
		case sp.EventTaskCompleted:
			if started != nil && m.Target.ExecutionID == started.OrchestrationInstance.ExecutionID &&
				scheduled[ev.TaskScheduledID] && !done[ev.TaskScheduledID] {
				done[ev.TaskScheduledID] = true
				newEvents = append(newEvents, ev)
			}
		}
	}
	if started == nil || len(newEvents) == 0 {
		return c
	}
	target := sp.OrchestrationInstance{InstanceID: wi.InstanceID, ExecutionID: started.OrchestrationInstance.ExecutionID}
	events := []*sp.HistoryEvent{sp.NewOrchestratorStartedEvent(sp.Now())}
	events = append(events, newEvents...)
	result := started.Input
	next := len(done)
	for next < e.steps {
		if e.local {
			// Run the activity in place: TaskScheduled + TaskCompleted.
			events = append(events,
				sp.NewTaskScheduledEvent(sp.Now(), next, "Echo", "", result),
				sp.NewTaskCompletedEvent(sp.Now(), next, result))
			next++
			continue
		}
		if !scheduled[next] {
			ts := sp.NewTaskScheduledEvent(sp.Now(), next, "Echo", "", result)
			events = append(events, ts)
			c.ActivityMessages = append(c.ActivityMessages, &sp.TaskMessage{Event: ts.Clone(), Target: target})
		}
		break
	}
	st := &sp.OrchestrationState{InstanceID: wi.InstanceID, ExecutionID: target.ExecutionID, Name: started.Name,
		RuntimeStatus: sp.StatusRunning, CreatedTime: started.Timestamp, LastUpdatedTime: sp.Now(), Input: started.Input}
	if next >= e.steps {
		events = append(events, sp.NewExecutionCompletedEvent(sp.Now(), next, sp.StatusCompleted, result, nil))
		st.RuntimeStatus, st.Output, st.CompletedTime = sp.StatusCompleted, result, sp.Now()
	}
	events = append(events, sp.NewOrchestratorCompletedEvent(sp.Now()))
	c.NewEvents, c.State = events, st
	return c
}

func (e *miniEngine) activities(ctx context.Context, t testing.TB) {
	for ctx.Err() == nil {
		awi, err := e.h.LockNextActivityWorkItem(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, sp.ErrTaskHubClosed) {
				return
			}
			t.Logf("lock activity: %v", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		ev := awi.Message.Event
		res := &sp.TaskMessage{Event: sp.NewTaskCompletedEvent(sp.Now(), ev.EventID, ev.Input), Target: awi.Message.Target}
		if err := e.h.CompleteActivityWorkItem(ctx, awi, res); err != nil && ctx.Err() == nil {
			t.Logf("complete activity: %v", err)
		}
	}
}

// waitCompleted polls status rows until every instance is Completed.
func waitCompleted(t testing.TB, h sp.TaskHub, ids []string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	pending := append([]string(nil), ids...)
	for len(pending) > 0 {
		var still []string
		for _, id := range pending {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			st, err := h.GetOrchestrationState(ctx, id, false)
			cancel()
			if err != nil || st.RuntimeStatus != sp.StatusCompleted {
				still = append(still, id)
			}
		}
		pending = still
		if len(pending) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d instances not completed after %s (first: %s)", len(pending), len(ids), timeout, pending[0])
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func endsExecution(evs []*sp.HistoryEvent) bool {
	for _, ev := range evs {
		if ev.EventType == sp.EventExecutionCompleted {
			return true
		}
	}
	return false
}
