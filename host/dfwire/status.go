package dfwire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// StatusTimeFormat is the format of createdTime and lastUpdatedTime: UTC,
// whole seconds.
const StatusTimeFormat = "2006-01-02T15:04:05Z"

// FormatStatusTime renders t as the status object does.
func FormatStatusTime(t time.Time) string { return t.UTC().Format(StatusTimeFormat) }

// Status is the status object of one orchestration instance, as GET
// /instances/{id} and GET /instances return it.
type Status struct {
	Name       string `json:"name"`
	InstanceID string `json:"instanceId"`
	// RuntimeStatus is the status name: Pending, Running, Completed,
	// ContinuedAsNew, Failed, Canceled, Terminated or Suspended.
	RuntimeStatus string `json:"runtimeStatus"`
	// Input, CustomStatus and Output are JSON values; nil encodes as null
	// (the three are always present).
	Input        json.RawMessage `json:"input"`
	CustomStatus json.RawMessage `json:"customStatus"`
	Output       json.RawMessage `json:"output"`
	// CreatedTime and LastUpdatedTime encode in StatusTimeFormat.
	CreatedTime     time.Time `json:"createdTime"`
	LastUpdatedTime time.Time `json:"lastUpdatedTime"`
	// Version is the instance's orchestration version, written only when
	// it has one (a funchost addition: Durable Functions' status object
	// has no version; readers that do not know it ignore it).
	Version string `json:"version,omitempty"`
	// HistoryEvents holds HistoryEvent objects, present only with
	// showHistory=true (omitted when empty).
	HistoryEvents []json.RawMessage `json:"historyEvents,omitempty"`
}

// MarshalJSON writes the fields in the order above, payloads byte for
// byte.
func (s *Status) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	p := s.parts()
	b.Grow(256 + len(s.Input) + len(s.Output) + len(s.CustomStatus))
	p.write(&b)
	return b.Bytes(), nil
}

// MarshalStatusList renders statuses as a JSON array of status objects
// ("[]" for none), as GET /instances returns them.
func MarshalStatusList(list []*Status) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, s := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		p := s.parts()
		p.write(&b)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// UnmarshalJSON reads a status object; a JSON null payload becomes nil.
func (s *Status) UnmarshalJSON(data []byte) error {
	type plain Status // no methods: no recursion
	var v struct {
		plain
		CreatedTime     string `json:"createdTime"`
		LastUpdatedTime string `json:"lastUpdatedTime"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*s = Status(v.plain)
	var err error
	if s.CreatedTime, err = parseTime("createdTime", v.CreatedTime); err != nil {
		return err
	}
	if s.LastUpdatedTime, err = parseTime("lastUpdatedTime", v.LastUpdatedTime); err != nil {
		return err
	}
	s.Input, s.CustomStatus, s.Output = nullToNil(s.Input), nullToNil(s.CustomStatus), nullToNil(s.Output)
	return nil
}

func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("dfwire: %s: %w", field, err)
	}
	return t.UTC(), nil
}

func nullToNil(v json.RawMessage) json.RawMessage {
	if string(v) == "null" {
		return nil
	}
	return v
}

// Payload turns stored payload text (an input, output or custom status as
// the task hub keeps it) into the JSON value the API shows, as Durable
// Functions does: valid JSON is used as is, anything else becomes a JSON
// string of the raw text (whitespace-only text gives ""), and no text gives
// nil (null). The text is validated in place; PayloadText gives the same
// value without the json.RawMessage copy.
func Payload(text string) json.RawMessage {
	switch payloadKind(text) {
	case payloadNone:
		return nil
	case payloadBlank:
		return json.RawMessage(`""`)
	case payloadJSON:
		return json.RawMessage(text)
	}
	b, _ := Marshal(text)
	return b
}

func writeString(w sink, s string) {
	j, _ := Marshal(s)
	_, _ = w.Write(j)
}
