// A board kept exact from rank messages alone, with the contract's shift rule ("Ranking").
package main

import "fmt"

// standing is one competitor's place on a board, as the rank messages tell it.
type standing struct {
	Rank  int64
	Score int64
	// Messages counts this competitor's rank messages after the first (the join or the team's
	// creation): each of them is also an entry of the competitor's ledger.
	Messages int
}

// board follows one board (players or teams) from the start of HUNT_RANKS.
type board struct {
	name    string // "player" or "team"
	lastSeq int64
	order   []string // competitors in the order they appeared, for stable printing
	byID    map[string]*standing
}

func newBoard(name string) *board {
	return &board{name: name, byID: map[string]*standing{}}
}

// apply folds one rank message into the board: previousRank a, rank b. Every other ranked
// competitor at r moves by the same two steps: if a > 0 and r > a, r-1 (the competitor left
// place a); then if b > 0 and r >= b, r+1 (the competitor took place b). n is the number of
// ranked competitors after the message ("players" or "teams"), which the board must agree with.
func (b *board) apply(seq int64, id string, score, rank, previousRank, n int64) error {
	// On one node rank messages arrive in seq order. After a stream-leader fail-over a re-sent
	// message can be stored after newer ones; a client that must survive that orders by seq.
	if seq < b.lastSeq {
		return fmt.Errorf("%s rank message for seq %d arrived after seq %d: order by seq", b.name, seq, b.lastSeq)
	}
	b.lastSeq = seq
	self, known := b.byID[id]
	if !known {
		self = &standing{}
		b.byID[id] = self
		b.order = append(b.order, id)
	} else {
		self.Messages++
	}
	if self.Rank != previousRank {
		return fmt.Errorf("%s %q: message at seq %d says previousRank %d, the board had %d", b.name, id, seq, previousRank, self.Rank)
	}
	ranked := int64(0)
	for other, s := range b.byID {
		if other != id && s.Rank > 0 {
			if previousRank > 0 && s.Rank > previousRank {
				s.Rank--
			}
			if rank > 0 && s.Rank >= rank {
				s.Rank++
			}
		}
	}
	self.Rank, self.Score = rank, score
	for _, s := range b.byID {
		if s.Rank > 0 {
			ranked++
		}
	}
	if ranked != n {
		return fmt.Errorf("%s board after seq %d: %d ranked here, the message says %d", b.name, seq, ranked, n)
	}
	return nil
}
