package timer

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/funchost/funchost/host/triggers/schedule"
)

// fakeClock is a Clock whose time moves only when the test says so.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(start string) *fakeClock { return &fakeClock{now: mustTime(start)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	return ch
}

// set moves the clock to t (never backwards) and fires due waiters.
func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// advanceToNext waits until someone waits on the clock, then moves it to
// the earliest deadline.
func (c *fakeClock) advanceToNext(t *testing.T) time.Time {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		var next time.Time
		for _, w := range c.waiters {
			if next.IsZero() || w.at.Before(next) {
				next = w.at
			}
		}
		c.mu.Unlock()
		if !next.IsZero() {
			c.set(next)
			return next
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("nobody waits on the clock")
	return time.Time{}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

type call struct {
	at   time.Time
	info Info
}

// recorder is a timer function that records its calls.
type recorder struct {
	clock Clock
	calls chan call
}

func newRecorder(c Clock) *recorder { return &recorder{clock: c, calls: make(chan call, 100)} }

func (r *recorder) invoke(_ context.Context, info Info) error {
	r.calls <- call{at: r.clock.Now(), info: info}
	return nil
}

func (r *recorder) next(t *testing.T) call {
	t.Helper()
	select {
	case c := <-r.calls:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("the timer did not fire")
		return call{}
	}
}

func (r *recorder) none(t *testing.T) {
	t.Helper()
	select {
	case c := <-r.calls:
		t.Fatalf("unexpected invocation at %s (%+v)", c.at, c.info)
	case <-time.After(50 * time.Millisecond):
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newTimer(t *testing.T, expr string, rec *recorder, mod func(*Timer)) Timer {
	t.Helper()
	s, err := schedule.Parse(expr, nil)
	if err != nil {
		t.Fatal(err)
	}
	tm := Timer{Name: "Cleanup", Expression: expr, Schedule: s, UseMonitor: true, Invoke: rec.invoke}
	if mod != nil {
		mod(&tm)
	}
	return tm
}

// start runs the timer until the test ends.
func start(t *testing.T, tm Timer, opts Options) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = Run(ctx, tm, opts) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestStatusJSON(t *testing.T) {
	s := Status{
		Last:        mustTime("2024-05-01T10:00:00.0047215Z"),
		Next:        mustTime("2024-05-01T10:05:00Z"),
		LastUpdated: mustTime("2024-05-01T10:00:00.0047215+02:00"),
	}
	b, _ := json.Marshal(s)
	want := `{"Last":"2024-05-01T10:00:00.0047215+00:00","Next":"2024-05-01T10:05:00+00:00","LastUpdated":"2024-05-01T10:00:00.0047215+02:00"}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	var back Status
	if err := json.Unmarshal(b, &back); err != nil || !back.Last.Equal(s.Last) || !back.LastUpdated.Equal(s.LastUpdated) {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	never, _ := json.Marshal(Status{Next: s.Next})
	if want := `{"Last":"0001-01-01T00:00:00+00:00","Next":"2024-05-01T10:05:00+00:00","LastUpdated":"0001-01-01T00:00:00+00:00"}`; string(never) != want {
		t.Fatalf("never run: %s", never)
	}
	if err := json.Unmarshal(never, &back); err != nil || !back.Last.IsZero() {
		t.Fatalf("MinValue should read as the zero time: %+v %v", back, err)
	}
	// The host's own files use lower-case-insensitive keys too.
	if err := json.Unmarshal([]byte(`{"last":"2024-05-01T10:00:00+00:00","next":"2024-05-01T10:05:00+00:00","lastUpdated":"2024-05-01T10:00:00+00:00"}`), &back); err != nil || back.Next.IsZero() {
		t.Fatalf("lower-case keys: %+v %v", back, err)
	}
}

func TestTimerWithoutMonitor(t *testing.T) {
	clock := newFakeClock("2024-01-01T00:00:03Z")
	rec := newRecorder(clock)
	tm := newTimer(t, "*/10 * * * * *", rec, func(tm *Timer) { tm.UseMonitor = false })
	store := &MemoryStore{}
	start(t, tm, Options{Clock: clock, Store: store, Logger: quietLogger()})
	for _, want := range []string{"2024-01-01T00:00:10Z", "2024-01-01T00:00:20Z", "2024-01-01T00:00:30Z"} {
		clock.advanceToNext(t)
		c := rec.next(t)
		if !c.at.Equal(mustTime(want)) || c.info.IsPastDue || c.info.ScheduleStatus != nil || !c.info.Schedule.AdjustForDST {
			t.Fatalf("call at %s with %+v, want at %s without status", c.at, c.info, want)
		}
	}
	if st, _ := store.Get(context.Background(), "Cleanup"); st != nil {
		t.Fatalf("status written without the monitor: %+v", st)
	}
}

func TestTimerMonitorAndPastDue(t *testing.T) {
	clock := newFakeClock("2024-01-01T00:02:00Z")
	store := &MemoryStore{}
	rec := newRecorder(clock)
	tm := newTimer(t, "0 */5 * * * *", rec, nil)
	stop := start(t, tm, Options{Clock: clock, Store: store, Logger: quietLogger()})

	clock.advanceToNext(t)
	c := rec.next(t)
	if !c.at.Equal(mustTime("2024-01-01T00:05:00Z")) || c.info.IsPastDue {
		t.Fatalf("first call %+v", c)
	}
	// The status before the first run: never run, Next = 00:05.
	if st := c.info.ScheduleStatus; st == nil || !st.Last.IsZero() || !st.Next.Equal(mustTime("2024-01-01T00:05:00Z")) ||
		!st.LastUpdated.Equal(mustTime("2024-01-01T00:02:00Z")) {
		t.Fatalf("status passed to the first call: %+v", c.info.ScheduleStatus)
	}
	clock.advanceToNext(t)
	c = rec.next(t)
	if !c.at.Equal(mustTime("2024-01-01T00:10:00Z")) || !c.info.ScheduleStatus.Last.Equal(mustTime("2024-01-01T00:05:00Z")) {
		t.Fatalf("second call %+v / %+v", c, c.info.ScheduleStatus)
	}
	waitStatus(t, store, func(s *Status) bool { return s.Last.Equal(mustTime("2024-01-01T00:10:00Z")) })
	stop()
	st, _ := store.Get(context.Background(), "Cleanup")
	if !st.Next.Equal(mustTime("2024-01-01T00:15:00Z")) {
		t.Fatalf("stored status %+v", st)
	}

	// The host is down from 00:12 to 00:31: 00:15..00:30 are missed and
	// run once, at start-up, with IsPastDue.
	clock.set(mustTime("2024-01-01T00:31:00Z"))
	start(t, tm, Options{Clock: clock, Store: store, Logger: quietLogger()})
	c = rec.next(t)
	if !c.info.IsPastDue || !c.at.Equal(mustTime("2024-01-01T00:31:00Z")) || !c.info.ScheduleStatus.Next.Equal(mustTime("2024-01-01T00:15:00Z")) {
		t.Fatalf("catch-up call %+v / %+v", c, c.info.ScheduleStatus)
	}
	rec.none(t)
	clock.advanceToNext(t)
	if c = rec.next(t); !c.at.Equal(mustTime("2024-01-01T00:35:00Z")) || c.info.IsPastDue {
		t.Fatalf("after catch-up: %+v", c)
	}
}

func waitStatus(t *testing.T, store StatusStore, ok func(*Status) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if st, _ := store.Get(context.Background(), "Cleanup"); st != nil && ok(st) {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	st, _ := store.Get(context.Background(), "Cleanup")
	t.Fatalf("status never reached the expected state: %+v", st)
}

func TestTimerScheduleChangeIsNotPastDue(t *testing.T) {
	clock := newFakeClock("2024-01-01T01:00:30Z")
	store := &MemoryStore{}
	// Written by an hourly schedule that last ran at 00:00.
	_ = store.Put(context.Background(), "Cleanup", Status{
		Last: mustTime("2024-01-01T00:00:00Z"), Next: mustTime("2024-01-01T01:00:00Z"), LastUpdated: mustTime("2024-01-01T00:00:00Z")})
	rec := newRecorder(clock)
	start(t, newTimer(t, "0 */15 * * * *", rec, nil), Options{Clock: clock, Store: store, Logger: quietLogger()})
	waitStatus(t, store, func(s *Status) bool { return s.Next.Equal(mustTime("2024-01-01T01:15:00Z")) })
	rec.none(t)
	clock.advanceToNext(t)
	if c := rec.next(t); !c.at.Equal(mustTime("2024-01-01T01:15:00Z")) || c.info.IsPastDue {
		t.Fatalf("call %+v", c)
	}
}

func TestTimerRunOnStartup(t *testing.T) {
	clock := newFakeClock("2024-01-01T00:02:00Z")
	rec := newRecorder(clock)
	store := &MemoryStore{}
	start(t, newTimer(t, "00:10:00", rec, func(tm *Timer) { tm.RunOnStartup = true }), Options{Clock: clock, Store: store, Logger: quietLogger()})
	c := rec.next(t)
	if !c.at.Equal(mustTime("2024-01-01T00:02:00Z")) || c.info.IsPastDue {
		t.Fatalf("start-up call %+v", c)
	}
	// A TimeSpan schedule counts from the previous invocation.
	clock.advanceToNext(t)
	if c = rec.next(t); !c.at.Equal(mustTime("2024-01-01T00:12:00Z")) {
		t.Fatalf("next call at %s", c.at)
	}
}

// TestTimerLongRunDoesNotOverlap: a run longer than the interval delays
// the next one, which then starts at once; runs never overlap.
func TestTimerLongRunDoesNotOverlap(t *testing.T) {
	clock := newFakeClock("2024-01-01T00:00:00Z")
	var mu sync.Mutex
	running, overlapped := 0, false
	calls := make(chan time.Time, 10)
	tm := newTimer(t, "0 * * * * *", newRecorder(clock), func(tm *Timer) {
		tm.Invoke = func(context.Context, Info) error {
			mu.Lock()
			running++
			overlapped = overlapped || running > 1
			mu.Unlock()
			at := clock.Now()
			if at.Equal(mustTime("2024-01-01T00:01:00Z")) {
				clock.set(at.Add(150 * time.Second)) // this run takes 2.5 minutes
			}
			mu.Lock()
			running--
			mu.Unlock()
			calls <- at
			return nil
		}
	})
	start(t, tm, Options{Clock: clock, Logger: quietLogger()})
	clock.advanceToNext(t)
	got := []time.Time{<-calls}
	// The 00:02 occurrence passed during the long run: it runs at once.
	select {
	case at := <-calls:
		got = append(got, at)
	case <-time.After(5 * time.Second):
		t.Fatal("no run after the long one")
	}
	if !got[1].Equal(mustTime("2024-01-01T00:03:30Z")) || overlapped {
		t.Fatalf("runs at %v, overlapped=%v", got, overlapped)
	}
}

func TestTimerSingleton(t *testing.T) {
	clock := newFakeClock("2024-01-01T00:00:00Z")
	locker := &MemoryLocker{}
	store := &MemoryStore{}
	var mu sync.Mutex
	byOwner := map[string][]time.Time{}
	mk := func(owner string) Timer {
		return newTimer(t, "0 * * * * *", newRecorder(clock), func(tm *Timer) {
			tm.Invoke = func(context.Context, Info) error {
				mu.Lock()
				byOwner[owner] = append(byOwner[owner], clock.Now())
				mu.Unlock()
				return nil
			}
		})
	}
	stopA := start(t, mk("a"), Options{Clock: clock, Store: store, Locker: locker, Owner: "a", LockRetry: 10 * time.Second, Logger: quietLogger()})
	waitHeld(t, locker)
	start(t, mk("b"), Options{Clock: clock, Store: store, Locker: locker, Owner: "b", LockRetry: 10 * time.Second, Logger: quietLogger()})
	for i := 0; i < 12; i++ { // 2 minutes of 10 s steps
		clock.advanceToNext(t)
		time.Sleep(2 * time.Millisecond)
	}
	stopA()
	for i := 0; i < 20; i++ {
		clock.advanceToNext(t)
		time.Sleep(2 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(byOwner["a"]) == 0 || len(byOwner["b"]) == 0 {
		t.Fatalf("want runs on a, then on b after a stopped: %v", byOwner)
	}
	var all []time.Time
	for _, ts := range byOwner {
		all = append(all, ts...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Before(all[j]) })
	for i := 1; i < len(all); i++ {
		if all[i].Equal(all[i-1]) {
			t.Fatalf("occurrence %s ran twice: %v", all[i], byOwner)
		}
	}
	if last := byOwner["a"][len(byOwner["a"])-1]; !byOwner["b"][0].After(last) {
		t.Fatalf("b ran while a held the lock: %v", byOwner)
	}
}

func waitHeld(t *testing.T, l *MemoryLocker) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		l.mu.Lock()
		n := len(l.held)
		l.mu.Unlock()
		if n > 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("lock never taken")
}

func TestHostID(t *testing.T) {
	env := map[string]string{}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	a, b := HostID(lookup, "/apps/one"), HostID(lookup, "/apps/two")
	if a == b || a != HostID(lookup, "/apps/one") || len(a) > 32 {
		t.Fatalf("local host IDs %q %q", a, b)
	}
	env[SettingSiteName] = "My-Func-App-With-A-Very-Long-Name-Indeed"
	if got := HostID(lookup, "/x"); got != "my-func-app-with-a-very-long-nam" {
		t.Fatalf("site name: %q", got)
	}
	env[SettingHostID] = "Shared-"
	if got := HostID(lookup, "/x"); got != "shared" {
		t.Fatalf("explicit: %q", got)
	}
}
