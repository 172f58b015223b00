package azurestorage

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	sp "github.com/funchost/funchost/storageprovider"
)

// instanceRows is the Instances table: one status row per instance
// (PartitionKey = sanitized instance ID, RowKey ""), see
// docs/storage-layout.md, "Instances table".
type instanceRows struct {
	c     *aztables.Client
	hub   string // the task hub name, written in every row
	blobs *largeStore
}

// CreateInstance creates an instance from its ExecutionStarted message.
// The conditional write of the Instances row decides the winner before the
// start message is sent: an insert for a new ID, or an If-Match replace of
// a terminal instance's row (Generation + 1).
func (h *TaskHub) CreateInstance(ctx context.Context, start *sp.TaskMessage) error {
	if start == nil || start.Event == nil || start.Event.EventType != sp.EventExecutionStarted {
		return errors.New("azurestorage: CreateInstance needs an ExecutionStarted message")
	}
	id := start.Target.InstanceID
	if id == "" {
		return errors.New("azurestorage: CreateInstance: empty instance ID")
	}
	release, err := h.clientSlot(ctx)
	if err != nil {
		return fmt.Errorf("azurestorage: creating instance %q: %w", id, err)
	}
	defer release()
	msg := start.Clone()
	pk := sanitizeKey(id)
	// Optimistically insert (one request for a new ID); on a conflict read
	// the row and decide: a terminal instance is replaced under its ETag.
	generation := 0
	var ifMatch *azcore.ETag
	for attempt := 0; ; attempt++ {
		msg.Event.Generation = generation
		pm, err := h.send.prepare(ctx, msg, sp.OrchestrationInstance{})
		if err != nil {
			return fmt.Errorf("azurestorage: creating instance %q: %w", id, err)
		}
		row := instanceEntity(h.Name(), pendingState(msg, generation), true)
		if pm.blobName != "" && utf16Bytes(msg.Event.Input) > tablePropertyLimit {
			row["Input"] = h.blobs.url(pm.blobName) // DTFx: the row points at the message blob
		} else if err := h.blobs.offloadInstanceColumns(ctx, row, id); err != nil {
			return err
		}
		b, _ := json.Marshal(row)
		if ifMatch == nil {
			_, err = h.instances.c.AddEntity(ctx, b, nil)
		} else {
			_, err = h.instances.c.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{IfMatch: ifMatch, UpdateMode: aztables.UpdateModeReplace})
		}
		if err != nil {
			if (isConflict(err) || statusOf(err) == 412 || isNotFound(err)) && attempt < 5 {
				existing, etag, rerr := h.instances.read(ctx, id, false)
				switch {
				case errors.Is(rerr, sp.ErrInstanceNotFound):
					generation, ifMatch = 0, nil
					continue
				case rerr != nil:
					return rerr
				case ownRow(existing, msg, generation):
					// An earlier try of this very write succeeded but its
					// answer was lost, and the SDK's retry met our own
					// row: the start is ours, go on to send its message.
				case !existing.RuntimeStatus.IsTerminal():
					return fmt.Errorf("azurestorage: creating instance %q (status %s): %w", id, existing.RuntimeStatus, sp.ErrInstanceExists)
				default:
					generation, ifMatch = existing.Generation+1, &etag
					continue
				}
			} else {
				return fmt.Errorf("azurestorage: creating instance %q: %w", id, err)
			}
		}
		// The row is ours; the instance only runs once its message is on
		// the queue, so keep trying (the SDK already retried transient
		// errors) and undo the row if sending is impossible.
		if err := h.send.toControl(ctx, pm, messageDelay(msg)); err != nil {
			if _, derr := h.instances.c.DeleteEntity(context.WithoutCancel(ctx), pk, "", nil); derr != nil {
				h.log.Error("start message not sent and the instance row could not be removed", "instance", id, "err", derr)
			}
			return fmt.Errorf("azurestorage: creating instance %q: %w", id, err)
		}
		return nil
	}
}

// ownRow reports whether a status row found on a conflict is the one this
// CreateInstance call wrote: Pending, of the same generation, with the
// execution ID of its start message (a fresh random ID per start, so no
// other starter can match it).
func ownRow(existing *sp.OrchestrationState, msg *sp.TaskMessage, generation int) bool {
	if existing == nil || existing.RuntimeStatus != sp.StatusPending {
		return false
	}
	want := pendingState(msg, generation)
	return want.ExecutionID != "" && existing.ExecutionID == want.ExecutionID && existing.Generation == generation
}

