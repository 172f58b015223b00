package bindings

import "fmt"

// EntityOperationError is the error of a CallEntity whose operation
// failed (returned an error or panicked). Use errors.As to inspect it.
type EntityOperationError struct {
	Entity    EntityID
	Operation string
	// ErrorType is the failing error's type (%T for Go entities, "panic"
	// for panics).
	ErrorType string
	Message   string
}

func (e *EntityOperationError) Error() string {
	return fmt.Sprintf("entity %s: operation %q failed: %s", e.Entity, e.Operation, e.Message)
}

// CallEntity runs an operation on an entity from an orchestration and
// decodes its result as T.
func CallEntity[T any](ctx OrchestrationContext, id EntityID, operation string, input any) (T, error) {
	return Await[T](ctx.CallEntity(id, operation, input))
}

// LockEntities enters a critical section on the given entities and
// returns the function that leaves it (also left automatically when the
// orchestration completes, fails or continues as new):
//
//	unlock, err := bindings.LockEntities(ctx, from, to)
//	if err != nil {
//		return nil, err
//	}
//	defer unlock()
func LockEntities(ctx OrchestrationContext, ids ...EntityID) (unlock func(), err error) {
	if err := ctx.LockEntities(ids...).Await(nil); err != nil {
		return func() {}, err
	}
	return ctx.UnlockEntities, nil
}
