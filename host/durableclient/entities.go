package durableclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/internal/entitywire"
	"github.com/funchost/funchost/internal/options"
	"github.com/funchost/funchost/internal/payload"
	sp "github.com/funchost/funchost/storageprovider"
)

var _ bindings.EntityClient = (*Client)(nil)

// SignalEntity sends a one-way operation to an entity (Durable Functions'
// SignalEntityAsync): an "op" event with a signal request, or with
// bindings.WithScheduledTime an "op@<time>" event the task hub holds back
// until then. The entity is created by its first operation.
func (c *Client) SignalEntity(ctx context.Context, id bindings.EntityID, operation string, input any, opts ...bindings.Option) error {
	so, err := options.Fold("SignalEntity", options.ForSignal, opts)
	if err != nil {
		return fmt.Errorf("durableclient: signal entity %s: %w", id, err)
	}
	if err := c.checkEntity(id); err != nil {
		return fmt.Errorf("durableclient: signal entity %s: %w", id, err)
	}
	in, err := payload.Marshal(input)
	if err != nil {
		return fmt.Errorf("durableclient: signal entity %s: encoding input: %w", id, err)
	}
	r := &entitywire.Request{Op: &operation, Signal: true, Input: in, ID: uuid.NewString()}
	var due time.Time
	if !so.ScheduledTime.IsZero() {
		due = sp.Timestamp(so.ScheduledTime)
		r.Due = &entitywire.Time{Time: due}
	}
	ev := sp.NewEventRaisedEvent(c.timestamp(), entitywire.EventName(due), entitywire.Marshal(r))
	msg := &sp.TaskMessage{Event: ev, Target: sp.OrchestrationInstance{InstanceID: id.String()}}
	var done func(error)
	if c.onSignal != nil {
		done = c.onSignal(ctx, id, operation, ev)
	}
	err = c.hub.SendTaskMessages(ctx, msg)
	if done != nil {
		done(err)
	}
	if err != nil {
		return fmt.Errorf("durableclient: signal entity %s: %w", id, err)
	}
	return nil
}

// checkEntity validates an entity ID and that its entity function exists.
func (c *Client) checkEntity(id bindings.EntityID) error {
	if err := bindings.ValidateEntityID(id); err != nil {
		return err
	}
	if c.isEntity != nil && !c.isEntity(id.Name) {
		return fmt.Errorf("%w: the function '%s' doesn't exist, is disabled, or is not an entity function", bindings.ErrUnknownEntity, id.Name)
	}
	return nil
}

// ReadEntityState returns an entity's last committed state; an entity
// that never ran or whose state was deleted does not exist.
func (c *Client) ReadEntityState(ctx context.Context, id bindings.EntityID) (bindings.EntityState, error) {
	if err := bindings.ValidateEntityID(id); err != nil {
		return bindings.EntityState{}, fmt.Errorf("durableclient: read entity %s: %w", id, err)
	}
	st, err := c.hub.GetOrchestrationState(ctx, id.String(), true)
	if err != nil {
		if errors.Is(err, sp.ErrInstanceNotFound) {
			return bindings.EntityState{}, nil
		}
		return bindings.EntityState{}, fmt.Errorf("durableclient: read entity %s: %w", id, err)
	}
	s, err := entitywire.DecodeState(st.Input)
	if err != nil {
		return bindings.EntityState{}, fmt.Errorf("durableclient: read entity %s: %w", id, err)
	}
	if s.State == nil {
		return bindings.EntityState{}, nil
	}
	return bindings.EntityState{Exists: true, State: []byte(*s.State)}, nil
}

