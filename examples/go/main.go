// A small game server for Cairn in Go, written against the public contract only (subjects, JSON,
// headers; schemas/CONTRACT.md): it creates and plays a hunt, follows the boards from HUNT_RANKS
// with the shift rule, checks them against the engine's queries, and reads the rejections.
//
//	cairn-example [-nats URL] [-hunt ID] HUNT_FILE
//
// HUNT_FILE holds the hunt's definition, the `data` of its HuntCreated: {title, treasures, rules}.
// A hunt whose rules have `teams` is played as a team hunt. Exit status: 0 when every check
// passed, 1 when one failed or the engine could not be reached, 2 for a usage error.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// treasure is what the script needs to know of a treasure of the hunt file.
type treasure struct {
	ID           string   `json:"id"`
	Requires     []string `json:"requires"`
	Review       bool     `json:"review"`
	AnswerSha256 string   `json:"answerSha256"`
	OpensAfterMs int64    `json:"opensAfterMs"`
	Location     *struct {
		Lat float64 `json:"lat"`
		Lon float64 `json:"lon"`
	} `json:"location"`
}

type huntFile struct {
	Title     string     `json:"title"`
	Treasures []treasure `json:"treasures"`
	Rules     struct {
		Teams json.RawMessage `json:"teams"`
	} `json:"rules"`
}

// The players of the script, and in a team hunt their teams.
var players = []struct{ id, name, team string }{
	{"ann", "Ann", "red"}, {"bob", "Bob", "red"}, {"cat", "Cat", "blue"}, {"dan", "Dan", "blue"},
}
var teams = []struct{ id, name string }{{"red", "Red Herrings"}, {"blue", "Blue Whales"}}

func main() {
	natsURL := flag.String("nats", envOr("NATS_URL", nats.DefaultURL), "NATS server URL (env NATS_URL)")
	hunt := flag.String("hunt", fmt.Sprintf("go-%d", time.Now().Unix()), "hunt id: 1-64 characters of [A-Za-z0-9_-]")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [-nats URL] [-hunt ID] HUNT_FILE\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	raw, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot read the hunt file: %v\n", err)
		os.Exit(2)
	}
	var def huntFile
	if err := json.Unmarshal(raw, &def); err != nil {
		fmt.Fprintf(os.Stderr, "%s is not a hunt definition ({title, treasures, rules}): %v\n", flag.Arg(0), err)
		os.Exit(2)
	}
	nc, err := nats.Connect(*natsURL, nats.Name("cairn-example-go"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot connect to %s: %v\n", *natsURL, err)
		os.Exit(1)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		fmt.Fprintf(os.Stderr, "JetStream: %v\n", err)
		os.Exit(1)
	}
	g := &game{
		server:    server{nc: nc, js: js, hunt: *hunt, source: "example-go-server"},
		def:       def,
		raw:       json.RawMessage(raw),
		teamHunt:  len(def.Rules.Teams) > 0 && string(def.Rules.Teams) != "null",
		players:   newBoard("player"),
		teams:     newBoard("team"),
		expectBad: map[string]string{},
	}
	if err := g.run(); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
	if len(g.failures) > 0 {
		fmt.Printf("\nFAILED: %d check(s)\n", len(g.failures))
		for _, f := range g.failures {
			fmt.Printf("  - %s\n", f)
		}
		os.Exit(1)
	}
	fmt.Println("\nOK: every check passed")
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// game is one run of the script against one hunt.
type game struct {
	server
	def      huntFile
	raw      json.RawMessage
	teamHunt bool

	ranks, rejected chan *nats.Msg
	players, teams  *board
	// read holds, for each subject followed, the stream sequence of the last message handled.
	read    map[string]uint64
	lastSeq uint64 // the sequence of the last event this server published
	// expectBad maps the id of each event published to be rejected to the code it must get.
	expectBad map[string]string
	failures  []string
}

func (g *game) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Println("  FAIL: " + msg)
	g.failures = append(g.failures, msg)
}

