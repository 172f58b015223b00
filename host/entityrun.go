package host

import (
	"context"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/functions"
)

// wrapEntities runs every entity operation through the runner, as
// activities are: invocation logs, the function's durable clients and
// storage bindings in its context, and functionTimeout. A failing or
// timed-out operation fails alone (docs/entities.md).
func wrapEntities(r *runner, fns []*functions.Function) {
	for _, f := range fns {
		if f.Def.Kind != functions.KindEntity {
			continue
		}
		inner := f.Entity
		f.Entity = func(ectx bindings.EntityContext) error {
			return r.run(ectx, f, "EntityOperation:"+ectx.Operation(), nil, func(ctx context.Context) error {
				return inner(entityContext{EntityContext: ectx, ctx: ctx})
			})
		}
	}
}

// entityContext is an operation's context with the runner's context in
// place of the engine's.
type entityContext struct {
	bindings.EntityContext
	ctx context.Context
}

func (e entityContext) Deadline() (time.Time, bool) { return e.ctx.Deadline() }
func (e entityContext) Done() <-chan struct{}       { return e.ctx.Done() }
func (e entityContext) Err() error                  { return e.ctx.Err() }
func (e entityContext) Value(key any) any           { return e.ctx.Value(key) }