// ListEntities returns one page of entities matching q; like Durable
// Functions it filters on the time of the last operation batch (the
// status row's CreatedTime). A page may be short, or empty, while a
// continuation token remains.
func (c *Client) ListEntities(ctx context.Context, q bindings.EntityQuery) (*bindings.EntityPage, error) {
	prefix := "@"
	if q.Name != "" {
		prefix = "@" + strings.ToLower(q.Name) + "@"
	}
	res, err := c.hub.QueryOrchestrationStates(ctx, sp.InstanceQuery{
		CreatedTimeFrom: q.LastOperationFrom, CreatedTimeTo: q.LastOperationTo, InstanceIDPrefix: prefix,
		PageSize: q.PageSize, ContinuationToken: q.ContinuationToken, FetchInputsAndOutputs: true,
	})
	if err != nil {
		return nil, fmt.Errorf("durableclient: listing entities of task hub %q: %w", c.hub.Name(), err)
	}
	page := &bindings.EntityPage{Entities: []*bindings.EntityStatus{}, ContinuationToken: res.ContinuationToken}
	for _, st := range res.States {
		id, err := entitywire.Parse(st.InstanceID)
		if err != nil {
			continue
		}
		s, err := entitywire.DecodeState(st.Input)
		if err != nil || (s.State == nil && !q.IncludeDeleted) {
			continue
		}
		es := &bindings.EntityStatus{ID: bindings.EntityID{Name: id.Name, Key: id.Key}, LastOperationTime: st.CreatedTime}
		if q.FetchState && s.State != nil {
			es.State = []byte(*s.State)
		}
		page.Entities = append(page.Entities, es)
	}
	return page, nil
}

// CleanEntityStorage scans all entities: it purges those with no state,
// no lock and no queued operation (removeEmptyEntities), and releases
// locks whose holder is no longer running (releaseOrphanedLocks), as
// Durable Functions' CleanEntityStorageAsync does.
func (c *Client) CleanEntityStorage(ctx context.Context, removeEmpty, releaseOrphaned bool) (bindings.CleanEntityStorageResult, error) {
	var res bindings.CleanEntityStorageResult
	token := ""
	for {
		page, err := c.hub.QueryOrchestrationStates(ctx, sp.InstanceQuery{InstanceIDPrefix: "@", ContinuationToken: token, FetchInputsAndOutputs: true})
		if err != nil {
			return res, fmt.Errorf("durableclient: cleaning entity storage of task hub %q: %w", c.hub.Name(), err)
		}
		for _, st := range page.States {
			if err := c.cleanOne(ctx, st, removeEmpty, releaseOrphaned, &res); err != nil {
				return res, err
			}
		}
		token = page.ContinuationToken
		if token == "" {
			return res, nil
		}
	}
}

func (c *Client) cleanOne(ctx context.Context, st *sp.OrchestrationState, removeEmpty, releaseOrphaned bool, res *bindings.CleanEntityStorageResult) error {
	s, err := entitywire.DecodeState(st.Input)
	if err != nil {
		return nil // not ours to repair
	}
	if releaseOrphaned && s.LockedBy != "" {
		owner, err := c.hub.GetOrchestrationState(ctx, s.LockedBy, false)
		if err != nil || owner.RuntimeStatus.IsTerminal() {
			rel := entitywire.Marshal(&entitywire.Release{Parent: s.LockedBy, ID: entitywire.OrphanedLockID})
			msg := &sp.TaskMessage{Target: sp.OrchestrationInstance{InstanceID: st.InstanceID},
				Event: sp.NewEventRaisedEvent(c.timestamp(), entitywire.EventRelease, rel)}
			if err := c.hub.SendTaskMessages(ctx, msg); err != nil {
				return fmt.Errorf("durableclient: releasing the orphaned lock of entity %s: %w", st.InstanceID, err)
			}
			res.OrphanedLocksRemoved++
		}
		return nil
	}
	if removeEmpty && s.State == nil && s.LockedBy == "" && len(s.Queue) == 0 {
		if err := c.hub.PurgeInstance(ctx, st.InstanceID); err != nil {
			return fmt.Errorf("durableclient: removing empty entity %s: %w", st.InstanceID, err)
		}
		res.EmptyEntitiesRemoved++
	}
	return nil
}
