package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/funchost/funchost/storageprovider/azurestorage"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

var queueSeq atomic.Int64

func service(t *testing.T) *azqueue.ServiceClient {
	t.Helper()
	conn, err := azurestorage.ParseConnectionString(azuritetest.ConnectionString(t))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := conn.QueueServiceClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// newQueue creates a fresh queue and returns its name.
func newQueue(t *testing.T, svc *azqueue.ServiceClient) string {
	t.Helper()
	name := fmt.Sprintf("q%d-%d", time.Now().UnixNano()%1e9, queueSeq.Add(1))
	if _, err := svc.NewQueueClient(name).Create(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return name
}

func testOptions() Options {
	return Options{MaxPollingInterval: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler), DrainTimeout: 5 * time.Second}
}

// run starts l and returns a stop function that waits for Run to return.
func run(t *testing.T, l *Listener) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = l.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Error("Run did not return")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func enqueue(t *testing.T, svc *azqueue.ServiceClient, queue, text string) {
	t.Helper()
	if _, err := svc.NewQueueClient(queue).EnqueueMessage(context.Background(), text, nil); err != nil {
		t.Fatal(err)
	}
}

// visibleTexts dequeues (briefly) every visible message of queue.
func visibleTexts(t *testing.T, svc *azqueue.ServiceClient, queue string) []string {
	t.Helper()
	resp, err := svc.NewQueueClient(queue).PeekMessages(context.Background(), &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range resp.Messages {
		out = append(out, *m.MessageText)
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestEncoding(t *testing.T) {
	for _, tc := range []struct{ body, enc, text string }{
		{"hello", EncodingBase64, "aGVsbG8="},
		{`{"a":1}`, EncodingNone, `{"a":1}`},
		{"x", "", "eA=="},
	} {
		if got := Encode([]byte(tc.body), tc.enc); got != tc.text {
			t.Errorf("Encode(%q, %q) = %q, want %q", tc.body, tc.enc, got, tc.text)
		}
		if got, err := Decode(tc.text, tc.enc); err != nil || string(got) != tc.body {
			t.Errorf("Decode(%q, %q) = %q, %v", tc.text, tc.enc, got, err)
		}
	}
	if _, err := Decode("not base64!", EncodingBase64); err == nil {
		t.Fatal("invalid Base64 decoded")
	}
}

func TestNames(t *testing.T) {
	for name, ok := range map[string]bool{"orders": true, "a-b-c": true, "ab": false, "Orders": false, "a--b": false, "-ab": false, "ab-": false, "a_b": false} {
		if err := ValidateName(name); (err == nil) != ok {
			t.Errorf("ValidateName(%q) = %v", name, err)
		}
	}
	long := "q123456789012345678901234567890123456789012345678901234567"
	for q, want := range map[string]string{"orders": "orders-poison", "orders-poison": "", long: ""} {
		if got := PoisonQueueName(q); got != want {
			t.Errorf("PoisonQueueName(%q) = %q, want %q", q, got, want)
		}
	}
}

func TestListenerDeliversAndDeletes(t *testing.T) {
	svc := service(t)
	q := newQueue(t, svc)
	got := make(chan *Message, 4)
	l := NewListener(svc, NewSender(svc), q, func(_ context.Context, m *Message) error { got <- m; return nil }, testOptions())
	run(t, l)
	enqueue(t, svc, q, Encode([]byte(`{"order":42}`), EncodingBase64))
	var m *Message
	select {
	case m = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("no message delivered")
	}
	if string(m.Body) != `{"order":42}` || m.DequeueCount != 1 || m.ID == "" || m.PopReceipt == "" ||
		m.InsertionTime.IsZero() || !m.NextVisibleTime.After(m.InsertionTime) || m.ExpirationTime.IsZero() {
		t.Fatalf("message %+v", m)
	}
	eventually(t, "the message to be deleted", func() bool {
		n, _ := svc.NewQueueClient(q).GetProperties(context.Background(), nil)
		return n.ApproximateMessagesCount != nil && *n.ApproximateMessagesCount == 0
	})
}

// TestListenerPoison: a message that always fails is tried
// MaxDequeueCount times, then moved, text unchanged, to <queue>-poison.
func TestListenerPoison(t *testing.T) {
	svc := service(t)
	q := newQueue(t, svc)
	var mu sync.Mutex
	var counts []int64
	opts := testOptions()
	opts.MaxDequeueCount = 3
	l := NewListener(svc, NewSender(svc), q, func(_ context.Context, m *Message) error {
		mu.Lock()
		counts = append(counts, m.DequeueCount)
		mu.Unlock()
		return errors.New("always fails")
	}, opts)
	run(t, l)
	text := Encode([]byte("bad order"), EncodingBase64)
	enqueue(t, svc, q, text)
	eventually(t, "the poison queue", func() bool {
		texts := visiblePoison(svc, q)
		return len(texts) == 1 && texts[0] == text
	})
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(counts) != "[1 2 3]" {
		t.Fatalf("attempts with dequeue counts %v, want [1 2 3]", counts)
	}
	if left := visibleTexts(t, svc, q); len(left) != 0 {
		t.Fatalf("original queue still holds %v", left)
	}
}

func visiblePoison(svc *azqueue.ServiceClient, q string) []string {
	resp, err := svc.NewQueueClient(q+"-poison").PeekMessages(context.Background(), &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	if err != nil {
		return nil
	}
	var out []string
	for _, m := range resp.Messages {
		out = append(out, *m.MessageText)
	}
	return out
}

func TestListenerUndecodableIsPoisonAtOnce(t *testing.T) {
	svc := service(t)
	q := newQueue(t, svc)
	var calls atomic.Int64
	l := NewListener(svc, NewSender(svc), q, func(context.Context, *Message) error { calls.Add(1); return nil }, testOptions())
	run(t, l)
	enqueue(t, svc, q, "plain text, not base64")
	eventually(t, "the poison queue", func() bool {
		texts := visiblePoison(svc, q)
		return len(texts) == 1 && texts[0] == "plain text, not base64"
	})
	if calls.Load() != 0 {
		t.Fatalf("the function ran %d times for an undecodable message", calls.Load())
	}
}

func TestListenerEncodingNone(t *testing.T) {
	svc := service(t)
	q := newQueue(t, svc)
	got := make(chan string, 1)
	opts := testOptions()
	opts.MessageEncoding = EncodingNone
	run(t, NewListener(svc, NewSender(svc), q, func(_ context.Context, m *Message) error { got <- string(m.Body); return nil }, opts))
	enqueue(t, svc, q, "plain text")
	select {
	case s := <-got:
		if s != "plain text" {
			t.Fatalf("body %q", s)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no delivery")
	}
}

func TestListenerVisibilityTimeout(t *testing.T) {
	svc := service(t)
	q := newQueue(t, svc)
	times := make(chan time.Time, 4)
	opts := testOptions()
	opts.VisibilityTimeout = 2 * time.Second
	run(t, NewListener(svc, NewSender(svc), q, func(context.Context, *Message) error {
		times <- time.Now()
		return errors.New("fail once")
	}, opts))
	enqueue(t, svc, q, Encode([]byte("x"), ""))
	first := <-times
	select {
	case second := <-times:
		if gap := second.Sub(first); gap < 1500*time.Millisecond {
			t.Fatalf("retried after %s, want at least the 2 s visibilityTimeout", gap)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the failed message was not retried")
	}
}

func TestListenerConcurrencyBound(t *testing.T) {
	svc := service(t)
	q := newQueue(t, svc)
	var cur, peak, done atomic.Int64
	opts := testOptions()
	opts.BatchSize, opts.NewBatchThreshold = 4, 2
	run(t, NewListener(svc, NewSender(svc), q, func(context.Context, *Message) error {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
		cur.Add(-1)
		done.Add(1)
		return nil
	}, opts))
	for i := range 14 {
		enqueue(t, svc, q, Encode(fmt.Appendf(nil, "m%d", i), ""))
	}
	eventually(t, "all messages", func() bool { return done.Load() == 14 })
	if p := peak.Load(); p > 6 {
		t.Fatalf("%d messages ran at once; batchSize+newBatchThreshold is 6", p)
	}
}

// TestListenerLongRunIsNotRedelivered: the invisibility is extended while
// the function runs past the dequeue lease.
func TestListenerLongRunIsNotRedelivered(t *testing.T) {
	svc := service(t)
	q := newQueue(t, svc)
	var calls atomic.Int64
	opts := testOptions()
	opts.leaseDuration = 2 * time.Second
	run(t, NewListener(svc, NewSender(svc), q, func(context.Context, *Message) error {
		calls.Add(1)
		time.Sleep(4 * time.Second)
		return nil
	}, opts))
	enqueue(t, svc, q, Encode([]byte("slow"), ""))
	eventually(t, "the message to be deleted", func() bool {
		n, _ := svc.NewQueueClient(q).GetProperties(context.Background(), nil)
		return calls.Load() > 0 && n.ApproximateMessagesCount != nil && *n.ApproximateMessagesCount == 0
	})
	if c := calls.Load(); c != 1 {
		t.Fatalf("ran %d times", c)
	}
}

// TestListenerShutdown: on stop, a message that finishes within the drain
// time is deleted; one still running is made visible again.
func TestListenerShutdown(t *testing.T) {
	svc := service(t)
	q := newQueue(t, svc)
	started := make(chan string, 2)
	opts := testOptions()
	opts.DrainTimeout = 500 * time.Millisecond
	stop := run(t, NewListener(svc, NewSender(svc), q, func(ctx context.Context, m *Message) error {
		started <- string(m.Body)
		if string(m.Body) == "quick" {
			time.Sleep(200 * time.Millisecond)
			return nil
		}
		<-ctx.Done() // "stuck" runs until cancelled
		return ctx.Err()
	}, opts))
	enqueue(t, svc, q, Encode([]byte("quick"), ""))
	enqueue(t, svc, q, Encode([]byte("stuck"), ""))
	<-started
	<-started
	stop()
	left := visibleTexts(t, svc, q)
	if len(left) != 1 || left[0] != Encode([]byte("stuck"), "") {
		t.Fatalf("visible after shutdown: %v, want only the stuck message", left)
	}
}

func TestSenderCreatesQueueAndWakes(t *testing.T) {
	svc := service(t)
	name := fmt.Sprintf("out%d-%d", time.Now().UnixNano()%1e9, queueSeq.Add(1))
	s := NewSender(svc)
	var woke atomic.Value
	s.OnSend = func(q string) { woke.Store(q) }
	if err := s.SendText(context.Background(), name, "aGk="); err != nil {
		t.Fatal(err)
	}
	if got := visibleTexts(t, svc, name); len(got) != 1 || got[0] != "aGk=" {
		t.Fatalf("queue holds %v", got)
	}
	if woke.Load() != name {
		t.Fatalf("OnSend got %v", woke.Load())
	}
}
