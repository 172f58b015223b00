package memory

// fifo is a slice-backed queue that reuses its storage.
type fifo[T any] struct {
	items []T
	head  int
}

func (q *fifo[T]) len() int { return len(q.items) - q.head }

func (q *fifo[T]) push(v T) { q.items = append(q.items, v) }

func (q *fifo[T]) pop() (T, bool) {
	var zero T
	if q.head >= len(q.items) {
		return zero, false
	}
	v := q.items[q.head]
	q.items[q.head] = zero
	q.head++
	switch {
	case q.head == len(q.items):
		// Empty: start over at the front of the same array.
		q.items = q.items[:0]
		q.head = 0
	case q.head >= 1024 && q.head*2 >= len(q.items):
		// Mostly consumed: slide the rest down so the array stays bounded.
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items = q.items[:n]
		q.head = 0
	}
	return v, true
}

func (q *fifo[T]) each(f func(T)) {
	for _, v := range q.items[q.head:] {
		f(v)
	}
}
