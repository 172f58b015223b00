package mgmtapi

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readBody returns the body byte for byte whatever the size hint says
// (right, too small, too large, unknown), and passes read errors on.
func TestReadBody(t *testing.T) {
	big := strings.Repeat("0123456789", 300_000) // 3 MB: past the first MiB
	boom := errors.New("boom")
	for _, tc := range []struct {
		name    string
		r       io.Reader
		hint    int64
		want    string
		wantErr error
	}{
		{"empty", strings.NewReader(""), 0, "", nil},
		{"small, exact hint", strings.NewReader(`{"a":1}`), 7, `{"a":1}`, nil},
		{"small, unknown length", strings.NewReader(`[1,2]`), -1, `[1,2]`, nil},
		{"large, exact hint", strings.NewReader(big), int64(len(big)), big, nil},
		{"large, hint too small", strings.NewReader(big), 10, big, nil},
		{"large, hint too large", strings.NewReader(big), 10 << 20, big, nil},
		{"large, unknown length", strings.NewReader(big), -1, big, nil},
		{"large, one byte per read", iotest.OneByteReader(strings.NewReader(big[:1<<20+5])), -1, big[:1<<20+5], nil},
		{"error in the first MiB", iotest.ErrReader(boom), 100, "", boom},
		{"error after the first MiB", io.MultiReader(strings.NewReader(big), iotest.ErrReader(boom)), int64(len(big)), "", boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readBody(tc.r, tc.hint)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Fatalf("got %d bytes, want %d (equal: %v)", len(got), len(tc.want), got == tc.want)
			}
		})
	}
}
