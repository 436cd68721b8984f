// The queries a game server asks (top with cursor paging, around, state, ledger), each checked
// against the board kept from the stream, and the error replies of bad requests.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
)

type entry struct {
	Rank     int64  `json:"rank"`
	PlayerID string `json:"playerId"`
	TeamID   string `json:"teamId"`
	Score    int64  `json:"score"`
}

func (e entry) id() string {
	if e.TeamID != "" {
		return e.TeamID
	}
	return e.PlayerID
}

func (g *game) askQueries() error {
	fmt.Println("\n== top, page by page (n = 2, then after = the reply's next)")
	g.pageTop(g.players, map[string]any{})
	if g.teamHunt {
		g.pageTop(g.teams, map[string]any{"board": "teams"})
	}

	fmt.Println("\n== around")
	g.around(g.players, "playerId", "cat")
	if g.teamHunt {
		g.around(g.teams, "teamId", "blue")
	}

	fmt.Println("\n== state")
	g.state()

	fmt.Println("\n== ledger (limit = 2 a page)")
	ledgerServed := true
	for _, id := range g.players.order {
		ledgerServed = ledgerServed && g.ledger(g.players, "playerId", id)
	}
	for _, id := range g.teams.order {
		ledgerServed = ledgerServed && g.ledger(g.teams, "teamId", id)
	}

	fmt.Println("\n== error replies")
	g.expectError(g.hunt, "top", map[string]any{"n": 0}, "invalid_request")
	g.expectError(g.hunt+"-nobody", "state", map[string]any{}, "unknown_hunt")
	return nil
}

// pageTop reads a whole board page by page and checks it against the board kept from the stream.
func (g *game) pageTop(b *board, request map[string]any) {
	request["n"] = 2
	var seen []entry
	for page := 1; ; page++ {
		var reply struct {
			Seq     int64   `json:"seq"`
			Entries []entry `json:"entries"`
			Next    *string `json:"next"`
		}
		if err := g.query(g.hunt, "top", request, &reply); err != nil {
			g.fail("top of the %s board: %v", b.name, err)
			return
		}
		for _, e := range reply.Entries {
			fmt.Printf("  %s board page %d: #%d %-5s %4d\n", b.name, page, e.Rank, e.id(), e.Score)
		}
		seen = append(seen, reply.Entries...)
		if reply.Next == nil {
			break
		}
		request["after"] = *reply.Next
	}
	ranked := 0
	for _, id := range b.order {
		if b.byID[id].Rank > 0 {
			ranked++
		}
	}
	if len(seen) != ranked {
		g.fail("top of the %s board: %d entries over all pages, %d ranked on the stream", b.name, len(seen), ranked)
	}
	for i, e := range seen {
		mine, ok := b.byID[e.id()]
		if e.Rank != int64(i+1) || !ok || mine.Rank != e.Rank || mine.Score != e.Score {
			g.fail("top of the %s board: entry %d is %s rank %d score %d, not what the stream says", b.name, i+1, e.id(), e.Rank, e.Score)
		}
	}
}

func (g *game) around(b *board, field, id string) {
	var reply struct {
		Seq     int64   `json:"seq"`
		Entries []entry `json:"entries"`
	}
	if err := g.query(g.hunt, "around", map[string]any{field: id, "before": 1, "after": 1}, &reply); err != nil {
		g.fail("around %s: %v", id, err)
		return
	}
	for _, e := range reply.Entries {
		fmt.Printf("  around %-5s #%d %-5s %4d\n", id, e.Rank, e.id(), e.Score)
		if mine := b.byID[e.id()]; mine == nil || mine.Rank != e.Rank {
			g.fail("around %s: %s at rank %d, not what the stream says", id, e.id(), e.Rank)
		}
	}
}

func (g *game) state() {
	var reply map[string]json.RawMessage
	if err := g.query(g.hunt, "state", map[string]any{}, &reply); err != nil {
		g.fail("state: %v", err)
		return
	}
	// Version 2 adds teams, frozenAt, runningMs and checkpoint; an engine without them omits them.
	for _, field := range []string{"seq", "status", "players", "teams", "frozenAt", "runningMs", "stateHash", "checkpoint"} {
		if v, ok := reply[field]; ok {
			fmt.Printf("  %-10s %s\n", field, v)
		}
	}
	if string(reply["status"]) != `"ended"` {
		g.fail("state: status %s, expected \"ended\"", reply["status"])
	}
}

type ledgerEntry struct {
	Seq          int64  `json:"seq"`
	Type         string `json:"type"`
	EventID      string `json:"eventId"`
	Delta        int64  `json:"delta"`
	Score        int64  `json:"score"`
	Rank         int64  `json:"rank"`
	Reason       string `json:"reason"`
	TreasureID   string `json:"treasureId"`
	SubmissionID string `json:"submissionId"`
}

// ledger pages through one competitor's ledger: every rank message but the first (the join or
// the team's creation) is one of its entries. It returns true once the ledger was asked (a failure
// is recorded like any other).
func (g *game) ledger(b *board, field, id string) bool {
	request := map[string]any{field: id, "limit": 2}
	var entries []ledgerEntry
	for {
		var page struct {
			Seq     int64         `json:"seq"`
			Entries []ledgerEntry `json:"entries"`
			Next    *string       `json:"next"`
		}
		err := g.query(g.hunt, "ledger", request, &page)
		if err != nil {
			g.fail("ledger of %s: %v", id, err)
			return true
		}
		entries = append(entries, page.Entries...)
		if page.Next == nil {
			break
		}
		request["after"] = *page.Next
	}
	mine := b.byID[id]
	for _, e := range entries {
		fmt.Printf("  ledger %-5s seq %4d %-18s delta %+4d score %4d rank %d %s%s\n", id, e.Seq, e.Type, e.Delta, e.Score, e.Rank, e.TreasureID, e.Reason)
	}
	if len(entries) != mine.Messages {
		g.fail("ledger of %s: %d entries, %d rank messages after the first", id, len(entries), mine.Messages)
	} else if n := len(entries); n > 0 && entries[n-1].Score != mine.Score {
		g.fail("ledger of %s: ends at score %d, the stream says %d", id, entries[n-1].Score, mine.Score)
	}
	return true
}

// expectError sends a request that must fail and prints the error reply.
func (g *game) expectError(hunt, op string, request any, code string) {
	var reply json.RawMessage
	err := g.query(hunt, op, request, &reply)
	var refused *queryError
	if !errors.As(err, &refused) {
		g.fail("hunt.%s.query.%s %v: expected the error %s, got %s (%v)", hunt, op, request, code, reply, err)
		return
	}
	body, _ := json.Marshal(request)
	fmt.Printf("  hunt.%s.query.%s %s -> %s: %s\n", hunt, op, body, refused.Code, refused.Message)
	if refused.Code != code {
		g.fail("hunt.%s.query.%s: error %s, expected %s", hunt, op, refused.Code, code)
	}
}
