// Package invocation carries one function invocation's description and
// input-binding values on a context.Context: the HTTP server attaches it to
// each request, and package bindings reads it for bindings.Client,
// bindings.RouteValue and bindings.InvocationFrom.
//
// The type parameter C is the durable client type (bindings.DurableClient);
// it is a parameter only so that this package need not import bindings,
// which imports it.
package invocation

import "context"

// Invocation describes one function invocation.
type Invocation[C any] struct {
	// FunctionName is the invoked function.
	FunctionName string
	// InvocationID identifies this invocation in logs.
	InvocationID string
	// RouteValues holds the route template's parameters (an absent
	// optional parameter is missing from the map).
	RouteValues map[string]string
	// Clients are the durable clients declared in function.json, in
	// declaration order.
	Clients []Client[C]
}

// Client is one durable-client binding's value.
type Client[C any] struct {
	// Name is the binding's name in function.json.
	Name   string
	Client C
}

// key is the context key of an Invocation[C]; each C has its own.
type key[C any] struct{}

// With returns a context carrying inv.
func With[C any](ctx context.Context, inv *Invocation[C]) context.Context {
	return context.WithValue(ctx, key[C]{}, inv)
}

// From returns the invocation carried by ctx, or nil.
func From[C any](ctx context.Context) *Invocation[C] {
	inv, _ := ctx.Value(key[C]{}).(*Invocation[C])
	return inv
}

// ClientNamed returns the client of the named binding and whether there is
// one.
func (inv *Invocation[C]) ClientNamed(name string) (C, bool) {
	for _, c := range inv.Clients {
		if c.Name == name {
			return c.Client, true
		}
	}
	var zero C
	return zero, false
}
