// Package fakehub is a tiny in-memory storageprovider.TaskHub for the tests
// of the durable client and the management API. It stores status rows,
// histories and the messages clients send, and lets a test change an
// instance's status directly in place of an engine. It has no work-item
// queues: the Lock* methods fail.
package fakehub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// Hub is the fake task hub. The zero value is not usable; call New.
type Hub struct {
	name string

	mu        sync.Mutex
	order     []string // instance IDs in creation order (paging)
	states    map[string]*sp.OrchestrationState
	histories map[string][]*sp.HistoryEvent
	sent      []*sp.TaskMessage
	// Now is the clock for status rows.
	Now func() time.Time
}

var _ sp.TaskHub = (*Hub)(nil)

// New returns an empty hub named name.
func New(name string) *Hub {
	return &Hub{
		name:      name,
		states:    map[string]*sp.OrchestrationState{},
		histories: map[string][]*sp.HistoryEvent{},
		Now:       func() time.Time { return time.Now().UTC() },
	}
}

// Name returns the hub name.
func (h *Hub) Name() string { return h.name }

// CreateIfNotExists does nothing.
func (h *Hub) CreateIfNotExists(context.Context) error { return nil }

// DeleteTaskHub forgets everything.
func (h *Hub) DeleteTaskHub(context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.order, h.states, h.histories, h.sent = nil, map[string]*sp.OrchestrationState{}, map[string][]*sp.HistoryEvent{}, nil
	return nil
}

// Start does nothing.
func (h *Hub) Start(context.Context) error { return nil }

// Stop does nothing.
func (h *Hub) Stop(context.Context) error { return nil }

// CreateInstance creates a Pending status row atomically.
func (h *Hub) CreateInstance(_ context.Context, start *sp.TaskMessage) error {
	if start == nil || start.Event == nil || start.Event.EventType != sp.EventExecutionStarted {
		return errors.New("fakehub: CreateInstance needs an ExecutionStarted message")
	}
	id := start.Target.InstanceID
	h.mu.Lock()
	defer h.mu.Unlock()
	gen := 0
	if old, ok := h.states[id]; ok {
		if !old.RuntimeStatus.IsTerminal() {
			return fmt.Errorf("fakehub: instance %q: %w", id, sp.ErrInstanceExists)
		}
		gen = old.Generation + 1
		h.order = slices.DeleteFunc(h.order, func(s string) bool { return s == id })
	}
	now := h.Now()
	h.states[id] = &sp.OrchestrationState{
		InstanceID:      id,
		ExecutionID:     start.Target.ExecutionID,
		Name:            start.Event.Name,
		Version:         start.Event.Version,
		RuntimeStatus:   sp.StatusPending,
		CreatedTime:     start.Event.Timestamp,
		LastUpdatedTime: now,
		Input:           start.Event.Input,
		Generation:      gen,
	}
	h.order = append(h.order, id)
	h.histories[id] = nil
	h.sent = append(h.sent, start.Clone())
	return nil
}

// SendTaskMessages records the messages.
func (h *Hub) SendTaskMessages(_ context.Context, msgs ...*sp.TaskMessage) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range msgs {
		h.sent = append(h.sent, m.Clone())
	}
	return nil
}

// Sent returns copies of every message sent so far (starts included).
func (h *Hub) Sent() []*sp.TaskMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*sp.TaskMessage, len(h.sent))
	for i, m := range h.sent {
		out[i] = m.Clone()
	}
	return out
}

// SetState changes an instance's status row, as an engine would: f edits
// a copy that replaces the row.
func (h *Hub) SetState(id string, f func(*sp.OrchestrationState)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.states[id].Clone()
	if st == nil {
		st = &sp.OrchestrationState{InstanceID: id, CreatedTime: h.Now()}
		h.order = append(h.order, id)
	}
	f(st)
	st.LastUpdatedTime = h.Now()
	h.states[id] = st
}

// SetHistory replaces an instance's history.
func (h *Hub) SetHistory(id string, events []*sp.HistoryEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.histories[id] = events
}

// GetOrchestrationState returns a copy of the status row.
func (h *Hub) GetOrchestrationState(_ context.Context, id string, fetch bool) (*sp.OrchestrationState, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, ok := h.states[id]
	if !ok {
		return nil, fmt.Errorf("fakehub: instance %q: %w", id, sp.ErrInstanceNotFound)
	}
	c := st.Clone()
	if !fetch {
		c.Input, c.Output = "", ""
	}
	return c, nil
}

