//go:build wasip1

package plugin

import "unsafe"

// The exports of ABI version 1 (see host/plugin). Buffers handed to the host
// stay referenced from these variables, so the garbage collector keeps them
// until the host has used them: inputs until the end of the next
// parcours_handle or parcours_configure, the output until the next call.
var (
	inputs [][]byte
	output []byte
)

//go:wasmexport parcours_abi_version
func exportABIVersion() int32 { return ABIVersion }

//go:wasmexport parcours_alloc
func exportAlloc(size int32) uint32 {
	if size < 0 {
		return 0
	}
	b := make([]byte, max(size, 1))[:size]
	inputs = append(inputs, b)
	return addr(b)
}

//go:wasmexport parcours_hooks
func exportHooks() uint64 { return give(HooksJSON()) }

//go:wasmexport parcours_configure
func exportConfigure(ptr, n uint32) uint64 {
	config, ok := view(ptr, n)
	if !ok {
		return give(errorOutput(errBadPointer))
	}
	out := Configure(config)
	release()
	return give(out)
}

//go:wasmexport parcours_handle
func exportHandle(hookPtr, hookLen, inPtr, inLen uint32) uint64 {
	hook, ok1 := view(hookPtr, hookLen)
	in, ok2 := view(inPtr, inLen)
	if !ok1 || !ok2 {
		release()
		return give(errorOutput(errBadPointer))
	}
	out := Handle(string(hook), in)
	release()
	return give(out)
}

type sdkError string

func (e sdkError) Error() string { return string(e) }

const errBadPointer = sdkError("the host passed memory that parcours_alloc did not return")

// addr is the linear-memory address of b's first byte.
func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

// view returns the n bytes at ptr inside a buffer returned by parcours_alloc.
func view(ptr, n uint32) ([]byte, bool) {
	for _, b := range inputs {
		base := addr(b)
		if ptr >= base && uint64(ptr)+uint64(n) <= uint64(base)+uint64(len(b)) {
			off := ptr - base
			return b[off : off+n], true
		}
	}
	return nil, false
}

func release() {
	clear(inputs)
	inputs = inputs[:0]
}

func give(b []byte) uint64 {
	output = b
	if len(b) == 0 {
		return 0
	}
	return uint64(addr(b))<<32 | uint64(len(b))
}
