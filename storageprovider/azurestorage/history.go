package azurestorage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	sp "github.com/funchost/funchost/storageprovider"
)

// historyRows is the History table: one partition per instance, one row
// per event of the current execution (RowKey = the event's index as 16
// hex digits), and the sentinel row whose ETag is the instance's
// concurrency token (docs/storage-layout.md, "History table").
type historyRows struct {
	c     *aztables.Client
	blobs *largeStore
	log   *slog.Logger
}

// errConflict marks a lost optimistic-concurrency check on history.
var errConflict = errors.New("history was changed by another worker")

// loadedHistory is an instance's committed history as read from the table.
type loadedHistory struct {
	events      []*sp.HistoryEvent
	executionID string
	etag        string // sentinel ETag; "" when there is no sentinel row
}

// load reads the current execution's history: one query over the
// instance's partition; rows stop at the first one of another execution.
func (r *historyRows) load(ctx context.Context, instanceID string) (*loadedHistory, error) {
	pk := sanitizeKey(instanceID)
	pager := r.c.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: to.Ptr("PartitionKey eq " + odataQuote(pk))})
	var rows []entity
	var sentinel entity
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			if isNotFound(err) {
				break
			}
			return nil, fmt.Errorf("azurestorage: reading history of %q: %w", instanceID, err)
		}
		for _, raw := range page.Entities {
			var e entity
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, fmt.Errorf("azurestorage: history of %q: %w", instanceID, err)
			}
			if e.str("RowKey") == sentinelRowKey {
				sentinel = e
				continue
			}
			rows = append(rows, e)
		}
	}
	lh := &loadedHistory{}
	if sentinel != nil {
		lh.executionID = sentinel.str("ExecutionId")
		lh.etag = sentinel.str("odata.etag")
	} else if len(rows) > 0 {
		lh.executionID = rows[0].str("ExecutionId")
	}
	for i, e := range rows {
		if e.str("ExecutionId") != lh.executionID || e.str("RowKey") != rowKey(i) {
			break
		}
		if err := r.blobs.restoreHistoryColumns(ctx, e); err != nil {
			return nil, fmt.Errorf("azurestorage: history of %q: %w", instanceID, err)
		}
		ev, err := eventFromEntity(e)
		if err != nil {
			return nil, fmt.Errorf("azurestorage: history of %q, row %s: %w", instanceID, e.str("RowKey"), err)
		}
		lh.events = append(lh.events, ev)
	}
	return lh, nil
}

// GetOrchestrationHistory returns the current execution's history.
func (h *TaskHub) GetOrchestrationHistory(ctx context.Context, instanceID string) ([]*sp.HistoryEvent, error) {
	lh, err := h.history.load(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	if len(lh.events) == 0 {
		if _, _, err := h.instances.read(ctx, instanceID, false); err != nil {
			return nil, err
		}
	}
	return lh.events, nil
}

// touchSentinel merges the sentinel row under If-Match (or inserts it
// when etag is "", meaning no history existed): it proves that nobody
// committed since the history was read, and returns the new ETag.
func (r *historyRows) touchSentinel(ctx context.Context, id, execID, etag string) (string, error) {
	var resp struct{ ETag azcore.ETag }
	var err error
	if etag == "" {
		b, _ := json.Marshal(entity{"PartitionKey": sanitizeKey(id), "RowKey": sentinelRowKey, "ExecutionId": execID, "IsCheckpointComplete": true})
		var added aztables.AddEntityResponse
		added, err = r.c.AddEntity(ctx, b, nil)
		resp.ETag = added.ETag
	} else {
		b, _ := json.Marshal(entity{"PartitionKey": sanitizeKey(id), "RowKey": sentinelRowKey})
		et := azcore.ETag(etag)
		var merged aztables.UpdateEntityResponse
		merged, err = r.c.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{IfMatch: &et, UpdateMode: aztables.UpdateModeMerge})
		resp.ETag = merged.ETag
	}
	if err != nil {
		if s := statusOf(err); s == 412 || s == 404 || s == 409 {
			return "", fmt.Errorf("%w (status %d)", errConflict, s)
		}
		return "", fmt.Errorf("checking the history version: %w", err)
	}
	return string(resp.ETag), nil
}

