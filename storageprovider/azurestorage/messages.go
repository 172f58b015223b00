package azurestorage

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unsafe"

	"github.com/google/uuid"

	sp "github.com/funchost/funchost/storageprovider"
)

// Queue message bodies follow DTFx's MessageData shape (Newtonsoft JSON
// with "$type" first), so that DTFx tooling can read them; nested objects
// other than the event carry no "$type" (Newtonsoft does not need it
// there).

const (
	typeMessageData = "DurableTask.AzureStorage.MessageData"
	typeTaskMessage = "DurableTask.Core.TaskMessage"
	// queueMessageLimit: bodies above this many bytes of UTF-8 go to a
	// gzip blob (DTFx's 45 KiB margin below the 64 KiB service limit).
	queueMessageLimit = 45 * 1024
)

type messageData struct {
	Type               string           `json:"$type"`
	ActivityID         string           `json:"ActivityId"`
	TaskMessage        *taskMessageJSON `json:"TaskMessage"`
	CompressedBlobName *string          `json:"CompressedBlobName"`
	SequenceNumber     int64            `json:"SequenceNumber"`
	Sender             senderJSON       `json:"Sender"`
	// LocalDeliveries counts the times this message was handed to a work
	// item without a dequeue (localsend.go) and then released: the queue's
	// DequeueCount does not see those deliveries, so the receiver adds
	// them. DTFx readers ignore the unknown property.
	LocalDeliveries int `json:"FunchostLocalDeliveries,omitempty"`
	// Rejections is funchost's own field (DTFx ignores it): how many times
	// workers rejected the message by orchestration versioning. Never
	// written when sending; withRejections adds it to a received body.
	Rejections int `json:"FunchostRejections,omitempty"`
}

type senderJSON struct {
	InstanceID  string `json:"InstanceId"`
	ExecutionID string `json:"ExecutionId"`
}

type taskMessageJSON struct {
	Type                  string                    `json:"$type"`
	Event                 json.RawMessage           `json:"Event"`
	SequenceNumber        int64                     `json:"SequenceNumber"`
	OrchestrationInstance *sp.OrchestrationInstance `json:"OrchestrationInstance"`
}

// eventTypeName is the .NET type name of a history event class.
func eventTypeName(t sp.EventType) string {
	if t == sp.EventGenericEvent {
		return "DurableTask.Core.History.GenericEvent"
	}
	return "DurableTask.Core.History." + t.String() + "Event"
}

// eventSlot is where encodeMessageBody puts the event into the encoded
// message: the message is marshalled with the placeholder 0 for it. The
// text cannot occur earlier (before it come only the constant types and
// the activity ID, and a quote inside a JSON string is escaped).
const eventSlot = `"TaskMessage":{"$type":"` + typeTaskMessage + `","Event":0`

// messageBody is a MessageData body in pieces: the marshalled message
// and event around the event's large strings, which are escaped only
// when the body is written. Its length is known without writing it, and
// largeStore.uploadMessage gzips it without ever holding it whole.
type messageBody struct {
	pieces []bodyPiece
	n      int // the body's length
}

// encodeMessageBody renders m as encodeMessage does, in pieces. The
// message and the event are marshalled with placeholders (encodedEvent);
// json.Marshal of the event itself would escape a 50 MB input into its
// own growing buffer and return a copy of it.
func encodeMessageBody(m *sp.TaskMessage, activityID string, sender sp.OrchestrationInstance) (messageBody, error) {
	if m.Event == nil {
		return messageBody{}, fmt.Errorf("task message for %q has no event", m.Target.InstanceID)
	}
	ev, err := encodeEvent(m.Event)
	if err != nil {
		return messageBody{}, fmt.Errorf("task message for %q: %w", m.Target.InstanceID, err)
	}
	target := m.Target
	md := messageData{
		Type:       typeMessageData,
		ActivityID: activityID,
		TaskMessage: &taskMessageJSON{
			Type:                  typeTaskMessage,
			Event:                 json.RawMessage(`0`),
			SequenceNumber:        m.SequenceNumber,
			OrchestrationInstance: &target,
		},
		SequenceNumber: m.SequenceNumber,
		Sender:         senderJSON(sender),
	}
	shell, err := json.Marshal(md)
	if err != nil {
		return messageBody{}, err
	}
	i := bytes.Index(shell, []byte(eventSlot))
	if i < 0 {
		return messageBody{}, fmt.Errorf("task message for %q: encoded message has no event slot", m.Target.InstanceID)
	}
	cut := i + len(eventSlot) - 1 // the placeholder
	// The pieces view shell, prefix and the event's encoding, which
	// nothing changes afterwards.
	pieces := make([]bodyPiece, 0, 2*len(ev.slots)+4)
	pieces = append(pieces, bodyPiece{text: ownedString(shell[:cut])}, bodyPiece{text: typedEventPrefix(m.Event.EventType, len(ev.json) > 2)})
	pieces = ev.appendPieces(pieces, 1)
	pieces = append(pieces, bodyPiece{text: ownedString(shell[cut+1:])})
	n := 0
	for _, p := range pieces {
		n += p.len()
	}
	return messageBody{pieces: pieces, n: n}, nil
}

// bytes returns the body in one slice of exactly its length.
func (b messageBody) bytes() []byte {
	out := make([]byte, 0, b.n)
	for _, p := range b.pieces {
		out = p.appendTo(out)
	}
	return out
}

