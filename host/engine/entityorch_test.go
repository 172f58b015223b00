package engine

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/internal/entitywire"
	"github.com/funchost/funchost/internal/payload"
	sp "github.com/funchost/funchost/storageprovider"
)

// testAccount is the bank-transfer tests' entity.
type testAccount struct {
	Balance int `json:"balance"`
}

func (a *testAccount) Deposit(n int) { a.Balance += n }
func (a *testAccount) Get() int      { return a.Balance }
func (a *testAccount) Withdraw(n int) error {
	if n > a.Balance {
		return fmt.Errorf("insufficient funds: %d < %d", a.Balance, n)
	}
	a.Balance -= n
	return nil
}

type transferInput struct {
	From, To string
	Amount   int
	Times    int
}

// transfer moves Amount from one account to the other Times times, each
// in a critical section over both accounts.
func transfer(ctx bindings.OrchestrationContext) (any, error) {
	var in transferInput
	if err := ctx.Input(&in); err != nil {
		return nil, err
	}
	from, to := bindings.NewEntityID("account", in.From), bindings.NewEntityID("account", in.To)
	moved := 0
	for i := 0; i < in.Times; i++ {
		unlock, err := bindings.LockEntities(ctx, from, to)
		if err != nil {
			return nil, err
		}
		if locked, avail := ctx.IsLocked(); !locked || len(avail) != 2 {
			return nil, fmt.Errorf("IsLocked = %v %v inside the critical section", locked, avail)
		}
		bal, err := bindings.CallEntity[int](ctx, from, "get", nil)
		if err != nil {
			return nil, err
		}
		if bal >= in.Amount {
			if _, err := bindings.CallEntity[any](ctx, from, "withdraw", in.Amount); err != nil {
				return nil, err
			}
			if _, err := bindings.CallEntity[any](ctx, to, "deposit", in.Amount); err != nil {
				return nil, err
			}
			moved++
		}
		unlock()
	}
	return moved, nil
}

// entityCalls exercises calls, failures, signals and the misuse rules.
func entityCalls(ctx bindings.OrchestrationContext) (any, error) {
	c := bindings.NewEntityID("counter", "orch")
	var report []string
	if _, err := bindings.CallEntity[int](ctx, c, "add", 5); err != nil {
		return nil, err
	}
	ctx.SignalEntity(c, "add", 2)
	v, err := bindings.CallEntity[int](ctx, c, "get", nil)
	report = append(report, fmt.Sprintf("get=%d", v))
	_, err = bindings.CallEntity[int](ctx, c, "boom", nil)
	var oe *bindings.EntityOperationError
	report = append(report, fmt.Sprintf("boom=%v", errors.As(err, &oe) && oe.Message == "boom"))
	other := bindings.NewEntityID("counter", "other")
	unlock, err := bindings.LockEntities(ctx, c)
	if err != nil {
		return nil, err
	}
	_, err = bindings.CallEntity[int](ctx, other, "get", nil)
	report = append(report, fmt.Sprintf("unlocked call: %v", err))
	err = ctx.LockEntities(other).Await(nil)
	report = append(report, fmt.Sprintf("nested: %v", err))
	err = ctx.CallSubOrchestrator("Sequence", nil).Await(nil)
	report = append(report, fmt.Sprintf("sub: %v", err))
	t1, t2 := ctx.CallEntity(c, "get", nil), ctx.CallEntity(c, "get", nil)
	report = append(report, fmt.Sprintf("second pending: %v", t2.Await(nil)))
	_ = t1.Await(nil)
	unlock()
	// Returning while holding a lock releases it.
	if err := ctx.LockEntities(other).Await(nil); err != nil {
		return nil, err
	}
	return strings.Join(report, "; "), nil
}

func entityOrchRegistry() Registry {
	reg := entityRegistry()
	reg.Entities["account"] = bindings.EntityOf[testAccount]()
	reg.Orchestrators["Transfer"] = transfer
	reg.Orchestrators["EntityCalls"] = entityCalls
	reg.Orchestrators["Sequence"] = sequence
	return reg
}

