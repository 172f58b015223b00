package timer

import (
	"context"
	"errors"
	"sync"
)

// Locker hands out the listener singleton lock: of all the hosts sharing a
// storage account and host ID, only the holder runs a timer.
type Locker interface {
	// TryAcquire takes the named lock for owner. It returns nil, nil when
	// another owner holds it.
	TryAcquire(ctx context.Context, name, owner string) (Lease, error)
}

// Lease is a held lock. It lapses unless renewed within the locker's
// period.
type Lease interface {
	// Renew extends the lease; ErrLeaseLost means another owner has it now.
	Renew(ctx context.Context) error
	// Release gives the lock up at once.
	Release(ctx context.Context) error
}

// ErrLeaseLost is returned by Renew when the lock is no longer ours.
var ErrLeaseLost = errors.New("timer: singleton lease lost")

// MemoryLocker is a Locker for one process. Its leases do not expire; they
// are held until released. The zero value is ready to use.
type MemoryLocker struct {
	mu   sync.Mutex
	held map[string]*memoryLease
}

type memoryLease struct {
	l     *MemoryLocker
	name  string
	owner string
}

// TryAcquire implements Locker.
func (l *MemoryLocker) TryAcquire(_ context.Context, name, owner string) (Lease, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held == nil {
		l.held = map[string]*memoryLease{}
	}
	if l.held[name] != nil {
		return nil, nil
	}
	ls := &memoryLease{l: l, name: name, owner: owner}
	l.held[name] = ls
	return ls, nil
}

func (m *memoryLease) Renew(context.Context) error {
	m.l.mu.Lock()
	defer m.l.mu.Unlock()
	if m.l.held[m.name] != m {
		return ErrLeaseLost
	}
	return nil
}

func (m *memoryLease) Release(context.Context) error {
	m.l.mu.Lock()
	defer m.l.mu.Unlock()
	if m.l.held[m.name] == m {
		delete(m.l.held, m.name)
	}
	return nil
}
