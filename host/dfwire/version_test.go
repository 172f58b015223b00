package dfwire

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestStatusVersion: the version is written after lastUpdatedTime only
// when the instance has one, and read back.
func TestStatusVersion(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		version, want string
	}{
		{"", `"lastUpdatedTime":"2024-01-02T03:04:05Z"}`},
		{"2.0", `"lastUpdatedTime":"2024-01-02T03:04:05Z","version":"2.0"}`},
		{`v"1"`, `"version":"v\"1\""}`},
	} {
		s := &Status{Name: "O", InstanceID: "i", RuntimeStatus: "Running", CreatedTime: at, LastUpdatedTime: at, Version: tc.version}
		b, err := json.Marshal(s)
		if err != nil || !strings.HasSuffix(string(b), tc.want) {
			t.Fatalf("version %q: %s %v, want it to end with %s", tc.version, b, err, tc.want)
		}
		var back Status
		if err := json.Unmarshal(b, &back); err != nil || back.Version != tc.version {
			t.Fatalf("read back %+v %v, want version %q", back, err, tc.version)
		}
	}
}
