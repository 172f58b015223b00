package azurestorage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// CompleteOrchestrationWorkItem commits an episode's checkpoint. The
// commit protocol is four steps, in this order (docs/storage-layout.md,
// "The commit protocol", restates it with the layout):
//
//  1. Send the episode's messages: outbound messages and timers to the
//     instances' control queues (a sub-orchestration start first inserts
//     the child's Pending status row unless it has one), activities to the
//     work-item queue.
//  2. Write the new history rows in entity-group transactions on the
//     instance's History partition, each guarded by the sentinel row's ETag
//     as this work item read it. If another worker committed the instance
//     since (the partition moved, or a lock expired), the guard fails: the
//     messages are released and the caller gets ErrWorkItemLost. A
//     checkpoint without new events still checks the guard, with one
//     conditional merge of the sentinel.
//  3. Write the status row (skipped when nothing a reader sees changed).
//  4. Delete the consumed messages.
//
// Why this order. Until step 4 the consumed messages stay in their queues,
// so a crash at any point redelivers them and the episode is replayed from
// the history committed so far:
//
//   - a crash after 1 and before 2 leaves the sent messages without the
//     history that scheduled them; the replay decides the same actions and
//     sends them again, and engines drop the duplicates (results for tasks
//     already completed, starts of instances already running). Sending
//     after the history instead could lose the messages for good: the
//     replay would find the actions already in history and not send them.
//   - a crash after 2 and before 3 leaves a status row that lags the
//     history. The redelivered messages make a work item without cached
//     state, so its checkpoint always writes the row, repairing it. The row
//     comes after the history so that no reader sees a status (say,
//     Completed) the history does not back up.
//   - a crash after 3 and before 4 replays an episode whose effects are all
//     committed; its messages are all duplicates.
//
// Deleting the messages last is what makes the earlier steps safe to
// repeat; step 2's guard is what makes a second worker's commit of the same
// messages fail instead of forking the history.
func (h *TaskHub) CompleteOrchestrationWorkItem(ctx context.Context, wi *sp.OrchestrationWorkItem, c *sp.OrchestrationCheckpoint) error {
	lk, err := orchLockOf(wi)
	if err != nil {
		return err
	}
	if h.orch.isDone(lk) {
		return fmt.Errorf("azurestorage: completing instance %q: %w", wi.InstanceID, sp.ErrWorkItemLost)
	}
	if c == nil {
		c = &sp.OrchestrationCheckpoint{}
	}
	id := wi.InstanceID

	// 1. Messages.
	if err := h.send.checkpoint(ctx, sp.OrchestrationInstance{InstanceID: id, ExecutionID: lk.executionID}, c); err != nil {
		return fmt.Errorf("azurestorage: completing instance %q: %w", id, err)
	}
	// 2. History, under the sentinel's ETag.
	next := cacheAfter(lk, c)
	if err := h.commitHistoryStep(ctx, lk, id, c, next); err != nil {
		return err
	}
	// 3. Status row. On failure history is committed but the work item
	// stays locked: the caller abandons it, the cache is dropped and the
	// messages replay against the committed history.
	if err := h.commitStateStep(ctx, c.State, next); err != nil {
		return fmt.Errorf("azurestorage: completing instance %q: %w", id, err)
	}
	// 4. Consumed messages.
	lk.endRenewals()
	h.msgs.delete(ctx, h.orch.messagesOf(lk))
	if next.etag == "" && appends(c) {
		next = nil // ETag unknown: read history next time
	}
	h.orch.finish(lk, next, true)
	return nil
}

// appends reports whether the checkpoint writes history rows.
func appends(c *sp.OrchestrationCheckpoint) bool { return len(c.NewEvents) > 0 || c.ReplaceHistory }

// cacheAfter starts the cache entry the instance will have after the
// commit: the work item's history (none when it is replaced) under the
// execution the checkpoint continues or starts, and what is known of the
// status row.
func cacheAfter(lk *orchLock, c *sp.OrchestrationCheckpoint) *instCache {
	execID := lk.executionID
	if c.ReplaceHistory || execID == "" {
		if x := startedExecutionID(c.NewEvents); x != "" {
			execID = x
		} else if c.State != nil && c.State.ExecutionID != "" {
			execID = c.State.ExecutionID
		}
	}
	next := &instCache{executionID: execID, etag: lk.etag}
	if lk.cache != nil && !c.ReplaceHistory {
		next.history = lk.cache.history
	}
	if lk.cache != nil {
		next.state, next.rowInput, next.inputKnown = lk.cache.state, lk.cache.rowInput, lk.cache.inputKnown
	} else if lk.fresh {
		for _, m := range lk.msgs {
			if m.msg.Event.EventType == sp.EventExecutionStarted {
				next.rowInput, next.inputKnown = m.msg.Event.Input, true
			}
		}
	}
	return next
}