func (g *game) run() error {
	mode := "solo"
	if g.teamHunt {
		mode = "team"
	}
	chain := findable(g.def.Treasures)
	review := ""
	for _, t := range g.def.Treasures {
		if t.Review {
			review = t.ID
			break
		}
	}
	fmt.Printf("hunt %s: %q, a %s hunt; clue chain %s", g.hunt, g.def.Title, mode, strings.Join(chain, " -> "))
	if review != "" {
		fmt.Printf("; %s is scored by review", review)
	}
	fmt.Println()
	if len(chain) < 2 {
		return fmt.Errorf("the hunt file needs at least two treasures this script can find (no review, no answer, open from the start)")
	}
	if err := g.follow(); err != nil {
		return err
	}

	fmt.Println("\n== publishing (acked JetStream publishes, Nats-Msg-Id = event id)")
	if err := g.send("HuntCreated", g.raw); err != nil {
		return err
	}
	if g.teamHunt {
		for _, t := range teams {
			if err := g.send("TeamCreated", map[string]any{"teamId": t.id, "name": t.name}); err != nil {
				return err
			}
		}
	}
	for _, p := range players {
		data := map[string]any{"playerId": p.id, "name": p.name}
		if g.teamHunt {
			data["teamId"] = p.team
		}
		if err := g.send("PlayerJoined", data); err != nil {
			return err
		}
	}
	if err := g.send("HuntStarted", nil); err != nil {
		return err
	}
	if err := g.send("HintTaken", map[string]any{"playerId": "dan", "treasureId": chain[0]}); err != nil {
		return err
	}
	first := g.newEvent("TreasureFound", g.find("ann", chain[0]))
	ack, err := g.publishEvent(first)
	if err != nil {
		return err
	}
	// The ack of that publish was "lost": a real server sends the same event again, with the same
	// id. JetStream recognises the id, stores nothing and acks with the first one's sequence.
	retry, err := g.publish(first)
	if err != nil {
		return err
	}
	fmt.Printf("retry      seq %4d  %-18s %s  duplicate=%v\n", retry.Sequence, first.Type, first.ID, retry.Duplicate)
	if !retry.Duplicate || retry.Sequence != ack.Sequence {
		g.fail("the retry of %s was not dropped as a duplicate of seq %d (ack: seq %d, duplicate %v)", first.ID, ack.Sequence, retry.Sequence, retry.Duplicate)
	}
	for _, step := range []struct{ player, treasure string }{{"cat", chain[0]}, {"ann", chain[1]}, {"cat", chain[1]}} {
		if err := g.send("TreasureFound", g.find(step.player, step.treasure)); err != nil {
			return err
		}
	}
	if len(chain) > 2 {
		if err := g.send("TreasureFound", g.find("ann", chain[2])); err != nil {
			return err
		}
	}
	if review != "" {
		// A treasure with `review: true` is scored by a person: bob submits his evidence, a
		// reviewer approves it, and the treasure's points go to bob (and his team).
		submission := g.hunt + "-photo-1"
		if err := g.send("SubmissionMade", map[string]any{"submissionId": submission, "playerId": "bob",
			"treasureId": review, "evidence": "photo 1 of 1, taken by bob at the mural"}); err != nil {
			return err
		}
		if err := g.send("SubmissionReviewed", map[string]any{"submissionId": submission, "approved": true,
			"reviewer": "judge-1", "reason": "the mural is in the photo"}); err != nil {
			return err
		}
	}
	if g.teamHunt {
		if err := g.send("ScoreAdjusted", map[string]any{"teamId": "blue", "delta": 5,
			"reason": "helped the red team across the river", "by": "organiser"}); err != nil {
			return err
		}
	}
	if err := g.send("ScoreAdjusted", map[string]any{"playerId": "bob", "delta": 2,
		"reason": "found a lost phone", "by": "organiser"}); err != nil {
		return err
	}
	// A deliberately bad event: the engine stores it in the log and rejects it, with its reason,
	// on hunt.<id>.rejected.
	bad := g.newEvent("TreasureFound", map[string]any{"playerId": "ann", "treasureId": "no-such-treasure"})
	g.expectBad[bad.ID] = "unknown_treasure"
	if _, err := g.publishEvent(bad); err != nil {
		return err
	}
	if err := g.send("PlayerLeft", map[string]any{"playerId": "dan"}); err != nil {
		return err
	}
	if err := g.send("HuntEnded", map[string]any{"reason": "the example is over"}); err != nil {
		return err
	}

	if err := g.catchUp(); err != nil {
		return err
	}
	g.checkRejections()
	fmt.Println("\n== ranks kept from the stream, checked against hunt." + g.hunt + ".query.rank")
	g.checkRanks(g.players, "playerId")
	if g.teamHunt {
		g.checkRanks(g.teams, "teamId")
	}
	return g.askQueries()
}

