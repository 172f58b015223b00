package engine

import (
	"testing"
	"time"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/durableclient"
	"github.com/funchost/funchost/internal/entitywire"
	sp "github.com/funchost/funchost/storageprovider"
)

// lockAndWait locks the counter "held" and waits for an event that never
// comes: terminated, it leaves the lock orphaned.
func lockAndWait(ctx bindings.OrchestrationContext) (any, error) {
	if err := ctx.LockEntities(bindings.NewEntityID("counter", "held")).Await(nil); err != nil {
		return nil, err
	}
	return nil, ctx.WaitForExternalEvent("never").Await(nil)
}

// TestCleanEntityStorage releases a lock whose holder was terminated and
// removes an entity without state, through the durable client.
func TestCleanEntityStorage(t *testing.T) {
	reg := entityRegistry()
	reg.Orchestrators["LockAndWait"] = lockAndWait
	h := newHarness(t, modes[0], reg)
	c := durableclient.New(durableclient.Options{Hub: h.hub})
	locked := func(st *sp.OrchestrationState) bool {
		s, _ := entitywire.DecodeState(st.Input)
		return s != nil && s.LockedBy != ""
	}
	id := h.start("LockAndWait", "", nil)
	h.waitFor("@counter@held", "locked", locked)
	h.signal("held", "add", "", 5, time.Time{}) // waits behind the lock
	if err := c.Terminate(t.Context(), id, "gone"); err != nil {
		t.Fatal(err)
	}
	h.waitStatus(id, sp.StatusTerminated)
	h.signal("empty", "delete", "", nil, time.Time{})
	h.waitFor("@counter@empty", "created", func(*sp.OrchestrationState) bool { return true })

	res, err := c.CleanEntityStorage(t.Context(), true, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.OrphanedLocksRemoved != 1 || res.EmptyEntitiesRemoved != 1 {
		t.Fatalf("CleanEntityStorage = %+v, want one lock released and one empty entity removed", res)
	}
	// Released, the queued signal runs.
	got := h.counterState("held", func(c testCounter, _ bool) bool { return c.Ops == 1 })
	if got.Value != 5 {
		t.Fatalf("held = %+v after the release", got)
	}
	if _, err := h.hub.GetOrchestrationState(t.Context(), "@counter@empty", false); err == nil {
		t.Fatal("the empty entity is still stored")
	}
}
