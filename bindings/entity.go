package bindings

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/funchost/funchost/internal/options"
	"github.com/funchost/funchost/internal/payload"
)

// Entity is the Go shape of an entityTrigger function: it runs one
// operation on one entity. Returning an error fails the operation: the
// state changes and signals the operation made are discarded, and a caller
// waiting for the result (CallEntity) gets the error. A panic counts as an
// error. Most entities are written with EntityOf instead of by hand.
type Entity func(ctx EntityContext) error

// EntityID names a durable entity: the entity function's name and a key
// naming one instance of it. Names are case-insensitive (stored lower
// case), keys are case-sensitive.
type EntityID struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// NewEntityID returns the ID of the entity name (lower-cased, as Durable
// Functions does) with key.
func NewEntityID(name, key string) EntityID { return EntityID{Name: strings.ToLower(name), Key: key} }

// String returns the entity's instance ID, "@name@key", under which the
// task hub stores it.
func (id EntityID) String() string { return "@" + strings.ToLower(id.Name) + "@" + id.Key }

// ErrInvalidEntityID: an entity name is empty or a key contains '/', '\',
// '#', '?' or a control character.
var ErrInvalidEntityID = errors.New("invalid entity ID")

// ErrUnknownEntity: no entity function has that name.
var ErrUnknownEntity = errors.New("unknown entity function")

// ValidateEntityID checks id as Durable Functions' clients do.
func ValidateEntityID(id EntityID) error {
	if strings.TrimSpace(id.Name) == "" {
		return fmt.Errorf("%w: the entity name must not be empty", ErrInvalidEntityID)
	}
	if strings.Contains(id.Name, "@") {
		return fmt.Errorf("%w: the entity name %q must not contain '@'", ErrInvalidEntityID, id.Name)
	}
	for _, r := range id.Key {
		if r == '/' || r == '\\' || r == '#' || r == '?' || r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return fmt.Errorf("%w: entity keys must not contain /, \\, #, ?, or control characters (key %q)", ErrInvalidEntityID, id.Key)
		}
	}
	return nil
}

// EntityContext is an entity function's view of one operation. State is
// the entity's committed state as changed by the operations before this one
// in the batch; changes become durable when the batch commits. The
// embedded context.Context is cancelled when the host shuts down.
type EntityContext interface {
	context.Context
	// ID returns the entity's ID.
	ID() EntityID
	// Operation returns the operation name as the caller wrote it.
	Operation() string
	// HasInput reports whether the operation has an input.
	HasInput() bool
	// Input decodes the operation's JSON input into v (v is left as it is
	// when there is none).
	Input(v any) error
	// HasState reports whether the entity has state.
	HasState() bool
	// State decodes the entity's state into v; without state v is left as
	// it is, so pre-filling v is the state's initializer.
	State(v any) error
	// SetState replaces the entity's state with v (JSON-serialisable).
	SetState(v any) error
	// DeleteState removes the entity's state: the entity no longer exists
	// for readers.
	DeleteState()
	// Return sets the operation's result (JSON-serialisable), which a
	// caller of CallEntity receives.
	Return(v any)
	// SignalEntity sends a one-way operation to an entity when this
	// operation succeeds. It takes the option WithScheduledTime.
	SignalEntity(id EntityID, operation string, input any, opts ...Option) error
	// StartNewOrchestration starts an orchestration when this operation
	// succeeds and returns its instance ID (random unless WithInstanceID
	// is given). It takes the options WithInstanceID and WithVersion.
	StartNewOrchestration(name string, input any, opts ...Option) (string, error)
	// BatchSize and BatchPosition tell where the operation sits in the
	// batch being run.
	BatchSize() int
	BatchPosition() int
}

// WithScheduledTime delays a signal (SignalEntity of a client,
// orchestration or entity) until t: the entity runs the operation not
// before t.
func WithScheduledTime(t time.Time) Option {
	return func(s *options.Settings) { s.ScheduledTime, s.Applied = t, s.Applied|options.FieldScheduledTime }
}