// read reads an instance's row (ErrInstanceNotFound when missing), with
// Input and Output when withIO is set.
func (r *instanceRows) read(ctx context.Context, id string, withIO bool) (*sp.OrchestrationState, azcore.ETag, error) {
	resp, err := r.c.GetEntity(ctx, sanitizeKey(id), "", nil)
	if err != nil {
		if isNotFound(err) {
			return nil, "", fmt.Errorf("azurestorage: instance %q: %w", id, sp.ErrInstanceNotFound)
		}
		return nil, "", fmt.Errorf("azurestorage: reading instance %q: %w", id, err)
	}
	var e entity
	if err := json.Unmarshal(resp.Value, &e); err != nil {
		return nil, "", fmt.Errorf("azurestorage: instance %q: %w", id, err)
	}
	if withIO {
		if err := r.blobs.restoreInstanceColumns(ctx, e); err != nil {
			return nil, "", err
		}
	}
	s, err := stateFromEntity(e)
	if err != nil {
		return nil, "", fmt.Errorf("azurestorage: instance %q: %w", id, err)
	}
	s.InstanceID = id
	if !withIO {
		s.Input, s.Output = "", ""
	}
	return s, resp.ETag, nil
}

// write merges the status row (Input only when withInput).
func (r *instanceRows) write(ctx context.Context, s *sp.OrchestrationState, withInput bool) error {
	row := instanceEntity(r.hub, s, withInput)
	if err := r.blobs.offloadInstanceColumns(ctx, row, s.InstanceID); err != nil {
		return err
	}
	b, _ := json.Marshal(row)
	// The row nearly always exists (created with the instance): a merge
	// with If-Match * is one lookup in Azurite where an upsert is two.
	_, err := r.c.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{IfMatch: to.Ptr(azcore.ETagAny), UpdateMode: aztables.UpdateModeMerge})
	if isNotFound(err) {
		_, err = r.c.UpsertEntity(ctx, b, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeMerge})
	}
	if err != nil {
		return fmt.Errorf("writing status row: %w", err)
	}
	return nil
}

// addPending inserts a Pending status row for a sub-orchestration unless
// one exists.
func (r *instanceRows) addPending(ctx context.Context, start *sp.TaskMessage) error {
	row := instanceEntity(r.hub, pendingState(start, start.Event.Generation), true)
	if err := r.blobs.offloadInstanceColumns(ctx, row, start.Target.InstanceID); err != nil {
		return err
	}
	b, _ := json.Marshal(row)
	if _, err := r.c.AddEntity(ctx, b, nil); err != nil && !isConflict(err) {
		return fmt.Errorf("creating status row of sub-orchestration %q: %w", start.Target.InstanceID, err)
	}
	return nil
}

// GetOrchestrationState returns an instance's status row.
func (h *TaskHub) GetOrchestrationState(ctx context.Context, instanceID string, fetchInputsAndOutputs bool) (*sp.OrchestrationState, error) {
	s, _, err := h.instances.read(ctx, instanceID, fetchInputsAndOutputs)
	return s, err
}

type continuation struct {
	PK string `json:"pk"`
	RK string `json:"rk"`
}

// maxContinuationKey bounds each key of a continuation token: table keys
// are at most 1 KiB.
const maxContinuationKey = 1024

// decodeContinuation checks a token QueryOrchestrationStates issued: URL
// base64 of {"pk":…,"rk":…} with a non-empty partition key, both keys
// short, valid UTF-8 and free of control characters. Anything else is
// ErrInvalidContinuationToken, never a storage request.
func decodeContinuation(tok string) (continuation, error) {
	var c continuation
	bad := func(why string) (continuation, error) {
		return continuation{}, fmt.Errorf("azurestorage: %w: %s", sp.ErrInvalidContinuationToken, why)
	}
	if len(tok) > 4*maxContinuationKey {
		return bad(fmt.Sprintf("%d characters long", len(tok)))
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return bad("not URL-safe base64")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return bad("not the JSON this host writes")
	}
	if c.PK == "" {
		return bad("no partition key")
	}
	for _, k := range []string{c.PK, c.RK} {
		if len(k) > maxContinuationKey || !utf8.ValidString(k) || strings.ContainsFunc(k, unicode.IsControl) {
			return bad("a key is too long, not UTF-8 or holds control characters")
		}
	}
	return c, nil
}

