package memory_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
	"github.com/funchost/funchost/storageprovider/memory"
)

// This file holds a miniature engine used by the stress tests and the
// benchmarks: each orchestration calls `activities` activities one after
// the other (a HelloSequence) and completes.

func start(id string) *sp.TaskMessage {
	exec := "e-" + id
	return &sp.TaskMessage{
		Event:  sp.NewExecutionStartedEvent(sp.Now(), sp.OrchestrationInstance{InstanceID: id, ExecutionID: exec}, "Seq", "", `"Tokyo"`),
		Target: sp.OrchestrationInstance{InstanceID: id, ExecutionID: exec},
	}
}

// driver runs sequences on a hub until stopped.
type driver struct {
	hub        *memory.TaskHub
	activities int
	completed  atomic.Int64
	// done receives each instance ID when it completes, if non-nil.
	done chan string
	errs chan error
	wg   sync.WaitGroup
}

func newDriver(hub *memory.TaskHub, activities, orchWorkers, actWorkers int) (*driver, context.CancelFunc) {
	d := &driver{hub: hub, activities: activities, errs: make(chan error, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	for range orchWorkers {
		d.wg.Add(1)
		go d.orchLoop(ctx)
	}
	for range actWorkers {
		d.wg.Add(1)
		go d.actLoop(ctx)
	}
	return d, func() { cancel(); d.wg.Wait() }
}

func (d *driver) fail(err error) {
	select {
	case d.errs <- err:
	default:
	}
}

func (d *driver) orchLoop(ctx context.Context) {
	defer d.wg.Done()
	for {
		wi, err := d.hub.LockNextOrchestrationWorkItem(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.fail(err)
			}
			return
		}
		if err := d.step(ctx, wi); err != nil {
			d.fail(err)
			return
		}
	}
}

// step replays nothing: it counts the TaskCompleted events in history and
// messages, schedules the next activity or completes.
func (d *driver) step(ctx context.Context, wi *sp.OrchestrationWorkItem) error {
	doneTasks := 0
	var target sp.OrchestrationInstance
	st := wi.State
	for _, e := range wi.History {
		if e.EventType == sp.EventTaskCompleted {
			doneTasks++
		}
	}
	now := sp.Now()
	evs := []*sp.HistoryEvent{sp.NewOrchestratorStartedEvent(now)}
	for _, m := range wi.NewMessages {
		evs = append(evs, m.Event)
		switch m.Event.EventType {
		case sp.EventTaskCompleted:
			doneTasks++
		case sp.EventExecutionStarted:
			if st == nil {
				return fmt.Errorf("%s: no state", wi.InstanceID)
			}
		}
		target = m.Target
	}
	st = st.Clone()
	st.LastUpdatedTime = now
	c := &sp.OrchestrationCheckpoint{}
	if doneTasks < d.activities {
		st.RuntimeStatus = sp.StatusRunning
		ev := sp.NewTaskScheduledEvent(now, doneTasks, "SayHello", "", `"Tokyo"`)
		evs = append(evs, ev)
		c.ActivityMessages = []*sp.TaskMessage{{Event: ev, Target: target}}
	} else {
		st.RuntimeStatus = sp.StatusCompleted
		st.Output = `["Hello Tokyo!","Hello Seattle!","Hello London!"]`
		st.CompletedTime = now
		evs = append(evs, sp.NewExecutionCompletedEvent(now, doneTasks, sp.StatusCompleted, st.Output, nil))
	}
	c.NewEvents = append(evs, sp.NewOrchestratorCompletedEvent(now))
	c.State = st
	if err := d.hub.CompleteOrchestrationWorkItem(ctx, wi, c); err != nil {
		return err
	}
	if st.RuntimeStatus == sp.StatusCompleted {
		d.completed.Add(1)
		if d.done != nil {
			d.done <- wi.InstanceID
		}
	}
	return nil
}

func (d *driver) actLoop(ctx context.Context) {
	defer d.wg.Done()
	for {
		awi, err := d.hub.LockNextActivityWorkItem(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.fail(err)
			}
			return
		}
		res := &sp.TaskMessage{Event: sp.NewTaskCompletedEvent(sp.Now(), awi.Message.Event.EventID, `"Hello Tokyo!"`), Target: awi.Message.Target}
		if err := d.hub.CompleteActivityWorkItem(ctx, awi, res); err != nil {
			d.fail(err)
			return
		}
	}
}

// waitCompleted waits until n orchestrations completed or a worker failed.
func (d *driver) waitCompleted(tb testing.TB, n int64) {
	tb.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for d.completed.Load() < n {
		select {
		case err := <-d.errs:
			tb.Fatalf("worker: %v", err)
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("only %d of %d orchestrations completed", d.completed.Load(), n)
		}
	}
	select {
	case err := <-d.errs:
		if !errors.Is(err, context.Canceled) {
			tb.Fatalf("worker: %v", err)
		}
	default:
	}
}
