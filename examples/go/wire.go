// The game server's side of the wire: acked JetStream publishes of CloudEvents, and queries.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// event is a CloudEvents 1.0 envelope in structured mode (the contract, "Input events").
type event struct {
	SpecVersion string `json:"specversion"`
	ID          string `json:"id"`
	Source      string `json:"source"`
	Type        string `json:"type"`
	Data        any    `json:"data,omitempty"`
}

// queryError is the body of every error reply: {"error": {"code", "message"}}.
type queryError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *queryError) Error() string { return e.Code + ": " + e.Message }

// server is one game server: its connection, its hunt and the ids it has used.
type server struct {
	nc     *nats.Conn
	js     nats.JetStreamContext
	hunt   string
	source string
	next   int // the number in the next event id
}

// newEvent gives the next event an id unique across hunts: JetStream's duplicate window spans
// the whole HUNT_EVENTS stream, so the hunt id is part of every event id.
func (s *server) newEvent(typ string, data any) event {
	s.next++
	return event{SpecVersion: "1.0", ID: fmt.Sprintf("%s:%d", s.hunt, s.next), Source: s.source, Type: typ, Data: data}
}

// publish sends an event to hunt.<id>.events with Nats-Msg-Id = its id and waits for
// JetStream's ack, which carries the stream sequence. A publish whose ack does not come is sent
// again, byte for byte with the same id: if the first one was stored after all, JetStream drops
// the retry as a duplicate and acks it with the first one's sequence, so nothing is applied twice.
func (s *server) publish(ev event) (*nats.PubAck, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	var last error
	for attempt := 1; attempt <= 3; attempt++ {
		msg := nats.NewMsg("hunt." + s.hunt + ".events")
		msg.Header.Set(nats.MsgIdHdr, ev.ID) // "Nats-Msg-Id"
		msg.Data = body
		ack, err := s.js.PublishMsg(msg, nats.AckWait(2*time.Second))
		if err == nil {
			return ack, nil
		}
		last = err
		if !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, nats.ErrNoResponders) {
			break
		}
		fmt.Printf("publish of %s: %v, sending it again (attempt %d)\n", ev.ID, err, attempt+1)
	}
	return nil, fmt.Errorf("publishing %s %s: %w (is the engine running? it creates the streams)", ev.Type, ev.ID, last)
}

// query asks hunt.<id>.query.<op> and decodes the reply into out. An error reply comes back as a
// *queryError; `unavailable` (the hunt is loading or moving) is asked again for up to 10 s, as the
// contract advises.
func (s *server) query(hunt, op string, request, out any) error {
	body, err := json.Marshal(request)
	if err != nil {
		return err
	}
	subject := "hunt." + hunt + ".query." + op
	deadline := time.Now().Add(10 * time.Second)
	for {
		reply, err := s.nc.Request(subject, body, 5*time.Second)
		if errors.Is(err, nats.ErrNoResponders) {
			return fmt.Errorf("%s: no engine answers (is cairn serve running?)", subject)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", subject, err)
		}
		var failed struct {
			Error *queryError `json:"error"`
		}
		if err := json.Unmarshal(reply.Data, &failed); err != nil {
			return fmt.Errorf("%s: reply is not JSON: %w", subject, err)
		}
		if failed.Error == nil {
			return json.Unmarshal(reply.Data, out)
		}
		if failed.Error.Code != "unavailable" || time.Now().After(deadline) {
			return failed.Error
		}
		time.Sleep(250 * time.Millisecond)
	}
}