// typedEventPrefix is what goes before an event object's fields (without
// its opening brace) to put "$type" first; more says whether fields
// follow.
func typedEventPrefix(t sp.EventType, more bool) string {
	tn, _ := json.Marshal(eventTypeName(t))
	if more {
		return `{"$type":` + string(tn) + `,`
	}
	return `{"$type":` + string(tn)
}

// wrapperMessage is the small body that points at an offloaded message.
func wrapperMessage(activityID, blobName string, seq int64) []byte {
	b, _ := json.Marshal(messageData{Type: typeMessageData, ActivityID: activityID, CompressedBlobName: &blobName, SequenceNumber: seq})
	return b
}

// decodedBody is a parsed queue message body: either a task message or a
// reference to a blob that holds one.
type decodedBody struct {
	msg             *sp.TaskMessage
	blobName        string
	rejections      int
	localDeliveries int
}

// decodeBody parses a queue message body: raw JSON, or Base64 of it (as
// older writers produce).
func decodeBody(text string) (decodedBody, error) {
	if len(text) == 0 {
		return decodeBodyBytes(nil)
	}
	// Read in place: decodeBodyBytes never writes to its argument.
	return decodeBodyBytes(unsafe.Slice(unsafe.StringData(text), len(text)))
}

// messageDataIn is messageData as decodeBodyBytes reads it: the event is
// decoded in the same pass (a json.RawMessage would copy a large event
// once more before it is decoded); its "$type" is not a field of the
// event and is skipped.
type messageDataIn struct {
	CompressedBlobName *string `json:"CompressedBlobName"`
	SequenceNumber     int64   `json:"SequenceNumber"`
	TaskMessage        *struct {
		Event                 *sp.HistoryEvent          `json:"Event"`
		OrchestrationInstance *sp.OrchestrationInstance `json:"OrchestrationInstance"`
	} `json:"TaskMessage"`
	LocalDeliveries int `json:"FunchostLocalDeliveries"`
	Rejections      int `json:"FunchostRejections"`
}

// decodeBodyBytes is decodeBody on bytes (a downloaded blob); raw is only
// read.
func decodeBodyBytes(raw []byte) (decodedBody, error) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		dec := make([]byte, base64.StdEncoding.DecodedLen(len(raw)))
		n, err := base64.StdEncoding.Decode(dec, raw)
		if err != nil {
			return decodedBody{}, fmt.Errorf("queue message is neither JSON nor Base64: %w", err)
		}
		raw = dec[:n]
	}
	var md messageDataIn
	if err := json.Unmarshal(raw, &md); err != nil {
		return decodedBody{}, fmt.Errorf("queue message: %w", err)
	}
	if md.CompressedBlobName != nil && *md.CompressedBlobName != "" {
		return decodedBody{blobName: *md.CompressedBlobName, rejections: md.Rejections, localDeliveries: md.LocalDeliveries}, nil
	}
	if md.TaskMessage == nil || md.TaskMessage.Event == nil {
		return decodedBody{}, fmt.Errorf("queue message has no TaskMessage")
	}
	m := &sp.TaskMessage{Event: md.TaskMessage.Event, SequenceNumber: md.SequenceNumber}
	if md.TaskMessage.OrchestrationInstance != nil {
		m.Target = *md.TaskMessage.OrchestrationInstance
	}
	return decodedBody{msg: m, rejections: md.Rejections, localDeliveries: md.LocalDeliveries}, nil
}

// rejectionsSuffix is the field withRejections appends, at the end of the
// body.
var rejectionsSuffix = regexp.MustCompile(`,"FunchostRejections":[0-9]+\}$`)

// withRejections returns a received queue message body (JSON, or Base64
// of it) with its FunchostRejections set to n, in the same encoding. The
// field goes last, so DTFx readers (which need "$type" first) read the
// body as before.
func withRejections(text string, n int) (string, error) {
	raw, b64 := []byte(strings.TrimSpace(text)), false
	if len(raw) == 0 || raw[0] != '{' {
		dec, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			return "", fmt.Errorf("queue message is neither JSON nor Base64: %w", err)
		}
		raw, b64 = bytes.TrimSpace(dec), true
	}
	if loc := rejectionsSuffix.FindIndex(raw); loc != nil {
		raw = append(raw[:loc[0]:loc[0]], '}')
	}
	if len(raw) < 3 || raw[len(raw)-1] != '}' {
		return "", errors.New("queue message body is not a JSON object")
	}
	out := append(raw[:len(raw)-1:len(raw)-1], fmt.Sprintf(`,"FunchostRejections":%d}`, n)...)
	if !json.Valid(out) {
		return "", errors.New("queue message body is not valid JSON")
	}
	if b64 {
		return base64.StdEncoding.EncodeToString(out), nil
	}
	return string(out), nil
}

// withLocalDelivery returns a body written by this provider with its
// LocalDeliveries count one higher (the text sent back when a locally
// handed message is released). A body it cannot parse is returned as is.
func withLocalDelivery(text string) string {
	var md messageData
	if err := json.Unmarshal([]byte(text), &md); err != nil || md.Type != typeMessageData {
		return text
	}
	md.LocalDeliveries++
	b, err := json.Marshal(md)
	if err != nil {
		return text
	}
	return string(b)
}

// newActivityID returns a GUID in "N" format.
func newActivityID() string {
	u := uuid.New()
	return fmt.Sprintf("%x", u[:])
}
