// Command loop is a test plugin whose before_booking handler never returns
// when asked to (service "loop") and allows otherwise.
//
// It speaks ABI version 1 without the SDK, to stay small (it compiles
// faster in tests); echo is the SDK-built test plugin.
package main

import (
	"strings"

	"github.com/parcours-sante/parcours/host/plugin/wazero/testdata/rawabi"
)

var spins uint64

//go:wasmexport parcours_abi_version
func abiVersion() int32 { return 1 }

//go:wasmexport parcours_alloc
func alloc(size int32) uint32 { return rawabi.Alloc(size) }

//go:wasmexport parcours_hooks
func hooks() uint64 { return rawabi.Give([]byte(`["before_booking"]`)) }

//go:wasmexport parcours_handle
func handle(hookPtr, hookLen, inPtr, inLen uint32) uint64 {
	in := rawabi.Input(inPtr, inLen)
	if strings.Contains(in, `"service":"loop"`) {
		for {
			spins++
		}
	}
	return rawabi.Give([]byte(`{"allow":true}`))
}

func main() {}
