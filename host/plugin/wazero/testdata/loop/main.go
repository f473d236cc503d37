// Command loop is a test plugin whose before_booking handler never returns
// when asked to (service "loop") and allows otherwise.
//
// It speaks ABI version 1 without the SDK, to stay small (it compiles
// faster in tests); echo is the SDK-built test plugin.
package main

import (
	"strings"
	"unsafe"
)

var (
	inputs [][]byte
	output []byte
	spins  uint64
	hoard  [][]byte
)

func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

func give(s string) uint64 {
	output = []byte(s)
	return uint64(addr(output))<<32 | uint64(len(output))
}

//go:wasmexport parcours_abi_version
func abiVersion() int32 { return 1 }

//go:wasmexport parcours_alloc
func alloc(size int32) uint32 {
	b := make([]byte, size+1)
	inputs = append(inputs, b)
	return addr(b)
}

//go:wasmexport parcours_hooks
func hooks() uint64 { return give(`["before_booking"]`) }

//go:wasmexport parcours_handle
func handle(hookPtr, hookLen, inPtr, inLen uint32) uint64 {
	var in string
	for _, b := range inputs {
		if base := addr(b); inPtr >= base && inPtr+inLen <= base+uint32(len(b)) {
			in = string(b[inPtr-base : inPtr-base+inLen])
		}
	}
	inputs = inputs[:0]
	if strings.Contains(in, `"service":"loop"`) {
		for {
			spins++
		}
	}
	return give(`{"allow":true}`)
}

func main() {}
