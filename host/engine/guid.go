package engine

import (
	"encoding/hex"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// GUIDNamespace is the UUIDv5 namespace of NewGUID: the one the Durable
// Functions in-process extension uses, so that GUIDs match DF's for the same
// instance, time and counter.
var GUIDNamespace = uuid.MustParse("9e952959-5e33-4daf-827f-2fa12937b875")

// dotNetRoundTrip is .NET's "o" format for a UTC DateTime: always seven
// fractional digits.
const dotNetRoundTrip = "2006-01-02T15:04:05.0000000Z"

// DeterministicGUID returns the version-5 UUID Durable Functions computes
// for the counter-th NewGuid call of an orchestration at time now.
func DeterministicGUID(instanceID string, now time.Time, counter int) string {
	name := instanceID + "_" + now.UTC().Format(dotNetRoundTrip) + "_" + strconv.Itoa(counter)
	return uuid.NewSHA1(GUIDNamespace, []byte(name)).String()
}

// newExecutionID returns a fresh random GUID in "N" format (32 hex chars).
func newExecutionID() string {
	u := uuid.New()
	return hex.EncodeToString(u[:])
}

// stableGUID is the ID the engine itself gives a call it starts (a
// sub-orchestration without WithInstanceID, an entity request): a
// version-5 UUID over the instance, its execution and the call's action id.
// Unlike NewGUID it does not depend on the episode's time, so an episode
// run again after a crash between sending its messages and committing its
// history (docs/replay.md, "IDs the engine chooses") chooses the same IDs,
// and what the first attempt sent is recognised as a duplicate instead of
// starting a second child or applying an entity operation twice.
func stableGUID(instanceID, executionID string, actionID int) string {
	name := instanceID + "_" + executionID + "_" + strconv.Itoa(actionID)
	return uuid.NewSHA1(GUIDNamespace, []byte(name)).String()
}

// nextExecutionID is the execution ID of the generation a ContinueAsNew
// of execution executionID begins: derived, not random, for the same
// reason as stableGUID.
func nextExecutionID(instanceID, executionID string) string {
	u := uuid.NewSHA1(GUIDNamespace, []byte(instanceID+"_"+executionID+"_continueAsNew"))
	return hex.EncodeToString(u[:])
}
