package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	sp "github.com/funchost/funchost/storageprovider"
)

// CreateInstance creates an instance from an ExecutionStarted message: a
// Pending status row and the start message, atomically. A non-terminal
// instance with the same ID makes it fail with ErrInstanceExists; a
// terminal one is replaced by a new execution with Generation + 1 and an
// empty history.
func (h *TaskHub) CreateInstance(ctx context.Context, start *sp.TaskMessage) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if start == nil || start.Event == nil || start.Event.EventType != sp.EventExecutionStarted {
		return errInvalid("CreateInstance needs an ExecutionStarted message")
	}
	id := start.Target.InstanceID
	if id == "" && start.Event.OrchestrationInstance != nil {
		id = start.Event.OrchestrationInstance.InstanceID
	}
	if id == "" {
		return errInvalid("CreateInstance: the start message has no instance ID")
	}
	m := start.Clone()
	m.Target.InstanceID = id

	h.mu.Lock()
	defer h.mu.Unlock()
	inst := h.instanceFor(id)
	gen := 0
	if inst.state != nil {
		if !inst.state.RuntimeStatus.IsTerminal() {
			return fmt.Errorf("memory task hub: create instance %q (status %s): %w", id, inst.state.RuntimeStatus, sp.ErrInstanceExists)
		}
		gen = inst.state.Generation + 1
	}
	h.createRowLocked(inst, m, gen)
	h.enqueueLocked(inst, m, time.Now())
	return nil
}

// createRowLocked writes a fresh Pending status row for the execution m
// starts, dropping the previous execution's history.
func (h *TaskHub) createRowLocked(inst *instance, m *sp.TaskMessage, gen int) {
	ev := m.Event
	ev.Generation = gen
	execID := m.Target.ExecutionID
	if ev.OrchestrationInstance != nil && ev.OrchestrationInstance.ExecutionID != "" {
		execID = ev.OrchestrationInstance.ExecutionID
	}
	if m.Target.ExecutionID == "" {
		m.Target.ExecutionID = execID
	}
	n := sp.Now()
	created := ev.Timestamp.UTC()
	if created.IsZero() {
		created = n
	}
	st := &sp.OrchestrationState{
		InstanceID:      inst.id,
		ExecutionID:     execID,
		Name:            ev.Name,
		Version:         ev.Version,
		RuntimeStatus:   sp.StatusPending,
		CreatedTime:     created,
		LastUpdatedTime: n,
		Input:           ev.Input,
		Generation:      gen,
	}
	if ev.ScheduledStartTime != nil {
		st.ScheduledStartTime = ev.ScheduledStartTime.UTC()
	}
	if len(ev.Tags) > 0 {
		st.Tags = make(map[string]string, len(ev.Tags))
		for k, v := range ev.Tags {
			st.Tags[k] = v
		}
	}
	inst.state = st
	inst.history = nil
	inst.compact = nil
	inst.version++
}

// instanceFor returns the entry for id, creating an empty one.
func (h *TaskHub) instanceFor(id string) *instance {
	inst := h.instances[id]
	if inst == nil {
		inst = &instance{id: id}
		h.instances[id] = inst
	}
	return inst
}

// forgetIfEmpty drops the entry of an instance that has no row and no
// work, so messages to unknown instances leave nothing behind.
func (h *TaskHub) forgetIfEmpty(inst *instance) {
	if inst.state == nil && inst.locked == nil && len(inst.pending) == 0 && !inst.inReady && h.instances[inst.id] == inst {
		delete(h.instances, inst.id)
	}
}

// historyLocked returns inst's history, decoding a compacted one. The
// returned slice must not be modified.
func (h *TaskHub) historyLocked(inst *instance) []*sp.HistoryEvent {
	if inst.compact != nil {
		var evs []*sp.HistoryEvent
		if err := json.Unmarshal(inst.compact, &evs); err != nil {
			// Cannot happen: we encoded it ourselves.
			panic(fmt.Sprintf("memory task hub: corrupt compacted history of %q: %v", inst.id, err))
		}
		inst.history = evs
		inst.compact = nil
	}
	return inst.history
}

