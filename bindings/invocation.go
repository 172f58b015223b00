package bindings

import (
	"context"
	"net/http"
)

// Invocation describes one function invocation and carries the values of
// its input bindings. The host attaches it to the request context of HTTP
// functions.
type Invocation struct {
	// FunctionName is the invoked function.
	FunctionName string
	// InvocationID identifies this invocation in logs.
	InvocationID string
	// RouteValues holds the route template's parameters (an absent optional
	// parameter is missing from the map).
	RouteValues map[string]string
	// Clients holds the durable clients declared in function.json, by
	// binding name.
	Clients map[string]DurableClient
	// ClientOrder lists the durable-client binding names in declaration
	// order.
	ClientOrder []string
}

type invocationKey struct{}

// WithInvocation returns a context carrying inv.
func WithInvocation(ctx context.Context, inv *Invocation) context.Context {
	return context.WithValue(ctx, invocationKey{}, inv)
}

// InvocationFrom returns the invocation carried by ctx, or nil.
func InvocationFrom(ctx context.Context) *Invocation {
	inv, _ := ctx.Value(invocationKey{}).(*Invocation)
	return inv
}

// Client returns the durable client bound to the HTTP function serving r:
// the first orchestrationClient/durableClient binding of its function.json,
// or nil when it declares none.
func Client(r *http.Request) DurableClient {
	inv := InvocationFrom(r.Context())
	if inv == nil || len(inv.ClientOrder) == 0 {
		return nil
	}
	return inv.Clients[inv.ClientOrder[0]]
}

// ClientNamed returns the durable client whose binding has the given name,
// or nil.
func ClientNamed(r *http.Request, bindingName string) DurableClient {
	inv := InvocationFrom(r.Context())
	if inv == nil {
		return nil
	}
	return inv.Clients[bindingName]
}

// RouteValue returns the value of a route template parameter ("" when
// absent).
func RouteValue(r *http.Request, name string) string {
	inv := InvocationFrom(r.Context())
	if inv == nil {
		return ""
	}
	return inv.RouteValues[name]
}