// GetEntityState returns the entity's state decoded as T, or init()'s
// value (T's zero value when init is nil) when it has none.
func GetEntityState[T any](ctx EntityContext, init func() T) (T, error) {
	var v T
	if !ctx.HasState() && init != nil {
		return init(), nil
	}
	err := ctx.State(&v)
	return v, err
}

// GetEntityInput returns the operation's input decoded as T.
func GetEntityInput[T any](ctx EntityContext) (T, error) {
	var v T
	err := ctx.Input(&v)
	return v, err
}

// EntityState is the state of an entity as a client reads it: Exists is
// false when the entity has never been given state or its state was
// deleted; State is the last committed state as JSON.
type EntityState struct {
	Exists bool
	State  []byte
}

// EntityQuery filters ListEntities. Zero values do not filter.
type EntityQuery struct {
	// Name restricts the list to one entity function (case-insensitive).
	Name string
	// LastOperationFrom and LastOperationTo bound the time of the last
	// operation batch (LastOperationTo zero: now).
	LastOperationFrom, LastOperationTo time.Time
	// PageSize bounds one page (0: 100).
	PageSize          int
	ContinuationToken string
	// FetchState includes the state of each entity.
	FetchState bool
	// IncludeDeleted lists entities without state too.
	IncludeDeleted bool
}

// EntityStatus is one entity of a ListEntities page.
type EntityStatus struct {
	ID                EntityID
	LastOperationTime time.Time
	// State is the entity's state as JSON (nil unless fetched or absent).
	State []byte
}

// EntityPage is one page of ListEntities; ContinuationToken is "" on the
// last page.
type EntityPage struct {
	Entities          []*EntityStatus
	ContinuationToken string
}

// CleanEntityStorageResult counts what CleanEntityStorage removed.
type CleanEntityStorageResult struct {
	EmptyEntitiesRemoved int
	OrphanedLocksRemoved int
}

// EntityClient signals entities and reads their state: the entity side of
// the durable client binding. The host's durable clients implement it;
// get one with EntityClientOf.
type EntityClient interface {
	// SignalEntity sends a one-way operation to an entity; it takes the
	// option WithScheduledTime. An invalid ID gives ErrInvalidEntityID,
	// an unknown entity function ErrUnknownEntity.
	SignalEntity(ctx context.Context, id EntityID, operation string, input any, opts ...Option) error
	// ReadEntityState returns the entity's last committed state.
	ReadEntityState(ctx context.Context, id EntityID) (EntityState, error)
	// ListEntities returns one page of entities matching q.
	ListEntities(ctx context.Context, q EntityQuery) (*EntityPage, error)
	// CleanEntityStorage removes entities without state, lock or queued
	// operations, and releases locks held by orchestrations that are no
	// longer running.
	CleanEntityStorage(ctx context.Context, removeEmptyEntities, releaseOrphanedLocks bool) (CleanEntityStorageResult, error)
}

// EntityClientOf returns the entity client of a durable client, or nil
// when the client does not serve entities.
func EntityClientOf(c DurableClient) EntityClient {
	ec, _ := c.(EntityClient)
	return ec
}

// ReadEntityState reads an entity's state through a durable client and
// decodes it as T; exists is false (and T zero) when it has none.
func ReadEntityState[T any](ctx context.Context, c DurableClient, id EntityID) (v T, exists bool, err error) {
	ec := EntityClientOf(c)
	if ec == nil {
		return v, false, fmt.Errorf("read entity %s: the durable client %T does not serve entities", id, c)
	}
	st, err := ec.ReadEntityState(ctx, id)
	if err != nil || !st.Exists {
		return v, false, err
	}
	if err := payload.Unmarshal(string(st.State), &v); err != nil {
		return v, true, fmt.Errorf("read entity %s: decoding state: %w", id, err)
	}
	return v, true, nil
}
