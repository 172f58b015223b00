package engine

import (
	"container/list"
	"sync"
)

// sessionCache keeps live executions (a parked orchestrator goroutine and
// its replay state) of recently active instances, least recently used
// first out. Entries are taken out while a work item uses them, so no two
// work items ever share an execution.
type sessionCache struct {
	mu    sync.Mutex
	size  int
	lru   *list.List // of *session, front = most recent
	index map[string]*list.Element
	// closed is set by clear: a work item that finishes after the worker
	// stopped must not park a goroutine nobody will tear down.
	closed bool
}

type session struct {
	instanceID string
	exec       *execution
}

func newSessionCache(size int) *sessionCache {
	return &sessionCache{size: size, lru: list.New(), index: map[string]*list.Element{}}
}

// take removes and returns the instance's execution, or nil.
func (c *sessionCache) take(instanceID string) *execution {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.index[instanceID]
	if !ok {
		return nil
	}
	c.lru.Remove(el)
	delete(c.index, instanceID)
	return el.Value.(*session).exec
}

// put stores an execution, replacing (and tearing down) an older one of
// the same instance and evicting the least recently used beyond the bound.
func (c *sessionCache) put(instanceID string, e *execution) {
	var evicted []*execution
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		e.teardown()
		return
	}
	if el, ok := c.index[instanceID]; ok {
		evicted = append(evicted, el.Value.(*session).exec)
		c.lru.Remove(el)
	}
	c.index[instanceID] = c.lru.PushFront(&session{instanceID: instanceID, exec: e})
	for c.lru.Len() > c.size {
		el := c.lru.Back()
		s := el.Value.(*session)
		c.lru.Remove(el)
		delete(c.index, s.instanceID)
		evicted = append(evicted, s.exec)
	}
	c.mu.Unlock()
	for _, x := range evicted {
		x.teardown()
	}
}

// clear tears down every cached execution.
func (c *sessionCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	var all []*execution
	for el := c.lru.Front(); el != nil; el = el.Next() {
		all = append(all, el.Value.(*session).exec)
	}
	c.lru.Init()
	c.index = map[string]*list.Element{}
	c.closed = true
	c.mu.Unlock()
	for _, e := range all {
		e.teardown()
	}
}

// len returns the number of cached executions.
func (c *sessionCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