// QueryOrchestrationStates lists status rows matching q, one page at a time.
func (h *TaskHub) QueryOrchestrationStates(ctx context.Context, q sp.InstanceQuery) (*sp.InstanceQueryResult, error) {
	var filters []string
	if !q.CreatedTimeFrom.IsZero() {
		filters = append(filters, "CreatedTime ge datetime'"+q.CreatedTimeFrom.UTC().Format(timeLayout)+"'")
	}
	if !q.CreatedTimeTo.IsZero() {
		filters = append(filters, "CreatedTime le datetime'"+q.CreatedTimeTo.UTC().Format(timeLayout)+"'")
	}
	if len(q.RuntimeStatus) > 0 {
		var ors []string
		for _, s := range q.RuntimeStatus {
			ors = append(ors, "RuntimeStatus eq "+odataQuote(s.String()))
		}
		filters = append(filters, "("+strings.Join(ors, " or ")+")")
	}
	if p := q.InstanceIDPrefix; p != "" {
		sp := sanitizeKey(p)
		r := []rune(sp)
		r[len(r)-1]++
		filters = append(filters, "PartitionKey ge "+odataQuote(sp)+" and PartitionKey lt "+odataQuote(string(r)))
	}
	size := q.PageSize
	if size <= 0 {
		size = 100
	}
	opts := &aztables.ListEntitiesOptions{Top: to.Ptr(int32(size))}
	if len(filters) > 0 {
		opts.Filter = to.Ptr(strings.Join(filters, " and "))
	}
	if !q.FetchInputsAndOutputs {
		opts.Select = to.Ptr("PartitionKey,RowKey,Name,Version,ExecutionId,RuntimeStatus,CreatedTime,LastUpdatedTime,CompletedTime,CustomStatus,Generation,ScheduledStartTime,Tags,FailureDetails")
	}
	if q.ContinuationToken != "" {
		c, err := decodeContinuation(q.ContinuationToken)
		if err != nil {
			return nil, err
		}
		opts.NextPartitionKey, opts.NextRowKey = &c.PK, &c.RK
	}
	page, err := h.instances.c.NewListEntitiesPager(opts).NextPage(ctx)
	var re *azcore.ResponseError
	if q.ContinuationToken != "" && errors.As(err, &re) && re.StatusCode == http.StatusBadRequest {
		// The table service refused the position the token names.
		return nil, fmt.Errorf("azurestorage: %w: the table service refused its position (%s)", sp.ErrInvalidContinuationToken, re.ErrorCode)
	}
	if err != nil {
		return nil, fmt.Errorf("azurestorage: querying instances: %w", err)
	}
	res := &sp.InstanceQueryResult{}
	for _, raw := range page.Entities {
		var e entity
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, err
		}
		if q.FetchInputsAndOutputs {
			if err := h.blobs.restoreInstanceColumns(ctx, e); err != nil {
				return nil, err
			}
		}
		s, err := stateFromEntity(e)
		if err != nil {
			return nil, err
		}
		res.States = append(res.States, s)
	}
	if page.NextPartitionKey != nil && *page.NextPartitionKey != "" {
		c := continuation{PK: *page.NextPartitionKey}
		if page.NextRowKey != nil {
			c.RK = *page.NextRowKey
		}
		b, _ := json.Marshal(c)
		res.ContinuationToken = base64.RawURLEncoding.EncodeToString(b)
	}
	return res, nil
}

// PurgeInstance deletes an instance's history, blobs and status row.
func (h *TaskHub) PurgeInstance(ctx context.Context, instanceID string) error {
	if _, _, err := h.instances.read(ctx, instanceID, false); err != nil {
		return err
	}
	return h.purge(ctx, instanceID)
}

func (h *TaskHub) purge(ctx context.Context, instanceID string) error {
	pk := sanitizeKey(instanceID)
	h.orch.invalidate(instanceID)
	if err := h.history.deleteAll(ctx, instanceID); err != nil {
		return err
	}
	if err := h.blobs.deleteWithPrefix(ctx, pk+"/"); err != nil {
		return fmt.Errorf("azurestorage: purging blobs of %q: %w", instanceID, err)
	}
	if _, err := h.instances.c.DeleteEntity(ctx, pk, "", nil); err != nil && !isNotFound(err) {
		return fmt.Errorf("azurestorage: purging %q: %w", instanceID, err)
	}
	h.orch.invalidate(instanceID)
	return nil
}

// PurgeInstances deletes the terminal instances matching f.
func (h *TaskHub) PurgeInstances(ctx context.Context, f sp.PurgeFilter) (int, error) {
	statuses := []sp.OrchestrationStatus{}
	for _, s := range f.RuntimeStatus {
		if s.IsTerminal() {
			statuses = append(statuses, s)
		}
	}
	if len(f.RuntimeStatus) == 0 {
		statuses = []sp.OrchestrationStatus{sp.StatusCompleted, sp.StatusFailed, sp.StatusTerminated, sp.StatusCanceled}
	}
	if len(statuses) == 0 {
		return 0, nil
	}
	to := f.CreatedTimeTo
	if to.IsZero() {
		to = time.Now()
	}
	q := sp.InstanceQuery{CreatedTimeFrom: f.CreatedTimeFrom, CreatedTimeTo: to, RuntimeStatus: statuses, PageSize: 1000}
	var ids []string
	for {
		res, err := h.QueryOrchestrationStates(ctx, q)
		if err != nil {
			return 0, err
		}
		for _, s := range res.States {
			ids = append(ids, s.InstanceID)
		}
		if res.ContinuationToken == "" {
			break
		}
		q.ContinuationToken = res.ContinuationToken
	}
	n := 0
	for _, id := range ids {
		if err := h.purge(ctx, id); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
