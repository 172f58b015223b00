package bindings

import (
	"context"
	"maps"
	"net/http"

	"github.com/funchost/funchost/internal/invocation"
)

// Invocation describes the function invocation serving a request.
type Invocation struct {
	// FunctionName is the invoked function.
	FunctionName string
	// InvocationID identifies this invocation in the host's logs.
	InvocationID string
	// RouteValues holds the route template's parameters (an absent optional
	// parameter is missing from the map).
	RouteValues map[string]string
}

// InvocationFrom describes the invocation whose request context is ctx; ok
// is false outside a function invocation.
func InvocationFrom(ctx context.Context) (inv Invocation, ok bool) {
	in := invocation.From[DurableClient](ctx)
	if in == nil {
		return Invocation{}, false
	}
	return Invocation{FunctionName: in.FunctionName, InvocationID: in.InvocationID, RouteValues: maps.Clone(in.RouteValues)}, true
}

// Client returns the durable client bound to the HTTP function serving r:
// the first orchestrationClient/durableClient binding of its function.json,
// or nil when it declares none.
func Client(r *http.Request) DurableClient {
	inv := invocation.From[DurableClient](r.Context())
	if inv == nil || len(inv.Clients) == 0 {
		return nil
	}
	return inv.Clients[0].Client
}

// ClientNamed returns the durable client whose binding has the given name,
// or nil.
func ClientNamed(r *http.Request, bindingName string) DurableClient {
	inv := invocation.From[DurableClient](r.Context())
	if inv == nil {
		return nil
	}
	c, _ := inv.ClientNamed(bindingName)
	return c
}

// RouteValue returns the value of a route template parameter ("" when
// absent).
func RouteValue(r *http.Request, name string) string {
	inv := invocation.From[DurableClient](r.Context())
	if inv == nil {
		return ""
	}
	return inv.RouteValues[name]
}