func startedExecutionID(evs []*sp.HistoryEvent) string {
	for _, ev := range evs {
		if ev.EventType == sp.EventExecutionStarted && ev.OrchestrationInstance != nil {
			return ev.OrchestrationInstance.ExecutionID
		}
	}
	return ""
}

// commitHistoryStep appends (or replaces) the history rows, or only checks
// the sentinel when there is nothing to append, and records the new ETag
// and history in next.
func (h *TaskHub) commitHistoryStep(ctx context.Context, lk *orchLock, id string, c *sp.OrchestrationCheckpoint, next *instCache) error {
	if !appends(c) {
		// Nothing to append, but the consumed messages are about to be
		// deleted: make sure the history they were judged against is
		// still current. Otherwise a stale cache after an unnoticed
		// partition move, or a previous owner still committing an
		// instance's first episode (whose activity result arrives here
		// before its history exists), would drop messages for good.
		etag, err := h.history.touchSentinel(ctx, id, next.executionID, lk.etag)
		if err != nil {
			return h.historyCheckFailed(ctx, lk, id, "the instance changed since its history was read; abandoning the work item", err)
		}
		next.etag = etag
		return nil
	}
	start := lk.histLen
	if c.ReplaceHistory {
		start = 0
	}
	etag, err := h.history.commit(ctx, id, next.executionID, start, c.NewEvents, lk.etag)
	if err != nil {
		return h.historyCheckFailed(ctx, lk, id, "another worker committed this instance first; abandoning the work item", err)
	}
	next.etag = etag
	hist := make([]*sp.HistoryEvent, 0, len(next.history)+len(c.NewEvents))
	next.history = append(append(hist, next.history...), c.NewEvents...)
	return nil
}

// historyCheckFailed handles a failed history write or sentinel check of
// a commit. A lost concurrency check (another worker got there first)
// releases the messages and reports ErrWorkItemLost; any other error is
// returned for the caller to abandon the work item.
func (h *TaskHub) historyCheckFailed(ctx context.Context, lk *orchLock, id, why string, err error) error {
	if !errors.Is(err, errConflict) {
		return fmt.Errorf("azurestorage: completing instance %q: %w", id, err)
	}
	h.log.Warn(why, "instance", id)
	lk.endRenewals()
	h.msgs.release(ctx, lk.msgs, lostRetryDelay)
	h.orch.finish(lk, nil, false)
	return fmt.Errorf("azurestorage: completing instance %q: %w: %w", id, sp.ErrWorkItemLost, err)
}

// commitStateStep writes the status row s unless nothing a reader sees
// would change, and records it in next.
func (h *TaskHub) commitStateStep(ctx context.Context, s *sp.OrchestrationState, next *instCache) error {
	if s == nil || !stateChanged(next.state, s) {
		return nil
	}
	withInput := !next.inputKnown || next.rowInput != s.Input
	if err := h.instances.write(ctx, s, withInput); err != nil {
		return err
	}
	next.state = s.Clone()
	next.rowInput, next.inputKnown = s.Input, true
	return nil
}

// statusRowRefresh bounds how stale LastUpdatedTime may get in the status
// row of a running instance.
const statusRowRefresh = time.Minute

// stateChanged reports whether writing s over old changes anything a
// reader of the status row sees, ignoring LastUpdatedTime while the
// instance keeps running (every episode moves it; writing it alone would
// double the table writes of an orchestration) unless it is more than
// statusRowRefresh behind.
func stateChanged(old, s *sp.OrchestrationState) bool {
	if old == nil || s.LastUpdatedTime.Sub(old.LastUpdatedTime) > statusRowRefresh {
		return true
	}
	if old.InstanceID != s.InstanceID || old.ExecutionID != s.ExecutionID || old.Name != s.Name ||
		old.Version != s.Version || old.RuntimeStatus != s.RuntimeStatus || !old.CreatedTime.Equal(s.CreatedTime) ||
		!old.CompletedTime.Equal(s.CompletedTime) || old.Input != s.Input || old.Output != s.Output ||
		old.CustomStatus != s.CustomStatus || old.Generation != s.Generation || !old.ScheduledStartTime.Equal(s.ScheduledStartTime) {
		return true
	}
	ta, _ := json.Marshal(old.Tags)
	tb, _ := json.Marshal(s.Tags)
	fa, _ := json.Marshal(old.FailureDetails)
	fb, _ := json.Marshal(s.FailureDetails)
	return string(ta) != string(tb) || string(fa) != string(fb)
}
