package invoke

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestRun(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		timeout time.Duration
		fn      func(context.Context) error
		wantErr string
		logs    []string
	}{
		{"success", 0, func(context.Context) error { return nil }, "",
			[]string{"Executing 'Functions.Job' (Reason='Timer fired at 2024-01-01T10:00:00.0000000+00:00', Id=abc)", "Executed 'Functions.Job' (Succeeded, Id=abc, Duration="}},
		{"failure", 0, func(context.Context) error { return boom }, "boom",
			[]string{"Executed 'Functions.Job' (Failed, Id=abc, Duration=", "err=boom"}},
		{"panic", 0, func(context.Context) error { panic("kaputt") }, "panic: kaputt",
			[]string{"(Failed, Id=abc", "stack="}},
		{"timeout, cooperative", 50 * time.Millisecond, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
			"Timeout value of 00:00:00 was exceeded by function: Functions.Job",
			[]string{"Timeout value of 00:00:00 exceeded by function 'Functions.Job' (Id: 'abc'). Initiating cancellation.", "(Failed, Id=abc"}},
		{"timeout, stuck function", 50 * time.Millisecond, func(context.Context) error { time.Sleep(2 * time.Second); return nil },
			"was exceeded by function: Functions.Job", []string{"Initiating cancellation."}},
		{"within timeout", time.Second, func(context.Context) error { return nil }, "", []string{"(Succeeded, Id=abc"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf syncBuf
			inv := Invocation{Function: "Job", ID: "abc", Reason: ReasonTimer(time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC)),
				Timeout: tc.timeout, Logger: slog.New(slog.NewTextHandler(&buf, nil))}
			start := time.Now()
			err := inv.Run(context.Background(), tc.fn)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if time.Since(start) > time.Second {
				t.Fatal("Run waited for a function past its timeout")
			}
			for _, want := range tc.logs {
				if !strings.Contains(buf.String(), want) {
					t.Errorf("logs lack %q:\n%s", want, buf.String())
				}
			}
		})
	}
}

func TestTimeoutErrorIs(t *testing.T) {
	err := Invocation{Function: "F", Timeout: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}.Run(context.Background(),
		func(ctx context.Context) error { <-ctx.Done(); return nil })
	var te *TimeoutError
	if !errors.As(err, &te) || te.Function != "F" {
		t.Fatalf("%v", err)
	}
}

func TestFormat(t *testing.T) {
	for d, want := range map[time.Duration]string{5 * time.Minute: "00:05:00", 90 * time.Second: "00:01:30", 26 * time.Hour: "1.02:00:00"} {
		if got := FormatTimeout(d); got != want {
			t.Errorf("FormatTimeout(%v) = %q, want %q", d, got, want)
		}
	}
	if got := ReasonQueue("orders"); got != "New queue message detected on 'orders'." {
		t.Error(got)
	}
}
