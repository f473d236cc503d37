// Command garbage is a test plugin that speaks ABI version 1 without the SDK
// and answers every hook with bytes that are not a valid output.
package main

import (
	"strings"

	"github.com/parcours-sante/parcours/host/plugin/wazero/testdata/rawabi"
)

//go:wasmexport parcours_abi_version
func abiVersion() int32 { return 1 }

//go:wasmexport parcours_alloc
func alloc(size int32) uint32 { return rawabi.Alloc(size) }

//go:wasmexport parcours_hooks
func hooks() uint64 { return rawabi.Give([]byte(`["before_booking","after_booking"]`)) }

var answers = [][]byte{
	[]byte(`{"allow": tru`),                           // not JSON
	[]byte(`{"allow": true, "admin": true}`),          // unknown field
	[]byte(`{"reason": {"fr": "sans décision"}}`),     // allow missing
	[]byte(`{"allow": true} {"allow": false}`),        // trailing data
	[]byte(`{"allow": false, "reason": {"en": "x"}}`), // reason without French
}

// handle answers answers[n] for an input naming the service "garbage-n",
// answers[0] otherwise. (An instance that answered garbage is discarded, so
// the choice cannot rest on a counter.)
//
//go:wasmexport parcours_handle
func handle(hookPtr, hookLen, inPtr, inLen uint32) uint64 {
	in := rawabi.Input(inPtr, inLen)
	n := 0
	if i := strings.Index(in, `"service":"garbage-`); i >= 0 && i+19 < len(in) {
		n = int(in[i+19]-'0') % len(answers)
	}
	return rawabi.Give(answers[n])
}

func main() {}
