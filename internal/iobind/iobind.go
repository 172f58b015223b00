// Package iobind carries one invocation's storage input and output
// bindings on a context.Context: the host attaches them, and package
// bindings' accessors (AddQueueMessage, SetBlob, Blob) reach them, so that
// bindings need not import the host.
package iobind

import "context"

// Values are an invocation's storage-binding values, by binding name.
type Values interface {
	// AddQueue adds one message to a queue output binding.
	AddQueue(binding string, v any) error
	// SetQueue sets a queue output binding from a return-style value (a
	// slice yields one message per element).
	SetQueue(binding string, v any) error
	// SetBlob sets a blob output binding's content.
	SetBlob(binding string, v any) error
	// Blob returns a blob input binding's content; found is false for a
	// missing blob.
	Blob(binding string) (data []byte, found bool, err error)
}

type key struct{}

// With returns a context carrying v.
func With(ctx context.Context, v Values) context.Context { return context.WithValue(ctx, key{}, v) }

// From returns the values carried by ctx, or nil.
func From(ctx context.Context) Values {
	v, _ := ctx.Value(key{}).(Values)
	return v
}
