package memory

// EntryCount returns how many instance entries (rows or queued work) the
// hub holds, for leak checks in tests.
func EntryCount(h *TaskHub) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.instances)
}

// IsCompacted reports whether an instance's history is held as JSON.
func IsCompacted(h *TaskHub, id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	inst := h.instances[id]
	return inst != nil && inst.compact != nil
}
