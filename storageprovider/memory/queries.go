package memory

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// QueryOrchestrationStates lists matching status rows ordered by
// CreatedTime, then instance ID. The continuation token is the position
// after the last row returned, so rows created meanwhile do not shift
// pages.
func (h *TaskHub) QueryOrchestrationStates(ctx context.Context, q sp.InstanceQuery) (*sp.InstanceQueryResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var after *queryKey
	if q.ContinuationToken != "" {
		k, err := parseToken(q.ContinuationToken)
		if err != nil {
			return nil, err
		}
		after = &k
	}
	size := q.PageSize
	if size <= 0 {
		size = defaultPageSize
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var rows []*sp.OrchestrationState
	for _, inst := range h.instances {
		s := inst.state
		if s == nil || !matches(s, q.CreatedTimeFrom, q.CreatedTimeTo, q.RuntimeStatus) ||
			!strings.HasPrefix(s.InstanceID, q.InstanceIDPrefix) {
			continue
		}
		if after != nil && !after.less(keyOf(s)) {
			continue
		}
		rows = append(rows, s)
	}
	slices.SortFunc(rows, func(a, b *sp.OrchestrationState) int { return keyOf(a).compare(keyOf(b)) })
	res := &sp.InstanceQueryResult{}
	if len(rows) > size {
		rows = rows[:size]
		res.ContinuationToken = keyOf(rows[size-1]).token()
	}
	res.States = make([]*sp.OrchestrationState, len(rows))
	for i, s := range rows {
		res.States[i] = stateCopy(s, q.FetchInputsAndOutputs)
	}
	return res, nil
}

// matches applies the creation-time (inclusive) and status filters.
func matches(s *sp.OrchestrationState, from, to time.Time, statuses []sp.OrchestrationStatus) bool {
	if !from.IsZero() && s.CreatedTime.Before(from) {
		return false
	}
	if !to.IsZero() && s.CreatedTime.After(to) {
		return false
	}
	return len(statuses) == 0 || slices.Contains(statuses, s.RuntimeStatus)
}

// queryKey is a row's position in query order.
type queryKey struct {
	created int64
	id      string
}

func keyOf(s *sp.OrchestrationState) queryKey {
	return queryKey{created: s.CreatedTime.UnixNano(), id: s.InstanceID}
}

func (k queryKey) compare(o queryKey) int {
	switch {
	case k.created < o.created:
		return -1
	case k.created > o.created:
		return 1
	}
	return strings.Compare(k.id, o.id)
}

func (k queryKey) less(o queryKey) bool { return k.compare(o) < 0 }

func (k queryKey) token() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(k.created, 10) + ":" + k.id))
}

func parseToken(tok string) (queryKey, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil {
		if ns, id, ok := strings.Cut(string(b), ":"); ok {
			if n, perr := strconv.ParseInt(ns, 10, 64); perr == nil {
				return queryKey{created: n, id: id}, nil
			}
		}
	}
	return queryKey{}, fmt.Errorf("memory task hub: %w: %q", sp.ErrInvalidContinuationToken, tok)
}

// PurgeInstances deletes the terminal instances matching f.
func (h *TaskHub) PurgeInstances(ctx context.Context, f sp.PurgeFilter) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	to := f.CreatedTimeTo
	if to.IsZero() {
		to = time.Now()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, inst := range h.instances {
		s := inst.state
		if s == nil || !s.RuntimeStatus.IsTerminal() || !matches(s, f.CreatedTimeFrom, to, f.RuntimeStatus) {
			continue
		}
		h.purgeLocked(inst)
		n++
	}
	return n, nil
}
