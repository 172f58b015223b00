package engine

import (
	"encoding/hex"
	"hash/fnv"
	"strings"
)

// maxRecentIDs is how many request IDs an entity remembers to recognise a
// request delivered twice (docs/entities.md: duplicates).
const maxRecentIDs = 512

// recentWidth is the width of one remembered ID: 48 bits of its FNV-1a
// hash in hex, so 512 of them fit in 6 KB of the scheduler state.
const recentWidth = 12

// recentIDs is the bounded, ordered set of recently accepted request IDs.
type recentIDs struct {
	order []string
	set   map[string]bool
}

func parseRecent(s string) *recentIDs {
	r := &recentIDs{set: map[string]bool{}}
	for len(s) >= recentWidth {
		h := s[:recentWidth]
		s = s[recentWidth:]
		r.order = append(r.order, h)
		r.set[h] = true
	}
	return r
}

// add records id; false means it was seen before.
func (r *recentIDs) add(id string) bool {
	f := fnv.New64a()
	f.Write([]byte(id))
	h := hex.EncodeToString(f.Sum(nil))[:recentWidth]
	if r.set[h] {
		return false
	}
	r.set[h] = true
	r.order = append(r.order, h)
	for len(r.order) > maxRecentIDs {
		delete(r.set, r.order[0])
		r.order = r.order[1:]
	}
	return true
}

func (r *recentIDs) String() string { return strings.Join(r.order, "") }