func (h *harness) entityState(instanceID string) *entitywire.SchedulerState {
	h.t.Helper()
	st, err := h.hub.GetOrchestrationState(h.t.Context(), instanceID, true)
	if err != nil {
		h.t.Fatal(err)
	}
	s, err := entitywire.DecodeState(st.Input)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func TestEntityCallsFromOrchestrations(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			h := newHarness(t, m, entityOrchRegistry())
			id := h.start("EntityCalls", "", nil)
			st := h.waitDone(id)
			want := `"get=7; boom=true; unlocked call: CallEntity @counter@other \"get\": While holding locks, cannot call entities whose lock is not held.; ` +
				`nested: LockEntities: Must not enter another critical section from within a critical section.; ` +
				`sub: sub-orchestration Sequence: While holding locks, cannot call suborchestrators.; ` +
				`second pending: CallEntity @counter@orch \"get\": Must not call an entity from a critical section while a prior call to the same entity is still pending."`
			expectOutput(t, st, want)
			for _, e := range []string{"@counter@orch", "@counter@other"} {
				s := h.waitFor(e, "unlocked", func(st *sp.OrchestrationState) bool {
					s, _ := entitywire.DecodeState(st.Input)
					return s != nil && s.LockedBy == ""
				})
				if !strings.Contains(s.CustomStatus, "entityExists") && e == "@counter@orch" {
					t.Errorf("%s custom status %s", e, s.CustomStatus)
				}
			}
			hist, err := h.hub.GetOrchestrationHistory(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			sent := 0
			for _, ev := range hist {
				if ev.EventType == sp.EventEventSent {
					sent++
				}
			}
			// add, signal, get, boom, lock, get, release, lock, release: the
			// refused calls send nothing.
			if sent != 9 {
				t.Errorf("history has %d EventSent events, want 9", sent)
			}
		})
	}
}

// TestOppositeTransfersConserveTheTotal runs two orchestrations moving
// money in opposite directions between the same two accounts 50 times
// each: locks in entity-ID order keep them from deadlocking, and every
// transfer is atomic.
func TestOppositeTransfersConserveTheTotal(t *testing.T) {
	h := newHarness(t, modes[1], entityOrchRegistry())
	for _, k := range []string{"a", "b"} {
		in, _ := payload.Marshal(100)
		op := "deposit"
		h.send("@account@"+k, sp.NewEventRaisedEvent(h.w.clock.now(), entitywire.EventOp,
			entitywire.Marshal(&entitywire.Request{Op: &op, Signal: true, Input: in, ID: "seed-" + k})))
	}
	var wg sync.WaitGroup
	ids := []string{h.start("Transfer", "ab", transferInput{From: "a", To: "b", Amount: 7, Times: 50}),
		h.start("Transfer", "ba", transferInput{From: "b", To: "a", Amount: 5, Times: 50})}
	for _, id := range ids {
		wg.Add(1)
		go func() { defer wg.Done(); h.waitDone(id) }()
	}
	wg.Wait()
	total := 0
	for _, id := range ids {
		st, _ := h.hub.GetOrchestrationState(t.Context(), id, true)
		if st.RuntimeStatus != sp.StatusCompleted {
			t.Fatalf("%s ended %v: %s", id, st.RuntimeStatus, st.Output)
		}
	}
	for _, k := range []string{"a", "b"} {
		// The last releases may still be on their way.
		h.waitFor("@account@"+k, "unlocked", func(st *sp.OrchestrationState) bool {
			s, _ := entitywire.DecodeState(st.Input)
			return s != nil && s.LockedBy == ""
		})
		s := h.entityState("@account@" + k)
		var acct testAccount
		if err := payload.Unmarshal(*s.State, &acct); err != nil {
			t.Fatal(err)
		}
		if len(s.Queue) != 0 {
			t.Errorf("account %s has %d operations queued", k, len(s.Queue))
		}
		total += acct.Balance
	}
	if total != 200 {
		t.Fatalf("total = %d after the transfers, want 200", total)
	}
}
