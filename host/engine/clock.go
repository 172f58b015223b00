package engine

import (
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// clock is the engine's one source of the time it records (see
// Options.Clock); nil is the wall clock. Every reading is truncated to the
// task hub's precision (100 ns), so that what the engine computes from a
// time — CurrentUTCDateTime, NewGUID — is the same before and after the
// time round-trips through storage.
type clock func() time.Time

func (c clock) now() time.Time {
	if c == nil {
		return sp.Now()
	}
	return sp.Timestamp(c())
}
