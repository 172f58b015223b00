package storageprovider

import (
	"strings"
	"time"
)

// DeliveryTime returns when a message may be delivered (zero: at once): a
// fired timer at FireAt, a delayed start at ScheduledStartTime, and a
// scheduled entity signal (an EventRaised event named "op@<time>", as
// Durable Functions names them) at the time in its name. Providers hold
// messages back until then.
func DeliveryTime(m *TaskMessage) time.Time {
	if m == nil || m.Event == nil {
		return time.Time{}
	}
	switch m.Event.EventType {
	case EventTimerFired:
		return m.Event.FireAt
	case EventExecutionStarted:
		if m.Event.ScheduledStartTime != nil {
			return *m.Event.ScheduledStartTime
		}
	case EventEventRaised:
		if rest, ok := strings.CutPrefix(m.Event.Name, "op@"); ok {
			if t, err := time.Parse(time.RFC3339Nano, rest); err == nil {
				return t.UTC()
			}
		}
	}
	return time.Time{}
}
