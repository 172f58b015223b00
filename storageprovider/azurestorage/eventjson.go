package azurestorage

import (
	"bytes"
	"encoding/json"
	"strconv"

	sp "github.com/funchost/funchost/storageprovider"
)

// largeFieldMin is the length from which an event's payload string is
// left out of json.Marshal and escaped into the body by appendEscaped.
// Shorter strings are cheaper to let encoding/json handle.
const largeFieldMin = 4 << 10

// largeFieldPlaceholder stands for the i-th large field in the event as
// json.Marshal encodes it. It needs no escaping, so it appears in the
// encoding as written.
func largeFieldPlaceholder(i int) string { return "funchost-large-field-" + strconv.Itoa(i) }

// payloadFields are the event's string fields that may hold a payload, in
// the order encoding/json writes them (the struct's field order).
func payloadFields(e *sp.HistoryEvent) [5]*string {
	return [5]*string{&e.Input, &e.Result, &e.Reason, &e.Details, &e.Data}
}

// hasLargeField reports whether one of e's payload strings is
// largeFieldMin bytes or more.
func hasLargeField(e *sp.HistoryEvent) bool {
	for _, f := range payloadFields(e) {
		if len(*f) >= largeFieldMin {
			return true
		}
	}
	return false
}

// encodedEvent is an event encoded with its large strings left out:
// json is json.Marshal's encoding of the event with a placeholder in
// each of them, and slots say where each goes and what it holds.
type encodedEvent struct {
	json  []byte
	slots []eventSlotAt
}

// eventSlotAt is one large string: json[at:end] is its quoted
// placeholder.
type eventSlotAt struct {
	at, end int
	value   string
}

// encodeEvent encodes e as json.Marshal does, except that strings of
// largeFieldMin bytes or more are escaped later, into the body. A
// placeholder that does not occur exactly once in the encoding (another
// field holding the same text) makes it encode the event whole instead.
func encodeEvent(e *sp.HistoryEvent) (encodedEvent, error) {
	if hasLargeField(e) {
		c := *e
		var values []string
		for _, f := range payloadFields(&c) {
			if len(*f) >= largeFieldMin {
				values = append(values, *f)
				*f = largeFieldPlaceholder(len(values) - 1)
			}
		}
		b, err := json.Marshal(&c)
		if err != nil {
			return encodedEvent{}, err
		}
		if ev, ok := locateSlots(b, values); ok {
			return ev, nil
		}
	}
	b, err := json.Marshal(e)
	if err != nil {
		return encodedEvent{}, err
	}
	return encodedEvent{json: b}, nil
}

// locateSlots finds each value's quoted placeholder in b, in order; ok is
// false when one is missing or occurs more than once.
func locateSlots(b []byte, values []string) (encodedEvent, bool) {
	ev := encodedEvent{json: b}
	from := 0
	for i, v := range values {
		ph := largeFieldPlaceholder(i)
		if bytes.Count(b, []byte(ph)) != 1 {
			return encodedEvent{}, false
		}
		q := []byte(`"` + ph + `"`)
		at := bytes.Index(b[from:], q)
		if at < 0 {
			return encodedEvent{}, false
		}
		at += from
		from = at + len(q)
		ev.slots = append(ev.slots, eventSlotAt{at: at, end: from, value: v})
	}
	return ev, true
}

// appendPieces appends the event's full encoding from byte off of json
// (off must lie before the first slot) as body pieces: the marshalled
// parts as they are (views of json, which nothing changes), each large
// string quoted and to be escaped.
func (ev encodedEvent) appendPieces(pieces []bodyPiece, off int) []bodyPiece {
	for _, s := range ev.slots {
		pieces = append(pieces, bodyPiece{text: ownedString(ev.json[off : s.at+1])}, bodyPiece{text: s.value, escape: true})
		off = s.end - 1 // the closing quote starts the next piece
	}
	return append(pieces, bodyPiece{text: ownedString(ev.json[off:])})
}

// len is the piece's length as written.
func (p bodyPiece) len() int {
	if p.escape {
		return escapedLen(p.text)
	}
	return len(p.text)
}

// appendTo appends the piece as written.
func (p bodyPiece) appendTo(dst []byte) []byte {
	if p.escape {
		return appendEscaped(dst, p.text)
	}
	return append(dst, p.text...)
}
