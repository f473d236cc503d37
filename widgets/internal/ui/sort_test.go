package ui

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortStable checks SortStable against slices.SortStableFunc on random
// slices with many equal keys, where stability shows.
func TestSortStable(t *testing.T) {
	type item struct {
		key, seq int
		pad      [3]string
	}
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		s := make([]item, n)
		for i := range s {
			s[i] = item{key: r.IntN(n/4 + 1), seq: i}
		}
		want := slices.Clone(s)
		slices.SortStableFunc(want, func(a, b item) int { return cmp.Compare(b.key, a.key) })
		SortStable(s, func(a, b *item) int { return cmp.Compare(b.key, a.key) })
		if !slices.Equal(s, want) {
			t.Fatalf("n=%d: got %v, want %v", n, s, want)
		}
	}
}