// findable lists the treasures this script can find, clues in order: each one after every
// treasure it requires. Treasures scored by review, with an answer, or not open from the start
// are left out, and so is any that requires one of them.
func findable(treasures []treasure) []string {
	var chain []string
	done := map[string]bool{}
	for progress := true; progress; {
		progress = false
		for _, t := range treasures {
			if done[t.ID] || t.Review || t.AnswerSha256 != "" || t.OpensAfterMs > 0 {
				continue
			}
			ready := true
			for _, r := range t.Requires {
				ready = ready && done[r]
			}
			if ready {
				done[t.ID], progress = true, true
				chain = append(chain, t.ID)
			}
		}
	}
	return chain
}

// find is a TreasureFound's data; a treasure with a location is reported from its very spot.
func (g *game) find(player, treasureID string) map[string]any {
	data := map[string]any{"playerId": player, "treasureId": treasureID}
	for _, t := range g.def.Treasures {
		if t.ID == treasureID && t.Location != nil {
			data["location"] = map[string]float64{"lat": t.Location.Lat, "lon": t.Location.Lon}
		}
	}
	return data
}

func (g *game) send(typ string, data any) error {
	_, err := g.publishEvent(g.newEvent(typ, data))
	return err
}

func (g *game) publishEvent(ev event) (*nats.PubAck, error) {
	ack, err := g.publish(ev)
	if err != nil {
		return nil, err
	}
	g.lastSeq = ack.Sequence
	fmt.Printf("published  seq %4d  %-18s %s\n", ack.Sequence, ev.Type, ev.ID)
	g.drain(0)
	return ack, nil
}

// followed maps each subject this server follows to its stream: the hunt's player rank
// messages, in a team hunt its team rank messages, and its rejections.
func (g *game) followed() map[string]string {
	subjects := map[string]string{"hunt." + g.hunt + ".ranks": "HUNT_RANKS", "hunt." + g.hunt + ".rejected": "HUNT_REJECTED"}
	if g.teamHunt {
		subjects["hunt."+g.hunt+".teams.ranks"] = "HUNT_RANKS"
	}
	return subjects
}

// follow reads each followed subject from the beginning of its stream with an ordered consumer
// (an ephemeral consumer that the client recreates, in order, if it misses a message).
func (g *game) follow() error {
	g.ranks = make(chan *nats.Msg, 4096)
	g.rejected = make(chan *nats.Msg, 1024)
	g.read = map[string]uint64{}
	for subject, stream := range g.followed() {
		ch := g.ranks
		if stream == "HUNT_REJECTED" {
			ch = g.rejected
		}
		if _, err := g.js.ChanSubscribe(subject, ch, nats.OrderedConsumer(), nats.BindStream(stream), nats.DeliverAll()); err != nil {
			return fmt.Errorf("following %s on %s: %w (the engine creates the streams: is it running, and does it serve this subject?)", subject, stream, err)
		}
	}
	return nil
}

// drain handles every message that has arrived; when none has, it waits up to `wait` for one.
func (g *game) drain(wait time.Duration) bool {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	got := false
	for {
		if got || wait == 0 {
			select {
			case m := <-g.ranks:
				g.onRank(m)
			case m := <-g.rejected:
				g.onRejected(m)
			default:
				return got
			}
		} else {
			select {
			case m := <-g.ranks:
				g.onRank(m)
			case m := <-g.rejected:
				g.onRejected(m)
			case <-timer.C:
				return false
			}
		}
		got = true
	}
}

type rankMessage struct {
	Seq          int64  `json:"seq"`
	PlayerID     string `json:"playerId"`
	TeamID       string `json:"teamId"`
	Score        int64  `json:"score"`
	Rank         int64  `json:"rank"`
	PreviousRank int64  `json:"previousRank"`
	Players      int64  `json:"players"`
	Teams        int64  `json:"teams"`
}

func (g *game) onRank(m *nats.Msg) {
	if meta, err := m.Metadata(); err == nil {
		g.read[m.Subject] = meta.Sequence.Stream
	}
	var r rankMessage
	if err := json.Unmarshal(m.Data, &r); err != nil {
		g.fail("%s: a rank message that is not JSON: %v", m.Subject, err)
		return
	}
	b, id, n := g.players, r.PlayerID, r.Players
	if strings.HasSuffix(m.Subject, ".teams.ranks") {
		b, id, n = g.teams, r.TeamID, r.Teams
	}
	fmt.Printf("  rank     seq %4d  %-6s %-5s score %4d  rank %d (was %d) of %d\n", r.Seq, b.name, id, r.Score, r.Rank, r.PreviousRank, n)
	if err := b.apply(r.Seq, id, r.Score, r.Rank, r.PreviousRank, n); err != nil {
		g.fail("%v", err)
	}
}

