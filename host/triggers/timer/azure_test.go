package timer

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/funchost/funchost/storageprovider/azurestorage"
	"github.com/funchost/funchost/storageprovider/azurestorage/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

func newBlobStore(t *testing.T, hostID string) *BlobStore {
	t.Helper()
	conn, err := azurestorage.ParseConnectionString(azuritetest.ConnectionString(t))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := conn.BlobServiceClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	bs := NewBlobStore(svc, hostID)
	bs.LockPeriod = 15 * time.Second
	return bs
}

func TestBlobStoreStatus(t *testing.T) {
	ctx := context.Background()
	hostID := fmt.Sprintf("status-%d", time.Now().UnixNano())
	bs := newBlobStore(t, hostID)
	if st, err := bs.Get(ctx, "Cleanup"); err != nil || st != nil {
		t.Fatalf("before any write: %v, %v", st, err)
	}
	want := Status{Last: mustTime("2024-05-01T10:00:00.0047215Z"), Next: mustTime("2024-05-01T10:05:00Z"), LastUpdated: mustTime("2024-05-01T10:00:00.0047215Z")}
	if err := bs.Put(ctx, "Cleanup", want); err != nil {
		t.Fatal(err)
	}
	// The blob sits where the Functions host keeps it, in its format.
	resp, err := bs.container.NewBlobClient("timers/"+hostID+"/Host.Functions.Cleanup/status").DownloadStream(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(raw) != `{"Last":"2024-05-01T10:00:00.0047215+00:00","Next":"2024-05-01T10:05:00+00:00","LastUpdated":"2024-05-01T10:00:00.0047215+00:00"}` {
		t.Fatalf("blob content %s", raw)
	}
	got, err := bs.Get(ctx, "Cleanup")
	if err != nil || !got.Next.Equal(want.Next) || !got.Last.Equal(want.Last) {
		t.Fatalf("Get = %+v, %v", got, err)
	}
}

func TestBlobLockIsExclusive(t *testing.T) {
	ctx := context.Background()
	hostID := fmt.Sprintf("lock-%d", time.Now().UnixNano())
	a, b := newBlobStore(t, hostID), newBlobStore(t, hostID)
	la, err := a.TryAcquire(ctx, "Cleanup", "host-a")
	if err != nil || la == nil {
		t.Fatalf("a: %v, %v", la, err)
	}
	if lb, err := b.TryAcquire(ctx, "Cleanup", "host-b"); err != nil || lb != nil {
		t.Fatalf("b got the lock a holds: %v, %v", lb, err)
	}
	props, err := a.container.NewBlobClient("locks/"+hostID+"/Host.Functions.Cleanup.Listener").GetProperties(ctx, nil)
	if err != nil || props.Metadata["Functioninstance"] == nil && props.Metadata["FunctionInstance"] == nil {
		t.Fatalf("lock blob metadata %v, %v", props.Metadata, err)
	}
	if err := la.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
	lb, err := b.TryAcquire(ctx, "Cleanup", "host-b")
	if err != nil || lb == nil {
		t.Fatalf("b after release: %v, %v", lb, err)
	}
	if err := la.Renew(ctx); err == nil {
		t.Fatal("a renewed a lease b now holds")
	}
}

// TestTimerExactlyOnceAcrossHosts runs one timer on two "hosts" (separate
// clients, one storage account, one host ID) with a real clock: each
// occurrence runs once, on the lock holder; when it stops, the other
// takes over.
func TestTimerExactlyOnceAcrossHosts(t *testing.T) {
	hostID := fmt.Sprintf("once-%d", time.Now().UnixNano())
	var mu sync.Mutex
	byOwner := map[string][]time.Time{}
	mk := func(owner string) (Timer, Options) {
		bs := newBlobStore(t, hostID)
		tm := newTimer(t, "* * * * * *", newRecorder(systemClock{}), func(tm *Timer) {
			tm.Invoke = func(context.Context, Info) error {
				mu.Lock()
				byOwner[owner] = append(byOwner[owner], time.Now().Truncate(time.Second))
				mu.Unlock()
				return nil
			}
		})
		return tm, Options{Store: bs, Locker: bs, Owner: owner, LockPeriod: 15 * time.Second, LockRetry: 300 * time.Millisecond, Logger: quietLogger()}
	}
	ta, oa := mk("a")
	stopA := start(t, ta, oa)
	time.Sleep(500 * time.Millisecond)
	tb, ob := mk("b")
	start(t, tb, ob)
	time.Sleep(3 * time.Second)
	stopA() // releases the lease; b takes it within LockRetry
	time.Sleep(3 * time.Second)
	mu.Lock()
	defer mu.Unlock()
	a, b := byOwner["a"], byOwner["b"]
	if len(a) < 2 || len(b) < 2 {
		t.Fatalf("want runs on a, then b: a=%v b=%v", a, b)
	}
	seen := map[time.Time]string{}
	for owner, ts := range byOwner {
		for _, at := range ts {
			if prev, dup := seen[at]; dup {
				t.Fatalf("occurrence %s ran on %s and %s", at, prev, owner)
			}
			seen[at] = owner
		}
	}
	if !b[0].After(a[len(a)-1]) {
		t.Fatalf("b ran while a held the lock: a=%v b=%v", a, b)
	}
	st, err := ob.Store.Get(context.Background(), "Cleanup")
	if err != nil || st == nil || st.Last.Before(b[len(b)-2]) {
		t.Fatalf("status after b's runs: %+v, %v (b=%v)", st, err, b)
	}
}
