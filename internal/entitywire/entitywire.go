// Package entitywire is the Durable Functions wire format of durable
// entities: instance IDs (@name@key), the event names and JSON messages
// that carry operations, lock requests, releases and responses, and the
// scheduler state and entity status an entity's status row holds. The
// engine writes and reads them; the durable client sends requests and reads
// state back. docs/entities.md describes the format and why each field is
// written the way it is.
package entitywire

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	sp "github.com/funchost/funchost/storageprovider"
)

// Event names of entity messages (EventRaised events).
const (
	// EventOp carries a Request; "op@<time>" is a scheduled one.
	EventOp = "op"
	// EventRelease carries a Release.
	EventRelease = "release"
	// EventContinue is what an entity sends itself to resume a batch that
	// was cut short.
	EventContinue = "continue"
	// LockGranted is the result text of a lock grant response.
	LockGranted = "Lock Acquisition Completed"
	// OrphanedLockID is the release ID the client's lock repair uses.
	OrphanedLockID = "fix-orphaned-lock"
)

// ID is an entity ID as it appears in JSON (lock sets, query results).
type ID struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// InstanceID returns the entity's instance ID: "@" + lower-case name + "@"
// + key.
func (id ID) InstanceID() string { return InstanceID(id.Name, id.Key) }

// InstanceID builds an entity instance ID; the name is lower-cased, as
// every Durable Functions SDK does, the key kept verbatim.
func InstanceID(name, key string) string { return "@" + strings.ToLower(name) + "@" + key }

// IsEntity reports whether an instance ID names an entity.
func IsEntity(instanceID string) bool { return strings.HasPrefix(instanceID, "@") }

// Parse splits an entity instance ID into name and key: the name runs from
// index 1 to the next '@', the key is the rest (it may contain '@').
func Parse(instanceID string) (ID, error) {
	if !IsEntity(instanceID) {
		return ID{}, fmt.Errorf("entity instance ID %q does not start with '@'", instanceID)
	}
	i := strings.IndexByte(instanceID[1:], '@')
	if i <= 0 {
		return ID{}, fmt.Errorf("entity instance ID %q is not of the form @name@key", instanceID)
	}
	return ID{Name: instanceID[1 : i+1], Key: instanceID[i+2:]}, nil
}

// EventName returns the event name a request travels under: "op", or for a
// scheduled one "op@" + the due time in .NET's round-trip format.
func EventName(due time.Time) string {
	if due.IsZero() {
		return EventOp
	}
	return EventOp + "@" + due.UTC().Format(dotNetRoundTrip)
}

// DueTime returns the delivery time a scheduled request's event name
// carries; ok is false for any other name.
func DueTime(eventName string) (time.Time, bool) {
	rest, found := strings.CutPrefix(eventName, EventOp+"@")
	if !found {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, rest)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// IsRequestEvent reports whether an event name carries a Request.
func IsRequestEvent(name string) bool { return strings.HasPrefix(name, EventOp) }

// dotNetRoundTrip is .NET's "o" format for a UTC DateTime.
const dotNetRoundTrip = "2006-01-02T15:04:05.0000000Z"

// dotNetMin is how Newtonsoft writes DateTime.MinValue.
const dotNetMin = "0001-01-01T00:00:00"

// Time is a DateTime as Newtonsoft writes it: seven fractional digits and
// "Z", or "0001-01-01T00:00:00" for the zero value.
type Time struct{ time.Time }

// MarshalJSON writes the .NET form.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return json.Marshal(dotNetMin)
	}
	return json.Marshal(t.UTC().Format(dotNetRoundTrip))
}

// UnmarshalJSON reads ISO timestamps with or without a zone (no zone is
// UTC) and null.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == nil || *s == "" || strings.HasPrefix(*s, "0001-01-01") {
		t.Time = time.Time{}
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999"} {
		if v, err := time.Parse(layout, *s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("entity message: bad timestamp %q", *s)
}

