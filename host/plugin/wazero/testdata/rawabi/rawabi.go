// Package rawabi is the plumbing of Parcours plugin ABI version 1 for the
// misbehaving test plugins, without the SDK so that they stay small and
// compile fast in tests. Each plugin keeps its //go:wasmexport functions and
// calls these.
package rawabi

import "unsafe"

var (
	inputs [][]byte
	output []byte
)

func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

// Give hands out to the host, packed as (ptr<<32 | len); the bytes stay
// referenced until the next Give.
func Give(out []byte) uint64 {
	output = out
	return uint64(addr(output))<<32 | uint64(len(output))
}

// Alloc is parcours_alloc: a buffer the host writes an input into.
func Alloc(size int32) uint32 {
	b := make([]byte, size+1)
	inputs = append(inputs, b)
	return addr(b)
}

// Input returns the input the host wrote at ptr (one of Alloc's buffers)
// and releases the buffers.
func Input(ptr, n uint32) string {
	var in string
	for _, b := range inputs {
		if base := addr(b); ptr >= base && ptr+n <= base+uint32(len(b)) {
			in = string(b[ptr-base : ptr-base+n])
		}
	}
	inputs = inputs[:0]
	return in
}
