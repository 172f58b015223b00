package timer

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Status is the schedule monitor's record of one timer, stored as the
// Functions host stores its ScheduleStatus, so that a host restart (or
// another host taking over) knows whether an occurrence was missed.
type Status struct {
	// Last is the last invocation's time (the zero time if never run).
	Last time.Time
	// Next is the next occurrence computed from Last.
	Next time.Time
	// LastUpdated is when Next was computed.
	LastUpdated time.Time
}

// dotnetTime is .NET's round-trip DateTimeOffset text as Newtonsoft writes
// it: up to seven fraction digits, trailing zeros dropped, and a numeric
// offset ("+00:00", never "Z").
const dotnetTime = "2006-01-02T15:04:05.9999999-07:00"

// MarshalJSON writes {"Last":…,"Next":…,"LastUpdated":…} with the times in
// the host's format; the zero time is .NET's DateTimeOffset.MinValue.
func (s Status) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct{ Last, Next, LastUpdated string }{
		formatTime(s.Last), formatTime(s.Next), formatTime(s.LastUpdated),
	})
}

// UnmarshalJSON reads the host's format (keys in any case).
func (s *Status) UnmarshalJSON(data []byte) error {
	var raw struct{ Last, Next, LastUpdated string }
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	var err error
	if s.Last, err = parseTime(raw.Last); err != nil {
		return fmt.Errorf("Last: %w", err)
	}
	if s.Next, err = parseTime(raw.Next); err != nil {
		return fmt.Errorf("Next: %w", err)
	}
	if s.LastUpdated, err = parseTime(raw.LastUpdated); err != nil {
		return fmt.Errorf("LastUpdated: %w", err)
	}
	return nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00+00:00"
	}
	return t.Format(dotnetTime)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	if t.Year() == 1 && t.YearDay() == 1 && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return time.Time{}, nil // DateTimeOffset.MinValue: never run
	}
	return t, nil
}

// String formats the status as the host's start-up log does.
func (s Status) String() string {
	return fmt.Sprintf("Last='%s', Next='%s', LastUpdated='%s'", formatTime(s.Last), formatTime(s.Next), formatTime(s.LastUpdated))
}

// StatusStore persists timer statuses by timer name.
type StatusStore interface {
	// Get returns the stored status, or nil when there is none.
	Get(ctx context.Context, timer string) (*Status, error)
	// Put stores the status.
	Put(ctx context.Context, timer string, s Status) error
}

// MemoryStore is a StatusStore for one process (the in-memory provider's
// apps and tests). The zero value is ready to use.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string]Status
}

// Get implements StatusStore.
func (m *MemoryStore) Get(_ context.Context, timer string) (*Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[timer]
	if !ok {
		return nil, nil
	}
	return &s, nil
}

// Put implements StatusStore.
func (m *MemoryStore) Put(_ context.Context, timer string, s Status) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]Status{}
	}
	m.m[timer] = s
	return nil
}