type rejection struct {
	Seq     int64   `json:"seq"`
	EventID *string `json:"eventId"`
	Type    *string `json:"type"`
	Code    string  `json:"code"`
	Message string  `json:"message"`
}

func (g *game) onRejected(m *nats.Msg) {
	if meta, err := m.Metadata(); err == nil {
		g.read[m.Subject] = meta.Sequence.Stream
	}
	var r rejection
	if err := json.Unmarshal(m.Data, &r); err != nil {
		g.fail("%s: a rejection that is not JSON: %v", m.Subject, err)
		return
	}
	id, typ := "(unreadable)", "(unreadable)"
	if r.EventID != nil {
		id = *r.EventID
	}
	if r.Type != nil {
		typ = *r.Type
	}
	fmt.Printf("  rejected seq %4d  %-18s %s  %s: %s\n", r.Seq, typ, id, r.Code, r.Message)
	want, expected := g.expectBad[id]
	switch {
	case !expected:
		g.fail("event %s (%s) was rejected %s: %s", id, typ, r.Code, r.Message)
	case want != r.Code:
		g.fail("event %s was rejected %s, expected %s", id, r.Code, want)
	default:
		delete(g.expectBad, id)
	}
}

// catchUp waits until the engine has handled every event published (a `state` reply's seq is
// the last input it handled), then until this server has read everything the engine stored for
// the hunt on the followed subjects up to then.
func (g *game) catchUp() error {
	fmt.Println("\n== waiting for the engine to handle seq", g.lastSeq)
	deadline := time.Now().Add(15 * time.Second)
	for {
		var st struct {
			Seq uint64 `json:"seq"`
		}
		if err := g.query(g.hunt, "state", map[string]any{}, &st); err != nil {
			return err
		}
		if st.Seq >= g.lastSeq {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the engine handled up to seq %d, not %d, in 15 s", st.Seq, g.lastSeq)
		}
		g.drain(100 * time.Millisecond)
	}
	for subject, stream := range g.followed() {
		last, err := g.js.GetLastMsg(stream, subject)
		if errors.Is(err, nats.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("last message on %s: %w", subject, err)
		}
		for g.read[subject] < last.Sequence {
			if !g.drain(5 * time.Second) {
				return fmt.Errorf("%s read to stream sequence %d of %d: no message for 5 s", subject, g.read[subject], last.Sequence)
			}
		}
	}
	return nil
}

// checkRejections waits for the verdict on each event published to be rejected.
func (g *game) checkRejections() {
	deadline := time.Now().Add(5 * time.Second)
	for len(g.expectBad) > 0 && time.Now().Before(deadline) {
		g.drain(250 * time.Millisecond)
	}
	for id, code := range g.expectBad {
		g.fail("event %s was not rejected (expected %s)", id, code)
	}
}

// checkRanks compares every competitor's rank and score kept from the stream with the engine's.
// The engine answers for an input as soon as it has folded it, and its rank message is stored a
// moment later: while they differ, this reads what arrived and asks again, for up to 5 s.
func (g *game) checkRanks(b *board, field string) {
	type answer struct{ Seq, Rank, Score int64 }
	deadline := time.Now().Add(5 * time.Second)
	for {
		answers := map[string]answer{}
		same := true
		for _, id := range b.order {
			var got answer
			if err := g.query(g.hunt, "rank", map[string]any{field: id}, &got); err != nil {
				g.fail("rank of %s %s: %v", b.name, id, err)
				return
			}
			answers[id] = got
			same = same && got.Rank == b.byID[id].Rank && got.Score == b.byID[id].Score
		}
		if !same && time.Now().Before(deadline) {
			g.drain(250 * time.Millisecond)
			continue
		}
		for _, id := range b.order {
			mine, got := b.byID[id], answers[id]
			verdict := "same"
			if got.Rank != mine.Rank || got.Score != mine.Score {
				verdict = "DIFFERENT"
				g.fail("%s %s: the stream gives rank %d score %d, query.rank rank %d score %d", b.name, id, mine.Rank, mine.Score, got.Rank, got.Score)
			}
			fmt.Printf("  %-6s %-5s stream: rank %d score %4d   query (seq %d): rank %d score %4d   %s\n", b.name, id, mine.Rank, mine.Score, got.Seq, got.Rank, got.Score, verdict)
		}
		return
	}
}
