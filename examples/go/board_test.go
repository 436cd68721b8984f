// The shift rule on the contract's worked example ("Keeping your rank exact"), followed from the
// start of the stream: joins first, then the example's messages.
package main

import "testing"

func TestBoardFollowsTheContractsWorkedExample(t *testing.T) {
	b := newBoard("player")
	steps := []struct {
		seq                      int64
		id                       string
		score, rank, previous, n int64
	}{
		{10, "ann", 0, 1, 0, 1}, {11, "bob", 0, 2, 0, 2}, {12, "cat", 0, 3, 0, 3}, {13, "dan", 0, 4, 0, 4},
		{20, "ann", 30, 1, 1, 4}, {40, "bob", 20, 2, 2, 4}, {60, "cat", 10, 3, 3, 4},
		{101, "dan", 25, 2, 4, 4},
		{102, "eve", 0, 5, 0, 5},
		{103, "bob", 20, 0, 3, 4},
		{104, "ann", 5, 3, 1, 4},
		{105, "eve", 10, 3, 4, 4},
	}
	for _, s := range steps {
		if err := b.apply(s.seq, s.id, s.score, s.rank, s.previous, s.n); err != nil {
			t.Fatalf("seq %d: %v", s.seq, err)
		}
	}
	want := map[string]int64{"dan": 1, "cat": 2, "eve": 3, "ann": 4, "bob": 0}
	for id, rank := range want {
		if got := b.byID[id].Rank; got != rank {
			t.Errorf("%s: rank %d, want %d", id, got, rank)
		}
	}
}

func TestBoardRefusesAMessageThatDoesNotFit(t *testing.T) {
	b := newBoard("team")
	if err := b.apply(1, "red", 0, 1, 0, 1); err != nil {
		t.Fatal(err)
	}
	if err := b.apply(2, "red", 5, 1, 2, 1); err == nil {
		t.Error("a previousRank the board does not have was accepted")
	}
	if err := b.apply(1, "blue", 0, 2, 0, 2); err == nil {
		t.Error("a message older than the last one was accepted")
	}
}
