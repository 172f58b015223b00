package durableclient

import (
	"errors"

	"github.com/funchost/funchost/bindings"
	sp "github.com/funchost/funchost/storageprovider"
)

// authorErrors pairs the task hub's sentinel errors with the author API's
// for the same condition.
var authorErrors = [...]struct{ storage, author error }{
	{sp.ErrInstanceExists, bindings.ErrInstanceExists},
	{sp.ErrInstanceNotFound, bindings.ErrInstanceNotFound},
}

// hubError is a task hub error that also matches the bindings error of the
// same condition, so that callers of the client can test with either
// errors.Is(err, bindings.ErrInstanceExists) or the storageprovider one.
// Its text is the task hub's.
type hubError struct{ err, author error }

func (e *hubError) Error() string   { return e.err.Error() }
func (e *hubError) Unwrap() []error { return []error{e.err, e.author} }

// fromHub maps an error returned by the task hub (nil stays nil).
func fromHub(err error) error {
	if err == nil {
		return nil
	}
	for _, p := range authorErrors {
		if errors.Is(err, p.storage) {
			return &hubError{err: err, author: p.author}
		}
	}
	return err
}