// commit writes events as rows start, start+1, ... in entity-group
// transactions of at most 99 rows plus the sentinel, chaining the
// sentinel's ETag from each transaction's reply. It returns the final
// ETag ("" if the service did not report one) or errConflict.
func (r *historyRows) commit(ctx context.Context, id, execID string, start int, events []*sp.HistoryEvent, etag string) (string, error) {
	pk := sanitizeKey(id)
	type row struct {
		body []byte
	}
	rows := make([]row, 0, len(events))
	for i, ev := range events {
		e := historyEntity(pk, start+i, execID, ev)
		if err := r.blobs.offloadHistoryColumns(ctx, e, pk); err != nil {
			return "", err
		}
		b, err := json.Marshal(e)
		if err != nil {
			return "", err
		}
		rows = append(rows, row{body: b})
	}
	// Without a sentinel the instance has no history rows at all (rows are
	// only ever written together with it, and purge deletes it last), so
	// a first commit inserts its rows instead of upserting them: the same
	// for Azure, but half the work for Azurite, whose upsert looks the row
	// up twice. Should rows exist after all (an interrupted purge), the
	// batch is retried with upserts; the sentinel insert still detects a
	// competing commit.
	insertRows := etag == "" && start == 0
	const maxBatchBytes = 3 << 20
	for {
		n, size := 0, 0
		for n < len(rows) && n < 99 && (n == 0 || size+len(rows[n].body)+1024 <= maxBatchBytes) {
			size += len(rows[n].body) + 1024
			n++
		}
		last := n == len(rows)
		actions := make([]aztables.TransactionAction, 0, n+1)
		rowAction := aztables.TransactionTypeInsertReplace
		if insertRows {
			rowAction = aztables.TransactionTypeAdd
		}
		for _, r := range rows[:n] {
			actions = append(actions, aztables.TransactionAction{ActionType: rowAction, Entity: r.body})
		}
		sentinel := entity{"PartitionKey": pk, "RowKey": sentinelRowKey, "ExecutionId": execID, "IsCheckpointComplete": last}
		if last {
			sentinel.setTime("CheckpointCompletedTimestamp", sp.Now())
		}
		sb, _ := json.Marshal(sentinel)
		if etag == "" {
			actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: sb})
		} else {
			et := azcore.ETag(etag)
			actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeUpdateMerge, Entity: sb, IfMatch: &et})
		}
		capture := &batchCapture{}
		_, err := r.c.SubmitTransaction(withBatchCapture(ctx, capture), actions, nil)
		subs, perr := parseBatchResponse(capture)
		conflict := 0
		for _, s := range subs {
			if s.status == 409 || s.status == 412 || s.status == 404 {
				conflict = s.status
			}
		}
		if conflict == 409 && insertRows && n > 0 {
			insertRows = false // maybe leftover rows: retry with upserts
			continue
		}
		if conflict != 0 {
			return "", fmt.Errorf("%w (status %d)", errConflict, conflict)
		}
		if err != nil {
			return "", fmt.Errorf("writing history: %w", err)
		}
		if perr != nil {
			r.log.Warn("cannot parse the history transaction reply; the next work item re-reads history", "instance", id, "err", perr)
			etag = ""
		} else {
			etag = ""
			if len(subs) == len(actions) {
				etag = subs[len(subs)-1].etag
			}
		}
		rows = rows[n:]
		if len(rows) == 0 {
			return etag, nil
		}
		if etag == "" {
			return "", fmt.Errorf("writing history: the sentinel ETag of a partial checkpoint is unknown")
		}
	}
}

// deleteAll deletes every row of the instance's partition, in batches of
// 100. Rows sort before the sentinel, which therefore goes last: an
// interrupted purge leaves a sentinel, never rows without one.
func (r *historyRows) deleteAll(ctx context.Context, instanceID string) error {
	pk := sanitizeKey(instanceID)
	pager := r.c.NewListEntitiesPager(&aztables.ListEntitiesOptions{
		Filter: to.Ptr("PartitionKey eq " + odataQuote(pk)),
		Select: to.Ptr("PartitionKey,RowKey"),
	})
	var keys []string
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("azurestorage: purging %q: %w", instanceID, err)
		}
		for _, raw := range page.Entities {
			var e entity
			if err := json.Unmarshal(raw, &e); err != nil {
				return err
			}
			keys = append(keys, e.str("RowKey"))
		}
	}
	for len(keys) > 0 {
		n := min(len(keys), 100)
		var actions []aztables.TransactionAction
		for _, rk := range keys[:n] {
			b, _ := json.Marshal(entity{"PartitionKey": pk, "RowKey": rk})
			actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeDelete, Entity: b})
		}
		if _, err := r.c.SubmitTransaction(ctx, actions, nil); err != nil {
			// A row vanished meanwhile: fall back to single deletes.
			for _, rk := range keys[:n] {
				if _, err := r.c.DeleteEntity(ctx, pk, rk, nil); err != nil && !isNotFound(err) {
					return fmt.Errorf("azurestorage: purging %q: %w", instanceID, err)
				}
			}
		}
		keys = keys[n:]
	}
	return nil
}
