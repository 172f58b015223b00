package entitywire

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    ID
		wantErr bool
	}{
		{"@counter@c1", ID{"counter", "c1"}, false},
		{"@counter@", ID{"counter", ""}, false},
		{"@acct@a@b", ID{"acct", "a@b"}, false},
		{"counter@c1", ID{}, true},
		{"@@k", ID{}, true},
		{"@name", ID{}, true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil && got.InstanceID() != tt.in {
			t.Errorf("round trip of %q gave %q", tt.in, got.InstanceID())
		}
	}
}

// TestDecodeStateShapes reads both Durable Functions shapes and ignores
// $type, and writes exists next to state.
func TestDecodeStateShapes(t *testing.T) {
	tests := []struct {
		name, in  string
		exists    bool
		state     string
		lockedBy  string
		queueSize int
	}{
		{"empty", "", false, "", "", 0},
		{"classic", `{"exists":true,"state":"5","sorter":{}}`, true, "5", "", 0},
		{"core", `{"state":"{\"v\":1}","sorter":{"ReceivedFromInstance":{}}}`, true, `{"v":1}`, "", 0},
		{"classic deleted", `{"sorter":{}}`, false, "", "", 0},
		{"with $type and a queue", `{"$type":"X","state":"1","lockedBy":"o","queue":[{"$type":"Y","op":"add","signal":true,"input":"2","id":"g","Timestamp":"0001-01-01T00:00:00","Predecessor":"2024-05-01T10:00:01.1234567Z"}],"sorter":{}}`,
			true, "1", "o", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := DecodeState(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if s.State != nil {
				got = *s.State
			}
			if (s.State != nil) != tt.exists || got != tt.state || s.LockedBy != tt.lockedBy || len(s.Queue) != tt.queueSize {
				t.Fatalf("decoded %+v", s)
			}
			out := s.Encode()
			if tt.exists != strings.HasPrefix(out, `{"exists":true,"state":`) || !strings.Contains(out, `"sorter":`) {
				t.Fatalf("encoded %s", out)
			}
		})
	}
}

func TestRequestWireForm(t *testing.T) {
	op := "add"
	due := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	r := &Request{Op: &op, Signal: true, Input: "5", ID: "g1", Due: &Time{due}}
	want := `{"op":"add","signal":true,"input":"5","id":"g1","due":"2024-05-01T10:00:00.0000000Z","Timestamp":"0001-01-01T00:00:00","Predecessor":"0001-01-01T00:00:00"}`
	if got := Marshal(r); got != want {
		t.Fatalf("request = %s\nwant      %s", got, want)
	}
	lock := Marshal(&Request{ID: "L", Parent: "o", LockSet: []ID{{"a", "1"}}})
	if !strings.HasPrefix(lock, `{"op":null,"id":"L","parent":"o"`) {
		t.Fatalf("lock request = %s", lock)
	}
	name := EventName(due)
	if name != "op@2024-05-01T10:00:00.0000000Z" {
		t.Fatalf("event name %q", name)
	}
	if back, ok := DueTime(name); !ok || !back.Equal(due) {
		t.Fatalf("DueTime(%q) = %v, %v", name, back, ok)
	}
}
