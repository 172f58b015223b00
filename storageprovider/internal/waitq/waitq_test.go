package waitq

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// waitAll starts n waiters one after the other (each is queued before the
// next starts) and returns the channel their results arrive on, as the
// waiter's index or -1-index for an error.
func waitAll(t *testing.T, q *Queue, mu *sync.Mutex, ctxs []context.Context, stop chan struct{}) chan int {
	t.Helper()
	out := make(chan int, len(ctxs))
	for i, ctx := range ctxs {
		go func() {
			mu.Lock()
			defer mu.Unlock()
			if err := q.Wait(ctx, mu, stop); err != nil {
				out <- -1 - i
				return
			}
			out <- i
		}()
		waitLen(t, q, mu, i+1)
	}
	return out
}

func waitLen(t *testing.T, q *Queue, mu *sync.Mutex, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		l := q.Len()
		mu.Unlock()
		if l == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue length %d, want %d", l, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func recv(t *testing.T, ch chan int) int {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("no waiter returned")
		return 0
	}
}

func TestWakeFirstIsFIFO(t *testing.T) {
	var q Queue
	var mu sync.Mutex
	bg := context.Background()
	out := waitAll(t, &q, &mu, []context.Context{bg, bg, bg}, nil)
	for want := range 3 {
		mu.Lock()
		if !q.WakeFirst() {
			t.Fatal("WakeFirst found no waiter")
		}
		mu.Unlock()
		if got := recv(t, out); got != want {
			t.Fatalf("woke waiter %d, want %d", got, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if q.WakeFirst() || q.Len() != 0 {
		t.Errorf("empty queue: WakeFirst true or Len %d", q.Len())
	}
}

func TestCancelledWaiterLeavesQueue(t *testing.T) {
	var q Queue
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(context.Background())
	out := waitAll(t, &q, &mu, []context.Context{ctx, context.Background()}, nil)
	cancel()
	if got := recv(t, out); got != -1 {
		t.Fatalf("got %d, want the cancelled waiter 0 to fail", got)
	}
	waitLen(t, &q, &mu, 1)
	mu.Lock()
	q.WakeFirst()
	mu.Unlock()
	if got := recv(t, out); got != 1 {
		t.Fatalf("got %d, want waiter 1", got)
	}
}

func TestStopReleasesAll(t *testing.T) {
	var q Queue
	var mu sync.Mutex
	stop := make(chan struct{})
	bg := context.Background()
	out := waitAll(t, &q, &mu, []context.Context{bg, bg}, stop)
	close(stop)
	for range 2 {
		if got := recv(t, out); got >= 0 {
			t.Fatalf("waiter %d returned nil after stop", got)
		}
	}
	waitLen(t, &q, &mu, 0)
	mu.Lock()
	defer mu.Unlock()
	ctx := context.Background()
	if err := q.Wait(ctx, &mu, stop); !errors.Is(err, ErrStopped) {
		t.Errorf("Wait after stop = %v, want ErrStopped", err)
	}
}

// TestWakeIsNeverLost: a waiter picked by WakeFirst whose context ends
// at the same moment either takes the wake-up or hands it to the next
// waiter; one wake-up always reaches someone.
func TestWakeIsNeverLost(t *testing.T) {
	for range 50 {
		var q Queue
		var mu sync.Mutex
		ctx, cancel := context.WithCancel(context.Background())
		out := waitAll(t, &q, &mu, []context.Context{ctx, context.Background()}, nil)
		mu.Lock()
		q.WakeFirst()
		cancel() // waiter 0 may see the wake-up, the cancellation or both
		mu.Unlock()
		switch got := recv(t, out); got {
		case 0: // took the wake-up; waiter 1 still waits
			waitLen(t, &q, &mu, 1)
		case -1: // gave up: the wake-up must reach waiter 1
			if next := recv(t, out); next != 1 {
				t.Fatalf("after waiter 0 gave up, got %d, want waiter 1 woken", next)
			}
			continue
		default:
			t.Fatalf("unexpected result %d", got)
		}
		mu.Lock()
		q.WakeFirst()
		mu.Unlock()
		if got := recv(t, out); got != 1 {
			t.Fatalf("got %d, want waiter 1", got)
		}
	}
}