// GetOrchestrationHistory returns the stored history.
func (h *Hub) GetOrchestrationHistory(_ context.Context, id string) ([]*sp.HistoryEvent, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.states[id]; !ok {
		return nil, fmt.Errorf("fakehub: instance %q: %w", id, sp.ErrInstanceNotFound)
	}
	return slices.Clone(h.histories[id]), nil
}

func matches(st *sp.OrchestrationState, from, to time.Time, statuses []sp.OrchestrationStatus, prefix string) bool {
	if !from.IsZero() && st.CreatedTime.Before(from) {
		return false
	}
	if !to.IsZero() && st.CreatedTime.After(to) {
		return false
	}
	if len(statuses) > 0 && !slices.Contains(statuses, st.RuntimeStatus) {
		return false
	}
	return strings.HasPrefix(st.InstanceID, prefix)
}

// QueryOrchestrationStates pages through instances in creation order; the
// continuation token is the index to resume at.
func (h *Hub) QueryOrchestrationStates(_ context.Context, q sp.InstanceQuery) (*sp.InstanceQueryResult, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	start := 0
	if q.ContinuationToken != "" {
		n, err := strconv.Atoi(q.ContinuationToken)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("fakehub: bad continuation token %q", q.ContinuationToken)
		}
		start = n
	}
	size := q.PageSize
	if size <= 0 {
		size = 100
	}
	res := &sp.InstanceQueryResult{}
	i := start
	for ; i < len(h.order) && len(res.States) < size; i++ {
		st := h.states[h.order[i]]
		if matches(st, q.CreatedTimeFrom, q.CreatedTimeTo, q.RuntimeStatus, q.InstanceIDPrefix) {
			c := st.Clone()
			if !q.FetchInputsAndOutputs {
				c.Input, c.Output = "", ""
			}
			res.States = append(res.States, c)
		}
	}
	if i < len(h.order) {
		res.ContinuationToken = strconv.Itoa(i)
	}
	return res, nil
}

// PurgeInstance deletes an instance whatever its status.
func (h *Hub) PurgeInstance(_ context.Context, id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.states[id]; !ok {
		return fmt.Errorf("fakehub: instance %q: %w", id, sp.ErrInstanceNotFound)
	}
	h.purgeLocked(id)
	return nil
}

func (h *Hub) purgeLocked(id string) {
	delete(h.states, id)
	delete(h.histories, id)
	h.order = slices.DeleteFunc(h.order, func(s string) bool { return s == id })
}

// PurgeInstances deletes the terminal instances matching f.
func (h *Hub) PurgeInstances(_ context.Context, f sp.PurgeFilter) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	to := f.CreatedTimeTo
	if to.IsZero() {
		to = h.Now()
	}
	var ids []string
	for _, id := range h.order {
		st := h.states[id]
		if st.RuntimeStatus.IsTerminal() && matches(st, f.CreatedTimeFrom, to, f.RuntimeStatus, "") {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		h.purgeLocked(id)
	}
	return len(ids), nil
}

var errNoWork = errors.New("fakehub: no work items")

// LockNextOrchestrationWorkItem fails: the fake has no queues.
func (h *Hub) LockNextOrchestrationWorkItem(context.Context) (*sp.OrchestrationWorkItem, error) {
	return nil, errNoWork
}

// RenewOrchestrationWorkItem fails.
func (h *Hub) RenewOrchestrationWorkItem(context.Context, *sp.OrchestrationWorkItem) error {
	return errNoWork
}

// CompleteOrchestrationWorkItem fails.
func (h *Hub) CompleteOrchestrationWorkItem(context.Context, *sp.OrchestrationWorkItem, *sp.OrchestrationCheckpoint) error {
	return errNoWork
}

// AbandonOrchestrationWorkItem fails.
func (h *Hub) AbandonOrchestrationWorkItem(context.Context, *sp.OrchestrationWorkItem, time.Duration) error {
	return errNoWork
}

// LockNextActivityWorkItem fails.
func (h *Hub) LockNextActivityWorkItem(context.Context) (*sp.ActivityWorkItem, error) {
	return nil, errNoWork
}

// RenewActivityWorkItem fails.
func (h *Hub) RenewActivityWorkItem(context.Context, *sp.ActivityWorkItem) error { return errNoWork }

// CompleteActivityWorkItem fails.
func (h *Hub) CompleteActivityWorkItem(context.Context, *sp.ActivityWorkItem, *sp.TaskMessage) error {
	return errNoWork
}

// AbandonActivityWorkItem fails.
func (h *Hub) AbandonActivityWorkItem(context.Context, *sp.ActivityWorkItem, time.Duration) error {
	return errNoWork
}
