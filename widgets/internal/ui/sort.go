package ui

import "sort"

// SortStable sorts s by cmp (negative when a goes before b), keeping equal
// elements in their order, like slices.SortStableFunc. It goes through
// sort.Stable, which the browser build links anyway, instead of
// instantiating slices' stable sort for every element type: each such
// instantiation is about 7.5 KB of Wasm code.
func SortStable[T any](s []T, cmp func(a, b *T) int) {
	sort.Stable(stable[T]{s, cmp})
}

type stable[T any] struct {
	s   []T
	cmp func(a, b *T) int
}

func (x stable[T]) Len() int           { return len(x.s) }
func (x stable[T]) Less(i, j int) bool { return x.cmp(&x.s[i], &x.s[j]) < 0 }
func (x stable[T]) Swap(i, j int)      { x.s[i], x.s[j] = x.s[j], x.s[i] }