// maybeCompact encodes the history of an idle terminal instance as JSON,
// which takes a fraction of the memory of the decoded events.
func (h *TaskHub) maybeCompact(inst *instance) {
	if h.opts.KeepTerminalHistory || inst.state == nil || !inst.state.RuntimeStatus.IsTerminal() ||
		inst.locked != nil || len(inst.pending) > 0 || len(inst.history) == 0 {
		return
	}
	if !jsonExact(inst.history) {
		return // JSON would alter invalid UTF-8: keep it decoded
	}
	if payloadBytes(inst.history) > len(inst.history)*compactPayloadPerEvent {
		return // mostly payload text: JSON would only add a copy of it
	}
	b, err := json.Marshal(inst.history)
	if err != nil {
		return // keep it decoded
	}
	inst.compact = b
	inst.history = nil
}

// compactPayloadPerEvent bounds the payload text per event of a history
// worth compacting. Compaction saves the decoded events' overhead (a few
// hundred bytes each); payload text costs as much as JSON as it does
// decoded, and the status row usually shares the input and output
// strings, so encoding a history that is mostly payload (one 50 MB input
// and output) would add copies instead of saving memory.
const compactPayloadPerEvent = 1 << 10

// payloadBytes sums the lengths of the events' payload strings.
func payloadBytes(evs []*sp.HistoryEvent) int {
	n := 0
	for _, e := range evs {
		n += len(e.Input) + len(e.Result) + len(e.Details) + len(e.Data)
	}
	return n
}

// existingLocked returns the instance with a status row, or
// ErrInstanceNotFound. h.mu must be held.
func (h *TaskHub) existingLocked(ctx context.Context, instanceID string) (*instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	inst := h.instances[instanceID]
	if inst == nil || inst.state == nil {
		return nil, fmt.Errorf("memory task hub: instance %q: %w", instanceID, sp.ErrInstanceNotFound)
	}
	return inst, nil
}

// GetOrchestrationState returns a copy of the instance's status row.
func (h *TaskHub) GetOrchestrationState(ctx context.Context, instanceID string, fetchInputsAndOutputs bool) (*sp.OrchestrationState, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	inst, err := h.existingLocked(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	return stateCopy(inst.state, fetchInputsAndOutputs), nil
}

func stateCopy(s *sp.OrchestrationState, withIO bool) *sp.OrchestrationState {
	c := s.Clone()
	if !withIO {
		c.Input, c.Output = "", ""
	}
	return c
}

// GetOrchestrationHistory returns a copy of the current execution's
// committed history.
func (h *TaskHub) GetOrchestrationHistory(ctx context.Context, instanceID string) ([]*sp.HistoryEvent, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	inst, err := h.existingLocked(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	if inst.compact != nil {
		// Decode without keeping the decoded form: the instance is idle.
		var evs []*sp.HistoryEvent
		if err := json.Unmarshal(inst.compact, &evs); err != nil {
			return nil, fmt.Errorf("memory task hub: history of %q: %w", instanceID, err)
		}
		return evs, nil
	}
	return cloneEvents(make([]*sp.HistoryEvent, 0, len(inst.history)), inst.history), nil
}

const defaultPageSize = 100

// PurgeInstance deletes an instance's status row and history whatever its
// status. Work in flight for it fails with ErrWorkItemLost at commit.
func (h *TaskHub) PurgeInstance(ctx context.Context, instanceID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	inst := h.instances[instanceID]
	if inst == nil || inst.state == nil {
		return fmt.Errorf("memory task hub: purge instance %q: %w", instanceID, sp.ErrInstanceNotFound)
	}
	h.purgeLocked(inst)
	return nil
}

func (h *TaskHub) purgeLocked(inst *instance) {
	inst.state = nil
	inst.history = nil
	inst.compact = nil
	inst.version++
	h.forgetIfEmpty(inst)
}

// jsonExact reports whether every string in evs is valid UTF-8, so that a
// JSON round trip returns it unchanged.
func jsonExact(evs []*sp.HistoryEvent) bool {
	for _, e := range evs {
		for _, s := range [...]string{e.Name, e.Version, e.Input, e.Result, e.Reason, e.Details, e.InstanceID, e.Data} {
			if !utf8.ValidString(s) {
				return false
			}
		}
		for f := e.FailureDetails; f != nil; f = f.InnerFailure {
			if !utf8.ValidString(f.ErrorType) || !utf8.ValidString(f.ErrorMessage) || !utf8.ValidString(f.StackTrace) {
				return false
			}
		}
		for k, v := range e.Tags {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return false
			}
		}
		if p := e.ParentInstance; p != nil && (!utf8.ValidString(p.Name) || !utf8.ValidString(p.Version)) {
			return false
		}
		if o := e.OrchestrationInstance; o != nil && !utf8.ValidString(o.InstanceID) {
			return false
		}
	}
	return true
}