// Request is an operation call, a signal or a lock request. The field
// order is the one Durable Functions writes; the Azure Storage provider of
// DTFx scans for "id" right after "op", "signal" and "input".
type Request struct {
	// Op is the operation name; nil for a lock request.
	Op *string `json:"op"`
	// Signal marks a one-way operation (no response).
	Signal bool `json:"signal,omitempty"`
	// Input is the operation input as JSON text ("" for none).
	Input string `json:"input,omitempty"`
	// ID is the request ID, the response's event name.
	ID string `json:"id"`
	// Parent and ParentExecution name the sender; empty for clients.
	Parent          string `json:"parent,omitempty"`
	ParentExecution string `json:"parentExecution,omitempty"`
	// Due is a scheduled signal's delivery time.
	Due         *Time `json:"due,omitempty"`
	Timestamp   Time  `json:"Timestamp"`
	Predecessor Time  `json:"Predecessor"`
	// LockSet (sorted) and Pos make a lock request.
	LockSet []ID `json:"lockset,omitempty"`
	Pos     int  `json:"pos,omitempty"`
	// ParentTraceContext is the distributed-trace context of the
	// request's sender (Durable Functions' field of the same name): the
	// entity's operation span is its child (docs/observability.md).
	ParentTraceContext *sp.TraceContext `json:"parentTraceContext,omitempty"`
}

// IsLock reports whether r is a lock request.
func (r *Request) IsLock() bool { return r.Op == nil }

// Operation returns the operation name ("" for a lock request).
func (r *Request) Operation() string {
	if r.Op == nil {
		return ""
	}
	return *r.Op
}

// Response answers a request: an operation's result or error, or a lock
// grant.
type Response struct {
	// Result is the result as JSON text, or the error message.
	Result *string `json:"result"`
	// ExceptionType is set on errors (DTFx Core puts the message here).
	ExceptionType  string          `json:"exceptionType,omitempty"`
	FailureDetails *FailureDetails `json:"failureDetails,omitempty"`
}

// IsError reports whether the response is an error.
func (r *Response) IsError() bool { return r.ExceptionType != "" || r.FailureDetails != nil }

// FailureDetails is the DTFx failure object of an error response.
type FailureDetails struct {
	ErrorType    string `json:"ErrorType"`
	ErrorMessage string `json:"ErrorMessage"`
	StackTrace   string `json:"StackTrace,omitempty"`
}

// Release ends a critical section at one entity.
type Release struct {
	Parent string `json:"parent"`
	ID     string `json:"id"`
}

// SchedulerState is an entity's persisted state: the ExecutionStarted input
// of its current execution and the status row's Input.
type SchedulerState struct {
	// Exists is written for readers of the classic layout; on read the
	// entity exists when State is set.
	Exists    bool            `json:"exists,omitempty"`
	State     *string         `json:"state,omitempty"`
	Queue     []*Request      `json:"queue,omitempty"`
	LockedBy  string          `json:"lockedBy,omitempty"`
	Suspended bool            `json:"suspended,omitempty"`
	Sorter    json.RawMessage `json:"sorter"`
	// Recent holds hashes of the most recently applied request IDs, so
	// that a request delivered twice is applied once (funchost's own
	// field; Durable Functions readers ignore it).
	Recent string `json:"funchostRecent,omitempty"`
}

// DecodeState reads a scheduler state ("" is the empty state).
func DecodeState(text string) (*SchedulerState, error) {
	s := &SchedulerState{}
	if strings.TrimSpace(text) == "" || strings.TrimSpace(text) == "null" {
		return s, nil
	}
	if err := json.Unmarshal([]byte(text), s); err != nil {
		return nil, fmt.Errorf("entity scheduler state: %w", err)
	}
	if s.State == nil && s.Exists {
		// A classic writer with exists but no state text: the state is null.
		null := "null"
		s.State = &null
	}
	return s, nil
}

// Encode writes the scheduler state as JSON text.
func (s *SchedulerState) Encode() string {
	c := *s
	c.Exists = c.State != nil
	if len(c.Sorter) == 0 {
		c.Sorter = json.RawMessage("{}")
	}
	b, err := json.Marshal(&c)
	if err != nil {
		panic(fmt.Sprintf("entitywire: encoding scheduler state: %v", err))
	}
	return string(b)
}

// Status is the entity status an entity's status row holds as custom
// status.
type Status struct {
	EntityExists bool   `json:"entityExists,omitempty"`
	QueueSize    int    `json:"queueSize,omitempty"`
	LockedBy     string `json:"lockedBy,omitempty"`
}

// StatusOf renders the status row's custom status for s.
func StatusOf(s *SchedulerState) string {
	b, _ := json.Marshal(Status{EntityExists: s.State != nil, QueueSize: len(s.Queue), LockedBy: s.LockedBy})
	return string(b)
}

// Marshal renders a message as the JSON text of an event input.
func Marshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("entitywire: encoding %T: %v", v, err))
	}
	return string(b)
}
