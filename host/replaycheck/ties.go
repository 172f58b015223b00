package replaycheck

import (
	"math"

	"github.com/funchost/funchost/bindings"
	"github.com/funchost/funchost/host/engine"
	sp "github.com/funchost/funchost/storageprovider"
)

// maxReorders bounds the extra replays spent on one rebuilt history.
const maxReorders = 200

// replay replays h against orch. A rebuilt history (h.Approximate) does not
// know the order of decisions scheduled at one instant (tieGroups): when
// replay meets a problem at such a decision, the other orders the code
// may have made are tried, one swap at a time, and the one that gets
// furthest is kept — so an unchanged orchestrator replays clean, and a
// reordering within such a group is not reported (the note says so).
func (c *Checker) replay(orch bindings.Orchestrator, h History) (*engine.ReplayResult, error) {
	opts := engine.ReplayOptions{DefaultVersion: c.opts.DefaultVersion, Logger: c.opts.Logger, AnyTargetInstance: h.Approximate != ""}
	evs := h.Events
	res, err := engine.ReplayHistory(orch, evs, opts)
	if err != nil || h.Approximate == "" {
		return res, err
	}
	groups := tieGroups(evs)
	for budget := maxReorders; budget > 0; {
		k := problemAt(res)
		i, g := decisionIndex(evs, k), -1
		for n, gr := range groups {
			if i >= gr[0] && i < gr[0]+gr[1] {
				g = n
			}
		}
		if g < 0 {
			return res, nil
		}
		better := false
		for j := i + 1; j < groups[g][0]+groups[g][1] && budget > 0; j++ {
			budget--
			cand := swapDecisions(evs, i, j)
			r2, err := engine.ReplayHistory(orch, cand, opts)
			if err == nil && problemAt(r2) > k {
				evs, res, better = cand, r2, true
				break
			}
		}
		if !better {
			return res, nil
		}
	}
	return res, nil
}

// problemAt is the sequence number of the first problem of a replay that a
// different order of tied decisions could explain: the divergence, or the
// first call whose input differs (math.MaxInt when none).
func problemAt(res *engine.ReplayResult) int {
	at := math.MaxInt
	if res.Divergence != nil {
		at = res.Divergence.SequenceNumber
	}
	for _, d := range res.Matched {
		if d.SequenceNumber < at && (d.Kind == "CallActivity" || d.Kind == "CallSubOrchestrator") && !sameJSON(d.CodeInput, d.HistoryInput) {
			at = d.SequenceNumber
		}
	}
	return at
}

// decisionIndex is the index of the decision with sequence number k (-1
// when none).
func decisionIndex(evs []*sp.HistoryEvent, k int) int {
	for i, ev := range evs {
		if isDecision(ev.EventType) && ev.EventID == k {
			return i
		}
	}
	return -1
}

// swapDecisions returns a copy of evs with the decisions at i and j
// exchanged: their places, their sequence numbers and the completions'
// references to them.
func swapDecisions(evs []*sp.HistoryEvent, i, j int) []*sp.HistoryEvent {
	out := make([]*sp.HistoryEvent, len(evs))
	for n, ev := range evs {
		out[n] = ev.Clone()
	}
	a, b := out[i], out[j]
	ka, kb, fa, fb := a.EventID, b.EventID, family(a.EventType), family(b.EventType)
	out[i], out[j] = b, a
	a.EventID, b.EventID = kb, ka
	for _, ev := range out {
		if isDecision(ev.EventType) {
			continue
		}
		ref := &ev.TaskScheduledID
		if ev.EventType == sp.EventTimerFired {
			ref = &ev.TimerID
		}
		switch f := family(ev.EventType); {
		case f == 0:
		case f == fa && *ref == ka:
			*ref = kb
		case f == fb && *ref == kb:
			*ref = ka
		}
	}
	return out
}
